"""The landing zone's share of erasure and retention (inside the lake root on Azure).

A *settled* delivery (in the delivery log: LOADED, REJECTED or DUPLICATE) is a copy of what bronze
holds: erasure deletes it whole when it holds a subject's line, retention when its feed's period
since its extract date is over. A delivery *not yet settled* holds rows bronze has not loaded:
erasure cuts the subjects' lines from its files and rewrites the manifest's ``rows`` and ``sha256``
of those files, so that the pipeline still loads everyone else. The files rewritten are noted in
the caller's plan first, so a resumed erasure makes the manifest true of them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from accelerator.governance import files
from accelerator.governance.matching import LineMatcher
from accelerator.governance.pending import PendingPlan, Progress
from accelerator.governance.subject import Subject
from accelerator.io import tables
from accelerator.io.lake import Lake, join
from accelerator.io.storage import HadoopStorage

SETTLED = ("LOADED", "REJECTED", "DUPLICATE")


def _lines(data: bytes) -> list[bytes]:
    """Physical lines with their endings."""
    return data.splitlines(keepends=True)


def _text(line: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return line.decode(enc)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")


def settled(spark: SparkSession, lake: Lake) -> set[str]:
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return set()
    rows = log.where(F.col("status").isin(*SETTLED)).select("delivery_id").distinct().collect()
    return {r.delivery_id for r in rows}


def erase_from_landing(
    spark: SparkSession,
    lake: Lake,
    landing: str,
    subjects: list[Subject],
    plan: PendingPlan,
    say: Progress,
) -> int:
    """Step 1 (module docstring). Returns the landing files deleted or rewritten."""
    fs = HadoopStorage(spark)
    settled_ids = settled(spark, lake)
    matcher = LineMatcher(subjects)
    changed = 0
    for authority in fs.list_dirs(landing):
        for feed in fs.list_dirs(join(landing, authority)):
            for folder in fs.list_dirs(join(landing, authority, feed)):
                path = join(landing, authority, feed, folder)
                delivery = f"{authority}/{feed}/{folder}"
                names = [n for n in fs.list_files(path) if n != "manifest.json" and not n.endswith(".crc")]
                hits = {}
                for name in names:
                    data = fs.read_bytes(join(path, name))
                    lines = _lines(data)
                    keep = [
                        ln
                        for i, ln in enumerate(lines)
                        if i == 0 or not matcher.matches(_text(ln).rstrip("\r\n"), feed, authority)
                    ]
                    if len(keep) != len(lines):
                        hits[name] = (data, keep)
                planned = plan.data.get("landing_rewritten", {})
                if not hits and not any(k.startswith(delivery + "/") for k in planned):
                    continue
                if delivery in settled_ids:
                    plan.note("landing_deleted", delivery)
                    changed += len(fs.list_files(path))
                    fs.delete(path)
                    continue
                for name, (_data, keep) in hits.items():
                    plan.note("landing_rewritten", f"{delivery}/{name}")
                    files.write_bytes(spark, join(path, name), b"".join(keep))
                    changed += 1
                _fix_manifest(spark, path, delivery, plan)
    say(f"landing: {changed} files deleted or rewritten")
    return changed


def _fix_manifest(spark: SparkSession, path: str, delivery: str, plan: PendingPlan) -> None:
    """Make the manifest's ``rows`` and ``sha256`` true of every file erasure rewrote."""
    fs = HadoopStorage(spark)
    mpath = join(path, "manifest.json")
    if not fs.exists(mpath):
        return
    manifest = json.loads(fs.read_bytes(mpath).decode("utf-8-sig"))
    rewritten = {
        k.rsplit("/", 1)[1] for k in plan.data.get("landing_rewritten", {}) if k.startswith(delivery + "/")
    }
    for entry in manifest.get("files", []):
        if isinstance(entry, dict) and entry.get("name") in rewritten:
            data = fs.read_bytes(join(path, entry["name"]))
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["rows"] = max(len([ln for ln in _lines(data) if ln.strip()]) - 1, 0)
    files.write_bytes(spark, mpath, json.dumps(manifest, indent=2).encode("utf-8"))


def due_deliveries(
    spark: SparkSession, lake: Lake, landing: str, months_of: Column, as_of: date
) -> list[str]:
    """Settled deliveries still in landing whose feed's period since their extract date is over
    (``months_of``: the period in months of the row's ``feed``)."""
    log = tables.read(spark, lake.delivery_log)
    if log is None:
        return []
    due = (
        log.where(F.col("status").isin(*SETTLED))
        .groupBy("delivery_id", "feed")
        .agg(F.max("extract_date").alias("extract_date"))
        .where(F.add_months(F.col("extract_date"), months_of) <= F.lit(as_of))
    )
    fs = HadoopStorage(spark)
    return sorted(
        r.delivery_id for r in due.select("delivery_id").collect() if fs.exists(join(landing, r.delivery_id))
    )
