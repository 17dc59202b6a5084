"""The expected outcome of loading the landing zone, computed from the true (un-noised) data.

Deliveries are processed as feeds.md says, in (extract_date, folder) order per authority and feed:
PENDING without a manifest, DUPLICATE when every file's sha256 was already loaded, REJECTED when
broken, else LOADED (a full refresh first empties what the feed holds for the authority). The latest
accepted version of every record then gives families and headlines by the rules of outcomes.md.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.synth.dates import add_months, age_on, term_end
from accelerator.synth.delivery import ROW_DEFECT_REASONS, Delivery, Row
from accelerator.synth.events import H09_STATUSES, Rec
from accelerator.synth.population import Person

HEADLINES: tuple[str, ...] = (
    "h01_education",
    "h02_early_years",
    "h03_health",
    "h04_substance",
    "h05_relationships",
    "h06_safeguarding",
    "h07_crime",
    "h08_domestic_abuse",
    "h09_housing",
    "h10_financial",
)

LOADED, REJECTED, DUPLICATE, PENDING = "LOADED", "REJECTED", "DUPLICATE", "PENDING"


def record_key(rec: Rec) -> str:
    """outputs.md "Record keys" from the true key values."""
    spec = FEEDS[rec.feed]
    values = rec.versions[0][1]
    parts = []
    for col in spec.key:
        v = values[col]
        s = v.isoformat() if isinstance(v, date) else str(v)
        parts.append(s.upper() if col in spec.upper_key_columns else s)
    return "|".join(parts)


@dataclass
class DeliveryOutcome:
    delivery: Delivery
    status: str
    rows_in_files: int
    rows_loaded: int
    rows_quarantined: int
    defect: str


@dataclass
class Accepted:
    row: Row
    delivery: Delivery
    key: str

    @property
    def rec(self) -> Rec:
        return self.row.rec

    @property
    def values(self) -> Mapping[str, Any]:
        return self.row.delivered

    def order(self) -> tuple[date, date, str, str]:
        return (self.rec.event_date, self.delivery.extract_date, self.delivery.folder, self.rec.feed)


@dataclass
class Truth:
    as_of: date
    outcomes: list[DeliveryOutcome] = field(default_factory=list)
    quarantine: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    records: dict[tuple[str, str], dict[str, Accepted]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    families: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (family_id, authority, pids)
    headlines: dict[str, dict[str, bool]] = field(default_factory=dict)
    eligible: dict[str, bool] = field(default_factory=dict)
    ambiguous_family_authority: int = 0
    person_authorities: dict[str, set[str]] = field(default_factory=dict)


def simulate(deliveries: Iterable[Delivery], as_of: date) -> Truth:
    truth = Truth(as_of)
    groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for d in deliveries:
        groups[(d.authority, d.feed)].append(d)
    for key in sorted(groups):
        loaded_sha: set[str] = set()
        state: dict[str, Accepted] = {}
        for d in sorted(groups[key], key=lambda x: (x.extract_date, x.folder)):
            present = [f for f in d.files if f.name in d.written]
            rows_in_files = sum(f.rows for f in present if d.written[f.name])
            shas = [hashlib.sha256(d.written[f.name]).hexdigest() for f in present]
            defect = d.defect
            if d.manifest is None:
                status = PENDING
            elif len(present) == len(d.files) and all(s in loaded_sha for s in shas):
                status = DUPLICATE
                if defect == "clean":
                    defect = "repeat_of_empty" if rows_in_files == 0 else "repeat"
            elif d.broken:
                status = REJECTED
            else:
                status = LOADED
            quarantined = 0
            if status == LOADED:
                loaded_sha.update(shas)
                if d.full_refresh:
                    state = {}
                for f in d.files:
                    for line, row, kind in f.lines:
                        if kind is not None:
                            quarantined += 1
                            truth.quarantine.append((d.path, f.name, line, ROW_DEFECT_REASONS[kind], kind))
                        else:
                            k = record_key(row.rec)
                            state[k] = Accepted(row, d, k)
            loaded = rows_in_files - quarantined if status == LOADED else 0
            truth.outcomes.append(DeliveryOutcome(d, status, rows_in_files, loaded, quarantined, defect))
        if key[0] in AUTHORITIES and key[1] in FEEDS:
            truth.records[key] = state
    _families(truth)
    _headlines(truth)
    return truth


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _person_records(truth: Truth) -> dict[str, list[Accepted]]:
    out: dict[str, list[Accepted]] = defaultdict(list)
    for (authority, _feed), state in sorted(truth.records.items()):
        for k in sorted(state):
            acc = state[k]
            p = acc.rec.person
            if p is None:
                continue
            out[p.pid].append(acc)
            truth.people[p.pid] = p
            truth.person_authorities.setdefault(p.pid, set()).add(authority)
    return out


def _open_at(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or end > on)


def _open_in_window(start: date, end: date | None, w0: date, as_of: date) -> bool:
    return start <= as_of and (end is None or end > w0)


def _families(truth: Truth) -> None:
    as_of = truth.as_of
    by_person = _person_records(truth)
    uf = UnionFind()
    for pid in by_person:
        uf.find(pid)
    eh_cases: dict[tuple[str, str], list[str]] = defaultdict(list)
    housing: dict[tuple[str, str], list[tuple[date, str]]] = defaultdict(list)
    for (authority, feed), state in sorted(truth.records.items()):
        for k in sorted(state):
            acc = state[k]
            v = acc.values
            p = acc.rec.person
            if p is None:
                continue
            if feed == "early_help" and _open_at(v["case_open_date"], v["case_close_date"], as_of):
                eh_cases[(authority, v["family_case_ref"])].append(p.pid)
            elif feed == "housing":
                housing[(authority, v["case_ref"])].append((v["status_date"], p.pid))
    for pids in eh_cases.values():
        for other in pids[1:]:
            uf.union(pids[0], other)
    for rows in housing.values():
        latest = max(d for d, _ in rows)
        members = [pid for d, pid in rows if d == latest]
        for other in members[1:]:
            uf.union(members[0], other)
    latest_rec: dict[str, Accepted] = {}
    by_address: dict[str, list[str]] = defaultdict(list)
    for pid, accs in by_person.items():
        best = max(accs, key=lambda a: a.order())
        latest_rec[pid] = best
        by_address[best.rec.address.uprn].append(pid)
    for pids in by_address.values():
        for other in pids[1:]:
            uf.union(pids[0], other)
    groups: dict[str, list[str]] = defaultdict(list)
    for pid in sorted(by_person):
        groups[uf.find(pid)].append(pid)
    ordered = sorted(groups.values(), key=lambda g: g[0])
    for i, pids in enumerate(ordered, start=1):
        authorities = {latest_rec[p].delivery.authority for p in pids}
        if len(authorities) == 1:
            authority = authorities.pop()
        else:
            truth.ambiguous_family_authority += 1
            authority = max((latest_rec[p] for p in pids), key=lambda a: a.order()).delivery.authority
        truth.families.append((f"F{i:07d}", authority, pids))


@dataclass(frozen=True)
class RecordFlags:
    """What each accepted record contributes to its person's headlines (outcomes.md's rules on
    the true values): ``flags[(authority, feed, record_key)]`` is the set of headline numbers the
    record sets (a housing case's flags on every record of the case), ``expectant`` the records that
    make their person an expectant parent (a MATERNITY referral open at ``as_of``)."""

    flags: dict[tuple[str, str, str], set[int]]
    expectant: set[tuple[str, str, str]]


def record_flags(truth: Truth) -> RecordFlags:
    as_of = truth.as_of
    w0 = add_months(as_of, -12)

    def in_window(d: date) -> bool:
        return w0 < d <= as_of

    flags: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    expectant: set[tuple[str, str, str]] = set()
    housing: dict[tuple[str, str], list[tuple[date, str, tuple[str, str, str]]]] = defaultdict(list)
    for (authority, feed), state in sorted(truth.records.items()):
        for k in sorted(state):
            acc = state[k]
            p = acc.rec.person
            if p is None:
                continue
            v = acc.values
            rid, age = (authority, feed, k), age_on(p.dob, as_of)
            f = flags[rid]
            if feed == "school_census":
                if in_window(term_end(v["census_term"])) and 5 <= age <= 16:
                    possible = v["sessions_possible"]
                    absent = v["sessions_authorised_absence"] + v["sessions_unauthorised_absence"]
                    low = possible > 0 and (possible - absent) / possible < 0.90
                    if low or v["suspensions"] > 0 or v["permanent_exclusion"] == "Y":
                        f.add(1)
            elif feed == "health_services":
                service, ref, dis = v["service"], v["referral_date"], v["discharge_date"]
                if (
                    service == "HEALTH_VISITING"
                    and v["outcome"] == "BELOW_EXPECTED"
                    and in_window(ref)
                    and age < 5
                ):
                    f.add(2)
                elif service == "MATERNITY":
                    if v["outcome"] == "CONCERN" and in_window(ref):
                        f.add(2)
                    if _open_at(ref, dis, as_of):
                        expectant.add(rid)
                elif service == "MENTAL_HEALTH" and _open_in_window(ref, dis, w0, as_of):
                    f.add(3)
                elif service == "SUBSTANCE_MISUSE" and _open_in_window(ref, dis, w0, as_of):
                    f.add(4)
            elif feed == "early_help":
                if _open_at(v["case_open_date"], v["case_close_date"], as_of):
                    needs = set((v["presenting_needs"] or "").split(";"))
                    if "MENTAL_HEALTH" in needs:
                        f.add(3)
                    if "SUBSTANCE" in needs:
                        f.add(4)
                    if needs & {"PARENTAL_CONFLICT", "YOUNG_CARER"}:
                        f.add(5)
                    if needs & {"DEBT", "NEET"}:
                        f.add(10)
            elif feed == "childrens_social_care":
                if age < 18 and _open_in_window(v["start_date"], v["end_date"], w0, as_of):
                    f.add(6)
            elif feed == "police_incidents":
                if in_window(v["incident_date"]):
                    if v["role"] in ("OFFENDER", "SUSPECT"):
                        f.add(7)
                    if v["domestic_abuse"] == "Y":
                        f.add(8)
            elif feed == "youth_justice":
                if in_window(v["outcome_date"]):
                    f.add(7)
            elif feed == "probation":
                if _open_in_window(v["start_date"], v["end_date"], w0, as_of):
                    f.add(7)
                    if v["da_perpetrator"] == "Y":
                        f.add(8)
            elif feed == "housing":
                housing[(authority, v["case_ref"])].append((v["status_date"], v["status"], rid))
            elif (
                feed == "dwp_benefits"
                and age >= 18
                and v["benefit"] in ("UC", "ESA", "JSA")
                and v["work_status"] == "OUT_OF_WORK"
                and _open_in_window(v["award_start"], v["award_end"], w0, as_of)
            ):
                f.add(10)
    for rows in housing.values():
        recent = sorted((d, s) for d, s, _ in rows if in_window(d))
        case: set[int] = set()
        if recent and recent[-1][1] in H09_STATUSES:
            case.add(9)
        if any(s == "RENT_ARREARS" for _, s in recent):
            case.add(10)
        for _, _, rid in rows:
            flags[rid] |= case
    return RecordFlags(dict(flags), expectant)


def _headlines(truth: Truth) -> None:
    as_of = truth.as_of
    rf = record_flags(truth)
    flags: dict[str, set[int]] = defaultdict(set)
    expectant: set[str] = set()
    for (authority, feed), state in truth.records.items():
        for k, acc in state.items():
            p = acc.rec.person
            if p is None:
                continue
            flags[p.pid] |= rf.flags.get((authority, feed, k), set())
            if (authority, feed, k) in rf.expectant:
                expectant.add(p.pid)
    for family_id, _authority, pids in truth.families:
        fam: set[int] = set()
        for pid in pids:
            fam |= flags.get(pid, set())
        truth.headlines[family_id] = {name: (i + 1) in fam for i, name in enumerate(HEADLINES)}
        child = any(age_on(truth.people[pid].dob, as_of) < 18 for pid in pids)
        truth.eligible[family_id] = len(fam) >= 3 and (child or any(pid in expectant for pid in pids))
