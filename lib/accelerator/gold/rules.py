"""The ten headline problems of outcomes.md as named, versioned rules (a rule table).

Each rule reads one feed's current silver records of every authority, already joined to the
person (``person_id``) and the person's age at ``as_of`` (``age``), and returns evidence rows:
``person_id, feed, record_key, event_date, detail, record_authority``. A headline applies to a
family when any rule of that headline gives evidence for a member. Windows (outcomes.md):

- "in the last 12 months": ``as_of − 12 calendar months < date ≤ as_of``;
- "open at any time in the last 12 months": started on or before ``as_of`` and not ended
  before the window (end null or after ``as_of − 12 months``);
- "open at as_of": started on or before ``as_of``, end null or after ``as_of``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from accelerator.dates import add_months

HEADLINES: dict[int, str] = {
    1: "h01_education",
    2: "h02_early_years",
    3: "h03_health",
    4: "h04_substance",
    5: "h05_relationships",
    6: "h06_safeguarding",
    7: "h07_crime",
    8: "h08_domestic_abuse",
    9: "h09_housing",
    10: "h10_financial",
}
H09_STATUSES = (
    "HOMELESS_PREVENTION",
    "HOMELESS_RELIEF",
    "TEMPORARY_ACCOMMODATION",
    "NOTICE_SEEKING_POSSESSION",
    "EVICTED",
)
EVIDENCE_COLUMNS = ("person_id", "feed", "record_key", "event_date", "detail", "record_authority")


@dataclass(frozen=True)
class Window:
    as_of: date

    @property
    def start(self) -> date:
        """Exclusive start of "the last 12 months" (calendar months)."""
        return add_months(self.as_of, -12)

    def within(self, d: Column) -> Column:
        """``d`` in the last 12 months."""
        return (d > F.lit(self.start)) & (d <= F.lit(self.as_of))

    def open_in(self, start: Column, end: Column) -> Column:
        """Open at any time in the last 12 months."""
        return (start <= F.lit(self.as_of)) & (end.isNull() | (end > F.lit(self.start)))

    def open_at(self, start: Column, end: Column) -> Column:
        """Open at as_of."""
        return (start <= F.lit(self.as_of)) & (end.isNull() | (end > F.lit(self.as_of)))


@dataclass(frozen=True)
class Rule:
    rule_id: str
    headline: int
    version: int
    feed: str
    description: str
    evidence: Callable[[DataFrame, Window], DataFrame]


def _out(df: DataFrame, feed: str, event: Column, detail: Column) -> DataFrame:
    return df.select(
        "person_id",
        F.lit(feed).alias("feed"),
        "record_key",
        event.alias("event_date"),
        detail.alias("detail"),
        F.col("authority").alias("record_authority"),
    )


def _needs(needs: tuple[str, ...]) -> Callable[[DataFrame, Window], DataFrame]:
    def rule(df: DataFrame, w: Window) -> DataFrame:
        codes = F.transform(
            F.split(F.upper(F.coalesce("presenting_needs", F.lit(""))), ";"), lambda x: F.trim(x)
        )
        hit = F.arrays_overlap(codes, F.array(*[F.lit(n) for n in needs]))
        rows = df.where(w.open_at(F.col("case_open_date"), F.col("case_close_date")) & hit)
        detail = F.concat(
            F.lit("early help case open with needs "),
            F.array_join(F.array_intersect(codes, F.array(*[F.lit(n) for n in needs])), ", "),
        )
        return _out(rows, "early_help", F.col("case_open_date"), detail)

    return rule


def _referral(service: str) -> Callable[[DataFrame, Window], DataFrame]:
    def rule(df: DataFrame, w: Window) -> DataFrame:
        rows = df.where(
            (F.col("service") == service) & w.open_in(F.col("referral_date"), F.col("discharge_date"))
        )
        return _out(
            rows,
            "health_services",
            F.col("referral_date"),
            F.lit(f"{service} referral open in the last 12 months"),
        )

    return rule


def _education(df: DataFrame, w: Window) -> DataFrame:
    possible = F.col("sessions_possible")
    absent = F.coalesce(F.col("sessions_authorised_absence"), F.lit(0)) + F.coalesce(
        F.col("sessions_unauthorised_absence"), F.lit(0)
    )
    attendance = F.when(possible > 0, (possible - absent) / possible)
    low = attendance < 0.90
    suspended = F.coalesce(F.col("suspensions"), F.lit(0)) > 0
    excluded = F.coalesce(F.col("permanent_exclusion"), F.lit(False))
    rows = df.where(
        w.within(F.col("event_date")) & F.col("age").between(5, 16) & (low | suspended | excluded)
    )
    detail = F.concat_ws(
        "; ",
        F.concat(F.lit("term "), F.col("census_term")),
        F.when(low, F.concat(F.lit("attendance "), F.format_number(attendance * 100, 1), F.lit("%"))),
        F.when(suspended, F.concat(F.col("suspensions").cast("string"), F.lit(" suspension(s)"))),
        F.when(excluded, F.lit("permanent exclusion")),
    )
    return _out(rows, "school_census", F.col("event_date"), detail)


def _early_years(df: DataFrame, w: Window) -> DataFrame:
    hv = (F.col("service") == "HEALTH_VISITING") & (F.col("outcome") == "BELOW_EXPECTED") & (F.col("age") < 5)
    mat = (F.col("service") == "MATERNITY") & (F.col("outcome") == "CONCERN")
    rows = df.where((hv | mat) & w.within(F.col("referral_date")))
    detail = F.when(hv, F.lit("health visiting review below expected")).otherwise(F.lit("maternity concern"))
    return _out(rows, "health_services", F.col("referral_date"), detail)


def _safeguarding(df: DataFrame, w: Window) -> DataFrame:
    types = ("CIN", "CP", "CLA", "MISSING", "EXPLOITATION_RISK")
    rows = df.where(
        (F.col("age") < 18)
        & F.col("episode_type").isin(*types)
        & w.open_in(F.col("start_date"), F.col("end_date"))
    )
    return _out(
        rows, "childrens_social_care", F.col("start_date"), F.concat(F.col("episode_type"), F.lit(" episode"))
    )


def _police_crime(df: DataFrame, w: Window) -> DataFrame:
    incident = F.col("incident_type").isNull() | F.col("incident_type").isin("CRIME", "ASB")
    rows = df.where(F.col("role").isin("OFFENDER", "SUSPECT") & incident & w.within(F.col("incident_date")))
    detail = F.concat_ws(
        " ", F.col("role"), F.lit("in"), F.coalesce(F.col("incident_type"), F.lit("incident"))
    )
    return _out(rows, "police_incidents", F.col("incident_date"), detail)


def _youth_justice(df: DataFrame, w: Window) -> DataFrame:
    rows = df.where(w.within(F.col("outcome_date")))
    return _out(
        rows, "youth_justice", F.col("outcome_date"), F.coalesce(F.col("outcome_type"), F.lit("outcome"))
    )


def _probation(df: DataFrame, w: Window) -> DataFrame:
    rows = df.where(w.open_in(F.col("start_date"), F.col("end_date")))
    return _out(
        rows,
        "probation",
        F.col("start_date"),
        F.concat(F.coalesce(F.col("sentence_type"), F.lit("")), F.lit(" sentence open")),
    )


def _police_da(df: DataFrame, w: Window) -> DataFrame:
    rows = df.where(F.coalesce(F.col("domestic_abuse"), F.lit(False)) & w.within(F.col("incident_date")))
    return _out(
        rows,
        "police_incidents",
        F.col("incident_date"),
        F.concat(F.lit("domestic abuse incident, "), F.coalesce(F.col("role"), F.lit("role unknown"))),
    )


def _probation_da(df: DataFrame, w: Window) -> DataFrame:
    rows = df.where(
        F.coalesce(F.col("da_perpetrator"), F.lit(False)) & w.open_in(F.col("start_date"), F.col("end_date"))
    )
    return _out(rows, "probation", F.col("start_date"), F.lit("domestic abuse perpetrator on probation"))


def _case_rows(df: DataFrame, w: Window) -> DataFrame:
    """Housing rows with their case's facts: the latest status dated in the window, whether the
    window holds RENT_ARREARS. A case is (authority, case_ref); its members are everyone with a
    row on it."""
    case = ["authority", "case_ref"]
    recent = df.where(w.within(F.col("status_date")))
    latest = recent.groupBy(*case).agg(
        F.max_by("status", F.struct("status_date", "status")).alias("latest_status"),
        F.max("status_date").alias("latest_date"),
        F.max(F.when(F.col("status") == "RENT_ARREARS", F.col("status_date"))).alias("arrears_date"),
    )
    members = df.groupBy(*case, "person_id").agg(F.max_by("record_key", "status_date").alias("record_key"))
    return members.join(latest, case)


def _housing(df: DataFrame, w: Window) -> DataFrame:
    rows = _case_rows(df, w).where(F.col("latest_status").isin(*H09_STATUSES))
    detail = F.concat(F.lit("housing case latest status "), F.col("latest_status"))
    return _out(rows, "housing", F.col("latest_date"), detail)


def _arrears(df: DataFrame, w: Window) -> DataFrame:
    """The member's own RENT_ARREARS record as evidence where they have one, else their latest
    record on the case (a member joins the case through any of its rows)."""
    own = (
        df.where(w.within(F.col("status_date")) & (F.col("status") == "RENT_ARREARS"))
        .groupBy("authority", "case_ref", "person_id")
        .agg(F.max_by("record_key", "status_date").alias("arrears_key"))
    )
    rows = (
        _case_rows(df, w)
        .where(F.col("arrears_date").isNotNull())
        .join(own, ["authority", "case_ref", "person_id"], "left")
        .withColumn("record_key", F.coalesce("arrears_key", "record_key"))
    )
    return _out(rows, "housing", F.col("arrears_date"), F.lit("rent arrears on the housing case"))


def _benefits(df: DataFrame, w: Window) -> DataFrame:
    rows = df.where(
        (F.col("age") >= 18)
        & F.col("benefit").isin("UC", "ESA", "JSA")
        & (F.col("work_status") == "OUT_OF_WORK")
        & w.open_in(F.col("award_start"), F.col("award_end"))
    )
    return _out(rows, "dwp_benefits", F.col("award_start"), F.concat(F.col("benefit"), F.lit(" out of work")))


RULES: tuple[Rule, ...] = (
    Rule(
        "H01.school",
        1,
        1,
        "school_census",
        "aged 5–16, a term ending in the last 12 months with attendance below 90%, a suspension or a permanent exclusion",
        _education,
    ),
    Rule(
        "H02.early_years",
        2,
        1,
        "health_services",
        "under 5 with a health visiting review BELOW_EXPECTED, or any member with a MATERNITY CONCERN, referred in the last 12 months",
        _early_years,
    ),
    Rule(
        "H03.mental_health_referral",
        3,
        1,
        "health_services",
        "MENTAL_HEALTH referral open at any time in the last 12 months",
        _referral("MENTAL_HEALTH"),
    ),
    Rule(
        "H03.early_help_need",
        3,
        1,
        "early_help",
        "early help case open at as_of with MENTAL_HEALTH",
        _needs(("MENTAL_HEALTH",)),
    ),
    Rule(
        "H04.substance_referral",
        4,
        1,
        "health_services",
        "SUBSTANCE_MISUSE referral open at any time in the last 12 months",
        _referral("SUBSTANCE_MISUSE"),
    ),
    Rule(
        "H04.early_help_need",
        4,
        1,
        "early_help",
        "early help case open at as_of with SUBSTANCE",
        _needs(("SUBSTANCE",)),
    ),
    Rule(
        "H05.early_help_need",
        5,
        1,
        "early_help",
        "early help case open at as_of with PARENTAL_CONFLICT or YOUNG_CARER",
        _needs(("PARENTAL_CONFLICT", "YOUNG_CARER")),
    ),
    Rule(
        "H06.social_care",
        6,
        1,
        "childrens_social_care",
        "under 18 with a CIN, CP, CLA, MISSING or EXPLOITATION_RISK episode open at any time in the last 12 months",
        _safeguarding,
    ),
    Rule(
        "H07.police",
        7,
        1,
        "police_incidents",
        "OFFENDER or SUSPECT in a police incident in the last 12 months",
        _police_crime,
    ),
    Rule(
        "H07.youth_justice",
        7,
        1,
        "youth_justice",
        "a youth justice outcome in the last 12 months",
        _youth_justice,
    ),
    Rule(
        "H07.probation",
        7,
        1,
        "probation",
        "a probation sentence open at any time in the last 12 months",
        _probation,
    ),
    Rule(
        "H08.police",
        8,
        1,
        "police_incidents",
        "a domestic abuse incident (any role) in the last 12 months",
        _police_da,
    ),
    Rule(
        "H08.probation",
        8,
        1,
        "probation",
        "a domestic abuse perpetrator on probation open in the last 12 months",
        _probation_da,
    ),
    Rule(
        "H09.housing",
        9,
        1,
        "housing",
        "in a housing case whose latest status in the last 12 months is homelessness, temporary accommodation, notice seeking possession or eviction",
        _housing,
    ),
    Rule(
        "H10.benefits",
        10,
        1,
        "dwp_benefits",
        "an adult with a UC, ESA or JSA award, out of work, open at any time in the last 12 months",
        _benefits,
    ),
    Rule(
        "H10.rent_arrears",
        10,
        1,
        "housing",
        "in a housing case with RENT_ARREARS in the last 12 months",
        _arrears,
    ),
    Rule(
        "H10.early_help_need",
        10,
        1,
        "early_help",
        "early help case open at as_of with DEBT or NEET",
        _needs(("DEBT", "NEET")),
    ),
)
