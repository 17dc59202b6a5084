"""Gold on a lake built by the whole pipeline, read as Power BI's readers read it (delta-rs).

The checks are the contract of outputs.md and outcomes.md "Gold, per authority": the documented
columns and types, reader protocol 1 without table features, each authority holding only its
own families, evidence from another authority's records reduced to feed and date, flags that
agree with their evidence, and a new as_of that touches neither bronze nor silver.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from accelerator import pipeline
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, PERSON_FEEDS
from accelerator.gold import dictionary
from accelerator.gold.build import run_gold
from accelerator.gold.publish import TABLE_ORDER, _empty_as_dictionary
from accelerator.gold.rules import HEADLINES
from accelerator.io import tables
from accelerator.io.storage import HadoopStorage
from conftest import BuiltLake

# outputs.md, "Gold": the columns reports and acceptance checks rely on, with their Delta types.
OUTPUTS_MD: dict[str, dict[str, str]] = {
    "family": {
        "family_id": "string",
        "authority": "string",
        "as_of": "date",
        "member_count": "integer",
        "adults": "integer",
        "children": "integer",
        **{name: "boolean" for name in HEADLINES.values()},
        "headline_count": "integer",
        "eligible": "boolean",
        "open_early_help_case": "boolean",
        "lead_professional": "string",
        "other_authority_records": "boolean",
    },
    "family_member": {
        "family_id": "string",
        "person_id": "string",
        "forename": "string",
        "surname": "string",
        "dob": "date",
        "age": "integer",
        "role": "string",
    },
    "headline_evidence": {
        "family_id": "string",
        "headline": "integer",
        "person_id": "string",
        "feed": "string",
        "record_key": "string",
        "event_date": "date",
        "detail": "string",
    },
    "child_timeline": {
        "person_id": "string",
        "event_date": "date",
        "feed": "string",
        "event_type": "string",
        "detail": "string",
        "record_key": "string",
    },
}


def gold(lake: Path, authority: str, table: str) -> pd.DataFrame:
    return DeltaTable(str(lake / "gold" / authority / table)).to_pandas()


def platform(lake: Path, table: str) -> pd.DataFrame:
    return DeltaTable(str(lake / "silver" / "_platform" / table)).to_pandas()


@pytest.fixture(scope="module")
def lake(built_lake: BuiltLake) -> Path:
    return built_lake.lake


@pytest.mark.parametrize("table", sorted(OUTPUTS_MD))
def test_gold_tables_carry_the_columns_and_types_of_outputs_md_with_comments(
    built_lake: BuiltLake, table: str
) -> None:
    for a in built_lake.authorities:
        schema = DeltaTable(str(built_lake.lake / "gold" / a / table)).schema()
        fields = {f.name: f for f in schema.fields}
        for name, dtype in OUTPUTS_MD[table].items():
            assert name in fields, f"gold/{a}/{table} lacks {name}"
            assert str(fields[name].type.type) == dtype, (table, name, fields[name].type)
        documented = [c[0] for c in dictionary.TABLES[table][1]]
        assert list(fields) == documented
        assert all(fields[n].metadata.get("comment") for n in documented)


def test_gold_tables_open_in_delta_rs_at_reader_1_writer_2_without_features(built_lake: BuiltLake) -> None:
    for a in built_lake.authorities:
        for table in dictionary.TABLES:
            dt = DeltaTable(str(built_lake.lake / "gold" / a / table))
            p = dt.protocol()
            assert (p.min_reader_version, p.min_writer_version) == (1, 2)
            assert not p.reader_features and not p.writer_features
            conf = dt.metadata().configuration
            assert conf.get("delta.enableDeletionVectors") == "false"
            assert "delta.columnMapping.mode" not in conf
            arrow = dt.to_pyarrow_table().schema
            assert not any(pa.types.is_timestamp(f.type) for f in arrow)


def test_each_authority_gold_holds_exactly_its_own_families(built_lake: BuiltLake, lake: Path) -> None:
    members = platform(lake, "family_member")
    members = members[members["as_of"] == built_lake.as_of]
    seen: set[str] = set()
    for a in built_lake.authorities:
        fam = gold(lake, a, "family")
        assert set(fam["authority"]) <= {a}
        ids = set(fam["family_id"])
        assert ids == set(members.loc[members["authority"] == a, "family_id"])
        assert not ids & seen, "a family is published by two authorities"
        seen |= ids
        for table in ("family_member", "headline_evidence", "child_timeline"):
            assert set(gold(lake, a, table)["family_id"]) <= ids, table
        gm = gold(lake, a, "family_member")
        want = members.loc[members["authority"] == a, ["family_id", "person_id"]]
        assert sorted(map(tuple, gm[["family_id", "person_id"]].values)) == sorted(map(tuple, want.values))


def test_evidence_from_another_authority_shows_only_feed_and_date(built_lake: BuiltLake, lake: Path) -> None:
    xref = platform(lake, "person_xref")
    for a in built_lake.authorities:
        ev = gold(lake, a, "headline_evidence")
        other = ev[~ev["held_by_this_authority"]]
        assert other["record_key"].isna().all() and other["detail"].isna().all()
        assert other["feed"].notna().all() and other["event_date"].notna().all()
        own = ev[ev["held_by_this_authority"]].merge(
            xref[xref["authority"] == a], on=["person_id", "feed", "record_key"], how="left", indicator=True
        )
        assert (own["_merge"] == "both").all(), "own evidence must name this authority's own records"


def test_a_headline_raised_by_another_authoritys_record_is_published_masked(
    spark: SparkSession, built_lake: BuiltLake, tmp_path: Path
) -> None:
    """A child who moved: the school census record the old authority holds shows low attendance;
    the new authority's family gets headline 1 with that record's feed and date, nothing else."""
    settings = built_lake.copy_to(tmp_path / "lake")
    copy = Path(settings.lake_root)
    xref = platform(copy, "person_xref")
    members = platform(copy, "family_member")
    members = members[members["as_of"] == built_lake.as_of]
    held = xref.merge(members, on="person_id", suffixes=("", "_family"))
    away = held[(held["feed"] == "school_census") & (held["authority"] != held["authority_family"])]
    assert len(away), "the built lake should hold a mover's school census record at another authority"
    holder, key, family_id, home = away.iloc[0][["authority", "record_key", "family_id", "authority_family"]]
    path = copy / "silver" / holder / "school_census"
    spark.sql(
        f"UPDATE delta.`{path}` SET sessions_possible = 100, sessions_authorised_absence = 0, "
        f"sessions_unauthorised_absence = 50, event_date = DATE'2026-07-31' WHERE record_key = '{key}'"
    )
    run_gold(spark, settings, RunContext.create(as_of=built_lake.as_of, started_at=datetime(2026, 12, 1, 7)))
    ev = gold(copy, home, "headline_evidence")
    raised = ev[(ev["family_id"] == family_id) & (ev["headline"] == 1) & ~ev["held_by_this_authority"]]
    assert len(raised) >= 1
    assert raised["record_key"].isna().all() and raised["detail"].isna().all()
    assert set(raised["feed"]) == {"school_census"} and date(2026, 7, 31) in set(raised["event_date"])
    assert bool(gold(copy, home, "family").set_index("family_id").loc[family_id, "h01_education"])
    assert family_id not in set(gold(copy, holder, "family")["family_id"])
    assert key not in set(ev["record_key"].dropna())


def test_flags_count_and_eligibility_agree_with_the_evidence(built_lake: BuiltLake, lake: Path) -> None:
    eligible_families = 0
    for a in built_lake.authorities:
        fam = gold(lake, a, "family").set_index("family_id")
        ev = gold(lake, a, "headline_evidence")
        for n, name in HEADLINES.items():
            raised = set(ev.loc[ev["headline"] == n, "family_id"])
            assert set(fam.index[fam[name]]) == raised, name
        assert (fam["headline_count"] == fam[list(HEADLINES.values())].sum(axis=1)).all()
        assert (fam.loc[fam["eligible"], "headline_count"] >= 3).all()
        assert fam.loc[(fam["headline_count"] >= 3) & (fam["children"] > 0), "eligible"].all()
        eligible_families += int(fam["eligible"].sum())
    assert eligible_families > 0


def test_family_members_ages_roles_and_counts(built_lake: BuiltLake, lake: Path) -> None:
    as_of = built_lake.as_of
    for a in built_lake.authorities:
        gm = gold(lake, a, "family_member")
        fam = gold(lake, a, "family").set_index("family_id")
        known = gm[gm["dob"].notna()]
        ages = [as_of.year - d.year - ((as_of.month, as_of.day) < (d.month, d.day)) for d in known["dob"]]
        assert list(known["age"]) == ages
        assert (gm["role"] == gm["age"].lt(18).map({True: "CHILD", False: "ADULT"})).all()
        sizes = gm.groupby("family_id").size()
        kids = gm[gm["role"] == "CHILD"].groupby("family_id").size()
        assert (fam["member_count"] == sizes.reindex(fam.index)).all()
        assert (fam["children"] == kids.reindex(fam.index).fillna(0)).all()
        assert (fam["adults"] == fam["member_count"] - fam["children"]).all()


def test_child_timeline_holds_children_and_the_authority_own_records_only(
    built_lake: BuiltLake, lake: Path
) -> None:
    xref = platform(lake, "person_xref")
    rows = 0
    for a in built_lake.authorities:
        tl = gold(lake, a, "child_timeline")
        gm = gold(lake, a, "family_member")
        assert set(tl["person_id"]) <= set(gm.loc[gm["role"] == "CHILD", "person_id"])
        joined = tl.merge(xref[xref["authority"] == a], on=["person_id", "feed", "record_key"], how="left")
        assert joined["authority"].notna().all(), "a timeline event from another authority's record"
        assert (tl["event_date"] <= built_lake.as_of).all()
        rows += len(tl)
    assert rows > 0


def test_person_xref_holds_every_accepted_person_record_exactly_once(
    built_lake: BuiltLake, lake: Path
) -> None:
    xref = platform(lake, "person_xref")
    assert not xref.duplicated(["authority", "feed", "record_key"]).any()
    assert "fire_rescue" not in set(xref["feed"])
    want = set()
    for a in built_lake.authorities:
        for feed in PERSON_FEEDS:
            path = lake / "silver" / a / feed
            if (path / "_delta_log").is_dir():
                keys = DeltaTable(str(path)).to_pandas(columns=["record_key"])["record_key"]
                want |= {(a, feed, k) for k in keys}
    assert set(map(tuple, xref[["authority", "feed", "record_key"]].values)) == want


def _versions(lake: Path, layer: str) -> dict[str, int]:
    return {
        str(log.parent.relative_to(lake)): DeltaTable(str(log.parent)).version()
        for log in (lake / layer).glob("*/*/_delta_log")
        if "_platform" not in log.parts
    }


def test_new_as_of_recomputes_gold_without_touching_bronze_or_silver(
    spark: SparkSession, built_lake: BuiltLake, tmp_path: Path
) -> None:
    settings = built_lake.copy_to(tmp_path / "lake")
    copy = Path(settings.lake_root)
    before = {**_versions(copy, "bronze"), **_versions(copy, "silver")}
    gold_before = _versions(copy, "gold")
    # The first run created each table of an authority with no families empty: one commit that
    # writes no file, with the dictionary's columns (what lets the next run leave it alone).
    created_empty = {
        (a, t): tables.created_empty(HadoopStorage(spark), str(copy / "gold" / a / t))
        and _empty_as_dictionary(spark, str(copy / "gold" / a / t), t)
        for a in AUTHORITIES
        for t in TABLE_ORDER
    }
    later = date(2027, 1, 31)
    ctx = RunContext.create(as_of=later, started_at=datetime(2027, 2, 1, 6, 0, 0))
    result = pipeline.run(spark, settings, ctx)
    # An authority with no families keeps its empty tables as they were (no commit); it still gets
    # a publication record of the new as_of. An authority with families gets every table replaced.
    gold_after = _versions(copy, "gold")
    empty = sorted(set(AUTHORITIES) - set(result.gold.families))
    assert empty and set(built_lake.authorities) & set(result.gold.families)
    for a in AUTHORITIES:
        for table in TABLE_ORDER:
            key = f"gold/{a}/{table}"
            assert (gold_after[key] == gold_before[key]) == (a in empty), key
            assert created_empty[a, table] == (a in empty), key
        assert set(gold(copy, a, "publication")["as_of"]) == {later}
        assert gold_after[f"gold/{a}/publication"] == gold_before[f"gold/{a}/publication"] + 1
    assert result.bronze.rows_loaded == 0 and result.silver.changed_tables == 0
    assert {**_versions(copy, "bronze"), **_versions(copy, "silver")} == before
    members = platform(copy, "family_member")
    assert set(members["as_of"]) == {built_lake.as_of, later}
    for a in built_lake.authorities:
        assert set(gold(copy, a, "family")["as_of"]) == {later}
        assert set(gold(copy, a, "family_member")["as_of"]) == {later}


def test_a_first_run_before_any_delivery_completes_and_publishes_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Nothing landed, so linkage and families write nothing: gold has nothing to read or publish.
    # It used to fail on the missing person_xref, ending the run before its log and reports.
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    settings = Settings(lake_root=str(lake), landing_root=str(landing))
    ctx = RunContext.create(as_of=date(2026, 12, 1), started_at=datetime(2026, 12, 1, 6))
    ticks = iter(range(100))
    result = pipeline.run(spark, settings, ctx, clock=lambda: float(next(ticks)))  # as the CLI does
    assert result.bronze.outcomes == []
    assert result.gold.families == {} and result.gold.eligible == {}
    assert not (lake / "gold").exists()
    run_log = spark.read.format("delta").load(str(lake / "bronze" / "_platform" / "run_log"))
    assert run_log.where(f"run_id = '{ctx.run_id}'").count() > 0  # the run is logged all the same
