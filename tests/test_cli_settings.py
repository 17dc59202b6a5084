"""What the CLI takes from its environment, at the edge, and hands on as parameters."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pyspark.sql import SparkSession

from accelerator import cli
from conftest import ROOT


def test_driver_memory_and_options_come_from_the_environment_and_default_to_the_sessions_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCELERATOR_DRIVER_MEMORY", "2g")
    monkeypatch.delenv("ACCELERATOR_DRIVER_JAVA_OPTIONS", raising=False)
    assert cli._spark_conf() == {"spark.driver.memory": "2g"}
    monkeypatch.setenv("ACCELERATOR_DRIVER_JAVA_OPTIONS", "-XX:+UseSerialGC")
    assert cli._spark_conf() == {
        "spark.driver.memory": "2g",
        "spark.driver.extraJavaOptions": "-XX:+UseSerialGC",
    }
    monkeypatch.delenv("ACCELERATOR_DRIVER_MEMORY")
    monkeypatch.delenv("ACCELERATOR_DRIVER_JAVA_OPTIONS")
    assert cli._spark_conf() == {}  # get_spark's 6g and the JVM's own options stand


def test_the_suite_sizes_every_cli_jvm_it_starts() -> None:
    # conftest sets both for every subprocess: five 6g JVMs on the 24 GiB CI machine got one killed,
    # and a short run on a small lake spends less CPU with the quick compiler only
    assert os.environ["ACCELERATOR_DRIVER_MEMORY"] == "2g"
    options = os.environ["ACCELERATOR_DRIVER_JAVA_OPTIONS"].split()
    assert "-XX:TieredStopAtLevel=1" in options and "-XX:ReservedCodeCacheSize=240m" in options


def test_a_cli_jvm_starts_with_the_memory_and_options_of_its_environment() -> None:
    # A real CLI process: the settings reach the JVM that pyspark launches (its command line).
    probe = (
        "from accelerator import cli\n"
        "s = cli._spark()\n"
        "mx = s.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()\n"
        "print('ARGS', ' '.join(mx.getInputArguments()))\n"
        "codegen = ('spark.sql.codegen.wholeStage', 'spark.sql.codegen.factoryMode')\n"
        "print('CODEGEN', *(s.conf.get(k) for k in codegen))\n"
    )
    env = {
        **os.environ,
        "ACCELERATOR_JARS": str(ROOT / ".jars"),
        "ACCELERATOR_DRIVER_MEMORY": "1g",
        "ACCELERATOR_DRIVER_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -Daccelerator.probe=yes",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    args = next(line for line in done.stdout.splitlines() if line.startswith("ARGS")).split()
    assert "-Xmx1g" in args and "-XX:TieredStopAtLevel=1" in args and "-Daccelerator.probe=yes" in args
    # and the suite's Spark defaults (tests/spark-conf, through SPARK_CONF_DIR) reach it too
    codegen = next(line for line in done.stdout.splitlines() if line.startswith("CODEGEN")).split()
    assert codegen[1:] == ["false", "NO_CODEGEN"]


def test_a_cli_command_in_a_running_session_keeps_its_jvm_settings(spark: SparkSession) -> None:
    # In-process commands (CliRunner in the tests; a notebook) reuse the running session: Spark
    # refuses to change its driver memory (AnalysisException), so get_spark leaves it as it started.
    before = spark.sparkContext.getConf().get("spark.driver.memory")
    assert cli._spark_conf()["spark.driver.memory"] == "2g"  # what the environment asks for
    assert cli._spark() is spark
    assert spark.sparkContext.getConf().get("spark.driver.memory") == before == "4g"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"  # the common settings still apply
    # the suite's Spark defaults (tests/spark-conf) are the session fixture's too
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"
    assert spark.conf.get("spark.sql.codegen.factoryMode") == "NO_CODEGEN"
