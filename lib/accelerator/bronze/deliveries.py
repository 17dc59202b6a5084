"""What happens to a delivery (feeds.md): discovery, the checks in their order, row validation.

``assess`` turns one delivery folder into an :class:`Outcome`: its status (LOADED, REJECTED,
DUPLICATE, PENDING), a reason, the accepted rows (values as delivered plus ``record_key``) and the
quarantined rows (raw line plus a reason code). It reads bytes through a :class:`Storage` and
touches no table, so each rule of the table in feeds.md is unit-tested on plain files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accelerator.bronze.parse import clean, date_format, decode, parse_date, split_records
from accelerator.feeds import AUTHORITIES, FEEDS, FeedSpec
from accelerator.io.lake import join
from accelerator.io.storage import Storage

LOADED, REJECTED, DUPLICATE, PENDING = "LOADED", "REJECTED", "DUPLICATE", "PENDING"
SETTLED = (LOADED, REJECTED, DUPLICATE)

# Row-level reason codes (bronze/<a>/_quarantine.reason_code).
FIELD_COUNT = "FIELD_COUNT"
MISSING_KEY = "MISSING_KEY"
MISSING_REQUIRED = "MISSING_REQUIRED"
BAD_REQUIRED_DATE = "BAD_REQUIRED_DATE"

_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:_(\d+))?$")


@dataclass(frozen=True)
class DeliveryRef:
    """One delivery folder: ``<landing>/<authority>/<feed>/<folder>``."""

    landing_root: str
    authority: str
    feed: str
    folder: str

    @property
    def delivery_id(self) -> str:
        """The folder relative to the landing root: stable wherever the landing zone is mounted."""
        return f"{self.authority}/{self.feed}/{self.folder}"

    @property
    def path(self) -> str:
        return join(self.landing_root, self.authority, self.feed, self.folder)

    @property
    def folder_date(self) -> date | None:
        m = _FOLDER.match(self.folder)
        return parse_date(m.group(1)) if m else None

    @property
    def folder_seq(self) -> int:
        """``n`` of a ``<date>_<n>`` folder, 0 for the first delivery of a date."""
        m = _FOLDER.match(self.folder)
        return int(m.group(2)) if m and m.group(2) else 0

    @property
    def order(self) -> tuple[str, int, str, str]:
        """Processing order: (extract date, folder number), then authority and feed for stability.

        feeds.md says (extract_date, folder name); the folder's ``_<n>`` is compared as a number so
        that ``_10`` follows ``_9`` (identical to name order below ten).
        """
        d = self.folder_date
        return (d.isoformat() if d else "9999-99-99", self.folder_seq, self.authority, self.feed)


def discover(storage: Storage, landing_root: str) -> list[DeliveryRef]:
    """Every delivery folder under the landing root, in processing order."""
    refs = [
        DeliveryRef(landing_root, a, f, folder)
        for a in storage.list_dirs(landing_root)
        for f in storage.list_dirs(join(landing_root, a))
        for folder in storage.list_dirs(join(landing_root, a, f))
    ]
    return sorted(refs, key=lambda r: r.order)


@dataclass
class FileProfile:
    """How one delivered file looked: for data-quality metrics and partner scorecards."""

    name: str
    sha256: str
    bytes: int
    encoding: str = ""
    line_endings: str = ""
    date_formats: dict[str, int] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    records: int = 0


@dataclass
class Outcome:
    ref: DeliveryRef
    status: str
    reason: str
    extract_date: date | None = None
    full_refresh: bool = False
    rows_in_files: int | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_sha256: list[str] = field(default_factory=list)
    files: list[FileProfile] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    def profile_json(self) -> str:
        return json.dumps([f.__dict__ for f in self.files], sort_keys=True)


class _Rejected(Exception):
    pass


def _read_manifest(storage: Storage, ref: DeliveryRef) -> dict[str, Any]:
    try:
        manifest = json.loads(decode(storage.read_bytes(join(ref.path, "manifest.json"))).text)
    except (ValueError, OSError) as exc:
        raise _Rejected(f"manifest.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise _Rejected("manifest.json is not a JSON object")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise _Rejected("manifest.json lists no files")
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise _Rejected("manifest.json has a file entry without a name")
        if not isinstance(f.get("rows"), int) or isinstance(f.get("rows"), bool):
            raise _Rejected(f"manifest.json gives no whole-number row count for {f.get('name')}")
        if not isinstance(f.get("sha256"), str):
            raise _Rejected(f"manifest.json gives no sha256 for {f.get('name')}")
    return manifest


def record_key(spec: FeedSpec, values: Mapping[str, str | None]) -> str:
    """outputs.md "Record keys": key columns trimmed, joined with ``|``, dates as YYYY-MM-DD."""
    parts = []
    for col in spec.key:
        v = (values.get(col) or "").strip()
        if spec.column(col).kind == "date":
            d = parse_date(v)
            v = d.isoformat() if d else v
        if col in spec.upper_key_columns:
            v = v.upper()
        parts.append(v)
    return "|".join(parts)


def _line_endings(text: str) -> str:
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "crlf" if crlf and not lf else "lf" if lf and not crlf else "mixed" if crlf else "none"


def _check_row(spec: FeedSpec, header: list[str], fields: list[str]) -> tuple[str, str] | None:
    """The row-level checks of feeds.md, first failure wins: (reason_code, reason_text)."""
    if len(fields) != len(header):
        return FIELD_COUNT, f"{len(fields)} fields where the header has {len(header)}"
    values = dict(zip(header, fields, strict=True))
    for col in spec.key:
        if clean(values.get(col)) is None:
            return MISSING_KEY, f"key column {col} is blank"
    for col in spec.required:
        if clean(values.get(col)) is None:
            return MISSING_REQUIRED, f"required column {col} is blank"
    for col in spec.required_dates:
        if parse_date(values.get(col)) is None:
            return BAD_REQUIRED_DATE, f"required date {col} is not a date: {values.get(col)!r}"
    return None


def _parse_file(
    spec: FeedSpec, ref: DeliveryRef, name: str, data: bytes, profile: FileProfile, out: Outcome
) -> int:
    """Parse one file into ``out.rows``/``out.quarantine``; returns its number of data records."""
    decoded = decode(data)
    profile.encoding = decoded.encoding
    profile.line_endings = _line_endings(decoded.text)
    records = split_records(decoded.text)
    header_rec = next(records, None)
    if header_rec is None:
        raise _Rejected(f"{name} has no header row")
    header = [h.strip().lower() for h in header_rec.fields]
    missing_required = [c for c in spec.required if c not in header]
    if missing_required:
        raise _Rejected(f"{name}: required column {', '.join(missing_required)} missing")
    known = set(spec.column_names)
    profile.missing_columns = [c for c in spec.column_names if c not in header]
    profile.extra_columns = [h for h in header if h not in known]
    dates: Counter[str] = Counter()
    count = 0
    for rec in records:
        count += 1
        problem = _check_row(spec, header, rec.fields)
        if problem is None and rec.unterminated:
            problem = (FIELD_COUNT, "unterminated quoted field (line cut short)")
        if problem is not None:
            out.quarantine.append(
                {
                    "feed": ref.feed,
                    "delivery_path": ref.path,
                    "source_file": name,
                    "line_number": rec.line,
                    "raw_line": rec.raw,
                    "reason_code": problem[0],
                    "reason_text": problem[1],
                }
            )
            continue
        values = dict(zip(header, rec.fields, strict=True))
        row: dict[str, Any] = {c: clean(values.get(c)) for c in spec.column_names}
        for c in spec.date_columns:
            fmt = date_format(row[c])
            if fmt:
                dates[fmt] += 1
        extra = {h: values[h] for h in profile.extra_columns if clean(values[h]) is not None}
        row["_extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
        row["record_key"] = record_key(spec, values)
        row["_source_file"] = name
        row["_line"] = rec.line
        out.rows.append(row)
    profile.date_formats = dict(sorted(dates.items()))
    profile.records = count
    return count


def assess(storage: Storage, ref: DeliveryRef, loaded_sha256: Iterable[str]) -> Outcome:
    """Decide what happens to one delivery, in the order of feeds.md's table.

    ``loaded_sha256`` holds the hashes of every file already LOADED for this authority and feed
    (earlier runs and earlier in this run). A folder without ``manifest.json`` is PENDING.
    """
    out = Outcome(ref=ref, status=PENDING, reason="", extract_date=ref.folder_date)
    names = storage.list_files(ref.path)
    if "manifest.json" not in names:
        out.reason = "no manifest.json yet: will be loaded by a later run once it arrives"
        return out
    try:
        manifest = _read_manifest(storage, ref)
        listed = [f["name"] for f in manifest["files"]]
        present = {n: join(ref.path, n) for n in listed if n in names}
        blobs = {n: storage.read_bytes(p) for n, p in present.items()}
        hashes = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}
        out.file_sha256 = [hashes[n] for n in listed if n in hashes]
        out.full_refresh = manifest.get("full_refresh") is True
        manifest_date = parse_date(str(manifest.get("extract_date", "")))
        out.extract_date = manifest_date or ref.folder_date
        already = set(loaded_sha256)
        if len(hashes) == len(listed) and all(h in already for h in hashes.values()):
            out.status, out.reason = DUPLICATE, "every file's sha256 was already loaded for this feed"
            return out
        _check_delivery(ref, manifest, names, listed, blobs, hashes, out)
    except _Rejected as exc:
        out.status, out.reason = REJECTED, str(exc)
        out.rows, out.quarantine, out.rows_loaded, out.rows_quarantined = [], [], 0, 0
        return out
    out.status = LOADED
    out.rows_loaded, out.rows_quarantined = len(out.rows), len(out.quarantine)
    ignored = sorted(set(names) - set(listed) - {"manifest.json"})
    out.reason = f"ignored files not in the manifest: {', '.join(ignored)}" if ignored else ""
    return out


def _check_delivery(
    ref: DeliveryRef,
    manifest: dict[str, Any],
    names: list[str],
    listed: list[str],
    blobs: dict[str, bytes],
    hashes: dict[str, str],
    out: Outcome,
) -> None:
    if ref.authority not in AUTHORITIES:
        raise _Rejected(f"unknown authority {ref.authority!r}")
    if ref.feed not in FEEDS:
        raise _Rejected(f"unknown feed {ref.feed!r}")
    if ref.folder_date is None:
        raise _Rejected(f"folder name {ref.folder!r} is not <YYYY-MM-DD>[_<n>]")
    if manifest.get("authority") != ref.authority or manifest.get("feed") != ref.feed:
        raise _Rejected(
            f"manifest names {manifest.get('authority')!r}/{manifest.get('feed')!r} but the folder is "
            f"{ref.authority}/{ref.feed}"
        )
    if len(set(listed)) != len(listed):
        raise _Rejected("manifest.json lists a file twice")
    missing = [n for n in listed if n not in blobs]
    if missing:
        raise _Rejected(f"file in the manifest missing from the folder: {', '.join(missing)}")
    spec = FEEDS[ref.feed]
    total = 0
    for entry in manifest["files"]:
        name = entry["name"]
        data = blobs[name]
        profile = FileProfile(name=name, sha256=hashes[name], bytes=len(data))
        out.files.append(profile)
        if not data:
            raise _Rejected(f"{name} is a 0-byte file")
        if hashes[name] != entry["sha256"].strip().lower():
            raise _Rejected(f"{name}: sha256 {hashes[name]} is not the manifest's {entry['sha256']}")
        rows = _parse_file(spec, ref, name, data, profile, out)
        if rows != entry["rows"]:
            raise _Rejected(f"{name}: {rows} data rows where the manifest says {entry['rows']}")
        total += rows
    out.rows_in_files = total
