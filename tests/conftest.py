"""One lazy Spark session for the whole test run (style.md §6), every setting explained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from accelerator.spark import get_spark

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = get_spark(
        jars_dir=ROOT / ".jars",  # Delta jars fetched by `make setup` (infra/spark/pom.xml)
        master="local[2]",  # the CI machine has two cores
        app_name="accelerator-tests",
        extra_conf={
            "spark.sql.shuffle.partitions": "1",  # tiny data: one shuffle partition is fastest
            "spark.default.parallelism": "2",  # match the two cores
            "spark.sql.adaptive.enabled": "false",  # stable plans and partition counts in tests
            "spark.ui.enabled": "false",  # no web UI port in CI
            "spark.sql.session.timeZone": "UTC",  # dates never shift with the machine's zone
            "spark.databricks.delta.snapshotPartitions": "1",  # small Delta logs: rebuild in one task
            "spark.databricks.delta.delete.deletionVectors.persistent": "false",  # plain rewrites
        },
    )
    session.sparkContext.setLogLevel("ERROR")  # keep test output readable
    yield session
    session.stop()
