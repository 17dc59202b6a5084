"""The people stage's writes, in order, and its commit point.

Commit point: ``silver/_platform/person_xref``, overwritten last. It is the registry the next run
reads: it holds each record's person id and the comparison signature that marks the record as
scored. Before it, in this order:

1. ``linkage_models`` (only when a model is trained): appended; the next run uses the latest model;
2. ``person_links``: every stored pair, overwritten whole;
3. ``person_id_changes``, ``person_id_redirects`` and ``linkage_report``: this run's rows, each
   tagged with ``base_version``, the version of ``person_xref`` the run started from, and written
   by replacing the rows of that same base (one commit each).

A run killed before the commit point leaves ``person_xref`` as it was: the next run starts from the
same base version, scores the same records again (their signatures are still old), rewrites the
links whole and replaces the interrupted run's change log, redirects and report rows (same base),
so nothing is lost and nothing is written twice. A run killed after the commit point has done its
work.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.linkage import model as M
from accelerator.linkage.ids import IdChange

CHANGES_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType()),
        T.StructField("change", T.StringType()),
        T.StructField("old_ids", T.ArrayType(T.StringType())),
        T.StructField("new_id", T.StringType()),
        T.StructField("records", T.LongType()),
    ]
)
REDIRECTS_SCHEMA = "retired_id string, survivor_id string, run_id string"
MODELS_SCHEMA = "model_version string, run_id string, trained_at timestamp, records long, model_json string"
XREF_SCHEMA = "unique_id string, feed string, authority string, record_key string, person_id string"


@dataclass(frozen=True)
class PeopleOutput:
    """Everything the people stage publishes, computed before the first write."""

    run_id: str
    base_version: int
    xref: DataFrame  # feed, authority, record_key, person_id, signature, run_id
    links: pd.DataFrame  # M.LINK_COLUMNS
    changes: list[IdChange]
    retired: dict[str, str]
    report: pd.DataFrame | None  # R.SCHEMA rows


def xref_frame(
    spark: SparkSession, records: pd.DataFrame, assignment: dict[str, str], sigs: DataFrame, run_id: str
) -> DataFrame:
    """The registry rows: each record with its person id and comparison signature."""
    xref = records[["unique_id", "feed", "authority", "record_key"]].copy()
    xref["person_id"] = xref["unique_id"].map(assignment)
    return (
        spark.createDataFrame(xref, XREF_SCHEMA)
        .join(sigs, "unique_id")
        .drop("unique_id")
        .withColumn("run_id", F.lit(run_id))
    )


def links_frame(spark: SparkSession, links: pd.DataFrame, run_id: str) -> DataFrame:
    floats = {c: float for c in M.LINK_COLUMNS if M.LINK_TYPES[c] == "double"}
    return spark.createDataFrame(
        links[list(M.LINK_COLUMNS)].astype({**floats, "by_identifier": bool}),
        ", ".join(f"{c} {M.LINK_TYPES[c]}" for c in M.LINK_COLUMNS),
    ).withColumn("run_id", F.lit(run_id))


def append_model(spark: SparkSession, lake: Lake, row: tuple[object, ...]) -> None:
    """A newly trained model (version, run, trained_at, records, JSON), before it scores anything."""
    tables.append(
        spark.createDataFrame([row], MODELS_SCHEMA), lake.platform("linkage_models"), stats=("run_id",)
    )


def _replace_base(
    spark: SparkSession, df: DataFrame | None, path: str, base: int, stats: tuple[str, ...]
) -> None:
    """Replace the rows an earlier attempt from the same base wrote with ``df`` (one commit; none
    when there is nothing to write and nothing to remove)."""
    predicate = F.col("base_version") == F.lit(base)
    if df is not None:
        tables.replace_where(
            df.withColumn("base_version", F.lit(base)), path, predicate, stats=stats, evolve=True
        )
    elif tables.exists(spark, path) and "base_version" in tables.read(spark, path).columns:  # type: ignore[union-attr]
        tables.delete_where(spark, path, predicate)


def publish_people(spark: SparkSession, lake: Lake, out: PeopleOutput, report_schema: str) -> None:
    """Write the stage's tables in the order of the module docstring; ``person_xref`` last."""
    tables.overwrite(
        links_frame(spark, out.links, out.run_id),
        lake.platform("person_links"),
        stats=("run_id", "match_weight"),
    )
    changes = (
        spark.createDataFrame(
            [(out.run_id, c.change, list(c.old_ids), c.new_id, c.records) for c in out.changes],
            CHANGES_SCHEMA,
        )
        if out.changes
        else None
    )
    _replace_base(spark, changes, lake.platform("person_id_changes"), out.base_version, ("run_id", "change"))
    redirects = (
        spark.createDataFrame([(a, b, out.run_id) for a, b in sorted(out.retired.items())], REDIRECTS_SCHEMA)
        if out.retired
        else None
    )
    _replace_base(spark, redirects, lake.platform("person_id_redirects"), out.base_version, ("run_id",))
    report = tables.from_pandas(spark, out.report, report_schema) if out.report is not None else None
    _replace_base(spark, report, lake.platform("linkage_report"), out.base_version, ("run_id", "section"))
    tables.overwrite(out.xref, lake.platform("person_xref"), stats=("feed", "authority", "run_id"))
