"""The Azure back end against the in-memory fake of the Data Lake SDK, and (opt-in) a real account."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from typer.testing import CliRunner

from accelerator.governance import acl_azure
from accelerator.governance.acl_azure import AzureAclError, AzureLake, object_id_map
from accelerator.governance.acl_plan import Acl, AclPlan, plan_acls
from accelerator.governance.cli import app
from accelerator.governance.custodianship import Custodianship, load_custodianship, parse_custodianship
from accelerator.io import lease
from fakes.adls import FakeDataLakeServiceClient, FakeFileSystemClient
from fakes.lease import FakeLeaseFileSystem

CONFIG: dict[str, Any] = {
    "platform": {"pipeline": "mi-synw-test", "engineers": "sg-da-platform-engineers"},
    "authorities": {
        "bury": {
            "custodians": "sg-da-bury-custodians",
            "analysts": "sg-da-bury-analysts",
            "uploaders": {"police_incidents": "sg-da-gmp-uploaders"},
        },
        "bolton": {"custodians": "sg-da-bolton-custodians", "analysts": "sg-da-bolton-analysts"},
    },
}
NAMES = [
    "mi-synw-test",
    "sg-da-platform-engineers",
    "sg-da-bury-custodians",
    "sg-da-bury-analysts",
    "sg-da-gmp-uploaders",
    "sg-da-bolton-custodians",
    "sg-da-bolton-analysts",
]
IDS = {n: str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in NAMES}
TABLE_FILES = [f"gold/bury/family/part-{i}.parquet" for i in range(5)] + [
    "gold/bury/family/_delta_log/0.json"
]


@pytest.fixture
def config() -> Custodianship:
    return parse_custodianship({**CONFIG, "object_ids": IDS})


@pytest.fixture
def plan(config: Custodianship) -> AclPlan:
    return plan_acls(config)


@pytest.fixture
def fs() -> FakeFileSystemClient:
    client = FakeDataLakeServiceClient("https://fake.dfs.core.windows.net").get_file_system_client("lake")
    for f in TABLE_FILES:  # a table written before the ACLs were planned
        client.fs.write_file(f)
    return client


def lake_of(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship, batch_size: int = 2000
) -> AzureLake:
    return AzureLake(fs, plan, object_id_map(plan, config), batch_size=batch_size)


def raw_acl(fs: FakeFileSystemClient, path: str, *, is_dir: bool = True) -> str:
    client = fs.get_directory_client(path or "/") if is_dir else fs.get_file_client(path)
    return str(client.get_access_control()["acl"])


def calls(fs: FakeFileSystemClient, name: str) -> int:
    return sum(1 for c, _ in fs.fs.calls if c == name)


# --------------------------------------------------------------------------------------------- fake


def test_fake_new_paths_inherit_the_parent_default_acl(fs: FakeFileSystemClient) -> None:
    d = fs.get_directory_client("gold")
    d.create_directory()
    d.set_access_control(
        acl="user::rwx,group::---,other::---,default:user::rwx,default:group:g:r-x,"
        "default:group::---,default:mask::rwx,default:other::---"
    )
    fs.get_file_client("gold/t/part-0").create_file()
    assert raw_acl(fs, "gold/t") == (
        "user::rwx,group::---,group:g:r-x,mask::rwx,other::---,"
        "default:user::rwx,default:group::---,default:group:g:r-x,default:mask::rwx,default:other::---"
    )
    assert (
        raw_acl(fs, "gold/t/part-0", is_dir=False) == "user::rw-,group::---,group:g:r-x,mask::rw-,other::---"
    )


def test_fake_set_access_control_rejects_a_default_acl_on_a_file(fs: FakeFileSystemClient) -> None:
    with pytest.raises(HttpResponseError, match="default ACL on a file"):
        fs.get_file_client(TABLE_FILES[0]).set_access_control(
            acl="user::rw-,group::---,other::---,default:user::rwx,default:group::---,default:other::---"
        )


def test_fake_set_access_control_rejects_more_than_32_entries(fs: FakeFileSystemClient) -> None:
    named = ",".join(f"group:g{i}:r-x" for i in range(29))
    with pytest.raises(HttpResponseError, match="more than 32 entries"):
        fs.get_directory_client("gold").set_access_control(
            acl=f"user::rwx,group::---,mask::r-x,other::---,{named}"
        )


def test_fake_update_recursive_pages_with_continuation_tokens(fs: FakeFileSystemClient) -> None:
    d = fs.get_directory_client("gold/bury/family")
    first = d.update_access_control_recursive(acl="group:g:r-x", batch_size=3, max_batches=1)
    assert (first.counters.directories_successful, first.counters.files_successful) == (2, 1)
    assert first.continuation
    rest = d.update_access_control_recursive(
        acl="group:g:r-x", batch_size=3, continuation_token=first.continuation
    )
    assert rest.continuation is None
    assert rest.counters.files_successful == 5
    assert "group:g:r-x" in raw_acl(fs, TABLE_FILES[-1], is_dir=False)


def test_fake_update_recursive_continues_past_failures_and_reports_them(fs: FakeFileSystemClient) -> None:
    fs.fs.failing.add(TABLE_FILES[1])
    seen: list[str] = []
    result = fs.get_directory_client("gold/bury/family").update_access_control_recursive(
        acl="group:g:r-x",
        continue_on_failure=True,
        progress_hook=lambda ch: seen.extend(f.name for f in ch.batch_failures),
    )
    assert result.counters.failure_count == 1
    assert result.counters.files_successful == 5
    assert seen == [TABLE_FILES[1]]


def test_fake_update_recursive_stops_at_a_failure_unless_told_to_continue(fs: FakeFileSystemClient) -> None:
    fs.fs.failing.add(TABLE_FILES[0])
    result = fs.get_directory_client("gold/bury/family").update_access_control_recursive(acl="group:g:r-x")
    assert result.counters.failure_count == 1
    assert "group:g:r-x" not in raw_acl(fs, TABLE_FILES[4], is_dir=False)


# ------------------------------------------------------------------------------------------ back end


def test_apply_creates_directories_and_sets_exact_acls_with_object_ids(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    report = lake_of(fs, plan, config).apply()
    assert report.ok
    assert "landing/wigan/probation" in report.created_dirs
    for p in plan.paths:
        assert Acl.parse(raw_acl(fs, p.path)) == p.acl.rename(IDS), p.path
    assert IDS["sg-da-bury-analysts"] in raw_acl(fs, "gold/bury")
    assert "sg-da-bury-analysts" not in raw_acl(fs, "gold/bury")


def test_apply_brings_existing_files_to_their_inherited_acl(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    report = lake_of(fs, plan, config, batch_size=2).apply()
    assert report.files_successful == len(TABLE_FILES)
    assert calls(fs, "service_batch") >= 4  # batches of two, followed by continuation tokens
    part = Acl.parse(raw_acl(fs, TABLE_FILES[0], is_dir=False))
    assert f"group:{IDS['sg-da-bury-analysts']}:r-x" in part.lines()
    assert lake_of(fs, plan, config).drift() == []


def test_apply_twice_changes_nothing(fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship) -> None:
    azure = lake_of(fs, plan, config)
    azure.apply()
    before = {p: raw_acl(fs, p, is_dir=n.is_dir) for p, n in fs.fs.nodes.items()}
    fs.fs.calls.clear()
    again = azure.apply()
    assert (again.changed, again.created_dirs) == ([], [])
    assert calls(fs, "set_access_control") == calls(fs, "update_access_control_recursive") == 0
    assert {p: raw_acl(fs, p, is_dir=n.is_dir) for p, n in fs.fs.nodes.items()} == before


def test_drift_reports_planted_drift_by_name_and_apply_repairs_it(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    azure = lake_of(fs, plan, config)
    azure.apply()
    gold = fs.get_directory_client("gold/bury")
    gold.set_access_control(acl=raw_acl(fs, "gold/bury") + f",group:{IDS['sg-da-bolton-analysts']}:r-x")
    stranger = str(uuid.uuid4())
    fs.get_file_client(TABLE_FILES[2]).set_access_control(
        acl=raw_acl(fs, TABLE_FILES[2], is_dir=False) + f",user:{stranger}:r--"
    )
    drifts = {d.path: d.problems for d in azure.drift()}
    assert drifts == {
        "gold/bury": ("access group:sg-da-bolton-analysts r-x not in the config",),
        TABLE_FILES[2]: (f"user:{stranger} can r--, config ---",),
    }
    assert [d.path for d in azure.drift(deep=False)] == ["gold/bury"]  # planned directories only
    repaired = azure.apply()
    assert set(repaired.changed) == set(drifts)
    assert azure.drift() == []


def test_deep_drift_checks_owners_and_apply_gives_them_to_the_pipeline(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    azure = lake_of(fs, plan, config)
    azure.apply()
    release = str(uuid.uuid4())  # the release principal created a folder, an analyst a file
    analyst = str(uuid.uuid4())
    fs.fs.create("gold/bury/family_member", is_dir=True, owner=release)
    fs.fs.write_file("gold/bury/family/part-9.parquet", owner=analyst)
    uploader = str(uuid.uuid4())  # an uploader owns its delivery: Entra membership is not read
    fs.fs.write_file("landing/bury/police_incidents/2026-12-01/x.csv", owner=uploader)
    fs.get_directory_client("gold/bury").set_access_control(owner=analyst)
    pipeline = "mi-synw-test"
    drifts = {d.path: d.problems for d in azure.drift()}
    assert drifts == {
        "gold/bury": (f"owner is {analyst}, config: {pipeline} or $superuser",),
        "gold/bury/family/part-9.parquet": (f"owner is {analyst}, config: {pipeline} or $superuser",),
        "gold/bury/family_member": (f"owner is {release}, config: {pipeline} or $superuser",),
    }
    assert [d.path for d in azure.drift(deep=False)] == ["gold/bury"]  # planned directories only
    report = azure.apply()
    assert sorted(report.owners_changed) == sorted(drifts)
    assert fs.fs.nodes["gold/bury/family/part-9.parquet"].owner == IDS[pipeline]
    assert fs.fs.nodes["landing/bury/police_incidents/2026-12-01/x.csv"].owner == uploader
    assert azure.drift() == []


def test_auto_check_samples_every_directory_and_the_newest_files_above_the_limit(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    azure = lake_of(fs, plan, config)
    azure.apply()
    for f in TABLE_FILES[:2]:  # loosen the two oldest files, then write newer ones beside them
        raw = raw_acl(fs, f, is_dir=False).replace("other::---", "other::r--")
        fs.get_file_client(f).set_access_control(acl=raw)
    for i in range(3):
        fs.fs.write_file(f"gold/bury/family/part-new-{i}.parquet")
    total = len(fs.fs.nodes) - 1  # the listing leaves out the container root
    small = azure.check("auto")
    assert small.scope == f"deep: every path ({total}) ({total + 1} read)"
    assert {d.path for d in small.drifts} == set(TABLE_FILES[:2])
    sampled = azure.check("auto", limit=100)
    dirs = sum(n.is_dir for p, n in fs.fs.nodes.items() if p)
    assert sampled.scope.startswith(f"sampled: {dirs + 3 + 1} of {total} paths (more than 100)")
    assert sampled.drifts == []  # the loosened files are not among the newest three
    loose = "gold/bury/family/part-new-2.parquet"
    fs.get_file_client(loose).set_access_control(
        acl=raw_acl(fs, loose, is_dir=False).replace("other::---", "other::r--")
    )
    assert [d.path for d in azure.check("auto", limit=100).drifts] == [loose]


def test_apply_counts_and_names_failures_and_goes_on(
    fs: FakeFileSystemClient, plan: AclPlan, config: Custodianship
) -> None:
    fs.fs.failing.add(TABLE_FILES[3])
    report = lake_of(fs, plan, config, batch_size=2).apply(deep=False)
    assert not report.ok
    assert report.failure_count == 1
    assert report.failures == [f"{TABLE_FILES[3]}: AuthorizationPermissionMismatch"]
    assert report.files_successful == len(TABLE_FILES) - 1


def test_object_id_map_names_every_principal_without_an_object_id() -> None:
    c = parse_custodianship(CONFIG)
    with pytest.raises(AzureAclError, match="no Entra object id for mi-synw-test, sg-da-bolton-analysts"):
        object_id_map(plan_acls(c), c)


def test_object_id_map_takes_object_ids_written_in_place_of_names() -> None:
    oid = "0b9c2f7e-1111-4222-8333-444455556666"
    c = parse_custodianship(
        {**CONFIG, "platform": {**CONFIG["platform"], "pipeline": oid}, "object_ids": IDS}
    )
    assert object_id_map(plan_acls(c), c)[oid] == oid


def test_cli_against_an_account_applies_and_checks_drift(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fs: FakeFileSystemClient
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**CONFIG, "object_ids": IDS}), encoding="utf-8")
    opened: list[tuple[str, str]] = []

    def fake_connect(account: str, filesystem: str, credential: Any = None) -> FakeFileSystemClient:
        opened.append((account, filesystem))
        return fs

    monkeypatch.setattr(acl_azure, "connect", fake_connect)
    leases = FakeLeaseFileSystem(clock=lambda: 0.0)
    leased: list[tuple[str, str]] = []

    def fake_lease_fs(account: str, filesystem: str, credential: Any = None) -> FakeLeaseFileSystem:
        leased.append((account, filesystem))
        return leases

    monkeypatch.setattr(lease, "adls_file_system", fake_lease_fs)
    runner = CliRunner()
    url = "abfss://lake@gmdatalake.dfs.core.windows.net/"
    base = ["--config", str(cfg), "--account", "gmdatalake"]
    assert runner.invoke(app, ["drift", *base]).exit_code == 1
    applied = runner.invoke(app, ["apply", *base, "--lake", url])
    assert applied.exit_code == 0, applied.output
    result = runner.invoke(app, ["drift", *base])
    assert result.exit_code == 0 and result.output.startswith("no drift (deep: every path ("), result.output
    assert opened == [("gmdatalake", "lake")] * 3
    # apply held the lake's writer lease (a blob lease on bronze/_platform/_lease) and let it go;
    # drift, a reader, never asked for it
    assert leased == [("gmdatalake", "lake")]
    ops = [op for op, path in leases.calls if path == "bronze/_platform/_lease"]
    assert "acquire_lease" in ops and ops[-1] == "release_lease", ops


# --------------------------------------------------------------------------------------- integration

ACCOUNT = os.environ.get("ACCELERATOR_ACL_TEST_ACCOUNT")
TEST_CONFIG = os.environ.get("ACCELERATOR_ACL_TEST_CONFIG")


@pytest.mark.azure
@pytest.mark.skipif(
    not (ACCOUNT and TEST_CONFIG),
    reason="needs a real ADLS Gen2 account: set ACCELERATOR_ACL_TEST_ACCOUNT (account name) and "
    "ACCELERATOR_ACL_TEST_CONFIG (a custodianship config whose principals have object ids); "
    "signs in with DefaultAzureCredential and needs Storage Blob Data Owner on the account",
)
def test_real_account_apply_is_idempotent_and_drift_free() -> None:
    from azure.identity import DefaultAzureCredential
    from azure.storage.filedatalake import DataLakeServiceClient

    assert ACCOUNT and TEST_CONFIG
    config = load_custodianship(TEST_CONFIG)
    plan = plan_acls(config)
    name = f"acl-it-{uuid.uuid4().hex[:12]}"
    service = DataLakeServiceClient(
        f"https://{ACCOUNT}.dfs.core.windows.net", credential=DefaultAzureCredential()
    )
    filesystem = service.create_file_system(name)
    try:
        filesystem.get_file_client("gold/bury/family/part-0.parquet").upload_data(b"x")
        azure = AzureLake(filesystem, plan, object_id_map(plan, config))
        assert azure.apply().ok
        assert azure.drift() == []
        assert azure.apply().changed == []
    finally:
        filesystem.delete_file_system()
