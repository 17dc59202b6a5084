"""What the reports take from the lake: small pandas frames of counts, aggregated by Spark.

Nothing here brings a name, an identifier or a record key to the driver: every read selects the
count columns it needs, or aggregates first. The record-level columns of the linkage report
(``person_id``, ``unique_id_l``, ``unique_id_r``) and its ``borderline_pairs`` section are never
read; the clerical review (``report/review.py``) is the only place that opens records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.feeds import AUTHORITIES
from accelerator.gold.rules import HEADLINES
from accelerator.io import tables
from accelerator.io.frames import union_all
from accelerator.io.lake import Lake
from accelerator.io.storage import HadoopStorage
from accelerator.report.run_log import COLUMNS as RUN_LOG_COLUMNS
from accelerator.report.run_log import run_log_path

HEADLINE_COLUMNS = tuple(HEADLINES.values())
DELIVERY_COLUMNS = [
    "authority",
    "feed",
    "folder",
    "extract_date",
    "status",
    "reason",
    "rows_in_files",
    "rows_loaded",
    "rows_quarantined",
]
LINKAGE_SECTIONS = (
    "summary",
    "links_by_rule",
    "match_weight",
    "cluster_sizes",
    "largest_clusters",
    "id_churn",
    "refused_merges",
)


@dataclass
class ReportData:
    """Everything one report shows (all pandas, all counts). ``authority`` empty: every authority."""

    run_id: str
    authority: str
    runs: list[str]
    deliveries: pd.DataFrame
    quarantine: pd.DataFrame
    dq: pd.DataFrame
    linkage: pd.DataFrame
    linkage_history: pd.DataFrame
    labels: pd.DataFrame
    gold: pd.DataFrame
    run_log: pd.DataFrame
    threshold: float = 2.0
    notes: list[str] = field(default_factory=list)


def _pdf(df: DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame(columns=columns)
    return df.select(*columns).toPandas()


def run_ids(spark: SparkSession, lake_root: str) -> list[str]:
    """Every run id the lake knows, oldest first (run ids start with the start time)."""
    lake = Lake(lake_root)
    ids: set[str] = set()
    for path in (lake.delivery_log, lake.platform("linkage_report"), run_log_path(lake_root)):
        df = tables.read(spark, path)
        if df is not None:
            ids |= {r[0] for r in df.select("run_id").distinct().collect() if r[0]}
    return sorted(ids)


def gold_counts(spark: SparkSession, lake_root: str, authorities: list[str]) -> pd.DataFrame:
    """Per authority: as_of, families, eligible families, families with each headline (from
    ``gold/<a>/family`` as it is now). One Spark query over every authority's table; a table
    created empty and never written since (an authority with no families) has no row to count and
    is known from its log alone."""
    lake = Lake(lake_root)
    fs = HadoopStorage(spark)
    frames = [
        df
        for a in authorities
        if not tables.created_empty(fs, lake.gold(a, "family"))
        and (df := tables.read(spark, lake.gold(a, "family"))) is not None
    ]
    cols = ["authority", "as_of", "families", "eligible", *[h[:3] for h in HEADLINE_COLUMNS]]
    if not frames:
        return pd.DataFrame(columns=cols)
    agg = (
        union_all([df.select("authority", "as_of", "eligible", *HEADLINE_COLUMNS) for df in frames])
        .groupBy("authority", "as_of")
        .agg(
            F.count(F.lit(1)).alias("families"),
            F.sum(F.col("eligible").cast("long")).alias("eligible"),
            *[F.sum(F.col(h).cast("long")).alias(h[:3]) for h in HEADLINE_COLUMNS],
        )
    )
    order = {a: i for i, a in enumerate(authorities)}  # the order asked for, as_of within each
    counts: pd.DataFrame = agg.toPandas()
    out = counts[cols].sort_values(
        ["authority", "as_of"], key=lambda c: c.map(order) if c.name == "authority" else c
    )
    out = out.reset_index(drop=True)
    return out.fillna(0).astype({c: "int64" for c in cols[2:]})


def read_report(
    spark: SparkSession,
    lake_root: str,
    *,
    run_id: str | None = None,
    authority: str = "",
    threshold: float = 2.0,
    last_runs: int = 6,
    gold: pd.DataFrame | None = None,
) -> ReportData:
    """The data of one run's report (``run_id`` None: the latest run), for every authority or for
    ``authority`` only (its deliveries, data quality and gold; no linkage across authorities)."""
    if authority and authority not in AUTHORITIES:
        raise ValueError(f"unknown authority {authority!r}; expected one of {', '.join(AUTHORITIES)}")
    run_id, recent = _runs(spark, lake_root, run_id, last_runs)
    lake = Lake(lake_root)
    authorities = list(AUTHORITIES)
    linkage, history = _linkage(spark, lake, run_id)
    run_log = _pdf(tables.read(spark, run_log_path(lake_root)), RUN_LOG_COLUMNS)
    data = ReportData(
        run_id=run_id,
        authority="",
        runs=recent,
        deliveries=_deliveries(spark, lake, run_id),
        quarantine=_quarantine(spark, lake, run_id, authorities),
        dq=_dq(spark, lake, recent),
        linkage=linkage,
        linkage_history=history,
        labels=read_labels(spark, lake_root, authorities),
        gold=gold_counts(spark, lake_root, authorities) if gold is None else gold,
        run_log=run_log[run_log["run_id"] <= run_id],
        threshold=threshold,
    )
    return narrow(data, authority) if authority else data


def _runs(spark: SparkSession, lake_root: str, run_id: str | None, last_runs: int) -> tuple[str, list[str]]:
    """The run reported (``run_id``, or the latest) and the ``last_runs`` up to it."""
    runs = run_ids(spark, lake_root)
    if not runs:
        raise FileNotFoundError(f"{lake_root}: no run has written a delivery log or linkage report yet")
    if run_id is None:
        run_id = runs[-1]
    elif run_id not in runs:
        raise LookupError(f"run {run_id!r} is not in the lake; runs: {', '.join(runs[-5:])}")
    return run_id, [r for r in runs if r <= run_id][-last_runs:]


def _deliveries(spark: SparkSession, lake: Lake, run_id: str) -> pd.DataFrame:
    """The run's rows of the delivery log."""
    log = tables.read(spark, lake.delivery_log)
    return _pdf(None if log is None else log.where(F.col("run_id") == run_id), DELIVERY_COLUMNS)


def _quarantine(spark: SparkSession, lake: Lake, run_id: str, authorities: list[str]) -> pd.DataFrame:
    """Rows the run quarantined, per feed, reason and authority (one query over every authority)."""
    frames = [
        q.where(F.col("run_id") == run_id).select("feed", "reason_code", F.lit(a).alias("authority"))
        for a in authorities
        if (q := tables.read(spark, lake.quarantine(a))) is not None
    ]
    if not frames:
        return pd.DataFrame(columns=["feed", "reason_code", "rows", "authority"])
    return (
        union_all(frames)
        .groupBy("feed", "reason_code", "authority")
        .agg(F.count(F.lit(1)).alias("rows"))
        .select("feed", "reason_code", "rows", "authority")
        .toPandas()
    )


DQ_COLUMNS = [
    "run_id",
    "authority",
    "feed",
    "delivery_id",
    "extract_date",
    "metric",
    "column",
    "count",
    "rate",
]
REPORT_COLUMNS = ["run_id", "section", "rank", "item", "count", "value", "detail"]


def _dq(spark: SparkSession, lake: Lake, recent: list[str]) -> pd.DataFrame:
    """The data-quality metrics of the ``recent`` runs."""
    dq = tables.read(spark, lake.platform("dq_metrics"))
    return _pdf(None if dq is None else dq.where(F.col("run_id").isin(recent)), DQ_COLUMNS)


def _linkage(spark: SparkSession, lake: Lake, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's linkage report, and the summary and churn of every run up to it."""
    rep = tables.read(spark, lake.platform("linkage_report"))
    if rep is None:
        return pd.DataFrame(columns=REPORT_COLUMNS), pd.DataFrame(columns=REPORT_COLUMNS)
    kept = rep.where(F.col("section").isin(*LINKAGE_SECTIONS)).select(*REPORT_COLUMNS)
    history = kept.where(F.col("section").isin("summary", "id_churn") & (F.col("run_id") <= run_id))
    return kept.where(F.col("run_id") == run_id).toPandas(), history.toPandas()


def narrow(data: ReportData, authority: str) -> ReportData:
    """The report of one authority from the report of all: its own deliveries, quarantine, data
    quality, gold and gold trend, the run's stage timings; no linkage (it spans authorities) and
    no other authority's decisions. Pure."""

    def own(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["authority"] == authority].reset_index(drop=True)

    log = data.run_log
    return replace(
        data,
        authority=authority,
        deliveries=own(data.deliveries),
        quarantine=own(data.quarantine),
        dq=own(data.dq),
        linkage=data.linkage.iloc[0:0],
        linkage_history=data.linkage_history.iloc[0:0],
        labels=data.labels.iloc[0:0],
        gold=own(data.gold),
        run_log=log[(log["authority"] == authority) | (log["section"] == "stage")].reset_index(drop=True),
    )


def read_labels(spark: SparkSession, lake_root: str, authorities: list[str]) -> pd.DataFrame:
    """Every reviewer decision with the pair's stored match weight (authority, clerical_match_score,
    match_weight): the pairs themselves stay in the lake (joined there, not on the driver)."""
    from accelerator.report.labels import labels_path

    lake = Lake(lake_root)
    links = tables.read(spark, lake.platform("person_links"))
    frames = []
    for a in authorities:
        lab = tables.read(spark, labels_path(lake_root, a))
        if lab is None or links is None:
            continue
        joined = lab.join(
            links.select("unique_id_l", "unique_id_r", "match_weight"), ["unique_id_l", "unique_id_r"]
        )
        frames.append(
            joined.select(F.lit(a).alias("authority"), "clerical_match_score", "match_weight").toPandas()
        )
    if not frames:
        return pd.DataFrame(columns=["authority", "clerical_match_score", "match_weight"])
    return pd.concat(frames, ignore_index=True)
