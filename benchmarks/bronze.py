"""Bronze throughput at a realistic size: rows per second landed from generated deliveries.

    .venv/bin/python benchmarks/bronze.py [--families 3000] [--seed 7] [--keep DIR]

Generates ``--families`` families per authority (all ten authorities, all ten feeds, with the
messiness of feeds.md), lands them with a local Spark session and prints the figures.
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

from accelerator.bronze.land import run_bronze
from accelerator.config import RunContext, Settings
from accelerator.io.storage import LocalStorage
from accelerator.spark import get_spark
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated data and lake here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-bronze-"))
    as_of = date.fromisoformat(args.as_of)
    try:
        t0 = time.perf_counter()
        summary = generate(work, families_per_authority=args.families, seed=args.seed, as_of=as_of)
        t_gen = time.perf_counter() - t0
        spark = get_spark(jars_dir=ROOT / ".jars")
        spark.sparkContext.setLogLevel("ERROR")
        settings = Settings(lake_root=str(work / "lake"), landing_root=str(work / "landing"))
        ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
        t1 = time.perf_counter()
        result = run_bronze(spark, settings, ctx, LocalStorage())
        t_bronze = time.perf_counter() - t1
        rows = result.rows_loaded + result.rows_quarantined
        figures = {
            "families_per_authority": args.families,
            "deliveries": len(result.outcomes),
            "by_status": result.by_status(),
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "generate_seconds": round(t_gen, 1),
            "bronze_seconds": round(t_bronze, 1),
            "bronze_rows_per_second": round(rows / t_bronze),
            "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        print(json.dumps(figures, indent=2))
        print(summary)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
