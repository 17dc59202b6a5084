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


def _with_predicted(truth_records: pd.DataFrame, xref: pd.DataFrame, *, how: str = "inner") -> pd.DataFrame:
    """Truth records of a person, each with the person_id linkage gave it (``pred_person``)."""
    t = truth_records[truth_records["person_id"].notna() & (truth_records["person_id"] != "")]
    return t.merge(
        xref[["authority", "feed", "record_key", "person_id"]].rename(columns={"person_id": "pred_person"}),
        on=["authority", "feed", "record_key"],
        how=how,
    )


def _most(frame: pd.DataFrame, key: str, choice: str) -> pd.DataFrame:
    """Per ``key``, the ``choice`` seen most often (ties: the smallest)."""
    return (
        frame.groupby([key, choice])
        .size()
        .reset_index(name="n")
        .sort_values([key, "n", choice], ascending=[True, False, True])
        .drop_duplicates(key)
    )


def score_people(xref: pd.DataFrame, truth_records: pd.DataFrame) -> tuple[PairScore, int]:
    """(pairwise score, truth records missing from xref) for person-level records."""
    merged = _with_predicted(truth_records, xref, how="left")
    missing = int(merged["pred_person"].isna().sum())
    merged = merged.dropna(subset=["pred_person"])
    return pairwise(merged, predicted="pred_person", truth="person_id"), missing


def score_families(
    family_member: pd.DataFrame, xref: pd.DataFrame, truth_records: pd.DataFrame, truth_families: pd.DataFrame
) -> PairScore:
    """Families scored over true people: each true person takes the predicted family of the
    predicted person holding most of their records."""
    best = _most(_with_predicted(truth_records, xref), "person_id", "pred_person")
    fam = family_member[["person_id", "family_id"]].rename(
        columns={"person_id": "pred_person", "family_id": "pred_family"}
    )
    best = best.merge(fam, on="pred_person", how="left")
    both = truth_families[["person_id", "family_id"]].merge(
        best[["person_id", "pred_family"]], on="person_id", how="left"
    )
    both["pred_family"] = both["pred_family"].fillna("missing:" + both["person_id"])
    return pairwise(both, predicted="pred_family", truth="family_id")


@dataclass(frozen=True)
class FlagScore:
    accuracy: float
    precision: float
    recall: float
    f1: float
    positives: int


def flag_score(pred: pd.Series, truth: pd.Series) -> FlagScore:
    p, t = pred.astype(bool), truth.astype(bool)
    tp = int((p & t).sum())
    fp = int((p & ~t).sum())
    fn = int((~p & t).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return FlagScore(float((p == t).mean()) if len(p) else 1.0, precision, recall, f1, int(t.sum()))


def score_gold(
    gold_family: pd.DataFrame,
    gold_members: pd.DataFrame,
    xref: pd.DataFrame,
    truth_records: pd.DataFrame,
    truth_families: pd.DataFrame,
    truth_headlines: pd.DataFrame,
) -> dict[str, FlagScore]:
    """Per true family: the gold family holding most of its members (by their records), its
    flags against the true flags; one score per headline and for eligibility."""
    m = _with_predicted(truth_records, xref)
    m = m.merge(
        gold_members[["person_id", "family_id"]].rename(
            columns={"person_id": "pred_person", "family_id": "pred_family"}
        ),
        on="pred_person",
    )
    m = m.merge(truth_families[["person_id", "family_id"]], on="person_id")
    best = _most(m, "family_id", "pred_family")
    flags = [c for c in truth_headlines.columns if c.startswith("h") and c[1:3].isdigit()] + ["eligible"]
    truth = truth_headlines[["family_id", *flags]].copy()
    for c in flags:
        truth[c] = truth[c].astype(str).str.lower().isin(["true", "1"])
    pred = gold_family[["family_id", *flags]].rename(columns={"family_id": "pred_family"})
    joined = truth.merge(best[["family_id", "pred_family"]], on="family_id", how="left").merge(
        pred, on="pred_family", how="left", suffixes=("", "_pred")
    )
    return {c: flag_score(joined[f"{c}_pred"].fillna(False), joined[c]) for c in flags}


def score_eligible(
    record_flags: pd.DataFrame,
    xref: pd.DataFrame,
    family_member: pd.DataFrame,
    truth_records: pd.DataFrame,
    truth_families: pd.DataFrame,
    truth_headlines: pd.DataFrame,
) -> FlagScore:
    """Eligibility (outcomes.md: three or more headlines and a dependent child or an expectant
    parent) of the families linkage made, against the true families' eligibility.

    ``record_flags`` holds one row per accepted record: authority, feed, record_key, ``flags`` (the
    set of headline numbers the record sets under outcomes.md's rules on its true values), ``child``
    (its true person is under 18 at as_of) and ``expectant`` (an open MATERNITY referral). A
    predicted family has the union of its records' flags, so this measures what linkage alone does
    to eligibility (gold's rules are not run). As in :func:`score_gold`, each true family is
    compared with the predicted family holding most of its members' records."""
    m = _with_predicted(truth_records, xref).merge(
        record_flags, on=["authority", "feed", "record_key"], how="left"
    )
    fam = family_member[["person_id", "family_id"]].rename(
        columns={"person_id": "pred_person", "family_id": "pred_family"}
    )
    m = m.merge(fam, on="pred_person")
    pred: dict[str, tuple[set[int], bool]] = {}
    for pf, flags, child, exp in m[["pred_family", "flags", "child", "expectant"]].itertuples(index=False):
        s, c = pred.setdefault(pf, (set(), False))
        if isinstance(flags, (set, frozenset)):
            s |= flags
        pred[pf] = (s, c or bool(child) or bool(exp))
    eligible = {pf: len(s) >= 3 and c for pf, (s, c) in pred.items()}
    m = m.merge(truth_families[["person_id", "family_id"]], on="person_id")
    best = _most(m, "family_id", "pred_family")
    truth = truth_headlines[["family_id", "eligible"]].copy()
    truth["eligible"] = truth["eligible"].astype(str).str.lower().isin(["true", "1"])
    joined = truth.merge(best[["family_id", "pred_family"]], on="family_id", how="left")
    predicted = joined["pred_family"].map(eligible).fillna(False).astype(bool)
    return flag_score(predicted, joined["eligible"])
