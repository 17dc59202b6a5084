"""Spark job definition entry point: the whole pipeline for one run.

    run_pipeline.py --env dev --storage-account stgmsfdevlake [--as-of YYYY-MM-DD]
    spark-submit jobs/run_pipeline.py --settings local.yaml [--as-of YYYY-MM-DD]

A thin shell around :func:`accelerator.pipeline.run`, holding the lake's lease for the whole run
(exit code 3, the holder named on stderr, when another command keeps it past
``lease_wait_seconds``); on Synapse the session already exists and the settings come from the
workspace storage (see jobs/run_stage.py).
"""

from __future__ import annotations

import argparse
import sys

from accelerator import pipeline
from accelerator.io.lease import LakeBusy
from accelerator.synapse import entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", default="", help="environment parameter file (YAML)")
    parser.add_argument("--env", default="", help="dev, test or prod, instead of --settings")
    parser.add_argument("--storage-account", default="", help="the workspace storage account (on Synapse)")
    parser.add_argument("--as-of", default="", help="reference date, default today (UTC)")
    parser.add_argument("--lake-root", default=None)
    parser.add_argument("--landing-root", default=None)
    args = parser.parse_args(argv)
    settings = entry.load_settings(
        env=args.env,
        storage_account=args.storage_account,
        settings_file=args.settings,
        lake_root=args.lake_root,
        landing_root=args.landing_root,
    )
    ctx = entry.run_context(args.as_of)
    try:
        with entry.writer_lease(
            settings.lake_root,
            "run_pipeline",
            wait_seconds=settings.lease_wait_seconds,
            duration_seconds=settings.lease_duration_seconds,
            run_id=ctx.run_id,
            credential=entry.runtime_for(args.storage_account).credential(),
        ):
            result = pipeline.run(entry.session_for(settings), settings, ctx)
    except LakeBusy as e:
        print(e, file=sys.stderr)
        raise SystemExit(3) from None
    print(result.bronze.by_status())


if __name__ == "__main__":
    main()
