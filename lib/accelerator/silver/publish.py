"""Silver's writes, in order, and its commit point.

Commit point: ``silver/_platform/applied_deliveries``, appended last, in one commit, naming every
delivery the run applied. Before it, in this order:

1. each silver table: a MERGE of the newest version of each record among the run's rows, or the
   first write of a new table;
2. ``silver/_platform/dq_metrics``: the metrics of the run's deliveries, replacing (one
   ``replaceWhere`` commit) any rows an interrupted run left for the same deliveries;
3. ``silver/_platform/person_record``: one MERGE of the person columns of the rows just written.

A run killed anywhere before the commit point leaves its deliveries unapplied; the next run
applies them again, and every write above is idempotent: the MERGE replaces a version only with
the same or a newer one, the metrics replace their own rows, and ``person_record`` follows silver.

Order (feeds.md: deliveries are processed in (extract_date, folder) order whatever the run): a
row from an older (extract date, folder) than the version a table holds never replaces it, so a
delivery that arrives late cannot overwrite newer data. A full refresh replaces what the table
holds from before it: rows from older deliveries that it does not contain are deleted, and rows
from deliveries newer than the refresh (applied earlier, because the refresh arrived late) stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import AUTHORITIES
from accelerator.io import tables
from accelerator.io.frames import union_all
from accelerator.io.lake import Lake
from accelerator.silver.person_record import PERSON_RECORD_COLUMNS, PERSON_RECORD_KEY
from accelerator.silver.quality import METRICS_STATS
from accelerator.silver.read import APPLIED, PendingTable, person_records

APPLIED_SCHEMA = T.StructType(
    [
        tables.column("delivery_id", T.StringType()),
        tables.column("authority", T.StringType()),
        tables.column("feed", T.StringType()),
        tables.column("extract_date", T.DateType()),
        tables.column("folder_seq", T.IntegerType()),
        tables.column("full_refresh", T.BooleanType()),
        tables.column("run_id", T.StringType()),
    ]
)
# Statistics only on columns that hold no identifier or name (erasure must leave no trace).
SILVER_STATS = ("authority", "feed", "_delivery_id", "_extract_date", "event_date")


def same_or_newer(source: str = "s", target: str = "t") -> Column:
    """The source row's (extract date, folder) is at least the target row's."""
    s_date, t_date = F.col(f"{source}._extract_date"), F.col(f"{target}._extract_date")
    s_seq, t_seq = F.col(f"{source}._folder_seq"), F.col(f"{target}._folder_seq")
    return (
        t_date.isNull()
        | (s_date > t_date)
        | ((s_date == t_date) & (F.coalesce(s_seq, F.lit(0)) >= F.coalesce(t_seq, F.lit(0))))
    )


def older_than(version: tuple[date, int], target: str = "t") -> Column:
    """The target row's (extract date, folder) is before ``version``."""
    d, seq = version
    t_date, t_seq = F.col(f"{target}._extract_date"), F.coalesce(F.col(f"{target}._folder_seq"), F.lit(0))
    return (t_date < F.lit(d)) | ((t_date == F.lit(d)) & (t_seq < F.lit(seq)))


def write_table(spark: SparkSession, lake: Lake, table: PendingTable, current: DataFrame) -> bool:
    """Apply one table's newest versions (one commit). Returns True when the table now holds only
    what the run's deliveries say from a full refresh on (a refresh, or the table's first write)."""
    path = lake.silver(table.authority, table.feed)
    if not tables.exists(spark, path):
        tables.overwrite(current, path, stats=SILVER_STATS)
        return True
    refresh = table.refresh
    tables.merge(
        spark,
        path,
        current,
        on=["record_key"],
        update_when=same_or_newer(),
        delete_missing=older_than(refresh.version) if refresh else None,
    )
    return refresh is not None


def write_metrics(spark: SparkSession, lake: Lake, metrics: DataFrame, delivery_ids: Iterable[str]) -> None:
    """Replace the metrics of ``delivery_ids`` with ``metrics`` (one commit, idempotent)."""
    path = lake.platform("dq_metrics")
    if not tables.exists(spark, path):
        tables.overwrite(metrics, path, stats=METRICS_STATS)
        return
    tables.replace_where(metrics, path, tables.isin(F.col("delivery_id"), delivery_ids), stats=METRICS_STATS)


def build_person_record(spark: SparkSession, lake: Lake) -> None:
    """``person_record`` rebuilt from every silver table (one overwrite)."""
    df = person_records(spark, lake, AUTHORITIES)
    if df is not None:
        # One input partition per silver file would write a hundred small files; a few will do.
        tables.overwrite(df.repartition(4), lake.platform("person_record"), stats=SILVER_STATS)


def update_person_record(
    spark: SparkSession, lake: Lake, changes: Sequence[DataFrame], replaced: Iterable[tuple[str, str]]
) -> None:
    """Bring ``person_record`` up to date with this run's silver changes in one MERGE instead of
    a rebuild: ``changes`` are the person columns of the rows just written (the whole table for
    ``replaced`` tables, whose other rows go). Same result as :func:`build_person_record` (tested);
    that rebuild runs when the table does not exist yet or has another layout."""
    path = lake.platform("person_record")
    target = tables.read(spark, path)
    if target is None or tuple(target.columns) != PERSON_RECORD_COLUMNS:
        build_person_record(spark, lake)
        return
    if not changes:
        return
    gone = [(F.col("t.authority") == a) & (F.col("t.feed") == f) for a, f in sorted(replaced)]
    tables.merge(
        spark,
        path,
        union_all(list(changes)),
        on=list(PERSON_RECORD_KEY),
        update_when=same_or_newer(),
        delete_missing=tables.any_of(gone) if gone else None,
    )


def record_applied(spark: SparkSession, lake: Lake, todo: Sequence[PendingTable], run_id: str) -> None:
    """The commit point: every delivery of ``todo`` recorded as applied by ``run_id``."""
    rows = [
        (d.delivery_id, d.authority, d.feed, d.extract_date, d.folder_seq, d.full_refresh, run_id)
        for t in todo
        for d in t.deliveries
    ]
    tables.append(
        spark.createDataFrame(rows, APPLIED_SCHEMA), lake.platform(APPLIED), stats=("delivery_id", "run_id")
    )
