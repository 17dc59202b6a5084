"""Bronze on real Delta tables: the log, reconciliation, idempotency and interrupted runs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from accelerator.bronze import land
from accelerator.bronze.land import run_bronze
from accelerator.config import RunContext, Settings
from accelerator.io.lake import Lake
from accelerator.io.storage import LocalStorage
from landing_kit import POLICE, csv_bytes, police_row, write_delivery

LOG_COLUMNS = [
    "delivery_path",
    "authority",
    "feed",
    "extract_date",
    "status",
    "reason",
    "rows_in_files",
    "rows_loaded",
    "rows_quarantined",
    "run_id",
    "loaded_at",
]


def _ctx(n: int) -> RunContext:
    return RunContext.create(as_of=date(2026, 11, 25), started_at=datetime(2026, 11, 25, 2, n))


def _landing(root: Path) -> Path:
    landing = root / "landing"
    good = csv_bytes(POLICE, [police_row(f"GMP-{i}", f"P{i}") for i in range(4)])
    bad_rows = csv_bytes(POLICE, [police_row("GMP-9", "P9"), police_row("GMP-8", "")]).decode() + "GMP-7,P7"
    write_delivery(
        landing, "bury", "police_incidents", "2026-09-30", {"a.csv": good}, extra={"full_refresh": True}
    )
    write_delivery(
        landing, "bury", "police_incidents", "2026-10-31", {"b.csv": bad_rows.encode()}, rows={"b.csv": 3}
    )
    write_delivery(landing, "bury", "police_incidents", "2026-10-31_2", {"a.csv": good})  # sent again
    write_delivery(landing, "bolton", "police_incidents", "2026-10-31", {"c.csv": good}, rows={"c.csv": 5})
    write_delivery(landing, "bolton", "police_incidents", "2026-11-30", {"d.csv": good}, manifest=False)
    write_delivery(landing, "leeds", "police_incidents", "2026-10-31", {"e.csv": good})
    return landing


def _settings(root: Path) -> Settings:
    return Settings(lake_root=str(root / "lake"), landing_root=str(root / "landing"))


def _versions(spark: SparkSession, lake: Lake) -> dict[str, int]:
    paths = [lake.delivery_log, lake.bronze("bury", "police_incidents"), lake.quarantine("bury")]
    return {p: spark.sql(f"DESCRIBE HISTORY delta.`{p}`").agg({"version": "max"}).first()[0] for p in paths}


def test_run_bronze_logs_every_delivery_and_reconciles(spark: SparkSession, tmp_path: Path) -> None:
    _landing(tmp_path)
    result = run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage())
    lake = Lake(str(tmp_path / "lake"))
    log = spark.read.format("delta").load(lake.delivery_log)
    assert log.columns[: len(LOG_COLUMNS)] == LOG_COLUMNS
    status = {r.delivery_id: r.status for r in log.collect()}
    assert status == {
        "bury/police_incidents/2026-09-30": "LOADED",
        "bury/police_incidents/2026-10-31": "LOADED",
        "bury/police_incidents/2026-10-31_2": "DUPLICATE",
        "bolton/police_incidents/2026-10-31": "REJECTED",
        "bolton/police_incidents/2026-11-30": "PENDING",
        "leeds/police_incidents/2026-10-31": "REJECTED",
    }
    assert result.by_status() == {"LOADED": 2, "DUPLICATE": 1, "REJECTED": 2, "PENDING": 1}
    bronze = spark.read.format("delta").load(lake.bronze("bury", "police_incidents"))
    quarantine = spark.read.format("delta").load(lake.quarantine("bury"))
    for r in log.where("status = 'LOADED'").collect():
        assert r.rows_in_files == r.rows_loaded + r.rows_quarantined
        assert bronze.where(bronze._delivery == r.delivery_path).count() == r.rows_loaded
        assert quarantine.where(quarantine.delivery_path == r.delivery_path).count() == r.rows_quarantined
    oct31 = log.where("delivery_id = 'bury/police_incidents/2026-10-31'").first()
    assert (oct31.rows_in_files, oct31.rows_loaded, oct31.rows_quarantined) == (3, 1, 2)
    assert log.where("delivery_id = 'bury/police_incidents/2026-09-30'").first().full_refresh is True
    row = bronze.where("record_key = 'GMP-0|P0'").first()
    assert (row._source_file, row._line, row._run_id) == ("a.csv", 2, _ctx(1).run_id)
    assert row._delivery.endswith("bury/police_incidents/2026-09-30")
    assert (
        dict(spark.read.format("delta").load(lake.bronze("bury", "police_incidents")).dtypes)["_line"]
        == "int"
    )


def test_run_bronze_second_run_changes_nothing(spark: SparkSession, tmp_path: Path) -> None:
    _landing(tmp_path)
    lake = Lake(str(tmp_path / "lake"))
    run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage())
    before = _versions(spark, lake)
    bronze_rows = spark.read.format("delta").load(lake.bronze("bury", "police_incidents")).count()
    again = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage())
    # Only the folder still waiting for its manifest is looked at (and logged PENDING) again.
    assert again.by_status() == {"PENDING": 1}
    after = _versions(spark, lake)
    assert after[lake.bronze("bury", "police_incidents")] == before[lake.bronze("bury", "police_incidents")]
    assert after[lake.quarantine("bury")] == before[lake.quarantine("bury")]
    assert spark.read.format("delta").load(lake.bronze("bury", "police_incidents")).count() == bronze_rows


def test_run_bronze_loads_a_pending_delivery_once_its_manifest_arrives(
    spark: SparkSession, tmp_path: Path
) -> None:
    landing = _landing(tmp_path)
    run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage())
    data = (landing / "bolton/police_incidents/2026-11-30/d.csv").read_bytes()
    write_delivery(landing, "bolton", "police_incidents", "2026-11-30", {"d.csv": data})
    again = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage())
    assert again.by_status() == {"LOADED": 1}
    bronze = spark.read.format("delta").load(
        Lake(str(tmp_path / "lake")).bronze("bolton", "police_incidents")
    )
    assert bronze.count() == 4


def test_run_bronze_interrupted_before_the_log_leaves_no_half_load(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _landing(tmp_path)
    lake = Lake(str(tmp_path / "lake"))

    def killed(*_: object) -> None:
        raise KeyboardInterrupt("killed before the log commit")

    monkeypatch.setattr(land, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage())
    assert spark.read.format("delta").load(lake.bronze("bury", "police_incidents")).count() == 5  # orphans
    monkeypatch.undo()
    result = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage())
    assert result.by_status()["LOADED"] == 2
    bronze = spark.read.format("delta").load(lake.bronze("bury", "police_incidents"))
    assert bronze.count() == 5
    assert {r._run_id for r in bronze.select("_run_id").distinct().collect()} == {_ctx(2).run_id}
    assert spark.read.format("delta").load(lake.quarantine("bury")).count() == 2
