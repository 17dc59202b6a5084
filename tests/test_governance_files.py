"""The small governance files beside the tables (governance/files.py) on a real local file system:
rewrites racing from several threads all land, leave no temporary copy, and a checksum an older
write left never makes the new text unreadable."""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import SparkSession

from accelerator.governance import files
from accelerator.io.storage import HadoopStorage
from fault_kit import race


def test_rewrites_racing_from_four_threads_all_land_and_leave_nothing_behind(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Hadoop's checksummed rename failed 58 times in 800 such rewrites (governance/files.py).
    path = str(tmp_path / "anchor.json")
    written = {json.dumps({"writer": w, "n": n}) for w in range(4) for n in range(40)}

    def rewrites(w: int) -> None:
        for n in range(40):
            files.write_text(spark, path, json.dumps({"writer": w, "n": n}))
            assert files.read_text(spark, path) in written  # never missing, never partial

    errors = race(4, rewrites)
    assert errors == []
    last = files.read_json(spark, path)
    assert last["n"] == 39  # one writer's last rewrite is the one left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anchor.json"]


def test_a_checksum_left_by_an_older_write_does_not_hide_the_new_text(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "plan.json")
    files.write_bytes(spark, path, b'{"old": true}')  # through the checksummed file system
    assert (tmp_path / ".plan.json.crc").exists()
    files.write_text(spark, path, '{"new": true}')
    assert files.read_json(spark, path) == {"new": True}
    assert HadoopStorage(spark).read_bytes(path) == b'{"new": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_a_walk_lists_every_file_under_the_root_in_its_spelling(spark: SparkSession, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    names = ["a.txt", ".hidden", "x/b.parquet", "x/y/z/c.json", "x/y/.d.json", "space here/e f.txt"]
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_text(n)
    (root / "empty" / "folder").mkdir(parents=True)
    fs = HadoopStorage(spark)
    assert fs.walk(str(root)) == sorted(f"{root}/{n}" for n in names)
    assert fs.walk(f"file:{root}/") == sorted(f"file:{root}/{n}" for n in names)
    assert fs.walk(str(root / "x" / "y")) == [f"{root}/x/y/.d.json", f"{root}/x/y/z/c.json"]
    assert fs.walk(str(tmp_path / "none")) == []
