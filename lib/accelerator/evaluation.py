"""Scoring outputs against the generator's truth: pairwise precision, recall and F1.

Pairwise scores count pairs of records (people) or pairs of people (families) placed together:
true positives are pairs together in both the prediction and the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PairScore:
    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int

    def as_dict(self) -> dict[str, float | int]:
        return self.__dict__.copy()


def _pairs(sizes: pd.Series) -> int:
    n = sizes.astype("int64")
    return int((n * (n - 1) // 2).sum())


def pairwise(frame: pd.DataFrame, *, predicted: str, truth: str) -> PairScore:
    """Pairwise scores of two clusterings of the same items (one row per item)."""
    pred = _pairs(frame.groupby(predicted).size())
    true = _pairs(frame.groupby(truth).size())
    tp = _pairs(frame.groupby([predicted, truth]).size())
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScore(precision, recall, f1, pred, true, tp)


def score_people(xref: pd.DataFrame, truth_records: pd.DataFrame) -> tuple[PairScore, int]:
    """(pairwise score, truth records missing from xref) for person-level records."""
    t = truth_records[truth_records["person_id"].notna() & (truth_records["person_id"] != "")]
    merged = t.merge(
        xref[["authority", "feed", "record_key", "person_id"]].rename(columns={"person_id": "predicted"}),
        on=["authority", "feed", "record_key"],
        how="left",
    )
    missing = int(merged["predicted"].isna().sum())
    merged = merged.dropna(subset=["predicted"])
    return pairwise(merged, predicted="predicted", truth="person_id"), missing


def score_families(
    family_member: pd.DataFrame, xref: pd.DataFrame, truth_records: pd.DataFrame, truth_families: pd.DataFrame
) -> PairScore:
    """Families scored over true people: each true person takes the predicted family of the
    predicted person holding most of their records."""
    t = truth_records[truth_records["person_id"].notna() & (truth_records["person_id"] != "")]
    m = t.merge(
        xref[["authority", "feed", "record_key", "person_id"]].rename(columns={"person_id": "pred_person"}),
        on=["authority", "feed", "record_key"],
    )
    best = (
        m.groupby(["person_id", "pred_person"])
        .size()
        .reset_index(name="n")
        .sort_values(["person_id", "n", "pred_person"], ascending=[True, False, True])
        .drop_duplicates("person_id")
    )
    fam = family_member[["person_id", "family_id"]].rename(
        columns={"person_id": "pred_person", "family_id": "pred_family"}
    )
    best = best.merge(fam, on="pred_person", how="left")
    both = truth_families[["person_id", "family_id"]].merge(
        best[["person_id", "pred_family"]], on="person_id", how="left"
    )
    both["pred_family"] = both["pred_family"].fillna("missing:" + both["person_id"])
    return pairwise(both, predicted="pred_family", truth="family_id")
