"""Landing a plain file in columns: Arrow's C++ CSV reader instead of a Python loop per row.

Bronze reads a delivered file again to land its rows, after assessing it (``deliveries.assess``:
hash, parse and check every record in Python, one line at a time, because any byte can be
hostile). Most files are plain: UTF-8, one record per physical line, no quarantined record, no
column the feed does not know. For those, landing needs none of the per-line care: Arrow's CSV
reader parses them in C++ into the columns Spark takes, with about a tenth of the Python work
(issue 17's throughput, ``docs/scale.md``).

A file is landed in columns only when its assessment says it is plain (:func:`is_plain`), and its
rows must come out of Arrow as the Python reader gave them: the same number of records and the
same number of characters in all their fields (:class:`NotPlain` otherwise, as for any error of
Arrow's own; the caller then lands the delivery the row-by-row way). Values are then the Python
path's exactly: a blank field (nothing but what Python's ``str.strip`` removes) is null; the record
key is built by the same function (``deliveries.record_key_part``); ``_line`` is the physical line
(the header is line 1, and a plain file has one record per line). Arrow's reader follows RFC 4180
as Python's ``csv`` does here: a quote opens a quoted field only at its start, ``""`` inside one
is a quote, and a quote inside an unquoted field (``O"Brien``) is a literal character.

Memory is bounded as on the row path: the file is read in blocks of :data:`BLOCK_BYTES` and handed
on in record batches of at most ``batch_rows`` rows.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from accelerator.bronze.deliveries import DeliveryChanged, FileProfile, Outcome, hashed, record_key_part
from accelerator.feeds import FEEDS
from accelerator.io.lake import join
from accelerator.io.storage import Storage, read_chunks

BLOCK_BYTES = 1 << 20
"""Bytes Arrow's reader parses at a time (about 5,000 police rows). Its memory grows with the
block: reading the 2-million-row benchmark file peaked at 133 MiB with 1 MiB blocks, 277 MiB with
4 MiB and 453 MiB with 8 MiB (the whole Python process), for no gain in speed."""

# Every character Python's str.strip() removes (str.isspace), as an RE2 class: a field of only
# these is blank, hence null (feeds.md). tests/test_bronze_columnar.py checks it against Python
# over every code point.
_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
BLANK = f"^[{_SPACE}]*$"
_BOM = b"\xef\xbb\xbf"


class NotPlain(Exception):
    """Arrow's reading of a file does not agree with its assessment: land it row by row."""


def is_plain(profile: FileProfile) -> bool:
    """Whether a LOADED delivery's file, as assessed, can be landed in columns: every line UTF-8
    (a byte-order mark allowed), one record per physical line (no quoted line break, no blank
    line), no quarantined record, no extra column."""
    return (
        profile.encoding in ("utf-8", "utf-8-sig")
        and not profile.quarantined
        and not profile.extra_columns
        and profile.records > 0
        and profile.physical_lines == profile.records + 1
        and bool(profile.header)
    )


def plain_delivery(out: Outcome) -> bool:
    """Whether every file of a LOADED delivery is plain (:func:`is_plain`)."""
    return bool(out.files) and all(is_plain(f) for f in out.files)


class _Reader(io.RawIOBase):
    """A file's chunks as a stream for Arrow, the byte-order mark dropped."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._first = chunks, True
        self._view, self._at = memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._at >= len(self._view):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if self._first and chunk:
                self._first = False
                if chunk.startswith(_BOM):
                    chunk = chunk[len(_BOM) :]
            self._view, self._at = memoryview(chunk), 0
        n = min(len(b), len(self._view) - self._at)
        b[:n] = self._view[self._at : self._at + n]
        self._at += n
        return n


def _constant(value: object, n: int, typ: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, typ), n)


def _open_csv(source: _Reader, profile: FileProfile) -> pcsv.CSVStreamingReader:
    """Arrow's streaming CSV reader over a plain file: every column a string, an empty field an
    empty string (not null), the header skipped and its names used."""
    header = profile.header
    try:
        return pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(
                block_size=BLOCK_BYTES, skip_rows=1, column_names=header, use_threads=False
            ),
            parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException as exc:  # Arrow's own error (not the storage's): the row path decides
        raise NotPlain(f"{profile.name}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class _KeyColumns:
    """Where each column of the feed's record key is in the file (None: the file lacks it), and
    whether it is a date and upper-cased (``record_key_part``)."""

    positions: list[int | None]
    flags: list[tuple[bool, bool]]

    def of(self, block: pa.RecordBatch) -> pa.Array:
        n = block.num_rows
        parts = (block.column(i).to_pylist() if i is not None else [None] * n for i in self.positions)
        joined = [
            "|".join(record_key_part(v, d, u) for v, (d, u) in zip(k, self.flags, strict=True))
            for k in zip(*parts, strict=True)
        ]
        return pa.array(joined, pa.string())


def _columns(
    block: pa.RecordBatch,
    schema: T.StructType,
    arrow_schema: pa.Schema,
    source_file: str,
    position: dict[str, int],
    keys: _KeyColumns,
    stamp: dict[str, Any],
    *,
    first_line: int,
) -> tuple[list[pa.Array], int]:
    """One block's columns of ``schema`` (blank values null, the record key, line numbers from
    ``first_line`` (the header is line 1), the source file, the delivery's stamp), and how many
    characters its fields hold. ``position``: each column's place in the file."""
    n = block.num_rows
    columns: list[pa.Array] = []
    chars = 0
    for f in schema.fields:
        i = position.get(f.name)
        if i is not None:
            values = block.column(i)
            chars += pc.sum(pc.utf8_length(values)).as_py() or 0
            blank = pc.match_substring_regex(values, BLANK)
            columns.append(pc.replace_with_mask(values, blank, pa.nulls(n, pa.string())))
        elif f.name == "record_key":
            columns.append(keys.of(block))
        elif f.name == "_line":
            columns.append(pa.array(range(first_line, first_line + n), pa.int32()))
        elif f.name == "_source_file":
            columns.append(_constant(source_file, n, pa.string()))
        elif f.name in stamp:
            columns.append(_constant(stamp[f.name], n, arrow_schema.field(f.name).type))
        else:  # a feed column the file lacks, or _extra (a plain file has no extra column)
            columns.append(pa.nulls(n, arrow_schema.field(f.name).type))
    return columns, chars


def plain_batches(
    storage: Storage,
    out: Outcome,
    profile: FileProfile,
    schema: T.StructType,
    stamp: dict[str, Any],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The rows of one plain file as Arrow record batches of ``schema`` (``land.bronze_schema``),
    one per block read (cut to at most ``batch_rows`` rows). ``stamp`` holds the delivery's
    platform columns (``_delivery``, ``_delivery_id``, ``_extract_date``, ``_run_id``,
    ``_loaded_at``). Raises :class:`NotPlain` when Arrow's records are not the assessment's
    (after the last batch, as the row path checks the hash), and :class:`DeliveryChanged` when
    the bytes are no longer those assessed."""
    spec = FEEDS[out.ref.feed]
    arrow_schema = to_arrow_schema(schema)
    digest = hashlib.sha256()
    reader = _open_csv(
        _Reader(hashed(read_chunks(storage, join(out.ref.path, profile.name)), digest)), profile
    )
    position = {h: i for i, h in enumerate(profile.header)}
    keys = _KeyColumns(
        [position.get(c) for c in spec.key],
        [(spec.column(c).kind == "date", c in spec.upper_key_columns) for c in spec.key],
    )
    records = chars = 0
    while True:
        try:
            block = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowException as exc:  # e.g. a row Arrow cannot split as Python did
            raise NotPlain(f"{profile.name}: {type(exc).__name__}") from None
        columns, block_chars = _columns(
            block, schema, arrow_schema, profile.name, position, keys, stamp, first_line=records + 2
        )
        records += block.num_rows
        chars += block_chars
        rows = pa.RecordBatch.from_arrays(columns, schema=arrow_schema)
        for start in range(0, block.num_rows, batch_rows):
            yield rows.slice(start, batch_rows)
    if digest.hexdigest() != profile.sha256:
        raise DeliveryChanged(profile.name)
    if records != profile.records or chars != profile.field_chars:
        raise NotPlain(
            f"{profile.name}: Arrow read {records} records of {chars} characters, the assessment "
            f"{profile.records} of {profile.field_chars}"
        )
