"""Bronze throughput and memory: rows per second landed, and the driver's peak memory.

    .venv/bin/python benchmarks/bronze.py [--families 3000] [--seed 7] [--keep DIR]
    .venv/bin/python benchmarks/bronze.py --big [--rows 2000000] [--small 300] [--keep DIR]

Default: generates ``--families`` families per authority (all ten authorities, all ten feeds, with
the messiness of feeds.md) and lands them. ``--big`` (issue 17) lands one police_incidents
delivery of ``--rows`` rows (about 250 bytes a row: 2 million rows is about 500 MB) plus a backlog
of ``--small`` small deliveries (50 rows each, spread over the ten authorities), and prints rows/s
and the peak resident memory of the driver's Python process and of its JVM (a 768 MiB heap unless
``--driver-memory`` says otherwise), their sum, and whether issue 17's targets are met.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from accelerator.bronze.land import BATCH_ROWS, run_bronze
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.io.storage import LocalStorage
from accelerator.spark import get_spark
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]
POLICE = FEEDS["police_incidents"].column_names
_STREETS = ("Chorley New Road", "Bury Old Road", "Manchester Road", "Wigan Lane", "Stockport Road")
_TOWNS = ("Horwich, Bolton", "Prestwich, Bury", "Failsworth, Oldham", "Swinton, Salford", "Hyde, Tameside")


def _police_line(i: int) -> str:
    street, town = _STREETS[i % 5], _TOWNS[(i // 5) % 5]
    address = (
        f"Flat {i % 40 + 1}, {i % 397 + 1} {street}, {town}, Greater Manchester, "
        f"England, United Kingdom, near the {('old mill', 'church', 'park', 'school')[i % 4]} "
        f"and the {('canal', 'station', 'market')[i % 3]}"
    )
    values = [
        f"GMP-26-{i:08d}",
        f"N{i % 700_000:07d}",
        ("OFFENDER", "SUSPECT", "VICTIM", "WITNESS")[i % 4],
        ("Zoë", "Chloé", "Renée", "William", "Aaliyah")[i % 5],
        ("O'Brien", "Smith", "Nowak", "Khan", "Jones")[(i // 7) % 5],
        f"{1960 + i % 50}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        ("M", "F", "U")[i % 3],
        f'"{address}"',
        f"BL{i % 9 + 1} {i % 9}SW",
        f"2026-10-{i % 28 + 1:02d}",
        ("CRIME", "ASB")[i % 2],
        "THEFT" if i % 2 == 0 else "",
        ("Y", "N")[i % 2],
    ]
    return ",".join(values) + "\r\n"


def _write_delivery(landing: Path, authority: str, folder: str, rows: range) -> int:
    """One police delivery with its manifest, streamed to disk; returns its size in bytes."""
    d = landing / authority / "police_incidents" / folder
    d.mkdir(parents=True, exist_ok=True)
    name = f"police_incidents_{authority}_{folder[:10].replace('-', '')}.csv"
    digest, size = hashlib.sha256(), 0
    with (d / name).open("wb") as f:
        buf = [",".join(POLICE) + "\r\n"]
        for i in rows:
            buf.append(_police_line(i))
            if len(buf) >= 10_000:
                chunk = "".join(buf).encode()
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                buf = []
        chunk = "".join(buf).encode()
        f.write(chunk)
        digest.update(chunk)
        size += len(chunk)
    manifest = {
        "feed": "police_incidents",
        "authority": authority,
        "extract_date": folder[:10],
        "files": [{"name": name, "rows": len(rows), "sha256": digest.hexdigest()}],
    }
    (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return size


def _jvm_peak_mib(spark: Any) -> int | None:
    """The JVM's peak resident memory (VmHWM) so far, from /proc (Linux)."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return None


def _cpu_seconds(spark: Any) -> tuple[float, float]:
    """CPU seconds used so far by this Python process and by the JVM."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    jvm = spark.sparkContext._jvm.java.lang.ProcessHandle.current().info().totalCpuDuration()
    return own.ru_utime + own.ru_stime, (jvm.get().toMillis() / 1000 if jvm.isPresent() else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--big", action="store_true", help="one large delivery and a backlog (issue 17)")
    parser.add_argument("--rows", type=int, default=2_000_000, help="--big: rows in the large delivery")
    parser.add_argument("--small", type=int, default=300, help="--big: small deliveries in the backlog")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated data and lake here")
    parser.add_argument(
        "--driver-memory",
        default=None,
        help="the JVM's heap (spark.driver.memory): 768m with --big (a JVM grows towards its heap "
        "before it collects, so a bigger heap says nothing of what bronze needs), else 6g",
    )
    parser.add_argument("--conf", action="append", default=[], help="a Spark setting KEY=VALUE (repeatable)")
    args = parser.parse_args()
    if args.driver_memory is None:
        args.driver_memory = "768m" if args.big else "6g"
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-bronze-"))
    as_of = date.fromisoformat(args.as_of)
    try:
        t0 = time.perf_counter()
        figures: dict[str, Any] = {}
        if args.big:
            landing = work / "landing"
            big = _write_delivery(landing, "bolton", "2026-10-31", range(args.rows))
            authorities = list(AUTHORITIES)
            start = date(2024, 1, 31)
            for k in range(args.small):
                month = start + timedelta(days=31 * (k // len(authorities)))
                folder = month.isoformat()
                authority = authorities[k % len(authorities)]
                _write_delivery(landing, authority, folder, range(k * 50, k * 50 + 50))
            figures.update(big_rows=args.rows, big_mb=round(big / 1e6), small_deliveries=args.small)
            summary: object = ""
        else:
            summary = generate(work, families_per_authority=args.families, seed=args.seed, as_of=as_of)
            figures["families_per_authority"] = args.families
        t_gen = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        spark = get_spark(
            jars_dir=ROOT / ".jars",
            extra_conf={
                "spark.driver.memory": args.driver_memory,
                **dict(c.split("=", 1) for c in args.conf),
            },
        )
        spark.sparkContext.setLogLevel("ERROR")
        settings = Settings(lake_root=str(work / "lake"), landing_root=str(work / "landing"))
        ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
        cpu0 = _cpu_seconds(spark)
        t1 = time.perf_counter()
        assessed: list[float] = []
        result = run_bronze(
            spark,
            settings,
            ctx,
            LocalStorage(),
            batch_rows=args.batch_rows,
            on_outcome=lambda _: assessed.append(time.perf_counter()),
        )
        t_bronze = time.perf_counter() - t1
        cpu1 = _cpu_seconds(spark)
        rows = result.rows_loaded + result.rows_quarantined
        figures.update(
            deliveries=len(result.outcomes),
            by_status=result.by_status(),
            rows_loaded=result.rows_loaded,
            rows_quarantined=result.rows_quarantined,
            batch_rows=args.batch_rows,
            generate_seconds=round(t_gen, 1),
            bronze_seconds=round(t_bronze, 1),
            assess_seconds=round(max(assessed) - t1, 1) if assessed else 0.0,
            bronze_rows_per_second=round(rows / t_bronze),
            python_peak_rss_mib_before_bronze=rss_before,
            python_peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            jvm_peak_rss_mib=_jvm_peak_mib(spark),
            driver_memory=args.driver_memory,
            conf=args.conf,
            bronze_cpu_seconds_python=round(cpu1[0] - cpu0[0], 1),
            bronze_cpu_seconds_jvm=round(cpu1[1] - cpu0[1], 1),
        )
        driver = figures["python_peak_rss_mib"] + (figures["jvm_peak_rss_mib"] or 0)
        figures["driver_peak_rss_mib"] = driver
        print(json.dumps(figures, indent=2))
        if args.big:  # issue 17's targets for the big delivery
            speed = figures["bronze_rows_per_second"]
            verdict = {True: "met", False: "NOT met"}
            print(
                f"targets: {speed:,} rows/s (20,000: {verdict[speed >= 20_000]}); driver peak RSS, "
                f"Python + JVM, {driver:,} MiB (under 2,048: {verdict[driver < 2048]})"
            )
        if summary:
            print(summary)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
