"""The Synapse workspace artifacts, generated from ``notebooks/*.ipynb`` and ``jobs/`` into
``infra/synapse/`` (the folder layout the Synapse workspace deployment task reads):

- ``notebook/nb_<name>.json``: each notebook, cells and parameters cell as in the source;
- ``sparkJobDefinition/sjd_<stage>.json``: ``jobs/run_stage.py --stage <stage>`` per stage, and
  ``sjd_pipeline.json`` for ``jobs/run_pipeline.py``;
- ``pipeline/pl_nightly.json``: the stages in order, one as_of for the whole run;
- ``trigger/tr_nightly.json``: the pipeline every night at 02:00 UTC with as_of = that day;
- ``linkedService/ls_keyvault.json`` (secrets) and ``ls_lake.json`` (the lake, workspace identity);
- ``template-parameters-definition.json``: every environment-specific value (storage account, Key
  Vault, Spark pool, the pipeline's env) becomes a template parameter that the release overrides
  (:func:`overrides`); the committed JSON holds placeholders only.

    python -m tools.synapse_artifacts build [--root .] [--out infra/synapse]
    python -m tools.synapse_artifacts check [--root .] [--out infra/synapse]   (exit 1: stale)
    python -m tools.synapse_artifacts overrides --env dev --storage-account A --key-vault K
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accelerator.pipeline import STAGES
from accelerator.synapse.runtime import KEY_VAULT_LINKED_SERVICE

STORAGE_ACCOUNT = "STORAGE_ACCOUNT"
"""Placeholder for the workspace storage account (Bicep output ``storageAccountName``)."""
KEY_VAULT = "KEY_VAULT"
"""Placeholder for the environment's Key Vault (Bicep output ``keyVaultName``)."""
SPARK_POOL = "sparkpool"
"""The pool of infra/bicep/main.bicep; parameterised all the same (a template parameter)."""
SPARK_VERSION = "3.5"

PIPELINE = "pl_nightly"
TRIGGER = "tr_nightly"
LAKE_LINKED_SERVICE = "ls_lake"
PIPELINE_PARAMETERS = ("env", "storage_account", "spark_pool", "as_of")
NIGHTLY_AT = (2, 0)  # hour, minute UTC: after the partners' evening uploads

# Notebooks that change the lake, or read silver/_platform, run as the workspace identity (the
# pipeline's); explore_family runs as the user, so the ACLs limit them to their own authority.
RUN_AS_USER = frozenset({"explore_family"})

# Small node (4 cores, 32 GB): one driver and two executors per job, as the pool autoscales.
SESSION = {"driverMemory": "28g", "driverCores": 4, "executorMemory": "28g", "executorCores": 4}
SPARK_CONF = {
    # The pool's fixed executors; no dynamic allocation (the pool has it off, infra/bicep).
    "spark.dynamicAllocation.enabled": "false",
}


def jobs_url(account: str, script: str) -> str:
    return f"abfss://synapse@{account}.dfs.core.windows.net/accelerator/jobs/{script}"


def _pool_ref(name: Any = SPARK_POOL) -> dict[str, Any]:
    return {"referenceName": name, "type": "BigDataPoolReference"}


def _expr(value: str) -> dict[str, str]:
    return {"value": value, "type": "Expression"}


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    return lines or [""]


def notebook(name: str, nb: Mapping[str, Any]) -> dict[str, Any]:
    """One ``.ipynb`` (nbformat 4) as a Synapse notebook artifact."""
    cells = []
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        out: dict[str, Any] = {
            "cell_type": cell["cell_type"],
            "metadata": dict(cell.get("metadata", {})),
            "source": _lines(source),
        }
        if cell["cell_type"] == "code":
            out["outputs"] = []
            out["execution_count"] = None
        cells.append(out)
    return {
        "name": f"nb_{name}",
        "properties": {
            "folder": {"name": "accelerator/" + ("stages" if name in STAGES else "questions")},
            "nbformat": nb.get("nbformat", 4),
            "nbformat_minor": nb.get("nbformat_minor", 5),
            "bigDataPool": _pool_ref(),
            "sessionProperties": {
                **SESSION,
                "numExecutors": 2,
                "conf": dict(SPARK_CONF),
                "runAsWorkspaceSystemIdentity": name not in RUN_AS_USER,
            },
            "metadata": {
                "kernelspec": {"name": "synapse_pyspark", "display_name": "Synapse PySpark"},
                "language_info": {"name": "python"},
                "description": f"Generated from notebooks/{name}.ipynb; edit the source, not this file.",
            },
            "cells": cells,
        },
    }


def spark_job(name: str, script: str, args: list[str], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "description": description,
            "folder": {"name": "accelerator"},
            "targetBigDataPool": _pool_ref(),
            "requiredSparkVersion": SPARK_VERSION,
            "language": "python",
            "scanFolder": False,
            "jobProperties": {
                "name": name,
                "file": jobs_url(STORAGE_ACCOUNT, script),
                "conf": dict(SPARK_CONF),
                "args": args,
                "jars": [],
                "pyFiles": [],
                "files": [],
                "archives": [],
                **SESSION,
                "numExecutors": 2,
            },
        },
    }


def spark_jobs() -> dict[str, dict[str, Any]]:
    jobs = {
        f"sjd_{s}": spark_job(
            f"sjd_{s}",
            "run_stage.py",
            ["--stage", s],
            f"jobs/run_stage.py --stage {s}; add --env, --storage-account and --as-of (pl_nightly does).",
        )
        for s in STAGES
    }
    jobs["sjd_pipeline"] = spark_job(
        "sjd_pipeline",
        "run_pipeline.py",
        [],
        "jobs/run_pipeline.py: every stage but acl in one job; add --env and --storage-account.",
    )
    return jobs


def nightly_pipeline() -> dict[str, Any]:
    """Set one as_of for the run (the parameter, else the trigger's day), then each stage's job."""
    p = "pipeline().parameters"
    activities: list[dict[str, Any]] = [
        {
            "name": "set_as_of",
            "type": "SetVariable",
            "dependsOn": [],
            "userProperties": [],
            "typeProperties": {
                "variableName": "as_of",
                "value": _expr(
                    f"@if(empty({p}.as_of), formatDateTime(pipeline().TriggerTime, 'yyyy-MM-dd'), {p}.as_of)"
                ),
            },
        }
    ]
    previous = "set_as_of"
    for stage in STAGES:
        args = (
            f"@createArray('--stage', '{stage}', '--env', {p}.env, "
            f"'--storage-account', {p}.storage_account, '--as-of', variables('as_of'))"
        )
        activities.append(
            {
                "name": stage,
                "description": f"jobs/run_stage.py --stage {stage}",
                "type": "SparkJob",
                "dependsOn": [{"activity": previous, "dependencyConditions": ["Succeeded"]}],
                "policy": {
                    "timeout": "0.04:00:00",
                    "retry": 0,
                    "retryIntervalInSeconds": 30,
                    "secureOutput": False,
                    "secureInput": False,
                },
                "userProperties": [],
                "typeProperties": {
                    "sparkJob": {"referenceName": f"sjd_{stage}", "type": "SparkJobDefinitionReference"},
                    "file": _expr(
                        f"@concat('abfss://synapse@', {p}.storage_account, "
                        "'.dfs.core.windows.net/accelerator/jobs/run_stage.py')"
                    ),
                    "args": _expr(args),
                    "targetBigDataPool": _pool_ref(_expr(f"@{p}.spark_pool")),
                },
            }
        )
        previous = stage
    defaults = {"env": "", "storage_account": "", "spark_pool": SPARK_POOL, "as_of": ""}
    return {
        "name": PIPELINE,
        "properties": {
            "description": "Nightly: bronze, silver, link, gold, then the ACL drift check, as of one date.",
            "folder": {"name": "accelerator"},
            "activities": activities,
            "parameters": {k: {"type": "string", "defaultValue": defaults[k]} for k in PIPELINE_PARAMETERS},
            "variables": {"as_of": {"type": "String"}},
            "annotations": [],
        },
    }


def nightly_trigger() -> dict[str, Any]:
    hour, minute = NIGHTLY_AT
    return {
        "name": TRIGGER,
        "properties": {
            "description": "Every night; as_of is the scheduled day (UTC), so a re-run gives the same date.",
            "annotations": [],
            "runtimeState": "Stopped",
            "pipelines": [
                {
                    "pipelineReference": {"referenceName": PIPELINE, "type": "PipelineReference"},
                    "parameters": {"as_of": "@formatDateTime(trigger().scheduledTime, 'yyyy-MM-dd')"},
                }
            ],
            "type": "ScheduleTrigger",
            "typeProperties": {
                "recurrence": {
                    "frequency": "Day",
                    "interval": 1,
                    "startTime": "2025-01-01T00:00:00Z",
                    "timeZone": "UTC",
                    "schedule": {"hours": [hour], "minutes": [minute]},
                }
            },
        },
    }


def linked_services() -> dict[str, dict[str, Any]]:
    return {
        KEY_VAULT_LINKED_SERVICE: {
            "name": KEY_VAULT_LINKED_SERVICE,
            "type": "Microsoft.Synapse/workspaces/linkedservices",
            "properties": {
                "type": "AzureKeyVault",
                "description": "The environment's Key Vault, through the workspace identity (Key Vault "
                "Secrets User) and its managed private endpoint: the only way secrets reach the code.",
                "annotations": [],
                "typeProperties": {"baseUrl": f"https://{KEY_VAULT}.vault.azure.net/"},
            },
        },
        LAKE_LINKED_SERVICE: {
            "name": LAKE_LINKED_SERVICE,
            "type": "Microsoft.Synapse/workspaces/linkedservices",
            "properties": {
                "type": "AzureBlobFS",
                "description": "The lake account (ADLS Gen2) through the workspace identity; no key.",
                "annotations": [],
                "typeProperties": {"url": f"https://{STORAGE_ACCOUNT}.dfs.core.windows.net/"},
            },
        },
    }


def template_parameters() -> dict[str, Any]:
    """What the deployment task turns into template parameters (Synapse/ADF custom parameters)."""
    return {
        "Microsoft.Synapse/workspaces/notebooks": {"properties": {"bigDataPool": {"referenceName": "="}}},
        "Microsoft.Synapse/workspaces/sparkJobDefinitions": {
            "properties": {"targetBigDataPool": {"referenceName": "="}, "jobProperties": {"file": "="}}
        },
        "Microsoft.Synapse/workspaces/pipelines": {
            "properties": {"parameters": {"*": {"defaultValue": "="}}}
        },
        "Microsoft.Synapse/workspaces/linkedServices": {
            "*": {"properties": {"typeProperties": {"baseUrl": "=", "url": "="}}}
        },
    }


def build(root: Path) -> dict[str, Any]:
    """Every artifact, keyed by its path under the artifacts folder."""
    import nbformat

    out: dict[str, Any] = {}
    sources = sorted((root / "notebooks").glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks in {root / 'notebooks'}")
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        out[f"notebook/nb_{path.stem}.json"] = notebook(path.stem, nb)
    for name, job in spark_jobs().items():
        out[f"sparkJobDefinition/{name}.json"] = job
    for name, ls in linked_services().items():
        out[f"linkedService/{name}.json"] = ls
    out[f"pipeline/{PIPELINE}.json"] = nightly_pipeline()
    out[f"trigger/{TRIGGER}.json"] = nightly_trigger()
    out["template-parameters-definition.json"] = template_parameters()
    out["publish_config.json"] = {"publishBranch": "workspace_publish"}
    return out


def render(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write(artifacts: Mapping[str, Any], out: Path) -> list[Path]:
    written = []
    for rel, doc in sorted(artifacts.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(doc), encoding="utf-8")
        written.append(path)
    return written


def stale(artifacts: Mapping[str, Any], out: Path) -> list[str]:
    """Paths under ``out`` that differ from ``artifacts``, are missing, or are not generated."""
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.json")}
    problems = sorted(on_disk - set(artifacts))
    for rel, doc in sorted(artifacts.items()):
        path = out / rel
        if not path.exists() or path.read_text(encoding="utf-8") != render(doc):
            problems.append(rel)
    return problems


def overrides(
    artifacts: Mapping[str, Any],
    *,
    env: str,
    storage_account: str,
    key_vault: str,
    spark_pool: str = SPARK_POOL,
) -> dict[str, str]:
    """Template parameter → value for one environment: what the release passes to the deployment
    task as ``OverrideArmParameters``. Names follow the task's convention (artifact name, then the
    property path of template-parameters-definition.json, joined by ``_``); the release sets
    ``FailOnMissingOverrides`` so a name the task does not generate fails the deployment."""
    out: dict[str, str] = {}
    for rel, doc in sorted(artifacts.items()):
        kind, name = rel.split("/")[0], str(doc.get("name", ""))
        props = doc.get("properties", {})
        if kind == "notebook":
            out[f"{name}_properties_bigDataPool_referenceName"] = spark_pool
        elif kind == "sparkJobDefinition":
            script = props["jobProperties"]["file"].rsplit("/", 1)[1]
            out[f"{name}_properties_targetBigDataPool_referenceName"] = spark_pool
            out[f"{name}_properties_jobProperties_file"] = jobs_url(storage_account, script)
        elif kind == "pipeline":
            values = {"env": env, "storage_account": storage_account, "spark_pool": spark_pool}
            for param in props["parameters"]:
                out[f"{name}_properties_parameters_{param}_defaultValue"] = values.get(param, "")
        elif kind == "linkedService":
            for key in props["typeProperties"]:
                url = (
                    f"https://{key_vault}.vault.azure.net/"
                    if props["type"] == "AzureKeyVault"
                    else f"https://{storage_account}.dfs.core.windows.net/"
                )
                out[f"{name}_properties_typeProperties_{key}"] = url
    return out


def override_string(values: Mapping[str, str]) -> str:
    """``-name value`` pairs, values quoted, for the task's ``OverrideArmParameters`` input."""
    return " ".join(f"-{k} {json.dumps(v)}" for k, v in sorted(values.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.synapse_artifacts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in ("build", "check", "overrides"):
        c = sub.add_parser(cmd)
        c.add_argument("--root", type=Path, default=Path("."), help="the repository root")
        c.add_argument("--out", type=Path, default=None, help="default: <root>/infra/synapse")
        if cmd == "overrides":
            c.add_argument("--env", required=True)
            c.add_argument("--storage-account", required=True)
            c.add_argument("--key-vault", required=True)
            c.add_argument("--spark-pool", default=SPARK_POOL)
    args = parser.parse_args(argv)
    artifacts = build(args.root)
    out = args.out or args.root / "infra" / "synapse"
    if args.command == "build":
        for path in write(artifacts, out):
            print(path)
        return 0
    if args.command == "check":
        problems = stale(artifacts, out)
        for rel in problems:
            print(f"stale or unexpected: {out / rel}", file=sys.stderr)
        if problems:
            print("regenerate: python -m tools.synapse_artifacts build", file=sys.stderr)
        return 1 if problems else 0
    values = overrides(
        artifacts,
        env=args.env,
        storage_account=args.storage_account,
        key_vault=args.key_vault,
        spark_pool=args.spark_pool,
    )
    print(override_string(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
