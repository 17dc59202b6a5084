"""The audit table is a hash chain with an anchor beside it (governance/audit.py): an edit, a cut,
a deleted table or a deleted anchor is noticed, and nothing appends to a broken chain. Real Delta
tables on a tiny lake (no pipeline)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from accelerator.cli import app
from accelerator.governance import audit
from accelerator.io.lake import Lake
from fault_kit import race

NOW = datetime(2025, 4, 2, 9, 30)


def _entry(n: int) -> audit.Entry:
    return audit.Entry(
        action="RESTRICT",
        subjects=1,
        person_id=f"P{n}",
        rule="UK GDPR Art. 18",
        reason=f"order {n}",
        actor="dpo",
        counts={"silver/_platform/restriction": 1},
        files_removed=0,
        now=NOW,
        run_id=f"run-{n}",
    )


def _lake(tmp_path: Path, spark: SparkSession, rows: int) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    for n in range(rows):
        audit.append_entries(spark, lake, [_entry(n)])
    return lake


def _table(lake: Lake) -> Path:
    return Path(lake.audit(audit.AUDIT))


def _anchor(lake: Lake) -> Path:
    return Path(lake.root) / "bronze" / "_platform" / audit.ANCHOR


def test_chain_intact_after_appends_and_never_created_before(spark: SparkSession, tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    assert audit.verify(spark, lake.root).status == "never created"
    audit.append_entries(spark, lake, [_entry(0), _entry(1)])  # one commit, two rows
    audit.append_entries(spark, lake, [_entry(2)])
    state = audit.verify(spark, lake.root)
    assert (state.status, state.rows) == ("intact", 3)
    rows = spark.read.format("delta").load(str(_table(lake))).orderBy("seq").collect()
    assert [r.seq for r in rows] == [0, 1, 2]
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    anchor = json.loads(_anchor(lake).read_text(encoding="utf-8"))
    assert anchor == {"first": rows[0].row_hash, "head": rows[2].row_hash, "head_seq": 2}
    result = CliRunner().invoke(app, ["audit", "verify", "--lake", lake.root])
    assert result.exit_code == 0 and "intact: 3 rows" in result.output, result.output


def test_an_edited_row_breaks_the_chain_and_appends_are_refused(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(tmp_path, spark, 3)
    path = str(_table(lake))
    # Anyone who can write the table can lift append-only and rewrite a row.
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.appendOnly' = 'false')")
    df = spark.read.format("delta").load(path)
    edited = df.withColumn(
        "reason", F.when(F.col("seq") == 1, F.lit("nothing to see")).otherwise(F.col("reason"))
    )
    edited.localCheckpoint().write.format("delta").mode("overwrite").save(path)
    state = audit.verify(spark, lake.root)
    assert state.status == "broken" and "row 1" in state.problem
    with pytest.raises(audit.AuditChainError, match="broken"):
        audit.append_entries(spark, lake, [_entry(9)])
    result = CliRunner().invoke(app, ["audit", "verify", "--lake", lake.root])
    assert result.exit_code == 1 and "broken" in result.output


def test_a_deleted_table_or_anchor_is_not_a_fresh_lake(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(tmp_path, spark, 2)
    saved = tmp_path / "saved"
    shutil.copytree(_table(lake), saved)
    shutil.rmtree(_table(lake))
    state = audit.verify(spark, lake.root)
    assert state.status == "broken" and "gone" in state.problem
    with pytest.raises(audit.AuditChainError):
        audit.append_entries(spark, lake, [_entry(9)])  # a deleted audit is never silently recreated
    shutil.copytree(saved, _table(lake))
    assert audit.verify(spark, lake.root).status == "intact"
    anchor = _anchor(lake).read_text(encoding="utf-8")
    _anchor(lake).unlink()
    assert audit.verify(spark, lake.root).status == "broken"
    _anchor(lake).write_text(anchor, encoding="utf-8")
    assert audit.verify(spark, lake.root).status == "intact"


def test_rows_cut_from_the_head_are_noticed(spark: SparkSession, tmp_path: Path) -> None:
    lake = _lake(tmp_path, spark, 3)
    path = str(_table(lake))
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.appendOnly' = 'false')")
    kept = spark.read.format("delta").load(path).where(F.col("seq") < 2).localCheckpoint()
    kept.write.format("delta").mode("overwrite").save(path)  # a valid chain, one row short
    state = audit.verify(spark, lake.root)
    assert state.status == "broken" and "missing" in state.problem


def test_a_first_append_killed_before_its_commit_is_still_a_fresh_chain(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _anchor(lake).parent.mkdir(parents=True)
    _anchor(lake).write_text(json.dumps({"first": "f" * 64, "head": None, "head_seq": -1}), encoding="utf-8")
    assert audit.verify(spark, lake.root).status == "never created"
    audit.append_entries(spark, lake, [_entry(0)])
    assert audit.verify(spark, lake.root).status == "intact"


def test_appends_racing_from_four_threads_keep_one_unbroken_chain(
    spark: SparkSession, tmp_path: Path
) -> None:
    # A subject access export appends without the lake's lease: two commands may append at the
    # same moment. Each append reads the head and writes the next seq; the loser of a race must
    # build its row again on the winner's head, never fork the chain or lose its row.
    lake = _lake(tmp_path, spark, 1)

    def appends(w: int) -> None:
        for i in range(3):
            audit.append_entries(spark, lake, [_entry(100 + 10 * w + i)])

    errors = race(4, appends)
    assert errors == []
    state = audit.verify(spark, lake.root)
    assert (state.status, state.rows) == ("intact", 13)
    rows = spark.read.format("delta").load(lake.audit(audit.AUDIT))
    assert sorted(r.seq for r in rows.collect()) == list(range(13))
    want = {"run-0", *(f"run-{100 + 10 * w + i}" for w in range(4) for i in range(3))}
    assert {r.run_id for r in rows.collect()} == want
