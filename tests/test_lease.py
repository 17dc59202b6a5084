"""The lake lease (accelerator.io.lease): one writer per lake.

Locally with real processes and real signals (a second process waits, then fails naming the
holder; a SIGKILLed holder's lock is gone at once); on ADLS against the blob lease fake
(tests/fakes/lease.py) on a clock the test moves (a lease expires without its heartbeat and stays
held with it). No Spark.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from azure.storage.filedatalake import DataLakeFileClient, DataLakeLeaseClient

from accelerator.io.lease import (
    AdlsLease,
    Heartbeat,
    Holder,
    LakeBusy,
    LeaseLost,
    LocalLease,
    held,
    lease_for,
    lease_path,
)
from fakes.lease import FakeClock, FakeFileClient, FakeLeaseClient, FakeLeaseFileSystem

SINCE = datetime(2026, 12, 2, 6, 0, 0)
ACCOUNT_LAKE = "abfss://lake@stgmsftestlake.dfs.core.windows.net"

# A process that takes the lease, says so, and holds it until a line arrives on stdin (or it dies).
HOLD = """
import os, sys, time
from datetime import datetime
from accelerator.io.lease import Holder, LakeBusy, held

lake, command, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
holder = Holder(command=command, host="host-" + command, pid=os.getpid(), since=datetime(2026, 12, 2, 6, 0),
                run_id="run-" + command)
try:
    with held(lake, holder, wait_seconds=wait, clock=time.monotonic, sleep=time.sleep, poll_seconds=0.05,
              on_wait=lambda h: print("waiting for", h.describe() if h else None, flush=True)):
        print("held", flush=True)
        sys.stdin.readline()
except LakeBusy as e:
    print(e, file=sys.stderr, flush=True)
    sys.exit(3)
print("released", flush=True)
"""


def _holder(command: str, run_id: str = "") -> Holder:
    return Holder(command=command, host="h1", pid=4242, since=SINCE, run_id=run_id)


class Proc:
    def __init__(self, lake: Path, command: str, wait: float) -> None:
        self.started = time.monotonic()
        self.p = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(lake), command, str(wait)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def line(self) -> str:
        assert self.p.stdout is not None
        return self.p.stdout.readline().strip()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.p.communicate("\n", timeout=60)
        return self.p.returncode, out, err


def test_a_second_process_waits_its_time_then_fails_naming_the_holder(tmp_path: Path) -> None:
    first = Proc(tmp_path, "run", 0)
    assert first.line() == "held"
    second = Proc(tmp_path, "erase", 1.0)
    code, out, err = second.finish()
    waited = time.monotonic() - second.started
    assert code == 3, (out, err)
    assert f"waiting for run (run run-run) on host-run, pid {first.p.pid}" in out
    named = f"is being written by run (run run-run) on host-run, pid {first.p.pid}, since 2026-12-02 06:00:00"
    assert named in err
    assert waited >= 1.0
    assert first.finish()[0] == 0


def test_a_second_process_that_waits_long_enough_gets_the_lease_when_the_first_ends(tmp_path: Path) -> None:
    first = Proc(tmp_path, "run", 0)
    assert first.line() == "held"
    second = Proc(tmp_path, "retention", 60)
    assert second.line().startswith("waiting for run (run run-run)")
    assert first.finish()[0] == 0
    assert second.line() == "held"
    holder = json.loads((tmp_path / "bronze" / "_platform" / "_lease.json").read_text())
    assert holder["command"] == "retention" and holder["pid"] == str(second.p.pid)
    code, out, _ = second.finish()
    assert code == 0 and out.strip() == "released"
    assert not (tmp_path / "bronze" / "_platform" / "_lease.json").exists()


def test_a_sigkilled_holder_releases_the_lease_at_once(tmp_path: Path) -> None:
    first = Proc(tmp_path, "run", 0)
    assert first.line() == "held"
    first.p.send_signal(signal.SIGKILL)
    first.p.wait(timeout=30)
    # Its description stays behind (it had no chance to remove it): it names a dead holder ...
    stale = json.loads((tmp_path / "bronze" / "_platform" / "_lease.json").read_text())
    assert stale["pid"] == str(first.p.pid)
    # ... but the kernel dropped its lock: the next command takes the lease without waiting.
    second = Proc(tmp_path, "erase", 0)
    assert second.line() == "held"
    assert second.finish()[0] == 0


def test_local_lease_lives_in_the_platform_only_area_and_excludes_a_second_holder(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    a, b = LocalLease(lake, _holder("run", "R1")), LocalLease(lake, _holder("erase"))
    assert lease_path(lake) == f"{lake}/bronze/_platform/_lease"
    assert a.try_acquire()
    assert not b.try_acquire()  # flock excludes a second open file description, in-process too
    assert b.current_holder() == _holder("run", "R1")
    assert (tmp_path / "lake" / "bronze" / "_platform" / "_lease").stat().st_mode & 0o777 == 0o644
    a.release()
    assert b.current_holder() is None
    assert b.try_acquire()
    b.release()


def test_held_waits_on_the_given_clock_and_names_the_holder(tmp_path: Path) -> None:
    lake = str(tmp_path)
    clock = FakeClock()
    first = LocalLease(lake, _holder("acl apply"))
    assert first.try_acquire()
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock.advance(s)

    run = _holder("run")
    with pytest.raises(LakeBusy) as busy, held(lake, run, wait_seconds=10, clock=clock, sleep=sleep):
        pytest.fail("the body must not run while another command holds the lake")
    assert busy.value.holder == _holder("acl apply")
    assert busy.value.waited_seconds == 10 and sum(sleeps) == 10
    assert "is being written by acl apply on h1, pid 4242, since 2026-12-02 06:00:00" in str(busy.value)
    first.release()
    with held(lake, _holder("run"), wait_seconds=0, clock=clock, sleep=sleep) as h:
        assert LocalLease(lake, _holder("x")).current_holder() == h


def test_lease_for_picks_the_back_end_from_the_lake_root(tmp_path: Path) -> None:
    fs = FakeLeaseFileSystem(FakeClock())
    adls = lease_for(f"{ACCOUNT_LAKE}/", _holder("run"), duration_seconds=60, file_system=fs)
    assert isinstance(adls, AdlsLease) and adls.path == "bronze/_platform/_lease"
    local = lease_for(f"file://{tmp_path}", _holder("run"), duration_seconds=60)
    assert isinstance(local, LocalLease) and local.path == tmp_path / "bronze" / "_platform" / "_lease"
    with pytest.raises(ValueError, match="local folder or an abfss"):
        lease_for("s3://bucket/lake", _holder("run"), duration_seconds=60)
    with pytest.raises(ValueError, match="15 to 60"):
        lease_for(ACCOUNT_LAKE, _holder("run"), duration_seconds=-1, file_system=fs)


# -------------------------------------------------------------------------------------- ADLS


def test_adls_lease_excludes_a_second_holder_and_names_the_first_from_metadata() -> None:
    clock = FakeClock()
    fs = FakeLeaseFileSystem(clock)
    a = AdlsLease(fs, "bronze/_platform/_lease", _holder("run", "R1"), duration_seconds=60)
    b = AdlsLease(fs, "bronze/_platform/_lease", _holder("erase"), duration_seconds=60)
    assert a.try_acquire()
    assert not b.try_acquire()
    assert b.current_holder() == _holder("run", "R1")
    props = fs.get_file_client("bronze/_platform/_lease").get_file_properties()
    assert (props.lease.state, props.lease.duration) == ("leased", "fixed")
    a.release()
    assert b.current_holder() is None  # the description goes with the lease
    assert b.try_acquire()
    b.release()


def test_adls_lease_expires_when_its_holder_stops_renewing() -> None:
    """A holder that died (no heartbeat) keeps the lake for the lease's duration, not for good."""
    clock = FakeClock()
    fs = FakeLeaseFileSystem(clock)
    dead = AdlsLease(fs, "bronze/_platform/_lease", _holder("run", "R1"), duration_seconds=30)
    assert dead.try_acquire()
    waiter = AdlsLease(fs, "bronze/_platform/_lease", _holder("run", "R2"), duration_seconds=30)
    clock.advance(29.9)
    assert not waiter.try_acquire()
    clock.advance(0.2)
    assert waiter.try_acquire()
    assert waiter.current_holder() == _holder("run", "R2")
    with pytest.raises(Exception) as lost:  # the dead holder, come back, cannot renew
        dead.renew()
    assert getattr(lost.value, "status_code", None) == 409
    waiter.release()


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_adls_heartbeat_keeps_the_lease_for_longer_than_its_duration() -> None:
    clock = FakeClock()
    fs = FakeLeaseFileSystem(clock)
    lost: list[BaseException] = []
    other = AdlsLease(fs, "bronze/_platform/_lease", _holder("erase"), duration_seconds=15)
    with held(
        ACCOUNT_LAKE,
        _holder("run", "R1"),
        wait_seconds=0,
        clock=clock,
        sleep=clock.advance,
        duration_seconds=15,
        heartbeat_seconds=0.01,
        file_system=fs,
        on_lost=lost.append,
    ):
        for _ in range(12):  # 12 x 5 s = four durations, a renewal within each 5 s
            renewed = sum(1 for op, _ in fs.calls if op == "renew_lease")
            _wait_for(lambda n=renewed: sum(1 for op, _ in fs.calls if op == "renew_lease") > n)
            clock.advance(5)
            assert not other.try_acquire()
        assert other.current_holder() == _holder("run", "R1")
    assert lost == []
    assert other.try_acquire()  # released at the end of the with
    other.release()


def test_adls_heartbeat_that_loses_the_lease_stops_the_writer() -> None:
    clock = FakeClock()
    fs = FakeLeaseFileSystem(clock)
    lost = threading.Event()
    with pytest.raises(LeaseLost, match="lost while held"):  # noqa: SIM117 (the order of the two matters)
        with held(
            ACCOUNT_LAKE,
            _holder("run", "R1"),
            wait_seconds=0,
            clock=clock,
            sleep=clock.advance,
            duration_seconds=15,
            heartbeat_seconds=0.01,
            file_system=fs,
            on_lost=lambda e: lost.set(),
        ):
            # Someone breaks the lease (an operator, or a network partition long enough for it to
            # expire and be taken): the next renewal fails with a 409 and the writer is told.
            FakeLeaseClient(fs.get_file_client("bronze/_platform/_lease")).break_lease()
            assert lost.wait(10)


def test_the_lease_fake_offers_only_what_the_sdk_offers() -> None:
    """Every public method of the fake exists on the SDK class with every parameter it names."""
    for fake, real in ((FakeFileClient, DataLakeFileClient), (FakeLeaseClient, DataLakeLeaseClient)):
        for name, fn in inspect.getmembers(fake, inspect.isfunction):
            if name.startswith("_"):
                continue
            assert hasattr(real, name), f"{real.__name__} has no {name}"
            real_params = inspect.signature(getattr(real, name)).parameters
            for p in inspect.signature(fn).parameters.values():
                if p.kind is p.VAR_KEYWORD or p.name == "self":
                    continue
                assert p.name in real_params, f"{real.__name__}.{name} takes no {p.name}"


def test_heartbeat_counts_a_conflict_as_lost_at_once_and_other_failures_twice() -> None:
    class Flaky:
        heartbeat_seconds = 0.0

        def __init__(self, errors: list[BaseException]) -> None:
            self.errors = errors

        def renew(self) -> None:
            if self.errors:
                raise self.errors.pop(0)

    lost: list[BaseException] = []
    timeout = OSError("connection reset")
    beat = Heartbeat(Flaky([timeout, timeout]), 0.001, on_lost=lost.append).start()  # type: ignore[arg-type]
    _wait_for(lambda: lost)
    beat.stop()
    assert lost == [timeout]
    lost.clear()
    one_blip = Heartbeat(Flaky([timeout]), 0.001, on_lost=lost.append).start()  # type: ignore[arg-type]
    _wait_for(lambda: one_blip.renewals >= 3)
    one_blip.stop()
    assert lost == [] and one_blip.lost is None


def test_a_holder_describes_itself_and_reads_back_from_its_mapping() -> None:
    assert _holder("x").describe() == "x on h1, pid 4242, since 2026-12-02 06:00:00"
    assert Holder.from_mapping(_holder("x", "R").to_mapping()) == _holder("x", "R")
    assert Holder.from_mapping({"command": "x"}) is None


def test_demo_waits_for_the_lease_before_it_deletes_anything_of_the_lake(tmp_path: Path) -> None:
    lake = tmp_path / "demo" / "lake"
    table = lake / "silver" / "bury" / "housing"
    table.mkdir(parents=True)
    (table / "part-0.parquet").write_bytes(b"held by a running writer")
    holder = Proc(lake, "run", 0)
    assert holder.line() == "held"
    cli = Path(sys.executable).with_name("accelerator")
    demo = subprocess.run(
        [str(cli), "demo", "--dir", str(tmp_path / "demo"), "--families", "1"],
        env={**os.environ, "ACCELERATOR_LEASE_WAIT_SECONDS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 3, demo.stdout + demo.stderr
    assert "run (run run-run" in demo.stdout + demo.stderr
    assert (table / "part-0.parquet").read_bytes() == b"held by a running writer"
    assert not (tmp_path / "demo" / "landing").exists()
    assert holder.finish()[0] == 0


def test_a_demo_clears_its_lake_but_the_lease_it_holds(tmp_path: Path) -> None:
    from accelerator.cli import _clear_lake

    lake = tmp_path / "lake"
    for rel in (
        "bronze/_platform/_lease",
        "bronze/_platform/_lease.json",
        "bronze/_platform/delivery_log/x",
        "silver/bury/housing/_delta_log/0.json",
        "gold/bury/family/part-0.parquet",
    ):
        (lake / rel).parent.mkdir(parents=True, exist_ok=True)
        (lake / rel).write_text("x", encoding="utf-8")
    _clear_lake(lake)
    left = sorted(str(p.relative_to(lake)) for p in lake.rglob("*"))
    assert left == ["bronze", "bronze/_platform", "bronze/_platform/_lease", "bronze/_platform/_lease.json"]
