"""Write delivery folders for tests: real files with real manifests (feeds.md "Landing layout")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelerator.bronze.deliveries import LOADED, QUARANTINE, DeliveryRef, Outcome, assess, delivered
from accelerator.feeds import FEEDS
from accelerator.io.storage import Storage


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


def manifest_bytes(authority: str, feed: str, folder: str, files: Mapping[str, bytes], **extra: Any) -> bytes:
    """A correct manifest.json for ``files`` (counting non-blank lines after the header)."""
    entries = [
        {
            "name": n,
            "rows": max(0, len([ln for ln in d.splitlines() if ln.strip()]) - 1),
            "sha256": hashlib.sha256(d).hexdigest(),
        }
        for n, d in files.items()
    ]
    m = {"feed": feed, "authority": authority, "extract_date": folder[:10], "files": entries, **extra}
    return json.dumps(m).encode()


@dataclass(frozen=True)
class Expect:
    """What a hostile delivery must end as: status, reason code, and for a LOADED one its rows
    (in files, loaded, quarantined) and the quarantine reason codes."""

    status: str
    code: str | None
    rows: tuple[int, int, int] | None = None
    quarantined: tuple[str, ...] = ()


def _police(n: int, **values: str) -> list[list[str]]:
    return [police_row(f"GMP-{i}", f"P{i}", **values) for i in range(n)]


def write_hostile(landing: Path) -> dict[str, Expect]:
    """Deliveries beyond feeds.md's table (issue 17), one folder each, plus valid ones; returns the
    expected outcome per delivery id. All under bury/police_incidents unless stated."""
    a, f = "bury", "police_incidents"
    out: dict[str, Expect] = {}
    good = csv_bytes(POLICE, _police(3))
    day = iter(range(1, 32))

    def folder() -> str:
        return f"2026-10-{next(day):02d}"

    def raw(manifest: bytes, files: Mapping[str, bytes], expect: Expect, fld: str | None = None) -> Path:
        fld = fld or folder()
        d = landing / a / f / fld
        d.mkdir(parents=True)
        for n, data in files.items():
            (d / n).write_bytes(data)
        (d / "manifest.json").write_bytes(manifest)
        out[f"{a}/{f}/{fld}"] = expect
        return d

    def valid(files: Mapping[str, bytes], expect: Expect, **extra: Any) -> Path:
        fld = folder()
        return raw(manifest_bytes(a, f, fld, files, **extra), files, expect, fld)

    bad_manifest = Expect("REJECTED", "MANIFEST_INVALID")
    raw(b"{not json", {"x.csv": good}, bad_manifest)
    raw(b"[1, 2]", {"x.csv": good}, bad_manifest)
    files_not_a_list = {"feed": f, "authority": a, "extract_date": "2026-10-03", "files": {}}
    raw(json.dumps(files_not_a_list).encode(), {}, bad_manifest)
    for rows in (-1, "3", True, 3.0):
        fld = folder()
        m = json.loads(manifest_bytes(a, f, fld, {"x.csv": good}))
        m["files"][0]["rows"] = rows
        raw(json.dumps(m).encode(), {"x.csv": good}, bad_manifest, fld)
    fld = folder()
    m = json.loads(manifest_bytes(a, f, fld, {"x.csv": good}))
    del m["files"][0]["sha256"]
    raw(json.dumps(m).encode(), {"x.csv": good}, bad_manifest, fld)
    raw(b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, {"x.csv": good}, bad_manifest)  # nested very deep
    fld = folder()
    m = json.loads(manifest_bytes(a, f, fld, {"x.csv": good}))
    m["notes"] = "x" * (1 << 20)  # over the 1 MiB cap
    raw(json.dumps(m).encode(), {"x.csv": good}, bad_manifest, fld)

    mismatch = Expect("REJECTED", "PATH_MISMATCH")
    fld = folder()
    raw(manifest_bytes("bolton", f, fld, {"x.csv": good}), {"x.csv": good}, mismatch, fld)
    fld = folder()
    raw(manifest_bytes(a, "housing", fld, {"x.csv": good}), {"x.csv": good}, mismatch, fld)
    fld = folder()
    raw(manifest_bytes(a, f, "2026-09-30", {"x.csv": good}), {"x.csv": good}, mismatch, fld)

    for name in ("../x.csv", "/etc/passwd", "sub/x.csv", "..\\x.csv"):
        fld = folder()
        m = json.loads(manifest_bytes(a, f, fld, {"x.csv": good}))
        m["files"][0]["name"] = name
        raw(json.dumps(m).encode(), {"x.csv": good}, Expect("REJECTED", "UNSAFE_FILE_NAME"), fld)

    # Another authority's valid delivery, which bury's folders try to reach through links.
    other = landing / "bolton" / f / "2026-10-31"
    other.mkdir(parents=True)
    (other / "x.csv").write_bytes(good)
    (other / "manifest.json").write_bytes(manifest_bytes("bolton", f, "2026-10-31", {"x.csv": good}))
    out[f"bolton/{f}/2026-10-31"] = Expect("LOADED", None, (3, 3, 0))
    fld = folder()
    d = raw(manifest_bytes(a, f, fld, {"x.csv": good}), {}, Expect("REJECTED", "NOT_A_REGULAR_FILE"), fld)
    (d / "x.csv").symlink_to(other / "x.csv")
    fld = folder()
    (landing / a / f / fld).symlink_to(other, target_is_directory=True)
    out[f"{a}/{f}/{fld}"] = Expect("REJECTED", "NOT_A_REGULAR_FILE")
    d = valid({"x.csv": good}, Expect("REJECTED", "NOT_A_REGULAR_FILE"))
    (d / "sub").mkdir()

    not_text = Expect("REJECTED", "NOT_TEXT")
    valid({"x.csv": good.replace(b"Bank", b"B\x00nk")}, not_text)
    valid({"x.xlsx": b"PK\x03\x04" + b"\x14\x00" * 40}, not_text)

    dup_header = [*POLICE[:-1], "surname"]
    valid({"x.csv": csv_bytes(dup_header, _police(2))}, Expect("REJECTED", "DUPLICATE_COLUMNS"))

    # A 2 MiB address: that row only is quarantined; a 200,000-character one (over csv's default
    # 131,072) loads.
    long_rows = [
        *_police(2),
        police_row("GMP-L", "PL", address="A" * (2 << 20)),
        police_row("GMP-M", "PM", address="B" * 200_000),
    ]
    valid({"x.csv": csv_bytes(POLICE, long_rows)}, Expect("LOADED", None, (4, 3, 1), ("FIELD_TOO_LONG",)))

    obrien = csv_bytes(POLICE, _police(2)).decode().replace("O'Brien", 'O"Brien')  # unquoted
    valid({"x.csv": obrien.encode()}, Expect("LOADED", None, (2, 2, 0)))

    # UTF-8 with one Windows-1252 line; and a byte-order mark with one bad byte.
    utf8 = csv_bytes(POLICE, [police_row("GMP-1", "P1"), police_row("GMP-2", "P2", forename="Chloé")])
    cp = csv_bytes(POLICE, [police_row("GMP-3", "P3", forename="Renée")]).split(b"\n", 1)[1]
    cp = cp.decode().encode("cp1252")
    valid({"x.csv": utf8 + cp}, Expect("LOADED", None, (3, 3, 0)))
    valid({"x.csv": b"\xef\xbb\xbf" + utf8 + cp}, Expect("LOADED", None, (3, 3, 0)))

    valid({"x.csv": csv_bytes(POLICE, _police(5))}, Expect("LOADED", None, (5, 5, 0)))
    return out


@dataclass
class Landed:
    """An outcome with the rows ``delivered`` streams for it (none unless LOADED)."""

    out: Outcome
    rows: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)


def land_in_memory(storage: Storage, ref: DeliveryRef, loaded: set[str] | None = None) -> Landed:
    """assess, then stream a LOADED delivery's rows (no Spark); every LOADED delivery must
    reconcile: rows in files = loaded + quarantined = the rows streamed."""
    out = assess(storage, ref, loaded or set())
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    if out.status == LOADED:
        for kind, row in delivered(storage, out):
            (quarantine if kind == QUARANTINE else rows).append(row)
        assert out.rows_in_files == out.rows_loaded + out.rows_quarantined
        assert (len(rows), len(quarantine)) == (out.rows_loaded, out.rows_quarantined)
    return Landed(out, rows, quarantine)
