"""What the fault-injection and concurrency tests share: a small generated landing zone, the
pipeline run as a real subprocess (``accelerator run`` in its own process group), kill points read
from the lake's own Delta commits, and one comparison of two lakes table by table.

Lakes are read with delta-rs (the ``deltalake`` package), as Power BI and other readers do, so the
test process starts no JVM of its own. The clean run every comparison is against is built once per
test session (:func:`clean_lake`, by whichever test process asks first) and shared by
tests/test_faults.py and tests/test_concurrency.py, which can so run in two processes at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pandas as pd
from deltalake import DeltaTable

from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("accelerator")
AS_OF = date(2025, 6, 30)
AUTHORITIES = ("bolton", "bury")  # neighbours: people move and are recorded across the border
FAMILIES = 2  # per authority: about 120 delivery folders each, a few dozen people
SEED = 7

RUN_COLUMNS = frozenset(
    {
        # which run wrote a row, and when: the only values a resumed run may give differently
        "run_id",
        "_run_id",
        "_silver_run_id",
        "started_at",
        "loaded_at",
        "_loaded_at",
        "trained_at",
        "published_at",
        "model_version",
        "base_version",
    }
)
"""Columns left out of the comparison of two lakes (run ids and run timestamps). Defined once."""

TIMINGS = {"bronze/_platform/run_log": ("section", "stage", "value")}
"""Per table, (column, value, timing column): rows where ``column == value`` hold a duration in the
timing column (run_log: seconds per stage), left out like a timestamp."""

LATEST_RUN = {"bronze/_platform/run_log": "run_id"}
"""Per table, the column naming the run that wrote a row, for a log with one entry per run: every
run that ends logs its stages and gold counts, one that found nothing to do too (the second of two
runs started together). Only the entry of the lake's latest run is compared."""

SAMPLED = {
    "silver/_platform/linkage_report": (
        "section",
        "borderline_pairs",
        ("item", "rank", "value", "count", "detail", "person_id", "unique_id_l", "unique_id_r"),
    )
}
"""Per table, (column, value, sampled columns): rows where ``column == value`` are a sample drawn by
the run's id (the clerical-review pairs: ties at the same distance from the threshold are broken by
a hash of the run and the pair, so each run shows reviewers another sample). Their number is
compared; which pairs they are is left out like a run id."""


# ------------------------------------------------------------------------------ the landing zone


def shared_base(tmp_path_factory: Any) -> Path:
    """A folder every test process of this session shares (pytest-xdist gives each worker a
    ``popen-gwN`` folder under one session folder), for the landing zone and the clean lake: each
    is built once per session by whichever process needs it first, under :func:`_locked`."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / "faults-shared"
    base.mkdir(exist_ok=True)
    return base


@contextmanager
def _locked(base: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``base/name.lock`` (another process waits for it)."""
    with (base / f"{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def landing_source(base: Path) -> Path:
    """The generated deliveries of :data:`AUTHORITIES` (generated once per session under ``base``)."""
    src = base / "landing-source"
    with _locked(base, "landing"):
        if not (base / "landing.done").exists():
            shutil.rmtree(base / "generated", ignore_errors=True)
            shutil.rmtree(src, ignore_errors=True)
            gen = base / "generated"
            generate(gen, families_per_authority=FAMILIES, seed=SEED, as_of=AS_OF)
            for a in AUTHORITIES:
                shutil.copytree(gen / "landing" / a, src / a)
            (base / "landing.done").touch()
    return src


def new_landing(base: Path, into: Path) -> Path:
    """A private copy of the landing zone (a run may tidy its landing zone)."""
    shutil.copytree(landing_source(base), into)
    return into


# ----------------------------------------------------------------------------------- the CLI


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    env.update(ACCELERATOR_JARS=str(ROOT / ".jars"), COLUMNS="200", **extra)
    return env


@dataclass
class Run:
    """``accelerator run`` as a subprocess, leader of its own process group (the JVM is in it)."""

    proc: subprocess.Popen[bytes]
    log: Path
    started: float

    @classmethod
    def start(cls, landing: Path, lake: Path, log: Path, **env: str) -> Run:
        out = log.open("wb")
        proc = subprocess.Popen(
            [str(CLI), "run", "--landing", str(landing), "--lake", str(lake), "--as-of", AS_OF.isoformat()],
            cwd=ROOT,
            env=cli_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        return cls(proc, log, time.monotonic())

    def kill(self) -> None:
        """SIGKILL to the whole process group: the CLI and its JVM die at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def wait(self, timeout: float = 1800) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def run_to_end(landing: Path, lake: Path, log: Path, **env: str) -> str:
    run = Run.start(landing, lake, log, **env)
    code = run.wait()
    assert code == 0, f"accelerator run exited {code}:\n{run.output()[-4000:]}"
    return run.output()


def clean_lake(base: Path) -> Path:
    """One uninterrupted run over a fresh copy of the landing zone: the lake every other is
    compared with (built once per session, by the first test process to ask; another waits)."""
    root = base / "clean"
    with _locked(base, "clean"):
        if not (base / "clean.done").exists():
            shutil.rmtree(root, ignore_errors=True)
            landing = new_landing(base, root / "landing")
            run_to_end(landing, root / "lake", root / "run.log")
            (base / "clean.done").touch()
    return root / "lake"


# ------------------------------------------------------------------------------- kill points


def commits(lake: Path) -> dict[str, int]:
    """Delta commits per table (``layer/area/table``): how many ``_delta_log/*.json`` each has."""
    out: dict[str, int] = {}
    for log in lake.glob("*/*/*/_delta_log"):
        n = sum(1 for f in os.scandir(log) if f.name.endswith(".json") and f.name[:20].isdigit())
        out[str(log.parent.relative_to(lake))] = n
    return out


@dataclass(frozen=True)
class KillPoint:
    """Kill the run right after the ``nth`` new Delta commit (since the run started) to a table
    matching ``pattern`` (fnmatch on ``layer/area/table``)."""

    name: str
    pattern: str
    nth: int = 1

    def new_commits(self, before: dict[str, int], now: dict[str, int]) -> int:
        return sum(n - before.get(t, 0) for t, n in now.items() if fnmatch(t, self.pattern))


def run_and_kill(landing: Path, lake: Path, log: Path, point: KillPoint, timeout: float = 1800) -> str:
    """Start a run and SIGKILL its process group once ``point`` is reached; fail if the run ends
    first (the point was never reached) or it is not reached in ``timeout`` seconds."""
    before = commits(lake) if lake.exists() else {}
    run = Run.start(landing, lake, log)
    deadline = time.monotonic() + timeout
    while True:
        if run.proc.poll() is not None:
            raise AssertionError(
                f"the run ended (exit {run.proc.returncode}) before kill point {point.name}:\n"
                + run.output()[-3000:]
            )
        if point.new_commits(before, commits(lake) if lake.exists() else {}) >= point.nth:
            run.kill()
            assert run.proc.returncode == -signal.SIGKILL
            return run.output()
        if time.monotonic() > deadline:
            run.kill()
            raise AssertionError(f"kill point {point.name} not reached in {timeout} s")
        time.sleep(0.02)


# --------------------------------------------------------------------------------- comparison


def delta_tables(lake: Path) -> list[str]:
    """Tables with at least one commit (a kill before a table's first commit leaves an empty log)."""
    return sorted(t for t, n in commits(lake).items() if n > 0)


def other_files(lake: Path) -> list[str]:
    """Files of the lake outside every Delta table."""
    tables = [lake / t for t in delta_tables(lake)]
    return sorted(
        str(p.relative_to(lake))
        for p in lake.rglob("*")
        if p.is_file() and not any(t in p.parents for t in tables)
    )


_LANDING_PREFIX = re.compile(r"^\S*/landing/")


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "∅"
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, list | tuple | dict):
        return json.dumps(v, sort_keys=True, default=str)
    # Each lake has its own copy of the landing zone: compare delivery paths from "landing/" on.
    return _LANDING_PREFIX.sub("landing/", str(v))


def rows(lake: Path, table: str) -> list[tuple[str, ...]]:
    """The table's rows, run columns left out, as sorted tuples of strings (column order fixed)."""
    df = DeltaTable(str(lake / table)).to_pandas()
    if table in LATEST_RUN and len(df):
        df = df[df[LATEST_RUN[table]] == df[LATEST_RUN[table]].max()]
    if table in TIMINGS:
        where, equals, timing = TIMINGS[table]
        df.loc[df[where] == equals, timing] = None
    if table in SAMPLED:
        where, equals, sampled = SAMPLED[table]
        for c in sampled:
            if c in df.columns:
                df[c] = df[c].astype(object)
                df.loc[df[where] == equals, c] = None
    cols = sorted(c for c in df.columns if c not in RUN_COLUMNS)
    return sorted(tuple(_cell(v) for v in r) for r in df[cols].itertuples(index=False, name=None))


def columns(lake: Path, table: str) -> list[str]:
    return sorted(DeltaTable(str(lake / table)).schema().to_arrow().names)


def differences(got: Path, want: Path) -> list[str]:
    """Every way ``got`` differs from ``want``: tables, columns, rows (run columns aside), files."""
    out = []
    g, w = delta_tables(got), delta_tables(want)
    if g != w:
        out.append(
            f"tables only in the lake under test: {sorted(set(g) - set(w))}; "
            f"only in the clean lake: {sorted(set(w) - set(g))}"
        )
    for t in sorted(set(g) & set(w)):
        if columns(got, t) != columns(want, t):
            out.append(f"{t}: columns {columns(got, t)} != {columns(want, t)}")
            continue
        a, b = Counter(rows(got, t)), Counter(rows(want, t))
        if a != b:
            extra, missing = list((a - b).elements()), list((b - a).elements())
            out.append(
                f"{t}: {sum(a.values())} rows vs {sum(b.values())} clean; {len(extra)} extra, "
                f"{len(missing)} missing; e.g. extra {extra[:2]} missing {missing[:2]}"
            )
    if other_files(got) != other_files(want):
        out.append(f"other files {other_files(got)} != {other_files(want)}")
    return out


def people_partition(lake: Path) -> set[frozenset[tuple[str, str, str]]]:
    """The people as sets of (authority, feed, record_key): the partition, whatever the ids."""
    xref = DeltaTable(str(lake / "silver/_platform/person_xref")).to_pandas()
    groups: dict[str, set[tuple[str, str, str]]] = {}
    for r in xref.itertuples(index=False):
        groups.setdefault(r.person_id, set()).add((r.authority, r.feed, r.record_key))
    return {frozenset(g) for g in groups.values()}


def loaded_counts(lake: Path) -> Counter[str]:
    """How many LOADED rows the delivery log holds per delivery."""
    log = DeltaTable(str(lake / "bronze/_platform/delivery_log")).to_pandas()
    return Counter(log.loc[log["status"] == "LOADED", "delivery_id"])


def assert_same_lake(got: Path, want: Path, *, context: str) -> None:
    """The whole comparison of the fault and concurrency tests, with every difference named."""
    problems = differences(got, want)
    loaded, clean_loaded = loaded_counts(got), loaded_counts(want)
    twice = sorted(d for d, n in loaded.items() if n != 1)
    if twice:
        problems.append(f"deliveries LOADED more than once: {twice[:5]}")
    if set(loaded) != set(clean_loaded):
        problems.append(f"LOADED deliveries differ: {sorted(set(loaded) ^ set(clean_loaded))[:5]}")
    if people_partition(got) != people_partition(want):
        problems.append("the people partition (records grouped by person) differs from the clean run's")
    assert not problems, f"{context}:\n  " + "\n  ".join(problems)


def readable(lake: Path, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Open every table (or ``tables``) with delta-rs and count its rows: each must open."""
    return {t: DeltaTable(str(lake / t)).to_pyarrow_table().num_rows for t in (tables or delta_tables(lake))}


def race(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(0)`` .. ``work(threads - 1)`` in threads released together; what each raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            start.wait()
            work(w)
        except BaseException as e:  # the caller asserts there are none
            errors.append(e)

    running = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return errors
