"""Bronze rows of one feed → typed, standardised silver rows (pure DataFrame → DataFrame).

Grain: one row per bronze row (deduplication to the current version happens in ``build``).
Delivered values that fail a rule are nulled in their typed column and named in ``dq_issues``
(feeds.md: an invalid identifier, a date of birth after the extract date, an end date before its
start date, an optional date that is not a date); the delivered text stays in bronze.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
# Delivered columns cleaned beside their delivered value: the rule, and the issue a delivered value
# that has no cleaned form raises. Identifiers keep the delivered value in their column and add
# ``<name>_valid``; locations add ``<name>_norm``.
IDENTIFIERS = {
    "nhs_number": (S.nhs_number, "invalid_nhs_number"),
    "upn": (S.upn, "invalid_upn"),
    "nino": (S.nino, "invalid_nino"),
}
LOCATIONS = {"postcode": (S.normalise_postcode, "bad_postcode"), "uprn": (S.normalise_uprn, "bad_uprn")}

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


Derived = tuple[list[Column], list[Column]]
"""Columns a rule adds to a feed's rows, and the issues (a name, or null) each row can raise."""


def _typed_columns(spec: FeedSpec, feed: str) -> tuple[dict[str, Column], list[Column]]:
    """Each delivered column typed (``_typed``), and the issues typing raises. An end date before
    its start date is nulled and flagged."""
    typed: dict[str, Column] = {}
    issues: list[Column] = []
    for name in spec.column_names:
        typed[name], issue = _typed(spec, name, F.col(name))
        if issue is not None:
            issues.append(issue)
    if feed in END_DATES:
        end, start = END_DATES[feed]
        bad = typed[end] < typed[start]
        issues.append(F.when(bad, F.lit(f"end_before_start:{end}")))
        typed[end] = F.when(~bad | bad.isNull(), typed[end])
    return typed, issues


def _raw(name: str) -> Column:
    """The delivered value of ``name``, kept beside its typed column while standardising."""
    return F.col(f"__raw_{name}")


def _cleaned(
    spec: FeedSpec, rules: Mapping[str, tuple[Callable[[Column], Column], str]], suffix: str
) -> Derived:
    """Each of ``rules``' columns the feed has, cleaned from its delivered value into
    ``<name>_<suffix>`` (null when it has no cleaned form); flagged when delivered but not cleaned."""
    cols, issues = [], []
    for name, (rule, code) in rules.items():
        if name in spec.column_names:
            value = rule(_raw(name))
            cols.append(value.alias(f"{name}_{suffix}"))
            issues.append(F.when(S.squish(_raw(name)).isNotNull() & value.isNull(), F.lit(code)))
    return cols, issues


def _identifier_columns(spec: FeedSpec) -> Derived:
    """Identifiers: the delivered value stays in its column; the valid form (or null) beside it."""
    return _cleaned(spec, IDENTIFIERS, "valid")


def _location_columns(spec: FeedSpec) -> Derived:
    """Postcode and UPRN normalised (flagged when delivered but not valid), the address split."""
    cols, issues = _cleaned(spec, LOCATIONS, "norm")
    if "address" in spec.column_names:
        a = S.normalise_address(F.col("address"))
        cols += [
            a.alias("address_norm"),
            S.address_flat(a).alias("address_flat"),
            S.address_house_number(a).alias("address_house_number"),
            S.address_street(a).alias("address_street"),
        ]
    return cols, issues


def _person_columns(spec: FeedSpec) -> Derived:
    """The common person columns (``PERSON_COLUMNS``) of a person-level feed; a date of birth
    after the extract date is nulled and flagged."""
    if not spec.person_level:
        return [], []
    names = spec.person_columns
    dob = F.col(names["dob"])
    after = dob > F.col("_extract_date")
    sex = S.sex_code(F.col(names["sex"])) if "sex" in names else F.lit(None).cast("string")
    cols = [
        S.name_display(F.col(names["forename"])).alias("person_forename"),
        S.name_display(F.col(names["surname"])).alias("person_surname"),
        S.name_match(F.col(names["forename"])).alias("person_forename_match"),
        S.name_match(F.col(names["surname"])).alias("person_surname_match"),
        F.when(~after | after.isNull(), dob).alias("person_dob"),
        sex.alias("person_sex"),
    ]
    return cols, [F.when(after, F.lit("dob_after_extract_date"))]


def _event_date(spec: FeedSpec) -> Derived:
    """``event_date``: the feed's event date column, or for the school census the end of the
    census term (flagged when the term is not one)."""
    if spec.event_date is not None:
        return [F.col(spec.event_date).alias("event_date")], []
    event = S.census_term_end(F.col("census_term"))
    return [event.alias("event_date")], [F.when(event.isNull(), F.lit("bad_code:census_term"))]


def _issue_list(issues: list[Column]) -> Column:
    """The names of the issues a row raised (nulls left out), in rule order."""
    return F.array_compact(F.array(*issues)) if issues else F.array().cast("array<string>")


def standardise_feed(bronze: DataFrame, feed: str, *, authority: Column) -> DataFrame:
    """Type and standardise one feed's bronze rows (see module docstring). ``authority`` gives
    each row's authority (a column, so that one plan standardises several authorities' rows).

    Two selects: the typed columns replace the delivered ones (whose issues are read first, with
    the delivered values of identifiers and locations kept aside), then each rule's columns are
    added from them, and every issue is listed in ``dq_issues``."""
    spec = FEEDS[feed]
    typed, typing_issues = _typed_columns(spec, feed)
    kept_raw = [n for n in spec.column_names if n in IDENTIFIERS or n in LOCATIONS]
    out = bronze.select(
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
        _issue_list(typing_issues).alias("__issues"),
        *[F.col(n).alias(f"__raw_{n}") for n in kept_raw],
    )
    rules = (_identifier_columns(spec), _location_columns(spec), _person_columns(spec), _event_date(spec))
    columns = [c for cols, _ in rules for c in cols]
    issues = [i for _, found in rules for i in found]
    listed = F.concat(F.col("__issues"), _issue_list(issues)) if issues else F.col("__issues")
    out = out.select("*", *columns, listed.alias("dq_issues"))
    return out.drop("__issues", *[f"__raw_{n}" for n in kept_raw])
