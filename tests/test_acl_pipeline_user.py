"""The whole pipeline run as the pipeline user on an ACL'd lake: no drift, access unchanged.

ACLs are applied (as root) to a lake whose landing zone holds a tiny generated population of two
authorities; then ``accelerator run`` runs as a real OS user, the pipeline user, through
``setpriv``; afterwards a deep drift check (every file and folder, owners included) finds
nothing, and every user reads exactly what custodianship.md's matrix says, in every layer the
run wrote. Needs root, the ``acl`` package and Spark (run it under the Spark lock); it fails,
saying why, without root unless ACCELERATOR_SKIP_OS_ACL_TESTS=1 skips it on purpose.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from accelerator.governance.acl_local import apply_local, check_local, ensure_groups
from accelerator.governance.acl_plan import plan_acls
from accelerator.governance.custodianship import load_custodianship
from accelerator.synth import generate

OPT_OUT = "ACCELERATOR_SKIP_OS_ACL_TESTS"
ROOT = Path(__file__).resolve().parents[1]
AUTHORITIES = ("bolton", "bury")
AS_OF = date(2025, 3, 31)
ROLES = {  # role -> group suffix ("" for no group)
    "bury-custodians": "bury-c",
    "bury-analysts": "bury-a",
    "bolton-custodians": "bolton-c",
    "bolton-analysts": "bolton-a",
    "bury-housing": "bury-hou",
    "police": "gmp",
    "engineers": "eng",
    "outsider": "",
}


def _require_root_and_acl() -> None:
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: real-user ACL tests skipped on purpose")
    if os.geteuid() != 0:
        pytest.fail(f"this test creates users and groups: run it as root (as CI does) or set {OPT_OUT}=1")
    for tool in ("setfacl", "getfacl", "setpriv", "useradd", "groupadd", "gpasswd"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: `make setup` installs the acl package (apt-get install acl)")


def _as(user: str) -> list[str]:
    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups"]


def _interpreter(user: str) -> tuple[str, dict[str, str]]:
    """A Python that ``user`` can run with this environment's packages: this one, or, when it lives
    where others cannot reach (e.g. pyenv under /root), the system's python3 of the same version
    with this environment's site-packages and ``lib/`` on PYTHONPATH."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "ACCELERATOR_JARS": str(ROOT / ".jars"),
        # the suite's Spark defaults, and its CLI JVMs' heap and compiler (tests/conftest.py)
        "SPARK_CONF_DIR": os.environ["SPARK_CONF_DIR"],
        "ACCELERATOR_DRIVER_MEMORY": os.environ["ACCELERATOR_DRIVER_MEMORY"],
        "ACCELERATOR_DRIVER_JAVA_OPTIONS": os.environ["ACCELERATOR_DRIVER_JAVA_OPTIONS"],
    }
    # through a shell: setpriv itself may exec what the user's own processes (Spark's workers) cannot
    probe = [*_as(user), "sh", "-c", f'exec "{sys.executable}" -c "import pyspark"']
    if subprocess.run(probe, capture_output=True, check=False, cwd="/").returncode == 0:
        return sys.executable, env
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    assert os.access(system, os.X_OK), (
        f"{sys.executable} is out of the pipeline user's reach and {system} is missing"
    )
    env["PYTHONPATH"] = os.pathsep.join([sysconfig.get_paths()["purelib"], str(ROOT / "lib")])
    return system, env


def _readable(user: str, lake: Path, files: list[str]) -> set[str]:
    script = (
        "import sys\n"
        "for p in sys.stdin.read().splitlines():\n"
        "    try:\n"
        "        open(p, 'rb').close(); print(p)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    done = subprocess.run(
        [*_as(user), python, "-I", "-S", "-c", script],
        input="".join(f"{lake / f}\n" for f in files),
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return {os.path.relpath(p, lake) for p in done.stdout.splitlines()}


def _matrix(role: str, files: list[str]) -> set[str]:
    """custodianship.md's matrix: what each role reads."""
    if role == "pipeline":
        return set(files)
    authority, _, kind = role.partition("-")
    if kind == "custodians":
        return {f for f in files if f.split("/")[1] == authority}
    if kind == "analysts":
        return {f for f in files if f.startswith(f"gold/{authority}/")}
    return set()  # uploaders, engineers, outsider read nothing (uploaders own nothing here)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Path, Path, dict[str, str]]]:
    _require_root_and_acl()
    prefix = "p" + secrets.token_hex(3)
    base = Path(tempfile.mkdtemp(prefix="acl-run-", dir="/tmp"))
    base.chmod(0o711)
    group = {role: f"{prefix}-{g}" for role, g in ROLES.items() if g}
    config = base / "custodianship.yaml"
    uploaders = {"police_incidents": group["police"]}
    config.write_text(
        yaml.safe_dump(
            {
                "platform": {
                    "pipeline": "mi-synw-test",
                    "engineers": group["engineers"],
                    "traverse": f"{prefix}-trav",
                },
                "authorities": {
                    "bury": {
                        "custodians": group["bury-custodians"],
                        "analysts": group["bury-analysts"],
                        "uploaders": {**uploaders, "housing": group["bury-housing"]},
                    },
                    "bolton": {
                        "custodians": group["bolton-custodians"],
                        "analysts": group["bolton-analysts"],
                        "uploaders": uploaders,
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    users: dict[str, str] = {}
    try:
        ensure_groups([*group.values(), f"{prefix}-trav"])
        for role in [*ROLES, "pipeline"]:
            users[role] = f"{prefix}-{role}"[:32]
            extra = ["-G", group[role]] if role in group else []
            subprocess.run(
                ["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *extra, users[role]],
                check=True,
                capture_output=True,
            )
        yield base, config, users
    finally:
        for user in users.values():
            subprocess.run(["userdel", user], capture_output=True, check=False)
        for g in grp.getgrall():
            if g.gr_name.startswith(prefix + "-"):
                subprocess.run(["groupdel", g.gr_name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_pipeline_as_the_pipeline_user_leaves_no_drift_and_access_unchanged(
    world: tuple[Path, Path, dict[str, str]],
) -> None:
    base, config_file, users = world
    config = load_custodianship(config_file)
    plan = plan_acls(config)
    pipeline = users["pipeline"]
    gen = base / "generated"
    generate(gen, families_per_authority=2, seed=7, as_of=AS_OF)
    lake = base / "lake"
    for a in AUTHORITIES:  # the partners' deliveries, in the lake's landing zone (custodianship.md)
        shutil.copytree(gen / "landing" / a, lake / "landing" / a)
        for feed in (lake / "landing" / a).iterdir():  # the first delivery of each feed: fast
            for later in sorted(feed.iterdir())[1:]:
                shutil.rmtree(later)
    shutil.rmtree(gen)
    report = apply_local(plan, lake, pipeline_user=pipeline, config=config)
    assert report.ok and len(report.traverse_members) == 6  # the users of the six member groups
    landing = sorted(str(p.relative_to(lake)) for p in (lake / "landing").rglob("*") if p.is_file())
    assert landing
    before = {role: _readable(user, lake, landing) for role, user in users.items()}
    assert before == {role: _matrix(role, landing) for role in users}

    python, env = _interpreter(pipeline)
    home = base / "home"
    home.mkdir()
    os.chown(home, pwd.getpwnam(pipeline).pw_uid, -1)
    env["HOME"] = str(home)
    env["PYSPARK_PYTHON"] = python
    run = [python, "-c", "from accelerator.cli import app; app()", "run"]
    args = ["--landing", str(lake / "landing"), "--lake", str(lake), "--as-of", AS_OF.isoformat()]
    done = subprocess.run(
        [*_as(pipeline), *run, *args], env=env, cwd=home, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    files = sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())
    for layer in ("bronze", "silver", "gold"):
        for a in AUTHORITIES:
            assert any(f.startswith(f"{layer}/{a}/") and f.endswith(".parquet") for f in files), (layer, a)
    assert any(f.startswith("silver/_platform/person_xref/") for f in files)
    owners = {pwd.getpwuid((lake / f).stat().st_uid).pw_name for f in files if not f.startswith("landing/")}
    assert owners == {pipeline}  # everything the run wrote is the pipeline user's

    check = check_local(plan, lake, pipeline_user=pipeline, config=config)
    assert check.drifts == [], "\n".join(str(d) for d in check.drifts[:20])
    after = {role: _readable(user, lake, files) for role, user in users.items()}
    assert after == {role: _matrix(role, files) for role in users}
    kept = set(landing) & set(files)  # (settled deliveries may have been cleared from landing)
    assert {role: after[role] & kept for role in users} == {role: before[role] & kept for role in users}
