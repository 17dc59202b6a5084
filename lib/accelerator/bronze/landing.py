"""The landing lifecycle (issue 18): a settled delivery's files leave landing after a grace period.

Once a delivery is settled (LOADED, REJECTED or DUPLICATE in the delivery log) its bytes are in
bronze (or were refused), so landing need not keep them: partners' copies in landing are personal
data with no further use. ``settings.landing_grace_days`` after the run that settled it (its
``loaded_at``, compared with this run's ``started_at``), the pipeline, which has delete on landing,
removes the delivery folder and everything in it. A PENDING delivery is never touched, nor the
``<authority>/<feed>`` folders (they carry the partners' ACLs).

What was removed is recorded in ``bronze/_platform/landing_lifecycle`` (one row per delivery
cleared: ``delivery_id``, ``status``, ``settled_at``, ``cleared_at``, ``removed``, ``run_id``).
A cleared folder is gone, so discovery never sees it again; its log rows stay, so a later re-sent
identical file is still DUPLICATE (the hashes are in the log).

Commit point: the append to ``landing_lifecycle``, after the deletes. A run killed between them
leaves deliveries deleted but not recorded; the next run finds them due again, finds nothing to
delete (``removed`` false) and records them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.bronze.deliveries import SETTLED
from accelerator.config import RunContext, Settings
from accelerator.io import tables
from accelerator.io.lake import Lake, join
from accelerator.io.storage import Storage, delete
from accelerator.io.tables import column as col

LIFECYCLE_SCHEMA = T.StructType(
    [
        col("delivery_id", T.StringType(), "<authority>/<feed>/<folder>"),
        col("authority", T.StringType()),
        col("feed", T.StringType()),
        col("status", T.StringType(), "the settled status: LOADED, REJECTED or DUPLICATE"),
        col("settled_at", T.TimestampType(), "loaded_at of the run that settled the delivery"),
        col("cleared_at", T.TimestampType(), "started_at of the run that removed its files"),
        col("removed", T.BooleanType(), "false when the folder was already gone"),
        col("run_id", T.StringType()),
    ]
)
LIFECYCLE_STATS = ("delivery_id", "authority", "feed", "status", "cleared_at", "run_id")


@dataclass(frozen=True)
class Due:
    delivery_id: str
    authority: str
    feed: str
    status: str
    settled_at: datetime


def due_for_clearing(
    log_rows: Iterable[Mapping[str, Any]],
    cleared: Iterable[str],
    *,
    started_at: datetime,
    grace_days: int,
) -> list[Due]:
    """Deliveries settled more than ``grace_days`` before ``started_at`` and not cleared yet, in
    delivery id order. Pure: the log rows and the cleared ids are given."""
    done = set(cleared)
    cutoff = started_at - timedelta(days=grace_days)
    out: dict[str, Due] = {}
    for r in log_rows:
        d = str(r["delivery_id"])
        if r["status"] not in SETTLED or d in done or r["loaded_at"] is None:
            continue
        if r["loaded_at"] < cutoff and d not in out and _plain(d):
            out[d] = Due(d, str(r["authority"]), str(r["feed"]), str(r["status"]), r["loaded_at"])
    return [out[d] for d in sorted(out)]


def _plain(delivery_id: str) -> bool:
    """``<authority>/<feed>/<folder>``: three plain names (never a path out of landing)."""
    parts = delivery_id.split("/")
    return len(parts) == 3 and all(p and p not in (".", "..") and "\\" not in p for p in parts)


def clear_settled(storage: Storage, landing_root: str, due: Iterable[Due]) -> list[tuple[Due, bool]]:
    """Delete each due delivery's folder under ``landing_root``; whether anything was there."""
    return [(d, delete(storage, join(landing_root, d.delivery_id))) for d in due]


def run_landing_lifecycle(
    spark: SparkSession, settings: Settings, ctx: RunContext, storage: Storage
) -> list[tuple[Due, bool]]:
    """Read the log and what was cleared before, clear what is due, record it (commit point)."""
    lake = Lake(settings.lake_root)
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return []
    path = lake.audit("landing_lifecycle")
    before = tables.read(spark, path)
    cleared = [r.delivery_id for r in before.select("delivery_id").collect()] if before is not None else []
    rows = (
        log.where(F.col("status").isin(*SETTLED))
        .select("delivery_id", "authority", "feed", "status", "loaded_at")
        .collect()
    )
    due = due_for_clearing(
        [r.asDict() for r in rows], cleared, started_at=ctx.started_at, grace_days=settings.landing_grace_days
    )
    done = clear_settled(storage, settings.landing_root, due)
    if done:
        records = [
            (d.delivery_id, d.authority, d.feed, d.status, d.settled_at, ctx.started_at, removed, ctx.run_id)
            for d, removed in done
        ]
        tables.create(spark, path, LIFECYCLE_SCHEMA, stats=LIFECYCLE_STATS)
        tables.append(spark.createDataFrame(records, LIFECYCLE_SCHEMA), path, stats=LIFECYCLE_STATS)
    return done
