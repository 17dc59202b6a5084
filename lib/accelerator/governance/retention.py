"""Retention (custodianship.md): destroy every record whose retention period has run out.

Per feed a period in years (``infra/retention.yaml``; defaults from custodianship.md: 6 years), on a
clock that starts at the record's close date where its feed has one (discharge, award end, episode
or sentence end, early help case closure; an open record is never due), else at its event date. A
housing case's rows share the clock of the case's latest status (the last involvement). A child's
record (the person under 18 on the event date) is never due before their 25th birthday; the date of
birth is the record's own, else the one most of the person's records give.

A record that is due goes from every layer: all its bronze versions, silver, ``person_record``,
``person_xref``, ``person_links`` and the linkage report's borderline pairs, families of people left
with no record, and gold (rebuilt).
Quarantined lines (rejected on delivery, never a record) are due on the feed's period counted from
their delivery's extract date. The history of every table touched is vacuumed and its log compacted
(``rights.purge_histories``). One audit row says what was destroyed (counts per table), when and
under which rule; never the destroyed content. ``plan_retention`` alone is the dry run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance.rights import (
    REWRITTEN_BY_RUNS,
    action_run_id,
    overwrite_without,
    purge_histories,
    rebuild_gold,
    rel,
    write_audit,
)
from accelerator.io.delta import is_delta
from accelerator.io.lake import Lake, join
from accelerator.silver.build import silver_tables

GOLD_TABLES = ("family", "family_member", "headline_evidence", "child_timeline")
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "infra" / "retention.yaml"

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


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention periods in whole years per feed, and the children's rule."""

    default_years: int = 6
    child_under: int = 18
    child_until_age: int = 25
    feeds: Mapping[str, int] = field(default_factory=dict)

    def years(self, feed: str) -> int:
        return int(self.feeds.get(feed, self.default_years))

    def describe(self) -> str:
        per_feed = ", ".join(f"{f} {self.years(f)}y" for f in FEEDS)
        return (
            f"per feed from close date (else event date): {per_feed}; children's records "
            f"(under {self.child_under} at the event) not before their {self.child_until_age}th birthday"
        )


def load_policy(path: str | Path | None = None) -> RetentionPolicy:
    """The retention schedule from YAML (``infra/retention.yaml`` by default)."""
    data: dict[str, Any] = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text(encoding="utf-8")) or {}
    feeds = data.pop("feeds", None) or {}
    unknown = set(feeds) - set(FEEDS)
    if unknown:
        raise RetentionConfigError(f"unknown feeds in the retention config: {sorted(unknown)}")
    extra = set(data) - {"default_years", "child_under", "child_until_age"}
    if extra:
        raise RetentionConfigError(f"unknown retention settings: {sorted(extra)}")
    values = {k: int(v) for k, v in data.items()}
    years = {k: int(v) for k, v in feeds.items()}
    if any(v < 0 for v in [*values.values(), *years.values()]):
        raise RetentionConfigError("retention periods and ages must not be negative")
    return RetentionPolicy(**values, feeds=years)


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


@dataclass
class RetentionPlan:
    """What is due on ``as_of``: records per (authority, feed) and quarantined lines per authority."""

    as_of: date
    policy: RetentionPolicy
    records: pd.DataFrame  # authority, feed, record_key, clock_date, due_date, rule
    quarantine: pd.DataFrame  # authority, feed, delivery_id, source_file, line_number, due_date

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (a, f), n in self.records.groupby(["authority", "feed"]).size().items():
            out[f"{a}/{f}"] = int(n)
        for a, n in self.quarantine.groupby("authority").size().items():
            out[f"{a}/_quarantine"] = int(n)
        return out


def _person_dob(spark: SparkSession, lake: Lake) -> DataFrame | None:
    """(authority, feed, record_key, person_dob_any): the dob most of the person's records give."""
    pr, xref = lake.platform("person_record"), lake.platform("person_xref")
    if not (is_delta(spark, pr) and is_delta(spark, xref)):
        return None
    key = ["authority", "feed", "record_key"]
    joined = (
        spark.read.format("delta")
        .load(pr)
        .select(*key, "person_dob")
        .join(spark.read.format("delta").load(xref).select(*key, "person_id"), key)
    )
    counts = joined.where(F.col("person_dob").isNotNull()).groupBy("person_id", "person_dob").count()
    w = Window.partitionBy("person_id").orderBy(F.col("count").desc(), F.col("person_dob").desc())
    dob = (
        counts.withColumn("rn", F.row_number().over(w))
        .where("rn = 1")
        .select("person_id", F.col("person_dob").alias("person_dob_any"))
    )
    return joined.select(*key, "person_id").join(dob, "person_id", "left").drop("person_id")


def plan_retention(
    spark: SparkSession, lake_root: str, policy: RetentionPolicy, *, as_of: date
) -> RetentionPlan:
    """The dry run: everything due on ``as_of``, changing nothing."""
    lake = Lake(lake_root)
    dobs = _person_dob(spark, lake)
    frames: list[pd.DataFrame] = []
    for authority, feed, df in silver_tables(spark, lake, AUTHORITIES, FEEDS):
        if FEEDS[feed].person_level:
            if dobs is not None:
                df = df.join(dobs, ["authority", "feed", "record_key"], "left")
            else:
                df = df.withColumn("person_dob_any", F.lit(None).cast("date"))
            df = df.withColumn("dob", F.coalesce("person_dob", "person_dob_any"))
        else:
            df = df.withColumn("dob", F.lit(None).cast("date"))
        due: pd.DataFrame = due_records(df, feed, policy, as_of=as_of).toPandas()
        if len(due):
            due.insert(0, "feed", feed)
            due.insert(0, "authority", authority)
            frames.append(due)
    cols = ["authority", "feed", "record_key", "clock_date", "due_date", "rule"]
    records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    quarantine = _due_quarantine(spark, lake, policy, as_of=as_of)
    return RetentionPlan(as_of, policy, records[cols], quarantine)


def _due_quarantine(spark: SparkSession, lake: Lake, policy: RetentionPolicy, *, as_of: date) -> pd.DataFrame:
    cols = ["authority", "feed", "delivery_id", "source_file", "line_number", "due_date"]
    if not is_delta(spark, lake.delivery_log):
        return pd.DataFrame(columns=cols)
    extract = (
        spark.read.format("delta")
        .load(lake.delivery_log)
        .groupBy("delivery_id")
        .agg(F.max("extract_date").alias("extract_date"))
    )
    months = F.create_map(*[x for f in FEEDS for x in (F.lit(f), F.lit(12 * policy.years(f)))])
    months_of = F.coalesce(months[F.col("feed")], F.lit(12 * policy.default_years))
    frames = []
    for authority in AUTHORITIES:
        path = lake.quarantine(authority)
        if not is_delta(spark, path):
            continue
        q = (
            spark.read.format("delta")
            .load(path)
            .join(extract, "delivery_id", "left")
            .withColumn(
                "due_date",
                F.add_months(F.col("extract_date"), months_of),
            )
            .where(F.col("due_date") <= F.lit(as_of))
            .select(F.lit(authority).alias("authority"), *cols[1:])
        )
        pdf: pd.DataFrame = q.toPandas()
        if len(pdf):
            frames.append(pdf)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


@dataclass
class RetentionResult:
    plan: RetentionPlan
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    gold_as_of: date | None = None
    run_id: str = ""


def apply_retention(
    spark: SparkSession,
    lake_root: str,
    policy: RetentionPolicy,
    *,
    as_of: date,
    now: datetime,
    actor: str,
    plan: RetentionPlan | None = None,
) -> RetentionResult:
    """Destroy everything ``plan_retention`` finds due, in every layer and its history; audit it."""
    lake = Lake(lake_root)
    plan = plan or plan_retention(spark, lake_root, policy, as_of=as_of)
    run_id = action_run_id("RETENTION", now, as_of.isoformat())
    result = RetentionResult(plan, run_id=run_id)
    touched: set[str] = set()

    def drop(path: str, keys: pd.DataFrame, on: list[str], schema: str) -> None:
        if keys.empty or not is_delta(spark, path):
            return
        kdf = spark.createDataFrame(keys[on].drop_duplicates(), schema)
        table = spark.read.format("delta").load(path)
        n = table.join(F.broadcast(kdf), on, "left_semi").count()
        if n:
            overwrite_without(spark, path, kdf, on)
            result.counts[rel(lake_root, path)] = result.counts.get(rel(lake_root, path), 0) + n
            touched.add(path)

    recs = plan.records
    for (authority, feed), grp in recs.groupby(["authority", "feed"]):
        keys = grp[["record_key"]]
        drop(lake.bronze(str(authority), str(feed)), keys, ["record_key"], "record_key string")
        drop(lake.silver(str(authority), str(feed)), keys, ["record_key"], "record_key string")
    person = recs[recs["feed"].isin([f for f, s in FEEDS.items() if s.person_level])]
    key3 = ["authority", "feed", "record_key"]
    schema3 = "authority string, feed string, record_key string"
    drop(lake.platform("person_record"), person, key3, schema3)
    drop(lake.platform("person_xref"), person, key3, schema3)
    if not person.empty:
        nodes = pd.DataFrame({"node": ["|".join(k) for k in person[key3].itertuples(index=False)]})
        for table in ("person_links", "linkage_report"):  # the report's borderline pairs
            for side in ("unique_id_l", "unique_id_r"):
                drop(
                    lake.platform(table),
                    nodes.rename(columns={"node": side}),
                    [side],
                    f"{side} string",
                )
    qcols = ["delivery_id", "source_file", "line_number"]
    for authority, grp in plan.quarantine.groupby("authority"):
        drop(
            lake.quarantine(str(authority)),
            grp.astype({"line_number": int}),
            qcols,
            "delivery_id string, source_file string, line_number int",
        )
    # People left with no record at all leave the families too.
    fam, xref = lake.platform("family_member"), lake.platform("person_xref")
    if not person.empty and is_delta(spark, fam) and is_delta(spark, xref):
        live = spark.read.format("delta").load(xref).select("person_id").distinct()
        gone: pd.DataFrame = (
            spark.read.format("delta")
            .load(fam)
            .select("person_id")
            .distinct()
            .join(live, "person_id", "left_anti")
        ).toPandas()
        drop(fam, gone, ["person_id"], "person_id string")
    if touched:
        result.gold_as_of = rebuild_gold(spark, lake_root, now=now, run_id=run_id)
        gold = join(lake_root, "gold")
        purge = set(touched) | {lake.platform(t) for t in REWRITTEN_BY_RUNS}
        purge |= {
            join(gold, a, t)
            for a in AUTHORITIES
            for t in ("family", "family_member", "headline_evidence", "child_timeline")
        }
        result.files_removed = purge_histories(spark, [p for p in purge if is_delta(spark, p)])
    write_audit(
        spark,
        lake,
        action="RETENTION",
        subjects=[],
        person_id=None,
        rule=f"retention as of {as_of.isoformat()}: {policy.describe()}",
        reason="retention schedule",
        actor=actor,
        counts=result.counts,
        files_removed=result.files_removed,
        now=now,
        run_id=run_id,
        detail={"as_of": as_of, "records_due": len(recs), "quarantined_lines_due": len(plan.quarantine)},
    )
    return result
