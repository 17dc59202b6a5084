"""infra/synapse: generated from notebooks/ and jobs/, committed, well-formed, environment-free."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from accelerator.pipeline import STAGES
from tools import synapse_artifacts as A

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "infra" / "synapse"
BUILT = A.build(ROOT)


def _load(rel: str) -> Any:
    return json.loads((OUT / rel).read_text(encoding="utf-8"))


def _strings(doc: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _strings(v, (*path, str(k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _strings(v, (*path, str(i)))
    elif isinstance(doc, str):
        yield path, doc


def test_committed_artifacts_equal_a_fresh_generation(tmp_path: Path) -> None:
    assert A.stale(BUILT, OUT) == [], "run: python -m tools.synapse_artifacts build"
    A.write(BUILT, tmp_path)
    for rel in BUILT:
        assert (tmp_path / rel).read_text() == (OUT / rel).read_text()


def test_check_command_reports_an_edited_artifact(tmp_path: Path) -> None:
    A.write(BUILT, tmp_path)
    assert A.main(["check", "--root", str(ROOT), "--out", str(tmp_path)]) == 0
    (tmp_path / "pipeline" / "pl_nightly.json").write_text("{}\n")
    (tmp_path / "notebook" / "nb_stray.json").write_text("{}\n")
    assert A.stale(BUILT, tmp_path) == ["notebook/nb_stray.json", "pipeline/pl_nightly.json"]
    assert A.main(["check", "--root", str(ROOT), "--out", str(tmp_path)]) == 1


def test_one_notebook_artifact_per_source_with_cells_and_parameters_kept() -> None:
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for src in sources:
        doc = _load(f"notebook/nb_{src.stem}.json")
        nb = nbformat.read(src, as_version=4)
        props = doc["properties"]
        assert doc["name"] == f"nb_{src.stem}"
        assert props["nbformat"] == 4
        assert props["metadata"]["kernelspec"]["name"] == "synapse_pyspark"
        assert props["bigDataPool"] == {"referenceName": A.SPARK_POOL, "type": "BigDataPoolReference"}
        assert ["".join(c["source"]) for c in props["cells"]] == [c.source for c in nb.cells]
        tagged = [c for c in props["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"
        # Stages write the lake and questions on linkage read silver/_platform: pipeline identity.
        assert props["sessionProperties"]["runAsWorkspaceSystemIdentity"] is (src.stem != "explore_family")
    assert len(list((OUT / "notebook").glob("*.json"))) == len(sources)


def test_spark_job_definitions_run_the_job_scripts_of_the_repo() -> None:
    for stage in STAGES:
        props = _load(f"sparkJobDefinition/sjd_{stage}.json")["properties"]
        job = props["jobProperties"]
        assert props["language"] == "python" and props["requiredSparkVersion"] == "3.5"
        assert props["targetBigDataPool"]["type"] == "BigDataPoolReference"
        assert job["args"] == ["--stage", stage]
        assert job["file"] == A.jobs_url(A.STORAGE_ACCOUNT, "run_stage.py")
    whole = _load("sparkJobDefinition/sjd_pipeline.json")["properties"]["jobProperties"]
    for job_file in ("run_stage.py", "run_pipeline.py"):
        assert (ROOT / "jobs" / job_file).is_file()
    assert whole["file"].endswith("/run_pipeline.py")


def test_nightly_pipeline_runs_the_stages_in_order_with_one_as_of() -> None:
    props = _load("pipeline/pl_nightly.json")["properties"]
    assert set(props["parameters"]) == {"env", "storage_account", "spark_pool", "as_of"}
    acts = {a["name"]: a for a in props["activities"]}
    assert list(acts) == ["set_as_of", *STAGES]
    assert "pipeline().TriggerTime" in acts["set_as_of"]["typeProperties"]["value"]["value"]
    previous = "set_as_of"
    for stage in STAGES:
        act = acts[stage]
        tp = act["typeProperties"]
        assert act["type"] == "SparkJob"
        assert act["dependsOn"] == [{"activity": previous, "dependencyConditions": ["Succeeded"]}]
        assert tp["sparkJob"]["referenceName"] == f"sjd_{stage}"
        assert (OUT / "sparkJobDefinition" / f"sjd_{stage}.json").is_file()
        args = tp["args"]["value"]
        for needed in (f"'--stage', '{stage}'", "pipeline().parameters.env", "variables('as_of')"):
            assert needed in args
        assert "pipeline().parameters.storage_account" in tp["file"]["value"]
        pool = tp["targetBigDataPool"]["referenceName"]
        assert pool == {"value": "@pipeline().parameters.spark_pool", "type": "Expression"}
        previous = stage


def test_nightly_trigger_starts_the_pipeline_daily_with_the_scheduled_day() -> None:
    props = _load("trigger/tr_nightly.json")["properties"]
    (run,) = props["pipelines"]
    assert run["pipelineReference"]["referenceName"] == "pl_nightly"
    assert run["parameters"] == {"as_of": "@formatDateTime(trigger().scheduledTime, 'yyyy-MM-dd')"}
    rec = props["typeProperties"]["recurrence"]
    assert (rec["frequency"], rec["interval"], rec["timeZone"]) == ("Day", 1, "UTC")


def test_linked_services_key_vault_and_lake_hold_no_credentials() -> None:
    kv = _load("linkedService/ls_keyvault.json")["properties"]
    lake = _load("linkedService/ls_lake.json")["properties"]
    assert kv["type"] == "AzureKeyVault" and lake["type"] == "AzureBlobFS"
    for doc in (kv, lake):
        keys = {p[-1].lower() for p, _ in _strings(doc)}
        assert not keys & {"accountkey", "connectionstring", "serviceprincipalkey", "password", "sastoken"}


def _environment_values() -> set[str]:
    values = set()
    for path in (ROOT / "infra" / "environments").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        values.add(data["environment"])
        values |= set(re.findall(r"@([a-z0-9]+)\.dfs", json.dumps(data)))
        values.add(f"kv-gmsf{data['environment']}")
    return values


def _values(doc: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string value; for notebook cells, the string literals of the code (not its comments
    or the markdown, which may name environments to explain the parameters)."""
    props = doc.get("properties", {})
    yield from _strings({k: v for k, v in props.items() if k != "cells"}, ("properties",))
    for i, cell in enumerate(props.get("cells", [])):
        if cell["cell_type"] == "code":
            tree = ast.parse("".join(cell["source"]))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield ("properties", "cells", str(i)), node.value


def test_nothing_environment_specific_is_hard_coded() -> None:
    specific = _environment_values()
    assert {"dev", "test", "prod", "stgmsfdevlake"} <= specific
    words = re.compile(r"[a-z0-9-]+")
    guid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
    for rel, doc in BUILT.items():
        for path, value in _values(doc):
            assert not (set(words.findall(value.lower())) & specific), (rel, path, value)
            assert not guid.search(value), (rel, path)


def _placeholder_paths() -> set[str]:
    """Template parameter names of every value that holds a placeholder or names the pool."""
    names = set()
    for doc in BUILT.values():
        for path, value in _strings(doc.get("properties", {}), ("properties",)):
            hit = A.STORAGE_ACCOUNT in value or A.KEY_VAULT in value
            pool = path[-1] == "referenceName" and value == A.SPARK_POOL
            if hit or pool:
                names.add(f"{doc['name']}_{'_'.join(path)}")
    return names


def test_every_environment_specific_value_is_a_template_parameter_the_release_overrides() -> None:
    values = A.overrides(BUILT, env="dev", storage_account="stgmsfdevlake", key_vault="kv-gmsfdev")
    assert _placeholder_paths() <= set(values)
    assert values["pl_nightly_properties_parameters_env_defaultValue"] == "dev"
    assert values["sjd_gold_properties_jobProperties_file"] == (
        "abfss://synapse@stgmsfdevlake.dfs.core.windows.net/accelerator/jobs/run_stage.py"
    )
    assert values["ls_keyvault_properties_typeProperties_baseUrl"] == "https://kv-gmsfdev.vault.azure.net/"
    assert all(A.STORAGE_ACCOUNT not in v and A.KEY_VAULT not in v for v in values.values())
    definition = _load("template-parameters-definition.json")
    sjd = definition["Microsoft.Synapse/workspaces/sparkJobDefinitions"]["properties"]
    assert sjd["jobProperties"]["file"] == "=" and sjd["targetBigDataPool"]["referenceName"] == "="
    assert "Microsoft.Synapse/workspaces/pipelines" in definition
    text = A.override_string(values)
    assert '-pl_nightly_properties_parameters_storage_account_defaultValue "stgmsfdevlake"' in text


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_overrides_command_prints_the_values_of_one_environment(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    account = f"stgmsf{env}lake"
    args = ["overrides", "--root", str(ROOT), "--env", env, "--storage-account", account]
    assert A.main([*args, "--key-vault", f"kv-gmsf{env}"]) == 0
    out = capsys.readouterr().out
    assert f'-pl_nightly_properties_parameters_env_defaultValue "{env}"' in out
    assert f"https://{account}.dfs.core.windows.net/" in out
