"""What an erasure costs for 1 and for 50 people at once, on a demo lake.

    .venv/bin/python benchmarks/erase.py [--families 20] [--seed 1] [--people 1 50] [--json out.json]
                                         [--base DIR] [--trace] [--conf KEY=VALUE ...]

Generates demo deliveries for every authority (``--families`` per authority, small by default),
runs the whole pipeline into a demo lake with the landing zone inside the lake root (as on Azure),
then for each batch size copies the lake and times ``governance.erasure.erase`` for that many
people (the person ids with the most records first), gold rebuilt through the pipeline's gold
stage, as the CLI does. Prints the wall time per batch, with the lake's size. ``--base DIR`` keeps
the built demo lake in DIR and reuses it when DIR already holds one (to time erasures again without
rebuilding); ``--trace`` prints every progress line with its time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from pyspark.sql import functions as F

from accelerator import pipeline
from accelerator.config import RunContext, Settings
from accelerator.governance.erasure import ErasureRequest, erase
from accelerator.io.lake import Lake
from accelerator.linkage import model
from accelerator.spark import get_spark
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 3, 31)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, default=20, help="families per authority")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--people", type=int, nargs="+", default=[1, 50])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--base", type=Path, help="keep the built lake here; reuse it if it is there")
    ap.add_argument("--trace", action="store_true", help="print every progress line with its time")
    ap.add_argument("--conf", action="append", default=[], help="a Spark setting KEY=VALUE (repeatable)")
    args = ap.parse_args()
    spark = get_spark(jars_dir=ROOT / ".jars", extra_conf=dict(c.split("=", 1) for c in args.conf))
    spark.sparkContext.setLogLevel("ERROR")
    work = Path(tempfile.mkdtemp(prefix="bench-erase-"))
    try:
        base = args.base or work / "lake"
        settings = Settings(
            lake_root=str(base), landing_root=str(base / "landing"), jars_dir=str(ROOT / ".jars")
        )
        t0 = time.perf_counter()
        build: float | None = None  # a reused lake was built by an earlier run
        if not (base / ".built").exists():
            shutil.rmtree(base, ignore_errors=True)
            generate(work / "demo", families_per_authority=args.families, seed=args.seed, as_of=AS_OF)
            shutil.copytree(work / "demo" / "landing", base / "landing")
            pipeline.run(spark, settings, RunContext.create(as_of=AS_OF, started_at=datetime(2025, 4, 1, 6)))
            (base / ".built").touch()
            build = round(time.perf_counter() - t0, 1)
        xref = spark.read.format("delta").load(Lake(str(base)).platform("person_xref"))
        records = xref.count()
        ranked = [
            r.person_id
            for r in xref.groupBy("person_id").count().orderBy(F.col("count").desc(), "person_id").collect()
        ]
        out: dict[str, object] = {
            "families_per_authority": args.families,
            "records": records,
            "people": len(ranked),
            "pipeline_seconds": build,
            "erase_seconds": {},
        }
        for n in args.people:
            lake = work / f"lake-{n}"
            shutil.copytree(base, lake, ignore=shutil.ignore_patterns(".built"))
            s = Settings(
                lake_root=str(lake), landing_root=str(lake / "landing"), jars_dir=str(ROOT / ".jars")
            )
            now = datetime(2025, 4, 2, 9, 0)

            def gold(as_of: date, s: Settings = s, now: datetime = now) -> object:
                return pipeline.gold(spark, s, RunContext.create(as_of=as_of, started_at=now))

            requests = [ErasureRequest(pid, f"benchmark request {i}") for i, pid in enumerate(ranked[:n])]
            t0 = time.perf_counter()
            phases: dict[str, float] = {}

            def step(
                message: str, t0: float = t0, phases: dict[str, float] = phases, trace: bool = args.trace
            ) -> None:
                # Each step's end, by the first word of its progress line ("tables" at its last
                # table): where the time of an erasure goes.
                if trace:
                    print(f"  {time.perf_counter() - t0:7.1f} s  {message}", flush=True)
                m = re.match(r"tables: (\d+) of (\d+)", message)
                if m is None or m.group(1) == m.group(2):
                    phases[message.split(":")[0].split(" ")[0]] = round(time.perf_counter() - t0, 1)

            result = erase(
                spark,
                str(lake),
                requests,
                actor="benchmark",
                now=now,
                rebuild_gold=gold,
                frequency_keys=lambda v: [model.frequency_key(v)],
                on_progress=step,
            )
            seconds = time.perf_counter() - t0
            out["erase_seconds"][str(n)] = round(seconds, 1)  # type: ignore[index]
            out.setdefault("erase_steps_ended_at", {})[str(n)] = phases  # type: ignore[index]
            print(
                f"erase {n:>3} people: {seconds:6.1f} s ({sum(result.counts.values())} rows in "
                f"{len(result.counts)} tables, {result.files_removed} old files)",
                flush=True,
            )
            print(f"  steps ended at (s from the start): {phases}", flush=True)
            shutil.rmtree(lake)
        print(json.dumps(out, indent=2))
        if args.json:
            args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
