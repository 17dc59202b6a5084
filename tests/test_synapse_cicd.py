"""azure-pipelines.yml: a CI stage that runs what `make test` runs, then dev, test and prod (with an
approval), each deploying Bicep, the wheel as a workspace package and the Synapse artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))
ENVS = ("dev", "test", "prod")


def _stage(name: str) -> dict[str, Any]:
    return next(s for s in PIPELINE["stages"] if s["stage"] == name)


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    if "strategy" in job:
        return list(job["strategy"]["runOnce"]["deploy"]["steps"])
    return list(job.get("steps", []))


def _text(step: dict[str, Any]) -> str:
    return " ".join(str(v) for v in [step.get("script", ""), *step.get("inputs", {}).values()])


def test_top_level_stages_are_ci_then_each_environment_in_order() -> None:
    assert [s["stage"] for s in PIPELINE["stages"]] == ["ci", *ENVS]
    assert [_stage(e)["dependsOn"] for e in ENVS] == ["ci", "dev", "test"]


def test_ci_runs_lint_types_tests_with_java_the_wheel_checkov_and_the_artifact_check() -> None:
    (job,) = _stage("ci")["jobs"]
    steps = _steps(job)
    text = "\n".join(_text(s) for s in steps)
    java = [s for s in steps if s.get("task", "").startswith("JavaToolInstaller")]
    assert java and java[0]["inputs"]["versionSpec"] == "17"
    for needed in ("make setup", "make lint", "make types", "pytest", "make checkov", "pip wheel"):
        assert needed in text, needed
    assert "tools.synapse_artifacts check" in text
    order = [
        next(i for i, s in enumerate(steps) if k in _text(s)) for k in ("make setup", "make lint", "pytest")
    ]
    assert order == sorted(order)
    assert {"wheel", "infra", "jobs"} <= {s.get("artifact") for s in steps if "publish" in s}


@pytest.mark.parametrize("env", ENVS)
def test_cd_stage_deploys_bicep_the_wheel_and_the_synapse_artifacts(env: str) -> None:
    jobs = {j.get("deployment") or j.get("job"): j for j in _stage(env)["jobs"]}
    deploy = jobs["deploy"]
    assert deploy["environment"] == f"gm-accelerator-{env}"
    steps = _steps(deploy)
    text = "\n".join(_text(s) for s in steps)
    assert f"-p infra/environments/{env}.bicepparam" in text
    assert "az synapse workspace-package upload" in text and "--package-action Add" in text
    assert f"infra/environments/{env}.yaml environments/{env}.yaml" in text
    assert "accelerator acl apply" in text
    (synapse,) = [s for s in steps if s.get("task", "").startswith("Synapse workspace deployment@2")]
    inputs = synapse["inputs"]
    assert inputs["operation"] == "validateDeploy"
    assert inputs["ArtifactsFolder"].endswith("/infra/synapse")
    assert inputs["OverrideArmParameters"] == "$(overrides)" and inputs["FailOnMissingOverrides"] is True
    assert f"artifacts overrides --env {env}" in text
    assert (ROOT / "infra" / "environments" / f"{env}.bicepparam").is_file()
    assert (ROOT / "infra" / "environments" / f"{env}.yaml").is_file()


def test_only_prod_waits_for_a_manual_approval_before_deploying() -> None:
    for env in ENVS:
        jobs = {j.get("deployment") or j.get("job"): j for j in _stage(env)["jobs"]}
        if env != "prod":
            assert set(jobs) == {"deploy"}
            continue
        approve = jobs["approve"]
        assert approve["pool"] == "server"
        assert [s["task"] for s in approve["steps"]] == ["ManualValidation@1"]
        assert approve["steps"][0]["inputs"]["onTimeout"] == "reject"
        assert jobs["deploy"]["dependsOn"] == "approve"
