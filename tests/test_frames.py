"""Small frames held in their query plan (accelerator.io.frames.local_frame)."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from accelerator.io.frames import local_frame

SCHEMA = "p string, n int, d date"


def test_local_frame_keeps_every_row_value_and_null_in_order(spark: SparkSession) -> None:
    rows = [
        ("a", 1, date(2010, 2, 3)),
        ("", None, None),
        (None, -7, date(1999, 12, 31)),
        ('é, "z"\n', 0, None),
    ]
    assert_df_equality(local_frame(spark, rows, SCHEMA), spark.createDataFrame(rows, SCHEMA))
    empty = local_frame(spark, [], SCHEMA)
    assert empty.columns == ["p", "n", "d"] and empty.count() == 0


def test_local_frame_is_a_local_relation_whose_values_are_not_in_the_plan(spark: SparkSession) -> None:
    secret = "9434765919"
    needles = local_frame(spark, [(secret,)], "v string")
    table = spark.range(3).select(F.col("id").cast("string").alias("v"))
    joined = table.join(F.broadcast(needles), "v", "left_anti")
    plans = [joined._jdf.queryExecution().executedPlan().toString(), joined._jdf.queryExecution().toString()]
    assert "LocalTableScan" in plans[0] and "ExistingRDD" not in plans[0]  # not an RDD of rows
    assert not [p for p in plans if secret in p]
    assert joined.count() == 3


def test_local_frame_refuses_a_type_that_is_not_a_schema_of_columns(spark: SparkSession) -> None:
    with pytest.raises(TypeError, match="schema of columns"):
        local_frame(spark, [(1,)], "int")
