"""Spark job definition entry point: the whole pipeline for one run.

    spark-submit jobs/run_pipeline.py --settings infra/environments/dev.yaml [--as-of YYYY-MM-DD]

A thin shell around :func:`accelerator.pipeline.run`; on Synapse the session already exists.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from accelerator import pipeline
from accelerator.config import RunContext, Settings
from accelerator.spark import get_spark


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", required=True, help="environment parameter file (YAML)")
    parser.add_argument("--as-of", default="", help="reference date, default today (UTC)")
    parser.add_argument("--lake-root", default=None)
    parser.add_argument("--landing-root", default=None)
    args = parser.parse_args(argv)
    settings = Settings.from_file(args.settings, lake_root=args.lake_root, landing_root=args.landing_root)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    as_of = date.fromisoformat(args.as_of) if args.as_of else now.date()
    spark = get_spark(jars_dir=settings.jars_dir)
    result = pipeline.run(spark, settings, RunContext.create(as_of=as_of, started_at=now))
    print(result.bronze.by_status())


if __name__ == "__main__":
    main()
