"""Records → people: score, cluster under constraints, carry ids forward, publish person_xref.

Tables (``silver/_platform/``):

- ``person_xref``: feed, authority, record_key, person_id (outputs.md), plus the record's
  comparison signature and the run that last assigned it. Also the registry the next run reads.
- ``person_links``: every scored pair at or above the storage weight (below the match threshold
  too, so a new threshold needs no rescoring), with the blocking rule that found it, each
  comparison's match weight (the evidence) and the run that wrote it.
- ``person_id_changes``: MERGE / SPLIT / NEW per run, with evidence; ``person_id_redirects``:
  retired id → surviving id.
- ``linkage_models``: the Splink model JSON of each training, versioned with the run.
- ``linkage_report``: the run's linkage report, appended (``report.py``): links by rule, match
  weights, cluster sizes, largest clusters, id churn, refused merges, borderline pairs to review.

A run re-scores only new or changed records (against everything, and among themselves), keeps the
stored links between unchanged records, and clusters the union: clustering is order-independent,
so the result is the one a full re-run with the same model gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.config import RunContext, Settings
from accelerator.io.delta import BASE_PROPERTIES, is_delta
from accelerator.io.lake import Lake
from accelerator.linkage import model as M
from accelerator.linkage import report as R
from accelerator.linkage.cluster import Clustering, Edge, Node, cluster
from accelerator.linkage.ids import IdChange, carry_forward

STORE_MIN_WEIGHT = 0.0
ROSTER_FEEDS = ("housing", "early_help")


def write_table(df: DataFrame, path: str, *, stats: Iterable[str], mode: str = "overwrite") -> None:
    """Overwrite (or append to) a platform table with our base properties and restricted stats."""
    writer = df.write.format("delta").mode(mode)
    if mode == "overwrite":
        writer = writer.option("overwriteSchema", "true")
    for k, v in {**BASE_PROPERTIES, "delta.dataSkippingStatsColumns": ",".join(stats)}.items():
        writer = writer.option(k, v)
    writer.save(path)


def _read(spark: SparkSession, path: str) -> DataFrame | None:
    return spark.read.format("delta").load(path) if is_delta(spark, path) else None


def signature(prepared: DataFrame) -> DataFrame:
    cols = [c for c in M.PREPARED_COLUMNS if c not in ("unique_id", "is_new", "id_label")]
    sig = F.sha2(
        F.concat_ws("\u001f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u0000")) for c in cols]), 256
    )
    return prepared.select("unique_id", sig.alias("signature"))


def _nodes(pdf: pd.DataFrame) -> list[Node]:
    nodes = []
    for r in pdf.itertuples(index=False):
        ids = {k: v for k, v in (("nhs", r.nhs), ("upn", r.upn), ("nino", r.nino)) if isinstance(v, str)}
        roster = None
        if r.feed in ROSTER_FEEDS:
            head, _, slot = r.record_key.rpartition("|")
            roster = (f"{r.authority}|{r.feed}|{head}", slot)
        dob = pd.Timestamp(r.dob).date() if isinstance(r.dob, str) else None
        nodes.append(Node(r.unique_id, ids, dob, roster))
    return nodes


@dataclass
class LinkageResult:
    records: int = 0
    scored_records: int = 0
    new_pairs: int = 0
    links: int = 0
    people: int = 0
    trained: bool = False
    model_version: str = ""
    changes: list[IdChange] = field(default_factory=list)
    clustering: Clustering | None = None
    changed_existing_records: int = 0
    existing_records: int = 0  # records linked by an earlier run and still present

    @property
    def churn(self) -> float:
        """Share of previously linked records (still present) whose person_id changed in this run."""
        return self.changed_existing_records / self.existing_records if self.existing_records else 0.0


def run_people(
    spark: SparkSession, settings: Settings, ctx: RunContext, *, retrain: bool = False
) -> LinkageResult:
    lake = Lake(settings.lake_root)
    records = _read(spark, lake.platform("person_record"))
    result = LinkageResult()
    if records is None:
        return result
    prepared_all = M.prepare(records).cache()
    sigs = signature(prepared_all)
    old_xref = _read(spark, lake.platform("person_xref"))
    models = _read(spark, lake.platform("linkage_models"))
    model_json: str | None = None
    if models is not None and not retrain:
        latest = models.orderBy(F.col("trained_at").desc()).first()
        model_json = latest.model_json if latest else None
    full = old_xref is None or model_json is None
    if full:
        new_keys = sigs.select("unique_id")
    else:
        assert old_xref is not None
        old_sigs = old_xref.select(
            node_key_col(old_xref).alias("unique_id"), F.col("signature").alias("old_signature")
        )
        new_keys = (
            sigs.join(old_sigs, "unique_id", "left")
            .where(F.col("old_signature").isNull() | (F.col("old_signature") != F.col("signature")))
            .select("unique_id")
        )
    new_keys = new_keys.cache()
    prepared = M.prepare(records, new_keys=new_keys)
    pdf: pd.DataFrame = prepared_all.select(
        "unique_id", "authority", "feed", "record_key", "nhs", "upn", "nino", "dob"
    ).toPandas()
    result.records = len(pdf)
    if model_json is None:
        model_json = M.train(prepared_all, backend=settings.linkage_backend, spark=spark)
        result.trained = True
        import json as _json

        version = f"{M.MODEL_VERSION}@{ctx.run_id}"
        row = [(version, ctx.run_id, ctx.started_at, result.records, model_json)]
        schema = "model_version string, run_id string, trained_at timestamp, records long, model_json string"
        write_table(
            spark.createDataFrame(row, schema),
            lake.platform("linkage_models"),
            stats=("run_id",),
            mode="append",
        )
        del _json
    result.model_version = f"{M.MODEL_VERSION}"
    new_set = {r.unique_id for r in new_keys.collect()}
    result.scored_records = len(new_set)
    scored = (
        M.score(
            prepared,
            model_json,
            backend=settings.linkage_backend,
            spark=spark,
            min_weight=STORE_MIN_WEIGHT,
            incremental=not full,
        )
        if new_set
        else pd.DataFrame(columns=list(M.LINK_COLUMNS))
    )
    result.new_pairs = len(scored)
    stored = _read(spark, lake.platform("person_links"))
    keep = pd.DataFrame(columns=scored.columns)
    if stored is not None and not full:
        current = set(pdf["unique_id"])
        # links stored before the rule and evidence were kept have them null
        old: pd.DataFrame = stored.select(
            *[
                F.col(c) if c in stored.columns else F.lit(None).cast(M.LINK_TYPES[c]).alias(c)
                for c in M.LINK_COLUMNS
            ]
        ).toPandas()
        ok = (
            old["unique_id_l"].isin(current)
            & old["unique_id_r"].isin(current)
            & ~old["unique_id_l"].isin(new_set)
            & ~old["unique_id_r"].isin(new_set)
        )
        keep = old[ok]
    parts = [f for f in (keep, scored) if len(f)]
    links = pd.concat(parts, ignore_index=True) if parts else scored
    links = links.drop_duplicates(subset=["unique_id_l", "unique_id_r"], keep="last")
    pairs = links[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]]
    edges = [
        Edge(a, b, float(w), bool(i))
        for a, b, w, i in pairs.itertuples(index=False)
        if float(w) >= settings.match_weight_threshold
    ]
    result.links = len(edges)
    clustering = cluster(_nodes(pdf), edges, max_size=settings.max_cluster_size)
    result.clustering = clustering
    previous: dict[str, str] = {}
    ever: set[str] = set()
    if old_xref is not None:
        for r in old_xref.select(node_key_col(old_xref).alias("k"), "person_id").collect():
            previous[r.k] = r.person_id
    redirects_old = _read(spark, lake.platform("person_id_redirects"))
    if redirects_old is not None:
        ever |= {r.retired_id for r in redirects_old.select("retired_id").collect()}
    assignment, retired, changes = carry_forward(clustering.clusters(), previous, prefix="P", ever_used=ever)
    result.changes = changes
    result.people = len(set(assignment.values()))
    result.changed_existing_records = sum(
        1 for k, v in previous.items() if k in assignment and assignment[k] != v
    )
    result.existing_records = sum(1 for k in previous if k in assignment)
    _publish(spark, lake, ctx, pdf, assignment, sigs, links, retired, changes)
    write_report(spark, lake, settings, ctx, result, model_json, pdf, links, assignment)
    prepared_all.unpersist()
    new_keys.unpersist()
    return result


def write_report(
    spark: SparkSession,
    lake: Lake,
    settings: Settings,
    ctx: RunContext,
    result: LinkageResult,
    model_json: str,
    pdf: pd.DataFrame,
    links: pd.DataFrame,
    assignment: dict[str, str],
) -> None:
    """Append this run's rows to ``silver/_platform/linkage_report`` (see ``report.py``)."""
    assert result.clustering is not None
    inputs = R.ReportInputs(
        run_id=ctx.run_id,
        model_version=result.model_version,
        model_json=model_json,
        threshold=settings.match_weight_threshold,
        records=pdf[["unique_id", "authority", "feed", "dob"]],
        links=links,
        assignment=assignment,
        clustering=result.clustering,
        changes=result.changes,
        scored_records=result.scored_records,
        new_pairs=result.new_pairs,
        changed_existing_records=result.changed_existing_records,
        previous_records=result.existing_records,
    )
    rows = R.build(inputs, comparisons=M.COMPARISONS)
    write_table(
        spark.createDataFrame(rows, R.SCHEMA),
        lake.platform("linkage_report"),
        stats=("run_id", "section"),
        mode="append",
    )


def node_key_col(xref: DataFrame) -> Any:
    return M.node_key(F.col("authority"), F.col("feed"), F.col("record_key"))


def _publish(
    spark: SparkSession,
    lake: Lake,
    ctx: RunContext,
    pdf: pd.DataFrame,
    assignment: dict[str, str],
    sigs: DataFrame,
    links: pd.DataFrame,
    retired: dict[str, str],
    changes: list[IdChange],
) -> None:
    xref = pdf[["unique_id", "feed", "authority", "record_key"]].copy()
    xref["person_id"] = xref["unique_id"].map(assignment)
    xref_df = (
        spark.createDataFrame(
            xref,
            "unique_id string, feed string, authority string, record_key string, person_id string",
        )
        .join(sigs, "unique_id")
        .drop("unique_id")
        .withColumn("run_id", F.lit(ctx.run_id))
    )
    write_table(xref_df, lake.platform("person_xref"), stats=("feed", "authority", "run_id"))
    floats = {c: float for c in M.LINK_COLUMNS if M.LINK_TYPES[c] == "double"}
    links_df = spark.createDataFrame(
        links[list(M.LINK_COLUMNS)].astype({**floats, "by_identifier": bool}),
        ", ".join(f"{c} {M.LINK_TYPES[c]}" for c in M.LINK_COLUMNS),
    ).withColumn("run_id", F.lit(ctx.run_id))
    write_table(links_df, lake.platform("person_links"), stats=("run_id", "match_weight"))
    if changes:
        rows = [(ctx.run_id, c.change, list(c.old_ids), c.new_id, c.records) for c in changes]
        schema = T.StructType(
            [
                T.StructField("run_id", T.StringType()),
                T.StructField("change", T.StringType()),
                T.StructField("old_ids", T.ArrayType(T.StringType())),
                T.StructField("new_id", T.StringType()),
                T.StructField("records", T.LongType()),
            ]
        )
        write_table(
            spark.createDataFrame(rows, schema),
            lake.platform("person_id_changes"),
            stats=("run_id", "change"),
            mode="append",
        )
    if retired:
        rows2 = [(old, new, ctx.run_id) for old, new in sorted(retired.items())]
        write_table(
            spark.createDataFrame(rows2, "retired_id string, survivor_id string, run_id string"),
            lake.platform("person_id_redirects"),
            stats=("run_id",),
            mode="append",
        )
