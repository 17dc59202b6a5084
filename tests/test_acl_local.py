"""The ACL plan on a local lake, proven with real operating-system users.

Each test user is created here (``useradd``), put in the config's groups (which ``apply`` creates
with ``groupadd``) and reads or writes through ``setpriv``. Needs root and the ``acl`` package, as
in CI; anywhere else the tests fail with the reason, unless ACCELERATOR_SKIP_OS_ACL_TESTS=1 says
to skip them on purpose.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml

from accelerator.governance.acl_local import apply_local, drift_local, observe
from accelerator.governance.acl_plan import AclPlan, plan_acls
from accelerator.governance.custodianship import load_custodianship

OPT_OUT = "ACCELERATOR_SKIP_OS_ACL_TESTS"

FILES = {  # the lake as custodianship.md lays it out, one small file per area
    "landing_bury": "landing/bury/police_incidents/2026-10-31/police_incidents_bury_20261031.csv",
    "landing_bury_manifest": "landing/bury/police_incidents/2026-10-31/manifest.json",
    "landing_bolton": "landing/bolton/police_incidents/2026-10-31/police_incidents_bolton_20261031.csv",
    "landing_unknown": "landing/unknownshire/police_incidents/2026-10-31/x.csv",
    "bronze_bury": "bronze/bury/police_incidents/part-0.parquet",
    "quarantine_bury": "bronze/bury/_quarantine/part-0.parquet",
    "bronze_bolton": "bronze/bolton/police_incidents/part-0.parquet",
    "delivery_log": "bronze/_platform/delivery_log/part-0.parquet",
    "silver_bury": "silver/bury/person/part-0.parquet",
    "silver_bolton": "silver/bolton/person/part-0.parquet",
    "person_xref": "silver/_platform/person_xref/part-0.parquet",
    "gold_bury": "gold/bury/family/part-0.parquet",
    "gold_bolton": "gold/bolton/family/part-0.parquet",
}
BURY_OWN = {
    "landing_bury",
    "landing_bury_manifest",
    "bronze_bury",
    "quarantine_bury",
    "silver_bury",
    "gold_bury",
}
BOLTON_OWN = {"landing_bolton", "bronze_bolton", "silver_bolton", "gold_bolton"}

READS = {  # who reads which file: everything not listed here must be unreadable
    "bury_analyst": {"gold_bury"},
    "bolton_analyst": {"gold_bolton"},
    "bury_custodian": BURY_OWN,
    "bolton_custodian": BOLTON_OWN,
    "gmp_uploader": set(),
    "education_uploader": set(),
    "engineer": set(),
    "outsider": set(),
    "pipeline": set(FILES),
}


@dataclass
class World:
    """Test users and groups, named with a unique prefix, and a config naming those groups."""

    prefix: str
    base: Path
    config: Path
    users: dict[str, str] = field(default_factory=dict)  # role -> user name

    def group(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def pipeline(self) -> str:
        return self.users["pipeline"]

    def plan(self) -> AclPlan:
        return plan_acls(load_custodianship(self.config))


def _require_root_and_acl() -> None:
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: real-user ACL tests skipped on purpose")
    if os.geteuid() != 0:
        pytest.fail(f"these tests create users and groups: run them as root (as CI does) or set {OPT_OUT}=1")
    for tool in ("setfacl", "getfacl", "setpriv", "useradd", "groupadd"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: `make setup` installs the acl package (apt-get install acl)")


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    _require_root_and_acl()
    prefix = "t" + secrets.token_hex(3)
    base = Path(tempfile.mkdtemp(prefix="acl-test-", dir="/tmp"))
    base.chmod(0o711)  # other users traverse to the lake below, as they would to a mount point
    config = base / "custodianship.yaml"
    w = World(prefix, base, config)
    config.write_text(
        yaml.safe_dump(
            {
                "platform": {"pipeline": "mi-synw-test", "engineers": w.group("engineers")},
                "authorities": {
                    "bury": {
                        "custodians": w.group("bury-custodians"),
                        "analysts": w.group("bury-analysts"),
                        "uploaders": {
                            "police_incidents": w.group("gmp-uploaders"),
                            "school_census": w.group("bury-education-uploaders"),
                        },
                    },
                    "bolton": {
                        "custodians": w.group("bolton-custodians"),
                        "analysts": w.group("bolton-analysts"),
                        "uploaders": {"police_incidents": w.group("gmp-uploaders")},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    try:
        _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", f"{prefix}-pipeline")
        w.users["pipeline"] = f"{prefix}-pipeline"
        yield w
    finally:
        for user in w.users.values():
            subprocess.run(["userdel", user], capture_output=True, check=False)
        for g in grp.getgrall():
            if g.gr_name.startswith(prefix + "-"):
                subprocess.run(["groupdel", g.gr_name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _add_users(w: World) -> None:
    members = {
        "bury_analyst": "bury-analysts",
        "bolton_analyst": "bolton-analysts",
        "bury_custodian": "bury-custodians",
        "bolton_custodian": "bolton-custodians",
        "gmp_uploader": "gmp-uploaders",
        "education_uploader": "bury-education-uploaders",
        "engineer": "engineers",
        "outsider": "",
    }
    for role, group in members.items():
        if role in w.users:
            continue
        name = f"{w.prefix}-{role.replace('_', '-')}"
        extra = ["-G", w.group(group)] if group else []
        _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *extra, name)
        w.users[role] = name


def make_lake(w: World, name: str) -> Path:
    """A lake laid out as custodianship.md says, written world-readable (umask 022) before apply."""
    lake = w.base / name
    for rel in FILES.values():
        target = lake / rel
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        target.write_text(f"{rel}\n", encoding="utf-8")
        target.chmod(0o644)
    return lake


@pytest.fixture(scope="module")
def lake(world: World) -> Path:
    """The shared lake, applied once; tests that change ACLs use their own lake."""
    lake = make_lake(world, "lake")
    report = apply_local(world.plan(), lake, pipeline_user=world.pipeline)
    assert report.ok
    assert set(report.created_groups) == set(load_custodianship(world.config).groups)
    _add_users(world)
    return lake


def as_user(w: World, role: str, *argv: str) -> subprocess.CompletedProcess[str]:
    user = w.users[role]
    gid = pwd.getpwnam(user).pw_gid
    cmd = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--init-groups", "--", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, cwd="/", check=False)


def reads(w: World, role: str, path: Path) -> bool:
    return as_user(w, role, "cat", str(path)).returncode == 0


def lists(w: World, role: str, path: Path) -> bool:
    return as_user(w, role, "ls", str(path)).returncode == 0


def writes(w: World, role: str, path: Path) -> bool:
    script = 'mkdir -p "$(dirname "$1")" && echo written > "$1"'
    return as_user(w, role, "sh", "-c", script, "sh", str(path)).returncode == 0


# ---------------------------------------------------------------------------------------------------


def test_apply_local_creates_every_planned_directory(world: World, lake: Path) -> None:
    for p in world.plan().paths:
        assert (lake / p.path).is_dir(), p.path


@pytest.mark.parametrize("role", sorted(READS))
def test_apply_local_each_user_reads_exactly_what_the_config_says(
    world: World, lake: Path, role: str
) -> None:
    readable = {key for key, rel in FILES.items() if reads(world, role, lake / rel)}
    assert readable == READS[role]


def test_apply_local_analysts_list_their_gold_but_not_the_layer(world: World, lake: Path) -> None:
    assert lists(world, "bury_analyst", lake / "gold/bury")
    assert lists(world, "bury_analyst", lake / "gold/bury/family")
    assert not lists(world, "bury_analyst", lake / "gold")  # traverse only
    assert not lists(world, "bury_analyst", lake)
    assert not lists(world, "bury_analyst", lake / "gold/bolton")


def test_apply_local_custodians_see_nothing_of_platform_or_other_authorities(
    world: World, lake: Path
) -> None:
    for rel in (
        "bronze/_platform",
        "silver/_platform",
        "silver/bolton",
        "landing/bolton",
        "landing/unknownshire",
    ):
        assert not lists(world, "bury_custodian", lake / rel), rel
    assert lists(world, "bury_custodian", lake / "landing/bury/police_incidents/2026-10-31")


def test_apply_local_engineers_traverse_only(world: World, lake: Path) -> None:
    target = lake / FILES["person_xref"]
    assert as_user(world, "engineer", "stat", str(target)).returncode == 0  # reaches it
    assert not reads(world, "engineer", target)
    assert not lists(world, "engineer", target.parent)
    assert as_user(world, "outsider", "stat", str(target)).returncode != 0


def test_apply_local_uploaders_write_their_own_feed_folder_only(world: World, lake: Path) -> None:
    new = lake / "landing/bury/police_incidents/2026-11-30/police_incidents_bury_20261130.csv"
    assert writes(world, "gmp_uploader", new)
    assert writes(world, "gmp_uploader", lake / "landing/bolton/police_incidents/2026-11-30/x.csv")
    assert not writes(world, "gmp_uploader", lake / "landing/bury/school_census/2026-11-30/x.csv")
    assert not writes(world, "education_uploader", lake / "landing/bury/police_incidents/2026-11-30/y.csv")
    assert writes(world, "education_uploader", lake / "landing/bury/school_census/2026-11-30/x.csv")
    assert not writes(world, "gmp_uploader", lake / "landing/bury/x.csv")
    assert not writes(world, "gmp_uploader", lake / "bronze/bury/x.parquet")
    # write-only: an uploader lists nothing and reads nobody else's delivery
    assert not lists(world, "gmp_uploader", lake / "landing/bury/police_incidents")
    assert not reads(world, "gmp_uploader", lake / FILES["landing_bury"])
    # what an uploader delivers is the authority's: its custodians read it, the pipeline deletes it
    assert reads(world, "bury_custodian", new)
    assert not reads(world, "bolton_custodian", new)
    assert as_user(world, "pipeline", "rm", str(new)).returncode == 0


def test_apply_local_pipeline_reads_deletes_landing_and_writes_every_layer(world: World, lake: Path) -> None:
    doomed = lake / "landing/bolton/police_incidents/2026-10-31/copy.csv"
    doomed.write_text("x\n", encoding="utf-8")
    assert as_user(world, "pipeline", "rm", str(doomed)).returncode == 0
    for rel in (
        "bronze/_platform/delivery_log/part-1.parquet",
        "bronze/bury/police_incidents/part-1.parquet",
        "silver/_platform/person_xref/part-1.parquet",
        "silver/bolton/person/part-1.parquet",
        "gold/bury/family/part-1.parquet",
    ):
        assert writes(world, "pipeline", lake / rel), rel


def test_apply_local_files_written_after_apply_inherit_the_config(world: World, lake: Path) -> None:
    by_root = lake / "gold/bury/family_member/part-0.parquet"  # a new table, as the pipeline would
    by_root.parent.mkdir()
    by_root.write_text("new\n", encoding="utf-8")
    by_pipeline = lake / "gold/bury/headline_evidence/part-0.parquet"
    assert writes(world, "pipeline", by_pipeline)  # umask 022: mode 0644
    platform_new = lake / "silver/_platform/family_member/part-0.parquet"
    assert writes(world, "pipeline", platform_new)
    for path in (by_root, by_pipeline):
        assert reads(world, "bury_analyst", path)
        assert reads(world, "bury_custodian", path)
        assert not reads(world, "bolton_analyst", path)
        assert not reads(world, "engineer", path)
    assert not reads(world, "bury_custodian", platform_new)
    assert drift_local(world.plan(), lake, pipeline_user=world.pipeline) == []


def test_apply_local_twice_changes_nothing(world: World) -> None:
    lake = make_lake(world, "lake-idempotent")
    plan = world.plan()
    first = apply_local(plan, lake, pipeline_user=world.pipeline)
    assert first.changed and first.created_dirs
    snapshot = subprocess.run(["getfacl", "-R", "-p", str(lake)], capture_output=True, text=True).stdout
    for _ in range(2):
        again = apply_local(plan, lake, pipeline_user=world.pipeline)
        assert (again.changed, again.created_dirs, again.created_groups) == ([], [], [])
        assert (
            subprocess.run(["getfacl", "-R", "-p", str(lake)], capture_output=True, text=True).stdout
            == snapshot
        )


def test_drift_local_reports_each_planted_drift_and_apply_repairs_it(world: World) -> None:
    lake = make_lake(world, "lake-drift")
    plan = world.plan()
    apply_local(plan, lake, pipeline_user=world.pipeline)
    assert drift_local(plan, lake, pipeline_user=world.pipeline) == []

    _run("setfacl", "-m", f"g:{world.group('bolton-analysts')}:r-x", str(lake / "gold/bury"))
    _run("chmod", "o+r", str(lake / FILES["gold_bury"]))
    _run("setfacl", "-x", f"g:{world.group('bury-custodians')}", str(lake / "silver/bury"))
    shutil.rmtree(lake / "landing/wigan/probation")

    drifts = {d.path: d.problems for d in drift_local(plan, lake, pipeline_user=world.pipeline)}
    assert drifts == {
        "gold/bury": (f"access group:{world.group('bolton-analysts')} r-x not in the config",),
        FILES["gold_bury"]: ("other can r--, config ---",),
        "silver/bury": (f"access group:{world.group('bury-custodians')} missing (config r-x)",),
        "landing/wigan/probation": ("missing directory",),
    }
    repaired = apply_local(plan, lake, pipeline_user=world.pipeline)
    assert set(repaired.changed) == set(drifts)
    assert repaired.created_dirs == ["landing/wigan/probation"]
    assert drift_local(plan, lake, pipeline_user=world.pipeline) == []


def test_cli_drift_exits_1_listing_each_drifted_path_and_0_once_applied(world: World) -> None:
    lake = make_lake(world, "lake-cli")
    args = ["--config", str(world.config), "--lake", str(lake), "--local", "--pipeline-user", world.pipeline]

    def cli(command: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "accelerator.governance.cli", command, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    before = cli("drift")
    assert before.returncode == 1
    assert f"drift: {FILES['gold_bury']}: " in before.stdout
    assert "drift: gold/wigan: missing directory" in before.stdout
    applied = cli("apply")
    assert applied.returncode == 0, applied.stderr
    assert "failures: 0" in applied.stdout
    after = cli("drift")
    assert after.returncode == 0 and after.stdout.startswith("no drift (deep: every path ("), after.stdout
    _run("setfacl", "-m", f"u:{world.pipeline}:r", str(lake / FILES["bronze_bolton"]))
    _run("setfacl", "-m", f"g:{world.group('gmp-uploaders')}:rx", str(lake / "landing/bury"))
    planted = cli("drift")
    assert planted.returncode == 1
    listed = [line.split(":")[1].strip() for line in planted.stdout.splitlines() if line.startswith("drift:")]
    assert listed == ["landing/bury"]  # the pipeline reading bronze is the config's own right


def test_observe_reads_names_with_spaces(world: World) -> None:
    lake = world.base / "lake-names"
    (lake / "gold/bury/odd name").mkdir(parents=True)
    assert "gold/bury/odd name" in {o.path for o in observe(lake)}


def test_apply_local_warns_when_the_lake_is_out_of_reach(world: World, tmp_path: Path) -> None:
    report = apply_local(world.plan(), tmp_path / "lake", pipeline_user=world.pipeline)
    assert any("has no o+x" in w for w in report.warnings)  # pytest's tmp_path is 0700


def test_drift_local_checks_owners_and_apply_gives_a_stray_owner_back_to_the_pipeline(world: World) -> None:
    lake = make_lake(world, "lake-owners")
    plan = world.plan()
    apply_local(plan, lake, pipeline_user=world.pipeline)
    _add_users(world)
    analyst = world.users["bury_analyst"]
    gold = lake / FILES["gold_bury"]
    os.chown(gold, pwd.getpwnam(analyst).pw_uid, -1)  # the owner could rewrite its ACL
    uploaded = lake / "landing/bury/police_incidents/2026-12-01/x.csv"
    assert writes(world, "gmp_uploader", uploaded)  # an uploader owns its own delivery: allowed
    drifts = {d.path: d.problems for d in drift_local(plan, lake, pipeline_user=world.pipeline)}
    assert drifts == {
        FILES["gold_bury"]: (f"owner is {analyst}, config: {world.pipeline} or root",),
    }
    report = apply_local(plan, lake, pipeline_user=world.pipeline)
    assert report.owners_changed == [FILES["gold_bury"]]
    assert pwd.getpwuid(gold.stat().st_uid).pw_name == world.pipeline
    assert pwd.getpwuid(uploaded.stat().st_uid).pw_name == world.users["gmp_uploader"]
    assert drift_local(plan, lake, pipeline_user=world.pipeline) == []


def test_check_local_planned_and_sampled_scopes_read_less_and_say_so(world: World) -> None:
    from accelerator.governance.acl_local import check_local

    lake = make_lake(world, "lake-scopes")
    plan = world.plan()
    apply_local(plan, lake, pipeline_user=world.pipeline)
    old = lake / FILES["silver_bury"]
    for i in range(5):  # newer files beside it: the sample takes the 3 newest of each folder
        (old.parent / f"part-new-{i}.parquet").write_text("x\n", encoding="utf-8")
    os.utime(old, (1, 1))
    newest = old.parent / "part-new-4.parquet"
    for target in (old, newest):
        _run("chmod", "o+r", str(target))
    deep = check_local(plan, lake, pipeline_user=world.pipeline)
    assert {d.path for d in deep.drifts} == {FILES["silver_bury"], "silver/bury/person/part-new-4.parquet"}
    planned = check_local(plan, lake, pipeline_user=world.pipeline, scope="planned")
    assert (planned.drifts, planned.scope) == ([], "planned directories only (147 read)")
    sampled = check_local(plan, lake, pipeline_user=world.pipeline, scope="auto", limit=10)
    assert [d.path for d in sampled.drifts] == ["silver/bury/person/part-new-4.parquet"]
    assert sampled.scope.startswith("sampled: ") and "the 3 newest files of each" in sampled.scope
    small = check_local(plan, lake, pipeline_user=world.pipeline, scope="auto")
    assert small.drifts == deep.drifts and small.scope.startswith("deep: every path")


# --------------------------------------------------------------- Greater Manchester's real shape

OWN_FEEDS = ("school_census", "housing", "childrens_social_care", "early_help", "youth_justice")
PARTNER_FEEDS = ("police_incidents", "health_services", "dwp_benefits", "probation", "fire_rescue")
AREAS = ("landing", "bronze", "silver", "gold")
SHORT = dict(  # Linux group names are at most 32 characters
    school_census="edu",
    housing="hou",
    childrens_social_care="csc",
    early_help="eh",
    youth_justice="yj",
    police_incidents="gmp",
    health_services="icb",
    dwp_benefits="dwp",
    probation="prob",
    fire_rescue="fire",
)


@dataclass
class GM:
    """Ten authorities, per-authority uploaders for the five authority-run feeds, shared partner
    groups, a traverse group; one real user per group, a pipeline user and an outsider."""

    prefix: str
    base: Path
    config: Path
    lake: Path
    users: dict[str, str]  # role -> user; roles: "<a>:custodians", "<a>:<feed>", "<feed>", ...

    def plan(self) -> AclPlan:
        return plan_acls(load_custodianship(self.config))


@pytest.fixture(scope="module")
def gm() -> Iterator[GM]:
    _require_root_and_acl()
    from accelerator.feeds import AUTHORITIES
    from accelerator.governance.acl_local import ensure_groups

    prefix = "g" + secrets.token_hex(3)
    base = Path(tempfile.mkdtemp(prefix="acl-gm-", dir="/tmp"))
    base.chmod(0o711)
    gname = {  # role -> group
        **{f"{a}:{r}": f"{prefix}-{a}-{r}" for a in AUTHORITIES for r in ("custodians", "analysts")},
        **{f"{a}:{f}": f"{prefix}-{a}-{SHORT[f]}" for a in AUTHORITIES for f in OWN_FEEDS},
        **{f: f"{prefix}-{SHORT[f]}" for f in PARTNER_FEEDS},
        "engineers": f"{prefix}-engineers",
    }
    data = {
        "platform": {
            "pipeline": "mi-synw-gm",
            "engineers": gname["engineers"],
            "traverse": f"{prefix}-traverse",
        },
        "authorities": {
            a: {
                "custodians": gname[f"{a}:custodians"],
                "analysts": gname[f"{a}:analysts"],
                "uploaders": {f: gname[f"{a}:{f}"] if f in OWN_FEEDS else gname[f] for f in FEEDS_ALL},
            }
            for a in AUTHORITIES
        },
    }
    config = base / "custodianship.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    users: dict[str, str] = {}
    try:
        ensure_groups([*gname.values(), f"{prefix}-traverse"])
        for i, (role, group) in enumerate(sorted(gname.items())):
            users[role] = f"{prefix}-u{i}"
            _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-G", group, users[role])
        for role in ("pipeline", "outsider"):
            users[role] = f"{prefix}-{role}"
            _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", users[role])
        lake = base / "lake"
        for rel in GM_FILES:
            (lake / rel).parent.mkdir(parents=True, exist_ok=True)
            (lake / rel).write_text(rel + "\n", encoding="utf-8")
        yield GM(prefix, base, config, lake, users)
    finally:
        for user in users.values():
            subprocess.run(["userdel", user], capture_output=True, check=False)
        for g in grp.getgrall():
            if g.gr_name.startswith(prefix + "-"):
                subprocess.run(["groupdel", g.gr_name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _feeds() -> tuple[str, ...]:
    from accelerator.feeds import FEEDS

    return tuple(FEEDS)


def _authorities() -> tuple[str, ...]:
    from accelerator.feeds import AUTHORITIES

    return tuple(AUTHORITIES)


FEEDS_ALL = _feeds()
GM_AUTHORITIES = _authorities()
GM_FILES = (
    [f"landing/{a}/{f}/2026-10-31/{f}_{a}.csv" for a in GM_AUTHORITIES for f in FEEDS_ALL]
    + [f"{layer}/{a}/t/part-0.parquet" for layer in ("bronze", "silver", "gold") for a in GM_AUTHORITIES]
    + [f"bronze/{a}/_quarantine/part-0.parquet" for a in GM_AUTHORITIES]
    + ["bronze/_platform/delivery_log/part-0.parquet", "silver/_platform/person_xref/part-0.parquet"]
)
WRITE_DIRS = (
    [f"landing/{a}/{f}" for a in GM_AUTHORITIES for f in FEEDS_ALL]
    + [f"landing/{a}" for a in GM_AUTHORITIES]
    + [f"{layer}/{a}/t" for layer in ("bronze", "silver", "gold") for a in GM_AUTHORITIES]
    + ["bronze/_platform", "silver/_platform/person_xref", "gold", "landing", ""]
)

_PROBE = r"""
import os, sys
me = sys.argv[1]
for line in sys.stdin.read().splitlines():
    op, p = line.split(" ", 1)
    try:
        if op == "r":
            with open(p, "rb") as f:
                f.read(1)
        elif op == "l":
            os.listdir(p)
        elif op == "s":
            os.stat(p)
        elif op == "w":
            d = os.path.join(p, "new-" + me)
            os.mkdir(d)
            with open(os.path.join(d, "x"), "w") as f:
                f.write("x")
        print(op, p)
    except OSError:
        pass
"""


@cache
def _user_python(user: str) -> str:
    """An interpreter ``user`` can run: this one, unless it lives where others cannot reach it
    (e.g. pyenv under /root), then the system's python3. The probe needs the standard library only."""
    for candidate in (sys.executable, shutil.which("python3", path="/usr/bin:/bin") or ""):
        ok = subprocess.run(
            [
                "setpriv",
                f"--reuid={user}",
                f"--regid={pwd.getpwnam(user).pw_gid}",
                "--init-groups",
                candidate,
                "-I",
                "-S",
                "-c",
                "pass",
            ],
            capture_output=True,
            check=False,
        )
        if candidate and ok.returncode == 0:
            return candidate
    raise AssertionError(f"no Python interpreter that {user} can run")


def _probe(gm: GM, role: str, ops: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """What ``role``'s user can do, as that user (one process): (op, path) for each op that worked."""
    user = gm.users[role]
    cmd = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups"]
    stdin = "".join(f"{op} {gm.lake / p if p else gm.lake}\n" for op, p in ops)
    py = [_user_python(user), "-I", "-S", "-c", _PROBE, user]
    done = subprocess.run([*cmd, *py], input=stdin, capture_output=True, text=True, cwd="/", check=True)
    out = set()
    for line in done.stdout.splitlines():
        op, path = line.split(" ", 1)
        rel = os.path.relpath(path, gm.lake)
        out.add((op, "" if rel == "." else rel))
    return out


def _matrix(role: str) -> tuple[set[str], set[str], set[str]]:
    """custodianship.md's matrix, written out independently of the planner: the files ``role``
    reads, the folders it creates deliveries or table files in, and the folders it lists."""
    if role == "pipeline":
        writes = {d for d in WRITE_DIRS if d.count("/") == 2 or "_platform" in d}
        return set(GM_FILES), writes, set(LIST_DIRS)
    head, _, tail = role.partition(":")
    if tail == "custodians":
        mine = {d for d in LIST_DIRS if d.count("/") >= 1 and d.split("/")[1] == head}
        return {f for f in GM_FILES if f.split("/")[1] == head}, set(), mine
    if tail == "analysts":
        return (
            {f for f in GM_FILES if f.startswith(f"gold/{head}/")},
            set(),
            {d for d in LIST_DIRS if d == f"gold/{head}" or d.startswith(f"gold/{head}/")},
        )
    if tail in OWN_FEEDS:
        return set(), {f"landing/{head}/{tail}"}, set()
    if head in PARTNER_FEEDS:
        return set(), {f"landing/{a}/{head}" for a in GM_AUTHORITIES}, set()
    return set(), set(), set()  # engineers, outsider


LIST_DIRS = sorted(
    {"", *AREAS, "bronze/_platform", "silver/_platform"}
    | {f"{layer}/{a}" for layer in AREAS for a in GM_AUTHORITIES}
    | {f"landing/{a}/{f}" for a in GM_AUTHORITIES for f in FEEDS_ALL}
    | {f.rsplit("/", 1)[0] for f in GM_FILES}
)


def test_gm_config_needs_the_traverse_group_and_plans_within_the_adls_limit(gm: GM) -> None:
    config = load_custodianship(gm.config)
    assert len(config.member_groups) == 75
    counts = {p.path: p.acl.named_counts() for p in gm.plan().paths}
    assert counts[""] == (3, 2) and max(max(c) for c in counts.values()) == 13


@pytest.fixture(scope="module")
def gm_applied(gm: GM) -> GM:
    config = load_custodianship(gm.config)
    report = apply_local(gm.plan(), gm.lake, pipeline_user=gm.users["pipeline"], config=config)
    assert report.ok
    members = [u for r, u in gm.users.items() if r not in ("pipeline", "outsider", "engineers")]
    assert sorted(report.traverse_members) == sorted(f"+{u}" for u in members)
    return gm


@pytest.fixture(scope="module")
def gm_seen(gm_applied: GM) -> dict[str, set[tuple[str, str]]]:
    """Every user (all ten authorities' groups, partners, engineers, outsider, pipeline) reading a
    file in every area, listing every folder and writing into every folder, as themselves."""
    ops = [("r", f) for f in GM_FILES] + [("l", d) for d in LIST_DIRS] + [("w", d) for d in WRITE_DIRS]
    ops.append(("s", "silver/_platform/person_xref/part-0.parquet"))
    return {role: _probe(gm_applied, role, ops) for role in sorted(gm_applied.users)}


@pytest.mark.parametrize(("op", "column"), [("r", 0), ("w", 1), ("l", 2)], ids=["read", "write", "list"])
def test_gm_every_user_can_exactly_its_rows_of_the_matrix(
    gm_seen: dict[str, set[tuple[str, str]]], op: str, column: int
) -> None:
    assert len(gm_seen) == 78
    wrong = {}
    for role, seen in gm_seen.items():
        expected = _matrix(role)[column]
        got = {p for o, p in seen if o == op}
        if got != expected:  # (can but must not, must but cannot)
            wrong[role] = (sorted(got - expected)[:3], sorted(expected - got)[:3])
    assert wrong == {}, wrong


def test_gm_only_the_pipeline_and_engineers_reach_the_platform_area(
    gm_seen: dict[str, set[tuple[str, str]]],
) -> None:
    assert {role for role, seen in gm_seen.items() if any(o == "s" for o, _ in seen)} == {
        "pipeline",
        "engineers",
    }


def test_gm_what_an_authoritys_uploader_delivers_is_that_authoritys_alone(
    gm_applied: GM, gm_seen: dict[str, set[tuple[str, str]]]
) -> None:
    gm = gm_applied
    new = f"landing/bury/housing/new-{gm.users['bury:housing']}/x"
    if not (gm.lake / new).exists():
        assert _probe(gm, "bury:housing", [("w", "landing/bury/housing")])
    assert _probe(gm, "bury:custodians", [("r", new)]) == {("r", new)}
    assert _probe(gm, "bury:housing", [("r", new)]) == {("r", new)}  # its owner: POSIX owner rights
    for role in ("bolton:custodians", "bury:analysts", "bury:school_census", "police_incidents"):
        assert _probe(gm, role, [("r", new)]) == set(), role
    assert (
        drift_local(
            gm.plan(), gm.lake, pipeline_user=gm.users["pipeline"], config=load_custodianship(gm.config)
        )
        == []
    )


def test_gm_a_user_added_to_a_group_after_apply_is_drift_until_apply_adds_it_to_the_traverse_group(
    gm_applied: GM, gm_seen: dict[str, set[tuple[str, str]]]
) -> None:
    gm = gm_applied
    config = load_custodianship(gm.config)
    newcomer = f"{gm.prefix}-newcomer"
    _run(
        "useradd",
        "-M",
        "-N",
        "-s",
        "/usr/sbin/nologin",
        "-G",
        config.authorities["bury"].custodians,
        newcomer,
    )
    gm.users["newcomer"] = newcomer  # removed with the others
    drifts = drift_local(gm.plan(), gm.lake, pipeline_user=gm.users["pipeline"], config=config)
    assert [(d.path, d.problems) for d in drifts] == [
        ("", (f"traverse group {config.traverse} lacks {newcomer}",))
    ]
    assert not _probe(gm, "newcomer", [("r", "gold/bury/t/part-0.parquet")])  # cannot pass the root yet
    report = apply_local(gm.plan(), gm.lake, pipeline_user=gm.users["pipeline"], config=config)
    assert (report.traverse_members, report.changed) == ([f"+{newcomer}"], [])
    assert _probe(gm, "newcomer", [("r", "gold/bury/t/part-0.parquet")])
    assert drift_local(gm.plan(), gm.lake, pipeline_user=gm.users["pipeline"], config=config) == []
