"""The linkage report written after every people run: its sections reconcile with the linkage
tables, its borderline sample is what it says, and each link's stored evidence explains its weight."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from accelerator.linkage import model as M
from accelerator.linkage import report as R
from accelerator.linkage.cluster import Clustering, Edge
from accelerator.linkage.ids import IdChange
from accelerator.synapse import explore
from conftest import BuiltLake

# ------------------------------------------------------------------------------- no Spark

MODEL = {
    "probability_two_random_records_match": 0.001,
    "blocking_rules_to_generate_predictions": [
        {"blocking_rule": "l.nhs = r.nhs", "sql_dialect": "duckdb"},
        {"blocking_rule": "l.dob = r.dob", "sql_dialect": "duckdb"},
    ],
    "comparisons": [
        {
            "output_column_name": "forename",
            "comparison_levels": [
                {"sql_condition": "forename_l IS NULL", "is_null_level": True, "label_for_charts": "null"},
                {
                    "sql_condition": "=",
                    "label_for_charts": "exact",
                    "m_probability": 0.8,
                    "u_probability": 0.01,
                },
                {
                    "sql_condition": "ELSE",
                    "label_for_charts": "else",
                    "m_probability": 0.2,
                    "u_probability": 0.99,
                },
            ],
        },
        {
            "output_column_name": "dob",
            "comparison_levels": [
                {
                    "sql_condition": "=",
                    "label_for_charts": "same",
                    "m_probability": 0.9,
                    "u_probability": 0.05,
                },
                {
                    "sql_condition": "ELSE",
                    "label_for_charts": "other",
                    "m_probability": 0.1,
                    "u_probability": 0.95,
                },
            ],
        },
    ],
}
EXACT, ELSE_F = math.log2(0.8 / 0.01), math.log2(0.2 / 0.99)
SAME, OTHER = math.log2(0.9 / 0.05), math.log2(0.1 / 0.95)


def _inputs(links: pd.DataFrame, *, run_id: str = "run-1") -> R.ReportInputs:
    records = pd.DataFrame(
        {
            "unique_id": [f"bury|police|{i}" for i in range(6)] + ["wigan|health_services|9"],
            "authority": ["bury"] * 6 + ["wigan"],
            "feed": ["police"] * 6 + ["health_services"],
            "dob": ["2010-01-01"] * 3 + ["2011-01-01"] * 3 + ["2010-01-02"],
        }
    )
    assignment = {u: "P1" if i in (0, 1, 2, 6) else f"P{i}" for i, u in enumerate(records["unique_id"])}
    refused = [(Edge("bury|police|3", "bury|police|4", 7.0), "different valid nhs")]
    return R.ReportInputs(
        run_id=run_id,
        model_version="person-model-1",
        model_json=json.dumps(MODEL),
        threshold=6.0,
        records=records,
        links=links,
        assignment=assignment,
        clustering=Clustering({}, refused),
        changes=[IdChange("MERGE", ("P7", "P1"), "P1", 4), IdChange("NEW", (), "P5", 1)],
        scored_records=7,
        new_pairs=len(links),
        changed_existing_records=1,
        previous_records=5,
    )


def _links(n: int = 40) -> pd.DataFrame:
    rows = []
    for i in range(n):  # weights spread across 2.0 .. 9.8, rule alternating
        w = 2.0 + i * 0.2
        rows.append(
            {
                "unique_id_l": f"bury|police|{i % 6}",
                "unique_id_r": f"x|{i}",
                "match_weight": w,
                "by_identifier": i % 10 == 0,
                "blocking_rule": MODEL["blocking_rules_to_generate_predictions"][i % 2]["blocking_rule"],  # type: ignore[index]
                "mw_forename": EXACT if i % 2 else ELSE_F,
                "mw_dob": SAME if i % 3 else OTHER,
                "mw_tf_forename": 0.5 if i % 2 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _section(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df[df["section"] == name]


def test_report_sections_reconcile_with_their_inputs() -> None:
    links = _links()
    out = R.build(_inputs(links), comparisons=("forename", "dob"), largest=2, band=1.0, sample=6)
    assert list(out.columns) == R.COLUMNS
    assert set(out["section"]) == set(R.SECTIONS)
    assert (out["run_id"] == "run-1").all()
    summary = _section(out, "summary").set_index("item")
    over = links["match_weight"] >= 6.0
    assert summary.loc["links", "count"] == over.sum()
    assert summary.loc["pairs_stored", "count"] == len(links)
    assert summary.loc["people", "count"] == 4
    assert summary.loc["id_churn", "value"] == pytest.approx(0.2)

    by_rule = _section(out, "links_by_rule")
    assert by_rule["count"].sum() == over.sum()
    assert by_rule["value"].sum() == pytest.approx(1.0)
    assert sorted(by_rule["rank"]) == [0, 1]
    assert sum(json.loads(d)["pairs_stored"] for d in by_rule["detail"]) == len(links)

    weights = _section(out, "match_weight")
    assert weights["count"].sum() == len(links)
    assert all(
        json.loads(d)["over_threshold"] == (r >= 6)
        for r, d in zip(weights["rank"], weights["detail"], strict=True)
    )

    sizes = _section(out, "cluster_sizes")
    assert dict(zip(sizes["rank"], sizes["count"], strict=True)) == {1: 3, 4: 1}
    assert (sizes["rank"] * sizes["count"]).sum() == 7  # every record in one person

    largest = _section(out, "largest_clusters")
    assert list(largest["person_id"]) == ["P1", "P3"]  # 4 records, then the smallest id of size 1
    first = largest.iloc[0]
    assert first["count"] == 4 and first["value"] == 2  # two authorities
    assert json.loads(first["detail"]) == {
        "records_by_feed": {"health_services": 1, "police": 3},
        "dates_of_birth": 2,
    }

    churn = _section(out, "id_churn").set_index("item")
    assert churn.loc["MERGE", "count"] == 1 and churn.loc["MERGE", "value"] == 4
    assert churn.loc["SPLIT", "count"] == 0
    refused = _section(out, "refused_merges")
    assert list(zip(refused["item"], refused["count"], strict=True)) == [("different valid nhs", 1)]


def test_borderline_pairs_are_a_balanced_sample_near_the_threshold_with_labelled_evidence() -> None:
    links = _links()
    out = R.build(_inputs(links), comparisons=("forename", "dob"), band=1.0, sample=6)
    pairs = _section(out, "borderline_pairs")
    assert len(pairs) == 6
    assert ((pairs["value"] - 6.0).abs() <= 1.0).all()
    details = [json.loads(d) for d in pairs["detail"]]
    assert sum(d["linked"] for d in details) == 3  # half at or over, half under
    assert list(pairs["value"]) == sorted(pairs["value"])
    by_pair = links.set_index(["unique_id_l", "unique_id_r"])
    for (a, b), d in zip(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True), details, strict=True):
        link = by_pair.loc[(a, b)]
        assert d["evidence"]["forename"]["level"] == ("exact" if link["mw_forename"] == EXACT else "else")
        assert d["evidence"]["dob"]["level"] == ("same" if link["mw_dob"] == SAME else "other")
        assert d["rule"] == link["blocking_rule"]
        assert d["linked"] == (link["match_weight"] >= 6.0)
    # No names, dates of birth or identifiers: only keys, labels and numbers.
    assert not out.astype(str).apply(lambda c: c.str.contains("2010-01")).any().any()
    # The same run samples the same pairs; another run another sample.
    again = _section(
        R.build(_inputs(links), comparisons=("forename", "dob"), band=1.0, sample=6), "borderline_pairs"
    )
    assert list(again["unique_id_r"]) == list(pairs["unique_id_r"])
    other = R.build(_inputs(links, run_id="run-2"), comparisons=("forename", "dob"), band=1.0, sample=6)
    assert set(_section(other, "borderline_pairs")["unique_id_r"]) != set(pairs["unique_id_r"])


def test_borderline_pairs_beyond_the_band_are_the_nearest_ones_when_the_band_is_empty() -> None:
    links = _links()
    links = links.assign(match_weight=links["match_weight"] + 20.0)  # every pair far over 6
    pairs = _section(
        R.build(_inputs(links), comparisons=("forename", "dob"), band=1.0, sample=4), "borderline_pairs"
    )
    nearest = sorted(links["match_weight"])[:4]
    assert list(pairs["value"]) == nearest
    assert all(json.loads(d)["linked"] for d in pairs["detail"])


def test_level_of_names_every_level_with_that_weight() -> None:
    levels = R.model_levels(json.dumps(MODEL))
    assert R.level_of(levels["forename"], 0.0) == "null"
    assert R.level_of(levels["forename"], EXACT) == "exact"
    assert R.level_of(levels["forename"], 1.234) == "?"
    ties = [R.Level("no identifier on both", 0.0), R.Level("else", 0.0)]
    assert R.level_of(ties, 0.0) == "no identifier on both or else"


# --------------------------------------------------------------------- the session lake


def _platform(built_lake: BuiltLake, table: str) -> pd.DataFrame:
    return DeltaTable(str(built_lake.lake / "silver" / "_platform" / table)).to_pandas()


def test_the_pipelines_report_reconciles_with_person_xref_and_person_links(
    spark: SparkSession, built_lake: BuiltLake
) -> None:
    report = _platform(built_lake, "linkage_report")
    xref, links = _platform(built_lake, "person_xref"), _platform(built_lake, "person_links")
    run = report["run_id"].max()
    mine = report[report["run_id"] == run]
    models = _platform(built_lake, "linkage_models").sort_values("trained_at")
    threshold = M.threshold_for(models["model_json"].iloc[-1], built_lake.settings.match_weight_threshold)
    summary = mine[mine["section"] == "summary"].set_index("item")
    assert summary.loc["match_weight_threshold", "value"] == threshold  # the model's own (0), not an override
    assert summary.loc["records", "count"] == len(xref)
    assert summary.loc["people", "count"] == xref["person_id"].nunique()
    assert summary.loc["pairs_stored", "count"] == len(links)
    n_links = int((links["match_weight"] >= threshold).sum())
    assert summary.loc["links", "count"] == n_links > 0
    assert mine[mine["section"] == "links_by_rule"]["count"].sum() == n_links
    assert mine[mine["section"] == "match_weight"]["count"].sum() == len(links)
    sizes = mine[mine["section"] == "cluster_sizes"]
    assert (sizes["rank"] * sizes["count"]).sum() == len(xref)
    largest = mine[mine["section"] == "largest_clusters"]
    biggest = xref.groupby("person_id").size().max()
    assert largest["count"].iloc[0] == biggest
    assert set(largest["person_id"]) <= set(xref["person_id"])

    # Every link keeps the rule that found it and its evidence, which adds up to its weight.
    rules = set(M.blocking_rules(_platform(built_lake, "linkage_models")["model_json"].iloc[-1]))
    assert set(links["blocking_rule"]) <= rules
    model = json.loads(_platform(built_lake, "linkage_models")["model_json"].iloc[-1])
    lam = model["probability_two_random_records_match"]
    evidence = links[[c for c in M.LINK_COLUMNS if c.startswith("mw_")]].sum(axis=1)
    explained = math.log2(lam / (1 - lam)) + evidence
    assert (explained - links["match_weight"]).abs().max() < 1e-6

    # The borderline sample: near the threshold, every comparison's level named, both sides known.
    pairs = mine[mine["section"] == "borderline_pairs"]
    assert len(pairs) == min(50, len(links)) > 0
    # Within 2 of the threshold by sample; beyond it, the nearest there are on that side.
    chosen = set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))
    for over in (True, False):
        mine_side = pairs[(pairs["value"] >= threshold) == over]
        rest = links[(links["match_weight"] >= threshold) == over]
        rest = rest[[p not in chosen for p in zip(rest["unique_id_l"], rest["unique_id_r"], strict=True)]]
        far = (mine_side["value"] - threshold).abs()
        if (far > 2.0).any():
            assert (far.max() <= (rest["match_weight"] - threshold).abs()).all()
    known = set(xref["authority"] + "|" + xref["feed"] + "|" + xref["record_key"])
    assert set(pairs["unique_id_l"]) | set(pairs["unique_id_r"]) <= known
    for d in pairs["detail"].map(json.loads):
        assert set(d["evidence"]) == set(M.COMPARISONS)
        assert all(e["level"] != "?" for e in d["evidence"].values()), d

    # What the notebook shows is that run's rows.
    shown = explore.linkage_report(spark, built_lake.settings)
    assert shown.run_id == run
    assert shown.links_by_rule.agg({"links": "sum"}).first()[0] == n_links  # type: ignore[index]
    assert shown.borderline_pairs.count() == len(pairs)
    assert shown.borderline_pairs.where("forename = '?' OR dob = '?'").count() == 0
    assert shown.largest_clusters.first().records == biggest  # type: ignore[union-attr]
    history = shown.history.collect()
    assert history[-1].records == len(xref) and history[-1].id_churn is not None
