"""The ten headline rules (outcomes.md) at the edges of their windows, on inline silver rows.

Every rule reads one feed's silver rows joined to ``person_id`` and ``age``; these tests give
each rule only the columns it reads and check which records raise evidence. ``as_of`` is
2026-11-30, so "the last 12 months" is (2025-11-30, 2026-11-30].
"""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from accelerator.gold.build import age_at
from accelerator.gold.rules import EVIDENCE_COLUMNS, HEADLINES, RULES, Window

AS_OF = date(2026, 11, 30)
BY_ID = {r.rule_id: r for r in RULES}
D = date.fromisoformat
COMMON = "authority string, record_key string, person_id string, age int"


def hits(spark: SparkSession, rule_id: str, ddl: str, rows: list[tuple], as_of: date = AS_OF) -> set[str]:
    """record_keys of the rows for which the rule raises evidence."""
    df = spark.createDataFrame(rows, f"{COMMON}, {ddl}")
    out = BY_ID[rule_id].evidence(df, Window(as_of))
    assert tuple(out.columns) == EVIDENCE_COLUMNS
    return {r.record_key for r in out.collect()}


def row(key: str, *values: object, age: int = 30, authority: str = "bury") -> tuple:
    return (authority, key, f"p-{key}", age, *values)


def test_rules_cover_every_headline_once_named_and_versioned() -> None:
    assert {r.headline for r in RULES} == set(HEADLINES)
    assert len({r.rule_id for r in RULES}) == len(RULES)
    assert all(r.version >= 1 and r.description for r in RULES)


def test_window_last_12_months_is_calendar_months_open_at_start_closed_at_end(spark: SparkSession) -> None:
    w = Window(AS_OF)
    df = spark.createDataFrame(
        [
            (D("2025-11-30"), False),
            (D("2025-12-01"), True),
            (D("2026-11-30"), True),
            (D("2026-12-01"), False),
        ],
        "d date, want boolean",
    )
    assert [r.got == r.want for r in df.select(w.within(F.col("d")).alias("got"), "want").collect()] == [
        True
    ] * 4


def test_window_start_clamps_to_month_length() -> None:
    assert Window(date(2024, 2, 29)).start == date(2023, 2, 28)
    assert Window(date(2026, 3, 31)).start == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("start", "end", "open_in", "open_at"),
    [
        ("2026-11-30", None, True, True),  # starts on as_of
        ("2026-12-01", None, False, False),  # starts after as_of
        ("2020-01-01", "2025-11-30", False, False),  # ended on the window's (exclusive) start
        ("2020-01-01", "2025-12-01", True, False),  # ended inside the window
        ("2020-01-01", "2026-11-30", True, False),  # ended on as_of: not open at as_of
        ("2020-01-01", "2026-12-01", True, True),  # ends after as_of
    ],
)
def test_window_open_in_and_open_at_edges(
    spark: SparkSession, start: str, end: str | None, open_in: bool, open_at: bool
) -> None:
    w = Window(AS_OF)
    df = spark.createDataFrame([(D(start), D(end) if end else None)], "s date, e date")
    got = df.select(
        w.open_in(F.col("s"), F.col("e")).alias("i"), w.open_at(F.col("s"), F.col("e")).alias("a")
    ).first()
    assert got is not None
    assert (got.i, got.a) == (open_in, open_at)


def _age(c: Column) -> Column:
    return age_at(c, F.lit(AS_OF))


@pytest.mark.parametrize(
    ("dob", "age"),
    [("2010-11-30", 16), ("2010-12-01", 15), ("2008-02-29", 18), ("2021-12-01", 4)],
)
def test_age_at_counts_whole_years_birthday_on_as_of_counts(spark: SparkSession, dob: str, age: int) -> None:
    got = spark.createDataFrame([(D(dob),)], "dob date").select(_age(F.col("dob")).alias("a")).first()
    assert got is not None and got.a == age


SCHOOL = (
    "census_term string, event_date date, sessions_possible int, sessions_authorised_absence int, "
    "sessions_unauthorised_absence int, suspensions int, permanent_exclusion boolean"
)


def test_h01_attendance_below_90_percent_for_ages_5_to_16(spark: SparkSession) -> None:
    t = ("2026SPR", D("2026-03-31"))
    got = hits(
        spark,
        "H01.school",
        SCHOOL,
        [
            row("low", *t, 100, 5, 6, 0, False, age=10),  # 89% attendance
            row("ninety", *t, 100, 5, 5, 0, False, age=10),  # exactly 90%: not below
            row("age4", *t, 100, 20, 0, 0, False, age=4),
            row("age5", *t, 100, 20, 0, 0, False, age=5),
            row("age16", *t, 100, 20, 0, 0, False, age=16),
            row("age17", *t, 100, 20, 0, 0, False, age=17),
            row("no_sessions", *t, 0, 0, 0, 0, False, age=10),
        ],
    )
    assert got == {"low", "age5", "age16"}


def test_h01_suspension_or_exclusion_in_a_term_ending_in_the_window(spark: SparkSession) -> None:
    got = hits(
        spark,
        "H01.school",
        SCHOOL,
        [
            row("susp", "2026SPR", D("2026-03-31"), 100, 0, 0, 1, False, age=12),
            row("excl", "2026SUM", D("2026-07-31"), 100, 0, 0, 0, True, age=12),
            row("term_before", "2024SUM", D("2025-07-31"), 100, 0, 0, 3, True, age=12),
            row("term_after", "2026AUT", D("2026-12-31"), 100, 0, 0, 3, True, age=12),
        ],
    )
    assert got == {"susp", "excl"}


HEALTH = "service string, referral_date date, discharge_date date, outcome string"


def test_h02_health_visiting_below_expected_under_5_and_maternity_concern_any_age(
    spark: SparkSession,
) -> None:
    got = hits(
        spark,
        "H02.early_years",
        HEALTH,
        [
            row("hv4", "HEALTH_VISITING", D("2026-05-01"), None, "BELOW_EXPECTED", age=4),
            row("hv5", "HEALTH_VISITING", D("2026-05-01"), None, "BELOW_EXPECTED", age=5),
            row("hv_ok", "HEALTH_VISITING", D("2026-05-01"), None, "ON_TRACK", age=2),
            row("mat", "MATERNITY", D("2025-12-01"), None, "CONCERN", age=31),
            row("mat_old", "MATERNITY", D("2025-11-30"), None, "CONCERN", age=31),
            row("mat_ok", "MATERNITY", D("2026-05-01"), None, "NO_CONCERN", age=31),
        ],
    )
    assert got == {"hv4", "mat"}


@pytest.mark.parametrize(
    ("rule_id", "service"),
    [("H03.mental_health_referral", "MENTAL_HEALTH"), ("H04.substance_referral", "SUBSTANCE_MISUSE")],
)
def test_h03_h04_referral_open_at_any_time_in_the_window(
    spark: SparkSession, rule_id: str, service: str
) -> None:
    got = hits(
        spark,
        rule_id,
        HEALTH,
        [
            row("open", service, D("2019-01-01"), None, None),
            row("ended_in", service, D("2019-01-01"), D("2025-12-01"), None),
            row("ended_before", service, D("2019-01-01"), D("2025-11-30"), None),
            row("future", service, D("2026-12-01"), None, None),
            row("other", "AE_ATTENDANCE", D("2026-06-01"), None, None),
        ],
    )
    assert got == {"open", "ended_in"}


EARLY_HELP = "case_open_date date, case_close_date date, presenting_needs string"


@pytest.mark.parametrize(
    ("rule_id", "needs", "other"),
    [
        ("H03.early_help_need", "MENTAL_HEALTH", "DEBT"),
        ("H04.early_help_need", "SUBSTANCE", "NEET"),
        ("H05.early_help_need", "YOUNG_CARER", "HOUSING"),
        ("H05.early_help_need", "PARENTAL_CONFLICT", "SUBSTANCE"),
        ("H10.early_help_need", "NEET", "ATTENDANCE"),
        ("H10.early_help_need", "DEBT", "MENTAL_HEALTH"),
    ],
)
def test_early_help_needs_in_a_case_open_at_as_of(
    spark: SparkSession, rule_id: str, needs: str, other: str
) -> None:
    got = hits(
        spark,
        rule_id,
        EARLY_HELP,
        [
            row("open", D("2026-01-01"), None, f"{other};{needs}"),
            row("spaced_lower", D("2026-01-01"), D("2026-12-01"), f" {other.lower()} ; {needs.lower()} "),
            row("closed_on_as_of", D("2026-01-01"), D("2026-11-30"), needs),
            row("opens_later", D("2026-12-01"), None, needs),
            row("other_need", D("2026-01-01"), None, other),
            row("no_needs", D("2026-01-01"), None, None),
        ],
    )
    assert got == {"open", "spaced_lower"}


CSC = "episode_type string, start_date date, end_date date"


def test_h06_child_episode_open_in_the_window(spark: SparkSession) -> None:
    got = hits(
        spark,
        "H06.social_care",
        CSC,
        [
            row("cp", "CP", D("2026-02-01"), None, age=9),
            row("cla_ended_in", "CLA", D("2024-01-01"), D("2025-12-01"), age=9),
            row("cin_ended_before", "CIN", D("2024-01-01"), D("2025-11-30"), age=9),
            row("missing17", "MISSING", D("2026-02-01"), None, age=17),
            row("adult18", "EXPLOITATION_RISK", D("2026-02-01"), None, age=18),
            row("unknown_age", "CP", D("2026-02-01"), None, age=None),  # type: ignore[arg-type]
        ],
    )
    assert got == {"cp", "cla_ended_in", "missing17"}


POLICE = "role string, incident_type string, incident_date date, domestic_abuse boolean"


def test_h07_offender_or_suspect_in_the_window(spark: SparkSession) -> None:
    got = hits(
        spark,
        "H07.police",
        POLICE,
        [
            row("off", "OFFENDER", "CRIME", D("2026-11-30"), False),
            row("sus_asb", "SUSPECT", "ASB", D("2025-12-01"), False),
            row("victim", "VICTIM", "CRIME", D("2026-06-01"), True),
            row("witness", "WITNESS", "CRIME", D("2026-06-01"), False),
            row("old", "OFFENDER", "CRIME", D("2025-11-30"), False),
        ],
    )
    assert got == {"off", "sus_asb"}


def test_h07_youth_justice_outcome_and_probation_open(spark: SparkSession) -> None:
    yj = hits(
        spark,
        "H07.youth_justice",
        "outcome_type string, outcome_date date",
        [row("in", "REFERRAL_ORDER", D("2026-01-15")), row("out", "YRO", D("2025-11-30"))],
    )
    pr = hits(
        spark,
        "H07.probation",
        "sentence_type string, start_date date, end_date date",
        [
            row("open", "COMMUNITY", D("2024-01-01"), None),
            row("ended_in", "LICENCE", D("2020-01-01"), D("2026-01-01")),
            row("ended_before", "CUSTODY", D("2020-01-01"), D("2025-11-30")),
        ],
    )
    assert (yj, pr) == ({"in"}, {"open", "ended_in"})


def test_h08_domestic_abuse_incident_any_role_and_perpetrator_on_probation(spark: SparkSession) -> None:
    police = hits(
        spark,
        "H08.police",
        POLICE,
        [
            row("victim", "VICTIM", "CRIME", D("2026-06-01"), True),
            row("witness", "WITNESS", None, D("2025-12-01"), True),
            row("not_da", "OFFENDER", "CRIME", D("2026-06-01"), False),
            row("da_null", "OFFENDER", "CRIME", D("2026-06-01"), None),
            row("old", "VICTIM", "CRIME", D("2025-11-30"), True),
        ],
    )
    probation = hits(
        spark,
        "H08.probation",
        "start_date date, end_date date, da_perpetrator boolean",
        [
            row("perp", D("2024-01-01"), None, True),
            row("not_perp", D("2024-01-01"), None, False),
            row("ended_before", D("2020-01-01"), D("2025-11-30"), True),
        ],
    )
    assert (police, probation) == ({"victim", "witness"}, {"perp"})


HOUSING = "case_ref string, status string, status_date date"


def test_h09_latest_status_in_the_window_decides_for_every_member(spark: SparkSession) -> None:
    got = hits(
        spark,
        "H09.housing",
        HOUSING,
        [
            # case A: homeless then temporary accommodation; both members flagged
            ("bury", "A|2026-01-01|1", "lead-a", 30, "A", "HOMELESS_RELIEF", D("2026-01-01")),
            ("bury", "A|2026-03-01|1", "lead-a", 30, "A", "TEMPORARY_ACCOMMODATION", D("2026-03-01")),
            ("bury", "A|2026-03-01|2", "child-a", 6, "A", "TEMPORARY_ACCOMMODATION", D("2026-03-01")),
            # case B: evicted, then settled: the latest status is SETTLED
            ("bury", "B|2026-02-01|1", "lead-b", 30, "B", "EVICTED", D("2026-02-01")),
            ("bury", "B|2026-05-01|1", "lead-b", 30, "B", "SETTLED", D("2026-05-01")),
            # case C: homeless before the window, nothing since
            ("bury", "C|2025-11-30|1", "lead-c", 30, "C", "HOMELESS_PREVENTION", D("2025-11-30")),
            # case D: settled before the window, notice seeking possession inside it
            ("bury", "D|2025-06-01|1", "lead-d", 30, "D", "SETTLED", D("2025-06-01")),
            ("bury", "D|2026-11-30|1", "lead-d", 30, "D", "NOTICE_SEEKING_POSSESSION", D("2026-11-30")),
            # same case_ref at another authority is another case
            ("wigan", "A|2026-06-01|1", "lead-w", 30, "A", "SETTLED", D("2026-06-01")),
        ],
    )
    assert got == {"A|2026-03-01|1", "A|2026-03-01|2", "D|2026-11-30|1"}


def test_h10_rent_arrears_in_the_window_and_out_of_work_benefits_for_adults(spark: SparkSession) -> None:
    arrears = hits(
        spark,
        "H10.rent_arrears",
        HOUSING,
        [
            ("bury", "A|2026-04-01|1", "lead-a", 30, "A", "RENT_ARREARS", D("2026-04-01")),
            ("bury", "A|2026-08-01|1", "lead-a", 30, "A", "SETTLED", D("2026-08-01")),
            ("bury", "A|2026-08-01|2", "partner-a", 30, "A", "SETTLED", D("2026-08-01")),
            ("bury", "B|2025-11-30|1", "lead-b", 30, "B", "RENT_ARREARS", D("2025-11-30")),
        ],
    )
    benefits = hits(
        spark,
        "H10.benefits",
        "benefit string, work_status string, award_start date, award_end date",
        [
            row("uc", "UC", "OUT_OF_WORK", D("2024-01-01"), None, age=18),
            row("jsa_ended_in", "JSA", "OUT_OF_WORK", D("2024-01-01"), D("2025-12-01")),
            row("esa_ended_before", "ESA", "OUT_OF_WORK", D("2024-01-01"), D("2025-11-30")),
            row("in_work", "UC", "IN_WORK", D("2024-01-01"), None),
            row("pip", "PIP", "OUT_OF_WORK", D("2024-01-01"), None),
            row("child", "UC", "OUT_OF_WORK", D("2024-01-01"), None, age=17),
        ],
    )
    # the lead's evidence is the arrears record itself; the partner joined the case later
    assert (arrears, benefits) == ({"A|2026-04-01|1", "A|2026-08-01|2"}, {"uc", "jsa_ended_in"})
