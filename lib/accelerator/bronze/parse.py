"""Decoding and splitting delivered CSV files; parsing delivered dates.

Pure functions over bytes and strings: no Spark, no I/O. A file becomes a header and a list of
records, each with its 1-based physical line number (the header is line 1) and its raw text, so
that a rejected record can be quarantined exactly as it was delivered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # utf-8, utf-8-sig (had a byte-order mark), cp1252 or latin-1


def decode(data: bytes) -> Decoded:
    """UTF-8 (with or without a byte-order mark), else Windows-1252, else Latin-1 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return Decoded(data[3:].decode("utf-8"), "utf-8-sig")
        except UnicodeDecodeError:
            pass
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return Decoded(data.decode("latin-1"), "latin-1")


@dataclass(frozen=True)
class RawRecord:
    line: int  # physical line where the record starts; the header is line 1
    raw: str  # the record's text as delivered, without its final line ending
    fields: list[str]
    unterminated: bool  # a quoted field still open at the end of the file (a cut-off line)


def split_records(text: str) -> Iterator[RawRecord]:
    """RFC 4180 records with their physical line numbers; wholly empty lines are not records.

    Quoted fields may hold line breaks; CR, LF and CRLF endings are all accepted.
    """
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for physical in io.StringIO(text, newline=""):
            consumed.append(physical)
            yield physical

    reader = csv.reader(lines(), strict=False)
    line = 1
    for fields in reader:
        raw = "".join(consumed)
        start = line
        line += len(consumed)
        consumed.clear()
        if not fields:  # an empty line (a trailing one, typically): no data, not a record
            continue
        stripped = raw.rstrip("\r\n")
        yield RawRecord(start, stripped, fields, unterminated=stripped.count('"') % 2 == 1)


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

DATE_FORMATS = ("iso", "timestamp", "dmy")


def date_format(value: str | None) -> str | None:
    """Which delivered form a date value takes (iso, timestamp, dmy), or None if none."""
    if value is None:
        return None
    v = value.strip()
    if _ISO.match(v):
        return "iso"
    if _TS.match(v):
        return "timestamp"
    if _DMY.match(v):
        return "dmy"
    return None


def parse_date(value: str | None) -> date | None:
    """A delivered date as a calendar date: ``YYYY-MM-DD``, a timestamp on that day, or
    ``DD/MM/YYYY``. Impossible dates (``2023-02-30``) and anything else give None."""
    if value is None:
        return None
    v = value.strip()
    m = _ISO.match(v) or _TS.match(v)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _DMY.match(v)
        if not m:
            return None
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def clean(value: str | None) -> str | None:
    """An empty (or all-blank) field is null (feeds.md); other values are kept as delivered."""
    if value is None or value.strip() == "":
        return None
    return value
