"""Delta table helpers shared by every layer: create with a schema and properties, write."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DataType, StructField, StructType

# Properties on every table we create. Readers other than Spark (delta-rs, Synapse serverless SQL,
# Power BI) need reader protocol 1 and no table features; statistics are restricted per table so
# that no identifier or name is kept in the transaction log (erasure, custodianship.md).
BASE_PROPERTIES: Mapping[str, str] = {
    "delta.enableDeletionVectors": "false",
    "delta.minReaderVersion": "1",
    "delta.minWriterVersion": "2",
}


def sql_str(value: str) -> str:
    """A Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(sql_str(v) for v in sorted(set(values)))})"


def is_delta(spark: SparkSession, path: str) -> bool:
    return bool(DeltaTable.isDeltaTable(spark, path))


def ensure_table(
    spark: SparkSession,
    path: str,
    schema: StructType,
    *,
    stats_columns: Iterable[str],
    properties: Mapping[str, str] | None = None,
    comment: str | None = None,
) -> None:
    """Create the table at ``path`` if it is not there yet, with column statistics only on
    ``stats_columns`` (never identifiers or names) and our base properties."""
    if is_delta(spark, path):
        return
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    props = {
        **BASE_PROPERTIES,
        "delta.dataSkippingStatsColumns": ",".join(stats_columns),
        **(properties or {}),
    }
    for k, v in props.items():
        builder = builder.property(k, v)
    if comment:
        builder = builder.comment(comment)
    builder.execute()


def replace_where(df: DataFrame, path: str, predicate: str) -> None:
    """Atomically replace the rows matching ``predicate`` with ``df`` (one commit)."""
    df.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(path)


def append(df: DataFrame, path: str) -> None:
    df.write.format("delta").mode("append").save(path)


def col(name: str, dtype: DataType, comment: str | None = None, *, nullable: bool = True) -> StructField:
    """A schema field with its description (Delta keeps it as the column comment)."""
    return StructField(name, dtype, nullable, {"comment": comment} if comment else {})
