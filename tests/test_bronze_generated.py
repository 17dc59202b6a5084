"""Bronze on generated deliveries (the session's built lake) against the generator's truth.

Every delivery folder of the loaded authorities is logged with the status and row counts the
truth expects; for every LOADED delivery, rows in files = rows loaded + rows quarantined, and
bronze and quarantine hold exactly that many rows; quarantined rows are the lines the truth
says, with its reason code.
"""

from __future__ import annotations

import pandas as pd
from deltalake import DeltaTable

from conftest import BuiltLake


def _tail(path: str) -> str:
    """``<authority>/<feed>/<folder>`` of a delivery path or URL."""
    return "/".join(str(path).rstrip("/").split("/")[-3:])


def _truth(built_lake: BuiltLake, name: str) -> pd.DataFrame:
    t = pd.read_csv(built_lake.truth / name, dtype=str, keep_default_na=False)
    t["tail"] = t["delivery_path"].map(_tail)
    return t[t["tail"].str.split("/").str[0].isin(built_lake.authorities)]


def test_every_delivery_is_logged_as_the_truth_expects(built_lake: BuiltLake) -> None:
    log = DeltaTable(str(built_lake.lake / "bronze" / "_platform" / "delivery_log")).to_pandas()
    log["tail"] = log["delivery_path"].map(_tail)
    assert not log.duplicated("tail").any(), "one run logs each folder once"
    want = _truth(built_lake, "deliveries.csv").set_index("tail")
    got = log.set_index("tail")
    assert set(got.index) == set(want.index)
    assert (got.loc[want.index, "status"] == want["expected_status"]).all()
    loaded = want[want["expected_status"] == "LOADED"].index
    for col in ("rows_in_files", "rows_loaded", "rows_quarantined"):
        assert (got.loc[loaded, col].astype(int) == want.loc[loaded, f"expected_{col}"].astype(int)).all(), (
            col
        )
    assert len(loaded) > 100


def test_bronze_and_quarantine_reconcile_with_the_log_per_delivery(built_lake: BuiltLake) -> None:
    lake = built_lake.lake
    log = DeltaTable(str(lake / "bronze" / "_platform" / "delivery_log")).to_pandas()
    loaded = log[log["status"] == "LOADED"]
    assert (loaded["rows_in_files"] == loaded["rows_loaded"] + loaded["rows_quarantined"]).all()
    bronze_counts: dict[str, int] = {}
    for table in (lake / "bronze").glob("*/*/_delta_log"):
        if table.parent.name.startswith("_") or table.parent.parent.name.startswith("_"):
            continue
        rows = DeltaTable(str(table.parent)).to_pandas(columns=["_delivery"])
        for path, n in rows["_delivery"].value_counts().items():
            bronze_counts[str(path)] = int(n)
    quarantine = pd.concat(
        [DeltaTable(str(lake / "bronze" / a / "_quarantine")).to_pandas() for a in built_lake.authorities]
    )
    q_counts = quarantine["delivery_path"].value_counts()
    for r in loaded.itertuples():
        assert bronze_counts.get(r.delivery_path, 0) == r.rows_loaded, r.delivery_path
        assert int(q_counts.get(r.delivery_path, 0)) == r.rows_quarantined, r.delivery_path
    assert set(bronze_counts) <= set(loaded["delivery_path"])


def test_quarantined_rows_are_the_lines_the_truth_names_with_its_reasons(built_lake: BuiltLake) -> None:
    quarantine = pd.concat(
        [
            DeltaTable(str(built_lake.lake / "bronze" / a / "_quarantine")).to_pandas()
            for a in built_lake.authorities
        ]
    )
    got = {
        (_tail(r.delivery_path), r.source_file, int(r.line_number), r.reason_code)
        for r in quarantine.itertuples()
    }
    want = {
        (r.tail, r.source_file, int(r.line_number), r.expected_reason)
        for r in _truth(built_lake, "quarantine.csv").itertuples()
    }
    assert got == want
    assert quarantine["raw_line"].notna().all()
