"""Ids that stay put: carry person (and family) ids forward from one run to the next.

A new clustering is matched to the previous assignment by overlap: each old id goes to the new
cluster holding most of its records (ties: the smaller cluster key), each cluster keeps at most
one old id (the one with most of its records; ties: the smaller id). Clusters left without an
old id get a fresh deterministic id (a hash of their smallest record key, never one used before).
Every change is described: MERGE (an old id retired into a survivor), SPLIT (records of an old id
now under a new id), NEW (a cluster with no previous id).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class IdChange:
    change: str  # MERGE, SPLIT, NEW
    old_ids: tuple[str, ...]
    new_id: str
    records: int  # how many records the change concerns


def mint(prefix: str, members: Iterable[str], used: set[str]) -> str:
    """A deterministic id from the cluster's smallest member, never an id already used."""
    seed = min(members)
    n = 0
    while True:
        digest = hashlib.sha256(f"{seed}#{n}".encode()).hexdigest()[:16]
        candidate = f"{prefix}{digest}"
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


def carry_forward(
    clusters: Mapping[str, list[str]],
    previous: Mapping[str, str],
    *,
    prefix: str,
    ever_used: Iterable[str] = (),
) -> tuple[dict[str, str], dict[str, str], list[IdChange]]:
    """Returns (member -> id, retired id -> surviving id, changes).

    ``clusters`` maps a cluster key to its members; ``previous`` maps members to their old ids.
    """
    used = set(ever_used) | set(previous.values())
    overlap: Counter[tuple[str, str]] = Counter()
    for ckey, members in clusters.items():
        for m in members:
            old = previous.get(m)
            if old is not None:
                overlap[(ckey, old)] += 1
    taken_ids: set[str] = set()
    cluster_id: dict[str, str] = {}
    for (ckey, old), _n in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0])):
        if ckey in cluster_id or old in taken_ids:
            continue
        cluster_id[ckey] = old
        taken_ids.add(old)
    changes: list[IdChange] = []
    for ckey in sorted(clusters):
        if ckey not in cluster_id:
            cluster_id[ckey] = mint(prefix, clusters[ckey], used)
    assignment = {m: cluster_id[ckey] for ckey, members in clusters.items() for m in members}
    retired: dict[str, str] = {}
    # Old ids that lost every record to clusters that kept another id: retired into the survivor.
    for (ckey, old), n in sorted(overlap.items()):
        new = cluster_id[ckey]
        if old == new:
            continue
        if old not in taken_ids:
            retired.setdefault(old, new)
            changes.append(IdChange("MERGE", (old,), new, n))
        else:
            changes.append(IdChange("SPLIT", (old,), new, n))
    for ckey in sorted(clusters):
        if not any(previous.get(m) for m in clusters[ckey]):
            changes.append(IdChange("NEW", (), cluster_id[ckey], len(clusters[ckey])))
    return assignment, retired, changes
