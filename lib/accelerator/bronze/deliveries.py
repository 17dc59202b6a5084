"""What happens to a delivery (feeds.md): discovery, the checks in their order, row validation.

``assess`` turns one delivery folder into an :class:`Outcome`: its status (LOADED, REJECTED,
DUPLICATE, PENDING), a machine reason code and a reason a partner can act on, and for a LOADED
delivery its row counts and file profiles. It streams each file (hash, then parse) and keeps no
rows: ``delivered`` streams the accepted rows (values as delivered plus ``record_key``) and the
quarantined rows (raw line plus a reason code) of a LOADED delivery, reading its files again, for
``land`` to write in bounded batches. Both read bytes through a :class:`Storage` and touch no
table, so each rule of feeds.md's table (and issue 17's hostile cases) is unit-tested on files.

Nothing a delivery holds can stop the run: any unexpected error while assessing one delivery
rejects that delivery (``INTERNAL_ERROR`` and the error's type, never its message, which could
quote data) and the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from accelerator.bronze.manifest import (
    MAX_MANIFEST_BYTES,
    Manifest,
    ManifestError,
    parse_manifest,
    unsafe_name,
)
from accelerator.bronze.parse import (
    MAX_FIELD_CHARS,
    NotText,
    RawRecord,
    TextProfile,
    date_format,
    parse_date,
    read_records,
)
from accelerator.feeds import AUTHORITIES, FEEDS, FeedSpec
from accelerator.io.lake import join
from accelerator.io.storage import DIR, FILE, Storage, entries, read_chunks

LOADED, REJECTED, DUPLICATE, PENDING = "LOADED", "REJECTED", "DUPLICATE", "PENDING"
SETTLED = (LOADED, REJECTED, DUPLICATE)

# Row-level reason codes (bronze/<a>/_quarantine.reason_code).
FIELD_COUNT = "FIELD_COUNT"
MISSING_KEY = "MISSING_KEY"
MISSING_REQUIRED = "MISSING_REQUIRED"
BAD_REQUIRED_DATE = "BAD_REQUIRED_DATE"
FIELD_TOO_LONG = "FIELD_TOO_LONG"
ROW_REASONS = (FIELD_COUNT, MISSING_KEY, MISSING_REQUIRED, BAD_REQUIRED_DATE, FIELD_TOO_LONG)

# Delivery-level reason codes (delivery_log.reason_code; docs/bronze.md explains each to partners).
NO_MANIFEST = "NO_MANIFEST"  # PENDING
ALREADY_LOADED = "ALREADY_LOADED"  # DUPLICATE
UNLISTED_FILES = "UNLISTED_FILES"  # LOADED, files not in the manifest ignored
UNKNOWN_AUTHORITY = "UNKNOWN_AUTHORITY"
UNKNOWN_FEED = "UNKNOWN_FEED"
BAD_FOLDER_NAME = "BAD_FOLDER_NAME"
MANIFEST_INVALID = "MANIFEST_INVALID"
PATH_MISMATCH = "PATH_MISMATCH"
UNSAFE_FILE_NAME = "UNSAFE_FILE_NAME"
NOT_A_REGULAR_FILE = "NOT_A_REGULAR_FILE"
FILE_MISSING = "FILE_MISSING"
EMPTY_FILE = "EMPTY_FILE"
SHA256_MISMATCH = "SHA256_MISMATCH"
NOT_TEXT = "NOT_TEXT"
NO_HEADER = "NO_HEADER"
DUPLICATE_COLUMNS = "DUPLICATE_COLUMNS"
REQUIRED_COLUMN_MISSING = "REQUIRED_COLUMN_MISSING"
ROW_COUNT_MISMATCH = "ROW_COUNT_MISMATCH"
INTERNAL_ERROR = "INTERNAL_ERROR"
REJECTION_REASONS = (
    UNKNOWN_AUTHORITY,
    UNKNOWN_FEED,
    BAD_FOLDER_NAME,
    MANIFEST_INVALID,
    PATH_MISMATCH,
    UNSAFE_FILE_NAME,
    NOT_A_REGULAR_FILE,
    FILE_MISSING,
    EMPTY_FILE,
    SHA256_MISMATCH,
    NOT_TEXT,
    NO_HEADER,
    DUPLICATE_COLUMNS,
    REQUIRED_COLUMN_MISSING,
    ROW_COUNT_MISMATCH,
    INTERNAL_ERROR,
)

MANIFEST = "manifest.json"
_FOLDER = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:_(\d+))?$")


@dataclass(frozen=True)
class DeliveryRef:
    """One delivery folder: ``<landing>/<authority>/<feed>/<folder>``.

    ``not_a_folder`` names the part of the path that is a link or not a folder (locally), so that
    the delivery is refused instead of followed."""

    landing_root: str
    authority: str
    feed: str
    folder: str
    not_a_folder: str = field(default="", compare=False)

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
    """Every delivery folder under the landing root, in processing order. A link (or anything but
    a folder) where an authority, feed or delivery folder should be is listed, marked, to be
    refused; a plain file at those levels is not a delivery and is not listed."""
    refs = []
    for a, a_kind in entries(storage, landing_root):
        for f, f_kind in entries(storage, join(landing_root, a)) if a_kind != FILE else []:
            for folder, kind in entries(storage, join(landing_root, a, f)) if f_kind != FILE else []:
                if kind == FILE:
                    continue
                levels = ((a, a_kind), (f"{a}/{f}", f_kind), (f"{a}/{f}/{folder}", kind))
                bad = next((p for p, k in levels if k != DIR), "")
                refs.append(DeliveryRef(landing_root, a, f, folder, not_a_folder=bad))
    return sorted(refs, key=lambda r: r.order)


@dataclass
class FileProfile:
    """How one delivered file looked: for data-quality metrics and partner scorecards."""

    name: str
    sha256: str
    bytes: int
    encoding: str = ""
    lines_cp1252: int = 0  # lines that were not valid UTF-8, read as Windows-1252
    lines_latin1: int = 0  # lines valid in neither, read as Latin-1
    line_endings: str = ""
    date_formats: dict[str, int] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    records: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)  # rows per reason code
    # What landing needs to know of the file, not logged (``Outcome.profile_json`` leaves them out):
    header: list[str] = field(default_factory=list)  # column names, trimmed and lower case
    physical_lines: int = 0  # the header's included
    field_chars: int = 0  # characters in the fields of the accepted records

    LANDING_ONLY: ClassVar[tuple[str, ...]] = ("header", "physical_lines", "field_chars")


@dataclass
class Outcome:
    """What happened to one delivery. No rows: see :func:`delivered`."""

    ref: DeliveryRef
    status: str
    reason: str
    reason_code: str | None = None
    extract_date: date | None = None
    full_refresh: bool = False
    rows_in_files: int | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_sha256: list[str] = field(default_factory=list)
    files: list[FileProfile] = field(default_factory=list)

    def profile_json(self) -> str:
        logged = [
            {k: v for k, v in f.__dict__.items() if k not in FileProfile.LANDING_ONLY} for f in self.files
        ]
        return json.dumps(logged, sort_keys=True)

    def reject(self, code: str, text: str) -> Outcome:
        """This outcome as REJECTED: the reason starts with its code, and no rows are counted."""
        self.status, self.reason_code, self.reason = REJECTED, code, f"{code}: {text}"
        self.rows_loaded = self.rows_quarantined = 0
        return self


class Rejected(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def internal_error(out: Outcome, exc: BaseException, during: str) -> Outcome:
    """The last line of defence: reject the delivery naming the error's type only (an error's
    message may quote the data)."""
    return out.reject(
        INTERNAL_ERROR,
        f"{type(exc).__name__} while {during}; the platform could not read this delivery. It is not "
        "loaded and the run went on; the platform team can see the error type in the log",
    )


def record_key(spec: FeedSpec, values: Mapping[str, str | None]) -> str:
    """outputs.md "Record keys": key columns trimmed, joined with ``|``, dates as YYYY-MM-DD."""
    return "|".join(
        record_key_part(values.get(c), spec.column(c).kind == "date", c in spec.upper_key_columns)
        for c in spec.key
    )


def record_key_part(value: str | None, is_date: bool, upper: bool) -> str:
    """One key column's part of a record key: trimmed, a date as YYYY-MM-DD, upper case if asked."""
    v = (value or "").strip()
    if is_date:
        d = parse_date(v)
        v = d.isoformat() if d else v
    return v.upper() if upper else v


class FileRules:
    """feeds.md's row rules for one file, resolved against its header once: column positions
    instead of a dict per row (bronze checks every row twice, see docs/bronze.md)."""

    def __init__(self, spec: FeedSpec, header: list[str]) -> None:
        pos = {h: i for i, h in enumerate(header)}
        self.spec, self.width = spec, len(header)
        self.keys = [(c, pos.get(c)) for c in spec.key]
        self.required = [(c, pos.get(c)) for c in spec.required if c not in spec.key]
        self.required_dates = [(c, pos.get(c)) for c in spec.required_dates]
        self.dates = [i for c in spec.date_columns if (i := pos.get(c)) is not None]
        self.columns = [(c, pos.get(c)) for c in spec.column_names]
        known = set(spec.column_names)
        self.extra = [(h, i) for i, h in enumerate(header) if h not in known]
        self.key_parts = [
            (pos.get(c), spec.column(c).kind == "date", c in spec.upper_key_columns) for c in spec.key
        ]

    def check(self, rec: RawRecord) -> tuple[str, str] | None:
        """The row-level checks of feeds.md, first failure wins: (reason_code, reason_text)."""
        if rec.too_long:
            return (
                FIELD_TOO_LONG,
                f"a field over {MAX_FIELD_CHARS:,} characters (raw line kept to that length)",
            )
        fields = rec.fields
        if len(fields) != self.width:
            return FIELD_COUNT, f"{len(fields)} fields where the header has {self.width}"
        for col, i in self.keys:
            if i is None or not fields[i].strip():
                return MISSING_KEY, f"key column {col} is blank"
        for col, i in self.required:
            if i is None or not fields[i].strip():
                return MISSING_REQUIRED, f"required column {col} is blank"
        for col, i in self.required_dates:
            value = fields[i] if i is not None else None
            if parse_date(value) is None:
                return BAD_REQUIRED_DATE, f"required date {col} is not a date: {value!r}"
        if rec.unterminated:
            return FIELD_COUNT, "unterminated quoted field (line cut short)"
        return None

    def row(self, fields: list[str]) -> dict[str, Any]:
        """An accepted record's values (blank → null), ``_extra`` and ``record_key``."""
        row: dict[str, Any] = {
            c: (v if (v := fields[i]).strip() else None) if i is not None else None for c, i in self.columns
        }
        extra = {h: fields[i] for h, i in self.extra if fields[i].strip()}
        row["_extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
        row["record_key"] = "|".join(
            record_key_part(fields[i] if i is not None else None, is_date, upper)
            for i, is_date, upper in self.key_parts
        )
        return row


def read_header(spec: FeedSpec, name: str, records: Iterator[RawRecord]) -> list[str]:
    """The file's column names (trimmed, lower case), or :class:`Rejected`."""
    rec = next(records, None)
    if rec is None:
        raise Rejected(NO_HEADER, f"{name} has no header row")
    if rec.too_long:
        raise Rejected(NO_HEADER, f"{name}: the header line is too long to be a header")
    header = [h.strip().lower() for h in rec.fields]
    dupes = sorted({h or "(blank)" for h, n in Counter(header).items() if n > 1})
    if dupes:
        raise Rejected(DUPLICATE_COLUMNS, f"{name}: column {', '.join(dupes)} appears twice in the header")
    missing = [c for c in spec.required if c not in header]
    if missing:
        raise Rejected(REQUIRED_COLUMN_MISSING, f"{name}: required column {', '.join(missing)} missing")
    return header


def _records(storage: Storage, path: str, profile: TextProfile, digest: Any = None) -> Iterator[RawRecord]:
    chunks = read_chunks(storage, path)
    if digest is not None:
        chunks = hashed(chunks, digest)
    return read_records(chunks, profile)


def hashed(chunks: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    """The chunks, unchanged, each added to ``digest`` as it passes."""
    for c in chunks:
        digest.update(c)
        yield c


def _sha256(storage: Storage, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in read_chunks(storage, path):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def assess(storage: Storage, ref: DeliveryRef, loaded_sha256: Iterable[str]) -> Outcome:
    """Decide what happens to one delivery, in the order of feeds.md's table (docs/bronze.md).

    ``loaded_sha256`` holds the hashes of every file already LOADED for this authority and feed
    (earlier runs and earlier in this run). A folder without ``manifest.json`` is PENDING. Never
    raises for what a delivery holds (see the module docstring).
    """
    out = Outcome(ref=ref, status=PENDING, reason="", extract_date=ref.folder_date)
    try:
        _assess(storage, ref, set(loaded_sha256), out)
    except Rejected as exc:
        out.reject(exc.code, str(exc))
    except Exception as exc:  # the last line of defence: one delivery never stops the run
        internal_error(out, exc, "assessing it")
    return out


def _assess(storage: Storage, ref: DeliveryRef, already: set[str], out: Outcome) -> None:
    if ref.not_a_folder:
        raise Rejected(NOT_A_REGULAR_FILE, f"{ref.not_a_folder} is a link or not a folder: not followed")
    kinds = dict(entries(storage, ref.path))
    if MANIFEST not in kinds:
        out.reason_code = NO_MANIFEST
        out.reason = "no manifest.json yet: will be loaded by a later run once it arrives"
        return
    if kinds[MANIFEST] != FILE:
        raise Rejected(NOT_A_REGULAR_FILE, "manifest.json is a link or not a regular file")
    try:
        size = storage.size(join(ref.path, MANIFEST))
        if size > MAX_MANIFEST_BYTES:  # not read at all: it could be any size
            raise ManifestError(f"{size:,} bytes, over the {MAX_MANIFEST_BYTES:,}-byte limit for a manifest")
        manifest = parse_manifest(storage.read_bytes(join(ref.path, MANIFEST)))
    except ManifestError as exc:
        raise Rejected(MANIFEST_INVALID, f"manifest.json: {exc}") from None
    listed = [f.name for f in manifest.files]
    unsafe = [f"{n!r} {why}" for n in listed if (why := unsafe_name(n))]
    if unsafe:
        raise Rejected(UNSAFE_FILE_NAME, f"file names must be plain names in the folder: {'; '.join(unsafe)}")
    irregular = sorted(n for n, k in kinds.items() if k != FILE)
    if irregular:
        raise Rejected(
            NOT_A_REGULAR_FILE,
            f"only regular files belong in a delivery folder; not followed: {', '.join(irregular)}",
        )
    out.full_refresh = manifest.full_refresh
    out.extract_date = manifest.extract_date
    hashes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for n in dict.fromkeys(listed):
        if n in kinds:
            hashes[n], sizes[n] = _sha256(storage, join(ref.path, n))
    out.file_sha256 = [hashes[n] for n in listed if n in hashes]
    if len(hashes) == len(set(listed)) and all(h in already for h in hashes.values()):
        out.status, out.reason_code = DUPLICATE, ALREADY_LOADED
        out.reason = "every file's sha256 was already loaded for this feed"
        return
    _check_delivery(storage, ref, manifest, hashes, sizes, out)
    out.status = LOADED
    ignored = sorted(set(kinds) - set(listed) - {MANIFEST})
    if ignored:
        out.reason_code = UNLISTED_FILES
        out.reason = f"ignored files not in the manifest: {', '.join(ignored)}"


def _check_delivery(
    storage: Storage,
    ref: DeliveryRef,
    manifest: Manifest,
    hashes: dict[str, str],
    sizes: dict[str, int],
    out: Outcome,
) -> None:
    if ref.authority not in AUTHORITIES:
        raise Rejected(UNKNOWN_AUTHORITY, f"unknown authority {ref.authority!r}")
    if ref.feed not in FEEDS:
        raise Rejected(UNKNOWN_FEED, f"unknown feed {ref.feed!r}")
    if ref.folder_date is None:
        raise Rejected(BAD_FOLDER_NAME, f"folder name {ref.folder!r} is not <YYYY-MM-DD>[_<n>]")
    names = (manifest.authority, manifest.feed, manifest.extract_date)
    if names != (ref.authority, ref.feed, ref.folder_date):
        raise Rejected(
            PATH_MISMATCH,
            f"manifest names {manifest.authority!r}/{manifest.feed!r}/{manifest.extract_date} but it sits "
            f"in {ref.authority}/{ref.feed}/{ref.folder}",
        )
    listed = [f.name for f in manifest.files]
    if len(set(listed)) != len(listed):
        raise Rejected(MANIFEST_INVALID, "manifest.json lists a file twice")
    missing = [n for n in listed if n not in hashes]
    if missing:
        raise Rejected(FILE_MISSING, f"file in the manifest missing from the folder: {', '.join(missing)}")
    for entry in manifest.files:
        if not sizes[entry.name]:
            raise Rejected(EMPTY_FILE, f"{entry.name} is a 0-byte file")
        if hashes[entry.name] != entry.sha256:
            got, said = hashes[entry.name], entry.sha256
            raise Rejected(SHA256_MISMATCH, f"{entry.name}: sha256 {got} is not the manifest's {said}")
    spec = FEEDS[ref.feed]
    total = quarantined = 0
    for entry in manifest.files:
        profile = FileProfile(name=entry.name, sha256=hashes[entry.name], bytes=sizes[entry.name])
        out.files.append(profile)
        _scan_file(storage, spec, join(ref.path, entry.name), profile)
        if profile.records != entry.rows:
            n, said_n = profile.records, entry.rows
            raise Rejected(ROW_COUNT_MISMATCH, f"{entry.name}: {n} data rows; the manifest says {said_n}")
        total += profile.records
        quarantined += sum(profile.quarantined.values())
    out.rows_in_files, out.rows_quarantined = total, quarantined
    out.rows_loaded = total - quarantined


def _scan_file(storage: Storage, spec: FeedSpec, path: str, profile: FileProfile) -> None:
    """Count one file's records and quarantine reasons, and profile it, keeping no rows."""
    text = TextProfile()
    try:
        records = _records(storage, path, text)
        header = read_header(spec, profile.name, records)
        known = set(spec.column_names)
        profile.missing_columns = [c for c in spec.column_names if c not in header]
        profile.extra_columns = [h for h in header if h not in known]
        reasons: Counter[str] = Counter()
        dates: Counter[str] = Counter()
        count = chars = 0
        rules = FileRules(spec, header)
        for rec in records:
            count += 1
            problem = rules.check(rec)
            if problem is not None:
                reasons[problem[0]] += 1
                continue
            chars += sum(map(len, rec.fields))
            for i in rules.dates:
                fmt = date_format(rec.fields[i])
                if fmt:
                    dates[fmt] += 1
    except NotText as exc:
        raise Rejected(NOT_TEXT, f"{profile.name}: {exc}") from None
    profile.records = count
    profile.header, profile.physical_lines, profile.field_chars = header, text.lines, chars
    profile.quarantined = dict(sorted(reasons.items()))
    profile.date_formats = dict(sorted(dates.items()))
    profile.encoding = text.encoding
    profile.lines_cp1252, profile.lines_latin1 = text.cp1252, text.latin1
    profile.line_endings = text.line_endings


class DeliveryChanged(Exception):
    """A file's bytes changed between assessing the delivery and landing it."""


ROW, QUARANTINE = "row", "quarantine"


def delivered(storage: Storage, out: Outcome) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a LOADED delivery, one at a time, read again from its files: ``(ROW, values)``
    for an accepted row (every feed column, ``_extra``, ``record_key``, ``_source_file``,
    ``_line``) and ``(QUARANTINE, row)`` for a quarantined one. Raises :class:`DeliveryChanged`
    (after the file's last row) if a file's bytes are no longer those assessed."""
    spec = FEEDS[out.ref.feed]
    for profile in out.files:
        name = profile.name
        digest = hashlib.sha256()
        records = _records(storage, join(out.ref.path, name), TextProfile(), digest)
        rules = FileRules(spec, read_header(spec, name, records))
        count = 0
        for rec in records:
            count += 1
            problem = rules.check(rec)
            if problem is not None:
                yield (
                    QUARANTINE,
                    {
                        "feed": out.ref.feed,
                        "delivery_path": out.ref.path,
                        "source_file": name,
                        "line_number": rec.line,
                        "raw_line": rec.raw,
                        "reason_code": problem[0],
                        "reason_text": problem[1],
                    },
                )
                continue
            row = rules.row(rec.fields)
            row["_source_file"] = name
            row["_line"] = rec.line
            yield ROW, row
        if digest.hexdigest() != profile.sha256 or count != profile.records:
            raise DeliveryChanged(name)
