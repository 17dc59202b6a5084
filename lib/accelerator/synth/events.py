"""True records per feed: what happened to each person, household and address over the history.

A :class:`Rec` is one partner record (one record key) with its versions: the first version is sent
when the event happens, later versions re-send it with something filled in (a discharge, an end
date, a case closure). Values are clean Python values (``date``, ``str``, ``int``, ``float`` or
``None``); person columns (names, date of birth, identifiers, address) are added when a row is
rendered, from the person and the address they lived at on the event date.

Each household gets a tier (0 background, 1 some problems, 2 multiple problems) and a set of target
headlines; the generators below produce records inside or outside the outcomes.md windows so the
targets come true. The truth is nevertheless computed from the delivered records, not from targets.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from accelerator.feeds import FEEDS
from accelerator.synth import vocab
from accelerator.synth.dates import add_months, rand_date, school_year_age, term_end, terms_ending_between
from accelerator.synth.population import Address, Household, Person, PopulationBuilder

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


class EventBuilder:
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

    def plan(self, hh: Household) -> Plan:
        rng, as_of = self.rng, self.as_of
        plan = Plan()
        kids = [m for m in hh.members if m.age(as_of) < 18]
        adults = [m for m in hh.members if m.age(as_of) >= 18]
        expectant = [m for m in hh.members if m.expectant]
        has_child = bool(kids) or bool(expectant)
        u = rng.random()
        t2 = 0.24 if has_child else 0.07
        plan.tier = 2 if u < t2 else 1 if u < t2 + 0.30 else 0

        cand: dict[int, float] = {}
        school = [
            c
            for c in kids
            if 5 <= c.age(as_of) <= 16 and any(self.in_window(term_end(t)) for t in self.census_terms(c))
        ]
        if school:
            cand[1] = 1.0
        review = [c for c in kids if c.age(as_of) < 5 and c.review_date and self.in_window(c.review_date)]
        babies = [c for c in kids if c.dob >= self.h0 and self.in_window(c.dob - timedelta(days=200))]
        mothers = [m for m in hh.members if m.sex == "F" and m.rel in ("LEAD", "PARTNER")]
        if review or (babies and mothers) or expectant:
            cand[2] = 2.0
        cand[3] = 1.0
        if adults:
            cand[4], cand[8], cand[10] = 0.6, 0.8, 1.2
        if kids:
            cand[5], cand[6] = 0.6, 0.9
        cand[7] = 0.9 if adults or any(c.age(as_of) >= 11 for c in kids) else 0.0
        cand[9] = 0.7
        n = {0: 0, 1: rng.choice((1, 1, 2)), 2: rng.choice((3, 3, 4, 4, 5, 6))}[plan.tier]
        pool = {h: w for h, w in cand.items() if w > 0}
        if 2 in pool and rng.random() < 0.12:  # early years concerns are common outside complex families too
            plan.headlines.add(2)
            del pool[2]
            n += 1
        while pool and len(plan.headlines) < n:
            hs = sorted(pool)
            h = rng.choices(hs, [pool[x] for x in hs])[0]
            plan.headlines.add(h)
            del pool[h]

        for h in sorted(plan.headlines):
            if h == 1:
                c = rng.choice(school)
                window_terms = [t for t in self.census_terms(c) if self.in_window(term_end(t))]
                chosen = rng.sample(window_terms, min(len(window_terms), rng.choice((1, 1, 2))))
                plan.h01_terms[c.pid] = {
                    t: rng.choices(("low", "susp", "excl"), (70, 26, 4))[0] for t in chosen
                }
            elif h == 2:
                options = (["hv"] if review else []) + (["mat"] if (babies and mothers) or expectant else [])
                path = rng.choice(options)
                plan.paths[2] = path
                if path == "hv":
                    plan.hv_below.add(rng.choice(review).pid)
                else:
                    targets = [b.pid for b in babies] if babies and mothers else []
                    targets += [m.pid for m in expectant]
                    plan.maternity_concern.add(rng.choice(targets))
            elif h in (3, 4):
                plan.paths[h] = "health" if rng.random() < 0.65 else "eh"
            elif h == 5:
                plan.paths[h] = "eh"
            elif h == 7:
                opts, ws = ["police"], [0.6]
                if any(10 <= c.age(as_of) <= 17 for c in kids):
                    opts.append("yj")
                    ws.append(0.35)
                if adults:
                    opts.append("probation")
                    ws.append(0.25)
                plan.paths[7] = rng.choices(opts, ws)[0]
                if not adults and plan.paths[7] == "police":
                    plan.paths[7] = "police_teen"
            elif h == 8:
                plan.paths[8] = "police" if rng.random() < 0.8 else "probation"
            elif h == 10:
                plan.paths[10] = rng.choices(("dwp", "housing", "eh"), (0.6, 0.2, 0.2))[0]
        eh_paths = {h for h, p in plan.paths.items() if p == "eh"}
        plan.eh_case = (
            bool(eh_paths)
            or (plan.tier == 2 and rng.random() < 0.7)
            or (plan.tier == 1 and rng.random() < 0.1)
        )
        if plan.eh_case:
            for h in eh_paths:
                if h == 3:
                    plan.eh_needs.add("MENTAL_HEALTH")
                elif h == 4:
                    plan.eh_needs.add("SUBSTANCE")
                elif h == 5:
                    plan.eh_needs.add(
                        "PARENTAL_CONFLICT" if len(adults) >= 2 or rng.random() < 0.4 else "YOUNG_CARER"
                    )
                elif h == 10:
                    plan.eh_needs.add("DEBT" if rng.random() < 0.7 else "NEET")
            for h, code in EH_CONTEXT.items():
                if h in plan.headlines and rng.random() < 0.7:
                    plan.eh_needs.add(code)
            if not plan.eh_needs:
                plan.eh_needs.add(rng.choice(("ATTENDANCE", "EARLY_YEARS", "HOUSING", "DOMESTIC_ABUSE")))
        self._plan_housing(hh, plan)
        self.plans[hh.hid] = plan
        hh.tier, hh.headlines = plan.tier, plan.headlines
        return plan

    def _plan_housing(self, hh: Household, plan: Plan) -> None:
        rng = self.rng
        h09 = 9 in plan.headlines
        arrears = plan.paths.get(10) == "housing"
        background = not h09 and not arrears and rng.random() < (0.03 + 0.04 * plan.tier)
        if not (h09 or arrears or background):
            return
        lo = self.h0 + timedelta(days=20)
        if hh.inter_move is not None:
            lo = max(lo, hh.inter_move + timedelta(days=5))
        first = max(lo, self.w0 + timedelta(days=1))

        def pre(n: int) -> list[date]:
            """Up to n distinct dates before the window (fewer when the history is short)."""
            hi = self.w0 - timedelta(days=10)
            if lo > hi:
                return []
            return sorted({rand_date(rng, lo, hi) for _ in range(n)})

        def win(n: int) -> list[date]:
            """n distinct dates in the window."""
            ds: set[date] = set()
            while len(ds) < n:
                ds.add(self.win_date(first) if len(ds) == 0 else rand_date(rng, first, self.as_of))
            return sorted(ds)

        def seq(names: list[str], dates: list[date]) -> list[tuple[date, str]]:
            """The last len(dates) statuses of a progression, on those dates."""
            return list(zip(dates, names[len(names) - len(dates) :], strict=True))

        if h09:
            variant = "C" if arrears else rng.choices("ABCDE", (30, 25, 20, 10, 15))[0]
            if variant == "A":
                statuses = seq(["HOMELESS_PREVENTION"], win(1))
            elif variant == "B":
                statuses = seq(
                    ["HOMELESS_PREVENTION", "HOMELESS_RELIEF", "TEMPORARY_ACCOMMODATION"], pre(2) + win(1)
                )
            elif variant == "C":
                statuses = seq(["RENT_ARREARS", "NOTICE_SEEKING_POSSESSION"], win(2))
            elif variant == "D":
                statuses = seq(
                    ["RENT_ARREARS", "NOTICE_SEEKING_POSSESSION", "EVICTED", "HOMELESS_RELIEF"],
                    pre(2) + win(2),
                )
            else:
                statuses = seq(["HOMELESS_PREVENTION", "HOMELESS_RELIEF"], win(2))
        elif arrears:
            statuses = seq(["RENT_ARREARS", "SETTLED"], win(2) if rng.random() < 0.4 else win(1)[:1])
            if len(statuses) == 1:
                statuses = [(statuses[0][0], "RENT_ARREARS")]
        else:
            variant = rng.choice("XYZ")
            if variant == "X":  # prevention then settled inside the window: the latest is SETTLED
                statuses = seq(["HOMELESS_PREVENTION", "SETTLED"], pre(1) + win(1))
            elif variant == "Y" and pre(1):  # everything before the window
                statuses = seq(["HOMELESS_RELIEF", "TEMPORARY_ACCOMMODATION", "SETTLED"], pre(3))
                if rng.random() < 0.3:  # the last status exactly on the window's (exclusive) start
                    statuses = [*statuses[:-1], (self.w0, "TEMPORARY_ACCOMMODATION")]
            else:  # temporary accommodation before the window, settled inside it
                statuses = seq(["HOMELESS_RELIEF", "TEMPORARY_ACCOMMODATION", "SETTLED"], pre(2) + win(1))
        plan.housing = statuses
        # temporary accommodation and settling after it mean a move (within the authority)
        authority = (hh.moves[-1][1] if hh.inter_move else hh.residences[0][1]).authority
        in_ta = False
        moves: list[tuple[date, Address]] = []
        for d, status in statuses:
            if status == "TEMPORARY_ACCOMMODATION":
                moves.append((d, self.pop.book.new(authority, temporary=True)))
                in_ta = True
            elif status == "SETTLED" and in_ta:
                moves.append((d, self.pop.book.new(authority)))
                in_ta = False
        if moves:
            hh.moves = [m for m in hh.moves if hh.inter_move is not None and m[0] == hh.inter_move] + moves

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

    def _household_records(self, hh: Household, plan: Plan) -> None:
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        members = hh.members
        kids = [m for m in members if m.age(as_of) < 18]
        adults = [m for m in members if m.age(as_of) >= 18]
        heads = plan.headlines

        # ---- school census (every pupil, every term of the history)
        for c in members:
            flags = plan.h01_terms.get(c.pid, {})
            for t in self.census_terms(c):
                self._census(c, t, flags.get(t), plan)

        # ---- health visiting, maternity, A&E
        outcome: str | None
        for c in members:
            if c.dob >= self.h0 - timedelta(days=20) and rng.random() < 0.9:
                d = c.dob + timedelta(days=rng.randint(10, 16))
                self.health(c, "HEALTH_VISITING", d, d + timedelta(days=rng.randint(30, 70)))
            if (
                c.review_date
                and self.h0 <= c.review_date <= as_of
                and (c.pid in plan.hv_below or rng.random() < 0.85)
            ):
                if c.pid in plan.hv_below:
                    outcome = "BELOW_EXPECTED"
                elif self.in_window(c.review_date):
                    outcome = "ON_TRACK"
                else:
                    outcome = "BELOW_EXPECTED" if rng.random() < 0.15 else "ON_TRACK"
                self.health(
                    c,
                    "HEALTH_VISITING",
                    c.review_date,
                    c.review_date + timedelta(days=rng.randint(0, 25)),
                    outcome,
                )
        mothers = [m for m in members if m.sex == "F" and m.rel in ("LEAD", "PARTNER")]
        for b in [m for m in members if m.dob >= self.h0]:
            if not mothers:
                break
            mum = mothers[0]
            ref = b.dob - timedelta(days=rng.randint(190, 230))
            if ref < self.h0:
                continue
            if b.pid in plan.maternity_concern:
                outcome = "CONCERN"
                if not self.in_window(ref):
                    ref = max(w0 + timedelta(days=1), min(ref, b.dob))
            elif self.in_window(ref):
                outcome = "NO_CONCERN"
            else:
                outcome = "CONCERN" if rng.random() < 0.12 else "NO_CONCERN"
            self.health(mum, "MATERNITY", ref, b.dob + timedelta(days=rng.randint(20, 50)), outcome)
        for m in members:
            if m.expectant:
                ref = as_of - timedelta(days=rng.randint(0, 200)) if rng.random() > 0.03 else as_of
                outcome = "CONCERN" if m.pid in plan.maternity_concern else rng.choice((None, "NO_CONCERN"))
                self.health(m, "MATERNITY", ref, None, outcome)
        for m in members:
            n = rng.choices((0, 1, 2, 3), (85, 12, 2.5, 0.5))[0] + (
                1 if plan.tier == 2 and rng.random() < 0.3 else 0
            )
            for _ in range(n):
                d = self.any_date(m.dob)
                authority = None
                if rng.random() < 0.08 and d <= as_of - timedelta(days=60):
                    home = m.hh.address_on(d).authority
                    authority = rng.choice(vocab.NEIGHBOURS[home])
                self.health(m, "AE_ATTENDANCE", d, d, authority=authority)

        # ---- headline 3 and 4 (health route) and their background
        for h, service, min_age in ((3, "MENTAL_HEALTH", 11), (4, "SUBSTANCE_MISUSE", 16)):
            eligible = [m for m in members if m.age(as_of) >= min_age]
            if not eligible:
                continue
            if plan.paths.get(h) == "health":
                p = self._pick(eligible)
                if rng.random() < 0.7:
                    ref = self.win_date()
                    dis = None if rng.random() < 0.5 else ref + timedelta(days=rng.randint(20, 200))
                else:
                    ref = self.pre_date(margin=30)
                    dis = None if rng.random() < 0.5 else self.win_date()
                self.health(p, service, ref, dis)
            elif h not in heads:
                for p in eligible:
                    if rng.random() < 0.03 + 0.03 * plan.tier:
                        ref = self.pre_date(margin=60)
                        dis = w0 if rng.random() < 0.2 else rand_date(rng, ref + timedelta(days=10), w0)
                        if dis <= w0:
                            self.health(p, service, ref, dis)

        # ---- children's social care (headline 6 and background)
        if 6 in heads and kids:
            c = self._pick(kids)
            etype = self._episode_type(c)
            if rng.random() < 0.6:
                start = self.win_date(c.dob)
                end = None if rng.random() < 0.6 else start + timedelta(days=rng.randint(2, 200))
            else:
                start = self.pre_date(c.dob, margin=10)
                end = None if rng.random() < 0.5 else self.win_date()
            if etype == "MISSING" and end is None:
                end = start + timedelta(days=rng.randint(1, 6))
            self.csc(c, etype, max(start, c.dob), end)
            if etype != "MISSING" and rng.random() < 0.3:
                self.csc(c, "MISSING", self.win_date(c.dob), None)
        elif kids:
            for c in kids:
                if rng.random() < 0.03 + 0.03 * plan.tier:
                    start = self.pre_date(c.dob, margin=40)
                    end = w0 if rng.random() < 0.25 else rand_date(rng, start + timedelta(days=5), w0)
                    self.csc(c, self._episode_type(c), start, end)
        for m in members:
            if 18 <= m.age(as_of) <= 19 and rng.random() < 0.25 * (1 + plan.tier):
                # an episode while still a child, open in the window, but an adult at as_of: not headline 6
                start = self.any_date(m.dob, as_of - timedelta(days=400))
                if m.age(start) < 18:
                    self.csc(m, "EXPLOITATION_RISK" if rng.random() < 0.5 else "CIN", start, None)

        # ---- crime, domestic abuse (police, youth justice, probation)
        self._crime(hh, plan, kids, adults)

        # ---- benefits
        for a in adults:
            if plan.paths.get(10) == "dwp" and a is adults[0]:
                benefit = rng.choices(("UC", "ESA", "JSA"), (70, 15, 15))[0]
                if rng.random() < 0.6:
                    start = self.win_date(a.dob + timedelta(days=18 * 366))
                    end = None if rng.random() < 0.7 else start + timedelta(days=rng.randint(30, 300))
                else:
                    start = self.pre_date(margin=20)
                    end = None if rng.random() < 0.5 else self.win_date()
                self.dwp(a, benefit, "OUT_OF_WORK", start, end)
            if rng.random() < 0.27 + 0.1 * plan.tier:
                benefit, ws = rng.choices(
                    (
                        ("UC", "IN_WORK"),
                        ("UC", "NO_WORK_REQUIREMENT"),
                        ("PIP", None),
                        ("CARERS", "NO_WORK_REQUIREMENT"),
                        ("ESA", "NO_WORK_REQUIREMENT"),
                    ),
                    (40, 15, 20, 12, 13),
                )[0]
                start = self.any_date(a.dob + timedelta(days=16 * 366))
                end = None if rng.random() < 0.65 else start + timedelta(days=rng.randint(30, 500))
                self.dwp(a, benefit, ws, start, end)
            if 10 not in heads and rng.random() < 0.05 + 0.04 * plan.tier:
                start = self.pre_date(margin=90)
                end = w0 if rng.random() < 0.2 else rand_date(rng, start + timedelta(days=20), w0)
                self.dwp(a, rng.choice(("UC", "JSA", "ESA")), "OUT_OF_WORK", start, end)
        for m in members:
            # a 17-year-old's out-of-work award: not headline 10 (not an adult at as_of)
            if m.age(as_of) == 17 and rng.random() < 0.2:
                self.dwp(m, "UC", "OUT_OF_WORK", self.win_date(m.dob + timedelta(days=16 * 366)), None)

        # ---- housing
        if plan.housing:
            self._housing(hh, plan.housing)

        # ---- early help
        if plan.eh_case:
            self._early_help_open(hh, plan)
        if rng.random() < 0.03 + 0.04 * plan.tier:
            self._early_help_closed(hh)

        # ---- fire and rescue
        elderly = any(m.age(as_of) >= 70 for m in members)
        for vtype, prob in (
            ("SAFE_AND_WELL", 0.04 + (0.08 if elderly else 0.0)),
            ("DELIBERATE_FIRE", 0.008 + 0.006 * plan.tier),
            ("HOARDING_CONCERN", 0.006 + (0.01 if elderly else 0.0)),
        ):
            if rng.random() < prob:
                d = self.any_date()
                addr = hh.address_on(d)
                vals = {
                    "visit_ref": self.uid(
                        "visit", lambda r, d=d: f"GMFRS/{d.year % 100:02d}/{r.randrange(10**6):06d}"
                    ),
                    "visit_type": vtype,
                    "visit_date": d,
                }
                self.add("fire_rescue", None, d, vals, address=addr)

    def _episode_type(self, c: Person) -> str:
        if c.age(self.as_of) >= 10:
            return self.rng.choices(
                ("CIN", "CP", "CLA", "MISSING", "EXPLOITATION_RISK"), (35, 20, 8, 17, 20)
            )[0]
        return self.rng.choices(("CIN", "CP", "CLA"), (55, 35, 10))[0]

    def _census(self, c: Person, term: str, flag: str | None, plan: Plan) -> None:
        rng = self.rng
        end = term_end(term)
        addr = c.hh.address_on(end)
        phase = "primary" if school_year_age(c.dob, int(term[:4])) <= 10 else "secondary"
        possible = {"AUT": 140, "SPR": 116, "SUM": 124}[term[4:]] - rng.choice((0, 0, 0, 2, 4, 6))
        suspensions, excl = 0, "N"
        age = c.age(self.as_of)
        edge_age = age < 5 or age > 16
        in_window = self.in_window(end)
        if flag == "low" or (edge_age and in_window and rng.random() < 0.2):
            absent = round(possible * rng.uniform(0.11, 0.32))
        elif flag == "susp":
            absent = round(possible * rng.uniform(0.0, 0.08))
            suspensions = rng.randint(1, 3)
        elif flag == "excl":
            absent = round(possible * rng.uniform(0.03, 0.09))
            suspensions, excl = rng.randint(0, 2), "Y"
        elif not in_window and rng.random() < 0.1 + 0.1 * plan.tier:
            absent = round(possible * rng.uniform(0.11, 0.3))
            suspensions = rng.choice((0, 0, 1))
        elif in_window and rng.random() < 0.03:
            possible = 120
            absent = 12  # exactly 90% attendance: not below 90%
        else:
            absent = round(possible * (rng.random() ** 2) * 0.095)
        authorised = round(absent * rng.uniform(0.3, 0.9))
        assert c.upn is not None
        vals = {
            "upn": c.upn,
            "school_urn": self.school(c, addr.authority, phase),
            "census_term": term,
            "sessions_possible": possible,
            "sessions_authorised_absence": authorised,
            "sessions_unauthorised_absence": absent - authorised,
            "suspensions": suspensions,
            "permanent_exclusion": excl,
            "sen_provision": c.sen,
            "fsm_eligible": c.fsm,
        }
        self.add("school_census", c, end, vals, address=addr)

    def _other_person(self, authority: str, on: date, min_age: int = 10) -> Person | None:
        """Someone living in ``authority`` on ``on`` (a victim or witness from another household)."""
        people = self._by_authority[authority]
        for _ in range(20):
            p = self.rng.choice(people)
            if p.dob <= on and p.age(on) >= min_age and p.hh.address_on(on).authority == authority:
                return p
        return None

    def _crime(self, hh: Household, plan: Plan, kids: list[Person], adults: list[Person]) -> None:
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        heads = plan.headlines
        teens = [c for c in kids if c.age(as_of) >= 11]
        path7 = plan.paths.get(7)
        if 7 in heads and path7 in ("police", "police_teen"):
            pool = adults if path7 == "police" else teens
            offender = self._pick(pool)
            d = self.win_date(offender.dob + timedelta(days=10 * 366))
            itype = "CRIME" if rng.random() < 0.75 else "ASB"
            group = rng.choices(OFFENCE_GROUPS, OFFENCE_WEIGHTS)[0]
            parts = [(offender, "OFFENDER" if rng.random() < 0.7 else "SUSPECT")]
            other = self._other_person(hh.address_on(d).authority, d) if rng.random() < 0.5 else None
            if other is not None:
                parts.append((other, rng.choice(("VICTIM", "WITNESS"))))
            self.police(d, parts, itype, group, "N")
        elif 7 in heads and path7 == "yj":
            teen = self._pick([c for c in kids if 10 <= c.age(as_of) <= 17])
            self.youth(teen, self.win_date(teen.dob + timedelta(days=10 * 366)))
        elif 7 in heads and path7 == "probation":
            a = self._pick(adults)
            self._probation_open(a, "N")
        if 8 in heads:
            if plan.paths.get(8) == "probation" and adults:
                men = [a for a in adults if a.sex == "M"] or adults
                self._probation_open(self._pick(men), "Y")
            else:
                self._da_incident(hh, adults, kids, self.win_date())
        # background: victims and witnesses at any time, offending before the window, old DA
        for m in hh.members:
            age = m.age(as_of)
            if age >= 10 and rng.random() < (0.05 if age >= 18 else 0.03):
                d = self.any_date(m.dob + timedelta(days=10 * 366))
                authority = None
                if rng.random() < 0.12 and d <= as_of - timedelta(days=60):
                    authority = rng.choice(("manchester", *vocab.NEIGHBOURS[m.hh.address_on(d).authority]))
                itype = "CRIME" if rng.random() < 0.8 else "ASB"
                parts = [(m, rng.choice(("VICTIM", "VICTIM", "WITNESS")))]
                self.police(
                    d, parts, itype, rng.choices(OFFENCE_GROUPS, OFFENCE_WEIGHTS)[0], "N", authority=authority
                )
            if (
                7 not in heads
                and age >= 12
                and rng.random() < (0.03 if age >= 18 else 0.02) * (1 + plan.tier)
            ):
                d = self.pre_date(m.dob + timedelta(days=10 * 366))
                if m.age(d) >= 10:
                    self.police(d, [(m, rng.choice(("OFFENDER", "SUSPECT")))], rng.choice(("CRIME", "ASB")),
                                rng.choices(OFFENCE_GROUPS, OFFENCE_WEIGHTS)[0], "N")  # fmt: skip
            if 7 not in heads and 10 <= age <= 19 and rng.random() < 0.01 * (1 + plan.tier):
                d = self.pre_date(m.dob + timedelta(days=10 * 366))
                if 10 <= m.age(d) <= 17:
                    self.youth(m, d)
            if 7 not in heads and age >= 21 and rng.random() < 0.01 * (1 + plan.tier):
                start = self.pre_date(margin=200)
                end = w0 if rng.random() < 0.25 else rand_date(rng, start + timedelta(days=60), w0)
                self.probation(m, rng.choice(("COMMUNITY", "LICENCE")), start, end, "N")
        if 8 not in heads and len(adults) >= 2 and rng.random() < 0.02 * (1 + plan.tier):
            self._da_incident(hh, adults, kids, self.pre_date())

    def _probation_open(self, a: Person, da: str) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            start = self.win_date()
            end = None if rng.random() < 0.7 else start + timedelta(days=rng.randint(60, 400))
        else:
            start = self.pre_date(margin=30)
            end = None if rng.random() < 0.5 else self.win_date()
        stype = rng.choices(("COMMUNITY", "CUSTODY", "LICENCE"), (60, 15, 25))[0]
        if stype == "CUSTODY" and end is not None:
            self.probation(a, "CUSTODY", start, end, da)
            if end + timedelta(days=1) <= self.as_of:
                self.probation(a, "LICENCE", end + timedelta(days=1), None, da)
            return
        self.probation(a, stype, start, end, da)

    def _da_incident(self, hh: Household, adults: list[Person], kids: list[Person], d: date) -> None:
        rng = self.rng
        present = [a for a in adults if a.dob <= d]
        if not present:
            return
        offender: Person | None
        women = [a for a in present if a.sex == "F"]
        men = [a for a in present if a.sex == "M"]
        if women and men and rng.random() < 0.85:
            victim, offender = rng.choice(women), rng.choice(men)
        else:
            victim = rng.choice(present)
            others = [a for a in present if a is not victim]
            offender = rng.choice(others) if others else None
        parts = [(victim, "VICTIM")]
        if offender is not None:
            parts.append((offender, "OFFENDER" if rng.random() < 0.8 else "SUSPECT"))
        for c in kids:
            if c.dob <= d - timedelta(days=3 * 365) and rng.random() < 0.3:
                parts.append((c, "WITNESS"))
        itype = "CRIME" if rng.random() < 0.9 else "ASB"
        group = rng.choices(("VIOLENCE", "PUBLIC_ORDER", "CRIMINAL_DAMAGE", "OTHER"), (60, 15, 15, 10))[0]
        self.police(d, parts, itype, group, "Y", authority=hh.address_on(d).authority)

    def _housing(self, hh: Household, statuses: list[tuple[date, str]]) -> None:
        rng = self.rng
        authority = hh.address_on(statuses[0][0]).authority
        la = vocab.LA_CODES[authority]
        case_ref = self.uid("housing", lambda r: f"HOU{la}{r.randrange(10**6):06d}")
        order = sorted(hh.members, key=lambda m: {"LEAD": 0, "PARTNER": 1}.get(m.rel, 2))
        member_no = {m.pid: i + 1 for i, m in enumerate(order)}
        arrears = round(rng.uniform(150, 4200), 2)
        for d, status in statuses:
            for m in order:
                if m.dob > d:
                    continue
                vals = {
                    "case_ref": case_ref,
                    "member_no": member_no[m.pid],
                    "relationship": m.rel,
                    "status": status,
                    "status_date": d,
                    "arrears_amount": arrears if status == "RENT_ARREARS" else None,
                }
                self.add("housing", m, d, vals, authority=authority)

    def _eh_rows(self, hh: Household, open_date: date, close: date | None, needs: set[str]) -> None:
        rng = self.rng
        authority = hh.address_on(open_date).authority
        la = vocab.LA_CODES[authority]
        case_ref = self.uid("ehcase", lambda r: f"FC{la}-{r.randrange(10**6):06d}")
        lp = f"{rng.choice(vocab.FEMALE_FORENAMES + vocab.MALE_FORENAMES)} {rng.choice(vocab.SURNAMES)}"
        agency = rng.choice(vocab.LEAD_AGENCIES)
        consent = "Y" if rng.random() < 0.92 else "N"
        codes = sorted(needs)
        rng.shuffle(codes)
        present = [m for m in hh.members if m.dob <= open_date]
        carers = [m for m in present if m.rel in ("LEAD", "PARTNER") and m.age(open_date) >= 16]
        main = carers[0] if carers else None
        for m in present:
            if m is main:
                role = "MAIN_CARER"
            elif m in carers:
                role = "PARENT"
            elif m.age(open_date) < 18:
                role = "CHILD"
            else:
                role = "OTHER_ADULT"
            vals = {
                "family_case_ref": case_ref,
                "person_ref": self.local_ref(m, authority, "eh"),
                "role": role,
                "lead_professional": lp,
                "lead_agency": agency,
                "case_open_date": open_date,
                "case_close_date": None,
                "presenting_needs": ";".join(codes),
                "consent_to_share": consent,
            }
            updates = []
            if close is not None:
                eff = self.lagged(close)
                updates = [(eff if eff <= self.as_of else close, {"case_close_date": close})]
            self.add("early_help", m, open_date, vals, authority=authority, updates=updates)

    def _early_help_open(self, hh: Household, plan: Plan) -> None:
        lo = max(self.h0, self.w0 - timedelta(days=270))
        last = hh.last_move()
        if last is not None:
            lo = max(lo, last + timedelta(days=1))
        open_date = (
            self.as_of
            if self.rng.random() < 0.03
            else rand_date(self.rng, lo, self.as_of - timedelta(days=3))
        )
        self._eh_rows(hh, open_date, None, plan.eh_needs)

    def _early_help_closed(self, hh: Household) -> None:
        rng = self.rng
        all_needs = [
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
        ]
        needs = set(rng.sample(all_needs, rng.randint(1, 3)))
        open_date = self.any_date(hi=self.as_of - timedelta(days=90))
        close = rand_date(
            rng, open_date + timedelta(days=30), min(self.as_of, open_date + timedelta(days=320))
        )
        if rng.random() < 0.15:
            close = self.as_of  # closed on as_of: not open at as_of
        if hh.inter_move is not None and open_date < hh.inter_move:
            close = min(close, hh.inter_move)
        if hh.inter_move is not None and open_date < hh.inter_move <= close:
            return
        self._eh_rows(hh, open_date, close, needs)

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
