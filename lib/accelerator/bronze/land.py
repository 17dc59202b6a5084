"""Land every pending delivery into ``bronze/<authority>/<feed>``, quarantine and the delivery log.

The stage has the three parts of every stage:

- *read*: :func:`settled_state` (what the delivery log already settled, and the sha256 of every
  LOADED file) and :func:`assess_all` (each unsettled delivery folder assessed in processing
  order, its files streamed, no rows kept: ``deliveries.assess``);
- *transform*: ``deliveries.delivered`` streams a LOADED delivery's rows, read again from its
  files, or, when every file is plain, ``columnar.plain_batches`` reads them in Arrow columns;
  :func:`log_rows` builds the log rows;
- *publish*: :func:`publish`, the one function here that writes.

Commit point: the delivery log. Delta commits one table at a time, so :func:`publish` writes, per
bronze table and per quarantine table, the run's rows in batches of at most ``batch_rows`` (driver
memory stays bounded whatever the backlog or a delivery's size): the **first** batch written to a
table replaces (``replaceWhere _delivery_id IN <this run's deliveries of that table>``) whatever
rows an earlier, interrupted run left for those deliveries, and later batches append; a table that
gets no rows in this run has such leftovers deleted. Then the log rows are appended in one commit.
A run killed before the log commit leaves its deliveries unsettled; the next run assesses them
again and its first batch per table removes the partial rows, so no delivery is ever half-loaded or
loaded twice (``tests/test_bronze_land.py`` kills a run between two batches and reruns it).

A delivery whose files cannot be read back while landing (an unexpected error, or bytes changed
since they were assessed) is REJECTED with ``INTERNAL_ERROR`` and its rows already written in this
run are deleted before the log commit; a failure to write a table is the platform's and ends the
run (before the commit point, so the next run starts clean).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.bronze.columnar import NotPlain, plain_batches, plain_delivery
from accelerator.bronze.deliveries import (
    DUPLICATE,
    LOADED,
    PENDING,
    QUARANTINE,
    SETTLED,
    DeliveryRef,
    Outcome,
    assess,
    delivered,
    discover,
    internal_error,
)
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.io import tables
from accelerator.io.frames import from_arrow, union_all
from accelerator.io.lake import Lake
from accelerator.io.storage import Storage
from accelerator.io.tables import column as col

BATCH_ROWS = 50_000
"""Rows held per table before they are written (one Delta commit per batch)."""
WRITE_AHEAD = 2
"""Batches of one table written at once (after its first, which replaces)."""
WRITERS = 4
"""Authorities landed at once (their writes overlap; parsing holds the GIL)."""

PLATFORM_COLUMNS = T.StructType(
    [
        col("_extra", T.StringType(), "extra delivered columns, as a JSON object"),
        col("record_key", T.StringType(), "feed key columns joined with | (outputs.md)"),
        col("_delivery", T.StringType(), "delivery folder, as the log's delivery_path"),
        col("_delivery_id", T.StringType(), "<authority>/<feed>/<folder>"),
        col("_source_file", T.StringType(), "delivered file name"),
        col("_line", T.IntegerType(), "physical line of the record; header = 1"),
        col("_extract_date", T.DateType(), "extract date of the delivery"),
        col("_run_id", T.StringType(), "run that loaded the row"),
        col("_loaded_at", T.TimestampType(), "when that run started"),
    ]
)
BRONZE_STATS = ("_delivery_id", "_extract_date", "_run_id", "_line")

QUARANTINE_SCHEMA = T.StructType(
    [
        col("feed", T.StringType()),
        col("delivery_path", T.StringType()),
        col("source_file", T.StringType()),
        col("line_number", T.IntegerType()),
        col("raw_line", T.StringType(), "the record exactly as delivered (FIELD_TOO_LONG: its first 1 MiB)"),
        col("reason_code", T.StringType()),
        col("reason_text", T.StringType()),
        col("run_id", T.StringType()),
        col("delivery_id", T.StringType()),
    ]
)
QUARANTINE_STATS = ("feed", "delivery_id", "run_id", "line_number")

LOG_SCHEMA = T.StructType(
    [
        col("delivery_path", T.StringType()),
        col("authority", T.StringType()),
        col("feed", T.StringType()),
        col("extract_date", T.DateType()),
        col("status", T.StringType(), "LOADED, REJECTED, DUPLICATE or PENDING"),
        col("reason", T.StringType(), "for a partner; a REJECTED one starts with its reason_code"),
        col("rows_in_files", T.IntegerType()),
        col("rows_loaded", T.IntegerType()),
        col("rows_quarantined", T.IntegerType()),
        col("run_id", T.StringType()),
        col("loaded_at", T.TimestampType()),
        col("delivery_id", T.StringType(), "<authority>/<feed>/<folder>"),
        col("folder", T.StringType()),
        col("folder_seq", T.IntegerType(), "n of a <date>_<n> folder, else 0"),
        col("full_refresh", T.BooleanType()),
        col("file_sha256", T.ArrayType(T.StringType())),
        col("file_profile", T.StringType(), "per file: encoding, lines read as cp1252, date formats, ..."),
        col("reason_code", T.StringType(), "machine reason (docs/bronze.md); logs created before it lack it"),
    ]
)
LOG_STATS = ("authority", "feed", "extract_date", "status", "run_id", "delivery_id")


def bronze_schema(feed: str) -> T.StructType:
    """Every delivered column as a string, then the platform columns (outputs.md "Bronze rows")."""
    delivered_cols = [col(c, T.StringType()) for c in FEEDS[feed].column_names]
    return T.StructType(delivered_cols + list(PLATFORM_COLUMNS.fields))


@dataclass
class BronzeResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for o in self.outcomes:
            counts[o.status] += 1
        return dict(counts)

    def by_reason(self) -> dict[str, int]:
        """Deliveries per (status, reason code), e.g. ``REJECTED MANIFEST_INVALID``."""
        counts: dict[str, int] = defaultdict(int)
        for o in self.outcomes:
            if o.reason_code:
                counts[f"{o.status} {o.reason_code}"] += 1
        return dict(sorted(counts.items()))

    def rows_quarantined_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for o in self.loaded:
            for f in o.files:
                for code, n in f.quarantined.items():
                    counts[code] += n
        return dict(sorted(counts.items()))

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def loaded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == LOADED]


# ------------------------------------------------------------------------------------------ read


def settled_state(spark: SparkSession, lake: Lake) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    """Deliveries already settled, and the sha256 of every LOADED file per (authority, feed)."""
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return set(), {}
    settled = {
        r.delivery_id for r in log.where(F.col("status").isin(*SETTLED)).select("delivery_id").collect()
    }
    hashes: dict[tuple[str, str], set[str]] = defaultdict(set)
    loaded = log.where(F.col("status") == LOADED).select(
        "authority", "feed", F.explode("file_sha256").alias("sha")
    )
    for r in loaded.collect():
        hashes[(r.authority, r.feed)].add(r.sha)
    return settled, dict(hashes)


def assess_all(
    storage: Storage,
    pending: Iterable[DeliveryRef],
    loaded_hashes: dict[tuple[str, str], set[str]],
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Assess each delivery in processing order; a LOADED one's hashes count for the later ones
    (feeds.md: "earlier in the same run"). ``loaded_hashes`` is not changed."""
    seen = {k: set(v) for k, v in loaded_hashes.items()}
    outcomes = []
    for ref in pending:
        outcome = assess(storage, ref, seen.get((ref.authority, ref.feed), set()))
        if outcome.status == LOADED:
            seen.setdefault((ref.authority, ref.feed), set()).update(outcome.file_sha256)
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def run_bronze(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    storage: Storage,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> BronzeResult:
    """Land every delivery folder not settled by an earlier run; see the module docstring."""
    lake = Lake(settings.lake_root)
    settled, loaded_hashes = settled_state(spark, lake)
    pending = [r for r in discover(storage, settings.landing_root) if r.delivery_id not in settled]
    if on_total:
        on_total(len(pending))
    outcomes = assess_all(storage, pending, loaded_hashes, on_outcome)
    if outcomes:
        publish(spark, lake, ctx, storage, outcomes, loaded_hashes, batch_rows=batch_rows)
    return BronzeResult(outcomes)


# ------------------------------------------------------------------------------------- transform


def log_rows(outcomes: Iterable[Outcome], ctx: RunContext) -> list[dict[str, object]]:
    """One delivery log row per outcome (outputs.md "Run audit")."""
    return [
        {
            "delivery_path": o.ref.path,
            "authority": o.ref.authority,
            "feed": o.ref.feed,
            "extract_date": o.extract_date,
            "status": o.status,
            "reason": o.reason,
            "rows_in_files": o.rows_in_files,
            "rows_loaded": o.rows_loaded,
            "rows_quarantined": o.rows_quarantined,
            "run_id": ctx.run_id,
            "loaded_at": ctx.started_at,
            "delivery_id": o.ref.delivery_id,
            "folder": o.ref.folder,
            "folder_seq": o.ref.folder_seq,
            "full_refresh": o.full_refresh,
            "file_sha256": o.file_sha256,
            "file_profile": o.profile_json(),
            "reason_code": o.reason_code,
        }
        for o in outcomes
    ]


def recheck_duplicates(outcomes: list[Outcome], loaded_before: dict[tuple[str, str], set[str]]) -> None:
    """A delivery found DUPLICATE of one that then failed to land in this same run is not a
    duplicate of anything loaded: it goes back to PENDING, for the next run to assess again."""
    loaded = {k: set(v) for k, v in loaded_before.items()}
    for o in outcomes:
        if o.status == LOADED:
            loaded.setdefault((o.ref.authority, o.ref.feed), set()).update(o.file_sha256)
    for o in outcomes:
        key = (o.ref.authority, o.ref.feed)
        if o.status == DUPLICATE and not set(o.file_sha256) <= loaded.get(key, set()):
            o.status, o.reason_code = PENDING, "DUPLICATE_OF_FAILED"
            o.reason = "its files match a delivery of this run that failed to land: assessed again next run"


# --------------------------------------------------------------------------------------- publish


def _frame(spark: SparkSession, rows: list[dict[str, Any]], schema: T.StructType) -> DataFrame:
    names = [f.name for f in schema.fields]
    pdf = pd.DataFrame({n: [r.get(n) for r in rows] for n in names}, columns=names)
    return spark.createDataFrame(pdf, schema=schema)


@dataclass
class _Held:
    """Rows waiting to be written: as dicts (the row path) and in Arrow columns (the columnar
    path, ``bronze/columnar.py``: one record batch per block read, with its delivery's id)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[tuple[str, pa.RecordBatch]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows) + sum(b.num_rows for _, b in self.columns)


class _Batches:
    """One table's writes in this run: rows held up to ``batch_rows``, the first batch replacing
    this run's deliveries (leftovers of an interrupted run), the later ones appended. Batches are
    written on threads of the table's own while the next one fills: the first alone (the appends
    must not start before its replace has committed), then up to ``WRITE_AHEAD`` appends at once
    (Delta commits blind appends to one table concurrently; a batch's Arrow transfer and Parquet
    encoding then overlap another's commit). At most ``WRITE_AHEAD + 1`` batches are in memory.
    A batch may mix rows of many deliveries, held as dicts or in columns. A table not there yet is
    created by its first batch (a replace creates it: one commit, not two), or empty on
    :meth:`close` when no batch came."""

    def __init__(
        self,
        spark: SparkSession,
        path: str,
        schema: T.StructType,
        stats: tuple[str, ...],
        id_column: str,
        delivery_ids: Iterable[str],
        batch_rows: int,
    ) -> None:
        self.spark, self.path, self.schema, self.stats = spark, path, schema, stats
        self.id_column, self.batch_rows = id_column, batch_rows
        self.ids = sorted(set(delivery_ids))
        self.had_table = tables.exists(spark, path)
        self.held = _Held()
        self.replaced = False
        self.written: set[str] = set()
        self._writer = ThreadPoolExecutor(max_workers=WRITE_AHEAD)
        self._in_flight: list[Future[None]] = []
        self._replacing = False  # the first batch (a replace) is being written

    def add(self, row: dict[str, Any]) -> None:
        self.held.rows.append(row)
        if len(self.held) >= self.batch_rows:
            self.flush()

    def add_columns(self, batch: pa.RecordBatch, delivery_id: str) -> None:
        """Rows of one delivery already in columns (a record batch: a partition of the write)."""
        self.held.columns.append((delivery_id, batch))
        if len(self.held) >= self.batch_rows:
            self.flush()

    def _wait(self, *, leave: int = 0) -> None:
        """Wait until at most ``leave`` batches are being written; a write's error (the
        platform's) ends the run."""
        while len(self._in_flight) > leave:
            self._in_flight.pop(0).result()

    def _write(self, held: _Held, first: bool) -> None:
        frames = []
        if held.rows:
            frames.append(_frame(self.spark, held.rows, self.schema))
        if held.columns:
            # Small deliveries' batches together, then cut as the row path's frames are cut: one
            # partition (one Parquet file) per `arrow.maxRecordsPerBatch` rows (spark.py).
            table = pa.Table.from_batches([b for _, b in held.columns]).combine_chunks()
            step = int(self.spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch") or 10_000)
            frames.append(from_arrow(self.spark, table.to_batches(max_chunksize=step), self.schema))
        df = union_all(frames)
        if first:
            tables.replace_where(
                df, self.path, tables.isin(F.col(self.id_column), self.ids), stats=self.stats
            )
        else:
            tables.append(df, self.path, stats=self.stats)

    def flush(self) -> None:
        if not len(self.held):
            return
        held, self.held = self.held, _Held()
        self.written.update(r[self.id_column] for r in held.rows)
        self.written.update(d for d, _ in held.columns)
        first, self.replaced = not self.replaced, True
        # The first batch's replace commits before any append starts; then WRITE_AHEAD at once.
        self._wait(leave=0 if self._replacing else WRITE_AHEAD - 1)
        self._replacing = first
        self._in_flight.append(self._writer.submit(self._write, held, first))

    def discard(self, delivery_id: str) -> None:
        """Drop one delivery's rows: those held, and those already written in this run."""
        self._wait()
        self.held.rows = [r for r in self.held.rows if r[self.id_column] != delivery_id]
        self.held.columns = [(d, b) for d, b in self.held.columns if d != delivery_id]
        if delivery_id in self.written:
            tables.delete_where(self.spark, self.path, F.col(self.id_column) == delivery_id)
            self.written.discard(delivery_id)

    def close(self) -> None:
        try:
            self.flush()
            self._wait()
        finally:
            self._writer.shutdown(wait=True)
        if not self.replaced and self.had_table and self.ids:
            tables.delete_where(self.spark, self.path, tables.isin(F.col(self.id_column), self.ids))
        if not self.replaced and not self.had_table:
            tables.create(self.spark, self.path, self.schema, stats=self.stats)


def _land_authority(
    spark: SparkSession,
    lake: Lake,
    ctx: RunContext,
    storage: Storage,
    authority: str,
    outcomes: list[Outcome],
    batch_rows: int,
) -> dict[str, BaseException]:
    """Write one authority's bronze and quarantine rows; returns the deliveries that failed to
    land (their rows removed again), by delivery id."""
    failed: dict[str, BaseException] = {}
    quarantine = _Batches(
        spark,
        lake.quarantine(authority),
        QUARANTINE_SCHEMA,
        QUARANTINE_STATS,
        "delivery_id",
        [o.ref.delivery_id for o in outcomes],
        batch_rows,
    )
    for feed in sorted({o.ref.feed for o in outcomes}):
        mine = [o for o in outcomes if o.ref.feed == feed]
        bronze = _Batches(
            spark,
            lake.bronze(authority, feed),
            bronze_schema(feed),
            BRONZE_STATS,
            "_delivery_id",
            [o.ref.delivery_id for o in mine],
            batch_rows,
        )
        for o in mine:
            if o.status != LOADED:
                continue
            stamp = {
                "_delivery": o.ref.path,
                "_delivery_id": o.ref.delivery_id,
                "_extract_date": o.extract_date,
                "_run_id": ctx.run_id,
                "_loaded_at": ctx.started_at,
            }
            if plain_delivery(o) and _land_plain(storage, o, bronze, stamp, batch_rows, failed):
                continue
            error = _land_rows(storage, o, bronze, quarantine, stamp, ctx.run_id)
            if error is not None:
                failed[o.ref.delivery_id] = error
        bronze.close()
    quarantine.close()
    return failed


def _land_rows(
    storage: Storage,
    o: Outcome,
    bronze: _Batches,
    quarantine: _Batches,
    stamp: dict[str, Any],
    run_id: str,
) -> Exception | None:
    """The row path: each row of the delivery to bronze (with ``stamp``) or to quarantine. When
    reading the delivery again fails, its rows are taken out of both again and the error returned:
    the delivery is rejected, the others go on."""
    q_stamp = {"run_id": run_id, "delivery_id": o.ref.delivery_id}
    rows = delivered(storage, o)
    while True:
        try:
            kind, row = next(rows)
        except StopIteration:
            return None
        except Exception as exc:
            bronze.discard(o.ref.delivery_id)
            quarantine.discard(o.ref.delivery_id)
            return exc
        if kind == QUARANTINE:
            quarantine.add({**row, **q_stamp})
        else:
            bronze.add({**row, **stamp})


def _land_plain(
    storage: Storage,
    o: Outcome,
    bronze: _Batches,
    stamp: dict[str, Any],
    batch_rows: int,
    failed: dict[str, BaseException],
) -> bool:
    """Land a delivery whose files are all plain in columns (``bronze/columnar.py``). False when
    Arrow's reading disagrees with the assessment: its rows written so far are discarded, for the
    row path to land it instead. Any other failure rejects the delivery, as on the row path."""
    try:
        for profile in o.files:
            for batch in plain_batches(storage, o, profile, bronze.schema, stamp, batch_rows):
                bronze.add_columns(batch, o.ref.delivery_id)
    except NotPlain:
        bronze.discard(o.ref.delivery_id)
        return False
    except Exception as exc:  # reading the delivery again failed: reject it, go on
        failed[o.ref.delivery_id] = exc
        bronze.discard(o.ref.delivery_id)
    return True


def publish(
    spark: SparkSession,
    lake: Lake,
    ctx: RunContext,
    storage: Storage,
    outcomes: list[Outcome],
    loaded_before: dict[tuple[str, str], set[str]],
    *,
    batch_rows: int = BATCH_ROWS,
) -> None:
    """Bronze and quarantine tables in batches, then the delivery log (the commit point)."""
    by_authority: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.status != PENDING and o.ref.authority in AUTHORITIES and o.ref.feed in FEEDS:
            by_authority[o.ref.authority].append(o)
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(
            pool.map(
                lambda a: _land_authority(spark, lake, ctx, storage, a, by_authority[a], batch_rows),
                sorted(by_authority),
            )
        )
    failed = {k: v for r in results for k, v in r.items()}
    for o in outcomes:
        if o.ref.delivery_id in failed:
            internal_error(o, failed[o.ref.delivery_id], "landing it")
    recheck_duplicates(outcomes, loaded_before)
    append_log(spark, lake, log_rows(outcomes, ctx))


def append_log(spark: SparkSession, lake: Lake, rows: list[dict[str, object]]) -> None:
    """The commit point: one append to the delivery log (the first creates it). A log created
    before a column was added (``reason_code``) keeps its schema; the column's value is then only
    in ``reason``."""
    existing = tables.read(spark, lake.delivery_log)
    schema = LOG_SCHEMA
    if existing is not None:
        schema = T.StructType([f for f in LOG_SCHEMA.fields if f.name in existing.columns])
    tables.append(_frame(spark, rows, schema), lake.delivery_log, stats=LOG_STATS)
