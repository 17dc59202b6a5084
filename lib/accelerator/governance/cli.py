"""``accelerator acl``: plan, apply and check the storage ACLs of the custodianship config.

    accelerator acl plan  --config infra/custodianship.yaml [--format json] [--principal GROUP]
    accelerator acl apply --config F --lake DIR --local [--pipeline-user USER]
    accelerator acl apply --config F --account NAME [--lake CONTAINER]
    accelerator acl drift --config F --lake DIR --local | --account NAME [--deep | --shallow]
                          [--sample-above N]                               (exit 1 on drift)

Also runnable as ``python -m accelerator.governance.cli``. Exit codes: 0 done / no drift,
1 drift or failures, 2 an invalid config or target.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from accelerator.governance.acl_plan import DEEP_LIMIT, AclPlan, ApplyReport, PlanError, Scope, plan_acls
from accelerator.governance.custodianship import (
    DEFAULT_CONFIG,
    Custodianship,
    CustodianshipError,
    load_custodianship,
)
from accelerator.io.abfss import parse_abfss

app = typer.Typer(
    help="Storage ACLs that mirror the custodianship config (custodianship.md).",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The custodianship config (YAML).")]
FormatOpt = Annotated[str, typer.Option("--format", help="text or json.")]
LakeOpt = Annotated[
    str | None,
    typer.Option("--lake", help="Local: the lake folder. Azure: the container or an abfss:// URL (lake)."),
]
LocalOpt = Annotated[bool, typer.Option("--local", help="POSIX ACLs on a local lake folder.")]
AccountOpt = Annotated[str | None, typer.Option("--account", help="ADLS Gen2 storage account name.")]
PipelineOpt = Annotated[
    str | None,
    typer.Option("--pipeline-user", help="Local user standing for the pipeline identity (default: you)."),
]
ShallowOpt = Annotated[
    bool, typer.Option("--shallow", help="Azure: read only the planned directories, not every path.")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _config(config: Path) -> Custodianship:
    try:
        return load_custodianship(config)
    except CustodianshipError as e:
        raise _fail(str(e)) from e


def _load(config: Path) -> AclPlan:
    try:
        return plan_acls(_config(config))
    except PlanError as e:
        raise _fail(str(e)) from e


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise _fail(f"--format must be text or json, not {fmt!r}")


def _plan_json(plan: AclPlan) -> dict[str, Any]:
    return {
        "pipeline": plan.pipeline,
        "warnings": list(plan.warnings),
        "paths": [
            {
                "path": p.path,
                "kind": p.kind,
                "note": p.note,
                "access": [str(e) for e in p.acl.access],
                "default": [str(e) for e in p.acl.default],
                "named_entries": dict(zip(("access", "default"), p.acl.named_counts(), strict=True)),
            }
            for p in plan.paths
        ],
    }


@app.command()
def plan(
    config: ConfigOpt = Path(DEFAULT_CONFIG),
    fmt: FormatOpt = "text",
    principal: Annotated[
        str | None, typer.Option("--principal", help="Only the paths where this principal has an entry.")
    ] = None,
) -> None:
    """Print the exact ACL entries, access and default, of every path of the lake."""
    _check_format(fmt)
    acl_plan = _load(config)
    if principal is not None:
        rows: list[dict[str, str]] = [
            {"path": p, "access": a, "default": d} for p, a, d in acl_plan.rights_of(principal)
        ]
        through = acl_plan.traverse
        if through and through != principal and principal in _config(config).member_groups:
            rows += [
                {"path": p, "access": a, "default": d, "through": through}
                for p, a, d in acl_plan.rights_of(through)
            ]
        rows.sort(key=lambda r: r["path"])
        if fmt == "json":
            typer.echo(json.dumps(rows, indent=2))
            return
        typer.echo(f"{principal}: {len(rows)} path(s) (r read, w write, x traverse)")
        for r in rows:
            via = f"  (through {r['through']})" if "through" in r else ""
            typer.echo(f"  {r['path']:<42} access {r['access']}  default {r['default']}{via}")
        return
    if fmt == "json":
        typer.echo(json.dumps(_plan_json(acl_plan), indent=2))
        return
    for w in acl_plan.warnings:
        typer.echo(f"warning: {w}")
    for p in acl_plan.paths:
        access, default = p.acl.named_counts()
        typer.echo(f"{p.path or '/'}  [{p.kind}] {p.note}")
        typer.echo(f"  access ({access} named):  " + ",".join(str(e) for e in p.acl.access))
        typer.echo(f"  default ({default} named): " + ",".join(str(e) for e in p.acl.default))
    most = max(p.acl.named_count() for p in acl_plan.paths)
    typer.echo(
        f"{len(acl_plan.paths)} paths; at most {most} named entries on a path (ADLS allows 28); "
        f"pipeline identity {acl_plan.pipeline}"
    )


class _Target:
    """Where to apply: a local folder or an Azure container."""

    def __init__(self, config: Path, lake: str | None, local: bool, account: str | None) -> None:
        if local == bool(account):
            raise _fail("choose one target: --local (with --lake DIR) or --account NAME")
        self.config = config
        self.local = local
        self.lake = lake
        self.account = account
        self.filesystem = "lake"
        if local and not lake:
            raise _fail("--local needs --lake DIR, the lake folder")
        if not local and lake:
            url = parse_abfss(lake)
            if url is None:
                self.filesystem = lake
            elif not url.is_container_root:
                raise _fail("the lake root must be a container root: abfss://<container>@<account>...")
            elif url.account != account:
                raise _fail(f"--lake names account {url.account}, --account says {account}")
            else:
                self.filesystem = url.filesystem

    def azure(self, acl_plan: AclPlan) -> Any:
        from accelerator.governance.acl_azure import AzureAclError, AzureLake, connect, object_id_map

        try:
            ids = object_id_map(acl_plan, load_custodianship(self.config))
        except AzureAclError as e:
            raise _fail(str(e)) from e
        assert self.account is not None
        return AzureLake(connect(self.account, self.filesystem), acl_plan, ids)


def _pipeline_user(given: str | None) -> str:
    return given or pwd.getpwuid(os.geteuid()).pw_name


def _report(report: ApplyReport, fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(asdict(report), indent=2))
    else:
        for w in report.warnings:
            typer.echo(f"warning: {w}")
        for f in report.failures:
            typer.echo(f"failed: {f}")
        typer.echo(f"applied: {report.summary()}")
        if report.changed:
            more = len(report.changed) - 20
            shown = ", ".join(p or "/" for p in report.changed[:20])
            typer.echo(f"changed: {shown}" + (f" and {more} more" if more > 0 else ""))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def apply(
    config: ConfigOpt = Path(DEFAULT_CONFIG),
    lake: LakeOpt = None,
    local: LocalOpt = False,
    account: AccountOpt = None,
    pipeline_user: PipelineOpt = None,
    shallow: ShallowOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Create missing directories and set every ACL and owner the config implies; safe to repeat."""
    _check_format(fmt)
    target = _Target(config, lake, local, account)
    acl_plan = _load(config)
    with _lease(target):
        report = _apply(target, acl_plan, config, pipeline_user, shallow)
    _report(report, fmt)


LEASE_BUSY = 3
"""Exit code when another writer holds the lake's lease for longer than ``apply`` waits (as the main CLI)."""


@contextlib.contextmanager
def _lease(target: _Target) -> Iterator[None]:
    """The lake's writer lease (``accelerator.io.lease``) for the apply: ACLs are not set under a run
    that is creating folders. Only with a lake root (``--lake``): an account alone names no lake."""
    if not target.lake:
        yield
        return
    import socket
    import time
    from datetime import UTC, datetime

    from accelerator.io.lease import MAX_DURATION, Holder, LakeBusy, held

    root = str(Path(target.lake).resolve()) if target.local else str(target.lake)
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    me = Holder(command="acl apply", host=socket.gethostname(), pid=os.getpid(), since=since, run_id="")
    wait = float(os.environ.get("ACCELERATOR_LEASE_WAIT_SECONDS") or 600)
    try:
        with held(
            root, me, wait_seconds=wait, duration_seconds=MAX_DURATION, clock=time.monotonic, sleep=time.sleep
        ):
            yield
    except LakeBusy as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(LEASE_BUSY) from None


def _apply(
    target: _Target, acl_plan: AclPlan, config: Path, pipeline_user: str | None, shallow: bool
) -> ApplyReport:
    if target.local:
        from accelerator.governance.acl_local import LocalAclError, apply_local

        try:
            report = apply_local(
                acl_plan,
                Path(str(target.lake)),
                pipeline_user=_pipeline_user(pipeline_user),
                config=_config(config),
            )
        except LocalAclError as e:
            raise _fail(str(e)) from e
        return report
    return target.azure(acl_plan).apply(deep=not shallow)


DeepOpt = Annotated[
    bool,
    typer.Option(
        "--deep/--shallow",
        help="--deep (default): every file and folder, ACL and owner; --shallow: the planned directories.",
    ),
]
SampleOpt = Annotated[
    int | None,
    typer.Option(
        "--sample-above",
        help="Check everything up to N paths; above N, every directory and the newest files of each.",
    ),
]


@app.command()
def drift(
    config: ConfigOpt = Path(DEFAULT_CONFIG),
    lake: LakeOpt = None,
    local: LocalOpt = False,
    account: AccountOpt = None,
    pipeline_user: PipelineOpt = None,
    deep: DeepOpt = True,
    sample_above: SampleOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """List every path whose ACL or owner differs from the config; exit 1 when there is any."""
    _check_format(fmt)
    target = _Target(config, lake, local, account)
    acl_plan = _load(config)
    scope: Scope = "auto" if sample_above is not None else "deep" if deep else "planned"
    limit = sample_above if sample_above is not None else DEEP_LIMIT
    if target.local:
        from accelerator.governance.acl_local import LocalAclError, check_local

        try:
            check = check_local(
                acl_plan,
                Path(str(target.lake)),
                pipeline_user=_pipeline_user(pipeline_user),
                scope=scope,
                limit=limit,
                config=_config(config),
            )
        except LocalAclError as e:
            raise _fail(str(e)) from e
    else:
        check = target.azure(acl_plan).check(scope, limit=limit)
    drifts = check.drifts
    if fmt == "json":
        out = {
            "scope": check.scope,
            "drifts": [{"path": d.path, "problems": list(d.problems)} for d in drifts],
        }
        typer.echo(json.dumps(out, indent=2))
    else:
        for d in drifts:
            typer.echo(f"drift: {d}")
        where = target.lake if target.local else f"{target.account}/{target.filesystem}"
        done = f"{len(drifts)} path(s) differ from {config} in {where}" if drifts else "no drift"
        typer.echo(f"{done} ({check.scope})")
    if drifts:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
