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
- ``linkage_report``: the run's linkage report (``report.py``): links by rule, match weights,
  cluster sizes, largest clusters, id churn, refused merges, borderline pairs to review.

A run re-scores only new or changed records (against everything, and among themselves), keeps the
stored links between unchanged records, and clusters the union: clustering is order-independent,
so the result is the one a full re-run with the same model gives.

The stage in three parts: :func:`read_inputs`, the transforms below (signatures, changed records,
kept links, edges; scoring and clustering in ``model.py`` and ``cluster.py``) and
``publish.publish_people`` (the writes in order; its docstring states the commit point).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.linkage import model as M
from accelerator.linkage import report as R
from accelerator.linkage.cluster import NODE_COLUMNS, Clustering, Edge, cluster, record_nodes
from accelerator.linkage.ids import IdChange, carry_forward
from accelerator.linkage.publish import PeopleOutput, append_model, publish_people, xref_frame

# Pairs are stored down to this weight: the threshold can move by 4 without a rescore, and the
# report's borderline pairs and the benchmark's curve see both sides of it.
STORE_MIN_WEIGHT = -4.0


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


# ------------------------------------------------------------------------------------------ read


@dataclass(frozen=True)
class PeopleInputs:
    """What the stage reads. ``base_version`` is the version of ``person_xref`` it starts from
    (-1 when there is none): the publish replaces what an interrupted run from the same base wrote."""

    records: DataFrame
    old_xref: DataFrame | None
    model_json: str | None
    stored_links: DataFrame | None
    redirects: DataFrame | None
    base_version: int


def latest_model(spark: SparkSession, lake: Lake) -> str | None:
    """The JSON of the latest trained model (the one the next run scores with), if any."""
    models = tables.read(spark, lake.platform("linkage_models"))
    latest = models.orderBy(F.col("trained_at").desc()).select("model_json").first() if models else None
    return None if latest is None else str(latest[0])


def link_threshold(spark: SparkSession, settings: Settings) -> float:
    """The match weight at or over which records link: ``Settings.match_weight_threshold`` when
    set, else the latest model's own (``model.match_threshold``; 2 before any model is trained)."""
    model_json = latest_model(spark, Lake(settings.lake_root))
    if model_json is None:
        override = settings.match_weight_threshold
        return float(override) if override is not None else M.LINK_WEIGHT
    return M.threshold_for(model_json, settings.match_weight_threshold)


def read_inputs(spark: SparkSession, lake: Lake, *, retrain: bool = False) -> PeopleInputs | None:
    records = tables.read(spark, lake.platform("person_record"))
    if records is None:
        return None
    model_json = None if retrain else latest_model(spark, lake)
    base = tables.version(spark, lake.platform("person_xref"))
    return PeopleInputs(
        records=records,
        old_xref=tables.read(spark, lake.platform("person_xref")),
        model_json=model_json,
        stored_links=tables.read(spark, lake.platform("person_links")),
        redirects=tables.read(spark, lake.platform("person_id_redirects")),
        base_version=-1 if base is None else base,
    )


# ------------------------------------------------------------------------------------ transforms


def node_key_col() -> Column:
    """A record's node key (``model.node_key``) from its authority, feed and record_key columns."""
    key: Column = M.node_key(F.col("authority"), F.col("feed"), F.col("record_key"))
    return key


def signature(prepared: DataFrame) -> DataFrame:
    """(unique_id, signature): a hash of every compared value; a record whose signature changed
    is scored again."""
    cols = [c for c in M.PREPARED_COLUMNS if c not in ("unique_id", "is_new", "id_label")]
    sig = F.sha2(
        F.concat_ws("\u001f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u0000")) for c in cols]), 256
    )
    return prepared.select("unique_id", sig.alias("signature"))


def changed_records(sigs: DataFrame, old_xref: DataFrame | None) -> DataFrame:
    """(unique_id) of the records that are new or whose signature differs from the registry's."""
    if old_xref is None:
        return sigs.select("unique_id")
    old = old_xref.select(node_key_col().alias("unique_id"), F.col("signature").alias("old_signature"))
    return (
        sigs.join(old, "unique_id", "left")
        .where(F.col("old_signature").isNull() | (F.col("old_signature") != F.col("signature")))
        .select("unique_id")
    )


def unchanged(
    spark: SparkSession,
    lake: Lake,
    inputs: PeopleInputs,
    rescored: set[str],
    records: int,
    settings: Settings,
) -> bool:
    """Whether a run would change nothing: no record to score again, none gone from the registry,
    and the latest run linked at the threshold this one would."""
    if rescored or inputs.old_xref is None or inputs.model_json is None or inputs.old_xref.count() != records:
        return False
    report = tables.read(spark, lake.platform("linkage_report"))
    if report is None:
        return False
    latest = (
        report.where((F.col("section") == "summary") & (F.col("item") == "match_weight_threshold"))
        .orderBy(F.col("base_version").desc() if "base_version" in report.columns else F.col("run_id").desc())
        .select("value")
        .first()
    )
    threshold = M.threshold_for(inputs.model_json, settings.match_weight_threshold)
    return latest is not None and latest[0] is not None and abs(float(latest[0]) - threshold) < 1e-9


def stored_links(stored: DataFrame | None) -> pd.DataFrame:
    """The links an earlier run stored, with every link column (null where an older run kept none)."""
    if stored is None:
        return pd.DataFrame(columns=list(M.LINK_COLUMNS))
    return stored.select(
        *[
            F.col(c) if c in stored.columns else F.lit(None).cast(M.LINK_TYPES[c]).alias(c)
            for c in M.LINK_COLUMNS
        ]
    ).toPandas()


def all_links(old: pd.DataFrame, scored: pd.DataFrame, current: set[str], rescored: set[str]) -> pd.DataFrame:
    """The stored links between records that are still present and were not scored again, plus
    this run's scored pairs (a pair scored now replaces its stored version)."""
    ok = (
        old["unique_id_l"].isin(current)
        & old["unique_id_r"].isin(current)
        & ~old["unique_id_l"].isin(rescored)
        & ~old["unique_id_r"].isin(rescored)
    )
    parts = [f for f in (old[ok], scored) if len(f)]
    links = pd.concat(parts, ignore_index=True) if parts else scored
    return links.drop_duplicates(subset=["unique_id_l", "unique_id_r"], keep="last")


def edges(links: pd.DataFrame, threshold: float) -> list[Edge]:
    """Pairs at or over the match threshold, as clustering edges."""
    pairs = links[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]]
    return [
        Edge(a, b, float(w), bool(i)) for a, b, w, i in pairs.itertuples(index=False) if float(w) >= threshold
    ]


def previous_ids(old_xref: DataFrame | None) -> dict[str, str]:
    """Node key → person id in the registry (small: one row per record)."""
    if old_xref is None:
        return {}
    return {r.k: r.person_id for r in old_xref.select(node_key_col().alias("k"), "person_id").collect()}


def retired_ids(redirects: DataFrame | None) -> set[str]:
    return set() if redirects is None else {r.retired_id for r in redirects.select("retired_id").collect()}


# ------------------------------------------------------------------------------------ the stage


def _score(
    prepared: DataFrame,
    model_json: str,
    settings: Settings,
    spark: SparkSession,
    *,
    rescored: Iterable[str],
    full: bool,
    secret: str,
) -> pd.DataFrame:
    if not list(rescored):
        return pd.DataFrame(columns=list(M.LINK_COLUMNS))
    return M.score(
        prepared,
        model_json,
        backend=settings.linkage_backend,
        spark=spark,
        min_weight=STORE_MIN_WEIGHT,
        incremental=not full,
        secret=secret,
    )


@dataclass(frozen=True)
class _Scope:
    """This run's records and which of them it scores again (all of them on a first or full run)."""

    signatures: DataFrame
    new_keys: DataFrame  # cached: the caller unpersists it
    rescored: set[str]
    records: pd.DataFrame  # NODE_COLUMNS, one row per record
    full: bool


def _scope(prepared: DataFrame, inputs: PeopleInputs) -> _Scope:
    sigs = signature(prepared)
    full = inputs.old_xref is None or inputs.model_json is None
    new_keys = (sigs.select("unique_id") if full else changed_records(sigs, inputs.old_xref)).cache()
    rescored = {r.unique_id for r in new_keys.collect()}
    return _Scope(sigs, new_keys, rescored, prepared.select(*NODE_COLUMNS).toPandas(), full)


def _model(
    spark: SparkSession,
    lake: Lake,
    inputs: PeopleInputs,
    prepared: DataFrame,
    settings: Settings,
    ctx: RunContext,
    secret: str,
    records: int,
) -> tuple[str, bool]:
    """The stored model, or one trained now and appended to ``linkage_models``; whether trained."""
    if inputs.model_json is not None:
        return inputs.model_json, False
    model_json = M.train(prepared, backend=settings.linkage_backend, spark=spark, secret=secret)
    append_model(
        spark, lake, (f"{M.MODEL_VERSION}@{ctx.run_id}", ctx.run_id, ctx.started_at, records, model_json)
    )
    return model_json, True


@dataclass(frozen=True)
class _People:
    """Records grouped into people, with ids carried forward from the registry."""

    clustering: Clustering
    links_over: int  # links at or over the threshold (the clustering's edges)
    assignment: dict[str, str]  # node key -> person id
    retired: dict[str, str]
    changes: list[IdChange]
    previous: dict[str, str]  # node key -> person id in the registry before this run


def people_of(
    records: pd.DataFrame, links: pd.DataFrame, threshold: float, settings: Settings, inputs: PeopleInputs
) -> _People:
    """Cluster the records on the links at or over ``threshold``, then carry the registry's ids
    forward (pure, but for reading the small registry)."""
    linked = edges(links, threshold)
    clustering = cluster(
        record_nodes(records.itertuples(index=False)), linked, max_size=settings.max_cluster_size
    )
    previous = previous_ids(inputs.old_xref)
    assignment, retired, changes = carry_forward(
        clustering.clusters(), previous, prefix="P", ever_used=retired_ids(inputs.redirects)
    )
    return _People(clustering, len(linked), assignment, retired, changes, previous)


def _result(scope: _Scope, people: _People, scored: pd.DataFrame, trained: bool) -> LinkageResult:
    assignment, previous = people.assignment, people.previous
    return LinkageResult(
        records=len(scope.records),
        scored_records=len(scope.rescored),
        new_pairs=len(scored),
        links=people.links_over,
        people=len(set(assignment.values())),
        trained=trained,
        model_version=M.MODEL_VERSION,
        changes=people.changes,
        clustering=people.clustering,
        changed_existing_records=sum(
            1 for k, v in previous.items() if k in assignment and assignment[k] != v
        ),
        existing_records=sum(1 for k in previous if k in assignment),
    )


def _report(
    ctx: RunContext,
    result: LinkageResult,
    model_json: str,
    threshold: float,
    scope: _Scope,
    links: pd.DataFrame,
    people: _People,
) -> pd.DataFrame:
    inputs = R.ReportInputs(
        run_id=ctx.run_id,
        model_version=result.model_version,
        model_json=model_json,
        threshold=threshold,
        records=scope.records[["unique_id", "authority", "feed", "dob"]],
        links=links,
        assignment=people.assignment,
        clustering=people.clustering,
        changes=people.changes,
        scored_records=result.scored_records,
        new_pairs=result.new_pairs,
        changed_existing_records=result.changed_existing_records,
        previous_records=result.existing_records,
    )
    return R.build(inputs, comparisons=M.COMPARISONS)


def run_people(
    spark: SparkSession, settings: Settings, ctx: RunContext, *, retrain: bool = False
) -> LinkageResult:
    """Read, score the new and changed records, cluster, carry ids forward, publish (module
    docstring). A run with nothing new, changed or gone, the same model and threshold, writes
    nothing: the registry stands as it is (a quiet night, or the rerun after a kill past this
    stage)."""
    lake = Lake(settings.lake_root)
    inputs = read_inputs(spark, lake, retrain=retrain)
    if inputs is None:
        return LinkageResult()
    prepared_all = M.prepare(inputs.records).cache()
    scope: _Scope | None = None
    try:
        scope = _scope(prepared_all, inputs)
        records = len(scope.records)
        if not scope.full and unchanged(spark, lake, inputs, scope.rescored, records, settings):
            assert inputs.old_xref is not None
            known = inputs.old_xref.select("person_id").distinct().count()
            return LinkageResult(
                records, model_version=M.MODEL_VERSION, people=known, existing_records=records
            )
        key = M.linkage_key(settings.linkage_secret, environment=settings.environment)
        model_json, trained = _model(spark, lake, inputs, prepared_all, settings, ctx, key, records)
        prepared = M.prepare(inputs.records, new_keys=scope.new_keys)
        scored = _score(
            prepared, model_json, settings, spark, rescored=scope.rescored, full=scope.full, secret=key
        )
        old = stored_links(inputs.stored_links) if not scope.full else pd.DataFrame(columns=scored.columns)
        links = all_links(old, scored, set(scope.records["unique_id"]), scope.rescored)
        threshold = M.threshold_for(model_json, settings.match_weight_threshold)
        people = people_of(scope.records, links, threshold, settings, inputs)
        result = _result(scope, people, scored, trained)
        out = PeopleOutput(
            run_id=ctx.run_id,
            base_version=inputs.base_version,
            xref=xref_frame(spark, scope.records, people.assignment, scope.signatures, ctx.run_id),
            links=links,
            changes=people.changes,
            retired=people.retired,
            report=_report(ctx, result, model_json, threshold, scope, links, people),
        )
        publish_people(spark, lake, out, R.SCHEMA)
        return result
    finally:
        prepared_all.unpersist()
        if scope is not None:
            scope.new_keys.unpersist()
