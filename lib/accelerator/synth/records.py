"""Making one partner record of each feed: the record builder's identifiers, references, dates
and one ``add`` per feed (``health``, ``dwp``, ``csc``, ``police``, ``probation``, ``youth``).

A :class:`Rec` is one partner record (one record key) with its versions: the first version is sent
when the event happens, later versions re-send it with something filled in (a discharge, an end
date, a case closure). Values are clean Python values (``date``, ``str``, ``int``, ``float`` or
``None``); person columns (names, date of birth, identifiers, address) are added when a row is
rendered, from the person and the address they lived at on the event date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from accelerator.synth import vocab
from accelerator.synth.dates import add_months, rand_date, school_year_age, terms_ending_between
from accelerator.synth.population import Address, Person, PopulationBuilder

Values = dict[str, Any]


@dataclass(eq=False, slots=True)
class Rec:
    rid: int
    feed: str
    authority: str
    person: Person | None
    event_date: date
    address: Address
    versions: list[tuple[date, Values]]
    latest: bool = False  # the person's latest record (by event date)
    anchor: bool = False


@dataclass(eq=False)
class Plan:
    tier: int = 0
    headlines: set[int] = field(default_factory=set)
    paths: dict[int, str] = field(default_factory=dict)
    eh_needs: set[str] = field(default_factory=set)
    eh_case: bool = False
    housing: list[tuple[date, str]] = field(default_factory=list)
    h01_terms: dict[str, dict[str, str]] = field(default_factory=dict)  # pid -> term -> kind
    hv_below: set[str] = field(default_factory=set)  # pids
    maternity_concern: set[str] = field(default_factory=set)  # pids of babies / expectant mothers


EH_CONTEXT = {1: "ATTENDANCE", 2: "EARLY_YEARS", 8: "DOMESTIC_ABUSE", 9: "HOUSING"}
H09_STATUSES = frozenset(
    {
        "HOMELESS_PREVENTION",
        "HOMELESS_RELIEF",
        "TEMPORARY_ACCOMMODATION",
        "NOTICE_SEEKING_POSSESSION",
        "EVICTED",
    }
)
OFFENCE_GROUPS = (
    "VIOLENCE",
    "SEXUAL",
    "ROBBERY",
    "THEFT",
    "CRIMINAL_DAMAGE",
    "DRUGS",
    "WEAPONS",
    "PUBLIC_ORDER",
    "OTHER",
)
OFFENCE_WEIGHTS = (22, 3, 5, 20, 14, 12, 6, 12, 6)


class RecordMaker:
    """The record builder's state and its per-feed record makers (:mod:`synth.events` builds on it)."""

    def __init__(self, pop: PopulationBuilder, seed: int) -> None:
        self.pop = pop
        self.as_of = pop.as_of
        self.h0 = pop.h0
        self.w0 = add_months(pop.as_of, -12)
        self.census_start = add_months(pop.as_of, -14)
        self.seed = seed
        self.rng = random.Random(f"{seed}:events")
        self.idrng = random.Random(f"{seed}:ids")
        self.records: list[Rec] = []
        self.plans: dict[int, Plan] = {}
        self._used: dict[str, set[str]] = {}
        self._by_authority: dict[str, list[Person]] = {}
        self.schools: dict[tuple[str, str], list[str]] = {}
        self._school_urns: set[str] = set()

    # ------------------------------------------------------------ identifiers
    def uid(self, kind: str, make: Any) -> str:
        used = self._used.setdefault(kind, set())
        while True:
            v = str(make(self.idrng))
            if v not in used:
                used.add(v)
                return v

    def incident_ref(self, d: date) -> str:
        return self.uid("incident", lambda r: f"GMP-{d.year % 100:02d}-{r.randrange(10**7):07d}")

    def police_ref(self, p: Person) -> str:
        if not p.police_refs:
            p.police_refs.append(self.uid("nominal", lambda r: f"N{r.randrange(10**8):08d}"))
            if self.rng.random() < 0.03:
                p.police_refs.append(self.uid("nominal", lambda r: f"N{r.randrange(10**8):08d}"))
        if len(p.police_refs) > 1 and self.rng.random() < 0.5:
            return p.police_refs[1]
        return p.police_refs[0]

    def crn(self, p: Person) -> str:
        if p.crn is None:
            p.crn = self.uid("crn", lambda r: r.choice("ABCDEFGHJKLMNPRSTVWXY") + f"{r.randrange(10**6):06d}")
        return p.crn

    def local_ref(self, p: Person, authority: str, kind: str) -> str:
        key = (authority, kind)
        ref = p.local_refs.get(key)
        if ref is None:
            la = vocab.LA_CODES[authority]
            if kind == "child":
                ref = self.uid(f"child:{authority}", lambda r: f"CSC{la}{r.randrange(10**6):06d}")
            elif kind == "eh":
                ref = self.uid(f"eh:{authority}", lambda r: f"EHP{r.randrange(10**7):07d}")
            else:
                ref = self.uid(f"yjs:{authority}", lambda r: f"YJ{la}/{r.randrange(10**5):05d}")
            p.local_refs[key] = ref
        return ref

    def school(self, p: Person, authority: str, phase: str) -> str:
        key = (authority, phase)
        if key not in p.schools:
            pool = self.schools.get(key)
            if pool is None:
                pool = []
                for _ in range(45 if phase == "primary" else 12):
                    while True:
                        urn = str(self.idrng.randrange(100000, 150000))
                        if urn not in self._school_urns:
                            self._school_urns.add(urn)
                            pool.append(urn)
                            break
                self.schools[key] = pool
            p.schools[key] = self.rng.choice(pool)
        return p.schools[key]

    # ------------------------------------------------------------ dates
    def in_window(self, d: date) -> bool:
        return self.w0 < d <= self.as_of

    def win_date(self, lo: date | None = None) -> date:
        """A date in the last 12 months, sometimes exactly on its first day or on as_of."""
        u = self.rng.random()
        first = self.w0 + timedelta(days=1)
        lo = max(first, lo) if lo else first
        if u < 0.04 and lo <= first:
            return first
        if u < 0.08:
            return self.as_of
        return rand_date(self.rng, lo, self.as_of)

    def pre_date(self, lo: date | None = None, margin: int = 0) -> date:
        """A date in the history before the window (on or before as_of - 12 months)."""
        lo = max(self.h0, lo) if lo else self.h0
        hi = self.w0 - timedelta(days=margin)
        if self.rng.random() < 0.05 and lo <= self.w0 and margin == 0:
            return self.w0
        return rand_date(self.rng, lo, max(lo, hi))

    def any_date(self, lo: date | None = None, hi: date | None = None) -> date:
        lo = max(self.h0, lo) if lo else self.h0
        return rand_date(self.rng, lo, hi or self.as_of)

    def lagged(self, d: date) -> date:
        """When a closure is recorded and re-sent: usually the same day, sometimes weeks later."""
        u = self.rng.random()
        return d if u < 0.7 else d + timedelta(days=self.rng.randint(1, 40))

    # ------------------------------------------------------------ records
    def add(
        self,
        feed: str,
        person: Person | None,
        event_date: date,
        values: Values,
        *,
        address: Address | None = None,
        authority: str | None = None,
        updates: list[tuple[date, Values]] | None = None,
    ) -> Rec | None:
        if event_date > self.as_of or event_date < self.h0:
            return None
        if person is not None and event_date < person.dob:
            return None
        if address is None:
            assert person is not None
            address = person.hh.address_on(event_date)
        versions = [(event_date, values)]
        for eff, changes in updates or []:
            if any(isinstance(v, date) and v < event_date for v in changes.values()):
                continue  # never an end before its start in the true data (that is noise, added later)
            if eff <= self.as_of:
                merged = dict(versions[-1][1])
                merged.update(changes)
                versions.append((max(eff, event_date), merged))
        rec = Rec(
            len(self.records), feed, authority or address.authority, person, event_date, address, versions
        )
        self.records.append(rec)
        return rec

    def health(
        self,
        p: Person,
        service: str,
        referral: date,
        discharge: date | None,
        outcome: str | None = None,
        *,
        authority: str | None = None,
    ) -> Rec | None:
        rid = self.uid("referral", lambda r: f"RF{r.randrange(10**9):09d}")
        base = {"referral_id": rid, "service": service, "referral_date": referral, "outcome": outcome}
        if discharge is not None and discharge <= referral + timedelta(days=1) and discharge <= self.as_of:
            return self.add(
                "health_services", p, referral, {**base, "discharge_date": discharge}, authority=authority
            )
        updates = [(self.lagged(discharge), {"discharge_date": discharge})] if discharge else []
        return self.add(
            "health_services",
            p,
            referral,
            {**base, "discharge_date": None},
            authority=authority,
            updates=updates,
        )

    def dwp(self, p: Person, benefit: str, ws: str | None, start: date, end: date | None) -> None:
        aid = self.uid("award", lambda r: f"AW{r.randrange(10**9):09d}")
        vals = {
            "award_id": aid,
            "benefit": benefit,
            "work_status": ws,
            "award_start": start,
            "award_end": None,
        }
        updates = [(self.lagged(end), {"award_end": end})] if end else []
        self.add("dwp_benefits", p, start, vals, updates=updates)

    def csc(self, child: Person, etype: str, start: date, end: date | None) -> None:
        if start < child.dob:
            return
        authority = child.hh.address_on(start).authority
        la = vocab.LA_CODES[authority]
        category = None
        if etype == "CP" or (etype == "CIN" and self.rng.random() < 0.5):
            category = self.rng.choices(
                ("NEGLECT", "EMOTIONAL", "PHYSICAL", "SEXUAL", "MULTIPLE"), (40, 30, 14, 5, 11)
            )[0]
        vals = {
            "episode_id": self.uid("episode", lambda r: f"EP{la}{r.randrange(10**7):07d}"),
            "child_ref": self.local_ref(child, authority, "child"),
            "episode_type": etype,
            "category": category,
            "start_date": start,
            "end_date": None,
        }
        updates = [(self.lagged(end), {"end_date": end})] if end else []
        self.add("childrens_social_care", child, start, vals, updates=updates)

    def police(
        self,
        d: date,
        participants: list[tuple[Person, str]],
        itype: str,
        group: str | None,
        da: str,
        *,
        authority: str | None = None,
    ) -> None:
        ref = self.incident_ref(d)
        seen: set[str] = set()
        for p, role in participants:
            if p.pid in seen or d < p.dob:
                continue
            seen.add(p.pid)
            vals = {
                "incident_ref": ref,
                "person_ref": self.police_ref(p),
                "role": role,
                "incident_date": d,
                "incident_type": itype,
                "offence_group": group if itype == "CRIME" else None,
                "domestic_abuse": da,
            }
            self.add(
                "police_incidents",
                p,
                d,
                vals,
                authority=authority or participants[0][0].hh.address_on(d).authority,
            )

    def probation(self, p: Person, stype: str, start: date, end: date | None, da: str) -> None:
        vals = {
            "crn": self.crn(p),
            "sentence_type": stype,
            "start_date": start,
            "end_date": None,
            "da_perpetrator": da,
        }
        updates = [(self.lagged(end), {"end_date": end})] if end else []
        self.add("probation", p, start, vals, updates=updates)

    def youth(self, p: Person, outcome_date: date) -> None:
        authority = p.hh.address_on(outcome_date).authority
        otype = self.rng.choices(
            ("YOUTH_CAUTION", "YOUTH_CONDITIONAL_CAUTION", "REFERRAL_ORDER", "YRO", "CUSTODY"),
            (30, 22, 30, 13, 5),
        )[0]
        offence = outcome_date - timedelta(days=self.rng.randint(7, 120)) if self.rng.random() < 0.9 else None
        vals = {
            "yjs_ref": self.local_ref(p, authority, "yjs"),
            "outcome_type": otype,
            "offence_date": offence,
            "outcome_date": outcome_date,
        }
        self.add("youth_justice", p, outcome_date, vals)

    # ------------------------------------------------------------ planning
    def census_terms(self, c: Person) -> list[str]:
        if c.upn is None:
            return []
        out = []
        for code in terms_ending_between(max(self.census_start, self.h0), self.as_of):
            if 4 <= school_year_age(c.dob, int(code[:4])) <= 15:
                out.append(code)
        return out
