"""Table I/O (accelerator.io.tables) after a kill: what a create killed before its commit leaves."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from accelerator.io import tables
from accelerator.io.storage import HadoopStorage

SCHEMA = T.StructType(
    [tables.column("as_of", T.DateType(), "Reference date"), tables.column("n", T.LongType())]
)


def test_create_over_a_log_folder_a_killed_create_left_makes_the_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Delta makes _delta_log/ and _delta_log/_commits/ before it writes the first commit (through
    # a temporary file): a kill in between leaves them, and Delta's builder then refuses to create
    # the table ("DELTA_TABLE_NOT_FOUND"), run after run.
    path = tmp_path / "gold" / "wigan" / "family_member"
    (path / "_delta_log" / "_commits").mkdir(parents=True)
    (path / "_delta_log" / ".00000000000000000000.json.0d6c.tmp").write_text("{", encoding="utf-8")
    assert not tables.exists(spark, str(path))
    tables.create(spark, str(path), SCHEMA, stats=["as_of"])
    assert tables.created_empty(HadoopStorage(spark), str(path))
    df = spark.read.format("delta").load(str(path))
    assert df.count() == 0
    assert [(f.name, f.metadata.get("comment")) for f in df.schema.fields] == [
        ("as_of", "Reference date"),
        ("n", None),
    ]


def test_a_log_folder_with_a_commit_is_never_cleared(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    tables.overwrite(spark.createDataFrame([], SCHEMA), path, stats=["as_of"])
    fs = HadoopStorage(spark)
    assert not tables.clear_uncommitted_log(fs, path)
    assert tables.exists(spark, path)
    # Nor one whose commit is there but unreadable to Delta: it is left for a person to look at.
    broken = tmp_path / "broken"
    (broken / "_delta_log").mkdir(parents=True)
    (broken / "_delta_log" / "00000000000000000000.json").write_text("not json", encoding="utf-8")
    assert not tables.clear_uncommitted_log(fs, str(broken))
    assert (broken / "_delta_log" / "00000000000000000000.json").exists()
    # A folder with no log at all: nothing to clear.
    assert not tables.clear_uncommitted_log(fs, str(tmp_path / "none"))
