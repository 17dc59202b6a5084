"""Bronze → silver: the current version of every record, applied incrementally.

Per (authority, feed), the LOADED deliveries not yet applied are taken in processing order
(extract date, folder number). If one of them is a full refresh, the rows read are those from the
last full refresh onward (feeds.md: it "replaces everything that feed holds for that authority");
the newest version of each record_key among them is MERGEd in, touching only those keys (and,
for a refresh, removing what the table held from before it). Older versions stay in the Delta
history of each table.

The stage in three parts: ``read.py`` (pending deliveries and their bronze rows), pure transforms
(``transform.standardise_feed``, :func:`current_versions`, ``person_record.person_columns``,
``quality.delivery_metrics``) and ``publish.py`` (the writes in order, and the commit point:
``silver/_platform/applied_deliveries``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.feeds import PERSON_FEEDS
from accelerator.io import tables
from accelerator.io.frames import Materialised, union_all
from accelerator.io.lake import Lake
from accelerator.silver import publish as P
from accelerator.silver.person_record import person_columns
from accelerator.silver.quality import METRICS_SCHEMA, delivery_metrics, log_metrics
from accelerator.silver.read import PendingTable, delivered_rows, pending, silver_tables, unmetered_rejections

__all__ = ["SilverResult", "current_versions", "run_silver", "silver_tables"]
from accelerator.silver.transform import standardise_feed


@dataclass
class SilverResult:
    applied: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    rows_written: dict[tuple[str, str], int] = field(default_factory=dict)
    replaced: set[tuple[str, str]] = field(default_factory=set)

    @property
    def changed_tables(self) -> int:
        return len(self.applied)


def current_versions(rows: DataFrame) -> DataFrame:
    """The newest row per record (authority and record_key): later extract date, then later
    folder, file and line."""
    w = Window.partitionBy("authority", "record_key").orderBy(
        F.col("_extract_date").desc(),
        F.col("_folder_seq").desc(),
        F.col("_source_file").desc(),
        F.col("_line").desc(),
    )
    return rows.withColumn("__rn", F.row_number().over(w)).where("__rn = 1").drop("__rn")


@dataclass
class FeedOutcome:
    """What applying one feed did. ``person`` (the person columns of the rows written) lives in
    ``hold`` until ``person_record`` is merged."""

    feed: str
    rows_written: dict[str, int]
    replaced: list[str]
    metrics: pd.DataFrame
    person: DataFrame | None
    hold: Materialised


def apply_feed(
    spark: SparkSession, lake: Lake, run_id: str, feed: str, todo: Sequence[PendingTable]
) -> FeedOutcome:
    """One feed for every authority with pending deliveries: standardised, deduplicated and
    measured in one plan (Spark's cost per query, not per row, dominates a monthly delivery),
    then merged into (or written as) each authority's own table."""
    frames = Materialised()  # this feed's rows: freed once its tables are written
    bronze = union_all([delivered_rows(spark, lake, t) for t in todo])
    rows = frames(
        standardise_feed(bronze, feed, authority=F.col("__authority")).withColumn(
            "_silver_run_id", F.lit(run_id)
        )
    )
    # Each MERGE below then plans over these blocks, not over ten bronze scans.
    current = frames(current_versions(rows))
    counts = {r.authority: int(r["count"]) for r in current.groupBy("authority").count().collect()}
    replaced = [
        t.authority
        for t in todo
        if P.write_table(spark, lake, t, current.where(F.col("authority") == t.authority))
    ]
    hold = Materialised()
    person = None
    if feed in PERSON_FEEDS:
        # A replaced table's person rows are the whole table now (the rest of person_record goes).
        merged = current.where(~F.col("authority").isin(replaced)) if replaced else current
        parts = [
            merged,
            *[df for a in replaced if (df := tables.read(spark, lake.silver(a, feed))) is not None],
        ]
        person = hold(person_columns(union_all(parts), feed))
    # Metrics are small: bring them to the driver now rather than union the feeds' plans later.
    metrics: pd.DataFrame = delivery_metrics(rows, feed, run_id).toPandas()
    frames.release()
    return FeedOutcome(
        feed, {t.authority: counts.get(t.authority, 0) for t in todo}, replaced, metrics, person, hold
    )


def _write_metrics(
    spark: SparkSession, lake: Lake, run_id: str, computed: list[pd.DataFrame], ids: list[str]
) -> None:
    """The metrics of deliveries ``ids``: those computed from their rows, and those of their
    delivery log rows (file profiles, quarantine counts, rejections)."""
    log = spark.read.format("delta").load(lake.delivery_log)
    from_log: pd.DataFrame = log_metrics(log.where(tables.isin(F.col("delivery_id"), ids)), run_id).toPandas()
    names = [f.name for f in METRICS_SCHEMA.fields]
    metrics = pd.concat([*computed, from_log], ignore_index=True)[names]
    P.write_metrics(spark, lake, tables.from_pandas(spark, metrics, METRICS_SCHEMA), ids)


def run_silver(spark: SparkSession, settings: Settings, ctx: RunContext) -> SilverResult:
    """Apply every LOADED, not yet applied delivery to its silver table, then the data-quality
    metrics and ``person_record``, then the commit point (``publish.py``)."""
    lake = Lake(settings.lake_root)
    todo = pending(spark, lake)
    rejected = unmetered_rejections(spark, lake)
    result = SilverResult()
    if not todo:
        if rejected:  # nothing to apply, but rejections to count in the scorecards
            _write_metrics(spark, lake, ctx.run_id, [], rejected)
        return result
    feeds = sorted({t.feed for t in todo})
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(
            pool.map(
                lambda f: apply_feed(spark, lake, ctx.run_id, f, [t for t in todo if t.feed == f]), feeds
            )
        )
    try:
        ids = [d.delivery_id for t in todo for d in t.deliveries]
        _write_metrics(spark, lake, ctx.run_id, [o.metrics for o in outcomes], [*ids, *rejected])
        replaced = {(a, o.feed) for o in outcomes for a in o.replaced}
        people = [o.person for o in outcomes if o.person is not None]
        P.update_person_record(spark, lake, people, {k for k in replaced if k[1] in PERSON_FEEDS})
    finally:
        for o in outcomes:
            o.hold.release()
    P.record_applied(spark, lake, todo, ctx.run_id)
    for o in outcomes:
        for t in todo:
            if t.feed == o.feed:
                result.applied[(t.authority, t.feed)] = [d.delivery_id for d in t.deliveries]
                result.rows_written[(t.authority, t.feed)] = o.rows_written[t.authority]
        result.replaced |= {(a, o.feed) for a in o.replaced}
    return result
