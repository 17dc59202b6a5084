"""The whole pipeline at a given size: a full run, then one more month, with per-stage figures.

    .venv/bin/python benchmarks/pipeline.py [--families 300 3000] [--seed 5] [--json out.json]

For each size: generate deliveries for all ten authorities up to ``--as-of``; land every
delivery extracted before the last month and run the whole pipeline as of the month before
(the full run); then add the last month's deliveries and run again as of ``--as-of`` (the
incremental run). Per stage: wall time and records per second; per run: driver peak RSS and the
JVM's peak heap as the executors report it; for the incremental run, the person-id churn.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from accelerator import pipeline
from accelerator.config import RunContext, Settings
from accelerator.dates import add_months, month_end
from accelerator.spark import get_spark
from accelerator.synth import generate
from actions import report, timing_actions

ROOT = Path(__file__).resolve().parents[1]


def _jvm_used_mib(spark: SparkSession) -> int:
    jvm = spark.sparkContext._jvm  # the local driver JVM's own runtime figures
    assert jvm is not None
    rt = jvm.java.lang.Runtime.getRuntime()
    return round((rt.totalMemory() - rt.freeMemory()) / 2**20)


def shuffle_by_window(events: Path, windows: dict[str, tuple[float, float]]) -> dict[str, dict[str, int]]:
    """Shuffle bytes written and read, and tasks, summed over the tasks that Spark's event log
    shows launched inside each (epoch seconds) window."""
    raw = {name: [0, 0, 0] for name in windows}
    for log in events.iterdir():
        with log.open(encoding="utf-8") as fh:
            for line in fh:
                if '"SparkListenerTaskEnd"' not in line:
                    continue
                ev = json.loads(line)
                launched = ev["Task Info"]["Launch Time"] / 1000
                metrics = ev.get("Task Metrics") or {}
                written = (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
                read_m = metrics.get("Shuffle Read Metrics") or {}
                read = read_m.get("Remote Bytes Read", 0) + read_m.get("Local Bytes Read", 0)
                for name, (start, end) in windows.items():
                    if start <= launched < end:
                        raw[name][0] += written
                        raw[name][1] += read
                        raw[name][2] += 1
                        break
    return {
        name: {"shuffle_write_mib": round(w / 2**20), "shuffle_read_mib": round(r / 2**20), "tasks": t}
        for name, (w, r, t) in raw.items()
    }


def run_once(spark: SparkSession, settings: Settings, as_of: date, events: Path) -> dict[str, Any]:
    marks: list[tuple[str, float, float]] = []
    ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    t0 = time.perf_counter()
    with timing_actions() as actions:
        result = pipeline.run(
            spark, settings, ctx, on_stage=lambda s: marks.append((s, time.perf_counter(), time.time()))
        )
    end = time.perf_counter()
    end_epoch = time.time()
    stages = {
        name: round((marks[i + 1][1] if i + 1 < len(marks) else end) - at, 1)
        for i, (name, at, _) in enumerate(marks)
    }
    windows = {
        name: (epoch, marks[i + 1][2] if i + 1 < len(marks) else end_epoch)
        for i, (name, _, epoch) in enumerate(marks)
    }
    records = result.people.records
    rows = result.bronze.rows_loaded + result.bronze.rows_quarantined
    per_s = {
        "bronze": rows,
        "silver": sum(result.silver.rows_written.values()),
        "people": records,
        "families": records,
        "gold": records,
    }
    return {
        "as_of": as_of.isoformat(),
        "seconds": round(end - t0, 1),
        "stages_seconds": stages,
        "stage_records_per_second": {
            k: round(per_s[k] / stages[k]) if stages.get(k) else None for k in per_s
        },
        "bronze_rows": rows,
        "silver_rows_written": per_s["silver"],
        "silver_tables_changed": result.silver.changed_tables,
        "records_linked": records,
        "records_scored": result.people.scored_records,
        "people": result.people.people,
        "families": result.families.families,
        "person_id_churn": round(result.people.churn, 5),
        "shuffle_by_stage": shuffle_by_window(events, windows),
        "actions": report(actions),
        "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "jvm_heap_used_mib_after": _jvm_used_mib(spark),
    }


def bench(n: int, *, seed: int, as_of: date, keep: Path | None = None) -> dict[str, Any]:
    work = keep / str(n) if keep else Path(tempfile.mkdtemp(prefix=f"bench-pipeline-{n}-"))
    try:
        t0 = time.perf_counter()
        generate(work / "generated", families_per_authority=n, seed=seed, as_of=as_of)
        t_gen = time.perf_counter() - t0
        cut = month_end(add_months(as_of, -1))
        landing = work / "landing"
        later: list[Path] = []
        for folder in sorted((work / "generated" / "landing").glob("*/*/*")):
            dest = landing / folder.relative_to(work / "generated" / "landing")
            if date.fromisoformat(folder.name[:10]) <= cut:
                shutil.copytree(folder, dest)
            else:
                later.append(folder)
        events = work / "events"
        events.mkdir()
        # Spark's event log carries every task's shuffle metrics; the benchmark sums them per stage.
        spark = get_spark(
            jars_dir=ROOT / ".jars",
            extra_conf={"spark.eventLog.enabled": "true", "spark.eventLog.dir": events.as_uri()},
        )
        spark.sparkContext.setLogLevel("ERROR")
        settings = Settings(lake_root=str(work / "lake"), landing_root=str(landing))
        full = run_once(spark, settings, cut, events)
        for folder in later:
            shutil.copytree(folder, landing / folder.relative_to(work / "generated" / "landing"))
        incremental = run_once(spark, settings, as_of, events)
        incremental["new_delivery_folders"] = len(later)
        return {
            "families_per_authority": n,
            "generate_seconds": round(t_gen, 1),
            "full": full,
            "incremental": incremental,
            "incremental_over_full": round(incremental["seconds"] / full["seconds"], 3),
        }
    finally:
        active = SparkSession.getActiveSession()
        if active is not None:  # the next size gets a session logging to its own folder
            active.stop()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, nargs="+", default=[300, 3000])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="keep each size's generated data and lake under KEEP/<n>")
    args = ap.parse_args()
    results = [
        bench(n, seed=args.seed, as_of=date.fromisoformat(args.as_of), keep=args.keep) for n in args.families
    ]
    header = f"{'families':>8} {'run':<12} {'total s':>8} " + " ".join(
        f"{s + ' s':>10}" for s in pipeline_stages()
    )
    print(header)
    for r in results:
        for run in ("full", "incremental"):
            x = r[run]
            cells = " ".join(f"{x['stages_seconds'].get(s, 0):>10}" for s in pipeline_stages())
            print(f"{r['families_per_authority']:>8} {run:<12} {x['seconds']:>8} {cells}")
            shuffle = " ".join(
                f"{x['shuffle_by_stage'].get(s, {}).get('shuffle_write_mib', 0):>8}MB"
                for s in pipeline_stages()
            )
            print(f"{'':>8} {'shuffle wr':<12} {'':>8} {shuffle}")
        print(
            f"{'':>8} incremental/full {r['incremental_over_full']:.2f}; churn "
            f"{r['incremental']['person_id_churn']:.2%}; records {r['full']['records_linked']} → "
            f"{r['incremental']['records_linked']}; "
            f"driver peak RSS {r['incremental']['driver_peak_rss_mib']} MiB"
        )
    for r in results:
        for run in ("full", "incremental"):
            print(f"\n{r['families_per_authority']} families per authority, {run} run: time in Spark actions")
            print(r[run]["actions"])
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def pipeline_stages() -> tuple[str, ...]:
    return ("bronze", "silver", "people", "families", "gold")


if __name__ == "__main__":
    main()
