"""Reading delivered CSV files as a stream of records; parsing delivered dates.

Pure functions over bytes and strings: no Spark, no I/O. A file arrives as an iterable of byte
chunks and leaves as records, one at a time, each with its 1-based physical line number (the
header is line 1) and its raw text, so that a rejected record can be quarantined exactly as it was
delivered. Nothing here holds more than one record (bounded by :data:`MAX_LINE_BYTES` and
:data:`MAX_FIELD_CHARS`) in memory, whatever the size of the file.

Encoding is decided line by line (issue 17): a line that is valid UTF-8 is UTF-8; only a line that
is not is read as Windows-1252, or Latin-1 where Windows-1252 leaves a byte undefined (never
fails). A byte-order mark is dropped at the start of the file only. :class:`TextProfile` counts how
many lines needed each fallback, for the data-quality metrics.

CSV is RFC 4180 as Python's ``csv`` reads it: a quote opens a quoted field only at the start of a
field; inside an unquoted field (``O"Brien``) it is a literal character. A record is cut off
(``unterminated``) only when the file ends inside a quoted field.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

MAX_FIELD_CHARS = 1 << 20
"""A field may hold up to 1 MiB of characters; a record with a longer one is quarantined
(``FIELD_TOO_LONG``), the rest of the file loads."""
MAX_LINE_BYTES = 8 << 20
"""A physical line longer than this is not read whole: its record is quarantined
(``FIELD_TOO_LONG``) with the first :data:`MAX_FIELD_CHARS` characters as its raw line."""

# The limit is process-wide in Python's csv module; only ever raised here (default 131,072).
csv.field_size_limit(MAX_FIELD_CHARS)

_BOM = b"\xef\xbb\xbf"
# Formats partners send by mistake for a CSV, recognised by their first bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an OLE document (an .xls workbook?)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)


_OTHER_BREAKS = re.compile(rb"[\x0b\x0c\x1c-\x1e]")


class NotText(Exception):
    """The file is not text (NUL bytes, a known binary format, UTF-16): the delivery is refused."""


@dataclass
class TextProfile:
    """How one file's lines were read: encodings needed and line endings seen."""

    lines: int = 0
    bom: bool = False
    utf8_non_ascii: int = 0  # lines with non-ASCII characters that were valid UTF-8
    cp1252: int = 0  # lines that were not valid UTF-8, read as Windows-1252
    latin1: int = 0  # lines valid in neither, read as Latin-1
    crlf: int = 0
    lf: int = 0
    cr: int = 0

    @property
    def encoding(self) -> str:
        """``utf-8``, ``utf-8-sig`` (with a byte-order mark), ``cp1252``/``latin-1`` (every
        non-ASCII line needed it), or ``mixed`` (UTF-8 lines and Windows-1252 lines)."""
        if not self.cp1252 and not self.latin1:
            return "utf-8-sig" if self.bom else "utf-8"
        if self.utf8_non_ascii or self.bom:
            return "mixed"
        return "latin-1" if self.latin1 else "cp1252"

    @property
    def line_endings(self) -> str:
        kinds = [k for k, n in (("crlf", self.crlf), ("lf", self.lf), ("cr", self.cr)) if n]
        return "none" if not kinds else kinds[0] if len(kinds) == 1 else "mixed"


def decode_line(line: bytes) -> tuple[str, str]:
    """One physical line as text and the encoding it needed: ``ascii``, ``utf-8``, ``cp1252`` or
    ``latin-1``."""
    if line.isascii():
        return line.decode("ascii"), "ascii"
    try:
        return line.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return line.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return line.decode("latin-1"), "latin-1"


class _Overlong(Exception):
    """A physical line longer than MAX_LINE_BYTES (raised through the csv reader)."""


class _Lines:
    """Decoded physical lines (with their endings) from byte chunks, for ``csv.reader``.

    Records what it hands out in ``consumed`` so that the caller can rebuild each record's raw
    text, and sets ``exhausted`` once the file has ended.
    """

    def __init__(self, chunks: Iterable[bytes], profile: TextProfile) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self._ready: deque[str] = deque()
        self._eof = False
        self._first = True
        self._skipping = False
        self.profile = profile
        self.consumed: list[str] = []
        self.dropped = 0  # lines of an over-long record consumed but not kept in ``consumed``
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def _check(self, chunk: bytes) -> None:
        if self._first:
            for sig, what in _SIGNATURES:
                if chunk.startswith(sig):
                    raise NotText(f"the file is {what}, not CSV text")
        if b"\x00" in chunk:
            raise NotText("the file holds NUL bytes: it is not text (UTF-16, or a binary file?)")

    def _take(self, lines: list[bytes]) -> None:
        """Decode complete lines (each with its line ending) into ``_ready``, profiling them. Most
        chunks are ASCII: decoded and split at once; others line by line (issue 17)."""
        p = self.profile
        p.lines += len(lines)
        region = b"".join(lines)
        crlf = region.count(b"\r\n")
        p.crlf += crlf
        p.lf += region.count(b"\n") - crlf
        p.cr += region.count(b"\r") - crlf
        if region.isascii() and not _OTHER_BREAKS.search(region):
            # str.splitlines also breaks at \x0b, \x0c, \x1c-\x1e: none here, so the same lines.
            self._ready.extend(region.decode("ascii").splitlines(keepends=True))
            return
        for raw in lines:
            text, enc = decode_line(raw)
            if enc == "utf-8":
                p.utf8_non_ascii += 1
            elif enc == "cp1252":
                p.cp1252 += 1
            elif enc == "latin-1":
                p.latin1 += 1
            self._ready.append(text)

    def _fill(self) -> None:
        while not self._ready:
            if self._eof:
                if self._buf and not self._skipping:
                    line, self._buf = self._buf, b""
                    self._take([line])
                    return
                self.exhausted = True
                raise StopIteration
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                continue
            if not chunk:
                continue
            self._check(chunk)
            if self._first and chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
                self.profile.bom = True
            self._first = False
            buf = self._buf + chunk
            if self._skipping:  # the rest of an overlong line: drop it, up to its line end
                m = re.search(rb"\r\n|\r|\n", buf)
                if m is None:
                    self._buf = b""
                    continue
                buf, self._skipping = buf[m.end() :], False
            parts = buf.splitlines(keepends=True)
            self._buf = parts.pop() if parts and not parts[-1].endswith(b"\n") else b""
            if parts:
                self._take(parts)
            elif len(self._buf) > MAX_LINE_BYTES:
                self._skipping = True
                head, self._buf = self._buf[:MAX_LINE_BYTES], b""
                text, _ = decode_line(head)
                self.consumed.append(text[:MAX_FIELD_CHARS])
                self.profile.lines += 1
                raise _Overlong

    def __next__(self) -> str:
        if not self._ready:
            self._fill()
        text = self._ready.popleft()
        self.consumed.append(text)
        return text


class _Quotes:
    """Whether a quoted field is open after some text, with csv's own rules (a quote opens a
    field only at its start; ``""`` inside is a quote). Used only after a record failed to read."""

    _TOKEN = re.compile(r'""|"|,|\r\n|\r|\n')

    def __init__(self) -> None:
        self.open = False
        self._at_start = True

    def feed(self, text: str) -> None:
        pos = 0
        for m in self._TOKEN.finditer(text):
            tok = m.group()
            if m.start() > pos and not self.open:
                self._at_start = False
            pos = m.end()
            if self.open:
                if tok == '"':
                    self.open, self._at_start = False, False
            elif tok in ('"', '""'):
                if self._at_start:
                    self.open = tok == '"'
                self._at_start = False
            else:
                self._at_start = True
        if pos < len(text) and not self.open:
            self._at_start = False


@dataclass(frozen=True)
class RawRecord:
    line: int  # physical line where the record starts; the header is line 1
    raw: str  # the record's text as delivered, without its final line ending
    fields: list[str]
    unterminated: bool = False  # the file ended inside a quoted field (a cut-off line)
    too_long: bool = False  # a field over MAX_FIELD_CHARS or a line over MAX_LINE_BYTES


def read_records(chunks: Iterable[bytes], profile: TextProfile | None = None) -> Iterator[RawRecord]:
    """The records of one file, streamed; wholly empty lines are not records.

    Quoted fields may hold line breaks; CR, LF and CRLF endings are all accepted. A record with a
    field longer than :data:`MAX_FIELD_CHARS` comes out ``too_long`` with no fields (its raw text
    kept up to that length) and reading goes on after it. Raises :class:`NotText`.
    """
    lines = _Lines(chunks, profile if profile is not None else TextProfile())
    reader = csv.reader(lines, strict=False)
    line = 1
    while True:
        too_long = False
        try:
            fields = next(reader)
        except StopIteration:
            return
        except (csv.Error, _Overlong):
            fields, too_long = [], True
            _finish_record(lines)
        n_lines = len(lines.consumed) + lines.dropped
        raw = "".join(lines.consumed)
        if too_long:
            raw = raw[:MAX_FIELD_CHARS]
        lines.consumed.clear()
        lines.dropped = 0
        start, line = line, line + n_lines
        if not fields and not too_long:  # an empty line (a trailing one, typically): not a record
            continue
        yield RawRecord(
            start,
            raw.rstrip("\r\n"),
            fields,
            unterminated=lines.exhausted and not too_long,
            too_long=too_long,
        )


def _finish_record(lines: _Lines) -> None:
    """After a record failed to read mid-way: if it was inside a quoted field, consume the lines
    up to where that field closes (they belong to the same record), keeping at most
    MAX_FIELD_CHARS of raw text, so that reading resumes at the next record."""
    quotes = _Quotes()
    quotes.feed("".join(lines.consumed))
    kept = sum(len(t) for t in lines.consumed)
    while quotes.open:
        try:
            text = next(lines)
        except (StopIteration, _Overlong):
            break
        quotes.feed(text)
        if kept >= MAX_FIELD_CHARS:
            lines.consumed.pop()
            lines.dropped += 1
        kept += len(text)


def split_records(text: str) -> Iterator[RawRecord]:
    """:func:`read_records` over text already in memory (tests, small inputs)."""
    return read_records([text.encode("utf-8")])


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
