"""What a delivery is, before and after rendering: its rows, layout, files and folder, the monthly
schedule of deliveries, and the row defects (a truncated last line, a corrupted row) that rendering
applies. :mod:`synth.deliveries` plans them, :mod:`synth.rendering` writes their bytes."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from accelerator.feeds import FEEDS
from accelerator.synth.dates import add_months, last_month_end_on_or_before, month_end
from accelerator.synth.events import Rec, Values
from accelerator.synth.noise import fmt_date

FEED_CODES: tuple[str, ...] = tuple(FEEDS)

# Optional columns that may go missing or be renamed without changing a headline, a family or a key.
HARMLESS_OPTIONAL: Mapping[str, Mapping[str, str]] = {
    "police_incidents": {"offence_group": "offence_grp"},
    "school_census": {"school_urn": "urn", "sen_provision": "sen", "fsm_eligible": "fsm"},
    "health_services": {"sex": "gender"},
    "housing": {"arrears_amount": "arrears", "relationship": "relationship_to_lead"},
    "childrens_social_care": {"category": "abuse_category"},
    "early_help": {"lead_agency": "agency", "lead_professional": "keyworker"},
    "youth_justice": {"offence_date": "date_of_offence"},
    "probation": {"sentence_type": "sentence"},
    "fire_rescue": {"uprn": "property_ref"},
}

REQUIRED_ALIASES: Mapping[str, str] = {"upn": "pupil_number", "crn": "case_reference_number"}

EXTRA_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("notes", ("", "", "called, no answer", "see case file", 'family said "not now"', "address checked")),
    ("source_system", ("LIQUIDLOGIC", "MOSAIC", "EMIS", "CAPITA ONE", "NICHE")),
    ("extract_run", ("RUN-0042", "RUN-0043", "NIGHTLY")),
)

ROW_DEFECT_REASONS: Mapping[str, str] = {
    "too_many_fields": "FIELD_COUNT",
    "too_few_fields": "FIELD_COUNT",
    "truncated_line": "FIELD_COUNT",
    "blank_key": "MISSING_KEY",
    "blank_required": "MISSING_REQUIRED",
    "impossible_date": "BAD_REQUIRED_DATE",
}


@dataclass(eq=False, slots=True)
class Row:
    rec: Rec
    values: Values
    corrupt: bool = False
    defect: str | None = None
    sent: Values | None = None  # the wrong values first sent, for a rectified record

    @property
    def delivered(self) -> Values:
        return self.sent if self.sent is not None else self.values


@dataclass
class Layout:
    style: str = "iso"  # iso, dmy, timestamp
    encoding: str = "utf-8"  # utf-8, utf-8-sig, cp1252
    newline: str = "\n"
    trailing_blank: bool = False
    missing: str | None = None
    renamed: tuple[str, str] | None = None
    extra: str | None = None
    reorder: bool = False
    parts: int = 1
    truncate: bool = False
    required_missing: str | None = None
    required_renamed: tuple[str, str] | None = None

    def defects(self, header_only: bool) -> list[str]:
        out = []
        if self.encoding == "cp1252":
            out.append("cp1252")
        if self.encoding == "utf-8-sig":
            out.append("bom")
        if self.newline == "\r\n":
            out.append("crlf")
        if self.trailing_blank:
            out.append("trailing_blank_line")
        if self.style == "dmy":
            out.append("dmy_dates")
        if self.style == "timestamp":
            out.append("timestamp_dates")
        if self.missing:
            out.append("missing_optional_column")
        if self.extra:
            out.append("extra_column")
        if self.reorder:
            out.append("reordered_columns")
        if self.renamed:
            out.append("renamed_optional_column")
        if self.parts > 1:
            out.append("split_parts")
        if self.truncate:
            out.append("truncated")
        if header_only:
            out.append("header_only")
        return out


@dataclass(eq=False)
class FileOut:
    name: str
    data: bytes
    rows: int
    lines: list[tuple[int, Row, str | None]]  # (line number, row, row defect kind or None)
    noise: list[tuple[int, str, str]]  # (line number, column, kind)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(eq=False)
class Delivery:
    authority: str
    feed: str
    extract_date: date
    folder: str
    period_start: date
    period_end: date
    full_refresh: bool = False
    rows: list[Row] = field(default_factory=list)
    skip: bool = False  # forced header-only: this month's records arrive in the next delivery
    last: bool = False
    defect: str = "clean"
    layout: Layout = field(default_factory=Layout)
    files: list[FileOut] = field(default_factory=list)  # as listed in the manifest
    written: dict[str, bytes] = field(default_factory=dict)  # every file written in the folder
    manifest: dict[str, Any] | None = None
    broken: bool = False  # REJECTED by construction
    parent: Delivery | None = None
    force: dict[int, str] = field(default_factory=dict)  # id(row) -> value noise kind forced on it

    @property
    def path(self) -> str:
        return f"landing/{self.authority}/{self.feed}/{self.folder}"

    def sort_key(self) -> tuple[str, str, date, str]:
        return (self.authority, self.feed, self.extract_date, self.folder)


TERMLY_FEEDS = frozenset({"school_census"})
TERM_END_MONTHS = (3, 7, 12)


def schedule(as_of: date, feed: str = "") -> list[tuple[date, date, date, bool]]:
    """(extract_date, period_start, period_end, full_refresh) for one authority and feed.

    Monthly, except the school census which is delivered after each census term (March, July,
    December month ends); every feed has a last delivery on as_of.
    """
    h0 = add_months(as_of, -36)
    fr = last_month_end_on_or_before(add_months(as_of, -12))
    out = [(fr, h0, fr, True)]
    prev = fr
    nxt = fr
    while True:
        nxt = month_end(nxt + timedelta(days=1))
        if nxt > as_of:
            break
        if feed in TERMLY_FEEDS and nxt.month not in TERM_END_MONTHS:
            continue
        out.append((nxt, prev + timedelta(days=1), nxt, False))
        prev = nxt
    if prev != as_of:
        out.append((as_of, prev + timedelta(days=1), as_of, False))
    return out


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def quote_field(v: str) -> str:
    """RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled."""
    if _NEEDS_QUOTES.search(v):
        return '"' + v.replace('"', '""') + '"'
    return v


def required_non_key(feed: str) -> list[str]:
    spec = FEEDS[feed]
    return [c for c in spec.required if c not in spec.key]


def required_non_key_dates(feed: str) -> list[str]:
    spec = FEEDS[feed]
    return [c for c in spec.required_dates if c not in spec.key]


def truncate_fields(fields: list[str], rng: random.Random) -> str:
    """The line cut short inside an unquoted field before the last separator: fewer fields."""
    starts, pos = [], 0
    quoted = [quote_field(f) for f in fields]
    for q in quoted:
        starts.append(pos)
        pos += len(q) + 1
    line = ",".join(quoted)
    options = [j for j in range(1, len(fields) - 1) if quoted[j] == fields[j]]
    if not options:
        return line[: starts[1]]
    j = rng.choice(options)
    return line[: starts[j] + len(fields[j]) // 2]


def corrupt_row(row: Row, rng: random.Random) -> Values:
    """The wrong values a partner first sent for a record it later rectified (key unchanged)."""
    v = dict(row.values)
    feed = row.rec.feed
    flip = {"Y": "N", "N": "Y"}
    if feed == "police_incidents":
        v["domestic_abuse"] = flip.get(v["domestic_abuse"], "Y")
        v["role"] = "WITNESS" if v["role"] in ("OFFENDER", "SUSPECT") else "OFFENDER"
    elif feed == "school_census":
        v["sessions_unauthorised_absence"] = int(v["sessions_unauthorised_absence"]) + 20
    elif feed == "health_services":
        swap = {"ON_TRACK": "BELOW_EXPECTED", "BELOW_EXPECTED": "ON_TRACK", "NO_CONCERN": "CONCERN"}
        swap["CONCERN"] = "NO_CONCERN"
        if v.get("outcome") in swap:
            v["outcome"] = swap[v["outcome"]]
        else:
            v["service"] = "MENTAL_HEALTH" if v["service"] != "MENTAL_HEALTH" else "AE_ATTENDANCE"
    elif feed == "dwp_benefits":
        v["work_status"] = "IN_WORK" if v.get("work_status") == "OUT_OF_WORK" else "OUT_OF_WORK"
        if v["benefit"] in ("PIP", "CARERS"):
            v["benefit"] = "UC"
    elif feed == "housing":
        v["status"] = "SETTLED" if v["status"] != "SETTLED" else "EVICTED"
    elif feed == "childrens_social_care":
        v["episode_type"] = "CP" if v["episode_type"] != "CP" else "CIN"
    elif feed == "early_help":
        needs = [n for n in (v.get("presenting_needs") or "").split(";") if n]
        v["presenting_needs"] = (
            ";".join(n for n in needs if n != "MENTAL_HEALTH")
            if "MENTAL_HEALTH" in needs
            else ";".join([*needs, "MENTAL_HEALTH"])
        )
    elif feed == "youth_justice":
        v["outcome_type"] = "CUSTODY" if v["outcome_type"] != "CUSTODY" else "YRO"
    elif feed == "probation":
        v["da_perpetrator"] = flip.get(v["da_perpetrator"], "Y")
    else:
        v["visit_type"] = "DELIBERATE_FIRE" if v["visit_type"] != "DELIBERATE_FIRE" else "SAFE_AND_WELL"
    return v


def date_iso(d: date) -> str:
    return fmt_date(d, "iso")
