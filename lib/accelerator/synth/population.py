"""The true population: households, people, addresses, moves and identifiers.

Everything is drawn from ``random.Random`` instances seeded from the run's seed and a fixed label,
in a fixed order, so a seed always gives the same population.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from accelerator.feeds import AUTHORITIES
from accelerator.identifiers import make_nhs, make_nino, make_upn
from accelerator.synth import vocab
from accelerator.synth.dates import add_months, age_on, rand_date
from accelerator.synth.profiles import SPLIT_PATTERNS, Names, Profile
from accelerator.synth.profiles import profile as as_profile

AUTHORITY_CODES: tuple[str, ...] = tuple(sorted(AUTHORITIES))


@dataclass(eq=False)
class Address:
    uprn: str
    number: int
    street_name: str
    street_type: str
    flat: int | None
    postcode: str
    authority: str
    temporary: bool = False

    @property
    def street(self) -> str:
        return f"{self.street_name} {self.street_type}"

    @property
    def line(self) -> str:
        """The canonical one-line address, e.g. ``Flat 2, 10 Acacia Avenue``."""
        base = f"{self.number} {self.street}"
        return f"Flat {self.flat}, {base}" if self.flat is not None else base


@dataclass(eq=False)
class Person:
    pid: str
    forename: str
    surname: str  # current (as at as_of)
    sex: str  # M / F
    dob: date
    birth_surname: str | None = None  # surname before a marriage during the history
    marriage_date: date | None = None
    nhs: str | None = None
    upn: str | None = None
    nino: str | None = None
    rel: str = "CHILD"  # LEAD, PARTNER, CHILD, OTHER (housing relationship)
    expectant: bool = False
    review_date: date | None = None  # health visiting 2-2.5 year review
    hh: Household = field(init=False, repr=False)
    police_refs: list[str] = field(default_factory=list)
    crn: str | None = None
    local_refs: dict[tuple[str, str], str] = field(default_factory=dict)
    sen: str = "N"
    fsm: str = "N"
    schools: dict[tuple[str, str], str] = field(default_factory=dict)
    # a split mover (profiles): the identifiers their records carry before and after the move
    ids_before_after: tuple[frozenset[str], frozenset[str]] | None = None

    def carries(self, kind: str, on: date) -> bool:
        """Whether a record of this person dated ``on`` carries identifier ``kind`` (nhs, upn, nino)."""
        if self.ids_before_after is None:
            return True
        move = self.hh.first_move()
        before, after = self.ids_before_after
        return kind in (before if move is None or on < move else after)

    def surname_on(self, d: date) -> str:
        if self.marriage_date is not None and self.birth_surname is not None and d < self.marriage_date:
            return self.birth_surname
        return self.surname

    def age(self, on: date) -> int:
        return age_on(self.dob, on)

    def is_adult_at(self, on: date) -> bool:
        return age_on(self.dob, on) >= 18


@dataclass(eq=False)
class Household:
    hid: int
    authority: str  # where it lived at the start of the history
    htype: str
    members: list[Person]
    residences: list[tuple[date, Address]]  # (from, address), sorted; the first from date.min
    inter_move: date | None = None
    moves: list[tuple[date, Address]] = field(default_factory=list)
    tier: int = 0
    headlines: set[int] = field(default_factory=set)

    def address_on(self, d: date) -> Address:
        current = self.residences[0][1]
        for start, addr in self.residences:
            if start <= d:
                current = addr
            else:
                break
        return current

    def first_move(self) -> date | None:
        return self.residences[1][0] if len(self.residences) > 1 else None

    def last_move(self) -> date | None:
        return self.residences[-1][0] if len(self.residences) > 1 else None

    def finalise_residences(self) -> None:
        first = self.residences[0]
        moves = sorted(self.moves, key=lambda m: m[0])
        self.residences = [first, *moves]

    def adults(self, on: date) -> list[Person]:
        return [p for p in self.members if p.dob <= on and p.is_adult_at(on)]

    def children(self, on: date) -> list[Person]:
        return [p for p in self.members if p.dob <= on and not p.is_adult_at(on)]


class AddressBook:
    """Streets, postcodes and UPRNs per authority; every address's UPRN and (line, postcode) unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.streets: dict[str, list[tuple[str, str]]] = {a: [] for a in AUTHORITY_CODES}
        self.postcodes: dict[tuple[str, str, int], str] = {}
        self.used_postcodes: set[str] = set()
        self.used_uprns: set[str] = set()
        self.used_lines: set[tuple[str, str]] = set()
        self.buildings: dict[str, list[tuple[int, str, str, str]]] = {a: [] for a in AUTHORITY_CODES}
        self.flats: dict[tuple[str, int, str, str], int] = {}

    def _street(self, authority: str) -> tuple[str, str]:
        streets = self.streets[authority]
        if len(streets) < 40 or self.rng.random() < 0.08:
            while True:
                name = self.rng.choice(vocab.STREET_NAMES)
                stype = self.rng.choices(vocab.STREET_TYPES, vocab.STREET_TYPE_WEIGHTS)[0]
                if (name, stype) not in streets:
                    streets.append((name, stype))
                    return name, stype
        return self.rng.choice(streets)

    def _postcode(self, authority: str, street: str, block: int) -> str:
        key = (authority, street, block)
        pc = self.postcodes.get(key)
        if pc is None:
            while True:
                district = self.rng.choice(vocab.POSTCODE_DISTRICTS[authority])
                inward = (
                    str(self.rng.randrange(10))
                    + self.rng.choice(vocab.INWARD_LETTERS)
                    + self.rng.choice(vocab.INWARD_LETTERS)
                )
                pc = f"{district} {inward}"
                if pc not in self.used_postcodes:
                    self.used_postcodes.add(pc)
                    self.postcodes[key] = pc
                    break
        return pc

    def _uprn(self) -> str:
        while True:
            if self.rng.random() < 0.7:
                u = str(100_000_000_000 + self.rng.randrange(10**10))
            else:
                u = str(self.rng.randrange(10**8, 10**9))
            if u not in self.used_uprns:
                self.used_uprns.add(u)
                return u

    def new(self, authority: str, *, flat_prob: float = 0.12, temporary: bool = False) -> Address:
        rng = self.rng
        if temporary:
            flat_prob = 0.8
        is_flat = rng.random() < flat_prob
        if is_flat and self.buildings[authority] and rng.random() < 0.45:
            number, name, stype, pc = rng.choice(self.buildings[authority])
            bkey = (authority, number, name, stype)
            flat = self.flats[bkey] + 1
            self.flats[bkey] = flat
            addr = Address(self._uprn(), number, name, stype, flat, pc, authority, temporary)
            self.used_lines.add((addr.line, pc))
            return addr
        while True:
            name, stype = self._street(authority)
            number = rng.randint(1, 60) if rng.random() < 0.6 else rng.randint(61, 260)
            pc = self._postcode(authority, f"{name} {stype}", number // 40)
            first_flat = 1 if is_flat else None
            probe = Address("", number, name, stype, first_flat, pc, authority, temporary)
            bare = (f"{number} {name} {stype}", pc)
            if (probe.line, pc) in self.used_lines or bare in self.used_lines:
                continue
            if is_flat and (authority, number, name, stype) in self.flats:
                continue
            break
        addr = Address(self._uprn(), number, name, stype, first_flat, pc, authority, temporary)
        self.used_lines.add((addr.line, pc))
        self.used_lines.add(bare)
        if is_flat:
            self.flats[(authority, number, name, stype)] = 1
            self.buildings[authority].append((number, name, stype, pc))
        return addr


HOUSEHOLD_TYPES: tuple[tuple[str, float], ...] = (
    ("couple_kids", 0.27),
    ("single_parent", 0.20),
    ("single", 0.25),
    ("couple", 0.13),
    ("multigen", 0.08),
    ("adult_child", 0.07),
)

SIMILAR_TWINS: tuple[tuple[str, str, str], ...] = (
    ("Ella", "Ellie", "F"),
    ("Jayden", "Jaiden", "M"),
    ("Isabelle", "Isabella", "F"),
    ("Lily", "Lilly", "F"),
    ("Leah", "Lea", "F"),
    ("Aaron", "Aron", "M"),
    ("Sophia", "Sofia", "F"),
    ("Millie", "Mollie", "F"),
    ("Harry", "Harvey", "M"),
    ("Callum", "Calum", "M"),
    ("Amelia", "Amelie", "F"),
)


class PopulationBuilder:
    def __init__(
        self, *, seed: int, as_of: date, per_authority: int, profile: Profile | str = "default"
    ) -> None:
        self.seed = seed
        self.profile = as_profile(profile)
        self.names = Names(self.profile)
        self.as_of = as_of
        self.h0 = add_months(as_of, -36)
        self.per_authority = per_authority
        self.book = AddressBook(random.Random(f"{seed}:addresses"))
        self.households: list[Household] = []
        self.people: list[Person] = []
        self._pid = 0

    # ------------------------------------------------------------ helpers
    def _person(self, rng: random.Random, sex: str, age_lo: int, age_hi: int, surname: str) -> Person:
        age = rng.randint(age_lo, age_hi)
        dob = self.as_of - timedelta(days=int(age * 365.25) + rng.randrange(365))
        self._pid += 1
        return Person(f"P{self._pid:07d}", self.names.forename(rng, sex), surname, sex, dob)

    def _child(
        self,
        rng: random.Random,
        mother_dob: date,
        surname: str,
        *,
        max_age: int = 17,
        born: date | None = None,
    ) -> Person | None:
        lo_dob = max(
            mother_dob + timedelta(days=int(17.5 * 365.25)), self.as_of - timedelta(days=365 * max_age)
        )
        hi_dob = min(self.as_of - timedelta(days=20), mother_dob + timedelta(days=int(45 * 365.25)))
        if born is not None:
            lo_dob = max(lo_dob, born)
        if lo_dob > hi_dob:
            return None
        sex = rng.choice("MF")
        self._pid += 1
        forename = self.names.forename(rng, sex)
        return Person(f"P{self._pid:07d}", forename, surname, sex, rand_date(rng, lo_dob, hi_dob))

    def _couple(self, rng: random.Random, lo: int, hi: int) -> tuple[Person, Person]:
        surname = self.names.surname(rng)
        woman = self._person(rng, "F", lo, hi, surname)
        a = age_on(woman.dob, self.as_of)
        same_sex = rng.random() < 0.03
        partner_sex = "F" if same_sex else "M"
        partner = self._person(rng, partner_sex, max(18, a - 3), min(90, a + 6), surname)
        u = rng.random()
        if same_sex or u < 0.25:
            woman.surname = self.names.surname(rng)  # not married / kept own name
        elif u < 0.42:
            # they marry during the history: her surname changes from her own to his
            woman.birth_surname = self.names.surname(rng)
            woman.marriage_date = rand_date(
                rng, self.h0 + timedelta(days=60), self.as_of - timedelta(days=60)
            )
        woman.rel, partner.rel = "LEAD", "PARTNER"
        if rng.random() < 0.3:
            woman.rel, partner.rel = "PARTNER", "LEAD"
        return woman, partner

    def _children(self, rng: random.Random, mother: Person, surname: str, n: int) -> list[Person]:
        kids = []
        for _ in range(n):
            c = self._child(rng, mother.dob, surname)
            if c is not None:
                kids.append(c)
        return kids

    # ------------------------------------------------------------ households
    def _household(self, rng: random.Random, authority: str, hid: int) -> Household:
        htype = rng.choices([t for t, _ in HOUSEHOLD_TYPES], [w for _, w in HOUSEHOLD_TYPES])[0]
        members: list[Person] = []
        mother: Person | None = None
        n_kids = rng.choices((1, 2, 3, 4), (48, 34, 13, 5))[0]
        if htype == "couple_kids":
            woman, partner = self._couple(rng, 21, 49)
            mother = woman if woman.sex == "F" else partner
            members += [woman, partner]
            kid_surname = partner.surname if rng.random() < 0.8 else woman.surname
            members += self._children(rng, mother, kid_surname, n_kids)
        elif htype == "single_parent":
            sex = "F" if rng.random() < 0.88 else "M"
            parent = self._person(rng, sex, 18, 52, self.names.surname(rng))
            parent.rel = "LEAD"
            members.append(parent)
            kid_surname = parent.surname if rng.random() < 0.7 else self.names.surname(rng)
            if sex == "F":
                mother = parent
                members += self._children(rng, parent, kid_surname, n_kids)
            else:
                pseudo = parent.dob + timedelta(days=rng.randint(-3 * 365, 365))
                members += [
                    c for c in (self._child(rng, pseudo, kid_surname) for _ in range(n_kids)) if c is not None
                ]
        elif htype == "single":
            sex = rng.choice("MF")
            p = self._person(rng, sex, 18, rng.choice((40, 60, 88)), self.names.surname(rng))
            p.rel = "LEAD"
            members.append(p)
            if sex == "F" and p.age(self.as_of) <= 44:
                mother = p
        elif htype == "couple":
            woman, partner = self._couple(rng, 19, 82)
            members += [woman, partner]
            if woman.sex == "F" and woman.age(self.as_of) <= 44:
                mother = woman
        elif htype == "multigen":
            gp_surname = self.names.surname(rng)
            gran = self._person(rng, "F", 58, 86, gp_surname)
            gran.rel = "OTHER"
            members.append(gran)
            if rng.random() < 0.45:
                grandad = self._person(rng, "M", max(58, gran.age(self.as_of) - 3), 90, gp_surname)
                grandad.rel = "OTHER"
                members.append(grandad)
            mum_max = max(22, min(46, gran.age(self.as_of) - 18))
            mum = self._person(rng, "F", 20, mum_max, gp_surname if rng.random() < 0.6 else "")
            if not mum.surname:
                mum.surname = self.names.surname(rng)
            mum.rel = "LEAD"
            mother = mum
            members.append(mum)
            kid_surname = mum.surname
            if rng.random() < 0.5:
                dad = self._person(rng, "M", max(20, mum.age(self.as_of) - 3), mum.age(self.as_of) + 6, "")
                dad.surname = mum.surname if rng.random() < 0.5 else self.names.surname(rng)
                dad.rel = "PARTNER"
                kid_surname = dad.surname
                members.append(dad)
            members += self._children(rng, mum, kid_surname, min(n_kids, 3))
        else:  # adult_child
            sex = rng.choice("MF")
            parent = self._person(rng, sex, 42, 72, self.names.surname(rng))
            parent.rel = "LEAD"
            members.append(parent)
            pseudo_mum = parent.dob if sex == "F" else parent.dob + timedelta(days=rng.randint(-3 * 365, 365))
            lo = max(
                pseudo_mum + timedelta(days=int(18 * 365.25)), self.as_of - timedelta(days=int(31 * 365.25))
            )
            hi = min(self.as_of - timedelta(days=int(18 * 365.25) + 1), pseudo_mum + timedelta(days=45 * 365))
            if lo <= hi:
                self._pid += 1
                s = rng.choice("MF")
                adult_child = Person(
                    f"P{self._pid:07d}",
                    self.names.forename(rng, s),
                    parent.surname,
                    s,
                    rand_date(rng, lo, hi),
                )
                adult_child.rel = "OTHER"
                members.append(adult_child)
            if rng.random() < 0.35:
                teen = self._child(rng, pseudo_mum, parent.surname)
                if teen is not None:
                    members.append(teen)
        for m in members:
            if m.rel == "CHILD" and m.age(self.as_of) >= 18:
                m.rel = "OTHER"
        # twins
        kids = [m for m in members if m.rel == "CHILD"]
        if kids and rng.random() < self.profile.twins:
            first = rng.choice(kids)
            self._pid += 1
            twin = Person(f"P{self._pid:07d}", "", first.surname, rng.choice("MF"), first.dob)
            if rng.random() < 0.45:
                a, b, s = rng.choice(SIMILAR_TWINS)
                first.forename, twin.forename, first.sex, twin.sex = a, b, s, s
            else:
                while not twin.forename or twin.forename == first.forename:
                    twin.forename = self.names.forename(rng, twin.sex)
            members.append(twin)
        # a baby born during the history
        if mother is not None and mother.age(self.as_of) <= 42 and rng.random() < 0.16:
            kid_surname = kids[0].surname if kids else mother.surname
            baby = self._child(rng, mother.dob, kid_surname, max_age=3, born=self.h0 + timedelta(days=10))
            if baby is not None:
                members.append(baby)
        # expecting at as_of
        if mother is not None and 16 <= mother.age(self.as_of) <= 44 and rng.random() < 0.05:
            mother.expectant = True
        # unique forenames within a household
        seen: set[str] = set()
        for m in members:
            while m.forename in seen:
                m.forename = self.names.forename(rng, m.sex)
            seen.add(m.forename)
        for m in members:
            m.review_date = m.dob + timedelta(days=730 + rng.randint(0, 170))
            m.sen = rng.choices("NKE", (84, 13, 3))[0]
        home = self.book.new(authority)
        hh = Household(hid, authority, htype, members, [(date.min, home)])
        for m in members:
            m.hh = hh
        return hh

    def _moves(self, rng: random.Random, hh: Household) -> None:
        lo, hi = self.h0 + timedelta(days=120), self.as_of - timedelta(days=100)
        u = rng.random()
        if u < self.profile.inter_move:
            new_authority = rng.choice(vocab.NEIGHBOURS[hh.authority])
            d = rand_date(rng, lo, hi)
            hh.inter_move = d
            hh.moves.append((d, self.book.new(new_authority)))
        elif u < self.profile.inter_move + self.profile.intra_move:
            d = rand_date(rng, lo, hi)
            hh.moves.append((d, self.book.new(hh.authority)))

    def _identifiers(self, rng: random.Random, p: Person) -> None:
        la = vocab.LA_CODES[p.hh.authority]
        if rng.random() < 0.98:
            p.nhs = make_nhs(rng)
        age = p.age(self.as_of)
        if age >= 16 and rng.random() < 0.96:
            p.nino = make_nino(rng)
        if 4 <= age <= 18 and p.rel in ("CHILD", "OTHER") and age_on(p.dob, self.h0) <= 16:
            p.upn = make_upn(rng, temporary=rng.random() < 0.007, la_code=la)

    def _namesakes(self, rng: random.Random) -> None:
        """Pairs of different people with the same name, sex and date of birth in different authorities."""
        adults = [
            p
            for p in self.people
            if p.marriage_date is None and p.age(self.as_of) >= 20 and p.rel in ("LEAD", "PARTNER")
        ]
        n = max(2, len(self.people) // self.profile.namesakes_per)
        for _ in range(n):
            a = rng.choice(adults)
            candidates = [
                b
                for b in rng.sample(adults, min(40, len(adults)))
                if b is not a
                and b.sex == a.sex
                and b.hh.authority != a.hh.authority
                and abs((b.dob - a.dob).days) < 2000
            ]
            if not candidates:
                continue
            b = candidates[0]
            b.forename, b.surname, b.dob = a.forename, a.surname, a.dob

    def build(self) -> list[Household]:
        hid = 0
        for authority in AUTHORITY_CODES:
            rng = random.Random(f"{self.seed}:households:{authority}")
            for _ in range(self.per_authority):
                hid += 1
                hh = self._household(rng, authority, hid)
                self._moves(rng, hh)
                self.households.append(hh)
                self.people.extend(hh.members)
        self._namesakes(random.Random(f"{self.seed}:namesakes"))
        rng = random.Random(f"{self.seed}:identifiers")
        for p in self.people:
            self._identifiers(rng, p)
            p.fsm = "Y" if rng.random() < 0.25 else "N"
        self._profile_identifiers()
        return self.households

    def _profile_identifiers(self) -> None:
        """People without identifiers, and movers whose records share none across the move."""
        prof = self.profile
        if prof.no_identifier > 0:
            rng = random.Random(f"{self.seed}:profile:no_identifier")
            for p in self.people:
                if rng.random() < prof.no_identifier:
                    p.nhs = p.nino = None  # a pupil keeps the UPN: the census key needs it
        if prof.split_movers > 0:
            rng = random.Random(f"{self.seed}:profile:split_movers")
            for hh in self.households:
                if not hh.moves:
                    continue
                for p in hh.members:
                    # adults: children's services (health, school, social care) always record the
                    # child's NHS number or UPN
                    if rng.random() < prof.split_movers and p.age(self.as_of) >= 16:
                        p.ids_before_after = rng.choice(SPLIT_PATTERNS)


def mothers_of(hh: Household) -> Sequence[Person]:
    return [m for m in hh.members if m.sex == "F" and m.rel in ("LEAD", "PARTNER")]
