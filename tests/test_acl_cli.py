"""``accelerator acl``: plan output, argument and config errors (apply and drift are proven in
test_acl_local.py and test_acl_azure.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from accelerator.feeds import AUTHORITIES
from accelerator.governance.cli import app

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "infra" / "custodianship.yaml")
runner = CliRunner()


def test_plan_json_lists_every_path_with_access_and_default_entries() -> None:
    result = runner.invoke(app, ["plan", "--config", CONFIG, "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    paths = {p["path"]: p for p in out["paths"]}
    assert len(paths) == 147
    assert paths["gold/bury"]["access"] == [
        "user::rwx",
        "user:mi-synw-gm-accelerator:rwx",
        "group::---",
        "group:sg-da-bury-analysts:r-x",
        "group:sg-da-bury-custodians:r-x",
        "group:sg-da-platform-engineers:--x",
        "mask::rwx",
        "other::---",
    ]
    assert paths["gold/bury"]["default"] == paths["gold/bury"]["access"]
    assert out["pipeline"] == "mi-synw-gm-accelerator"


def test_plan_text_shows_each_path_and_its_entries() -> None:
    result = runner.invoke(app, ["plan", "--config", CONFIG])
    assert result.exit_code == 0
    assert "silver/_platform  [platform] pipeline only" in result.output
    assert result.output.rstrip().endswith(
        "147 paths; at most 13 named entries on a path (ADLS allows 28); "
        "pipeline identity mi-synw-gm-accelerator"
    )


def test_plan_principal_shows_what_one_group_can_reach() -> None:
    result = runner.invoke(
        app, ["plan", "--config", CONFIG, "--principal", "sg-da-bury-analysts", "--format", "json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.output) == [
        {"path": "/", "access": "--x", "default": "---", "through": "sg-da-platform-traverse"},
        {"path": "bronze", "access": "--x", "default": "---", "through": "sg-da-platform-traverse"},
        {"path": "gold", "access": "--x", "default": "---", "through": "sg-da-platform-traverse"},
        {"path": "gold/bury", "access": "r-x", "default": "r-x"},
        {"path": "landing", "access": "--x", "default": "---", "through": "sg-da-platform-traverse"},
        {"path": "silver", "access": "--x", "default": "---", "through": "sg-da-platform-traverse"},
    ]


def test_plan_rejects_an_invalid_config_with_exit_2_and_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "platform: {pipeline: p, engineers: e}\n"
        "authorities:\n  bury: {custodians: c}\n  burry: {custodians: x, analysts: y}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["plan", "--config", str(bad)])
    assert result.exit_code == 2
    assert "authorities.bury.analysts: missing" in result.output
    assert "unknown authority 'burry'" in result.output


def test_plan_rejects_too_many_named_entries_with_exit_2(tmp_path: Path) -> None:
    auth = "\n".join(
        f"  {a}: {{custodians: {a}-c, analysts: {a}-a, uploaders: {{housing: {a}-up}}}}" for a in AUTHORITIES
    )
    big = tmp_path / "big.yaml"
    big.write_text(f"platform: {{pipeline: p, engineers: e}}\nauthorities:\n{auth}\n", encoding="utf-8")
    result = runner.invoke(app, ["plan", "--config", str(big)])
    assert result.exit_code == 2
    assert "per path: / needs 32 (access ACL). No traverse group is configured" in result.output
    assert "set platform.traverse" in result.output


def test_apply_needs_exactly_one_target() -> None:
    neither = runner.invoke(app, ["apply", "--config", CONFIG])
    both = runner.invoke(app, ["apply", "--config", CONFIG, "--local", "--lake", "x", "--account", "a"])
    local_without_lake = runner.invoke(app, ["drift", "--config", CONFIG, "--local"])
    assert {neither.exit_code, both.exit_code, local_without_lake.exit_code} == {2}
    assert "choose one target" in neither.output
    assert "--local needs --lake DIR" in local_without_lake.output


def test_apply_rejects_a_lake_url_below_the_container_root() -> None:
    url = "abfss://lake@acct.dfs.core.windows.net/sub"
    result = runner.invoke(app, ["apply", "--config", CONFIG, "--account", "acct", "--lake", url])
    assert result.exit_code == 2
    assert "must be a container root" in result.output


def test_cli_module_runs_as_a_script() -> None:
    argv = [
        sys.executable,
        "-m",
        "accelerator.governance.cli",
        "plan",
        "--config",
        CONFIG,
        "--principal",
        "x",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "x: 0 path(s) (r read, w write, x traverse)")
