"""Each standardiser, tested by column (style.md §3): inputs beside the wanted output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from chispa import assert_column_equality
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from accelerator.silver import standardise as S


def _check(
    spark: SparkSession,
    fn: Callable[[Column], Column],
    pairs: list[tuple[object, object]],
    want_type: str = "string",
) -> None:
    df = spark.createDataFrame(pairs, f"raw string, want {want_type}")
    assert_column_equality(df.withColumn("got", fn(F.col("raw"))), "got", "want")


def test_name_display_title_cases_one_case_names_and_keeps_accents(spark: SparkSession) -> None:
    _check(
        spark,
        S.name_display,
        [
            ("  o'BRIEN ", "O'Brien"),
            ("O'BRIEN", "O'Brien"),
            ("smith-jones", "Smith-Jones"),
            ("ZOË", "Zoë"),
            ("McDonald", "McDonald"),
            ("mary   ann", "Mary Ann"),
            ("   ", None),
            (None, None),
        ],
    )


def test_name_match_folds_accents_case_and_punctuation(spark: SparkSession) -> None:
    _check(
        spark,
        S.name_match,
        [
            ("Zoë", "ZOE"),
            ("O'Brien", "OBRIEN"),
            (" smith-jones ", "SMITHJONES"),
            ("Siobhán", "SIOBHAN"),
            ("'-", None),
            (None, None),
        ],
    )


def test_sex_code_unifies_feed_codes(spark: SparkSession) -> None:
    _check(
        spark,
        S.sex_code,
        [("1", "M"), ("2", "F"), ("9", "U"), ("m", "M"), (" F ", "F"), ("U", "U"), ("Q", None), (None, None)],
    )


def test_normalise_postcode(spark: SparkSession) -> None:
    _check(
        spark,
        S.normalise_postcode,
        [
            ("bl90sw", "BL9 0SW"),
            ("BL9 0SW", "BL9 0SW"),
            ("bl9  0sw", "BL9 0SW"),
            ("BL9 OSW", "BL9 0SW"),
            ("BLO 0SW", "BL0 0SW"),
            ("M1O 1AE", "M10 1AE"),
            ("m1 1ae", "M1 1AE"),
            ("SW1A1AA", "SW1A 1AA"),
            ("SO14 7DU", "SO14 7DU"),
            ("not a postcode", None),
            ("", None),
            (None, None),
        ],
    )


def test_normalise_uprn_strips_leading_zeros_and_rejects_non_digits(spark: SparkSession) -> None:
    _check(
        spark,
        S.normalise_uprn,
        [
            ("000100012345", "100012345"),
            ("10023 ", "10023"),
            ("1234567890123", None),
            ("12A", None),
            ("0000", None),
            (None, None),
        ],
    )


def test_normalise_address_expands_abbreviations_and_drops_punctuation(spark: SparkSession) -> None:
    _check(
        spark,
        S.normalise_address,
        [
            ("10 Bank St", "10 BANK STREET"),
            ("10, bank street.", "10 BANK STREET"),
            ("Flat 2, 10 Church Rd", "FLAT 2 10 CHURCH ROAD"),
            ("4 Elm Cl", "4 ELM CLOSE"),
            ("4 Oak Ave", "4 OAK AVENUE"),
            ("3 Mill Ln", "3 MILL LANE"),
            ("9 Park Pl", "9 PARK PLACE"),
            ("1 Hill Dr", "1 HILL DRIVE"),
            ("5 Moss Cres", "5 MOSS CRESCENT"),
            ("6 Ash Gr", "6 ASH GROVE"),
            ("7 Market Sq", "7 MARKET SQUARE"),
            ("8 Bury Ter", "8 BURY TERRACE"),
            ("12 St Marys Rd", "12 ST MARYS ROAD"),
            ("12 Zoë Street", "12 ZOE STREET"),
            (" , ", None),
            (None, None),
        ],
    )


def test_address_parts(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("FLAT 2 10 BANK STREET", "2", "10", "BANK STREET"),
            ("10A BANK STREET", None, "10A", "BANK STREET"),
            ("THE LODGE", None, None, "THE LODGE"),
        ],
        "a string, flat string, house string, street string",
    )
    got = df.select(
        S.address_flat(F.col("a")).alias("flat"),
        S.address_house_number(F.col("a")).alias("house"),
        S.address_street(F.col("a")).alias("street"),
        "flat",
        "house",
        "street",
    ).collect()
    assert [tuple(r)[:3] for r in got] == [tuple(r)[3:] for r in got]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("9434765919", "9434765919"),
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        ("9434765918", None),  # wrong check digit
        ("0000000000", None),  # a repeated single digit is not an identifier
        ("9990000018", None),  # the 999 test range
        ("1000000010", None),  # check digit would be 10: invalid
        ("943476591", None),
        ("94347659190", None),
        (None, None),
    ],
)
def test_nhs_number(spark: SparkSession, raw: str | None, want: str | None) -> None:
    _check(spark, S.nhs_number, [(raw, want)])


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("B801200005001", "B801200005001"),
        ("b801200005001", "B801200005001"),
        ("A801200005001", None),  # wrong check letter
        ("B80120000500", None),  # too short
        ("I801200005001", None),  # I is not in the check alphabet
    ],
)
def test_upn(spark: SparkSession, raw: str | None, want: str | None) -> None:
    _check(spark, S.upn, [(raw, want)])


def test_upn_temporary_final_letter(spark: SparkSession) -> None:
    alphabet = "ABCDEFGHJKLMNPQRTUVWXYZ"
    body = "80120000500A"  # 11 digits and a temporary letter A (value 0)
    total = sum(int(ch) * p for p, ch in zip(range(2, 13), body[:11], strict=True)) + 0 * 13
    good = alphabet[total % 23] + body
    bad = alphabet[(total + 1) % 23] + body
    _check(spark, S.upn, [(good, good), (bad, None), (good[:12] + "I", None)])


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("AB123456C", "AB123456C"),
        ("ab 12 34 56 c", "AB123456C"),
        ("AB123456", "AB123456"),  # the suffix may be missing
        ("TN123456A", None),  # temporary
        ("GB123456A", None),
        ("BG123456A", None),
        ("NK123456A", None),
        ("KN123456A", None),
        ("NT123456A", None),
        ("ZZ123456A", None),
        ("DA123456A", None),  # first letter D
        ("AO123456A", None),  # second letter O
        ("AB123456E", None),  # suffix beyond D
        ("A1234567C", None),
    ],
)
def test_nino(spark: SparkSession, raw: str | None, want: str | None) -> None:
    _check(spark, S.nino, [(raw, want)])


def test_yes_no(spark: SparkSession) -> None:
    _check(
        spark, S.yes_no, [("Y", True), ("n", False), (" Y ", True), ("maybe", None), (None, None)], "boolean"
    )


def test_census_term_end(spark: SparkSession) -> None:
    _check(
        spark,
        S.census_term_end,
        [
            ("2025AUT", date(2025, 12, 31)),
            ("2025SPR", date(2026, 3, 31)),
            ("2025sum", date(2026, 7, 31)),
            ("2025WIN", None),
            (None, None),
        ],
        "date",
    )


def test_parse_date(spark: SparkSession) -> None:
    _check(
        spark,
        S.parse_date,
        [
            ("2024-03-01", date(2024, 3, 1)),
            ("01/03/2024", date(2024, 3, 1)),
            ("1/3/2024", date(2024, 3, 1)),
            ("2024-03-01T00:00:00", date(2024, 3, 1)),
            ("2023-02-30", None),
            ("30/02/2023", None),
            ("soon", None),
            (None, None),
        ],
        "date",
    )
