"""The linkage report: written after every people run to ``silver/_platform/linkage_report``.

One long table, appended per run (a run's rows share its ``run_id``), so that a Power BI page or a
notebook filters by run and section and charts the trend over runs. Sections and what their
columns hold:

==================  ============================  =========================================================
section             item / rank                   count, value, detail
==================  ============================  =========================================================
summary             a figure's name               count (records, pairs, people, ...) or value (churn,
                                                  threshold); detail: the model version
links_by_rule       the blocking rule; rank: its  count: links at or over the threshold first found by the
                    order in the model            rule; value: their share of all links; detail: pairs
                                                  stored and how many share a valid identifier
match_weight        ``[w, w+1)``; rank: w         count: stored pairs in the bin; value: w; detail: whether
                                                  the bin is over the threshold, pairs by identifier
cluster_sizes       records per person; rank too  count: people with that many records
largest_clusters    rank 1..N; ``person_id``      count: records; value: authorities; detail: records per
                                                  feed, distinct dates of birth (counts, never names)
id_churn            MERGE / SPLIT / NEW, and      count: events (records for ``changed_existing_records``);
                    ``changed_existing_records``  value: records involved, or the churn share
refused_merges      the constraint that refused   count: edges refused, by reason
borderline_pairs    rank 1..N; ``unique_id_l``,   value: match weight; detail: linked or not, same person or
                    ``unique_id_r``               not, the rule, and each comparison's level and weight
==================  ============================  =========================================================

Borderline pairs are a sample for clerical review: pairs within ``band`` of the threshold, half
from below it and half from at or above it, chosen by a hash of the run and the pair (the same
run gives the same sample; the next run gives another). A side with too few pairs in the band is
topped up with its nearest pairs beyond it, so a clean population still shows its closest calls.
Their evidence names each comparison's level as the model labels it, from its match weight.

The report holds no names, dates of birth or identifiers. Record-level rows carry the linkage
keys (``unique_id_l`` / ``unique_id_r``, ``person_id``) in their own columns, so erasure and
retention find and remove them like any other linkage row.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from accelerator.linkage.cluster import Clustering
from accelerator.linkage.ids import IdChange
from accelerator.linkage.model import blocking_rules

SCHEMA = (
    "run_id string, section string, rank int, item string, count long, value double, detail string, "
    "person_id string, unique_id_l string, unique_id_r string"
)
COLUMNS = [c.split()[0] for c in SCHEMA.split(", ")]
SUMMARY_ITEMS = (
    "records",
    "records_scored",
    "pairs_scored",
    "pairs_stored",
    "links",
    "links_by_identifier",
    "people",
    "refused_merges",
)
SECTIONS = (
    "summary",
    "links_by_rule",
    "match_weight",
    "cluster_sizes",
    "largest_clusters",
    "id_churn",
    "refused_merges",
    "borderline_pairs",
)


@dataclass(frozen=True)
class Level:
    label: str
    weight: float  # log2(m / u); 0 for a null level; NaN when the model does not say


def model_levels(model_json: str) -> dict[str, list[Level]]:
    """Each comparison's levels with their match weight, from a trained model's JSON."""
    model = json.loads(model_json)
    out: dict[str, list[Level]] = {}
    for comp in model["comparisons"]:
        levels = []
        for lvl in comp["comparison_levels"]:
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if lvl.get("is_null_level"):
                w = 0.0
            elif isinstance(m, int | float) and isinstance(u, int | float) and m > 0 and u > 0:
                w = math.log2(m / u)
            else:  # a model saved without its effective probabilities: the level cannot be named
                w = math.nan
            levels.append(Level(lvl.get("label_for_charts") or lvl["sql_condition"], w))
        out[comp["output_column_name"]] = levels
    return out


def level_of(levels: Sequence[Level], weight: float | None) -> str:
    """The level(s) of a comparison whose weight is ``weight`` ("?" when none is: not expected)."""
    if weight is None or (isinstance(weight, float) and math.isnan(weight)):
        return "?"
    names = [lv.label for lv in levels if abs(lv.weight - weight) < 1e-6]
    return " or ".join(names) if names else "?"


def _pair_hash(run_id: str, a: str, b: str) -> str:
    return hashlib.sha256(f"{run_id}\u001f{a}\u001f{b}".encode()).hexdigest()


@dataclass
class ReportInputs:
    run_id: str
    model_version: str
    model_json: str
    threshold: float
    records: pd.DataFrame  # unique_id, authority, feed, dob
    links: pd.DataFrame  # unique_id_l, unique_id_r, match_weight, by_identifier, blocking_rule, mw_*
    assignment: Mapping[str, str]  # unique_id -> person_id
    clustering: Clustering
    changes: Sequence[IdChange]
    scored_records: int
    new_pairs: int
    changed_existing_records: int
    previous_records: int


Row = dict[str, Any]


def _row(
    section: str,
    item: str,
    *,
    rank: int | None = None,
    count: int | None = None,
    value: float | None = None,
    detail: Any = None,
    **keys: str,
) -> Row:
    """One report row (without its run id): ``detail`` as sorted JSON, record keys by name."""
    return {
        "section": section,
        "rank": rank,
        "item": item,
        "count": count,
        "value": value,
        "detail": json.dumps(detail, sort_keys=True) if detail is not None else None,
        **keys,
    }


def build(
    x: ReportInputs,
    *,
    comparisons: Sequence[str],
    largest: int = 10,
    band: float = 2.0,
    sample: int = 50,
) -> pd.DataFrame:
    """The report rows of one run (pandas, columns :data:`COLUMNS`), section by section in
    :data:`SECTIONS` order."""
    rows = [
        *summary_rows(x),
        *links_by_rule_rows(x),
        *match_weight_rows(x),
        *cluster_size_rows(x),
        *largest_cluster_rows(x, largest),
        *churn_rows(x),
        *refused_rows(x),
        *borderline_rows(x, comparisons, band=band, sample=sample),
    ]
    out = pd.DataFrame([{"run_id": x.run_id, **r} for r in rows], columns=COLUMNS)
    return out.astype({"rank": "Int32", "count": "Int64", "value": "float64"})


def _churn(x: ReportInputs) -> float:
    return x.changed_existing_records / x.previous_records if x.previous_records else 0.0


def summary_rows(x: ReportInputs) -> list[Row]:
    links = x.links
    over = links["match_weight"] >= x.threshold
    figures = (
        len(x.records),
        x.scored_records,
        x.new_pairs,
        len(links),
        int(over.sum()),
        int((over & links["by_identifier"].astype(bool)).sum()),
        len(set(x.assignment.values())),
        len(x.clustering.refused),
    )
    return [
        *(
            _row("summary", name, count=n, detail={"model_version": x.model_version})
            for name, n in zip(SUMMARY_ITEMS, figures, strict=True)
        ),
        _row("summary", "match_weight_threshold", value=x.threshold),
        _row("summary", "id_churn", count=x.changed_existing_records, value=_churn(x)),
    ]


def links_by_rule_rows(x: ReportInputs) -> list[Row]:
    """Links by the rule Splink first generated the pair with (a pair blocked by several rules
    counts under the first)."""
    links = x.links
    rules = links["blocking_rule"].fillna("(stored before rules were kept)")
    order = {r: i for i, r in enumerate(blocking_rules(x.model_json))}
    total_links = int((links["match_weight"] >= x.threshold).sum())
    out = []
    for rule, grp in links.groupby(rules, sort=False):
        n_links = int((grp["match_weight"] >= x.threshold).sum())
        out.append(
            _row(
                "links_by_rule",
                str(rule),
                rank=order.get(str(rule)),
                count=n_links,
                value=n_links / total_links if total_links else 0.0,
                detail={"pairs_stored": len(grp), "by_identifier": _true(grp["by_identifier"])},
            )
        )
    return out


def match_weight_rows(x: ReportInputs) -> list[Row]:
    bins = x.links["match_weight"].astype(float).map(math.floor)
    return [
        _row(
            "match_weight",
            f"[{int(w)}, {int(w) + 1})",
            rank=int(w),
            count=len(grp),
            value=float(int(w)),
            detail={"over_threshold": int(w) >= x.threshold, "by_identifier": _true(grp["by_identifier"])},
        )
        for w, grp in x.links.groupby(bins)
    ]


def cluster_size_rows(x: ReportInputs) -> list[Row]:
    sizes = Counter(Counter(x.assignment.values()).values())
    return [_row("cluster_sizes", str(size), rank=size, count=n) for size, n in sorted(sizes.items())]


def largest_cluster_rows(x: ReportInputs, largest: int) -> list[Row]:
    recs = x.records.assign(person_id=x.records["unique_id"].map(x.assignment))
    by_person = recs.groupby("person_id")
    top = (
        by_person.size()
        .reset_index(name="n")
        .sort_values(["n", "person_id"], ascending=[False, True])
        .head(largest)
    )
    out = []
    for rank, (pid, n) in enumerate(top.itertuples(index=False), start=1):
        grp = by_person.get_group(pid)
        out.append(
            _row(
                "largest_clusters",
                f"#{rank}",
                rank=rank,
                count=int(n),
                value=float(grp["authority"].nunique()),
                detail={
                    "records_by_feed": {str(k): int(v) for k, v in _counts(grp["feed"])},
                    "dates_of_birth": int(grp["dob"].nunique()),
                },
                person_id=str(pid),
            )
        )
    return out


def churn_rows(x: ReportInputs) -> list[Row]:
    events = Counter(c.change for c in x.changes)
    involved: Counter[str] = Counter()
    for c in x.changes:
        involved[c.change] += c.records
    return [
        *(
            _row("id_churn", change, count=events.get(change, 0), value=float(involved.get(change, 0)))
            for change in ("MERGE", "SPLIT", "NEW")
        ),
        _row("id_churn", "changed_existing_records", count=x.changed_existing_records, value=_churn(x)),
    ]


def refused_rows(x: ReportInputs) -> list[Row]:
    refused = Counter(r for _, r in x.clustering.refused)
    return [_row("refused_merges", reason, count=n) for reason, n in sorted(refused.items())]


def borderline_rows(x: ReportInputs, comparisons: Sequence[str], *, band: float, sample: int) -> list[Row]:
    """A sample of pairs near the threshold for clerical review, with each comparison's level."""
    if not len(x.links) or sample <= 0:
        return []
    levels = model_levels(x.model_json)
    picked = _borderline(x.links, x.run_id, x.threshold, band=band, sample=sample)
    out = []
    for rank, r in enumerate(picked.to_dict("records"), start=1):
        pl, pr = x.assignment.get(r["unique_id_l"]), x.assignment.get(r["unique_id_r"])
        evidence = {
            comp: {
                "level": level_of(levels.get(comp, []), _num(r.get(f"mw_{comp}"))),
                "weight": _round(r.get(f"mw_{comp}")),
            }
            for comp in comparisons
        }
        for col in ("forename", "surname"):
            adj = _num(r.get(f"mw_tf_{col}"))
            if adj:
                evidence[col]["term_frequency_adjustment"] = round(adj, 3)
        out.append(
            _row(
                "borderline_pairs",
                f"#{rank}",
                rank=rank,
                value=float(r["match_weight"]),
                detail={
                    "linked": bool(r["match_weight"] >= x.threshold),
                    "same_person": pl is not None and pl == pr,
                    "rule": r.get("blocking_rule"),
                    "by_identifier": bool(r["by_identifier"]),
                    "evidence": evidence,
                },
                unique_id_l=str(r["unique_id_l"]),
                unique_id_r=str(r["unique_id_r"]),
            )
        )
    return out


def _borderline(
    links: pd.DataFrame, run_id: str, threshold: float, *, band: float, sample: int
) -> pd.DataFrame:
    """Up to ``sample`` stored pairs for review, half under the threshold and the rest at or over
    it. On each side: a sample by hash of the pairs within ``band`` of the threshold, topped up with
    the nearest pairs beyond the band when the band holds too few (a clean population may have no
    pair within 2 of the threshold: the reviewer then sees the closest calls there are)."""
    pairs = zip(links["unique_id_l"], links["unique_id_r"], strict=True)
    scored = links.assign(
        _h=[_pair_hash(run_id, a, b) for a, b in pairs], _d=(links["match_weight"] - threshold).abs()
    )

    def side(frame: pd.DataFrame, n: int) -> pd.DataFrame:
        inside = frame[frame["_d"] <= band].sort_values("_h")
        beyond = frame[frame["_d"] > band].sort_values(["_d", "_h"], kind="mergesort")
        return pd.concat([inside, beyond]).head(n)

    below = side(scored[scored["match_weight"] < threshold], sample // 2)
    above = side(scored[scored["match_weight"] >= threshold], sample - len(below))
    return pd.concat([below, above]).sort_values("match_weight", kind="mergesort")


def _true(flags: pd.Series) -> int:
    return int(flags.astype(bool).sum())


def _counts(values: pd.Series) -> Any:
    return values.value_counts().sort_index().items()


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _round(v: Any) -> float | None:
    f = _num(v)
    return None if f is None else round(f, 3)
