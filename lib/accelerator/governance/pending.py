"""The pending plan of a command that destroys data (erasure, retention): its commit point, and the
steps both commands end with.

The plan is a JSON file under ``bronze/_platform``, written before anything is removed: from then on
the command will be finished, by this run or by the same command run again, which reads the plan
instead of planning anew. It is rewritten whenever it changes (replace-safe, ``files.write_text``)
and deleted last: it holds the identifiers or record keys the command removes, so once it is gone
no file holds them. Every step is idempotent. A step that has finished is named under ``steps`` and
is not run again; a table is noted under ``rewritten``, with its row count, before it is rewritten,
so a resumed run still counts what the killed one removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from pyspark.sql import SparkSession

from accelerator.governance import files
from accelerator.governance.history import purge_histories, purged_tables
from accelerator.governance.restriction import RebuildGold, rebuild
from accelerator.io.lake import PLATFORM, Lake, join

Progress = Callable[[str], None]


def plan_path(lake: Lake, name: str) -> str:
    """Where a command's pending plan lives: ``bronze/_platform/<name>``."""
    return join(lake.root, "bronze", PLATFORM, name)


def read_plan(spark: SparkSession, path: str) -> dict[str, Any] | None:
    """The plan at ``path`` of a run that was started and not finished, if any."""
    data = files.read_json(spark, path)
    return data if isinstance(data, dict) else None


class PendingPlan:
    """A command's persisted plan. Safe to note from several threads (one lock, one file write per
    change)."""

    def __init__(self, spark: SparkSession, path: str, data: dict[str, Any]) -> None:
        self.spark, self.path, self.data = spark, path, data
        self._lock = threading.Lock()

    def _write(self) -> None:
        files.write_text(self.spark, self.path, json.dumps(self.data, sort_keys=True, default=str))

    def save(self) -> None:
        with self._lock:
            self._write()

    def note(self, key: str, item: str, value: Any = True) -> None:
        """Record ``data[key][item] = value``, on disk before the caller goes on."""
        with self._lock:
            self.data.setdefault(key, {})[item] = value
            self._write()

    def done(self, step: str) -> bool:
        return step in self.data.get("steps", {})

    def finish(self, step: str, **values: Any) -> None:
        """Record the step's ``values`` and that it has finished, in one write."""
        with self._lock:
            self.data.update(values)
            self.data.setdefault("steps", {})[step] = True
            self._write()

    def rewritten(self) -> dict[str, int]:
        """Rows removed per table noted so far (a resumed run's notes included)."""
        return {k: int(v) for k, v in self.data.get("rewritten", {}).items()}

    def delete(self) -> None:
        """The last step: the plan holds what was removed, so it goes after the audit."""
        files.delete(self.spark, self.path)


def gold_step(
    spark: SparkSession, lake_root: str, plan: PendingPlan, rebuild_gold: RebuildGold | None, say: Progress
) -> date | None:
    """Gold rebuilt once, through the pipeline's gold stage (``rebuild_gold``); the ``as_of`` it
    was rebuilt for (None: there was no gold)."""
    if not plan.done("gold"):
        plan.finish("gold", gold_as_of=str(rebuild(spark, lake_root, rebuild_gold)))
        say("gold: rebuilt")
    done = plan.data.get("gold_as_of")
    return date.fromisoformat(done) if done and done != "None" else None


def purge_step(spark: SparkSession, lake: Lake, plan: PendingPlan, skip: list[str], say: Progress) -> int:
    """The history of every table but the audit purged once; how many files that removed."""
    if not plan.done("purge"):
        purge = purged_tables(spark, lake, skip=skip)
        say(f"history: purging {len(purge)} tables")
        plan.finish("purge", files_removed=purge_histories(spark, purge))
        say("history: purged")
    return int(plan.data.get("files_removed", 0))
