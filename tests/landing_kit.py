"""Write delivery folders for tests: real files with real manifests (feeds.md "Landing layout")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accelerator.feeds import FEEDS


def csv_bytes(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
    bom: bool = False,
    trailing_blank: bool = False,
) -> bytes:
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v

    lines = [",".join(q(h) for h in header)] + [",".join(q(v) for v in r) for r in rows]
    text = newline.join(lines) + newline + (newline if trailing_blank else "")
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_delivery(
    landing: Path,
    authority: str,
    feed: str,
    folder: str,
    files: Mapping[str, bytes],
    *,
    manifest: bool = True,
    rows: Mapping[str, int] | None = None,
    sha: Mapping[str, str] | None = None,
    listed: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write files and a manifest whose rows/sha256 are right unless overridden."""
    d = landing / authority / feed / folder
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    if manifest:
        names = list(listed) if listed is not None else list(files)
        entries = []
        for n in names:
            data = files.get(n, b"")
            count = max(0, len([ln for ln in data.splitlines() if ln.strip()]) - 1)
            entries.append(
                {
                    "name": n,
                    "rows": (rows or {}).get(n, count),
                    "sha256": (sha or {}).get(n, hashlib.sha256(data).hexdigest()),
                }
            )
        m: dict[str, Any] = {
            "feed": feed,
            "authority": authority,
            "extract_date": folder[:10],
            "period_start": folder[:8] + "01",
            "period_end": folder[:10],
            "files": entries,
        }
        m.update(extra or {})
        (d / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return d


POLICE = FEEDS["police_incidents"].column_names


def police_row(incident: str, person: str, **values: str) -> list[str]:
    base = {
        "incident_ref": incident,
        "person_ref": person,
        "role": "OFFENDER",
        "forename": "Zoë",
        "surname": "O'Brien",
        "dob": "2001-02-03",
        "sex": "F",
        "address": "10 Bank St",
        "postcode": "BL9 0SW",
        "incident_date": "2026-10-02",
        "incident_type": "CRIME",
        "offence_group": "THEFT",
        "domestic_abuse": "N",
    }
    base.update(values)
    return [base[c] for c in POLICE]
