"""Two writers at once on one lake: the lake's lease (accelerator.io.lease) makes them take turns.

Real processes on a real lake: two ``accelerator run`` started together end with the lake one run
gives (the second waits for the first, then finds nothing pending); a run and an ``erase`` that
will not wait long exit 3 naming the holder, having changed nothing; and readers (delta-rs) open
every table while the run writes, never blocked and never shown a half-written table.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from fault_kit import (
    CLI,
    ROOT,
    Run,
    assert_same_lake,
    clean_lake,
    cli_env,
    commits,
    new_landing,
    readable,
    shared_base,
)

pytestmark = pytest.mark.slow


def _holder_line(output: str) -> str:
    return next((line for line in output.splitlines() if "is being written by" in line), "")


def test_two_runs_together_take_turns_and_end_with_one_runs_lake_while_others_are_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = shared_base(tmp_path_factory)
    work = tmp_path_factory.mktemp("concurrent")
    landing = new_landing(base, work / "landing")
    lake = work / "lake"

    first = Run.start(landing, lake, work / "first.log")
    second = Run.start(landing, lake, work / "second.log")  # default wait: 600 s
    holder_file = lake / "bronze" / "_platform" / "_lease.json"
    deadline = time.monotonic() + 120
    while not holder_file.exists():
        assert time.monotonic() < deadline, "no run took the lease"
        time.sleep(0.05)

    # While one run writes, a third that will wait one second and an erasure are refused, naming it.
    third = Run.start(landing, lake, work / "third.log", ACCELERATOR_LEASE_WAIT_SECONDS="1")
    assert third.wait(120) == 3, third.output()
    erase = subprocess.run(
        [str(CLI), "erase", "--lake", str(lake), "--person-id", "P0000000000000000", "--reason", "test"],
        cwd=ROOT,
        env=cli_env(ACCELERATOR_LEASE_WAIT_SECONDS="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert erase.returncode == 3, erase.stdout + erase.stderr
    for refused in (third.output(), erase.stdout):
        line = _holder_line(refused)
        assert "run (run " in line and " pid " in line and " since " in line, refused

    # Readers are never blocked and never see half a commit: while the runs write, delta-rs opens
    # one table after another at its latest version, and reads exactly the rows that version's
    # files hold (every file of the snapshot there, none half-written).
    reads = 0
    while first.proc.poll() is None or second.proc.poll() is None:
        for table in list(commits(lake)):
            try:
                dt = DeltaTable(str(lake / table))
            except TableNotFoundError:
                continue  # its folder exists, its first commit not yet
            counts = dt.get_add_actions(flatten=True).column("num_records").to_pylist()
            assert dt.to_pyarrow_table().num_rows == sum(counts), table
            reads += 1
            time.sleep(0.25)
    assert reads > 10

    codes = (first.wait(), second.wait())
    assert codes == (0, 0), (first.output()[-3000:], second.output()[-3000:])
    waited = [r for r in (first, second) if "waiting up to" in r.output()]
    assert len(waited) == 1, "exactly one of the two runs waited for the other"
    assert_same_lake(lake, clean_lake(base), context="two runs started together")
    assert all(n >= 0 for n in readable(lake).values())
    assert not holder_file.exists()  # both released
