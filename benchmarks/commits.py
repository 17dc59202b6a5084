"""The least a Delta commit costs on this machine: the floor under a run that writes many tables.

    .venv/bin/python benchmarks/commits.py [--tables 40] [--rows 2000] [--delta-rows 200]

Creates ``--tables`` small Delta tables of three columns, then commits to each in turn by
append, by MERGE (update and insert on a key) and by overwrite, with one, two and four threads,
and prints the wall time per commit, twice (the second round has a warm JVM). Three narrow
columns are the cheapest table there is: the pipeline's own tables have 20 to 60 columns and
cost more. The monthly run's commits (``docs/scale.md``) are priced from these figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.spark import get_spark

ROOT = Path(__file__).resolve().parents[1]


def _frame(spark: SparkSession, start: int, end: int, tag: str) -> DataFrame:
    return spark.range(start, end).select(
        F.col("id").cast("string").alias("k"), F.col("id").alias("v"), F.lit(tag).alias("s")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=40)
    ap.add_argument("--rows", type=int, default=2000, help="rows in each table before the commits")
    ap.add_argument("--delta-rows", type=int, default=200, help="rows in each commit, half of them new")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    spark = get_spark(jars_dir=ROOT / ".jars")
    spark.sparkContext.setLogLevel("ERROR")
    root = Path(tempfile.mkdtemp(prefix="bench-commits-"))
    paths = [str(root / f"t{i}") for i in range(args.tables)]
    try:
        for p in paths:
            _frame(spark, 0, args.rows, "base").write.format("delta").save(p)
        half = args.delta_rows // 2
        source = _frame(spark, args.rows - half, args.rows + half, "new").localCheckpoint()

        def append(p: str) -> None:
            source.write.format("delta").mode("append").save(p)

        def merge(p: str) -> None:
            (
                DeltaTable.forPath(spark, p)
                .alias("t")
                .merge(source.alias("s"), "t.k = s.k")
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )

        def overwrite(p: str) -> None:
            source.write.format("delta").mode("overwrite").save(p)

        ops: dict[str, Callable[[str], None]] = {"append": append, "merge": merge, "overwrite": overwrite}
        results: list[dict[str, object]] = []
        print(f"{'round':>5} {'commit':<10} {'threads':>7} {'s per commit':>13}")
        for rnd in (1, 2):
            for name, op in ops.items():
                for threads in (1, 2, 4):
                    t0 = time.perf_counter()
                    with ThreadPoolExecutor(max_workers=threads) as pool:
                        list(pool.map(op, paths))
                    per = (time.perf_counter() - t0) / len(paths)
                    results.append(
                        {
                            "round": rnd,
                            "commit": name,
                            "threads": threads,
                            "seconds_per_commit": round(per, 3),
                        }
                    )
                    print(f"{rnd:>5} {name:<10} {threads:>7} {per:>13.3f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
