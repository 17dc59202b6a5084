"""Each household's plan: its tier, its target headlines and how each comes true, and its housing
history (moves, temporary accommodation). The records follow the plan (``synth.households``)."""

from __future__ import annotations

from datetime import date, timedelta

from accelerator.synth.dates import rand_date, term_end
from accelerator.synth.population import Address, Household
from accelerator.synth.records import EH_CONTEXT, Plan, RecordMaker


class Planner(RecordMaker):
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
