"""``accelerator acl``: plan, apply and check the storage ACLs of the custodianship config.

    accelerator acl plan  --config infra/custodianship.yaml [--format json] [--principal GROUP]
    accelerator acl apply --config F --lake DIR --local [--pipeline-user USER]
    accelerator acl apply --config F --account NAME [--lake CONTAINER]
    accelerator acl drift --config F --lake DIR --local | --account NAME   (exit 1 on drift)

Also runnable as ``python -m accelerator.governance.cli``. Exit codes: 0 done / no drift,
1 drift or failures, 2 an invalid config or target.
"""

from __future__ import annotations

import json
import os
import pwd
import re
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from accelerator.governance.acl_plan import AclPlan, ApplyReport, Drift, PlanError, plan_acls
from accelerator.governance.custodianship import DEFAULT_CONFIG, CustodianshipError, load_custodianship

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

_ABFSS = re.compile(r"^abfss://(?P<fs>[^@/]+)@(?P<account>[^./]+)\.dfs\.core\.windows\.net/?(?P<path>.*)$")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _load(config: Path) -> AclPlan:
    try:
        return plan_acls(load_custodianship(config))
    except (CustodianshipError, PlanError) as e:
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
        rows = acl_plan.rights_of(principal)
        if fmt == "json":
            typer.echo(json.dumps([{"path": p, "access": a, "default": d} for p, a, d in rows], indent=2))
            return
        typer.echo(f"{principal}: {len(rows)} path(s) (r read, w write, x traverse)")
        for path, acc, dfl in rows:
            typer.echo(f"  {path:<42} access {acc}  default {dfl}")
        return
    if fmt == "json":
        typer.echo(json.dumps(_plan_json(acl_plan), indent=2))
        return
    for w in acl_plan.warnings:
        typer.echo(f"warning: {w}")
    for p in acl_plan.paths:
        typer.echo(f"{p.path or '/'}  [{p.kind}] {p.note}")
        typer.echo("  access:  " + ",".join(str(e) for e in p.acl.access))
        typer.echo("  default: " + ",".join(str(e) for e in p.acl.default))
    typer.echo(f"{len(acl_plan.paths)} paths; pipeline identity {acl_plan.pipeline}")


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
            m = _ABFSS.match(lake)
            if m:
                if m["path"].strip("/"):
                    raise _fail("the lake root must be a container root: abfss://<container>@<account>...")
                if m["account"] != account:
                    raise _fail(f"--lake names account {m['account']}, --account says {account}")
                self.filesystem = m["fs"]
            else:
                self.filesystem = lake

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
    """Create missing directories and set every ACL the config implies; safe to repeat."""
    _check_format(fmt)
    target = _Target(config, lake, local, account)
    acl_plan = _load(config)
    if target.local:
        from accelerator.governance.acl_local import LocalAclError, apply_local

        try:
            report = apply_local(
                acl_plan, Path(str(target.lake)), pipeline_user=_pipeline_user(pipeline_user)
            )
        except LocalAclError as e:
            raise _fail(str(e)) from e
    else:
        report = target.azure(acl_plan).apply(deep=not shallow)
    _report(report, fmt)


@app.command()
def drift(
    config: ConfigOpt = Path(DEFAULT_CONFIG),
    lake: LakeOpt = None,
    local: LocalOpt = False,
    account: AccountOpt = None,
    pipeline_user: PipelineOpt = None,
    shallow: ShallowOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """List every path whose ACL differs from the config; exit 1 when there is any."""
    _check_format(fmt)
    target = _Target(config, lake, local, account)
    acl_plan = _load(config)
    drifts: list[Drift]
    if target.local:
        from accelerator.governance.acl_local import LocalAclError, drift_local

        try:
            drifts = drift_local(
                acl_plan, Path(str(target.lake)), pipeline_user=_pipeline_user(pipeline_user)
            )
        except LocalAclError as e:
            raise _fail(str(e)) from e
    else:
        drifts = target.azure(acl_plan).drift(deep=not shallow)
    if fmt == "json":
        typer.echo(json.dumps([{"path": d.path, "problems": list(d.problems)} for d in drifts], indent=2))
    else:
        for d in drifts:
            typer.echo(f"drift: {d}")
        where = target.lake if target.local else f"{target.account}/{target.filesystem}"
        typer.echo(f"{len(drifts)} path(s) differ from {config} in {where}" if drifts else "no drift")
    if drifts:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
