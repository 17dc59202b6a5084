"""Land every pending delivery into ``bronze/<authority>/<feed>``, quarantine and the delivery log.

Atomicity: Delta commits one table at a time, so the delivery log is the commit point. A run
first writes each bronze and quarantine table once, replacing (``replaceWhere``) whatever rows an
earlier, interrupted run left for the same deliveries, then appends the log rows in one commit.
A run killed before the log commit leaves its deliveries unsettled; the next run loads them again
and the replace removes the partial rows, so no delivery is ever half-loaded or loaded twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.bronze.deliveries import (
    LOADED,
    PENDING,
    SETTLED,
    Outcome,
    assess,
    discover,
)
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.io.delta import append, col, ensure_table, in_list, is_delta, replace_where
from accelerator.io.lake import Lake
from accelerator.io.storage import Storage

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
        col("raw_line", T.StringType(), "the record exactly as delivered"),
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
        col("reason", T.StringType()),
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
        col("file_profile", T.StringType(), "per file: encoding, date formats, ..."),
    ]
)
LOG_STATS = ("authority", "feed", "extract_date", "status", "run_id", "delivery_id")


def bronze_schema(feed: str) -> T.StructType:
    """Every delivered column as a string, then the platform columns (outputs.md "Bronze rows")."""
    delivered = [col(c, T.StringType()) for c in FEEDS[feed].column_names]
    return T.StructType(delivered + list(PLATFORM_COLUMNS.fields))


@dataclass
class BronzeResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for o in self.outcomes:
            counts[o.status] += 1
        return dict(counts)

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def loaded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == LOADED]


def read_log(spark: SparkSession, lake: Lake) -> DataFrame | None:
    return spark.read.format("delta").load(lake.delivery_log) if is_delta(spark, lake.delivery_log) else None


def _settled_state(spark: SparkSession, lake: Lake) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    """Deliveries already settled, and the sha256 of every LOADED file per (authority, feed)."""
    log = read_log(spark, lake)
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
    return settled, hashes


def _frame(spark: SparkSession, rows: list[dict[str, object]], schema: T.StructType) -> DataFrame:
    pdf = pd.DataFrame.from_records(rows, columns=[f.name for f in schema.fields])
    return spark.createDataFrame(pdf, schema=schema)


def run_bronze(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    storage: Storage,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BronzeResult:
    """Land every delivery folder not settled by an earlier run; see the module docstring."""
    lake = Lake(settings.lake_root)
    settled, loaded_hashes = _settled_state(spark, lake)
    pending = [r for r in discover(storage, settings.landing_root) if r.delivery_id not in settled]
    if on_total:
        on_total(len(pending))
    result = BronzeResult()
    for ref in pending:
        outcome = assess(storage, ref, loaded_hashes.get((ref.authority, ref.feed), set()))
        if outcome.status == LOADED:
            loaded_hashes.setdefault((ref.authority, ref.feed), set()).update(outcome.file_sha256)
        result.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    if pending:
        _write(spark, lake, ctx, result.outcomes)
    return result


def _write(spark: SparkSession, lake: Lake, ctx: RunContext, outcomes: list[Outcome]) -> None:
    touched: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.status != PENDING and o.ref.authority in AUTHORITIES and o.ref.feed in FEEDS:
            touched[(o.ref.authority, o.ref.feed)].append(o)

    def write_feed(key: tuple[str, str]) -> None:
        authority, feed = key
        batch = touched[key]
        path = lake.bronze(authority, feed)
        ensure_table(spark, path, bronze_schema(feed), stats_columns=BRONZE_STATS)
        rows = [
            {
                **row,
                "_delivery": o.ref.path,
                "_delivery_id": o.ref.delivery_id,
                "_extract_date": o.extract_date,
                "_run_id": ctx.run_id,
                "_loaded_at": ctx.started_at,
            }
            for o in batch
            if o.status == LOADED
            for row in o.rows
        ]
        _replace(spark, path, rows, bronze_schema(feed), "_delivery_id", [o.ref.delivery_id for o in batch])

    def write_quarantine(authority: str) -> None:
        batch = [o for (a, _), os_ in touched.items() if a == authority for o in os_]
        path = lake.quarantine(authority)
        ensure_table(spark, path, QUARANTINE_SCHEMA, stats_columns=QUARANTINE_STATS)
        rows = [
            {**q, "run_id": ctx.run_id, "delivery_id": o.ref.delivery_id}
            for o in batch
            if o.status == LOADED
            for q in o.quarantine
        ]
        _replace(spark, path, rows, QUARANTINE_SCHEMA, "delivery_id", [o.ref.delivery_id for o in batch])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write_feed, sorted(touched)))
        list(pool.map(write_quarantine, sorted({a for a, _ in touched})))
    ensure_table(spark, lake.delivery_log, LOG_SCHEMA, stats_columns=LOG_STATS)
    append(_frame(spark, [_log_row(o, ctx) for o in outcomes], LOG_SCHEMA), lake.delivery_log)


def _replace(
    spark: SparkSession,
    path: str,
    rows: list[dict[str, object]],
    schema: T.StructType,
    id_column: str,
    delivery_ids: Iterable[str],
) -> None:
    """Replace this batch's deliveries in one table; with nothing to write, delete leftovers of an
    interrupted run (a no-op commit-free delete when there are none)."""
    predicate = in_list(id_column, delivery_ids)
    if rows:
        replace_where(_frame(spark, rows, schema), path, predicate)
    else:
        spark.sql(f"DELETE FROM delta.`{path}` WHERE {predicate}")


def _log_row(o: Outcome, ctx: RunContext) -> dict[str, object]:
    return {
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
    }
