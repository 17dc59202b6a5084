"""Silver's standardising of one feed (accelerator.silver.transform.standardise_feed) on inline
bronze rows: no lake, no Delta, one plan each, so a broken rule fails in seconds."""

from __future__ import annotations

from datetime import date

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import FEEDS
from accelerator.silver.transform import PERSON_COLUMNS, standardise_feed

EXTRACT = date(2025, 3, 31)


def _bronze(spark: SparkSession, feed: str, rows: list[dict[str, str]]) -> DataFrame:
    """Bronze rows of ``feed`` as bronze holds them: every delivered column text, then lineage."""
    names = FEEDS[feed].column_names
    fields = [T.StructField(n, T.StringType()) for n in (*names, "record_key", "_extra", "_delivery_id")]
    fields += [
        T.StructField("_source_file", T.StringType()),
        T.StructField("_line", T.IntegerType()),
        T.StructField("_extract_date", T.DateType()),
        T.StructField("_run_id", T.StringType()),
    ]
    data = [
        (*(r.get(n) for n in names), f"K{i}", None, "D1", "f.csv", i + 2, EXTRACT, "R1")
        for i, r in enumerate(rows)
    ]
    return spark.createDataFrame(data, T.StructType(fields))


def test_a_school_census_row_gets_every_rules_columns_and_its_issues_in_rule_order(
    spark: SparkSession,
) -> None:
    clean = {
        "upn": "b801200005001",
        "forename": "ZOË",
        "surname": "o'brien",
        "dob": "01/06/2015",
        "gender": "F",
        "address": "Flat 2, 10 Bank St",
        "postcode": "bl90sw",
        "census_term": "2024spr",
        "sessions_possible": "120",
    }
    broken = {
        **clean,
        "upn": "A801200005001",  # wrong check letter
        "dob": "2026-01-01",  # after the extract date
        "postcode": "not a postcode",
        "census_term": "2024WIN",  # no such term
        "sessions_possible": "12O",  # a letter O
    }
    out = standardise_feed(
        _bronze(spark, "school_census", [clean, broken]), "school_census", authority=F.lit("bury")
    )

    added = [
        "upn_valid",
        "postcode_norm",
        "address_norm",
        "address_flat",
        "address_house_number",
        "address_street",
        *PERSON_COLUMNS,
        "event_date",
        "dq_issues",
    ]
    assert out.columns[-len(added) :] == added
    assert out.columns[:3] == ["authority", "feed", "record_key"]
    got = out.select(
        "record_key",
        "upn",
        "sessions_possible",
        "upn_valid",
        "postcode_norm",
        "address_flat",
        "address_house_number",
        *PERSON_COLUMNS,
        "event_date",
        "dq_issues",
    )
    flat_house_and_names = ("2", "10", "Zoë", "O'Brien", "ZOE", "OBRIEN")  # the same on both rows
    want = spark.createDataFrame(
        [
            (
                "K0",
                "b801200005001",
                120,
                "B801200005001",
                "BL9 0SW",
                *flat_house_and_names,
                date(2015, 6, 1),
                "F",
                date(2025, 3, 31),
                [],
            ),
            (
                "K1",
                "A801200005001",
                None,
                None,
                None,
                *flat_house_and_names,
                None,
                "F",
                None,
                [
                    "bad_int:sessions_possible",
                    "invalid_upn",
                    "bad_postcode",
                    "dob_after_extract_date",
                    "bad_code:census_term",
                ],
            ),
        ],
        got.schema,
    )
    assert_df_equality(got, want, ignore_nullable=True)


def test_an_end_date_before_its_start_is_nulled_and_an_event_date_is_the_feeds_own(
    spark: SparkSession,
) -> None:
    row = {"referral_id": "R9", "birth_date": "2015-06-01", "referral_date": "2025-02-01"}
    rows = [{**row, "discharge_date": "2025-01-01"}, {**row, "discharge_date": "2025-03-01"}]
    out = standardise_feed(
        _bronze(spark, "health_services", rows), "health_services", authority=F.lit("bolton")
    )
    got = out.select("discharge_date", "event_date", "dq_issues", "nhs_number_valid")
    want = spark.createDataFrame(
        [
            (None, date(2025, 2, 1), ["end_before_start:discharge_date"], None),
            (date(2025, 3, 1), date(2025, 2, 1), [], None),
        ],
        got.schema,
    )
    assert_df_equality(got, want, ignore_nullable=True)
    assert "postcode_norm" in out.columns and "uprn_norm" not in out.columns  # only the feed's own rules


def test_a_feed_without_people_gets_no_person_columns(spark: SparkSession) -> None:
    feed = next(f for f, s in FEEDS.items() if not s.person_level)
    out = standardise_feed(_bronze(spark, feed, [{}]), feed, authority=F.lit("wigan"))
    assert not set(PERSON_COLUMNS) & set(out.columns)
    assert out.first().feed == feed and not any(c.startswith("__") for c in out.columns)
