"""One more month of records: the incremental linkage run scores only what is new or changed and
gives exactly the people a full re-run with the same model gives, with ids that stay put.

The records are the session lake's ``person_record`` (generated deliveries, the whole pipeline):
everything up to the month before as_of is the first run; the last month's records, and a few
earlier records whose address changed in it, arrive in the second.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.io import tables
from accelerator.linkage.people import run_people
from conftest import BuiltLake

LAST_MONTH_START = date(2026, 11, 1)


def _ctx(as_of: date) -> RunContext:
    return RunContext.create(as_of=as_of, started_at=datetime(as_of.year, as_of.month, as_of.day, 23))


def _put_records(df: DataFrame, lake: Path) -> None:
    tables.overwrite(df, str(lake / "silver" / "_platform" / "person_record"), stats=("authority", "feed"))


def _partition(lake: Path) -> tuple[set[frozenset[str]], dict[str, str]]:
    xref = DeltaTable(str(lake / "silver" / "_platform" / "person_xref")).to_pandas()
    key = xref["authority"] + "|" + xref["feed"] + "|" + xref["record_key"]
    ids = dict(zip(key, xref["person_id"], strict=True))
    groups: dict[str, set[str]] = {}
    for k, p in ids.items():
        groups.setdefault(p, set()).add(k)
    return {frozenset(g) for g in groups.values()}, ids


def test_one_more_month_links_like_a_full_rerun(
    spark: SparkSession, built_lake: BuiltLake, tmp_path: Path
) -> None:
    records = spark.read.format("delta").load(str(built_lake.lake / "silver" / "_platform" / "person_record"))
    records = records.localCheckpoint()  # the session lake is read-only: keep our own copy of the rows
    is_last_month = F.col("event_date") >= F.lit(LAST_MONTH_START)
    earlier = records.where(~is_last_month | F.col("event_date").isNull())
    moved_keys = [
        f"{r.authority}|{r.record_key}"
        for r in earlier.where(F.col("feed") == "health_services")
        .orderBy("authority", "record_key")
        .limit(3)
        .collect()
    ]
    assert len(moved_keys) == 3
    # The last month's delivery also moves three earlier records to a new address.
    moved = (F.col("feed") == "health_services") & F.concat_ws("|", "authority", "record_key").isin(
        moved_keys
    )
    now = records.withColumn(
        "postcode_norm", F.when(moved, F.lit("M60 1AA")).otherwise(F.col("postcode_norm"))
    ).withColumn("uprn_norm", F.when(moved, F.lit(None)).otherwise(F.col("uprn_norm")))
    n_earlier, n_now = earlier.count(), now.count()
    assert 0 < n_earlier < n_now, "the session lake has no last-month records to add"

    lake = tmp_path / "incremental"
    settings = Settings(lake_root=str(lake), landing_root=str(tmp_path / "landing"))
    _put_records(earlier, lake)
    first_ctx, second_ctx = _ctx(date(2026, 10, 31)), _ctx(built_lake.as_of)
    first_run, second_run = first_ctx.run_id, second_ctx.run_id
    first = run_people(spark, settings, first_ctx)
    assert first.trained and first.scored_records == n_earlier
    _, ids_before = _partition(lake)

    # The model (with its term frequencies) is kept; only the new month and the changed rows are scored.
    _put_records(now, lake)
    second = run_people(spark, settings, second_ctx)
    assert not second.trained
    assert second.records == n_now
    assert second.scored_records == n_now - n_earlier + 3
    incremental, ids_after = _partition(lake)

    # A full re-run of the same records with the same model, from nothing but the model.
    rerun = tmp_path / "rerun"
    shutil.copytree(
        lake / "silver" / "_platform" / "linkage_models", rerun / "silver" / "_platform" / "linkage_models"
    )
    _put_records(now, rerun)
    full = run_people(
        spark,
        Settings(lake_root=str(rerun), landing_root=str(tmp_path / "landing")),
        _ctx(built_lake.as_of),
    )
    assert not full.trained and full.scored_records == n_now
    full_partition, _ = _partition(rerun)

    assert incremental == full_partition
    # Every record is in person_xref once, and earlier records keep their ids.
    assert len(ids_after) == n_now
    changed = sum(1 for k, p in ids_before.items() if ids_after[k] != p)
    assert changed == second.changed_existing_records
    assert changed / len(ids_before) <= 0.01, f"{changed} of {len(ids_before)} earlier records changed id"
    assert second.existing_records == len(ids_before)
    # The run's linkage report says the same: records scored and the churn.
    report = DeltaTable(str(lake / "silver" / "_platform" / "linkage_report")).to_pandas()
    assert sorted(report["run_id"].unique()) == sorted([first_run, second_run])
    summary = report[(report["run_id"] == second_run) & (report["section"] == "summary")].set_index("item")
    assert summary.loc["records_scored", "count"] == second.scored_records
    assert summary.loc["id_churn", "count"] == changed
    assert summary.loc["id_churn", "value"] == pytest.approx(second.churn)


def test_an_unchanged_rerun_scores_nothing_and_changes_no_id(
    spark: SparkSession, built_lake: BuiltLake, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    platform = built_lake.lake / "silver" / "_platform"
    for table in ("person_record", "person_xref", "person_links", "linkage_models", "linkage_report"):
        shutil.copytree(platform / table, lake / "silver" / "_platform" / table)
    before = DeltaTable(str(lake / "silver" / "_platform" / "person_xref")).to_pandas()
    written = ("person_xref", "linkage_report")
    versions = {t: DeltaTable(str(lake / "silver" / "_platform" / t)).version() for t in written}
    result = run_people(
        spark,
        Settings(lake_root=str(lake), landing_root=str(tmp_path)),
        _ctx(built_lake.as_of),
    )
    after = DeltaTable(str(lake / "silver" / "_platform" / "person_xref")).to_pandas()
    assert result.scored_records == 0 and result.changed_existing_records == 0
    assert result.records == len(before) and result.people == before["person_id"].nunique()
    # Nothing changed, so nothing is written: no new registry version, no second report.
    assert {t: DeltaTable(str(lake / "silver" / "_platform" / t)).version() for t in versions} == versions
    cols = ["authority", "feed", "record_key", "person_id"]
    pd.testing.assert_frame_equal(
        before[cols].sort_values(cols).reset_index(drop=True),
        after[cols].sort_values(cols).reset_index(drop=True),
    )
