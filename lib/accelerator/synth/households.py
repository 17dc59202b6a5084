"""One household's records over the history, as its plan says: schooling, health, benefits, social
care, crime, probation, housing and early help, inside or outside the outcomes.md windows."""

from __future__ import annotations

from datetime import date, timedelta

from accelerator.synth import vocab
from accelerator.synth.dates import rand_date, school_year_age, term_end
from accelerator.synth.plans import Planner
from accelerator.synth.population import Household, Person
from accelerator.synth.records import OFFENCE_GROUPS, OFFENCE_WEIGHTS, Plan


class HouseholdRecords(Planner):
    def _pick(self, people: list[Person]) -> Person:
        return self.rng.choice(people)

    def _household_records(self, hh: Household, plan: Plan) -> None:
        """Every record of one household, feed by feed, as its plan says. The order is the
        generator's: each section draws from the same random stream in turn."""
        self._school_records(hh, plan)
        self._health_records(hh, plan)
        self._mental_health_and_substance(hh, plan)
        self._social_care_records(hh, plan)
        members = hh.members
        kids = [m for m in members if m.age(self.as_of) < 18]
        adults = [m for m in members if m.age(self.as_of) >= 18]
        self._crime(hh, plan, kids, adults)
        self._benefit_records(hh, plan)
        if plan.housing:
            self._housing(hh, plan.housing)
        if plan.eh_case:
            self._early_help_open(hh, plan)
        if self.rng.random() < 0.03 + 0.04 * plan.tier:
            self._early_help_closed(hh)
        self._fire_records(hh, plan)

    def _school_records(self, hh: Household, plan: Plan) -> None:
        """School census: every pupil, every term of the history."""
        members = hh.members
        for c in members:
            flags = plan.h01_terms.get(c.pid, {})
            for t in self.census_terms(c):
                self._census(c, t, flags.get(t), plan)

    def _health_records(self, hh: Household, plan: Plan) -> None:
        """Health visiting, maternity and A&E."""
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        members = hh.members
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

    def _mental_health_and_substance(self, hh: Household, plan: Plan) -> None:
        """Headlines 3 and 4 by the health route, and their background."""
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        members = hh.members
        heads = plan.headlines
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

    def _social_care_records(self, hh: Household, plan: Plan) -> None:
        """Children's social care: headline 6 and its background."""
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        members = hh.members
        kids = [m for m in members if m.age(as_of) < 18]
        heads = plan.headlines
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

    def _benefit_records(self, hh: Household, plan: Plan) -> None:
        """DWP: headline 10 by the benefits route, other awards, and background."""
        rng, as_of, w0 = self.rng, self.as_of, self.w0
        members = hh.members
        adults = [m for m in members if m.age(as_of) >= 18]
        heads = plan.headlines
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

    def _fire_records(self, hh: Household, plan: Plan) -> None:
        """Fire and rescue visits."""
        rng, as_of = self.rng, self.as_of
        members = hh.members
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
