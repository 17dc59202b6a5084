"""Restriction of processing (custodianship.md "People's rights"): ``silver/_platform/restriction``.

An append-only registry (``person_id``, ``restricted``, ``at``, ``run_id``); a person's latest row
decides. Gold receives :func:`restricted_people` from the pipeline and leaves them out of every
table. ``restrict`` and ``unrestrict`` rebuild gold through the caller's ``rebuild_gold`` (the
pipeline's gold stage: governance does not import gold).

Commit points: the registry append is the commit point of the restriction itself; gold's rebuild,
the purge of gold's older versions (``restrict``) and the audit row follow. Killed after the
registry append, the person is restricted for every later gold build; running the command again
appends a second registry row (harmless: the latest row decides), rebuilds gold, purges and audits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.governance import audit
from accelerator.governance.history import delta_tables, purge_histories
from accelerator.governance.subject import (
    RightsError,
    check_reason,
    current_id,
    find_subject,
    ids_frame,
    redirects,
    rel,
    subject_hash,
)
from accelerator.io import tables
from accelerator.io.lake import Lake, join

RESTRICTION = "restriction"
RESTRICTION_SCHEMA = T.StructType(
    [
        tables.column("person_id", T.StringType()),
        tables.column("restricted", T.BooleanType(), "true: hidden from gold; false: restriction lifted"),
        tables.column("at", T.TimestampType()),
        tables.column("run_id", T.StringType()),
    ]
)
RESTRICTION_STATS = ("at", "run_id")

RebuildGold = Callable[[date], object]
"""Rebuilds gold for one ``as_of`` (the pipeline's gold stage, supplied by the caller)."""


def restricted_people(spark: SparkSession, lake: Lake) -> DataFrame:
    """Person ids currently restricted (their latest registry row says so), retired ids followed
    to their survivor. Grain: one row per person_id. Gold hides them."""
    df = tables.read(spark, lake.platform(RESTRICTION))
    if df is None:
        return spark.createDataFrame([], "person_id string")
    latest = df.groupBy("person_id").agg(F.max_by("restricted", F.struct("at", "run_id")).alias("restricted"))
    ids = {r.person_id for r in latest.where("restricted").collect()}
    redirect = redirects(spark, lake)
    ids |= {current_id(i, redirect) for i in ids}
    return ids_frame(spark, ids, "person_id")


def gold_as_of(spark: SparkSession, lake_root: str) -> date | None:
    """The ``as_of`` gold was last built for (else the latest families'), None before any."""
    lake = Lake(lake_root)
    built = [
        r.m
        for p in delta_tables(spark, join(lake_root, "gold"))
        if p.endswith("/family")
        for r in spark.read.format("delta").load(p).agg(F.max("as_of").alias("m")).collect()
        if r.m is not None
    ]
    if built:
        return max(built)
    fam = tables.read(spark, lake.platform("family_member"))
    if fam is None:
        return None
    value = fam.agg(F.max("as_of").alias("m")).collect()[0]["m"]
    return value if isinstance(value, date) else None


def rebuild(spark: SparkSession, lake_root: str, rebuild_gold: RebuildGold | None) -> date | None:
    """Rebuild gold for the ``as_of`` it was built for; the ``as_of`` (None: nothing to rebuild)."""
    as_of = gold_as_of(spark, lake_root)
    if as_of is not None and rebuild_gold is not None:
        rebuild_gold(as_of)
    return as_of


@dataclass
class RestrictionResult:
    person_id: str
    restricted: bool
    gold_as_of: date | None
    run_id: str


def _set_restriction(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    *,
    restricted: bool,
    reason: str,
    actor: str,
    now: datetime,
    rebuild_gold: RebuildGold | None,
) -> RestrictionResult:
    if not reason.strip():
        raise RightsError("a restriction needs a reason")
    audit.require_intact(spark, lake_root)
    lake = Lake(lake_root)
    subject = find_subject(spark, lake_root, person_id, expand=False)
    check_reason(reason, [subject])
    action = "RESTRICT" if restricted else "UNRESTRICT"
    run_id = audit.action_run_id(action, now, subject_hash(person_id))
    path = lake.platform(RESTRICTION)
    tables.create(spark, path, RESTRICTION_SCHEMA, stats=RESTRICTION_STATS)
    row = spark.createDataFrame([(person_id, restricted, now, run_id)], RESTRICTION_SCHEMA)
    tables.append(row, path, stats=RESTRICTION_STATS)
    as_of = rebuild(spark, lake_root, rebuild_gold)
    removed = 0
    if restricted:  # older gold versions still show the person: nobody may time-travel to them
        removed = purge_histories(spark, delta_tables(spark, join(lake_root, "gold")))
    audit.append(
        spark,
        lake,
        action=action,
        subjects=[person_id],
        person_id=person_id,
        rule="UK GDPR Art. 18 (right to restriction of processing)",
        reason=reason,
        actor=actor,
        counts={rel(lake_root, path): 1},
        files_removed=removed,
        now=now,
        run_id=run_id,
        detail={"gold_rebuilt_as_of": as_of},
    )
    return RestrictionResult(person_id, restricted, as_of, run_id)


def restrict(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    rebuild_gold: RebuildGold | None,
) -> RestrictionResult:
    """Mark the person restricted: kept in bronze and silver, hidden from every gold table (gold
    is rebuilt now and its older versions vacuumed), audited."""
    return _set_restriction(
        spark,
        lake_root,
        person_id,
        restricted=True,
        reason=reason,
        actor=actor,
        now=now,
        rebuild_gold=rebuild_gold,
    )


def unrestrict(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    rebuild_gold: RebuildGold | None,
) -> RestrictionResult:
    """Lift a restriction: the person is back in gold (rebuilt now), audited."""
    return _set_restriction(
        spark,
        lake_root,
        person_id,
        restricted=False,
        reason=reason,
        actor=actor,
        now=now,
        rebuild_gold=rebuild_gold,
    )
