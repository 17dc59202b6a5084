"""Data-quality metrics per delivery and feed: the start of partner scorecards.

``silver/_platform/dq_metrics`` in long form, one row per (delivery, metric, column): null counts
and rates per delivered column, counts of each flagged issue (invalid identifiers, bad dates, dates
of birth after the extract date, end dates before start dates, unknown codes), and from the
delivery log the rows quarantined, the encoding and the date format each file used.
"""

from __future__ import annotations

import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import FEEDS
from accelerator.io.delta import col

METRICS_SCHEMA = T.StructType(
    [
        col("run_id", T.StringType()),
        col("authority", T.StringType()),
        col("feed", T.StringType()),
        col("delivery_id", T.StringType()),
        col("extract_date", T.DateType()),
        col(
            "metric",
            T.StringType(),
            "rows, null, invalid_nhs_number, bad_date, rows_quarantined, encoding, ...",
        ),
        col("column", T.StringType(), "the delivered column the metric is about, or the value (encoding)"),
        col("count", T.LongType()),
        col("rate", T.DoubleType(), "count / rows of the delivery"),
    ]
)
METRICS_STATS = ("run_id", "authority", "feed", "delivery_id", "extract_date", "metric")
_KEYS = ("authority", "feed", "_delivery_id", "_extract_date")


def delivery_metrics(rows: DataFrame, feed: str, run_id: str) -> DataFrame:
    """Null and issue counts per delivery from standardised silver rows (before deduplication)."""
    columns = FEEDS[feed].column_names
    totals = rows.groupBy(*_KEYS).agg(
        F.count(F.lit(1)).alias("__rows"),
        *[F.sum(F.col(c).isNull().cast("long")).alias(f"__null_{c}") for c in columns],
    )
    nulls = totals.select(
        *_KEYS,
        "__rows",
        F.explode(
            F.array(
                F.struct(
                    F.lit("rows").alias("metric"),
                    F.lit(None).cast("string").alias("column"),
                    F.col("__rows").alias("count"),
                ),
                *[
                    F.struct(
                        F.lit("null").alias("metric"),
                        F.lit(c).alias("column"),
                        F.col(f"__null_{c}").alias("count"),
                    )
                    for c in columns
                ],
            )
        ).alias("m"),
    ).select(*_KEYS, "__rows", "m.*")
    issues = (
        rows.select(*_KEYS, F.explode("dq_issues").alias("issue"))
        .groupBy(*_KEYS, "issue")
        .agg(F.count(F.lit(1)).alias("count"))
        .join(totals.select(*_KEYS, "__rows"), list(_KEYS))
        .select(
            *_KEYS,
            "__rows",
            F.split("issue", ":").getItem(0).alias("metric"),
            F.split("issue", ":").getItem(1).alias("column"),
            "count",
        )
    )
    return nulls.unionByName(issues).select(
        F.lit(run_id).alias("run_id"),
        "authority",
        "feed",
        F.col("_delivery_id").alias("delivery_id"),
        F.col("_extract_date").alias("extract_date"),
        "metric",
        "column",
        F.col("count").cast("long").alias("count"),
        (F.col("count") / F.col("__rows")).alias("rate"),
    )


_PROFILE = T.ArrayType(
    T.StructType(
        [
            T.StructField("name", T.StringType()),
            T.StructField("encoding", T.StringType()),
            T.StructField("line_endings", T.StringType()),
            T.StructField("date_formats", T.MapType(T.StringType(), T.LongType())),
            T.StructField("missing_columns", T.ArrayType(T.StringType())),
            T.StructField("extra_columns", T.ArrayType(T.StringType())),
        ]
    )
)


def log_metrics(log: DataFrame, run_id: str) -> DataFrame:
    """Quarantine counts and file profiles (encoding, line endings, date formats, missing and
    extra columns) from the delivery log rows of the deliveries applied in this run."""
    base = log.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        "rows_in_files",
        "rows_quarantined",
        F.from_json("file_profile", _PROFILE).alias("files"),
    )
    quarantined = base.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("rows_quarantined").alias("metric"),
        F.lit(None).cast("string").alias("column"),
        F.col("rows_quarantined").cast("long").alias("count"),
        (F.col("rows_quarantined") / F.col("rows_in_files")).alias("rate"),
    )
    files = base.select("authority", "feed", "delivery_id", "extract_date", F.explode("files").alias("f"))
    encoding = files.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("encoding").alias("metric"),
        F.col("f.encoding").alias("column"),
        F.lit(1).cast("long").alias("count"),
        F.lit(None).cast("double").alias("rate"),
    )
    endings = files.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("line_endings").alias("metric"),
        F.col("f.line_endings").alias("column"),
        F.lit(1).cast("long").alias("count"),
        F.lit(None).cast("double").alias("rate"),
    )
    formats = files.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.explode("f.date_formats").alias("column", "count"),
    ).select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("date_format").alias("metric"),
        "column",
        F.col("count").cast("long"),
        F.lit(None).cast("double").alias("rate"),
    )
    missing = files.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("missing_column").alias("metric"),
        F.explode("f.missing_columns").alias("column"),
        F.lit(1).cast("long").alias("count"),
        F.lit(None).cast("double").alias("rate"),
    )
    extra = files.select(
        "authority",
        "feed",
        "delivery_id",
        "extract_date",
        F.lit("extra_column").alias("metric"),
        F.explode("f.extra_columns").alias("column"),
        F.lit(1).cast("long").alias("count"),
        F.lit(None).cast("double").alias("rate"),
    )
    out = quarantined.unionByName(encoding).unionByName(endings).unionByName(formats)
    out = out.unionByName(missing).unionByName(extra)
    return out.select(F.lit(run_id).alias("run_id"), *[c for c in out.columns])


def profile_of(text: str) -> list[dict[str, object]]:
    """The file profiles of one log row (for tests and notebooks)."""
    return list(json.loads(text))
