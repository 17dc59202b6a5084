"""The people stage's transforms (linkage/people.py) on small inline data: which links are kept,
which records are scored again, which pairs become edges."""

from __future__ import annotations

import pandas as pd
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from accelerator.linkage import model as M
from accelerator.linkage.people import all_links, changed_records, edges


def _links(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_weight", "by_identifier"])
    for c in M.LINK_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[list(M.LINK_COLUMNS)]


def test_all_links_keeps_stored_pairs_of_unchanged_present_records_and_adds_the_new_scores() -> None:
    stored = _links([("a", "b", 9.0, False), ("a", "c", 7.0, False), ("b", "gone", 8.0, False)])
    scored = _links([("c", "d", 12.0, True), ("a", "c", 3.0, False)])
    got = all_links(stored, scored, current={"a", "b", "c", "d"}, rescored={"c", "d"})
    pairs = sorted(zip(got["unique_id_l"], got["unique_id_r"], got["match_weight"], strict=True))
    # a-b kept; a-c rescored (c changed), so its new weight wins; b-gone dropped (record gone).
    assert pairs == [("a", "b", 9.0), ("a", "c", 3.0), ("c", "d", 12.0)]


def test_edges_are_the_pairs_at_or_over_the_threshold() -> None:
    links = _links([("a", "b", 6.0, False), ("a", "c", 5.999, False), ("c", "d", -3.0, True)])
    assert [(e.a, e.b) for e in edges(links, 6.0)] == [("a", "b")]


def test_changed_records_are_the_new_ones_and_those_whose_signature_moved(spark: SparkSession) -> None:
    sigs = spark.createDataFrame(
        [("bury|housing|k1", "s1"), ("bury|housing|k2", "s2-new"), ("bury|housing|k3", "s3")],
        "unique_id string, signature string",
    )
    old = spark.createDataFrame(
        [("bury", "housing", "k1", "s1"), ("bury", "housing", "k2", "s2")],
        "authority string, feed string, record_key string, signature string",
    )
    got = changed_records(sigs, old)
    want = spark.createDataFrame([("bury|housing|k2",), ("bury|housing|k3",)], "unique_id string")
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)
    assert changed_records(sigs, None).count() == 3  # no registry yet: every record
