"""Bronze rows of one feed → typed, standardised silver rows (pure DataFrame → DataFrame).

Grain: one row per bronze row (deduplication to the current version happens in ``build``).
Delivered values that fail a rule are nulled in their typed column and named in ``dq_issues``
(feeds.md: an invalid identifier, a date of birth after the extract date, an end date before its
start date, an optional date that is not a date); the delivered text stays in bronze.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import FEEDS, FeedSpec
from accelerator.silver import standardise as S

# End dates checked against their start dates (feeds.md "an end date before its start date").
END_DATES: dict[str, tuple[str, str]] = {
    "health_services": ("discharge_date", "referral_date"),
    "dwp_benefits": ("award_end", "award_start"),
    "childrens_social_care": ("end_date", "start_date"),
    "early_help": ("case_close_date", "case_open_date"),
    "probation": ("end_date", "start_date"),
}
IDENTIFIERS = {"nhs_number": S.nhs_number, "upn": S.upn, "nino": S.nino}

# The common person columns every person-level silver table carries (and person_record unions).
PERSON_COLUMNS = (
    "person_forename",
    "person_surname",
    "person_forename_match",
    "person_surname_match",
    "person_dob",
    "person_sex",
)


def _typed(spec: FeedSpec, name: str, raw: Column) -> tuple[Column, Column | None]:
    """(typed value, issue or null) for one delivered column."""
    col = spec.column(name)
    present = S.squish(raw).isNotNull()
    if col.kind == "date":
        v = S.parse_date(raw)
        return v, F.when(present & v.isNull(), F.lit(f"bad_date:{name}"))
    if col.kind == "int":
        v = F.when(F.trim(raw).rlike(r"^-?[0-9]{1,9}$"), F.trim(raw).cast("int"))
        return v, F.when(present & v.isNull(), F.lit(f"bad_int:{name}"))
    if col.kind == "decimal":
        v = F.regexp_replace(F.trim(raw), r"^£|,", "").cast(T.DecimalType(12, 2))
        return v, F.when(present & v.isNull(), F.lit(f"bad_decimal:{name}"))
    if col.kind == "yn":
        v = S.yes_no(raw)
        return v, F.when(present & v.isNull(), F.lit(f"bad_code:{name}"))
    if col.kind == "code" and col.codes and name not in ("sex", "gender"):
        up = F.upper(F.trim(raw))
        v = F.when(up.isin(*col.codes), up)
        return v, F.when(present & v.isNull(), F.lit(f"bad_code:{name}"))
    if col.kind == "code":
        return F.upper(F.trim(raw)), None
    return S.squish(raw), None


def standardise_feed(bronze: DataFrame, feed: str, *, authority: Column) -> DataFrame:
    """Type and standardise one feed's bronze rows (see module docstring). ``authority`` gives
    each row's authority (a column, so that one plan standardises several authorities' rows)."""
    spec = FEEDS[feed]
    issues: list[Column] = []
    out = bronze
    typed: dict[str, Column] = {}
    for name in spec.column_names:
        value, issue = _typed(spec, name, F.col(name))
        typed[name] = value
        if issue is not None:
            issues.append(issue)
    # An end date before its start date is nulled and flagged.
    if feed in END_DATES:
        end, start = END_DATES[feed]
        bad = typed[end] < typed[start]
        issues.append(F.when(bad, F.lit(f"end_before_start:{end}")))
        typed[end] = F.when(~bad | bad.isNull(), typed[end])
    # Issues so far read the delivered columns: evaluate them before the typed columns replace them.
    first_issues = F.array_compact(F.array(*issues)) if issues else F.array().cast("array<string>")
    issues = []
    out = out.select(
        authority.alias("authority"),
        F.lit(feed).alias("feed"),
        "record_key",
        *[typed[n].alias(n) for n in spec.column_names],
        "_extra",
        "_delivery_id",
        "_extract_date",
        "_source_file",
        "_line",
        "_run_id",
        *[c for c in ("_folder_seq",) if c in bronze.columns],
        first_issues.alias("__issues"),
        *[
            F.col(n).alias(f"__raw_{n}")
            for n in spec.column_names
            if n in IDENTIFIERS or n in ("postcode", "uprn")
        ],
    )
    extra_cols: list[Column] = []
    # Identifiers: the delivered value stays in its column; the valid form (or null) beside it.
    for name, rule in IDENTIFIERS.items():
        if name in spec.column_names:
            raw = F.col(f"__raw_{name}")
            valid = rule(raw)
            extra_cols += [valid.alias(f"{name}_valid")]
            issues.append(F.when(S.squish(raw).isNotNull() & valid.isNull(), F.lit(f"invalid_{name}")))
    if "postcode" in spec.column_names:
        pc = S.normalise_postcode(F.col("__raw_postcode"))
        extra_cols.append(pc.alias("postcode_norm"))
        issues.append(
            F.when(S.squish(F.col("__raw_postcode")).isNotNull() & pc.isNull(), F.lit("bad_postcode"))
        )
    if "uprn" in spec.column_names:
        u = S.normalise_uprn(F.col("__raw_uprn"))
        extra_cols.append(u.alias("uprn_norm"))
        issues.append(F.when(S.squish(F.col("__raw_uprn")).isNotNull() & u.isNull(), F.lit("bad_uprn")))
    if "address" in spec.column_names:
        a = S.normalise_address(F.col("address"))
        extra_cols += [
            a.alias("address_norm"),
            S.address_flat(a).alias("address_flat"),
            S.address_house_number(a).alias("address_house_number"),
            S.address_street(a).alias("address_street"),
        ]
    if spec.person_level:
        names = spec.person_columns
        dob = F.col(names["dob"])
        after = dob > F.col("_extract_date")
        issues.append(F.when(after, F.lit("dob_after_extract_date")))
        sex = S.sex_code(F.col(names["sex"])) if "sex" in names else F.lit(None).cast("string")
        extra_cols += [
            S.name_display(F.col(names["forename"])).alias("person_forename"),
            S.name_display(F.col(names["surname"])).alias("person_surname"),
            S.name_match(F.col(names["forename"])).alias("person_forename_match"),
            S.name_match(F.col(names["surname"])).alias("person_surname_match"),
            F.when(~after | after.isNull(), dob).alias("person_dob"),
            sex.alias("person_sex"),
        ]
    event = S.census_term_end(F.col("census_term")) if spec.event_date is None else F.col(spec.event_date)
    if spec.event_date is None:
        issues.append(F.when(event.isNull(), F.lit("bad_code:census_term")))
    issue_array = (
        F.concat(F.col("__issues"), F.array_compact(F.array(*issues))) if issues else F.col("__issues")
    )
    out = out.select(
        "*",
        *extra_cols,
        event.alias("event_date"),
        issue_array.alias("dq_issues"),
    )
    return out.drop("__issues", *[c for c in out.columns if c.startswith("__raw_")])
