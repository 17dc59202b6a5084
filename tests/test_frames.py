"""Small frames held in their query plan (accelerator.io.frames.local_strings)."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from accelerator.io.frames import local_strings


def test_local_strings_keeps_every_row_and_value_in_order(spark: SparkSession) -> None:
    rows = [("a", "", "c"), ("", "", ""), ("é z", "line\nbreak", 'comma, quote"')]
    got = local_strings(spark, rows, ["p", "q", "r"])
    assert_df_equality(got, spark.createDataFrame(rows, "p string, q string, r string"), ignore_nullable=True)


def test_local_strings_of_one_column_and_of_no_rows(spark: SparkSession) -> None:
    assert [r.v for r in local_strings(spark, [("",), ("x",), ("",)], ["v"]).collect()] == ["", "x", ""]
    empty = local_strings(spark, [], ["a", "b"])
    assert empty.columns == ["a", "b"] and empty.count() == 0


def test_local_strings_is_a_local_relation_whose_values_are_not_in_the_plan(spark: SparkSession) -> None:
    secret = "9434765919"
    df = local_strings(spark, [(secret, "2010-02-03")], ["nhs", "dob"]).withColumn(
        "dob", F.col("dob").cast("date")
    )
    joined = (
        spark.range(3)
        .select(F.col("id").cast("string").alias("nhs"))
        .join(F.broadcast(df), "nhs", "left_anti")
    )
    plan = joined._jdf.queryExecution().executedPlan().toString()
    assert "LocalTableScan" in plan and "Scan ExistingRDD" not in plan
    assert secret not in plan and secret not in joined._jdf.queryExecution().optimizedPlan().toString()
    assert df.collect()[0].dob.isoformat() == "2010-02-03"
    assert joined.count() == 3


def test_local_strings_refuses_what_it_cannot_carry(spark: SparkSession) -> None:
    with pytest.raises(ValueError, match="separators"):
        local_strings(spark, [("a\x1fb",)], ["v"])
    with pytest.raises(ValueError, match="separators"):
        local_strings(spark, [(None,)], ["v"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        local_strings(spark, [("a", "b")], ["v"])
