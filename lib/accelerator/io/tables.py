"""Every Delta read and write of the platform goes through here: one place that knows the table
properties and statistics columns every table must have, and how each kind of write commits.

Each write below is **one Delta commit**: a reader (delta-rs, Power BI, a second Spark session)
sees the table before it or after it, never half of it. A command that writes several tables
orders those commits and names its commit point in its own module (``bronze/land.py``,
``silver/publish.py``, ``linkage/publish.py``, ``gold/publish.py``, ``governance/*``).

Properties (outputs.md "Conventions"): reader protocol 1, writer protocol 2, no deletion vectors,
no column mapping, so that readers other than Spark open every table. Column statistics are kept
only on the columns a table names in ``stats``, never on an identifier or a name: the transaction
log must not hold personal data an erasure cannot reach (custodianship.md "People's rights").

Predicates are Spark ``Column`` expressions, never SQL strings built by hand. Where Delta takes a
predicate as text (``replaceWhere``), the Column is rendered by Spark itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import pandas as pd
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.readwriter import DataFrameWriter
from pyspark.sql.types import DataType, StructField, StructType

from accelerator.io.lake import join
from accelerator.io.storage import HadoopStorage

# Properties on every table we create (see the module docstring).
BASE_PROPERTIES: Mapping[str, str] = {
    "delta.enableDeletionVectors": "false",
    "delta.minReaderVersion": "1",
    "delta.minWriterVersion": "2",
}


def properties(stats: Iterable[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The table properties of a table whose statistics are kept on ``stats`` only."""
    return {**BASE_PROPERTIES, "delta.dataSkippingStatsColumns": ",".join(stats), **(extra or {})}


def column(name: str, dtype: DataType, comment: str | None = None, *, nullable: bool = True) -> StructField:
    """A schema field with its description (Delta keeps it as the column comment)."""
    return StructField(name, dtype, nullable, {"comment": comment} if comment else {})


def exists(spark: SparkSession, path: str) -> bool:
    """Whether a Delta table is at ``path``."""
    return bool(DeltaTable.isDeltaTable(spark, path))


def read(spark: SparkSession, path: str) -> DataFrame | None:
    """The table at ``path``, or None when there is none yet."""
    return spark.read.format("delta").load(path) if exists(spark, path) else None


@dataclass(frozen=True)
class SoleCommit:
    """A table whose log holds its first commit and nothing else: the schema it was created with and
    the data files that commit adds (paths under the table's own spelling)."""

    schema: StructType
    added: frozenset[str]


FIRST_COMMIT = "0" * 20


def sole_commit(fs: HadoopStorage, path: str, files: Iterable[str] | None = None) -> SoleCommit | None:
    """The first commit of the table at ``path``, read from its log files alone (no Spark job), if
    the log holds nothing else: no later commit, no checkpoint, no removed file. ``files``: a
    listing of the table if the caller has one (else the log is listed here). None otherwise,
    and when there is no table."""
    log_dir = join(path, "_delta_log")
    commit = join(log_dir, f"{FIRST_COMMIT}.json")
    logged = {f for f in (fs.walk(log_dir) if files is None else files) if f.startswith(log_dir + "/")}
    expected = {commit, join(log_dir, f".{FIRST_COMMIT}.json.crc"), join(log_dir, f"{FIRST_COMMIT}.crc")}
    expected.add(join(log_dir, f".{FIRST_COMMIT}.crc.crc"))
    if commit not in logged or not logged <= expected:
        return None
    schema, added = None, set()
    for line in fs.read_bytes(commit).decode("utf-8").splitlines():
        action = json.loads(line) if line.strip() else {}
        if "remove" in action:
            return None
        if "add" in action:
            added.add(join(path, unquote(action["add"]["path"])))
        if "metaData" in action:
            schema = StructType.fromJson(json.loads(action["metaData"]["schemaString"]))
    return SoleCommit(schema, frozenset(added)) if schema is not None else None


def created_empty(fs: HadoopStorage, path: str) -> bool:
    """Whether the table at ``path`` was created with no rows and never written since (from its log
    alone). A data file under it that no commit adds (what a killed write leaves) is no row of it."""
    first = sole_commit(fs, path)
    return first is not None and not first.added


def read_or_empty(spark: SparkSession, path: str, schema: StructType | str) -> DataFrame:
    """The table at ``path``, or an empty frame of ``schema`` when there is none yet."""
    df = read(spark, path)
    return df if df is not None else spark.createDataFrame([], schema)


def from_pandas(spark: SparkSession, pdf: pd.DataFrame, schema: StructType | str) -> DataFrame:
    """A Spark frame of ``pdf`` under ``schema``. pandas' nullable columns (``Int32``, ``Int64``,
    ``boolean``, ``string``) are passed as plain objects with None for missing: PySpark 3.5's Arrow
    path can fail on them ("Cannot convert pyarrow.lib.ChunkedArray to pyarrow.lib.Array") and its
    fallback then refuses their missing values as NaN."""
    extension = [c for c in pdf.columns if isinstance(pdf[c].dtype, pd.api.extensions.ExtensionDtype)]
    if extension:
        pdf = pdf.copy()
        for c in extension:
            pdf[c] = pdf[c].astype(object).where(pdf[c].notna(), None)
    return spark.createDataFrame(pdf, schema)


def create(
    spark: SparkSession,
    path: str,
    schema: StructType,
    *,
    stats: Iterable[str],
    extra: Mapping[str, str] | None = None,
    comment: str | None = None,
) -> bool:
    """Create an empty table at ``path`` unless one is there (one commit when it is created);
    whether it was created.

    A log folder that holds no commit is what a create or a first write killed before its commit
    leaves (Delta makes ``_delta_log/`` and ``_delta_log/_commits/`` first); Delta's builder
    refuses to create a table over it, so it is removed first (the caller holds the lake's
    writer lease: no one else is creating the table)."""
    if exists(spark, path):
        return False
    clear_uncommitted_log(HadoopStorage(spark), path)
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    for k, v in properties(stats, extra).items():
        builder = builder.property(k, v)
    if comment:
        builder = builder.comment(comment)
    builder.execute()
    return True


_COMMITTED = re.compile(r"^(\d{20}\.|_last_checkpoint$)")
"""A file of a version in a Delta log: its commit, checkpoint, checksum or compaction (a commit
being written is a hidden temporary file, ``.00000000000000000000.json.<uuid>.tmp``)."""


def clear_uncommitted_log(fs: HadoopStorage, path: str) -> bool:
    """Remove ``path``'s ``_delta_log`` folder if no file in it belongs to a version (a table that
    was never created); whether it was removed."""
    log_dir = join(path, "_delta_log")
    if not fs.exists(log_dir) or any(_COMMITTED.match(f.rsplit("/", 1)[1]) for f in fs.walk(log_dir)):
        return False
    return fs.delete(log_dir)


def _writer(
    df: DataFrame, mode: str, stats: Iterable[str], extra: Mapping[str, str] | None
) -> DataFrameWriter:
    writer = df.write.format("delta").mode(mode)
    # Options named delta.* become table properties when the write creates the table.
    for k, v in properties(stats, extra).items():
        writer = writer.option(k, v)
    return writer


def overwrite(
    df: DataFrame, path: str, *, stats: Iterable[str], extra: Mapping[str, str] | None = None
) -> None:
    """Replace the whole table (its schema too) with ``df``: one commit."""
    _writer(df, "overwrite", stats, extra).option("overwriteSchema", "true").save(path)


def append(df: DataFrame, path: str, *, stats: Iterable[str]) -> None:
    """Add ``df``'s rows (the table is created, with our properties, if it is not there): one commit."""
    _writer(df, "append", stats, None).save(path)


def version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version (its last commit), or None when there is no table."""
    if not exists(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).select("version").first()[0])  # type: ignore[index]


def predicate_sql(predicate: Column) -> str:
    """A Column predicate as Spark SQL text, rendered by Spark (for Delta's ``replaceWhere``)."""
    return str(predicate._jc.expr().sql())


def replace_where(
    df: DataFrame, path: str, predicate: Column, *, stats: Iterable[str], evolve: bool = False
) -> None:
    """Atomically replace the rows matching ``predicate`` with ``df``: one commit (the table is
    created when it is not there). Every row of ``df`` must match ``predicate`` (Delta checks).
    ``evolve`` adds columns ``df`` has and the table has not (older tables)."""
    writer = _writer(df, "overwrite", stats, None).option("replaceWhere", predicate_sql(predicate))
    if evolve:
        writer = writer.option("mergeSchema", "true")
    writer.save(path)


def delete_where(spark: SparkSession, path: str, predicate: Column) -> None:
    """Delete the rows matching ``predicate``: one commit, or none when no file holds such a row."""
    DeltaTable.forPath(spark, path).delete(predicate)


def merge(
    spark: SparkSession,
    path: str,
    source: DataFrame,
    *,
    on: Sequence[str],
    update_when: Column | None = None,
    delete_missing: Column | None = None,
) -> None:
    """Upsert ``source`` into the table by the key columns ``on``: one commit.

    ``update_when`` (over ``t.`` target and ``s.`` source columns) limits which matched rows are
    replaced; a row that does not satisfy it is left as it is. ``delete_missing`` deletes the
    target rows matching it that no source row matches (a full refresh of part of the table).
    """
    cond = " AND ".join(f"t.`{c}` = s.`{c}`" for c in on)
    m = DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), cond)
    m = m.whenMatchedUpdateAll(condition=update_when) if update_when is not None else m.whenMatchedUpdateAll()
    m = m.whenNotMatchedInsertAll()
    if delete_missing is not None:
        m = m.whenNotMatchedBySourceDelete(condition=delete_missing)
    m.execute()


def insert_new(spark: SparkSession, path: str, source: DataFrame, *, on: Sequence[str]) -> None:
    """Insert the rows of ``source`` whose key ``on`` the table does not hold yet: one commit (an
    insert-only MERGE, allowed on an append-only table). It reads the table, so unlike a blind
    append it loses a race with another writer's commit (Delta raises a concurrent-modification
    error) instead of committing beside it."""
    cond = " AND ".join(f"t.`{c}` = s.`{c}`" for c in on)
    target = DeltaTable.forPath(spark, path).alias("t")
    target.merge(source.alias("s"), cond).whenNotMatchedInsertAll().execute()


def isin(c: Column, values: Iterable[str]) -> Column:
    """``c`` IN ``values`` (sorted, distinct), for predicates over platform values such as delivery
    ids. Never for personal identifiers: those join against a frame (they would sit in query plans
    and logs as literals)."""
    return c.isin(sorted(set(values)))


def any_of(conditions: Iterable[Column]) -> Column:
    """The OR of ``conditions`` (false when there are none)."""
    out: Column = F.lit(False)
    for cond in conditions:
        out = out | cond
    return out
