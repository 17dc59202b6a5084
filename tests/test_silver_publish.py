"""Silver's publish on real Delta tables: the order-aware MERGE (feeds.md: deliveries are
processed in (extract_date, folder) order whatever the run) and idempotent re-application."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.io.lake import Lake
from accelerator.silver.publish import write_table
from accelerator.silver.read import Delivery, PendingTable

ROWS = "record_key string, value string, _extract_date date, _folder_seq int"


def _rows(spark: SparkSession, rows: list[tuple[object, ...]]) -> DataFrame:
    """Silver-shaped rows: the columns the publish keys, orders and keeps statistics on."""
    return spark.createDataFrame(rows, ROWS).select(
        "*",
        F.lit("bury").alias("authority"),
        F.lit("housing").alias("feed"),
        F.concat_ws("_", F.lit("bury/housing"), F.col("_extract_date").cast("string")).alias("_delivery_id"),
        F.col("_extract_date").alias("event_date"),
    )


def _table(*deliveries: Delivery) -> PendingTable:
    return PendingTable("bury", "housing", deliveries)


def _delivery(day: date, seq: int = 0, *, full: bool = False) -> Delivery:
    return Delivery(f"bury/housing/{day.isoformat()}_{seq}", "bury", "housing", day, seq, full)


def _held(spark: SparkSession, lake: Lake) -> DataFrame:
    return spark.read.format("delta").load(lake.silver("bury", "housing")).select("record_key", "value")


def test_write_table_never_lets_an_older_delivery_replace_a_newer_version(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Lake(str(tmp_path))
    oct31, sep30 = date(2026, 10, 31), date(2026, 9, 30)
    newer = _rows(spark, [("k1", "October", oct31, 0), ("k9", "October", oct31, 1)])
    assert write_table(spark, lake, _table(_delivery(oct31)), newer)  # the first write creates
    late = _rows(
        spark,
        [
            ("k1", "September", sep30, 0),
            ("k2", "September", sep30, 0),
            ("k9", "same day, folder 0", oct31, 0),
        ],
    )
    assert not write_table(spark, lake, _table(_delivery(sep30)), late)
    want = spark.createDataFrame(
        [("k1", "October"), ("k2", "September"), ("k9", "October")], "record_key string, value string"
    )
    assert_df_equality(_held(spark, lake), want, ignore_row_order=True, ignore_nullable=True)
    # Applying the same rows again (a run killed before its commit point) changes nothing.
    write_table(spark, lake, _table(_delivery(sep30)), late)
    assert_df_equality(_held(spark, lake), want, ignore_row_order=True, ignore_nullable=True)


def test_a_late_full_refresh_replaces_what_came_before_it_and_keeps_what_came_after(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Lake(str(tmp_path))
    sep30, oct15, oct31 = date(2026, 9, 30), date(2026, 10, 15), date(2026, 10, 31)
    held = _rows(
        spark,
        [
            ("old-only", "September", sep30, 0),
            ("both", "September", sep30, 0),
            ("after", "October 31", oct31, 0),
        ],
    )
    write_table(spark, lake, _table(_delivery(sep30)), held)
    refresh = _rows(
        spark, [("both", "refresh", oct15, 0), ("after", "refresh", oct15, 0), ("new", "refresh", oct15, 0)]
    )
    assert write_table(spark, lake, _table(_delivery(oct15, full=True)), refresh)
    want = spark.createDataFrame(
        [
            # "old-only" was held from before the refresh and the refresh does not have it: gone.
            ("both", "refresh"),
            ("after", "October 31"),  # newer than the refresh: stays
            ("new", "refresh"),
        ],
        "record_key string, value string",
    )
    assert_df_equality(_held(spark, lake), want, ignore_row_order=True, ignore_nullable=True)


def test_pending_table_reads_from_its_last_full_refresh_on() -> None:
    a, b, c = (
        _delivery(date(2026, 1, 31)),
        _delivery(date(2026, 2, 28), full=True),
        _delivery(date(2026, 3, 31)),
    )
    t = _table(a, b, c)
    assert t.refresh == b
    assert t.effective == (b, c)
    assert _table(a, c).effective == (a, c) and _table(a, c).refresh is None
