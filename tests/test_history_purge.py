"""The history purge of erasure, retention and restriction (governance/history.py) on real Delta
tables: a table with history loses it, a table with its first version only and no stray file is
left exactly as it is (no VACUUM, no checkpoint), and a stray file is never left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from accelerator.governance import history
from accelerator.governance.history import nothing_to_purge, purge_histories
from accelerator.io import tables
from accelerator.io.storage import HadoopStorage


def _table(spark: SparkSession, path: Path, rows: list[tuple[str, int]]) -> str:
    df = spark.createDataFrame(rows, "name string, n int")
    tables.overwrite(df.repartition(2), str(path), stats=["n"])
    return str(path)


def _files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_a_first_version_with_only_its_own_files_is_left_as_it_is(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _table(spark, tmp_path / "t", [("a", 1), ("b", 2), ("c", 3)])
    before = _files(tmp_path / "t")
    assert any(f.endswith(".parquet") for f in before)
    assert nothing_to_purge(HadoopStorage(spark), path, HadoopStorage(spark).walk(path))
    assert purge_histories(spark, [path]) == 0
    assert _files(tmp_path / "t") == before  # no checkpoint written, nothing deleted
    assert spark.read.format("delta").load(path).count() == 3


def test_a_table_with_history_or_a_stray_file_is_purged(spark: SparkSession, tmp_path: Path) -> None:
    fs = HadoopStorage(spark)
    rewritten = _table(spark, tmp_path / "rewritten", [("a", 1), ("b", 2)])
    _table(spark, tmp_path / "rewritten", [("b", 2)])  # version 1: version 0's files hold "a"
    assert not nothing_to_purge(fs, rewritten, fs.walk(rewritten))
    stray = _table(spark, tmp_path / "stray", [("c", 3)])
    # A data file no commit names (a writer killed before its commit), holding someone's row.
    other = _table(spark, tmp_path / "other", [("d", 4)])
    part = next(p for p in Path(other).glob("*.parquet"))
    shutil.copy(part, Path(stray) / "part-99999-killed-writer.parquet")
    assert not nothing_to_purge(fs, stray, fs.walk(stray))

    assert purge_histories(spark, [rewritten, stray]) > 0
    logs = sorted(p.name for p in (Path(rewritten) / "_delta_log").iterdir() if not p.name.startswith("."))
    commits = [n for n in logs if n.endswith(".json")]
    assert len(commits) == 1 and commits[0] != "00000000000000000000.json", logs  # the latest only
    assert {r.name for r in spark.read.format("delta").load(rewritten).collect()} == {"b"}
    assert not (Path(stray) / "part-99999-killed-writer.parquet").exists()
    assert {r.name for r in spark.read.format("delta").load(stray).collect()} == {"c"}


def test_only_a_table_created_empty_and_never_written_since_is_known_empty_from_its_log(
    spark: SparkSession, tmp_path: Path
) -> None:
    fs = HadoopStorage(spark)
    empty = _table(spark, tmp_path / "empty", [])
    assert tables.created_empty(fs, empty)
    # What a killed write leaves does not make it a table with rows (the purge removes the file).
    other = _table(spark, tmp_path / "other", [("d", 4)])
    shutil.copy(next(Path(other).glob("*.parquet")), Path(empty) / "part-99999-killed-writer.parquet")
    assert tables.created_empty(fs, empty)
    assert not tables.created_empty(fs, other)  # rows in its first commit
    emptied = _table(spark, tmp_path / "emptied", [("a", 1)])
    _table(spark, tmp_path / "emptied", [])  # empty now, but its history holds "a": read it
    assert not tables.created_empty(fs, emptied)
    appended = _table(spark, tmp_path / "appended", [])
    tables.append(spark.createDataFrame([("e", 5)], "name string, n int"), appended, stats=["n"])
    assert not tables.created_empty(fs, appended)
    assert not tables.created_empty(fs, str(tmp_path / "no-table"))


def test_a_log_and_listing_that_disagree_leave_the_deleting_to_vacuum(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted: the latest version seems to read a file the listing does not show (a path spelt
    otherwise). Nothing is deleted by hand; VACUUM purges, and the table still reads whole."""
    rewritten = _table(spark, tmp_path / "t", [("a", 1), ("b", 2)])
    _table(spark, tmp_path / "t", [("b", 2), ("c", 3)])
    real = history.live_files
    vacuumed: list[str] = []
    monkeypatch.setattr(
        history, "live_files", lambda s, p: (real(s, p) or set()) | {p + "/elsewhere.parquet"}
    )
    real_sql = spark.sql

    def sql(query: str, *args: object, **kw: object) -> object:
        vacuumed.append(query)
        return real_sql(query, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(spark, "sql", sql)
    assert purge_histories(spark, [rewritten]) > 0
    assert vacuumed == [f"VACUUM delta.`{rewritten}` RETAIN 0 HOURS"]
    monkeypatch.undo()
    assert {r.name for r in spark.read.format("delta").load(rewritten).collect()} == {"b", "c"}
    data = {f for f in _files(Path(rewritten)) if f.endswith(".parquet") and "_delta_log" not in f}
    live = {Path(p).name for p in history.live_files(spark, rewritten) or set()}
    assert data == live and len(live) >= 1  # version 0's files are gone: only the latest version's
