"""What silver reads: the LOADED deliveries not yet applied, and their bronze rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.bronze.deliveries import LOADED
from accelerator.feeds import PERSON_FEEDS
from accelerator.io import tables
from accelerator.io.frames import union_all
from accelerator.io.lake import Lake
from accelerator.silver.person_record import person_columns

APPLIED = "applied_deliveries"


@dataclass(frozen=True)
class Delivery:
    """One LOADED delivery as the log records it."""

    delivery_id: str
    authority: str
    feed: str
    extract_date: date
    folder_seq: int
    full_refresh: bool

    @property
    def version(self) -> tuple[date, int]:
        """Processing order within one table (feeds.md: extract date, then folder)."""
        return (self.extract_date, self.folder_seq)


@dataclass(frozen=True)
class PendingTable:
    """One silver table's deliveries not yet applied, in processing order. ``deliveries`` is all
    of them (recorded as applied); ``effective`` those from the last full refresh on (the rows
    read), and ``refresh`` that full refresh's version, if there is one."""

    authority: str
    feed: str
    deliveries: tuple[Delivery, ...]

    @property
    def refresh(self) -> Delivery | None:
        fulls = [d for d in self.deliveries if d.full_refresh]
        return fulls[-1] if fulls else None

    @property
    def effective(self) -> tuple[Delivery, ...]:
        r = self.refresh
        return self.deliveries[self.deliveries.index(r) :] if r else self.deliveries


def pending(spark: SparkSession, lake: Lake) -> list[PendingTable]:
    """Every (authority, feed) with LOADED deliveries not in ``applied_deliveries``, sorted."""
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return []
    loaded = log.where(F.col("status") == LOADED).select(
        "delivery_id", "authority", "feed", "extract_date", "folder_seq", "full_refresh"
    )
    applied = tables.read(spark, lake.platform(APPLIED))
    if applied is not None:
        loaded = loaded.join(applied.select("delivery_id"), "delivery_id", "left_anti")
    by_table: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for r in loaded.orderBy("extract_date", "folder_seq", "delivery_id").collect():
        d = Delivery(
            r.delivery_id, r.authority, r.feed, r.extract_date, int(r.folder_seq), bool(r.full_refresh)
        )
        by_table[(d.authority, d.feed)].append(d)
    return [PendingTable(a, f, tuple(ds)) for (a, f), ds in sorted(by_table.items())]


def unmetered_rejections(spark: SparkSession, lake: Lake) -> list[str]:
    """REJECTED deliveries whose ``rejected`` metric is not in ``dq_metrics`` yet (the partner
    scorecards count every rejection by reason code, whatever else the run applies)."""
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return []
    rejected = log.where(F.col("status") == "REJECTED").select("delivery_id").distinct()
    metrics = tables.read(spark, lake.platform("dq_metrics"))
    if metrics is not None:
        counted = metrics.where(F.col("metric") == "rejected").select("delivery_id").distinct()
        rejected = rejected.join(counted, "delivery_id", "left_anti")
    return sorted(r.delivery_id for r in rejected.collect())


def delivered_rows(spark: SparkSession, lake: Lake, table: PendingTable) -> DataFrame:
    """The bronze rows of a table's effective deliveries, with their authority (``__authority``)
    and folder number (``_folder_seq``, from the log rows already on the driver: no log scan)."""
    ids = [d.delivery_id for d in table.effective]
    seq = F.create_map(*[F.lit(x) for d in table.effective for x in (d.delivery_id, d.folder_seq)])
    return (
        spark.read.format("delta")
        .load(lake.bronze(table.authority, table.feed))
        .where(tables.isin(F.col("_delivery_id"), ids))
        .withColumn("_folder_seq", seq[F.col("_delivery_id")].cast("int"))
        .withColumn("__authority", F.lit(table.authority))
    )


def silver_tables(
    spark: SparkSession, lake: Lake, authorities: Iterable[str], feeds: Iterable[str]
) -> Iterator[tuple[str, str, DataFrame]]:
    """(authority, feed, table) for every silver table that exists, authority by authority."""
    wanted = list(feeds)
    for authority in authorities:
        for feed in wanted:
            df = tables.read(spark, lake.silver(authority, feed))
            if df is not None:
                yield authority, feed, df


def person_records(spark: SparkSession, lake: Lake, authorities: Iterable[str]) -> DataFrame | None:
    """Every current person-level record of ``authorities`` in ``person_record``'s columns, read
    from their silver tables (None when there are none)."""
    frames = [
        person_columns(df, feed) for _, feed, df in silver_tables(spark, lake, authorities, PERSON_FEEDS)
    ]
    return union_all(frames) if frames else None
