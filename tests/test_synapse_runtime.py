"""The Synapse adapter (injected, imported lazily), per-environment settings, and the edge helpers."""

from __future__ import annotations

import ast
import base64
import json
import os
import pwd
import re
import sys
import types
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from accelerator.config import Settings, settings_for
from accelerator.io.storage import LocalStorage
from accelerator.pipeline import OnlyAuthorities, acl, summarise
from accelerator.synapse import entry
from accelerator.synapse.runtime import LocalRuntime, SynapseRuntime, token_expiry

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "infra" / "environments"


def test_no_module_of_lib_imports_notebookutils_or_mssparkutils_at_module_level() -> None:
    offenders = []
    for path in (ROOT / "lib").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(f)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in lazy:
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("notebookutils", "mssparkutils") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


class FakeUtils:
    """The parts of ``mssparkutils`` the adapter uses, recording each call."""

    def __init__(self, files: dict[str, str] | None = None, token: str = "t") -> None:
        self.calls: list[tuple[str, ...]] = []
        files = files or {}
        token_ = token

        class Fs:
            def head(_self, path: str, max_bytes: int) -> str:
                self.calls.append(("head", path, str(max_bytes)))
                return files[path]

        class Credentials:
            def getSecretWithLS(_self, linked_service: str, name: str) -> str:
                self.calls.append(("secret", linked_service, name))
                return f"value-of-{name}"

            def getToken(_self, audience: str) -> str:
                self.calls.append(("token", audience))
                return token_

        self.fs = Fs()
        self.credentials = Credentials()


def test_synapse_runtime_secret_goes_through_the_key_vault_linked_service() -> None:
    utils = FakeUtils()
    assert SynapseRuntime(utils).secret("pepper") == "value-of-pepper"
    assert utils.calls == [("secret", "ls_keyvault", "pepper")]


def test_synapse_runtime_reads_text_with_fs_head() -> None:
    utils = FakeUtils({"abfss://synapse@a.dfs.core.windows.net/x.yaml": "a: 1\n"})
    assert SynapseRuntime(utils).read_text("abfss://synapse@a.dfs.core.windows.net/x.yaml") == "a: 1\n"
    assert utils.calls[0][:2] == ("head", "abfss://synapse@a.dfs.core.windows.net/x.yaml")


def _jwt(claims: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{body}.sig"


def test_workspace_credential_gives_storage_tokens_with_their_expiry() -> None:
    utils = FakeUtils(token=_jwt({"exp": 1_900_000_000}))
    token = SynapseRuntime(utils).credential().get_token("https://storage.azure.com/.default")
    assert token.expires_on == 1_900_000_000 and token.token.count(".") == 2
    assert utils.calls == [("token", "Storage")]
    assert token_expiry("not-a-jwt") == 0


def test_detect_imports_mssparkutils_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "notebookutils", raising=False)
    monkeypatch.delitem(sys.modules, "mssparkutils", raising=False)
    with pytest.raises(RuntimeError, match="not a Synapse Spark session"):
        SynapseRuntime.detect()
    fake = types.ModuleType("notebookutils")
    fake.mssparkutils = FakeUtils()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "notebookutils", fake)
    assert SynapseRuntime.detect().utils is fake.mssparkutils  # type: ignore[attr-defined]


def test_local_runtime_refuses_secrets_and_urls(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="Key Vault"):
        LocalRuntime().secret("x")
    with pytest.raises(ValueError, match="local files only"):
        LocalRuntime().read_text("abfss://a@b.dfs.core.windows.net/x")


# ----------------------------------------------------------------------------------- settings


def _bicep_param(env: str, name: str) -> str | None:
    text = (ENVS / f"{env}.bicepparam").read_text()
    m = re.search(rf"^param {name} = '([^']*)'", text, re.M)
    return m.group(1) if m else None


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_settings_for_each_environment_point_at_the_lake_its_bicep_deploys(env: str) -> None:
    s = settings_for(env, directory=ENVS)
    assert s.environment == env
    prefix = _bicep_param(env, "namePrefix")
    if prefix is None:  # the Bicep default
        m = re.search(
            r"^param namePrefix string = '([^']*)'", (ROOT / "infra/bicep/main.bicep").read_text(), re.M
        )
        assert m
        prefix = m.group(1)
    assert _bicep_param(env, "environment") == env
    account = f"st{prefix}{env}lake"
    assert s.lake_root == f"abfss://lake@{account}.dfs.core.windows.net/"
    assert s.landing_root == f"abfss://lake@{account}.dfs.core.windows.net/landing"
    assert s.custodianship_config.startswith(f"abfss://synapse@{account}.dfs.core.windows.net/")
    assert s.jars_dir is None  # Synapse has Delta; jars are for local sessions only
    raw = (ENVS / f"{env}.yaml").read_text()
    assert not re.search(r"(?i)(password|secret|key|token|sig=)\s*:", raw), "no secrets in parameter files"


def test_settings_for_rejects_a_file_of_another_environment_and_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("environment: prod\nlake_root: l\nlanding_root: d\n")
    with pytest.raises(ValueError, match="expected 'dev'"):
        settings_for("dev", directory=tmp_path)
    (tmp_path / "dev.yaml").write_text("lake_root: l\nlanding_root: d\nlake_password: x\n")
    with pytest.raises(ValueError, match="unknown settings"):
        settings_for("dev", directory=tmp_path)
    with pytest.raises(ValueError, match="not an environment name"):
        settings_for("../dev", directory=tmp_path)


def test_settings_for_reads_a_url_through_the_injected_reader() -> None:
    seen = []

    def read(path: str) -> str:
        seen.append(path)
        return (ENVS / "test.yaml").read_text()

    s = settings_for(
        "test", directory="abfss://synapse@x.dfs.core.windows.net/accelerator/environments", read_text=read
    )
    assert seen == ["abfss://synapse@x.dfs.core.windows.net/accelerator/environments/test.yaml"]
    assert s.linkage_backend == "spark"
    with pytest.raises(ValueError, match="needs read_text"):
        settings_for("test", directory="abfss://synapse@x.dfs.core.windows.net/e")


def test_load_settings_on_synapse_reads_the_workspace_copy_of_the_environment_file() -> None:
    url = "abfss://synapse@stgmsfprodlake.dfs.core.windows.net/accelerator/environments/prod.yaml"
    utils = FakeUtils({url: (ENVS / "prod.yaml").read_text()})
    s = entry.load_settings(env="prod", storage_account="stgmsfprodlake", runtime=SynapseRuntime(utils))
    assert s.environment == "prod" and s.lake_root.startswith("abfss://lake@stgmsfprodlake.")
    with pytest.raises(ValueError, match="set env"):
        entry.load_settings(runtime=LocalRuntime())
    with pytest.raises(ValueError, match="not a storage account"):
        entry.environments_url("Bad-Name")


def test_run_context_defaults_to_the_day_of_now_and_rejects_bad_dates() -> None:
    now = datetime(2025, 3, 4, 23, 59, 1, 500)
    assert entry.run_context("", now=now).as_of == date(2025, 3, 4)
    ctx = entry.run_context("2025-01-31", now=now)
    assert ctx.as_of == date(2025, 1, 31) and ctx.started_at == datetime(2025, 3, 4, 23, 59, 1)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        entry.run_context("31/01/2025", now=now)
    assert entry.authorities_of(" Bury, bolton ,") == ("bolton", "bury")


# -------------------------------------------------------------------------- stage plumbing


def test_only_authorities_hides_other_authorities_at_the_landing_root_only(tmp_path: Path) -> None:
    for a in ("bury", "bolton", "wigan"):
        (tmp_path / a / "housing").mkdir(parents=True)
    store = OnlyAuthorities(LocalStorage(), str(tmp_path) + "/", ["wigan", "bury"])
    assert store.list_dirs(str(tmp_path)) == ["bury", "wigan"]
    assert store.list_dirs(str(tmp_path / "bolton")) == ["housing"]
    with pytest.raises(ValueError, match="unknown authorities"):
        OnlyAuthorities(LocalStorage(), str(tmp_path), ["atlantis"])


def test_acl_stage_on_a_local_lake_reports_drift_and_apply_then_clears_it(tmp_path: Path) -> None:
    config = tmp_path / "custodianship.yaml"
    data = yaml.safe_load((ROOT / "infra" / "custodianship.yaml").read_text())
    config.write_text(yaml.safe_dump(data))
    lake = tmp_path / "lake"
    lake.mkdir()
    settings = Settings(
        lake_root=str(lake), landing_root=str(lake / "landing"), custodianship_config=str(config)
    )
    user = pwd.getpwuid(os.geteuid()).pw_name
    before = acl(None, settings, pipeline_user=user)
    assert not before.ok and any("missing directory" in str(d) for d in before.drifts)
    summary = summarise("acl", before)
    assert summary["ok"] is False and summary["drifting_paths"] == len(before.drifts)
    if os.geteuid() != 0:  # applying creates groups: the ACL tests prove that as root
        return
    after = acl(None, settings, pipeline_user=user, apply=True)
    assert after.report is not None and after.report.ok
    assert after.drifts == [] and after.ok


def test_acl_stage_needs_a_pipeline_user_for_a_local_lake(tmp_path: Path) -> None:
    settings = Settings(
        lake_root=str(tmp_path),
        landing_root=str(tmp_path),
        custodianship_config=str(ROOT / "infra/custodianship.yaml"),
    )
    with pytest.raises(ValueError, match="pipeline_user"):
        acl(None, settings)
