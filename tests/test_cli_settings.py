"""What the CLI takes from its environment, at the edge, and hands on as parameters."""

from __future__ import annotations

import os

import pytest

from accelerator import cli


def test_driver_memory_comes_from_the_environment_and_defaults_to_the_sessions_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCELERATOR_DRIVER_MEMORY", "2g")
    assert cli._spark_conf() == {"spark.driver.memory": "2g"}
    monkeypatch.delenv("ACCELERATOR_DRIVER_MEMORY")
    assert cli._spark_conf() == {}  # get_spark's 6g stands


def test_the_suite_sizes_every_cli_jvm_it_starts() -> None:
    # conftest sets it for every subprocess: five 6g JVMs on the 24 GiB CI machine got one killed
    assert os.environ["ACCELERATOR_DRIVER_MEMORY"] == "2g"
