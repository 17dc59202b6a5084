"""Data-quality metrics per delivery and feed: the start of partner scorecards.

``silver/_platform/dq_metrics`` in long form, one row per (delivery, metric, column): null counts
and rates per delivered column, counts of each flagged issue (invalid identifiers, bad dates, dates
of birth after the extract date, end dates before start dates, unknown codes), and from the
delivery log the rows quarantined (in all, and per reason code), the encoding, the lines read as
Windows-1252 and the date format each file used, and for a REJECTED delivery its reason code
(``rejected``), so that every bronze reason code reaches the partner scorecards.
"""

from __future__ import annotations

import functools
import json

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import FEEDS
from accelerator.io.tables import column as col

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
            T.StructField("lines_cp1252", T.LongType()),
            T.StructField("quarantined", T.MapType(T.StringType(), T.LongType())),
        ]
    )
)


def _reason_code(log: DataFrame) -> Column:
    """The log's reason code; a log created before that column has it at the start of reason."""
    prefix = F.split("reason", ":").getItem(0)
    return F.coalesce(F.col("reason_code"), prefix) if "reason_code" in log.columns else prefix


_DELIVERY = ("authority", "feed", "delivery_id", "extract_date")


def _metric(
    df: DataFrame, metric: str, column: Column, count: Column | None = None, rate: Column | None = None
) -> DataFrame:
    """Rows of dq_metrics from ``df``: the delivery's columns, the metric's name, what it is about
    (``column``), its count (1 per row when not given) and rate (none when not given)."""
    return df.select(
        *_DELIVERY,
        F.lit(metric).alias("metric"),
        column.alias("column"),
        (F.lit(1) if count is None else count).cast("long").alias("count"),
        (F.lit(None) if rate is None else rate).cast("double").alias("rate"),
    )


def log_metrics(log: DataFrame, run_id: str) -> DataFrame:
    """Quarantine counts (in all and per reason code) and file profiles (encoding, lines read as
    Windows-1252, line endings, date formats, missing and extra columns) of the LOADED delivery
    log rows given, and ``rejected`` with its reason code for the REJECTED ones."""
    rejected = _metric(log.where(F.col("status") == "REJECTED"), "rejected", _reason_code(log))
    base = log.where(F.col("status") == "LOADED").select(
        *_DELIVERY, "rows_in_files", "rows_quarantined", F.from_json("file_profile", _PROFILE).alias("files")
    )
    quarantined, rows = F.col("rows_quarantined"), F.col("rows_in_files")
    files = base.select(*_DELIVERY, F.explode("files").alias("f"))
    formats = files.select(*_DELIVERY, F.explode("f.date_formats").alias("format", "n"))
    by_reason = (
        files.select(*_DELIVERY, F.explode("f.quarantined").alias("reason", "n"))
        .groupBy(*_DELIVERY, "reason")
        .agg(F.sum("n").alias("n"))
        .join(base.select("delivery_id", "rows_in_files"), "delivery_id")
    )
    parts = [
        _metric(base, "rows_quarantined", F.lit(None).cast("string"), quarantined, quarantined / rows),
        _metric(files, "encoding", F.col("f.encoding")),
        _metric(files, "line_endings", F.col("f.line_endings")),
        _metric(formats, "date_format", F.col("format"), F.col("n")),
        _metric(files, "missing_column", F.explode("f.missing_columns")),
        _metric(files, "extra_column", F.explode("f.extra_columns")),
        _metric(files, "lines_cp1252", F.col("f.name"), F.coalesce(F.col("f.lines_cp1252"), F.lit(0))),
        _metric(by_reason, "quarantined", F.col("reason"), F.col("n"), F.col("n").cast("long") / rows),
        rejected,
    ]
    out = functools.reduce(DataFrame.unionByName, parts)
    return out.select(F.lit(run_id).alias("run_id"), *out.columns)


def profile_of(text: str) -> list[dict[str, object]]:
    """The file profiles of one log row (for tests and notebooks)."""
    return list(json.loads(text))
