"""Pure transforms of the report: small pandas frames of counts in, the frames each section shows out.

No I/O, no clock. Every function states its grain. Nothing here sees a name, an identifier or a
record key: :mod:`accelerator.report.read` never brings one to the driver.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from accelerator.feeds import FEEDS

STATUS_ORDER = ("REJECTED", "PENDING", "LOADED", "DUPLICATE")
"""Worst first: a cell of the delivery grid takes the worst status of its deliveries. A DUPLICATE
(the same files sent again) is the mildest: a cell is grey only when nothing new arrived."""


def delivery_grid(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, feed) delivered in the run: the worst status, deliveries,
    and a label such as ``2 LOADED, 1 REJECTED``."""
    cols = ["authority", "feed", "status", "deliveries", "label"]
    if deliveries.empty:
        return pd.DataFrame(columns=cols)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows = []
    for (a, f), grp in deliveries.groupby(["authority", "feed"], sort=True):
        counts = grp["status"].value_counts()
        statuses = sorted(counts.index, key=lambda s: rank.get(s, -1))
        label = ", ".join(f"{int(counts[s])} {s}" for s in statuses)
        rows.append((a, f, statuses[0], len(grp), label))
    return pd.DataFrame(rows, columns=cols)


def not_loaded(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per delivery of the run that is not LOADED, with its reason (feeds.md
    delivery rules; never a record's content)."""
    cols = ["authority", "feed", "folder", "status", "reason"]
    out = deliveries[deliveries["status"] != "LOADED"][cols]
    return out.sort_values(["authority", "feed", "folder"]).reset_index(drop=True)


def rows_by_authority(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per authority: LOADED deliveries of the run and their rows in files, loaded
    and quarantined (outputs.md: rows_in_files = rows_loaded + rows_quarantined)."""
    cols = ["authority", "deliveries", "rows_in_files", "rows_loaded", "rows_quarantined"]
    loaded = deliveries[deliveries["status"] == "LOADED"]
    if loaded.empty:
        return pd.DataFrame(columns=cols)
    out = loaded.groupby("authority", as_index=False).agg(
        deliveries=("status", "size"),
        rows_in_files=("rows_in_files", "sum"),
        rows_loaded=("rows_loaded", "sum"),
        rows_quarantined=("rows_quarantined", "sum"),
    )
    return out[cols].astype({c: "int64" for c in cols[1:]})


def quarantine_by_reason(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, feed, reason code): rows quarantined in the run."""
    cols = ["authority", "feed", "reason_code", "rows"]
    if quarantine.empty:
        return pd.DataFrame(columns=cols)
    out = quarantine.groupby(["authority", "feed", "reason_code"], as_index=False)["rows"].sum()
    return out.sort_values(["rows", "authority", "feed"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def _rate(n: float, d: float) -> float:
    return float(n) / float(d) if d else 0.0


def scorecard(dq: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, feed) over the deliveries of the last runs: deliveries, rows,
    the share quarantined, the share of delivered identifiers that were invalid (every
    ``invalid_*`` metric over rows), the highest null rate of the feed's key columns (feeds.md),
    and the date formats and encodings the files used."""
    cols = [
        "authority",
        "feed",
        "deliveries",
        "rows",
        "quarantined_rate",
        "invalid_identifier_rate",
        "key_null_rate",
        "date_formats",
        "encodings",
    ]
    if dq.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for (a, f), grp in dq.groupby(["authority", "feed"], sort=True):
        rows = grp.loc[grp["metric"] == "rows", "count"].sum()
        quarantined = grp.loc[grp["metric"] == "rows_quarantined", "count"].sum()
        invalid = grp.loc[grp["metric"].astype(str).str.startswith("invalid_"), "count"].sum()
        keys = FEEDS[f].key if f in FEEDS else ()
        nulls = grp[(grp["metric"] == "null") & grp["column"].isin(keys)]
        key_null = max((_rate(n, rows) for n in nulls.groupby("column")["count"].sum()), default=0.0)
        formats = sorted(set(grp.loc[grp["metric"] == "date_format", "column"].dropna()))
        encodings = sorted(set(grp.loc[grp["metric"] == "encoding", "column"].dropna()))
        out.append(
            (
                a,
                f,
                int(grp["delivery_id"].nunique()),
                int(rows),
                _rate(quarantined, rows + quarantined),
                _rate(invalid, rows),
                key_null,
                ", ".join(formats),
                ", ".join(encodings),
            )
        )
    return pd.DataFrame(out, columns=cols)


def scorecard_trend(dq: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, feed, extract date, measure) over the last runs' deliveries:
    the share quarantined and the share of invalid identifiers, for the trend chart."""
    cols = ["authority", "feed", "extract_date", "measure", "rate"]
    if dq.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for (a, f, d), grp in dq.groupby(["authority", "feed", "extract_date"], sort=True):
        rows = grp.loc[grp["metric"] == "rows", "count"].sum()
        quarantined = grp.loc[grp["metric"] == "rows_quarantined", "count"].sum()
        invalid = grp.loc[grp["metric"].astype(str).str.startswith("invalid_"), "count"].sum()
        out.append((a, f, d, "quarantined", _rate(quarantined, rows + quarantined)))
        out.append((a, f, d, "invalid identifiers", _rate(invalid, rows)))
    df = pd.DataFrame(out, columns=cols)
    df["extract_date"] = pd.to_datetime(df["extract_date"])
    return df


# --------------------------------------------------------------------------------------- linkage


def section(linkage: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one section of the run's linkage report, in rank order."""
    out = linkage[linkage["section"] == name]
    return out.sort_values(["rank", "item"], na_position="last").reset_index(drop=True)


def linkage_summary(linkage: pd.DataFrame) -> dict[str, float]:
    """The run's summary figures by name (counts, the threshold and the churn share)."""
    s = section(linkage, "summary")
    out: dict[str, float] = {}
    for r in s.itertuples(index=False):
        v = r.value if r.item in ("match_weight_threshold",) else r.count
        if r.item == "id_churn":
            out["id_churn_share"] = float(r.value)
            v = r.count
        out[str(r.item)] = float(v) if v is not None and not pd.isna(v) else math.nan
    return out


def match_weights(linkage: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Grain: one row per whole match weight: stored pairs, and whether the bin links."""
    s = section(linkage, "match_weight")
    return pd.DataFrame(
        {
            "weight": s["rank"].astype(int),
            "pairs": s["count"].astype(int),
            "links": (s["rank"].astype(float) >= threshold).map({True: "linked", False: "not linked"}),
        }
    )


def links_by_rule(linkage: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per blocking rule: links it found first, their share, pairs stored."""
    s = section(linkage, "links_by_rule")
    detail = s["detail"].map(lambda d: json.loads(d) if isinstance(d, str) else {})
    return pd.DataFrame(
        {
            "rule": s["item"].astype(str),
            "links": s["count"].astype(int),
            "share": s["value"].astype(float),
            "pairs_stored": detail.map(lambda d: int(d.get("pairs_stored", 0))),
        }
    )


def cluster_sizes(linkage: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per person size: people with that many records."""
    s = section(linkage, "cluster_sizes")
    return pd.DataFrame({"records": s["rank"].astype(int), "people": s["count"].astype(int)})


def largest_clusters(linkage: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per largest person, by rank: records, authorities, feeds, distinct dates of
    birth. Sizes only: the person id is not read (:mod:`accelerator.report.read`)."""
    s = section(linkage, "largest_clusters")
    detail = s["detail"].map(lambda d: json.loads(d) if isinstance(d, str) else {})
    return pd.DataFrame(
        {
            "rank": s["rank"].astype(int),
            "records": s["count"].astype(int),
            "authorities": s["value"].astype(int),
            "feeds": detail.map(lambda d: len(d.get("records_by_feed", {}))),
            "dates_of_birth": detail.map(lambda d: int(d.get("dates_of_birth", 0))),
        }
    )


def refused_merges(linkage: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per constraint that refused merges: edges refused."""
    s = section(linkage, "refused_merges")
    return pd.DataFrame({"constraint": s["item"].astype(str), "edges": s["count"].astype(int)})


def churn_over_runs(history: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (run, measure): person-id MERGE / SPLIT / NEW events and the earlier
    records whose person id changed."""
    cols = ["run_id", "measure", "count"]
    s = history[history["section"] == "id_churn"]
    if s.empty:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(
        {
            "run_id": s["run_id"].astype(str),
            "measure": s["item"].replace({"changed_existing_records": "earlier records changed"}),
            "count": s["count"].astype(int),
        }
    )
    return out.sort_values(["run_id", "measure"]).reset_index(drop=True)


@dataclass(frozen=True)
class Precision:
    """Precision of the links among reviewed pairs at or over the threshold, with its Wilson 95%
    interval; ``reviewed`` pairs in all, ``linked`` of them at or over the threshold."""

    reviewed: int
    linked: int
    correct: int
    estimate: float | None
    low: float | None
    high: float | None


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def precision(labels: pd.DataFrame, threshold: float) -> Precision:
    """From reviewers' decisions (``clerical_match_score`` ≥ 0.5: the same person) on stored pairs
    (``match_weight``): of the reviewed pairs the model links, the share that are the same person."""
    if labels.empty:
        return Precision(0, 0, 0, None, None, None)
    linked = labels[labels["match_weight"].astype(float) >= threshold]
    correct = int((linked["clerical_match_score"].astype(float) >= 0.5).sum())
    n = len(linked)
    if n == 0:
        return Precision(len(labels), 0, 0, None, None, None)
    lo, hi = wilson(correct, n)
    return Precision(len(labels), n, correct, correct / n, lo, hi)


# ------------------------------------------------------------------------------------------ gold


def gold_now(gold: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, measure): families, eligible families and each headline's
    families, with its prevalence (share of the authority's families)."""
    cols = ["authority", "as_of", "measure", "families", "prevalence"]
    if gold.empty:
        return pd.DataFrame(columns=cols)
    measures = [c for c in gold.columns if c not in ("authority", "as_of", "families")]
    long = gold.melt(id_vars=["authority", "as_of", "families"], value_vars=measures, var_name="measure")
    long["prevalence"] = [_rate(v, t) for v, t in zip(long["value"], long["families"], strict=True)]
    long = long.rename(columns={"families": "total", "value": "families"})
    totals = gold.assign(measure="families", prevalence=1.0)[["authority", "as_of", "measure", "families"]]
    totals["prevalence"] = 1.0
    out = pd.concat([totals, long[["authority", "as_of", "measure", "families", "prevalence"]]])
    return out.reset_index(drop=True)


def gold_trend(run_log: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Grain: one row per (authority, as_of, measure): prevalence over as_of, from the gold counts
    each run logged (``run_log``), and the current gold for the latest as_of. The last run of each
    as_of wins."""
    cols = ["authority", "as_of", "measure", "prevalence"]
    g = run_log[run_log["section"] == "gold"]
    frames = []
    if not g.empty:
        last = g.sort_values("run_id").groupby(["authority", "as_of", "item"], as_index=False).last()
        wide = last.pivot_table(index=["authority", "as_of"], columns="item", values="value").reset_index()
        frames.append(wide)
    if not gold.empty:
        frames.append(gold)
    if not frames:
        return pd.DataFrame(columns=cols)
    both = pd.concat(frames, ignore_index=True)
    both["as_of"] = pd.to_datetime(both["as_of"])
    both = both.drop_duplicates(["authority", "as_of"], keep="last")
    measures = [c for c in both.columns if c not in ("authority", "as_of", "families")]
    long = both.melt(id_vars=["authority", "as_of", "families"], value_vars=measures, var_name="measure")
    long["prevalence"] = [_rate(v, t) for v, t in zip(long["value"], long["families"], strict=True)]
    return long[cols].sort_values(cols[:3]).reset_index(drop=True)


def stage_timings(run_log: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """Grain: one row per stage of the run: its order and seconds."""
    s = run_log[(run_log["section"] == "stage") & (run_log["run_id"] == run_id)]
    return (
        pd.DataFrame(
            {
                "stage": s["item"].astype(str),
                "order": s["rank"].astype(int),
                "seconds": s["value"].astype(float),
            }
        )
        .sort_values("order")
        .reset_index(drop=True)
    )
