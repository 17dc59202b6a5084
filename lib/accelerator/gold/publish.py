"""Gold's one publish: each authority's four tables, then its publication record.

Commit point (per authority): ``gold/<a>/publication``, written last. Before it, the four tables
(``family_member``, ``headline_evidence``, ``child_timeline``, then ``family``) are each replaced
in one commit and each row carries ``as_of``. A kill between two of them leaves some tables of the
new ``as_of`` and some of the old one, and the publication record still naming the old one: a
report compares ``family.as_of`` with ``publication.as_of`` (docs/power-bi.md) and knows that a
publication is in progress. Every run recomputes gold whole, so the next run completes it.
Authorities are independent of each other and are published four at a time.

A table that would hold no rows and is not there yet is created empty, with the dictionary's
columns (one commit that writes no file). One that is already empty, with the dictionary's
columns, and would be replaced by no rows is left as it is (an authority with no families yet:
rewriting its empty tables every night changes nothing but costs four commits). Its publication
record is written all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from accelerator.gold import dictionary
from accelerator.io import tables
from accelerator.io.frames import local_frame
from accelerator.io.lake import Lake
from accelerator.io.storage import HadoopStorage

TABLE_ORDER = ("family_member", "headline_evidence", "child_timeline", "family")
PUBLICATION = "publication"
PUBLICATION_COUNTS = ("family", "family_member", "headline_evidence", "child_timeline")
# Column statistics on the reference date only: never on an identifier or a name.
GOLD_STATS = ("as_of",)


@dataclass(frozen=True)
class GoldTables:
    """The four gold tables of every authority, before they are split by authority. Each has the
    family's authority in ``authority`` (family) or ``family_authority`` (the others)."""

    family: DataFrame
    family_member: DataFrame
    headline_evidence: DataFrame
    child_timeline: DataFrame

    def of(self, table: str, authority: str) -> DataFrame:
        df: DataFrame = getattr(self, table)
        holder = "authority" if table == "family" else "family_authority"
        return df.where(F.col(holder) == authority)


def conform(df: DataFrame, table: str) -> DataFrame:
    """The dictionary's columns, in its order, with its types and column comments."""
    fields = dictionary.schema(table).fields
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name, metadata=f.metadata) for f in fields])


def write_gold(df: DataFrame, path: str, table: str) -> None:
    """Replace one gold table (one commit): readable by Power BI and delta-rs (reader 1, writer 2,
    no deletion vectors or column mapping)."""
    tables.overwrite(conform(df, table), path, stats=GOLD_STATS)


def _columns(schema: StructType) -> list[tuple[str, DataType, object]]:
    return [(f.name, f.dataType, f.metadata.get("comment")) for f in schema.fields]


def _empty_as_dictionary(spark: SparkSession, path: str, table: str) -> bool:
    """Whether ``path`` holds the table with the dictionary's columns (names, types, comments) and
    no rows: replacing it with no rows would change nothing a reader sees. A table created so and
    never written since (every authority with no families, on every run) is known from its log's
    one commit, with no Spark job; any other is read."""
    first = tables.sole_commit(HadoopStorage(spark), path)
    if first is not None:
        return not first.added and _columns(first.schema) == _columns(dictionary.schema(table))
    existing = tables.read(spark, path)
    if existing is None or _columns(existing.schema) != _columns(dictionary.schema(table)):
        return False
    return existing.isEmpty()


def row_counts(gold: GoldTables) -> dict[str, dict[str, int]]:
    """Rows per table per authority (one small aggregate per table)."""
    out: dict[str, dict[str, int]] = {}
    for table in TABLE_ORDER:
        holder = "authority" if table == "family" else "family_authority"
        df: DataFrame = getattr(gold, table)
        out[table] = {
            r[holder]: int(r["n"]) for r in df.groupBy(holder).agg(F.count(F.lit(1)).alias("n")).collect()
        }
    return out


def publish_authority(
    gold: GoldTables,
    lake: Lake,
    authority: str,
    rows: Mapping[str, int],
    *,
    run_id: str,
    as_of: date,
) -> None:
    """Write one authority's tables in :data:`TABLE_ORDER`, then its publication record (the
    commit point) with ``rows`` (rows per table)."""
    spark = gold.family.sparkSession
    for table in TABLE_ORDER:
        path = lake.gold(authority, table)
        if int(rows.get(table, 0)) == 0 and (
            tables.create(spark, path, dictionary.schema(table), stats=GOLD_STATS)
            or _empty_as_dictionary(spark, path, table)
        ):
            continue
        write_gold(gold.of(table, authority), path, table)
    record = (authority, as_of, run_id, *[int(rows.get(t, 0)) for t in PUBLICATION_COUNTS])
    df = local_frame(spark, [record], dictionary.schema(PUBLICATION))  # no RDD: no job to read it
    tables.overwrite(df, lake.gold(authority, PUBLICATION), stats=GOLD_STATS)


def publish(
    gold: GoldTables,
    lake: Lake,
    authorities: list[str],
    *,
    run_id: str,
    as_of: date,
) -> dict[str, dict[str, int]]:
    """Publish every authority (four at a time: each commit waits mostly on the file system).
    Returns rows per table per authority."""
    counts = row_counts(gold)
    per_authority = {a: {t: counts[t].get(a, 0) for t in TABLE_ORDER} for a in authorities}
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = [
            pool.submit(
                publish_authority,
                gold,
                lake,
                a,
                per_authority[a],
                run_id=run_id,
                as_of=as_of,
            )
            for a in authorities
        ]
        for f in done:
            f.result()
    return counts
