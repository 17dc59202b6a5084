"""True records per feed: what happened to each person, household and address over the history.

A :class:`Rec` is one partner record (one record key) with its versions: the first version is sent
when the event happens, later versions re-send it with something filled in (a discharge, an end
date, a case closure). Values are clean Python values (``date``, ``str``, ``int``, ``float`` or
``None``); person columns (names, date of birth, identifiers, address) are added when a row is
rendered, from the person and the address they lived at on the event date.

Each household gets a tier (0 background, 1 some problems, 2 multiple problems) and a set of target
headlines; the generators below produce records inside or outside the outcomes.md windows so the
targets come true. The truth is nevertheless computed from the delivered records, not from targets.

The builder is in layers, one module each: ``records`` (state, references, dates and one record
maker per feed), ``plans`` (each household's tier, targets and housing history), ``households``
(a household's records as its plan says) and this module (the whole run, every code at least
once, the anchors of latest addresses).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

from accelerator.feeds import FEEDS
from accelerator.synth.dates import rand_date
from accelerator.synth.households import HouseholdRecords
from accelerator.synth.population import Household, Person
from accelerator.synth.records import (
    EH_CONTEXT,
    H09_STATUSES,
    OFFENCE_GROUPS,
    OFFENCE_WEIGHTS,
    Plan,
    Rec,
    Values,
)

__all__ = [
    "EH_CONTEXT",
    "H09_STATUSES",
    "OFFENCE_GROUPS",
    "OFFENCE_WEIGHTS",
    "EventBuilder",
    "Plan",
    "Rec",
    "Values",
]


class EventBuilder(HouseholdRecords):
    """Every record of every household (``generate``), then every code at least once and the
    records that anchor people's latest addresses. The parts: ``records`` (one record per feed),
    ``plans`` (each household's plan), ``households`` (a household's records)."""

    # ------------------------------------------------------------ generation
    def generate(self, households: list[Household]) -> list[Rec]:
        for hh in households:
            self.plan(hh)
        for hh in households:
            hh.finalise_residences()
        for hh in households:
            for p in hh.members:
                self._by_authority.setdefault(hh.authority, []).append(p)
        for hh in households:
            self._household_records(hh, self.plans[hh.hid])
        self._cover_codes()
        self._anchors(households)
        return self.records

    def _pick(self, people: list[Person]) -> Person:
        return self.rng.choice(people)

    # ------------------------------------------------------------ every code at least once
    def _cover_codes(self) -> None:
        """Every code feeds.md lists appears in the data: a code no record happens to use is given to
        one record (and the rest of its incident, household status or case), before the truth is
        computed. Sex codes U and 9 come from the renderer (value noise ``sex_unknown``)."""
        rng = random.Random(f"{self.seed}:codes")
        by_feed: dict[str, list[Rec]] = defaultdict(list)
        for r in self.records:
            by_feed[r.feed].append(r)
        self._cover_sexes(by_feed, rng)
        for feed, spec in FEEDS.items():
            recs = by_feed[feed]
            for col in spec.columns:
                if not col.codes or col.name == spec.person_columns.get("sex"):
                    continue
                count = Counter(r.versions[0][1].get(col.name) for r in recs)
                for code in col.codes:
                    # two records per code, so that one quarantined or pending still leaves it delivered
                    for _ in range(4):
                        if count[code] >= 2:
                            break
                        cands = [
                            r
                            for r in recs
                            if count[r.versions[0][1].get(col.name)] > 2
                            and _patch(feed, col.name, code, r.versions[0][1]) is not None
                        ]
                        if not cands:
                            extra = self._extra_record(feed, rng)
                            if extra is None:
                                break
                            recs.append(extra)
                        else:
                            self._apply_patch(rng.choice(cands), col.name, code, recs)
                        count = Counter(r.versions[0][1].get(col.name) for r in recs)
        eh = by_feed["early_help"]
        needs_used = {n for r in eh for _, v in r.versions for n in (v["presenting_needs"] or "").split(";")}
        for need in EH_NEEDS:
            if need not in needs_used and eh:
                self._apply_patch(rng.choice(eh), "presenting_needs", need, eh)

    def _cover_sexes(self, by_feed: dict[str, list[Rec]], rng: random.Random) -> None:
        """Both sexes in every feed that records one: a missing one gets a background record
        before the window (no headline) for someone of that sex."""
        people = sorted(self._everyone(), key=lambda p: p.pid)
        w0 = self.w0
        for feed in ("police_incidents", "childrens_social_care", "youth_justice", "probation"):
            have = Counter(r.person.sex for r in by_feed[feed] if r.person is not None)
            for sex in "FM":
                # two of each, so that one shown as unknown (U) still leaves the code in the data
                for p in rng.sample(people, len(people)):
                    if have[sex] >= 2:
                        break
                    if p.sex != sex:
                        continue
                    d = self.pre_date(p.dob, margin=30)
                    age = p.age(d)
                    if d < p.dob or d > w0 - timedelta(days=30):
                        continue
                    before = len(self.records)
                    if feed == "police_incidents" and age >= 10:
                        self.police(d, [(p, "WITNESS")], "CRIME", "THEFT", "N")
                    elif feed == "childrens_social_care" and age < 17:
                        self.csc(p, "CIN", d, d + timedelta(days=20))
                    elif feed == "youth_justice" and 10 <= age <= 17:
                        self.youth(p, d)
                    elif feed == "probation" and age >= 18:
                        self.probation(p, "COMMUNITY", d, d + timedelta(days=25), "N")
                    if len(self.records) > before:
                        by_feed[feed].append(self.records[-1])
                        have[sex] += 1

    def _extra_record(self, feed: str, rng: random.Random) -> Rec | None:
        """One more background record (before the window, closed) in a small feed, to carry a code."""
        people = sorted(self._everyone(), key=lambda p: p.pid)
        for p in rng.sample(people, min(len(people), 400)):
            d = self.pre_date(p.dob, margin=30)
            if d < p.dob or d > self.w0 - timedelta(days=30):
                continue
            before = len(self.records)
            age = p.age(d)
            if feed == "youth_justice" and 10 <= age <= 17:
                self.youth(p, d)
            elif feed == "probation" and age >= 18:
                self.probation(p, "COMMUNITY", d, d + timedelta(days=40), "N")
            elif feed == "fire_rescue":
                addr = p.hh.address_on(d)
                vals = {
                    "visit_ref": self.uid(
                        "visit", lambda r, d=d: f"GMFRS/{d.year % 100:02d}/{r.randrange(10**6):06d}"
                    ),
                    "visit_type": "SAFE_AND_WELL",
                    "visit_date": d,
                }
                self.add("fire_rescue", None, d, vals, address=addr)
            elif feed == "police_incidents" and age >= 10:
                self.police(d, [(p, "WITNESS")], "CRIME", "THEFT", "N")
            elif feed == "childrens_social_care" and age < 17:
                self.csc(p, "CIN", d, d + timedelta(days=20))
            elif feed == "dwp_benefits" and age >= 18:
                self.dwp(p, "PIP", None, d, d + timedelta(days=60))
            if len(self.records) > before:
                return self.records[-1]
        return None

    def _everyone(self) -> list[Person]:
        return [p for people in self._by_authority.values() for p in people]

    def _apply_patch(self, chosen: Rec, column: str, code: str, recs: list[Rec]) -> None:
        v0 = chosen.versions[0][1]
        group_of: dict[str, tuple[str, ...]] = {
            "police_incidents": ("incident_ref",),
            "housing": ("case_ref", "status_date"),
            "early_help": ("family_case_ref",),
        }
        group = group_of.get(chosen.feed) if column not in ("role", "relationship") else None
        members = [r for r in recs if all(r.versions[0][1][g] == v0[g] for g in group)] if group else [chosen]
        for r in members:
            for _, v in r.versions:
                if column == "presenting_needs":
                    needs = [n for n in (v["presenting_needs"] or "").split(";") if n]
                    v["presenting_needs"] = ";".join([*needs, code])
                else:
                    patch = _patch(chosen.feed, column, code, v)
                    if patch is not None:
                        v.update(patch)

    # ------------------------------------------------------------ anchors
    def _anchors(self, households: list[Household]) -> None:
        """Every person's latest record is at their address at as_of, in that address's authority.

        Members who have records but none since their household's last move (or whose latest
        record is held by another authority) get an A&E attendance in their current authority
        after it.
        """
        latest: dict[str, list[Rec]] = {}
        for r in self.records:
            if r.person is None:
                continue
            cur = latest.get(r.person.pid)
            if cur is None or r.event_date > cur[0].event_date:
                latest[r.person.pid] = [r]
            elif r.event_date == cur[0].event_date:
                cur.append(r)
        for hh in households:
            current = hh.address_on(self.as_of)
            last_move = hh.last_move() or date.min
            for m in hh.members:
                recs = latest.get(m.pid)
                if not recs:
                    continue
                if all(r.address is current and r.authority == current.authority for r in recs):
                    continue
                lo = max(recs[0].event_date, last_move, m.dob) + timedelta(days=1)
                d = min(rand_date(self.rng, lo, max(lo, self.as_of - timedelta(days=1))), self.as_of)
                anchor = self.health(m, "AE_ATTENDANCE", d, d)
                if anchor is not None:
                    anchor.anchor = True
        # mark each person's latest record(s)
        best: dict[str, date] = {}
        for r in self.records:
            if r.person is not None and r.event_date > best.get(r.person.pid, date.min):
                best[r.person.pid] = r.event_date
        for r in self.records:
            if r.person is not None and r.event_date == best[r.person.pid]:
                r.latest = True


EH_NEEDS: tuple[str, ...] = (
    "PARENTAL_CONFLICT",
    "YOUNG_CARER",
    "DEBT",
    "NEET",
    "MENTAL_HEALTH",
    "SUBSTANCE",
    "DOMESTIC_ABUSE",
    "HOUSING",
    "ATTENDANCE",
    "EARLY_YEARS",
)


def _patch(feed: str, column: str, code: str, v: Values) -> Values | None:
    """The change that gives a record ``code`` in ``column`` consistently, or None when it can't take it."""
    if feed == "police_incidents":
        if column == "offence_group":
            return {"offence_group": code} if v["incident_type"] == "CRIME" else None
        if column == "incident_type":
            return {"incident_type": code, "offence_group": None if code == "ASB" else "OTHER"}
        return {column: code}
    if feed == "health_services":
        if column == "service":
            return {"service": code, "outcome": None} if v["service"] == "AE_ATTENDANCE" else None
        hv = code in ("ON_TRACK", "BELOW_EXPECTED")
        wanted = "HEALTH_VISITING" if hv else "MATERNITY"
        return {"outcome": code} if v["service"] == wanted else None
    if feed == "housing" and column == "status":
        arrears = v["arrears_amount"] if v["arrears_amount"] is not None else 250.0
        return {"status": code, "arrears_amount": arrears if code == "RENT_ARREARS" else None}
    if feed == "childrens_social_care":
        if column == "category":
            return {"category": code} if v["episode_type"] in ("CP", "CIN") else None
        return {"episode_type": code, "category": v["category"] if code in ("CP", "CIN") else None}
    return {column: code}
