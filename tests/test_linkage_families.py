"""Family grouping and each family's authority, on hand-made person facts (no Spark)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from accelerator.linkage.families import family_authorities, group_families

COLUMNS = [
    "person_id",
    "uprn",
    "line_key",
    "address_authority",
    "address_date",
    "address_extract",
    "address_seq",
    "record_authority",
    "record_date",
]


def _facts(*rows: tuple[object, ...]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def test_families_join_by_uprn_line_and_household_case_transitively() -> None:
    d = date(2026, 1, 1)
    facts = _facts(
        ("P1", "100", "1 A ST|M1 1AA", "bolton", d, d, 1, "bolton", d),
        ("P2", None, "1 A ST|M1 1AA", "bolton", d, d, 1, "bolton", d),  # same line, no UPRN
        ("P3", "200", None, "wigan", d, d, 1, "wigan", d),
        ("P4", None, None, None, None, None, None, "wigan", d),  # no address, on P3's housing case
        ("P5", "300", None, "bury", d, d, 1, "bury", d),
    )
    groups = pd.DataFrame({"grp": ["H1", "H1"], "person_id": ["P3", "P4"]})
    assert group_families(facts, groups) == {"P1": ["P1", "P2"], "P3": ["P3", "P4"], "P5": ["P5"]}


def test_a_familys_authority_is_where_its_most_recent_address_is_held() -> None:
    early, late = date(2025, 6, 1), date(2026, 3, 1)
    facts = _facts(
        # Family A: the newer address wins over the older one.
        ("A1", "1", None, "bolton", early, early, 1, "bolton", early),
        ("A2", "2", None, "wigan", late, late, 1, "wigan", late),
        # Family B: same address date; the later delivery, then the later folder, wins.
        ("B1", "3", None, "bury", late, early, 1, "bury", late),
        ("B2", "4", None, "oldham", late, late, 1, "oldham", late),
        ("C1", "5", None, "rochdale", late, late, 1, "rochdale", late),
        ("C2", "6", None, "salford", late, late, 2, "salford", late),
        # Family D: all keys equal: the authority code, highest first.
        ("D1", "7", None, "stockport", late, late, 1, "stockport", late),
        ("D2", "8", None, "tameside", late, late, 1, "tameside", late),
        # Family E: no address at all: the members' latest record.
        ("E1", None, None, None, None, None, None, "trafford", early),
        ("E2", None, None, None, None, None, None, "manchester", late),
        # Family F: an address beats a later record without one.
        ("F1", "9", None, "bolton", early, early, 1, "bolton", early),
        ("F2", None, None, None, None, None, None, "wigan", late),
    )
    clusters = {
        "A1": ["A1", "A2"],
        "B1": ["B1", "B2"],
        "C1": ["C1", "C2"],
        "D1": ["D1", "D2"],
        "E1": ["E1", "E2"],
        "F1": ["F1", "F2"],
    }
    assert family_authorities(facts, clusters) == {
        "A1": "wigan",
        "B1": "oldham",
        "C1": "salford",
        "D1": "tameside",
        "E1": "manchester",
        "F1": "bolton",
    }
