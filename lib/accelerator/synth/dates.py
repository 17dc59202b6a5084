"""Date arithmetic for the generator and its truth: calendar months, month ends, census terms, ages."""

from __future__ import annotations

import random
from datetime import date, timedelta

# Re-exported: the generator and its tests import them from here.
from accelerator.dates import add_months as add_months
from accelerator.dates import month_end as month_end


def is_month_end(d: date) -> bool:
    return d == month_end(d)


def last_month_end_on_or_before(d: date) -> date:
    return d if is_month_end(d) else date(d.year, d.month, 1) - timedelta(days=1)


def age_on(dob: date, on: date) -> int:
    """Completed years of age on ``on`` (a 29 February birthday counts from 1 March in other years)."""
    years = on.year - dob.year
    if (on.month, on.day) < (dob.month, dob.day):
        years -= 1
    return years


def rand_date(rng: random.Random, lo: date, hi: date) -> date:
    """A uniformly random date in [lo, hi] (``lo`` when the range is empty)."""
    span = (hi - lo).days
    return lo if span <= 0 else lo + timedelta(days=rng.randint(0, span))


TERMS = ("AUT", "SPR", "SUM")


def term_end(code: str) -> date:
    """End date of a census term code ``YYYYAUT``/``YYYYSPR``/``YYYYSUM`` (feeds.md)."""
    year, term = int(code[:4]), code[4:]
    if term == "AUT":
        return date(year, 12, 31)
    if term == "SPR":
        return date(year + 1, 3, 31)
    if term == "SUM":
        return date(year + 1, 7, 31)
    raise ValueError(f"bad census term {code!r}")


def terms_ending_between(lo: date, hi: date) -> list[str]:
    """Census term codes whose end date is in [lo, hi], in date order."""
    out = []
    for year in range(lo.year - 1, hi.year + 1):
        for t in TERMS:
            code = f"{year}{t}"
            if lo <= term_end(code) <= hi:
                out.append(code)
    return out


def school_year_age(dob: date, school_year: int) -> int:
    """Age on 31 August at the start of the school year ``school_year`` (Reception = 4, Year 11 = 15)."""
    return age_on(dob, date(school_year, 8, 31))
