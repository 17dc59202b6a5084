"""History purge: leave only the latest version of a Delta table (erasure, retention, restriction).

A rewritten table still holds the removed rows in its older data files and, through column
statistics and operation parameters, possibly in its transaction log. :func:`purge_histories`
deletes every file under the table that its latest version does not read (what ``VACUUM ... RETAIN
0 HOURS`` deletes; done by hand, it costs one small Spark job a table instead of VACUUM's listing,
join and delete jobs), writes a checkpoint of the latest version and deletes every older commit,
checksum and checkpoint (and checksum files of deleted data files). Time travel to the versions
before is gone, by design. The caller holds the lake's writer lease: no writer is adding files.

Each table's purge is idempotent: a purge killed part-way is completed by purging again. A table
with nothing to purge (its first version only, every file its own) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession

from accelerator.governance import audit
from accelerator.io import tables
from accelerator.io.lake import Lake, join
from accelerator.io.storage import HadoopStorage
from accelerator.spark import session_conf

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
_VERSION_FILE = re.compile(r"^\.?(\d{20})\.")


def delta_tables(spark: SparkSession, root: str, *, skip: Iterable[str] = ()) -> list[str]:
    """Every Delta table under ``root`` (a folder holding ``_delta_log``), outside ``skip``."""
    skipped = [s.rstrip("/") + "/" for s in skip]
    found = set()
    for f in HadoopStorage(spark).walk(root):
        if "/_delta_log/" in f and not any(f.startswith(s) for s in skipped):
            found.add(f.split("/_delta_log/")[0])
    return sorted(found)


def purged_tables(spark: SparkSession, lake: Lake, *, skip: Iterable[str] = ()) -> list[str]:
    """The tables an erasure or a retention run purges: every Delta table of the lake (outside
    ``skip``: the landing zone) but the audit, whose history is the record of what was done and
    holds no one. Not only the tables it rewrote: a table's history also holds everyone its
    wholesale rewrites by pipeline runs removed, and a write killed before its commit (a run, a
    MERGE) leaves data files no version reads in a table that may hold none of the subject's rows
    now. A table with nothing to purge costs a file listing (:func:`nothing_to_purge`)."""
    return delta_tables(spark, lake.root, skip=[*skip, lake.audit(audit.AUDIT)])


def other_files(spark: SparkSession, root: str, *, skip: Iterable[str] = ()) -> list[str]:
    """Files under the lake that belong to no Delta table (exports, model files, notes), outside
    ``skip`` (the landing zone, the governance files)."""
    skipped = [s.rstrip("/") for s in skip]
    found = delta_tables(spark, root)
    return [
        f
        for f in HadoopStorage(spark).walk(root)
        if not any(f == t or f.startswith(t + "/") for t in found)
        and not any(f == s or f.startswith(s + "/") for s in skipped)
    ]


def purge_histories(spark: SparkSession, paths: Iterable[str]) -> int:
    """Leave only the latest version of each Delta table in ``paths`` (those that are tables).
    Returns how many files went, data and log."""
    todo = sorted({p for p in paths if tables.exists(spark, p)})
    # For VACUUM, where it is still used (_purge_one): zero retention is refused unless the check is
    # off, and it lists files with one task per `parallelPartitionDiscovery.parallelism` (10,000 by
    # default): far too many for one table.
    conf = {RETENTION_CHECK: "false", LISTING_PARALLELISM: str(max(spark.sparkContext.defaultParallelism, 2))}
    with session_conf(spark, conf), ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(lambda p: _purge_one(spark, p), todo))


def nothing_to_purge(fs: HadoopStorage, path: str, files: list[str]) -> bool:
    """Whether a purge of the table at ``path`` (whose files are ``files``) would remove nothing:
    its log holds its first commit only (no later commit, no checkpoint) and every data file under
    it is one that commit adds. A table that no run has written since it was created (the gold of
    an authority that has no families) is so; its VACUUM and checkpoint would cost seconds for
    nothing. Anything else, or anything unexpected, is purged."""
    first = tables.sole_commit(fs, path, files)
    if first is None:
        return False
    data = {f for f in files if not f.startswith(join(path, "_delta_log") + "/")}
    checksums = {join(f.rsplit("/", 1)[0], "." + f.rsplit("/", 1)[1] + ".crc") for f in first.added}
    return data <= first.added | checksums


def live_files(spark: SparkSession, path: str) -> set[str] | None:
    """The data files the latest version of the table at ``path`` reads (from a fresh snapshot);
    None if the log names one by an absolute path (we never write one)."""
    jvm: Any = spark.sparkContext._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog
    delta_log.invalidateCache(spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(path))
    snapshot = delta_log.forTable(spark._jsparkSession, path).update(False, jvm.scala.Option.empty())
    adds = [unquote(r.path) for r in DataFrame(snapshot.allFiles().toDF(), spark).select("path").collect()]
    if any(a.startswith("/") or "://" in a for a in adds):
        return None
    return {join(path, a) for a in adds}


def _purge_one(spark: SparkSession, path: str) -> int:
    """Delete every file under the table that its latest version does not read (what ``VACUUM
    RETAIN 0 HOURS`` deletes, without its listing and join jobs), write a checkpoint of that
    version and delete the log before it. Should the log name a file by an absolute path, or a file
    the latest version reads be missing from the listing (its path spelt otherwise than the log
    spells it), nothing is deleted by hand: VACUUM does it."""
    fs = HadoopStorage(spark)
    files = fs.walk(path)
    if nothing_to_purge(fs, path, files):
        return 0
    before = len(files)
    log_dir = join(path, "_delta_log")
    live = live_files(spark, path)
    if live is None or not live <= set(files):  # the log and the listing disagree: Delta decides
        spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS")  # (purge_histories sets its settings)
        live, files = set(), []
    for f in files:
        if f.startswith(log_dir + "/") or f in live:
            continue
        folder, name = f.rsplit("/", 1)
        if name.startswith(".") and name.endswith(".crc") and join(folder, name[1:-4]) in live:
            continue  # the checksum of a file the table reads
        fs.delete(f)
    jvm: Any = spark.sparkContext._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog
    log = delta_log.forTable(spark._jsparkSession, path)
    version = int(log.update(False, jvm.scala.Option.empty()).version())
    log.checkpoint()
    for name in fs.children(log_dir):
        m = _VERSION_FILE.match(name)
        if m and int(m.group(1)) < version:
            fs.delete(join(log_dir, name))
    for name in fs.children(join(log_dir, "_commits")):  # coordinated commits (none yet in Delta 3.2)
        m = _VERSION_FILE.match(name)
        if m and int(m.group(1)) < version:
            fs.delete(join(log_dir, "_commits", name))
    present = set(fs.children(path))
    for name in present:
        if name.startswith(".") and name.endswith(".crc") and name[1:-4] not in present:
            fs.delete(join(path, name))
    delta_log.invalidateCache(spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(path))
    return max(before - len(fs.walk(path)), 0)


def rewrite(spark: SparkSession, path: str, keep: Any) -> None:
    """Replace the table at ``path`` with ``keep`` (its rows that stay): one overwrite commit whose
    log entry records no predicate (a DELETE would record the predicate, values and all), with
    the table's own statistics columns kept."""
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]
    props = dict(detail.properties or {})
    stats = [c for c in props.get("delta.dataSkippingStatsColumns", "").split(",") if c]
    extra = {k: v for k, v in props.items() if k == "delta.appendOnly"}
    tables.overwrite(keep, path, stats=stats, extra=extra)
