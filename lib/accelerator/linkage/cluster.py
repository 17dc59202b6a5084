"""Clustering scored pairs into people, respecting hard constraints (pure Python, no Spark).

Edges are merged strongest first (ties broken by the record keys, so the result does not depend
on the order edges arrive in: an incremental run that adds edges to stored ones clusters exactly
as a full re-run). A merge is refused when the two groups would then hold:

- two different valid identifiers of one kind (NHS number, UPN, NI number): twins, namesakes;
- two records of one household roster with different member slots (one housing case on one status
  date, one early help family case): two people of one household are never one person;
- dates of birth that cannot be typing slips of each other (equal, a day apart, or day and month
  swapped), unless the edge itself is a shared valid identifier;
- two homes at once, unless the edge itself is a shared valid identifier (outcomes.md: a record's
  address is where its person lived on its event date). A person who moves leaves one home's
  records behind before the next home's begin; two namesakes in two authorities live side by
  side. A group's *stay* at a postcode runs from its first to its last record there; two stays
  run side by side when they overlap by more than ``STAY_MARGIN_DAYS``, or a record of one lies
  more than that inside the other. Homes are told apart only when postcode, every address line
  and every UPRN differ, and a home the other group also lived at never counts (a person who moved
  away and came back), so a slip in one field or a late address update does not split a person.

Refused merges are returned, so that the linkage report can show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

IDENTIFIER_KINDS = ("nhs", "upn", "nino")
# Two stays at two homes that overlap by more than this many days are two homes at once; a record
# must sit this far inside another home's stay, on both sides, to count (a late address update).
STAY_MARGIN_DAYS = 60
NODE_COLUMNS = (
    "unique_id", "authority", "feed", "record_key", "nhs", "upn", "nino", "dob",
    "event_day", "postcode", "address", "uprn",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    """Where a record says its person lived on its event date (``day``: days since 1900-01-01)."""

    day: int
    postcode: str
    address: str | None = None
    uprn: str | None = None


@dataclass(frozen=True)
class Node:
    """What the constraints need to know about one record."""

    key: str
    identifiers: Mapping[str, str] = field(default_factory=dict)  # kind -> valid value
    dob: date | None = None
    roster: tuple[str, str] | None = None  # (household roster key, member slot)
    place: Place | None = None


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
class _Stay:
    """A group's records at one postcode: the first and last event day, every day, the address
    lines and UPRNs."""

    postcode: str
    first: int
    last: int
    days: list[int] = field(default_factory=list)
    addresses: set[str] = field(default_factory=set)
    uprns: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, p: Place) -> _Stay:
        addresses, uprns = {p.address} if p.address else set(), {p.uprn} if p.uprn else set()
        return cls(p.postcode, p.day, p.day, [p.day], addresses, uprns)

    def absorb(self, other: _Stay) -> None:
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.days.extend(other.days)
        self.addresses |= other.addresses
        self.uprns |= other.uprns

    def elsewhere(self, other: _Stay) -> bool:
        """Another home: postcode, every address line and every UPRN differ."""
        return (
            self.postcode != other.postcode
            and not self.addresses & other.addresses
            and not self.uprns & other.uprns
        )

    def side_by_side(self, other: _Stay, margin: int) -> bool:
        """The two stays run at once: they overlap by more than ``margin`` days, or a record of
        one lies more than ``margin`` days inside the other on both sides."""
        if min(self.last, other.last) - max(self.first, other.first) > margin:
            return True
        for host, guest in ((self, other), (other, self)):
            lo, hi = host.first + margin, host.last - margin
            if lo < hi and guest.first < hi and guest.last > lo and any(lo < d < hi for d in guest.days):
                return True
        return False


@dataclass
class _Group:
    identifiers: dict[str, str]
    dobs: set[date]
    rosters: dict[str, str]
    size: int
    stays: dict[str, _Stay] = field(default_factory=dict)  # postcode -> stay

    def absorb_stays(self, stays: Iterable[_Stay]) -> None:
        for stay in stays:
            mine = self.stays.get(stay.postcode)
            if mine is None:
                self.stays[stay.postcode] = stay
            else:
                mine.absorb(stay)


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
        if n.place is not None:
            groups[n.key].stays[n.place.postcode] = _Stay.of(n.place)

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
        g.absorb_stays(h.stays.values())
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
    if not by_identifier and a.stays and b.stays and _two_homes(a, b, STAY_MARGIN_DAYS):
        return "two homes at once"
    return None


def _two_homes(a: _Group, b: _Group, margin: int) -> bool:
    """Whether ``a`` and ``b`` lived at two homes at once: a stay of each, at homes the other
    group never lived at, running side by side."""
    return any(
        s.side_by_side(t, margin)
        for s in a.stays.values()
        if s.postcode not in b.stays
        for t in b.stays.values()
        if t.postcode not in a.stays and s.elsewhere(t)
    )


ROSTER_FEEDS = ("housing", "early_help")


def record_nodes(records: Iterable[Iterable[Any]]) -> list[Node]:
    """Nodes from rows of ``NODE_COLUMNS`` as the model prepares them (dates of birth as ISO
    strings, the event day as days since 1900-01-01): a record of a housing case or an early help
    family case is a slot of that household roster (its key without the last part, and the last
    part); a record with an event date and a postcode has a place."""
    out = []
    for row in records:
        uid, authority, feed, record_key, nhs, upn, nino, dob, day, postcode, address, uprn = row
        ids = {k: v for k, v in (("nhs", nhs), ("upn", upn), ("nino", nino)) if isinstance(v, str)}
        roster = None
        if feed in ROSTER_FEEDS:
            head, _, slot = record_key.rpartition("|")
            roster = (f"{authority}|{feed}|{head}", slot)
        born = date.fromisoformat(dob[:10]) if isinstance(dob, str) else None
        place = None
        on = _day(day)
        if isinstance(postcode, str) and on is not None:
            place = Place(on, postcode, _text(address), _text(uprn))
        out.append(Node(uid, ids, born, roster, place))
    return out


def _day(x: Any) -> int | None:
    """A whole day count, or None for None, NaN or pandas' NA."""
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def _text(x: Any) -> str | None:
    return x if isinstance(x, str) and x else None
