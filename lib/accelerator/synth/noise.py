"""Rendering one record version as delivered strings, with the value-level messiness of feeds.md.

Noise never changes what a correct platform can recover: keys are only padded with spaces (and UPNs
lower-cased); invalid optional dates and end dates before their start are only put where the true
value is null (silver nulls them, which is the truth); a date of birth is only disturbed when the
person's age class at as_of (under 5, 5-16, 17, adult) stays the same, and only blanked or put after
the extract date for people with three or more records, so the majority date of birth stays true.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from accelerator.feeds import FEEDS, FeedSpec
from accelerator.identifiers import is_valid_nhs
from accelerator.synth import vocab
from accelerator.synth.dates import age_on
from accelerator.synth.events import Rec
from accelerator.synth.rates import VALUE_RATES as R

Noise = list[tuple[str, str]]  # (column, kind)

END_OF: Mapping[str, tuple[str, str]] = {
    "health_services": ("discharge_date", "referral_date"),
    "dwp_benefits": ("award_end", "award_start"),
    "childrens_social_care": ("end_date", "start_date"),
    "early_help": ("case_close_date", "case_open_date"),
    "probation": ("end_date", "start_date"),
}


_COLUMNS: Mapping[str, tuple[str, ...]] = {name: spec.column_names for name, spec in FEEDS.items()}


def fmt_date(d: date, style: str) -> str:
    if style == "dmy":
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    if style == "timestamp":
        return f"{d.isoformat()}T00:00:00"
    return d.isoformat()


def impossible_date(year: int, style: str, rng: random.Random) -> str:
    month, day = rng.choice(((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (13, 1)))
    if style == "dmy":
        return f"{day:02d}/{month:02d}/{year:04d}"
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    return iso + "T00:00:00" if style == "timestamp" else iso


def fmt_value(v: Any, style: str) -> str:
    if v is None:
        return ""
    if isinstance(v, date):
        return fmt_date(v, style)
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def typo(s: str, rng: random.Random) -> str:
    if len(s) < 4:
        return s + s[-1]
    i = rng.randrange(1, len(s) - 1)
    op = rng.randrange(4)
    if op == 0:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    if op == 1:
        return s[:i] + s[i + 1 :]
    if op == 2:
        return s[:i] + s[i] + s[i:]
    vowels = "aeiou"
    return s[:i] + rng.choice([v for v in vowels if v != s[i].lower()]) + s[i + 1 :]


def age_class(dob: date, as_of: date) -> int:
    a = age_on(dob, as_of)
    return 0 if a < 5 else 1 if a <= 16 else 2 if a < 18 else 3


NOISE_KINDS: tuple[str, ...] = (
    "name_upper",
    "name_lower",
    "name_spaces",
    "name_typo",
    "nickname",
    "names_swapped",
    "married_name_stale",
    "married_name_early",
    "accent_stripped",
    "dob_missing",
    "dob_day_month_swap",
    "dob_off_by_one",
    "dob_future",
    "sex_unknown",
    "nhs_missing",
    "nhs_spaced",
    "nhs_hyphenated",
    "nhs_bad_check",
    "nhs_zeros",
    "upn_lower",
    "nino_missing",
    "nino_spaced",
    "nino_no_suffix",
    "nino_temporary",
    "postcode_lower",
    "postcode_no_space",
    "postcode_letter_o",
    "address_upper",
    "address_lower",
    "address_abbreviated",
    "address_no_comma",
    "address_comma",
    "address_spaces",
    "uprn_missing",
    "uprn_zero_padded",
    "key_spaces",
    "optional_date_invalid",
    "end_before_start",
)
"""Every value-level kind, as named in truth/value_noise.csv (each appears at least once per run)."""


class Renderer:
    def __init__(self, as_of: date, record_counts: Mapping[str, int], rates: Mapping[str, float] = R) -> None:
        self.as_of = as_of
        self.rates = rates  # VALUE_RATES, or a profile's scaled copy
        self.record_counts = record_counts
        self._force: str | None = None

    def _hit(self, kind: str, rate: float, rng: random.Random) -> bool:
        """A random draw at ``rate``; always true for the kind being forced onto this row."""
        return rng.random() < rate or self._force == kind

    def render(
        self,
        rec: Rec,
        values: Mapping[str, Any],
        style: str,
        extract_date: date,
        rng: random.Random,
        force: str | None = None,
    ) -> tuple[dict[str, str], Noise]:
        """The row's delivered strings by column and the noise applied; ``force`` makes one noise
        kind happen on this row when the row allows it (used to guarantee every kind once)."""
        self._force = force
        spec = FEEDS[rec.feed]
        out: dict[str, str] = {}
        noise: Noise = []
        for col in _COLUMNS[rec.feed]:
            if col in values:
                out[col] = fmt_value(values[col], style)
        if rec.person is not None:
            self._person(rec, spec, style, extract_date, rng, out, noise)
        self._address(rec, spec, rng, out, noise)
        self._keys_and_dates(rec, spec, values, style, rng, out, noise)
        self._force = None
        return out, noise

    # ------------------------------------------------------------ people
    def _person(
        self,
        rec: Rec,
        spec: FeedSpec,
        style: str,
        extract_date: date,
        rng: random.Random,
        out: dict[str, str],
        noise: Noise,
    ) -> None:
        p = rec.person
        assert p is not None
        hit = self._hit
        pc = spec.person_columns
        fcol, scol = pc["forename"], pc["surname"]
        fn, sn = p.forename, p.surname_on(rec.event_date)
        if p.marriage_date is not None and p.birth_surname is not None:
            if rec.event_date >= p.marriage_date:
                if hit("married_name_stale", self.rates["married_name_stale"], rng):
                    sn = p.birth_surname
                    noise.append((scol, "married_name_stale"))
            elif hit("married_name_early", self.rates["married_name_early"], rng):
                sn = p.surname
                noise.append((scol, "married_name_early"))
        if fn in vocab.NICKNAMES and hit("nickname", self.rates["nickname"], rng):
            fn = rng.choice(vocab.NICKNAMES[fn])
            noise.append((fcol, "nickname"))
        if not (fn + sn).isascii() and hit("accent_stripped", self.rates["accent_stripped"], rng):
            fn, sn = strip_accents(fn), strip_accents(sn)
            noise.append((fcol, "accent_stripped"))
        if hit("name_typo", self.rates["name_typo"], rng):
            if rng.random() < 0.5:
                fn = typo(fn, rng)
                noise.append((fcol, "name_typo"))
            else:
                sn = typo(sn, rng)
                noise.append((scol, "name_typo"))
        if hit("name_upper", self.rates["name_upper"], rng) and self._force != "name_lower":
            fn, sn = fn.upper(), sn.upper()
            noise.append((fcol, "name_upper"))
        elif hit("name_lower", self.rates["name_lower"], rng):
            fn, sn = fn.lower(), sn.lower()
            noise.append((fcol, "name_lower"))
        if hit("name_spaces", self.rates["name_spaces"], rng):
            if rng.random() < 0.5:
                fn = rng.choice((" ", "  ", "")) + fn + rng.choice((" ", "  "))
                noise.append((fcol, "name_spaces"))
            else:
                sn = " " + sn + rng.choice(("", " "))
                noise.append((scol, "name_spaces"))
        if hit("names_swapped", self.rates["names_swapped"], rng):
            fn, sn = sn, fn
            noise.append((fcol, "names_swapped"))
        out[fcol], out[scol] = fn, sn

        dcol = pc["dob"]
        dob: date | None = p.dob
        many = self.record_counts.get(p.pid, 0) >= 3
        if many and hit("dob_missing", self.rates["dob_missing"], rng):
            dob = None
            noise.append((dcol, "dob_missing"))
        elif many and hit("dob_future", self.rates["dob_future"], rng):
            dob = extract_date + timedelta(days=rng.randint(1, 400))
            noise.append((dcol, "dob_future"))
        else:
            alt: date | None = None
            kind = ""
            if hit("dob_day_month_swap", self.rates["dob_day_month_swap"], rng):
                if p.dob.day <= 12 and p.dob.day != p.dob.month:
                    alt, kind = date(p.dob.year, p.dob.day, p.dob.month), "dob_day_month_swap"
            elif hit("dob_off_by_one", self.rates["dob_off_by_one"], rng):
                alt, kind = p.dob + timedelta(days=rng.choice((-1, 1))), "dob_off_by_one"
            if (
                alt is not None
                and alt <= extract_date
                and age_class(alt, self.as_of) == age_class(p.dob, self.as_of)
            ):
                dob = alt
                noise.append((dcol, kind))
        out[dcol] = "" if dob is None else fmt_date(dob, style)

        scol_sex = pc.get("sex")
        if scol_sex is not None:
            codes = spec.column(scol_sex).codes
            numeric = "1" in codes
            val = ("1" if p.sex == "M" else "2") if numeric else p.sex
            unknown = "9" if numeric else "U"
            if unknown in codes and hit("sex_unknown", self.rates["sex_unknown"], rng):
                val = unknown
                noise.append((scol_sex, "sex_unknown"))
            out[scol_sex] = val

        feed = rec.feed
        if "nhs_number" in _COLUMNS[feed]:
            nhs = p.nhs if p.carries("nhs", rec.event_date) else None
            out["nhs_number"] = self._nhs(nhs, feed, rng, noise)
        if feed == "childrens_social_care":
            present = (
                p.upn and p.carries("upn", rec.event_date) and rng.random() < self.rates["upn_present_csc"]
            )
            upn = p.upn if present else None
            if upn and hit("upn_lower", self.rates["upn_lower"] * 3, rng):
                upn = upn.lower()
                noise.append(("upn", "upn_lower"))
            out["upn"] = upn or ""
        if feed == "dwp_benefits":
            nino = p.nino if p.carries("nino", rec.event_date) else None
            out["nino"] = self._nino(nino, p.dob, p.sex, rng, noise)

    def _nhs(self, nhs: str | None, feed: str, rng: random.Random, noise: Noise) -> str:
        if nhs is None:
            return ""
        hit = self._hit
        csc = feed == "childrens_social_care"
        if hit(
            "nhs_missing", self.rates["nhs_missing_csc"] if csc else self.rates["nhs_missing_health"], rng
        ):
            noise.append(("nhs_number", "nhs_missing"))
            return ""
        if hit("nhs_zeros", self.rates["nhs_zeros"], rng):
            noise.append(("nhs_number", "nhs_zeros"))
            return "0000000000"
        if hit("nhs_bad_check", self.rates["nhs_bad_check"], rng):
            for d in range(1, 10):
                bad = nhs[:9] + str((int(nhs[9]) + d) % 10)
                if not is_valid_nhs(bad):
                    noise.append(("nhs_number", "nhs_bad_check"))
                    nhs = bad
                    break
        if hit("nhs_spaced", self.rates["nhs_spaced_csc"] if csc else self.rates["nhs_spaced_health"], rng):
            noise.append(("nhs_number", "nhs_spaced"))
            return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
        if hit("nhs_hyphenated", self.rates["nhs_hyphenated"], rng):
            noise.append(("nhs_number", "nhs_hyphenated"))
            return f"{nhs[:3]}-{nhs[3:6]}-{nhs[6:]}"
        return nhs

    def _nino(self, nino: str | None, dob: date, sex: str, rng: random.Random, noise: Noise) -> str:
        hit = self._hit
        if hit("nino_temporary", self.rates["nino_temporary"], rng):
            noise.append(("nino", "nino_temporary"))
            return f"TN{dob.day:02d}{dob.month:02d}{dob.year % 100:02d}{sex}"
        if nino is None:
            return ""
        if hit("nino_missing", self.rates["nino_missing"], rng):
            noise.append(("nino", "nino_missing"))
            return ""
        if hit("nino_no_suffix", self.rates["nino_no_suffix"], rng):
            nino = nino[:8]
            noise.append(("nino", "nino_no_suffix"))
        if hit("nino_spaced", self.rates["nino_spaced"], rng):
            noise.append(("nino", "nino_spaced"))
            nino = " ".join([nino[:2], nino[2:4], nino[4:6], nino[6:8], nino[8:]]).strip()
        return nino

    # ------------------------------------------------------------ address
    def _address(
        self, rec: Rec, spec: FeedSpec, rng: random.Random, out: dict[str, str], noise: Noise
    ) -> None:
        hit = self._hit
        a = rec.address
        number = f"{a.number}"
        street_type = a.street_type
        if hit("address_abbreviated", self.rates["address_abbreviated"], rng):
            street_type = vocab.ABBREVIATIONS[street_type]
            noise.append(("address", "address_abbreviated"))
        street = f"{a.street_name} {street_type}"
        if a.flat is not None:
            if hit("address_no_comma", self.rates["address_no_comma"], rng):
                line = f"Flat {a.flat} {number} {street}"
                noise.append(("address", "address_no_comma"))
            else:
                line = f"Flat {a.flat}, {number} {street}"
        elif hit("address_comma", self.rates["address_comma"], rng):
            line = f"{number}, {street}"
            noise.append(("address", "address_comma"))
        else:
            line = f"{number} {street}"
        if hit("address_upper", self.rates["address_upper"], rng) and self._force != "address_lower":
            line = line.upper()
            noise.append(("address", "address_upper"))
        elif hit("address_lower", self.rates["address_lower"], rng):
            line = line.lower()
            noise.append(("address", "address_lower"))
        if hit("address_spaces", self.rates["address_spaces"], rng):
            line = line.replace(" ", "  ", 1) + " "
            noise.append(("address", "address_spaces"))
        out["address"] = line

        pc = a.postcode
        if "0" in pc and hit("postcode_letter_o", self.rates["postcode_letter_o"], rng):
            pc = pc.replace("0", "O")
            noise.append(("postcode", "postcode_letter_o"))
        if hit("postcode_no_space", self.rates["postcode_no_space"], rng):
            pc = pc.replace(" ", "")
            noise.append(("postcode", "postcode_no_space"))
        if hit("postcode_lower", self.rates["postcode_lower"], rng):
            pc = pc.lower()
            noise.append(("postcode", "postcode_lower"))
        out["postcode"] = pc

        if "uprn" in _COLUMNS[rec.feed]:
            present = not hit("uprn_missing", 1 - R[f"uprn_present_{rec.feed}"], rng)
            uprn = a.uprn if present else ""
            if not present:
                noise.append(("uprn", "uprn_missing"))
            elif len(uprn) < 12 and hit("uprn_zero_padded", self.rates["uprn_zero_padded"], rng):
                uprn = uprn.zfill(12)
                noise.append(("uprn", "uprn_zero_padded"))
            out["uprn"] = uprn

    # ------------------------------------------------------------ keys and dates
    def _keys_and_dates(
        self,
        rec: Rec,
        spec: FeedSpec,
        values: Mapping[str, Any],
        style: str,
        rng: random.Random,
        out: dict[str, str],
        noise: Noise,
    ) -> None:
        hit = self._hit
        if rec.feed == "school_census" and hit("upn_lower", self.rates["upn_lower"], rng):
            out["upn"] = out["upn"].lower()
            noise.append(("upn", "upn_lower"))
        if hit("key_spaces", self.rates["key_spaces"], rng):
            string_keys = [k for k in spec.key if spec.column(k).kind == "string"]
            k = rng.choice(string_keys)
            out[k] = rng.choice((" ", "  ")) + out[k] + rng.choice(("", " "))
            noise.append((k, "key_spaces"))
        end = END_OF.get(rec.feed)
        if (
            end is not None
            and values.get(end[0]) is None
            and hit("end_before_start", self.rates["end_before_start"], rng)
        ):
            start = values[end[1]]
            out[end[0]] = fmt_date(start - timedelta(days=rng.randint(1, 60)), style)
            noise.append((end[0], "end_before_start"))
        elif hit("optional_date_invalid", self.rates["optional_date_invalid"], rng):
            dob_col = spec.person_columns.get("dob")
            optional = [
                c.name
                for c in spec.columns
                if c.kind == "date" and not c.required and c.name != dob_col and values.get(c.name) is None
            ]
            if optional:
                col = rng.choice(optional)
                out[col] = impossible_date(rec.event_date.year, style, rng)
                noise.append((col, "optional_date_invalid"))
