"""Erasure and retention survive a kill (issue 20): the real command runs as a subprocess on a
copy of the rights lake (landing inside the lake root, as on Azure), is SIGKILLed as a process
group at a point read from its own progress output, and the same command run again finishes the
job. Then every byte under the lake root is scanned, a control person is checked whole, and the
audit holds exactly one entry per request.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from accelerator.governance.audit import read_audit, verify
from accelerator.governance.subject import subject_hash
from accelerator.io.lake import Lake
from conftest import RIGHTS_AS_OF, RIGHTS_AUTHORITIES, ROOT
from test_retention import SHORT, _values, expected
from test_rights import Built, Chosen, TruePerson, _csv, choose_person, scan


def _lake_with_landing(rights_lake: Path, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(rights_lake / "lake", lake)
    shutil.copytree(rights_lake / "landing", lake / "landing")
    return lake


def _env() -> dict[str, str]:
    return {**os.environ, "ACCELERATOR_JARS": str(ROOT / ".jars"), "PYTHONUNBUFFERED": "1"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "accelerator.cli", *args]


def run_and_kill(cmd: list[str], kill_at: Callable[[str], bool]) -> list[str]:
    """Run ``cmd`` in its own process group and SIGKILL the group on the first output line that
    ``kill_at`` accepts. Returns the lines seen; fails if the command ended before the point."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.rstrip("\n"))
        if kill_at(line):
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "\n".join(seen[-30:])
    return seen


def run_to_end(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def _tables_point(line: str) -> bool:
    m = re.search(r"tables: (\d+) of (\d+)", line)
    return bool(m and int(m.group(1)) >= int(m.group(2)) // 2)


def _truth_person(built: Built, truth_id: str) -> TruePerson:
    p = next(x for x in _csv(built.truth / "people.csv") if x["person_id"] == truth_id)
    return TruePerson(truth_id, p["forename"], p["surname"], p["nhs_number"], p["upn"], p["nino"])


def test_erase_killed_part_way_then_rerun_leaves_nothing(
    spark: SparkSession, rights_lake: Path, tmp_path: Path
) -> None:
    built = Built(rights_lake / "lake", rights_lake / "truth")
    chosen: Chosen = choose_person(spark, built)
    lake = _lake_with_landing(rights_lake, tmp_path)
    xref = spark.read.format("delta").load(Lake(str(lake)).platform("person_xref"))
    # A second person in the batch, and a control person who must stay whole: people of the truth
    # with an NHS number, records in the lake and one person id each, not the chosen one.
    records = [r for r in _csv(built.truth / "records.csv") if r["authority"] in RIGHTS_AUTHORITIES]
    ids = {(r.authority, r.feed, r.record_key): r.person_id for r in xref.collect()}
    by_truth: dict[str, set[tuple[str, str, str]]] = {}
    for r in records:
        if r["person_id"]:
            by_truth.setdefault(r["person_id"], set()).add((r["authority"], r["feed"], r["record_key"]))
    chosen_ids = {ids.get(k) for k in chosen.records}
    others = sorted(
        (len(recs), t)
        for t, recs in by_truth.items()
        if t != chosen.person.truth_id
        and len({ids.get(k) for k in recs}) == 1
        and None not in {ids.get(k) for k in recs}
        and not {ids.get(k) for k in recs} & chosen_ids
        and _truth_person(built, t).nhs
    )
    assert len(others) >= 2
    second_truth, control_truth = others[-1][1], others[-2][1]
    second_pid = ids[next(iter(by_truth[second_truth]))]
    control = _truth_person(built, control_truth)
    control_pid = ids[next(iter(by_truth[control_truth]))]
    assert scan(lake, control) != []  # the control person is in the lake to begin with
    requests = tmp_path / "requests.csv"
    requests.write_text(
        f"person_id,reason\n{chosen.person_id},request 2025/31\n{second_pid},request 2025/32\n",
        encoding="utf-8",
    )
    cmd = _cli("erase", "--lake", str(lake), "--requests", str(requests), "--actor", "dpo")

    seen = run_and_kill(cmd, _tables_point)
    assert any("tables:" in line for line in seen)
    assert (lake / "bronze" / "_platform" / "erasure_pending.json").exists()  # killed mid-way
    out = run_to_end(cmd)
    assert "not finished" in out and "erase: finished" in out

    for person in (chosen.person, _truth_person(built, second_truth)):
        assert scan(lake, person) == [], person.truth_id
    assert not (lake / "bronze" / "_platform" / "erasure_pending.json").exists()
    # The control person is whole: every record of theirs in bronze, silver and person_xref.
    lk = Lake(str(lake))
    for a, f, k in by_truth[control_truth]:
        for path in (lk.bronze(a, f), lk.silver(a, f)):
            assert spark.read.format("delta").load(path).where(F.col("record_key") == k).count() >= 1, (
                a,
                f,
                k,
            )
    kept = (
        spark.read.format("delta").load(lk.platform("person_xref")).where(F.col("person_id") == control_pid)
    )
    assert {(r.authority, r.feed, r.record_key) for r in kept.collect()} == by_truth[control_truth]
    audit = read_audit(spark, str(lake))
    assert audit is not None
    rows = audit.where(F.col("action") == "ERASE").collect()
    assert sorted(r.subject_hash for r in rows) == sorted(
        subject_hash(p) for p in (chosen.person_id, second_pid)
    )
    assert verify(spark, str(lake)).status == "intact"


def test_retention_killed_part_way_then_rerun_destroys_exactly_what_is_due(
    spark: SparkSession, rights_lake: Path, tmp_path: Path
) -> None:
    due, _kept, _lines = expected(rights_lake)
    lake = _lake_with_landing(rights_lake, tmp_path)
    cfg = tmp_path / "retention.yaml"
    cfg.write_text("feeds:\n" + "".join(f"  {f}: 1\n" for f in SHORT), encoding="utf-8")
    lk = Lake(str(lake))
    police = {
        (a, k)
        for a in RIGHTS_AUTHORITIES
        for k in (
            r.record_key for r in spark.read.format("delta").load(lk.silver(a, "police_incidents")).collect()
        )
    }
    not_due = {(a, k) for a, k in police if (a, "police_incidents", k) not in due}
    assert not_due and due
    cmd = _cli("retention", "--lake", str(lake), "--as-of", RIGHTS_AS_OF.isoformat(), "--config", str(cfg))

    tables_seen = []

    def third_table(line: str) -> bool:  # the third table rewritten: bronze and silver done, not all
        tables_seen.extend(["x"] if "tables:" in line else [])
        return len(tables_seen) >= 3

    run_and_kill(cmd, third_table)
    assert (lake / "bronze" / "_platform" / "retention_pending.json").exists()
    out = run_to_end(cmd)
    assert "not finished" in out and "retention: finished" in out

    values = _values(lake)
    due_keys = {k for _, _, k in due}
    assert not due_keys & values  # no file under the lake root holds a due record, history included
    for a, k in not_due:
        rows = (
            spark.read.format("delta").load(lk.silver(a, "police_incidents")).where(F.col("record_key") == k)
        )
        assert rows.count() == 1
    assert not (lake / "bronze" / "_platform" / "retention_pending.json").exists()
    audit = read_audit(spark, str(lake))
    assert audit is not None
    assert audit.where(F.col("action") == "RETENTION").count() == 1
    assert verify(spark, str(lake)).status == "intact"
    # Settled police and census deliveries past their year are gone from landing, the rest stay.
    log = (
        spark.read.format("delta")
        .load(lk.delivery_log)
        .where(F.col("feed").isin(*SHORT) & F.col("status").isin("LOADED", "REJECTED", "DUPLICATE"))
        .groupBy("delivery_id")
        .agg(F.max("extract_date").alias("extract_date"))
        .collect()
    )
    year_ago = date(RIGHTS_AS_OF.year - 1, RIGHTS_AS_OF.month, RIGHTS_AS_OF.day)
    assert any(r.extract_date <= year_ago for r in log) and any(r.extract_date > year_ago for r in log)
    for r in log:
        assert (lake / "landing" / r.delivery_id).exists() == (r.extract_date > year_ago), r.delivery_id
