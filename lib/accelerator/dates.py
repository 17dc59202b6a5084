"""Calendar-month arithmetic shared by the pipeline and the generator (pure, no clock)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months, the day clamped to the month's length (31 Mar - 1 -> 29 Feb)."""
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    m += 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def parse_as_of(value: str | None, *, today: date) -> date:
    """The run's reference date from a command line or notebook parameter: ``YYYY-MM-DD``, or
    ``today`` (given by the edge that reads the clock) when empty. The one parser of ``--as-of``."""
    if not value:
        return today
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"as_of must be YYYY-MM-DD, not {value!r}") from None
