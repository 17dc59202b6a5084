"""Bronze on real Delta tables: the log, reconciliation, idempotency and interrupted runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from accelerator.bronze import land
from accelerator.bronze.land import run_bronze
from accelerator.bronze.landing import run_landing_lifecycle
from accelerator.config import RunContext, Settings
from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.io.storage import HadoopStorage, LocalStorage
from accelerator.silver.quality import log_metrics
from landing_kit import POLICE, csv_bytes, police_row, write_delivery, write_hostile

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
    # A table's first batch creates it: one commit, no empty CREATE TABLE before it. Bolton's
    # police deliveries loaded nothing (one rejected, one pending): its table and its quarantine are
    # created empty all the same, with bronze's columns.
    history = spark.sql(f"DESCRIBE HISTORY delta.`{lake.bronze('bury', 'police_incidents')}`").collect()
    assert [(h.version, h.operation) for h in history] == [(0, "WRITE")]
    for path, like in (
        (lake.bronze("bolton", "police_incidents"), bronze),
        (lake.quarantine("bolton"), quarantine),
    ):
        assert tables.created_empty(HadoopStorage(spark), path), path
        assert spark.read.format("delta").load(path).schema == like.schema


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

    monkeypatch.setattr(land, "append_log", killed)
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


def test_run_bronze_killed_between_two_batches_leaves_no_duplicate_on_rerun(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 rows: the first batch of a table replaces, the next appends; a kill at the
    second batch leaves 2 orphan rows, and the rerun (in batches of 3) replaces them."""
    _landing(tmp_path)
    lake = Lake(str(tmp_path / "lake"))
    real_append = tables.append

    def killed(df: object, path: str, **kw: object) -> None:
        if path == lake.bronze("bury", "police_incidents"):
            raise KeyboardInterrupt("killed between two batches")
        real_append(df, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage(), batch_rows=2)
    assert spark.read.format("delta").load(lake.bronze("bury", "police_incidents")).count() == 2  # orphans
    monkeypatch.undo()
    result = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage(), batch_rows=3)
    assert result.by_status()["LOADED"] == 2
    bronze = spark.read.format("delta").load(lake.bronze("bury", "police_incidents"))
    assert sorted(r.record_key for r in bronze.collect()) == [
        "GMP-0|P0",
        "GMP-1|P1",
        "GMP-2|P2",
        "GMP-3|P3",
        "GMP-9|P9",
    ]
    assert {r._run_id for r in bronze.select("_run_id").distinct().collect()} == {_ctx(2).run_id}


def test_run_bronze_writes_a_table_two_batches_at_a_time_after_its_replace(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery of 57 rows in batches of 5: the appends after the first batch run up to
    ``WRITE_AHEAD`` at once. A run killed at its third append leaves orphans; the rerun's first
    batch (the replace) commits before any of its appends, and every row is there exactly once."""
    landing = tmp_path / "landing"
    rows = [police_row(f"GMP-{i}", f"P{i}") for i in range(57)]
    write_delivery(landing, "bury", "police_incidents", "2026-10-31", {"a.csv": csv_bytes(POLICE, rows)})
    lake = Lake(str(tmp_path / "lake"))
    path = lake.bronze("bury", "police_incidents")
    real_append = tables.append
    appends = Counter[str]()

    def killed(df: object, where: str, **kw: object) -> None:
        appends[where] += 1
        if where == path and appends[where] == 3:
            raise KeyboardInterrupt("killed at the third append")
        real_append(df, where, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage(), batch_rows=5)
    orphans = spark.read.format("delta").load(path).count()
    assert 5 < orphans < 57
    monkeypatch.undo()
    assert land.WRITE_AHEAD >= 2
    result = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage(), batch_rows=5)
    assert result.by_status() == {"LOADED": 1}
    bronze = spark.read.format("delta").load(path)
    keys = Counter(r.record_key for r in bronze.select("record_key").collect())
    assert keys == Counter(f"GMP-{i}|P{i}" for i in range(57))
    assert {r._run_id for r in bronze.select("_run_id").distinct().collect()} == {_ctx(2).run_id}
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version").collect()
    replaces = [h.version for h in history if h.operationParameters.get("mode") == "Overwrite"]
    assert len(replaces) == 2  # one per run, each its run's first batch
    rerun = [h for h in history if h.version >= replaces[-1]]
    assert [h.operationParameters.get("mode") for h in rerun[1:]] == ["Append"] * 11
    assert sum(int(h.operationMetrics["numOutputRows"]) for h in rerun) == 57


def test_run_bronze_appends_to_a_log_created_before_reason_code(spark: SparkSession, tmp_path: Path) -> None:
    """A lake whose delivery log predates the reason_code column keeps working: the code is then
    only at the start of ``reason``."""
    _landing(tmp_path)
    lake = Lake(str(tmp_path / "lake"))
    old = T.StructType([f for f in land.LOG_SCHEMA.fields if f.name != "reason_code"])
    tables.create(spark, lake.delivery_log, old, stats=land.LOG_STATS)
    run_bronze(spark, _settings(tmp_path), _ctx(1), LocalStorage())
    log = spark.read.format("delta").load(lake.delivery_log)
    assert "reason_code" not in log.columns
    leeds = log.where("delivery_id = 'leeds/police_incidents/2026-10-31'").first()
    assert leeds.reason.startswith("UNKNOWN_AUTHORITY: ")


class FailsOnLanding(LocalStorage):
    """A real landing zone whose reads of one file raise from the third read on: the delivery is
    assessed (hash, then scan) and fails while it is landed, after some of its rows were written."""

    def __init__(self, path: str) -> None:
        self.path, self.reads = path, 0

    def read_chunks(self, path: str, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
        if path != self.path:
            return super().read_chunks(path, chunk_bytes)
        self.reads += 1
        return self._fail_midway(path) if self.reads >= 3 else super().read_chunks(path, chunk_bytes)

    def _fail_midway(self, path: str) -> Iterator[bytes]:
        data = Path(path).read_bytes()
        yield data[: len(data) // 2]
        raise RuntimeError("Zoë O'Brien")  # a message that quotes data


def test_run_bronze_survives_every_hostile_delivery_and_a_second_run_changes_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    expect = write_hostile(landing)
    rows = [police_row(f"GMP-{i}", f"P{i}") for i in range(20)]
    planted = write_delivery(
        landing, "wigan", "police_incidents", "2026-10-31", {"a.csv": csv_bytes(POLICE, rows)}
    )
    # The same file again: DUPLICATE of a delivery that then fails to land, so PENDING instead.
    write_delivery(landing, "wigan", "police_incidents", "2026-10-31_2", {"a.csv": csv_bytes(POLICE, rows)})
    store = FailsOnLanding(str(planted / "a.csv"))
    lake = Lake(str(tmp_path / "lake"))
    run_bronze(spark, _settings(tmp_path), _ctx(1), store, batch_rows=4)
    log = {r.delivery_id: r for r in spark.read.format("delta").load(lake.delivery_log).collect()}
    got = {d: (r.status, r.reason_code) for d, r in log.items()}
    want = {d: (e.status, e.code) for d, e in expect.items()}
    want["wigan/police_incidents/2026-10-31"] = ("REJECTED", "INTERNAL_ERROR")
    want["wigan/police_incidents/2026-10-31_2"] = ("PENDING", "DUPLICATE_OF_FAILED")
    assert got == want
    assert "RuntimeError" in log["wigan/police_incidents/2026-10-31"].reason
    assert "Zoë" not in log["wigan/police_incidents/2026-10-31"].reason
    bronze = spark.read.format("delta").load(lake.bronze("bury", "police_incidents"))
    quarantine = spark.read.format("delta").load(lake.quarantine("bury"))
    for d, e in expect.items():
        r = log[d]
        if e.status == "LOADED":
            assert (r.rows_in_files, r.rows_loaded, r.rows_quarantined) == e.rows, d
            if r.authority == "bury":
                assert bronze.where(bronze._delivery_id == d).count() == r.rows_loaded, d
                assert quarantine.where(quarantine.delivery_id == d).count() == r.rows_quarantined, d
    assert set(r._delivery_id for r in bronze.select("_delivery_id").distinct().collect()) == {
        d for d, e in expect.items() if e.status == "LOADED" and d.startswith("bury/")
    }
    assert spark.read.format("delta").load(lake.bronze("wigan", "police_incidents")).count() == 0
    names = {
        (r.forename, r.surname)
        for r in bronze.where(
            bronze._delivery_id.isin("bury/police_incidents/2026-10-26", "bury/police_incidents/2026-10-27")
        ).collect()
    }
    assert names == {("Zoë", "O'Brien"), ("Chloé", "O'Brien"), ("Renée", "O'Brien")}
    assert [r.reason_code for r in quarantine.collect()] == ["FIELD_TOO_LONG"]

    # Every reason code reaches the data-quality metrics (partner scorecards).
    metrics = log_metrics(spark.read.format("delta").load(lake.delivery_log), _ctx(1).run_id).collect()
    rejected = Counter(m.column for m in metrics if m.metric == "rejected")
    assert rejected == Counter(code for status, code in want.values() if status == "REJECTED")
    assert [(m.delivery_id, m.column, m["count"]) for m in metrics if m.metric == "quarantined"] == [
        ("bury/police_incidents/2026-10-24", "FIELD_TOO_LONG", 1)
    ]
    cp1252 = {m.delivery_id: m["count"] for m in metrics if m.metric == "lines_cp1252" and m["count"]}
    assert cp1252 == {"bury/police_incidents/2026-10-26": 1, "bury/police_incidents/2026-10-27": 1}

    before = _versions(spark, lake)
    again = run_bronze(spark, _settings(tmp_path), _ctx(2), LocalStorage())
    # The planted failure is gone: the PENDING re-send loads now; nothing else changes.
    assert again.by_status() == {"LOADED": 1}
    after = _versions(spark, lake)
    assert after[lake.bronze("bury", "police_incidents")] == before[lake.bronze("bury", "police_incidents")]
    assert after[lake.quarantine("bury")] == before[lake.quarantine("bury")]
    assert spark.read.format("delta").load(lake.bronze("wigan", "police_incidents")).count() == 20
    third = run_bronze(spark, _settings(tmp_path), _ctx(3), LocalStorage())
    assert third.outcomes == []


def test_landing_lifecycle_clears_settled_deliveries_after_the_grace_period(
    spark: SparkSession, tmp_path: Path
) -> None:
    landing = _landing(tmp_path)
    settings = _settings(tmp_path)
    run_bronze(spark, settings, _ctx(1), LocalStorage())
    lake = Lake(settings.lake_root)
    # Within the grace period nothing goes.
    soon = RunContext.create(as_of=date(2026, 12, 1), started_at=datetime(2026, 12, 1, 2, 0))
    assert run_landing_lifecycle(spark, settings, soon, LocalStorage()) == []
    later = RunContext.create(as_of=date(2027, 1, 31), started_at=datetime(2027, 1, 31, 2, 0))
    done = run_landing_lifecycle(spark, settings, later, LocalStorage())
    assert sorted((d.delivery_id, d.status, removed) for d, removed in done) == [
        ("bolton/police_incidents/2026-10-31", "REJECTED", True),
        ("bury/police_incidents/2026-09-30", "LOADED", True),
        ("bury/police_incidents/2026-10-31", "LOADED", True),
        ("bury/police_incidents/2026-10-31_2", "DUPLICATE", True),
        ("leeds/police_incidents/2026-10-31", "REJECTED", True),
    ]
    left = sorted(str(p.relative_to(landing)) for p in landing.glob("*/*/*"))
    assert left == ["bolton/police_incidents/2026-11-30"]  # PENDING: kept
    recorded = spark.read.format("delta").load(lake.audit("landing_lifecycle"))
    assert recorded.count() == 5
    assert run_landing_lifecycle(spark, settings, later, LocalStorage()) == []  # recorded: not again
    # The same file sent again after its folder was cleared is still a duplicate.
    good = csv_bytes(POLICE, [police_row(f"GMP-{i}", f"P{i}") for i in range(4)])
    write_delivery(landing, "bury", "police_incidents", "2026-12-31", {"a.csv": good})
    again = run_bronze(
        spark,
        settings,
        RunContext.create(as_of=date(2027, 1, 31), started_at=datetime(2027, 1, 31, 3)),
        LocalStorage(),
    )
    assert {o.ref.delivery_id: o.status for o in again.outcomes} == {
        "bolton/police_incidents/2026-11-30": "PENDING",
        "bury/police_incidents/2026-12-31": "DUPLICATE",
    }
