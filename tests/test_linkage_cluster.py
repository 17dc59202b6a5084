from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from accelerator.linkage.cluster import (
    STAY_MARGIN_DAYS,
    Edge,
    GiantClusterError,
    Node,
    Place,
    cluster,
    dobs_compatible,
    record_nodes,
)
from accelerator.linkage.ids import carry_forward


def test_cluster_merges_chained_pairs() -> None:
    nodes = [Node("a"), Node("b"), Node("c"), Node("d")]
    got = cluster(nodes, [Edge("a", "b", 10), Edge("b", "c", 9)]).clusters()
    assert sorted(got.values()) == [["a", "b", "c"], ["d"]]


def test_cluster_never_puts_two_valid_nhs_numbers_in_one_person() -> None:
    # Twins: each matches an unidentified record strongly; the twins must stay apart.
    nodes = [Node("t1", {"nhs": "1"}), Node("t2", {"nhs": "2"}), Node("x")]
    result = cluster(nodes, [Edge("t1", "x", 12), Edge("t2", "x", 11)])
    assert sorted(result.clusters().values()) == [["t1", "x"], ["t2"]]
    assert result.refused[0][1] == "different valid nhs"


def test_cluster_refuses_two_members_of_one_roster() -> None:
    nodes = [
        Node("m1", roster=("housing:C1:2026-01-01", "1")),
        Node("m2", roster=("housing:C1:2026-01-01", "2")),
    ]
    assert len(cluster(nodes, [Edge("m1", "m2", 20)]).clusters()) == 2


def test_cluster_refuses_incompatible_dobs_unless_an_identifier_links_them() -> None:
    nodes = [
        Node("a", dob=date(2010, 1, 1)),
        Node("b", dob=date(2012, 5, 5)),
        Node("c", dob=date(2012, 5, 5)),
    ]
    result = cluster(nodes, [Edge("a", "b", 15), Edge("a", "c", 14, by_identifier=True)])
    assert sorted(result.clusters().values()) == [["a", "c"], ["b"]]


def test_cluster_result_does_not_depend_on_edge_order() -> None:
    nodes = [Node("a", {"nhs": "1"}), Node("b", {"nhs": "2"}), Node("c")]
    edges = [Edge("a", "c", 10), Edge("b", "c", 10)]
    assert cluster(nodes, edges).cluster_of == cluster(nodes, edges[::-1]).cluster_of


def test_cluster_fails_loudly_on_a_giant_cluster() -> None:
    nodes = [Node(str(i)) for i in range(5)]
    with pytest.raises(GiantClusterError):
        cluster(nodes, [Edge(str(i), str(i + 1), 10) for i in range(4)], max_size=3)


@pytest.mark.parametrize(
    ("x", "y", "ok"),
    [
        (date(2010, 3, 4), date(2010, 3, 4), True),
        (date(2010, 3, 4), date(2010, 3, 5), True),
        (date(2010, 3, 4), date(2010, 4, 3), True),
        (date(2010, 3, 4), date(2011, 3, 4), False),
        (date(2010, 3, 4), date(2010, 3, 7), False),
    ],
)
def test_dobs_compatible(x: date, y: date, ok: bool) -> None:
    assert dobs_compatible(x, y) is ok


def test_carry_forward_keeps_ids_and_logs_merge_and_split() -> None:
    previous = {"r1": "P1", "r2": "P1", "r3": "P2", "r4": "P3", "r5": "P3", "r6": "P3"}
    clusters = {"r1": ["r1", "r2", "r3"], "r4": ["r4", "r5"], "r6": ["r6"], "r7": ["r7"]}
    assign, retired, changes = carry_forward(clusters, previous, prefix="P")
    assert [assign[k] for k in ("r1", "r2", "r3", "r4", "r5")] == ["P1", "P1", "P1", "P3", "P3"]
    assert assign["r6"] not in {"P1", "P2", "P3"} and assign["r7"] not in {"P1", "P2", "P3", assign["r6"]}
    assert retired == {"P2": "P1"}
    assert any(c.change == "MERGE" and c.old_ids == ("P2",) and c.new_id == "P1" for c in changes)
    assert any(c.change == "SPLIT" and c.old_ids == ("P3",) and c.new_id == assign["r6"] for c in changes)
    assert any(c.change == "NEW" and c.new_id == assign["r7"] for c in changes)


def test_carry_forward_is_stable_when_nothing_changes() -> None:
    previous = {"r1": "P1", "r2": "P1", "r3": "P2"}
    assign, retired, changes = carry_forward({"r1": ["r1", "r2"], "r3": ["r3"]}, previous, prefix="P")
    assert (assign, retired, changes) == (previous, {}, [])


def test_record_nodes_carry_identifiers_dates_of_birth_and_household_rosters() -> None:
    key = "C1|2026-01-01|2"
    nan = float("nan")

    def row(feed: str, key: str, ids: tuple[Any, ...], dob: Any, place: tuple[Any, ...]) -> tuple[Any, ...]:
        """NODE_COLUMNS: the key and its parts, nhs, upn, nino, dob, event day, postcode, line, UPRN."""
        return (f"bury|{feed}|{key}", "bury", feed, key, *ids, dob, *place)

    rows = [
        row(
            "housing",
            key,
            (None, None, "AB123456"),
            "1980-02-03",
            (46021, "BL9 0AA", "1 ELM ROAD", "100012345678"),
        ),
        row("health_services", "R9", ("9434765919", None, None), None, (nan, "BL9 0AA", None, None)),
        row("police_incidents", "R1", (None, None, None), None, (46021.0, None, "1 ELM ROAD", None)),
    ]
    housing, health, police = record_nodes(rows)
    roster = ("bury|housing|C1|2026-01-01", "2")
    place = Place(46021, "BL9 0AA", "1 ELM ROAD", "100012345678")
    assert housing == Node(f"bury|housing|{key}", {"nino": "AB123456"}, date(1980, 2, 3), roster, place)
    # No event date, or no postcode: no place, so never two homes at once.
    assert health == Node("bury|health_services|R9", {"nhs": "9434765919"}, None, None, None)
    assert police.place is None


def _stay(key: str, postcode: str, *days: int, address: str | None = None) -> list[Node]:
    """A person's records at one home: one node per event day."""
    line = address or f"{len(postcode)} {postcode} ROAD"
    return [Node(f"{key}{i}", place=Place(d, postcode, line)) for i, d in enumerate(days)]


def _one_person(nodes: list[Node], edges: list[Edge]) -> tuple[bool, list[str]]:
    result = cluster(nodes, edges)
    return len(set(result.cluster_of.values())) == 1, [r for _, r in result.refused]


def _linked(
    a: list[Node],
    b: list[Node],
    *,
    weight: float = 12.0,
    by_identifier: bool = False,
    sides_by_id: bool = False,
) -> list[Edge]:
    """Each side chained strongly within itself, and one cross edge at ``weight``."""
    chain = [Edge(x.key, y.key, 30.0, sides_by_id) for side in (a, b) for x, y in itertools.pairwise(side)]
    return [*chain, Edge(a[0].key, b[-1].key, weight, by_identifier)]


M = STAY_MARGIN_DAYS


def test_namesakes_living_side_by_side_in_two_homes_stay_apart() -> None:
    # One has records at BL1 on days 0 and 400; the other at WN1 on day 200: two homes at once.
    a, b = _stay("a", "BL1 1AA", 0, 400), _stay("b", "WN1 1AA", 200)
    assert _one_person(a + b, _linked(a, b)) == (False, ["two homes at once"])
    # Stays that overlap for longer than the margin, even with no record inside the other's.
    a, b = _stay("a", "BL1 1AA", 0, 300), _stay("b", "WN1 1AA", 300 - 2 * M, 700)
    assert _one_person(a + b, _linked(a, b)) == (False, ["two homes at once"])


def test_a_mover_leaves_one_home_before_the_next_and_is_one_person() -> None:
    a, b = _stay("a", "BL1 1AA", 0, 100, 300), _stay("b", "WN1 1AA", 301, 500, 900)
    assert _one_person(a + b, _linked(a, b)) == (True, [])
    # A late address: the old home's last record up to the margin after the new home's first.
    a, b = _stay("a", "BL1 1AA", 0, 300), _stay("b", "WN1 1AA", 300 - M, 700)
    assert _one_person(a + b, _linked(a, b)) == (True, [])
    # Moved away and back (one NI number on both sides of both moves): a record at a home the
    # other side also lived at is that person, not a namesake.
    a = _stay("a", "BL1 1AA", 0, 400) + _stay("c", "WN1 1AA", 150)
    b = _stay("b", "WN1 1AA", 200)
    assert _one_person(a + b, _linked(a, b, sides_by_id=True)) == (True, [])


def test_a_slip_in_one_field_of_the_address_is_not_another_home() -> None:
    # A postcode typed wrong: the same address line. The same UPRN under another postcode too.
    a, b = (
        _stay("a", "BL1 1AA", 0, 400, address="1 ELM ROAD"),
        _stay("b", "BL1 1AB", 200, address="1 ELM ROAD"),
    )
    assert _one_person(a + b, _linked(a, b)) == (True, [])
    a = [Node("a0", place=Place(0, "BL1 1AA", "1 ELM ROAD", "U1")), Node("a1", place=Place(400, "BL1 1AA"))]
    b = [Node("b0", place=Place(200, "BL1 0AA", "1 ELM RD", "U1"))]
    assert _one_person(a + b, _linked(a, b)) == (True, [])


def test_a_shared_valid_identifier_outweighs_two_homes_at_once() -> None:
    a, b = _stay("a", "BL1 1AA", 0, 400), _stay("b", "WN1 1AA", 200)
    assert _one_person(a + b, _linked(a, b, by_identifier=True)) == (True, [])


def test_two_homes_at_once_does_not_depend_on_edge_order() -> None:
    a, b, c = _stay("a", "BL1 1AA", 0, 400), _stay("b", "WN1 1AA", 200), _stay("c", "OL1 1AA", 900)
    edges = [*_linked(a, b), Edge("b0", "c0", 12.0), Edge("a1", "c0", 12.0)]
    first = cluster(a + b + c, edges).cluster_of
    assert first == cluster(a + b + c, edges[::-1]).cluster_of
    assert first["a0"] != first["b0"]
