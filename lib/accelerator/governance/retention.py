"""Retention (custodianship.md): destroy every record whose retention period has run out.

The schedule and the rule of what is due are in ``schedule.py``.

Per feed a period in years (the schedule: ``retention.yaml`` shipped in this package, the same
file as ``infra/retention.yaml``; defaults from custodianship.md: 6 years), on a clock that starts
at the record's close date where its feed has one (discharge, award end, episode or sentence end,
early help case closure; an open record is never due), else at its event date. A housing case's
rows share the clock of the case's latest status (the last involvement). A child's record (the
person under 18 on the event date) is never due before their 25th birthday; the date of birth is
the record's own, else the one most of the person's records give.

A record that is due goes from every layer: all its bronze versions, silver, ``person_record``,
``person_xref``, ``person_links`` and the linkage report's borderline pairs, families of people left
with no record, and gold (rebuilt through the caller's ``rebuild_gold``). Quarantined lines (never
a record) are due on the feed's period counted from their delivery's extract date; so is a settled
delivery still in the landing zone (its rows are in bronze), deleted whole. The history of every
table but the audit is purged (``history.purged_tables``), not only of those touched. One audit row
says what was destroyed (counts per table), when and under which rule; never the destroyed content.
:func:`plan_retention` alone is the dry run, and :meth:`RetentionPlan.counts` is all it shows:
counts per table and rule.

**Resumable.** The plan (the due record keys) is written to ``bronze/_platform/retention_pending.json``
before anything is destroyed: the commit point after which the run will be finished, by itself or
by running the same command again, which takes the saved plan instead of planning from silver
(where the killed run may already have removed the records). Every step is idempotent; each table
is noted in the plan before it is rewritten, so the resume counts it (and rebuilds gold and purges
every table); the audit row is appended once (skipped when the audit holds the plan's run id); the
plan, which holds record keys, is deleted last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance import audit
from accelerator.governance.history import rewrite
from accelerator.governance.landing import due_deliveries
from accelerator.governance.pending import PendingPlan, Progress, gold_step, plan_path, purge_step, read_plan
from accelerator.governance.restriction import RebuildGold
from accelerator.governance.schedule import (
    CLOCK,
    RetentionConfigError,
    RetentionPolicy,
    default_schedule,
    due_records,
    load_policy,
    parse_policy,
)
from accelerator.governance.subject import rel
from accelerator.io import tables
from accelerator.io.lake import Lake, join
from accelerator.io.storage import HadoopStorage

PENDING = "retention_pending.json"
__all__ = [
    "CLOCK",
    "RetentionConfigError",
    "RetentionPlan",
    "RetentionPolicy",
    "apply_retention",
    "default_schedule",
    "due_records",
    "load_policy",
    "parse_policy",
    "plan_retention",
]


@dataclass
class RetentionPlan:
    """What is due on ``as_of``: records per (authority, feed) and quarantined lines per authority."""

    as_of: date
    policy: RetentionPolicy
    records: pd.DataFrame  # authority, feed, record_key, clock_date, due_date, rule
    quarantine: pd.DataFrame  # authority, feed, delivery_id, source_file, line_number, due_date

    def counts(self) -> dict[tuple[str, str], int]:
        """What the dry run shows: how many rows are due per (table, rule); never a key."""
        out: dict[tuple[str, str], int] = {}
        for (a, f, rule), n in self.records.groupby(["authority", "feed", "rule"]).size().items():
            out[(f"{a}/{f}", str(rule))] = int(n)
        for (a, f), n in self.quarantine.groupby(["authority", "feed"]).size().items():
            rule = f"{f}: quarantined lines, {self.policy.years(str(f))} years after the extract date"
            out[(f"{a}/_quarantine", rule)] = int(n)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "policy": self.policy.model_dump(),
            "records": self.records.astype(str).to_dict("records"),
            "quarantine": self.quarantine.astype({"line_number": int}).astype(object).to_dict("records"),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RetentionPlan:
        rec_cols = ["authority", "feed", "record_key", "clock_date", "due_date", "rule"]
        q_cols = ["authority", "feed", "delivery_id", "source_file", "line_number", "due_date"]
        return cls(
            date.fromisoformat(d["as_of"]),
            RetentionPolicy.model_validate(d["policy"]),
            pd.DataFrame(d["records"], columns=rec_cols),
            pd.DataFrame(d["quarantine"], columns=q_cols),
        )


def _person_dob(spark: SparkSession, lake: Lake) -> DataFrame | None:
    """(authority, feed, record_key, person_dob_any): the dob most of the person's records give."""
    pr, xref = (
        tables.read(spark, lake.platform("person_record")),
        tables.read(spark, lake.platform("person_xref")),
    )
    if pr is None or xref is None:
        return None
    key = ["authority", "feed", "record_key"]
    joined = pr.select(*key, "person_dob").join(xref.select(*key, "person_id"), key)
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
    for authority in AUTHORITIES:
        for feed in FEEDS:
            df = tables.read(spark, lake.silver(authority, feed))
            if df is None:
                continue
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


def _months_of(policy: RetentionPolicy) -> Any:
    months = F.create_map(*[x for f in FEEDS for x in (F.lit(f), F.lit(12 * policy.years(f)))])
    return F.coalesce(months[F.col("feed")], F.lit(12 * policy.default_years))


def _due_quarantine(spark: SparkSession, lake: Lake, policy: RetentionPolicy, *, as_of: date) -> pd.DataFrame:
    cols = ["authority", "feed", "delivery_id", "source_file", "line_number", "due_date"]
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return pd.DataFrame(columns=cols)
    extract = log.groupBy("delivery_id").agg(F.max("extract_date").alias("extract_date"))
    frames = []
    for authority in AUTHORITIES:
        q = tables.read(spark, lake.quarantine(authority))
        if q is None:
            continue
        due = (
            q.join(extract, "delivery_id", "left")
            .withColumn("due_date", F.add_months(F.col("extract_date"), _months_of(policy)))
            .where(F.col("due_date") <= F.lit(as_of))
            .select(F.lit(authority).alias("authority"), *cols[1:])
        )
        pdf: pd.DataFrame = due.toPandas()
        if len(pdf):
            frames.append(pdf)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


@dataclass
class RetentionResult:
    plan: RetentionPlan
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    landing_deliveries: int = 0
    gold_as_of: date | None = None
    run_id: str = ""
    resumed: bool = False


def _pending_path(lake: Lake) -> str:
    return plan_path(lake, PENDING)


def pending(spark: SparkSession, lake_root: str) -> dict[str, Any] | None:
    """The saved plan of a retention run that was started and not finished, if any."""
    return read_plan(spark, _pending_path(Lake(lake_root)))


def apply_retention(
    spark: SparkSession,
    lake_root: str,
    policy: RetentionPolicy,
    *,
    as_of: date,
    now: datetime,
    actor: str,
    plan: RetentionPlan | None = None,
    landing_root: str | None = None,
    rebuild_gold: RebuildGold | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> RetentionResult:
    """Destroy everything ``plan_retention`` finds due, in every layer and its history; audit it;
    or finish the pending run for the same ``as_of`` (module docstring). The steps in order: rows
    of every table, settled deliveries in landing, gold, history, audit."""
    say = on_progress or (lambda _m: None)
    lake = Lake(lake_root)
    landing = landing_root or join(lake_root, "landing")
    audit.require_intact(spark, lake_root)
    job, resumed = _open_job(spark, lake, policy, plan, as_of=as_of, now=now, landing=landing)
    job.save()  # the commit point: from here on this retention run will be finished
    plan = RetentionPlan.from_json(job.data["plan"])
    run_id = job.data["run_id"]
    say(f"retention {run_id}: {len(plan.records)} records due" + (" (resumed)" if resumed else ""))
    for due in _due_rows(spark, lake, plan):
        _destroy(spark, lake, job, due, say)
    if (orphans := _orphaned_members(spark, lake, plan)) is not None:
        _destroy(spark, lake, job, orphans, say)
    fs = HadoopStorage(spark)
    for delivery in job.data["landing"]:
        fs.delete(join(landing, delivery))  # a settled delivery's files: its rows are in bronze
    say(f"landing: {len(job.data['landing'])} settled deliveries past their period removed")
    touched = job.rewritten()
    result = RetentionResult(
        plan,
        counts=_counts_per_table(touched),
        landing_deliveries=len(job.data["landing"]),
        run_id=run_id,
        resumed=resumed,
    )
    if touched:  # nothing destroyed: gold and every table's history are as they were
        result.gold_as_of = gold_step(spark, lake_root, job, rebuild_gold, say)
        result.files_removed = purge_step(spark, lake, job, [landing], say)
    _audit_step(spark, lake, job, result, actor)
    say("audit: done")
    job.delete()  # the plan holds record keys: it goes last
    say("retention: finished")
    return result


def _open_job(
    spark: SparkSession,
    lake: Lake,
    policy: RetentionPolicy,
    plan: RetentionPlan | None,
    *,
    as_of: date,
    now: datetime,
    landing: str,
) -> tuple[PendingPlan, bool]:
    """The pending run for ``as_of`` (resumed: True), or a new one: ``plan`` (or the plan of the
    lake as it is), the settled deliveries due in landing, the run id and clock. A pending run for
    another ``as_of`` is an error."""
    data = pending(spark, lake.root)
    if data is not None and data["plan"]["as_of"] != as_of.isoformat():
        raise RuntimeError(
            f"retention {data['run_id']} as of {data['plan']['as_of']} is not finished: run it again first"
        )
    if data is not None:
        return PendingPlan(spark, _pending_path(lake), with_steps(data)), True
    plan = plan or plan_retention(spark, lake.root, policy, as_of=as_of)
    data = {
        "run_id": audit.action_run_id("RETENTION", now, as_of.isoformat()),
        "now": now.isoformat(),
        "plan": plan.to_json(),
        "landing": due_deliveries(spark, lake, landing, _months_of(policy), as_of),
    }
    return PendingPlan(spark, _pending_path(lake), data), False


def with_steps(data: dict[str, Any]) -> dict[str, Any]:
    """A plan saved before its steps were named kept only their results: a step whose result it
    holds has finished (so a resume does not rebuild gold or purge again, and the audit keeps the
    files the first purge removed)."""
    steps = data.setdefault("steps", {})
    for step, result in (("gold", "gold_as_of"), ("purge", "files_removed")):
        if result in data:
            steps[step] = True
    return data


@dataclass(frozen=True)
class _Due:
    """Rows of one table to destroy: those whose ``on`` columns equal a row of ``keys``."""

    path: str
    keys: pd.DataFrame
    on: tuple[str, ...]
    schema: str  # of the key columns, in ``on``'s order


_KEY3 = ("authority", "feed", "record_key")
_KEY3_SCHEMA = "authority string, feed string, record_key string"


def _person_level(records: pd.DataFrame) -> pd.DataFrame:
    return records[records["feed"].isin([f for f, s in FEEDS.items() if s.person_level])]


def _due_rows(spark: SparkSession, lake: Lake, plan: RetentionPlan) -> list[_Due]:
    """What the plan destroys, table by table, in order: each (authority, feed)'s bronze then
    silver, the linkage tables (records, cross-reference, the links and the report's borderline
    pairs of either side), then quarantined lines."""
    out = []
    for (authority, feed), grp in plan.records.groupby(["authority", "feed"]):
        keys = grp[["record_key"]]
        for path in (lake.bronze(str(authority), str(feed)), lake.silver(str(authority), str(feed))):
            out.append(_Due(path, keys, ("record_key",), "record_key string"))
    person = _person_level(plan.records)
    out += [_Due(lake.platform(t), person, _KEY3, _KEY3_SCHEMA) for t in ("person_record", "person_xref")]
    if not person.empty:
        nodes = ["|".join(k) for k in person[list(_KEY3)].itertuples(index=False)]
        for table in ("person_links", "linkage_report"):
            df = tables.read(spark, lake.platform(table))
            for side in ("unique_id_l", "unique_id_r"):
                if df is not None and side in df.columns:
                    keys = pd.DataFrame({side: nodes})
                    out.append(_Due(lake.platform(table), keys, (side,), f"{side} string"))
    qcols = ("delivery_id", "source_file", "line_number")
    for authority, grp in plan.quarantine.groupby("authority"):
        keys = grp.astype({"line_number": int})
        schema = "delivery_id string, source_file string, line_number int"
        out.append(_Due(lake.quarantine(str(authority)), keys, qcols, schema))
    return out


def _orphaned_members(spark: SparkSession, lake: Lake, plan: RetentionPlan) -> _Due | None:
    """People left with no record at all (read after the records went) leave the families too."""
    fam = tables.read(spark, lake.platform("family_member"))
    xref = tables.read(spark, lake.platform("person_xref"))
    if _person_level(plan.records).empty or fam is None or xref is None:
        return None
    live = xref.select("person_id").distinct()
    gone: pd.DataFrame = fam.select("person_id").distinct().join(live, "person_id", "left_anti").toPandas()
    return _Due(lake.platform("family_member"), gone, ("person_id",), "person_id string")


def _destroy(spark: SparkSession, lake: Lake, job: PendingPlan, due: _Due, say: Progress) -> None:
    """The table rewritten without the due rows; noted in the plan, with the count, before."""
    df = tables.read(spark, due.path)
    if due.keys.empty or df is None:
        return
    on = list(due.on)
    keys = F.broadcast(spark.createDataFrame(due.keys[on].drop_duplicates(), due.schema))
    n = df.join(keys, on, "left_semi").count()
    name = rel(lake.root, due.path)
    if n:
        job.note("rewritten", f"{name}|{','.join(on)}", n)  # before the rewrite: a resume still counts it
        rewrite(spark, due.path, df.join(keys, on, "left_anti"))
    say(f"tables: {name} ({n} rows)")


def _counts_per_table(touched: Mapping[str, int]) -> dict[str, int]:
    """Rows destroyed per table (a table noted once per key it was matched on)."""
    out: dict[str, int] = {}
    for step, n in touched.items():
        name = step.split("|")[0]
        out[name] = out.get(name, 0) + n
    return out


def _audit_step(
    spark: SparkSession, lake: Lake, job: PendingPlan, result: RetentionResult, actor: str
) -> None:
    """One audit row for the run, unless the audit holds it: what was destroyed, never a key."""
    if audit.has_run(spark, lake.root, result.run_id):
        return
    plan = result.plan
    audit.append(
        spark,
        lake,
        action="RETENTION",
        subjects=[],
        person_id=None,
        rule=f"retention as of {plan.as_of.isoformat()}: {plan.policy.describe()}",
        reason="retention schedule",
        actor=actor,
        counts=result.counts,
        files_removed=result.files_removed,
        now=datetime.fromisoformat(job.data["now"]),
        run_id=result.run_id,
        detail={
            "as_of": plan.as_of,
            "records_due": len(plan.records),
            "quarantined_lines_due": len(plan.quarantine),
            "landing_deliveries_removed": len(job.data["landing"]),
        },
    )
