"""`make test` relies on pytest-xdist's `--dist loadgroup` to run every test of a shared lake (and
of a module-scoped fixture) in one process (tests/conftest.py). When the group is ignored, as with
pytest 9 and pytest-xdist 3.8, nothing fails: both processes build every lake, and the suite takes
twice as long. This runs a tiny suite of its own in two processes and checks where each test ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TEST = """
import os, time, pytest
pytestmark = {mark}
def test_{name}():
    time.sleep(0.3)
    open("{out}", "w").write(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_tests_of_one_xdist_group_run_in_one_process(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    grouped, alone = "abcd", "efgh"
    names = {**dict.fromkeys(grouped, 'pytest.mark.xdist_group("lake")'), **dict.fromkeys(alone, "[]")}
    for name, mark in names.items():
        out = tmp_path / f"{name}.worker"
        (suite / f"test_{name}.py").write_text(TEST.format(mark=mark, name=name, out=out), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=900,  # two new processes on a machine whose two cores the suite keeps busy
    )
    assert done.returncode == 0, done.stdout + done.stderr
    worker = {n: (tmp_path / f"{n}.worker").read_text(encoding="utf-8") for n in names}
    assert set(worker.values()) <= {"gw0", "gw1"}
    assert len({worker[n] for n in grouped}) == 1, worker
