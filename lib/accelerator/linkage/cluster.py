"""Clustering scored pairs into people, respecting hard constraints (pure Python, no Spark).

Edges are merged strongest first (ties broken by the record keys, so the result does not depend
on the order edges arrive in: an incremental run that adds edges to stored ones clusters exactly
as a full re-run). A merge is refused when the two groups would then hold:

- two different valid identifiers of one kind (NHS number, UPN, NI number): twins, namesakes;
- two records of one household roster with different member slots (one housing case on one status
  date, one early help family case): two people of one household are never one person;
- dates of birth that cannot be typing slips of each other (equal, a day apart, or day and month
  swapped), unless the edge itself is a shared valid identifier.

Refused merges are returned, so that the linkage report can show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

IDENTIFIER_KINDS = ("nhs", "upn", "nino")


@dataclass(frozen=True)
class Node:
    """What the constraints need to know about one record."""

    key: str
    identifiers: Mapping[str, str] = field(default_factory=dict)  # kind -> valid value
    dob: date | None = None
    roster: tuple[str, str] | None = None  # (household roster key, member slot)


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    weight: float
    by_identifier: bool = False  # the pair shares a valid identifier

    @property
    def order(self) -> tuple[float, str, str]:
        lo, hi = sorted((self.a, self.b))
        return (-self.weight, lo, hi)


def dobs_compatible(x: date, y: date) -> bool:
    """Equal, one day apart, or day and month swapped."""
    if x == y or abs((x - y).days) <= 1:
        return True
    return x.year == y.year and x.day == y.month and x.month == y.day


@dataclass
class _Group:
    identifiers: dict[str, str]
    dobs: set[date]
    rosters: dict[str, str]
    size: int


@dataclass
class Clustering:
    cluster_of: dict[str, str]  # record key -> representative record key (smallest key of its cluster)
    refused: list[tuple[Edge, str]]  # edges not merged, with the reason

    def clusters(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, c in self.cluster_of.items():
            out.setdefault(c, []).append(k)
        for members in out.values():
            members.sort()
        return out


class GiantClusterError(RuntimeError):
    """A cluster grew past the configured size: linkage is over-chaining; stop loudly."""


def cluster(nodes: Iterable[Node], edges: Iterable[Edge], *, max_size: int | None = None) -> Clustering:
    parent: dict[str, str] = {}
    groups: dict[str, _Group] = {}
    for n in nodes:
        parent[n.key] = n.key
        groups[n.key] = _Group(
            identifiers=dict(n.identifiers),
            dobs={n.dob} if n.dob else set(),
            rosters=dict([n.roster]) if n.roster else {},
            size=1,
        )

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    refused: list[tuple[Edge, str]] = []
    for e in sorted(edges, key=lambda e: e.order):
        if e.a not in parent or e.b not in parent:
            continue
        ra, rb = find(e.a), find(e.b)
        if ra == rb:
            continue
        ga, gb = groups[ra], groups[rb]
        reason = _conflict(ga, gb, by_identifier=e.by_identifier)
        if reason:
            refused.append((e, reason))
            continue
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        parent[gone] = keep
        g, h = groups[keep], groups.pop(gone)
        g.identifiers.update(h.identifiers)
        g.dobs |= h.dobs
        g.rosters.update(h.rosters)
        g.size += h.size
        if max_size is not None and g.size > max_size:
            raise GiantClusterError(
                f"a cluster reached {g.size} records (limit {max_size}) merging {e.a} and {e.b}: "
                "linkage is chaining different people together; check the threshold and blocking"
            )
    return Clustering({k: find(k) for k in parent}, refused)


def _conflict(a: _Group, b: _Group, *, by_identifier: bool) -> str | None:
    for kind, value in a.identifiers.items():
        other = b.identifiers.get(kind)
        if other is not None and other != value:
            return f"different valid {kind}"
    for roster, slot in a.rosters.items():
        other = b.rosters.get(roster)
        if other is not None and other != slot:
            return "two members of one household roster"
    if not by_identifier and a.dobs and b.dobs:
        for x in a.dobs:
            for y in b.dobs:
                if not dobs_compatible(x, y):
                    return "incompatible dates of birth"
    return None


ROSTER_FEEDS = ("housing", "early_help")


def record_nodes(records: Iterable[tuple[str, str, str, str, Any, Any, Any, Any]]) -> list[Node]:
    """Nodes from (unique_id, authority, feed, record_key, nhs, upn, nino, dob ISO string) rows, as
    the model prepares them: a record of a housing case or an early help family case is a slot of
    that household roster (its key without the last part, and the last part)."""
    out = []
    for uid, authority, feed, record_key, nhs, upn, nino, dob in records:
        ids = {k: v for k, v in (("nhs", nhs), ("upn", upn), ("nino", nino)) if isinstance(v, str)}
        roster = None
        if feed in ROSTER_FEEDS:
            head, _, slot = record_key.rpartition("|")
            roster = (f"{authority}|{feed}|{head}", slot)
        born = date.fromisoformat(dob[:10]) if isinstance(dob, str) else None
        out.append(Node(uid, ids, born, roster))
    return out
