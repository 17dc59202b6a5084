"""Silver on real Delta: current versions, corrections, full refresh, MERGE, person_record, DQ."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from functools import reduce
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from accelerator.bronze.land import run_bronze
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.io.storage import LocalStorage
from accelerator.silver.build import run_silver
from accelerator.silver.read import person_records
from accelerator.silver.transform import standardise_feed
from conftest import BuiltLake
from landing_kit import csv_bytes, write_delivery

HEALTH = FEEDS["health_services"].column_names


def _row(ref: str, **v: str) -> list[str]:
    base = dict.fromkeys(HEALTH, "")
    base.update(
        referral_id=ref,
        nhs_number="943 476 5919",
        given_name="ZOË",
        family_name="o'brien",
        birth_date="2015-06-01",
        sex="2",
        address="Flat 2, 10 Bank St",
        postcode="bl90sw",
        service="MENTAL_HEALTH",
        referral_date="2026-01-10",
    )
    base.update(v)
    return [base[c] for c in HEALTH]


def _run(spark: SparkSession, root: Path, n: int) -> None:
    settings = Settings(lake_root=str(root / "lake"), landing_root=str(root / "landing"))
    ctx = RunContext.create(as_of=date(2026, 11, 25), started_at=datetime(2026, 11, 25, 3, n))
    run_bronze(spark, settings, ctx, LocalStorage())
    run_silver(spark, settings, ctx)


def _write(root: Path, folder: str, rows: list[list[str]], **extra: object) -> None:
    write_delivery(
        root / "landing", "wigan", "health_services", folder, {"h.csv": csv_bytes(HEALTH, rows)}, extra=extra
    )


def test_silver_types_standardises_and_flags(spark: SparkSession, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2026-09-30",
        [
            _row("R1"),
            _row("R2", nhs_number="9434765918", birth_date="2027-01-01", discharge_date="2025-01-01"),
            _row("R3", referral_date="10/01/2026", discharge_date="2026-02-30", nhs_number=""),
        ],
        full_refresh=True,
    )
    _run(spark, tmp_path, 1)
    lake = Lake(str(tmp_path / "lake"))
    silver = {
        r.record_key: r
        for r in spark.read.format("delta").load(lake.silver("wigan", "health_services")).collect()
    }
    r1, r2, r3 = silver["R1"], silver["R2"], silver["R3"]
    assert (r1.person_forename, r1.person_surname, r1.person_forename_match, r1.person_surname_match) == (
        "Zoë",
        "O'Brien",
        "ZOE",
        "OBRIEN",
    )
    assert (r1.person_sex, r1.person_dob, r1.nhs_number, r1.nhs_number_valid) == (
        "F",
        date(2015, 6, 1),
        "943 476 5919",
        "9434765919",
    )
    assert (r1.postcode_norm, r1.address_norm, r1.address_flat, r1.address_house_number) == (
        "BL9 0SW",
        "FLAT 2 10 BANK STREET",
        "2",
        "10",
    )
    assert (r1.event_date, r1.dq_issues) == (date(2026, 1, 10), [])
    assert r2.nhs_number_valid is None and r2.person_dob is None and r2.discharge_date is None
    assert sorted(r2.dq_issues) == [
        "dob_after_extract_date",
        "end_before_start:discharge_date",
        "invalid_nhs_number",
    ]
    assert (r3.referral_date, r3.discharge_date, r3.dq_issues) == (
        date(2026, 1, 10),
        None,
        ["bad_date:discharge_date"],
    )
    metrics = spark.read.format("delta").load(lake.platform("dq_metrics"))
    invalid = metrics.where("metric = 'invalid_nhs_number'").first()
    assert (invalid["count"], round(invalid.rate, 3)) == (1, 0.333)
    assert metrics.where("metric = 'date_format' AND column = 'dmy'").first()["count"] == 1
    person = spark.read.format("delta").load(lake.platform("person_record"))
    assert person.count() == 3
    assert person.where("record_key = 'R1'").first().nhs_number_valid == "9434765919"


def test_silver_correction_merges_only_changed_keys_and_full_refresh_replaces(
    spark: SparkSession, tmp_path: Path
) -> None:
    _write(tmp_path, "2026-09-30", [_row("R1"), _row("R2"), _row("R3")], full_refresh=True)
    _run(spark, tmp_path, 1)
    lake = Lake(str(tmp_path / "lake"))
    path = lake.silver("wigan", "health_services")
    # A monthly increment: one new record, and a correction of R2 sent as a second delivery.
    _write(tmp_path, "2026-10-31", [_row("R4"), _row("R2", discharge_date="2026-03-01")])
    _write(tmp_path, "2026-10-31_2", [_row("R2", discharge_date="2026-04-01")])
    _run(spark, tmp_path, 2)
    rows = {r.record_key: r for r in spark.read.format("delta").load(path).collect()}
    assert sorted(rows) == ["R1", "R2", "R3", "R4"]
    assert rows["R2"].discharge_date == date(2026, 4, 1)
    last = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version", ascending=False).first()
    assert last.operation == "MERGE"
    assert (
        last.operationMetrics["numTargetRowsInserted"],
        last.operationMetrics["numTargetRowsUpdated"],
    ) == ("1", "1")
    # A full refresh replaces everything the feed holds for the authority.
    _write(tmp_path, "2026-11-30", [_row("R1"), _row("R5")], full_refresh=True)
    _run(spark, tmp_path, 3)
    assert sorted(r.record_key for r in spark.read.format("delta").load(path).collect()) == ["R1", "R5"]
    person = spark.read.format("delta").load(lake.platform("person_record"))
    assert sorted(r.record_key for r in person.collect()) == ["R1", "R5"]
    _assert_person_record_is_the_rebuild(spark, lake)


def test_silver_second_run_changes_nothing(spark: SparkSession, tmp_path: Path) -> None:
    _write(tmp_path, "2026-09-30", [_row("R1")], full_refresh=True)
    _run(spark, tmp_path, 1)
    path = Lake(str(tmp_path / "lake")).silver("wigan", "health_services")
    before = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").count()
    _run(spark, tmp_path, 2)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{path}`").count() == before


def _same_rows(a: DataFrame, b: DataFrame) -> None:
    assert a.count() == b.count()
    assert a.exceptAll(b).count() == 0 and b.exceptAll(a).count() == 0


def _assert_person_record_is_the_rebuild(spark: SparkSession, lake: Lake) -> None:
    kept = spark.read.format("delta").load(lake.platform("person_record"))
    rebuilt = person_records(spark, lake, list(AUTHORITIES))
    assert rebuilt is not None
    _same_rows(kept, rebuilt.select(*kept.columns))


def test_person_record_kept_by_merge_is_the_rebuild_on_generated_deliveries(
    spark: SparkSession, built_lake: BuiltLake, tmp_path: Path
) -> None:
    """person_record is MERGEd with each run's silver changes (full refreshes included): after
    a first run up to October and a second with November, it holds exactly what a rebuild from
    every silver table gives, and what the session lake's single run wrote."""
    cut = date(2026, 10, 31)
    folders = sorted(built_lake.landing.glob("*/*/*"))
    later = [f for f in folders if date.fromisoformat(f.name[:10]) > cut]
    assert later and len(later) < len(folders)
    landing = tmp_path / "landing"
    for folder in folders:
        if folder not in later:
            shutil.copytree(folder, landing / folder.relative_to(built_lake.landing))
    settings = Settings(lake_root=str(tmp_path / "lake"), landing_root=str(landing))
    lake = Lake(settings.lake_root)
    for n, (as_of, batch) in enumerate(((cut, []), (built_lake.as_of, later))):
        for folder in batch:
            shutil.copytree(folder, landing / folder.relative_to(built_lake.landing))
        ctx = RunContext.create(as_of=as_of, started_at=datetime(as_of.year, as_of.month, as_of.day, 23, n))
        run_bronze(spark, settings, ctx, LocalStorage())
        run_silver(spark, settings, ctx)
        _assert_person_record_is_the_rebuild(spark, lake)
    path = lake.platform("person_record")
    last = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version", ascending=False).first()
    assert last is not None and last.operation == "MERGE"
    once = spark.read.format("delta").load(str(built_lake.lake / "silver" / "_platform" / "person_record"))
    kept = spark.read.format("delta").load(path)
    _same_rows(kept, once.select(*kept.columns))


def test_standardising_authorities_together_gives_each_authority_standardised_alone(
    spark: SparkSession, built_lake: BuiltLake
) -> None:
    """Silver standardises a feed's rows of every authority in one plan, with the authority as a
    column: the rows are exactly those of each authority's rows standardised on their own."""
    lake = Lake(str(built_lake.lake))
    for feed in ("health_services", "police_incidents", "early_help"):
        parts = [
            (a, spark.read.format("delta").load(lake.bronze(a, feed)))
            for a in AUTHORITIES
            if tables.exists(spark, lake.bronze(a, feed))
        ]
        assert len(parts) >= 2
        bronze = reduce(DataFrame.unionByName, [df.withColumn("__authority", F.lit(a)) for a, df in parts])
        together = standardise_feed(bronze, feed, authority=F.col("__authority"))
        each = reduce(
            DataFrame.unionByName, [standardise_feed(df, feed, authority=F.lit(a)) for a, df in parts]
        )
        # Set operations cannot compare maps (the extra delivered columns); everything else is compared.
        cols = [f.name for f in together.schema.fields if not isinstance(f.dataType, MapType)]
        assert together.count() == each.count() > 0
        assert {r.authority for r in together.select("authority").distinct().collect()} == {
            a for a, _ in parts
        }
        _same_rows(together.select(*cols), each.select(*cols))
