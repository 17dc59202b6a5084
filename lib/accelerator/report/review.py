"""Clerical review of borderline links, per authority: Splink's own dashboards, offline.

For each authority, under ``silver/<a>/_review/`` (its custodians and the pipeline only,
custodianship.md; the ACL plan's default ACL on ``silver/<a>`` covers new files there):

- ``comparison_viewer.html``: Splink's comparison viewer of the scored pairs nearest the threshold
  where **both records are held by that authority** (never a record of another authority), every
  pair shown (one example per pair, grouped by comparison pattern), with the waterfall of its
  evidence;
- ``cluster_studio.html``: Splink's cluster studio of the authority's largest people (their own
  records only, and the stored pairs between them);
- ``pairs.csv``: the reviewed pairs as a labels file to fill in (``clerical_match_score`` empty),
  for ``accelerator linkage labels`` (:mod:`accelerator.report.labels`).

The pairs are scored again, on DuckDB on the driver, with the trained model and its term
frequencies (``silver/_platform/linkage_models``), from the records prepared by
``linkage.model.prepare``: the same weights as ``person_links``. Splink's dashboards inline their
JavaScript (vega, vega-lite, vega-embed, Observable's stdlib and Splink's own bundle, all in the
Splink wheel); the only thing they fetch is a Google font, whose ``<link>`` tags are taken out here
(:func:`offline`), so the pages open with the network off (tested in Chromium).

These pages hold names and dates of birth: they are written only under ``silver/<a>/`` and an
erasure removes any file naming the erased person (``governance.history.other_files``).
Commit point: none needed; each file is replaced whole, and the next run writes them again.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from accelerator.io import tables
from accelerator.io.frames import local_frame
from accelerator.io.lake import Lake
from accelerator.linkage import model as M
from accelerator.linkage import people
from accelerator.report.files import write_text

REVIEW_DIR = "_review"
_FONT_LINKS = re.compile(r"<link[^>]*(fonts\.googleapis\.com|fonts\.gstatic\.com)[^>]*>\s*", re.IGNORECASE)


def review_dir(lake_root: str, authority: str) -> str:
    return Lake(lake_root).silver(authority, REVIEW_DIR)


def offline(page: str) -> str:
    """A Splink dashboard with its web-font links removed: everything else is inline already."""
    return _FONT_LINKS.sub("", page)


def nearest_pairs(links: pd.DataFrame, authority: str, threshold: float, n: int) -> pd.DataFrame:
    """Grain: one row per stored pair, both records held by ``authority``, the ``n`` nearest the
    threshold (ties by pair, for a stable choice)."""
    prefix = f"{authority}|"
    own = links[links["unique_id_l"].str.startswith(prefix) & links["unique_id_r"].str.startswith(prefix)]
    own = own.assign(_d=(own["match_weight"] - threshold).abs())
    picked = own.sort_values(["_d", "unique_id_l", "unique_id_r"]).head(n)
    return picked.drop(columns="_d").sort_values("match_weight").reset_index(drop=True)


def largest_own(xref: pd.DataFrame, k: int) -> pd.DataFrame:
    """The records of the ``k`` people with most records held by the authority (2 or more):
    unique_id, cluster_id (the person id)."""
    sizes = xref.groupby("person_id").size().reset_index(name="n")
    top = sizes[sizes["n"] >= 2].sort_values(["n", "person_id"], ascending=[False, True]).head(k)
    out = xref[xref["person_id"].isin(top["person_id"])]
    return out.rename(columns={"person_id": "cluster_id"})[["unique_id", "cluster_id"]]


@dataclass(frozen=True)
class Review:
    authority: str
    pairs: int
    clusters: int
    files: tuple[str, ...]


def _linker(
    records: pd.DataFrame, model_json: str, pairs: pd.DataFrame, secret: str | None
) -> tuple[Any, Any]:
    """A DuckDB linker over ``records`` with the trained model, and its predictions for exactly
    ``pairs`` (unique_id_l, unique_id_r)."""
    from splink import DuckDBAPI, Linker

    db = DuckDBAPI()
    table = db.register(records, dataset_display_name="person_record")
    # As linkage.model.score loads a saved model (the key its frequencies are under, the fields
    # Splink's settings do not take): the same weights as person_links.
    saved = json.loads(model_json)
    frequencies: dict[str, dict[str, float]] | None = saved.pop("term_frequencies", None)
    key = M.saved_frequency_key(saved, secret)
    n: int | None = saved.pop("term_frequency_identities", None)
    settings = M.in_dialect(saved, table)
    for extra in ("model_version", "match_probability_threshold", "match_weight_threshold"):
        settings.pop(extra, None)
    settings["retain_intermediate_calculation_columns"] = True  # the dashboards' waterfalls
    settings["retain_matching_columns"] = True
    linker = Linker(table, settings, log_level=None)
    for col, shares in (frequencies or {}).items():
        lookup = M.tf_lookup(records, col, shares, key, n)
        linker.table_management.register_term_frequency_lookup(
            db.register(lookup, dataset_display_name=f"person_tf_{col}"), col
        )
    blocked = pd.DataFrame(
        {"match_key": "0", "join_key_l": pairs["unique_id_l"], "join_key_r": pairs["unique_id_r"]}
    )
    linker.table_management.register_blocked_pairs_for_predict(
        db.register(blocked, dataset_display_name="review_pairs")
    )
    return linker, linker.inference.predict()


def _dashboard(render: Any, **kwargs: Any) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "page.html")
        html = render(out_path=out, overwrite=True, return_html_as_string=True, **kwargs)
    return offline(str(html))


def comparison_viewer(
    records: pd.DataFrame, model_json: str, pairs: pd.DataFrame, *, secret: str | None = None
) -> str:
    """Splink's comparison viewer of ``pairs``, every pair shown, offline."""
    linker, predictions = _linker(records, model_json, pairs, secret)
    return _dashboard(
        linker.visualisations.comparison_viewer_dashboard, df_predict=predictions, num_example_rows=len(pairs)
    )


def cluster_studio(
    records: pd.DataFrame,
    model_json: str,
    pairs: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    secret: str | None = None,
) -> str:
    """Splink's cluster studio of ``clusters`` (unique_id, cluster_id) with their stored pairs."""
    linker, predictions = _linker(records, model_json, pairs, secret)
    clustered = linker.table_management.register_table(
        records.merge(clusters, on="unique_id"), "review_clusters", overwrite=True
    )
    ids = sorted(set(clusters["cluster_id"]))
    return _dashboard(
        linker.visualisations.cluster_studio_dashboard,
        df_predict=predictions,
        df_clustered=clustered,
        cluster_ids=ids,
    )


def pairs_csv(pairs: pd.DataFrame) -> str:
    """The labels file a reviewer fills in: the pairs, their weight, an empty score."""
    out = pairs[["unique_id_l", "unique_id_r"]].assign(
        clerical_match_score="", match_weight=pairs["match_weight"]
    )
    return str(out.to_csv(index=False))


def _prepared(spark: SparkSession, lake: Lake, keys: set[str]) -> pd.DataFrame:
    """The prepared records (``linkage.model.prepare``) of ``keys`` only."""
    records = tables.read(spark, lake.platform("person_record"))
    if records is None or not keys:
        return pd.DataFrame(columns=list(M.PREPARED_COLUMNS))
    wanted = local_frame(spark, [(k,) for k in sorted(keys)], "unique_id string")
    out: pd.DataFrame = M.prepare(records).join(F.broadcast(wanted), "unique_id").toPandas()
    return out


def _holder(c: str) -> Column:
    """The authority holding a linkage key (``authority|feed|record_key``)."""
    return F.substring_index(F.col(c), "|", 1)


def write_reviews(
    spark: SparkSession,
    lake_root: str,
    authorities: Sequence[str],
    *,
    threshold: float,
    secret: str | None = None,
    pairs: int = 40,
    clusters: int = 5,
) -> dict[str, Review]:
    """Write each authority's review pages (see the module docstring); nothing for an authority
    with no stored pair of its own records. Four small Spark reads serve every authority."""
    lake = Lake(lake_root)
    model_json = people.latest_model(spark, lake)
    links_t = tables.read(spark, lake.platform("person_links"))
    xref_t = tables.read(spark, lake.platform("person_xref"))
    empty = {a: Review(a, 0, 0, ()) for a in authorities}
    if model_json is None or links_t is None or xref_t is None:
        return empty
    wanted = F.col("authority").isin(list(authorities))
    own_links = (
        links_t.select(
            "unique_id_l", "unique_id_r", "match_weight", _holder("unique_id_l").alias("authority")
        )
        .where((F.col("authority") == _holder("unique_id_r")) & wanted)
        .cache()
    )
    try:
        near = _near_pairs(own_links, threshold, pairs)
        members = _largest_people(xref_t.where(wanted), clusters)
        person = dict(zip(members["unique_id"], members["cluster_id"], strict=True))
        edges = _edges_within(spark, own_links, person)
    finally:
        own_links.unpersist()
    keys = set(near["unique_id_l"]) | set(near["unique_id_r"]) | set(members["unique_id"])
    found = Found(_prepared(spark, lake, keys), model_json, near, members, person, edges)
    pages = {
        a: _write_pages(spark, review_dir(lake_root, a), a, found, threshold, pairs, secret)
        for a in authorities
    }
    return {**empty, **pages}


def _near_pairs(own_links: DataFrame, threshold: float, pairs: int) -> pd.DataFrame:
    """Each authority's ``pairs`` stored pairs nearest the threshold (ties by the pair's keys)."""
    by_distance = Window.partitionBy("authority").orderBy(
        F.abs(F.col("match_weight") - F.lit(threshold)), "unique_id_l", "unique_id_r"
    )
    return own_links.withColumn("_n", F.row_number().over(by_distance)).where(F.col("_n") <= pairs).toPandas()


def _largest_people(xref: DataFrame, clusters: int) -> pd.DataFrame:
    """The records (authority, unique_id, cluster_id) of each authority's ``clusters`` people with
    the most records there (two at least; ties by person id)."""
    sizes = xref.groupBy("authority", "person_id").agg(F.count(F.lit(1)).alias("n")).where(F.col("n") >= 2)
    by_size = Window.partitionBy("authority").orderBy(F.col("n").desc(), "person_id")
    top = sizes.withColumn("_n", F.row_number().over(by_size)).where(F.col("_n") <= clusters)
    return (
        xref.join(top.select("authority", "person_id"), ["authority", "person_id"])
        .select(
            "authority",
            M.node_key("authority", "feed", "record_key").alias("unique_id"),
            F.col("person_id").alias("cluster_id"),
        )
        .toPandas()
    )


def _edges_within(spark: SparkSession, own_links: DataFrame, person: dict[str, str]) -> pd.DataFrame:
    """The stored pairs between two records of one person of ``person`` (record -> person id)."""
    ids = local_frame(spark, [(k,) for k in sorted(person)], "uid string")
    edges: pd.DataFrame = (
        own_links.join(F.broadcast(ids.withColumnRenamed("uid", "unique_id_l")), "unique_id_l")
        .join(F.broadcast(ids.withColumnRenamed("uid", "unique_id_r")), "unique_id_r")
        .toPandas()
    )
    return edges[edges["unique_id_l"].map(person) == edges["unique_id_r"].map(person)]


@dataclass(frozen=True)
class Found:
    """What every authority's pages are drawn from: the records, the model, the pairs near the
    threshold, the largest people's records (and each record's person) and the pairs within them."""

    records: pd.DataFrame
    model_json: str
    near: pd.DataFrame
    members: pd.DataFrame
    person: dict[str, str]
    edges: pd.DataFrame


def _write_pages(
    spark: SparkSession,
    folder: str,
    authority: str,
    found: Found,
    threshold: float,
    pairs: int,
    secret: str | None,
) -> Review:
    """One authority's comparison viewer and pairs file (when it has pairs near the threshold) and
    cluster studio (when its largest people have pairs within them)."""
    picked = nearest_pairs(found.near[found.near["authority"] == authority], authority, threshold, pairs)
    mine = found.members[found.members["authority"] == authority]
    own_edges = found.edges[found.edges["authority"] == authority]
    written: list[str] = []
    if not picked.empty:
        page = comparison_viewer(found.records, found.model_json, picked, secret=secret)
        write_text(spark, f"{folder}/comparison_viewer.html", page)
        write_text(spark, f"{folder}/pairs.csv", pairs_csv(picked))
        written += ["comparison_viewer.html", "pairs.csv"]
    if not own_edges.empty:
        keep = mine[mine["cluster_id"].isin(set(own_edges["unique_id_l"].map(found.person)))][
            ["unique_id", "cluster_id"]
        ]
        edges = own_edges[["unique_id_l", "unique_id_r"]]
        page = cluster_studio(found.records, found.model_json, edges, keep, secret=secret)
        write_text(spark, f"{folder}/cluster_studio.html", page)
        written.append("cluster_studio.html")
    return Review(authority, len(picked), int(mine["cluster_id"].nunique()), tuple(written))
