"""The retention schedule (custodianship.md "Retention"): the policy, parsed from YAML into a
typed model, and the rule that says which records of a feed are due.

The default schedule is ``retention.yaml`` in this package (found with ``importlib.resources``, so
an installed wheel has it), kept identical to ``infra/retention.yaml`` (a test compares them).
Every error of a schedule is reported at once, each with its path (``feeds.housing: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    create_model,
    field_validator,
)
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from accelerator.feeds import FEEDS

# Where each feed's retention clock starts: (column of the silver table, columns whose group shares
# the latest value, or () for the record alone). A null clock (an open case) is never due.
CLOCK: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "police_incidents": ("incident_date", ()),
    "school_census": ("event_date", ()),
    "health_services": ("discharge_date", ()),
    "dwp_benefits": ("award_end", ()),
    "housing": ("status_date", ("case_ref",)),
    "childrens_social_care": ("end_date", ()),
    "early_help": ("case_close_date", ()),
    "youth_justice": ("outcome_date", ()),
    "probation": ("end_date", ()),
    "fire_rescue": ("visit_date", ()),
}


class RetentionConfigError(ValueError):
    pass


# One optional field per feed: an unknown feed and a bad period are both reported, with their path.
FeedYears: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "FeedYears",
    __config__=ConfigDict(extra="forbid", frozen=True),
    **{f: (NonNegativeInt | None, None) for f in FEEDS},
)


class RetentionPolicy(BaseModel):
    """Retention periods in whole years per feed, and the children's rule (the schedule's YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_years: NonNegativeInt = 6
    child_under: NonNegativeInt = 18
    child_until_age: NonNegativeInt = 25
    feeds: dict[str, int] = Field(default_factory=dict)

    @field_validator("feeds", mode="before")
    @classmethod
    def _per_feed(cls, v: object) -> dict[str, int]:
        if v is None:
            return {}
        parsed = FeedYears.model_validate(v)
        return {k: int(x) for k, x in parsed.model_dump().items() if x is not None}

    def years(self, feed: str) -> int:
        return int(self.feeds.get(feed, self.default_years))

    def describe(self) -> str:
        per_feed = ", ".join(f"{f} {self.years(f)}y" for f in FEEDS)
        return (
            f"per feed from close date (else event date): {per_feed}; children's records "
            f"(under {self.child_under} at the event) not before their {self.child_until_age}th birthday"
        )


def default_schedule() -> str:
    """The schedule shipped with the package (``accelerator/governance/retention.yaml``)."""
    return resources.files("accelerator.governance").joinpath("retention.yaml").read_text(encoding="utf-8")


def parse_policy(text: str, *, source: str) -> RetentionPolicy:
    """A schedule from YAML text; every error is reported with its path in one message."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise RetentionConfigError(f"{source}: not YAML: {e}") from None
    if not isinstance(data, dict):
        raise RetentionConfigError(f"{source}: expected a mapping of retention settings")
    try:
        return RetentionPolicy.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()
        )
        raise RetentionConfigError(f"{source}: {problems}") from None


def load_policy(path: str | Path | None = None) -> RetentionPolicy:
    """The retention schedule from a YAML file, or the packaged default."""
    if path is None:
        return parse_policy(default_schedule(), source="accelerator/governance/retention.yaml")
    return parse_policy(Path(path).read_text(encoding="utf-8"), source=str(path))


def due_records(records: DataFrame, feed: str, policy: RetentionPolicy, *, as_of: date) -> DataFrame:
    """The records of one feed's silver table that are due on ``as_of``. Reads ``record_key``,
    the clock column, ``event_date`` and ``dob`` (the person's date of birth, null if unknown).
    Grain: one row per due record_key, with ``clock_date``, ``due_date`` and ``rule``."""
    column, group = CLOCK[feed]
    clock = F.col(column)
    if group:
        clock = F.max(clock).over(Window.partitionBy(*group))
    months = 12 * policy.years(feed)
    child = F.col("dob").isNotNull() & (
        F.add_months(F.col("dob"), 12 * policy.child_under) > F.col("event_date")
    )
    by_period = F.add_months(F.col("clock_date"), months)
    birthday = F.add_months(F.col("dob"), 12 * policy.child_until_age)
    due = F.when(child & (birthday > by_period), birthday).otherwise(by_period)
    rule = F.when(
        child & (birthday > by_period),
        F.lit(f"{feed}: child's record, {policy.child_until_age}th birthday"),
    ).otherwise(F.lit(f"{feed}: {policy.years(feed)} years after {column}"))
    return (
        records.withColumn("clock_date", clock)
        .where(F.col("clock_date").isNotNull())
        .withColumn("due_date", due)
        .where(F.col("due_date") <= F.lit(as_of))
        .select("record_key", "clock_date", "due_date", rule.alias("rule"))
    )
