"""Gold's pure transforms on small inline frames: each behaviour against a hand-worked answer.

The whole-lake tests (test_gold_build.py) check the published tables against the generator's
truth; these reach a broken rule or join in seconds, one behaviour each.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from accelerator.gold import dictionary
from accelerator.gold import evidence as E
from accelerator.gold import family as FAM
from accelerator.gold.members import member_rows
from accelerator.gold.persons import display_names, person_attributes
from accelerator.gold.publish import _empty_as_dictionary
from accelerator.gold.rules import Window
from accelerator.gold.timeline import child_timeline
from accelerator.io import tables
from accelerator.io.storage import HadoopStorage

AS_OF = date(2026, 11, 30)
MEMBERS = "family_id string, person_id string, family_authority string"


def test_person_attributes_takes_the_dob_most_records_give_then_the_latest(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            ("health_services", "bury", "r1", date(2015, 1, 2), date(2024, 1, 1)),
            ("health_services", "bury", "r2", date(2015, 1, 2), date(2024, 2, 1)),
            ("police_incidents", "bury", "r3", date(2015, 2, 1), date(2026, 1, 1)),  # the latest, outvoted
            ("housing", "bolton", "r4", date(2010, 6, 1), date(2020, 1, 1)),  # P2: a tie of one each ...
            ("housing", "bolton", "r5", date(2010, 6, 2), date(2021, 1, 1)),  # ... the most recent wins
            ("housing", "bolton", "r6", None, date(2022, 1, 1)),  # no dob: not a vote
        ],
        "feed string, authority string, record_key string, person_dob date, event_date date",
    )
    xref = spark.createDataFrame(
        [
            ("health_services", "bury", "r1", "P1"),
            ("health_services", "bury", "r2", "P1"),
            ("police_incidents", "bury", "r3", "P1"),
            ("housing", "bolton", "r4", "P2"),
            ("housing", "bolton", "r5", "P2"),
            ("housing", "bolton", "r6", "P2"),
        ],
        "feed string, authority string, record_key string, person_id string",
    )
    got = person_attributes(records, xref, F.lit(AS_OF))
    want = spark.createDataFrame(
        [("P1", date(2015, 1, 2), 11), ("P2", date(2010, 6, 2), 16)], "person_id string, dob date, age int"
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_display_names_are_the_latest_named_record_per_holding_authority(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            ("early_help", "bury", "a", "Zoë", "Old", date(2020, 1, 1)),
            ("early_help", "bury", "b", "Zoë", "New", date(2024, 1, 1)),
            ("housing", "bury", "c", "Zoë", None, date(2025, 1, 1)),  # no surname: not a name
            ("housing", "bolton", "d", "Zoe", "Other", date(2019, 1, 1)),
        ],
        "feed string, authority string, record_key string, person_forename string, person_surname string, "
        "event_date date",
    )
    xref = records.select("feed", "authority", "record_key", F.lit("P1").alias("person_id"))
    got = display_names(records, xref)
    want = spark.createDataFrame(
        [("P1", "bury", "Zoë", "New", date(2024, 1, 1)), ("P1", "bolton", "Zoe", "Other", date(2019, 1, 1))],
        "person_id string, authority string, forename string, surname string, name_date date",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def _evidence(spark: SparkSession):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(
        [
            ("P1", "police_incidents", "GMP-1|N1", date(2026, 5, 1), "VIOLENCE", "bury", 7, "H07.police@v1"),
            ("P1", "housing", "C9|2026-06-01|1", date(2026, 6, 1), "EVICTED", "bolton", 9, "H09.housing@v1"),
            ("P2", "housing", "C7|2026-06-01|1", date(2026, 6, 1), "EVICTED", "bolton", 9, "H09.housing@v1"),
        ],
        "person_id string, feed string, record_key string, event_date date, detail string, "
        "record_authority string, headline int, rule_id string",
    )


def test_family_evidence_masks_another_authoritys_record_and_drops_an_objectors(spark: SparkSession) -> None:
    members = spark.createDataFrame([("F1", "P1", "bury"), ("F1", "P2", "bury")], MEMBERS)
    objecting = spark.createDataFrame([("P2", True)], "person_id string, objects boolean")
    got = E.family_evidence(_evidence(spark), members, objecting, F.lit(AS_OF)).select(
        "family_id", "headline", "person_id", "feed", "record_key", "detail", "held_by_this_authority"
    )
    want = spark.createDataFrame(
        [
            ("F1", 7, "P1", "police_incidents", "GMP-1|N1", "VIOLENCE", True),
            # Bolton's record shows only its feed and date in Bury's gold ...
            ("F1", 9, "P1", "housing", None, None, False),
            # ... and P2 objected to sharing: Bolton's record about P2 raises nothing in Bury.
        ],
        "family_id string, headline int, person_id string, feed string, record_key string, detail string, "
        "held_by_this_authority boolean",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_objectors_are_people_with_an_early_help_record_without_consent(spark: SparkSession) -> None:
    eh = spark.createDataFrame(
        [("P1", False), ("P1", True), ("P2", True), ("P3", None)],
        "person_id string, consent_to_share boolean",
    )
    members = spark.createDataFrame([], MEMBERS)
    got = E.objectors({"early_help": eh}, members)
    assert_df_equality(
        got, spark.createDataFrame([("P1", True)], "person_id string, objects boolean"), ignore_nullable=True
    )
    assert E.objectors({}, members).count() == 0  # no early help feed yet: nobody objects


def test_headline_flags_are_true_where_any_evidence_of_the_headline_exists(spark: SparkSession) -> None:
    ev = spark.createDataFrame([("F1", 7), ("F1", 9), ("F2", 9)], "family_id string, headline int")
    got = E.headline_flags(ev).select("family_id", "h07_crime", "h09_housing", "h01_education")
    want = spark.createDataFrame(
        [("F1", True, True, False), ("F2", False, True, False)],
        "family_id string, h07_crime boolean, h09_housing boolean, h01_education boolean",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_sizes_count_a_member_of_unknown_age_as_an_adult(spark: SparkSession) -> None:
    roster = spark.createDataFrame(
        [("F1", "bury", 4), ("F1", "bury", 17), ("F1", "bury", 18), ("F1", "bury", None), ("F2", "bury", 40)],
        "family_id string, family_authority string, age int",
    )
    got = FAM.sizes(roster)
    want = spark.createDataFrame(
        [("F1", "bury", 4, 2, 2), ("F2", "bury", 1, 0, 1)],
        "family_id string, family_authority string, member_count int, children int, adults int",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_family_table_eligible_needs_three_headlines_and_a_child_or_an_expectant_parent(
    spark: SparkSession,
) -> None:
    counts = spark.createDataFrame(
        [("F1", "bury", 2, 1, 1), ("F2", "bury", 2, 0, 2), ("F3", "bury", 1, 0, 1), ("F4", "bury", 3, 1, 2)],
        "family_id string, family_authority string, member_count int, children int, adults int",
    )
    evidence = spark.createDataFrame(
        [(f, h) for f in ("F1", "F2", "F3") for h in (3, 7, 9)]  # F2 has no child, F3 is expecting
        + [("F4", 3), ("F4", 7), ("F4", 7)],  # two headlines only, one of them twice
        "family_id string, headline int",
    )
    flags = E.headline_flags(evidence)
    expecting = spark.createDataFrame([("F3", True)], "family_id string, expectant boolean")
    empty = spark.createDataFrame([], "family_id string")
    got = FAM.family_table(counts, flags, expecting, empty, empty, empty, F.lit(AS_OF)).select(
        "family_id", "headline_count", "eligible", "h01_education", "open_early_help_case", "open_referrals"
    )
    want = spark.createDataFrame(
        [
            ("F1", 3, True, False, False, 0),
            ("F2", 3, False, False, False, 0),
            ("F3", 3, True, False, False, 0),
            ("F4", 2, False, False, False, 0),
        ],
        "family_id string, headline_count int, eligible boolean, h01_education boolean, "
        "open_early_help_case boolean, open_referrals int",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_support_names_the_lead_of_this_authoritys_latest_open_case_only(spark: SparkSession) -> None:
    eh = spark.createDataFrame(
        [
            ("P1", "bury", "FC1", date(2025, 1, 1), None, "Keyworker A", "EARLY_HELP"),
            ("P1", "bury", "FC2", date(2026, 1, 1), None, "Keyworker B", "SCHOOL"),
            ("P2", "bolton", "FC3", date(2026, 6, 1), None, "Bolton worker", "HEALTH_VISITING"),
            ("P1", "bury", "FC0", date(2020, 1, 1), date(2021, 1, 1), "Closed case", "EARLY_HELP"),
        ],
        "person_id string, authority string, family_case_ref string, case_open_date date, "
        "case_close_date date, lead_professional string, lead_agency string",
    )
    members = spark.createDataFrame(
        [("F1", "P1", "bury"), ("F1", "P2", "bury"), ("F2", "P3", "bury")], MEMBERS
    )
    nobody = spark.createDataFrame([], "person_id string, objects boolean")
    got = FAM.support({"early_help": eh}, members, nobody, Window(AS_OF))
    want = spark.createDataFrame(
        [("F1", True, "Keyworker B", "SCHOOL"), ("F2", None, None, None)],
        "family_id string, open_early_help_case boolean, lead_professional string, lead_agency string",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_member_rows_prefer_the_familys_authoritys_name_and_set_roles(spark: SparkSession) -> None:
    roster = spark.createDataFrame(
        [("F1", "P1", "bury", date(2010, 1, 1), 16), ("F1", "P2", "bury", None, None)],
        "family_id string, person_id string, family_authority string, dob date, age int",
    )
    names = spark.createDataFrame(
        [
            ("P1", "bolton", "Bill", "Smith", date(2026, 1, 1)),  # newer, but another authority's
            ("P1", "bury", "William", "Smith", date(2020, 1, 1)),
            ("P2", "bolton", "Ann", "Jones", date(2019, 1, 1)),  # the only name P2 has
        ],
        "person_id string, authority string, forename string, surname string, name_date date",
    )
    got = member_rows(roster, names, F.lit(AS_OF)).select("person_id", "forename", "role")
    want = spark.createDataFrame(
        [("P1", "William", "CHILD"), ("P2", "Ann", "ADULT")], "person_id string, forename string, role string"
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_child_timeline_keeps_the_familys_authoritys_records_up_to_as_of(spark: SparkSession) -> None:
    yjs = spark.createDataFrame(
        [
            ("P1", "bury", "Y1|2026-01-01", date(2026, 1, 1), "REFERRAL_ORDER", None),
            ("P1", "bolton", "Y2|2026-02-01", date(2026, 2, 1), "YRO", None),  # another authority's
            ("P1", "bury", "Y3|2026-12-15", date(2026, 12, 15), "YRO", None),  # after as_of
        ],
        "person_id string, authority string, record_key string, event_date date, outcome_type string, "
        "offence_date date",
    )
    children = spark.createDataFrame([("F1", "P1", "bury")], MEMBERS)
    got = child_timeline({"youth_justice": yjs}, children, F.lit(AS_OF)).select(
        "person_id", "feed", "event_type", "record_key"
    )
    want = spark.createDataFrame(
        [("P1", "youth_justice", "REFERRAL_ORDER", "Y1|2026-01-01")],
        "person_id string, feed string, event_type string, record_key string",
    )
    assert_df_equality(got, want, ignore_nullable=True)


def test_other_authority_is_true_only_for_records_the_family_may_know_of(spark: SparkSession) -> None:
    xref = spark.createDataFrame(
        [("P1", "bury"), ("P1", "bolton"), ("P2", "bury"), ("P3", "bury"), ("P3", "wigan")],
        "person_id string, authority string",
    )
    members = spark.createDataFrame(
        [("F1", "P1", "bury"), ("F2", "P2", "bury"), ("F3", "P3", "bury")], MEMBERS
    )
    objecting = spark.createDataFrame([("P3", True)], "person_id string, objects boolean")
    got = FAM.other_authority(xref, members, objecting)
    want = spark.createDataFrame(
        [("F1", True), ("F2", False), ("F3", False)], "family_id string, other_authority_records boolean"
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_an_empty_gold_table_is_left_only_when_it_is_exactly_the_dictionarys(
    spark: SparkSession, tmp_path: Path
) -> None:
    def created(name: str, schema: StructType, rows: list[tuple[object, ...]]) -> str:
        path = str(tmp_path / name)
        tables.overwrite(spark.createDataFrame(rows, schema), path, stats=["as_of"])
        return path

    schema = dictionary.schema("publication")
    # Created empty with the dictionary's columns and never written since: known from its log.
    fresh = created("fresh", schema, [])
    assert tables.sole_commit(HadoopStorage(spark), fresh) is not None
    assert _empty_as_dictionary(spark, fresh, "publication")
    # A column comment of another release: replaced, so readers see the dictionary's.
    fields = [StructField(f.name, f.dataType, True, {"comment": "old"}) for f in schema.fields]
    assert not _empty_as_dictionary(spark, created("old_comment", StructType(fields), []), "publication")
    row = ("bury", date(2025, 3, 31), "r1", 1, 2, 3, 4)
    assert not _empty_as_dictionary(spark, created("rows", schema, [row]), "publication")
    # Emptied by a later commit: no longer one commit, so read by Spark, and empty all the same.
    emptied = created("emptied", schema, [row])
    tables.overwrite(spark.createDataFrame([], schema), emptied, stats=["as_of"])
    assert tables.sole_commit(HadoopStorage(spark), emptied) is None
    assert _empty_as_dictionary(spark, emptied, "publication")
    assert not _empty_as_dictionary(spark, str(tmp_path / "none"), "publication")
