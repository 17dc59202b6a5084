from __future__ import annotations

from datetime import date

import pytest

from accelerator.linkage.cluster import Edge, GiantClusterError, Node, cluster, dobs_compatible, record_nodes
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
    rows = [
        (f"bury|housing|{key}", "bury", "housing", key, None, None, "AB123456", "1980-02-03"),
        ("bury|health_services|R9", "bury", "health_services", "R9", "9434765919", None, None, None),
    ]
    housing, health = record_nodes(rows)
    roster = ("bury|housing|C1|2026-01-01", "2")
    assert housing == Node(f"bury|housing|{key}", {"nino": "AB123456"}, date(1980, 2, 3), roster)
    assert health == Node("bury|health_services|R9", {"nhs": "9434765919"}, None, None)
