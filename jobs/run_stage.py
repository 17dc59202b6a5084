"""Spark job definition entry point: one stage of the pipeline (bronze, silver, link, gold, acl).

    run_stage.py --stage silver --env dev --storage-account stgmsfdevlake [--as-of YYYY-MM-DD]
    run_stage.py --stage bronze --settings local.yaml --authority bury

On Synapse the settings come from ``accelerator/environments/<env>.yaml`` in the workspace storage
account (the release copies them there from infra/environments); locally from ``--settings`` or
infra/environments. Prints the stage's summary as one JSON line; exit code 1 when the acl stage
finds drift, 3 when another command held the lake's lease for longer than ``lease_wait_seconds``
(its holder named on stderr). A thin shell around :func:`accelerator.pipeline.run_stage`.
"""

from __future__ import annotations

import argparse
import json
import sys

from accelerator.io.lease import LakeBusy
from accelerator.pipeline import STAGES
from accelerator.synapse import entry


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--env", default="", help="dev, test or prod: infra/environments/<env>.yaml")
    p.add_argument("--storage-account", default="", help="the workspace storage account (on Synapse)")
    p.add_argument("--settings", default="", help="a settings file instead of --env (local runs)")
    p.add_argument("--as-of", default="", help="reference date YYYY-MM-DD, default today (UTC)")
    p.add_argument("--authority", default="", help="bronze only: these authorities (comma-separated)")
    p.add_argument("--apply-acls", action="store_true", help="acl only: set the ACLs, then check")
    p.add_argument("--pipeline-user", default=None, help="acl on a local lake: the pipeline's user")
    p.add_argument("--lake-root", default=None)
    p.add_argument("--landing-root", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = entry.load_settings(
        env=args.env,
        storage_account=args.storage_account,
        settings_file=args.settings,
        lake_root=args.lake_root,
        landing_root=args.landing_root,
    )
    try:
        summary = entry.stage(
            entry.session_for(settings),
            args.stage,
            settings=settings,
            storage_account=args.storage_account,
            as_of=args.as_of,
            authority=args.authority,
            apply_acls=args.apply_acls,
            pipeline_user=args.pipeline_user,
        )
    except LakeBusy as e:
        print(e, file=sys.stderr)
        return 3
    print(json.dumps(summary, sort_keys=True))
    return 1 if summary.get("ok") is False else 0


if __name__ == "__main__":
    sys.exit(main())
