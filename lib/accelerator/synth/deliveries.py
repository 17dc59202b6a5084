"""Deliveries: which record versions go in which folder, what goes wrong with them, and their bytes.

Per authority and feed: a full refresh about 12 months before as_of, then one incremental delivery per
month end (and one on as_of when as_of is not a month end). A record version goes in the first
delivery whose extract date is on or after the version's date. Then file-level layouts, delivery-level
breakages and row-level defects are chosen (rates in :mod:`accelerator.synth.rates`, every kind at
least once), and every delivery is rendered to the exact bytes that are written.
"""

from __future__ import annotations

import hashlib
import random
import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from accelerator.feeds import FEEDS
from accelerator.synth.dates import add_months, last_month_end_on_or_before, month_end
from accelerator.synth.events import Rec, Values
from accelerator.synth.noise import NOISE_KINDS, Renderer, fmt_date, impossible_date
from accelerator.synth.population import AUTHORITY_CODES
from accelerator.synth.rates import DELIVERY_BREAKAGES, FILE_RATES, ROW_DEFECT_RATES, VALUE_RATES

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


def _quote(v: str) -> str:
    """RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled."""
    if _NEEDS_QUOTES.search(v):
        return '"' + v.replace('"', '""') + '"'
    return v


class DeliveryBuilder:
    def __init__(self, *, seed: int, as_of: date, records: list[Rec]) -> None:
        self.seed = seed
        self.as_of = as_of
        self.records = records
        self.rng = random.Random(f"{seed}:deliveries")
        self.by_feed: dict[tuple[str, str], list[Delivery]] = {}
        self.extra_deliveries: list[Delivery] = []
        counts: dict[str, int] = {}
        for r in records:
            if r.person is not None:
                counts[r.person.pid] = counts.get(r.person.pid, 0) + 1
        self.renderer = Renderer(as_of, counts)

    # ------------------------------------------------------------ schedule and assignment
    def build(self) -> list[Delivery]:
        for a in AUTHORITY_CODES:
            for f in FEED_CODES:
                sched = schedule(self.as_of, f)
                ds = [
                    Delivery(a, f, e, e.isoformat(), ps, pe, full_refresh=fr)
                    for e, ps, pe, fr in sched
                ]  # fmt: skip
                ds[-1].last = True
                self.by_feed[(a, f)] = ds
        self._plan_header_only()
        self._assign()
        self._plan_breakages()
        self._plan_row_defects()
        self._plan_layouts()
        self._render_all()
        return self.all()

    def all(self) -> list[Delivery]:
        out = [d for ds in self.by_feed.values() for d in ds] + self.extra_deliveries
        return sorted(out, key=lambda d: d.sort_key())

    def _count(self, kind: str, n: int) -> int:
        rate, minimum = DELIVERY_BREAKAGES[kind]
        return max(minimum, round(rate * n))

    def _plan_header_only(self) -> None:
        """Some partners send a header-only file for a month and catch up the month after
        (at most one such delivery per authority and feed)."""
        rng = self.rng
        n_total = sum(len(ds) for ds in self.by_feed.values())
        keys = [
            k for k in sorted(self.by_feed) if k[1] in ("health_services", "police_incidents", "dwp_benefits")
        ]
        for key in rng.sample(keys, min(len(keys), self._count("header_only", n_total))):
            d = rng.choice(self.by_feed[key][2:-2])
            d.skip = True
            d.defect = "header_only"

    def _assign(self) -> None:
        rng = random.Random(f"{self.seed}:assign")
        extracts = {k: [d.extract_date for d in ds] for k, ds in self.by_feed.items()}
        resends: list[tuple[Delivery, Row]] = []
        for rec in self.records:
            key = (rec.authority, rec.feed)
            ds, ex = self.by_feed[key], extracts[key]
            placed: dict[int, Values] = {}
            for eff, vals in rec.versions:
                i = bisect_left(ex, eff)
                if i >= len(ds):
                    continue
                while ds[i].skip and i + 1 < len(ds):
                    i += 1
                placed[i] = vals
            if not placed:
                continue
            for i in sorted(placed):
                ds[i].rows.append(Row(rec, placed[i]))
            if rng.random() < VALUE_RATES["resent_unchanged"]:
                j = max(placed)
                k = j + 1
                while k < len(ds) and ds[k].skip:
                    k += 1
                if k < len(ds):
                    resends.append((ds[k], Row(rec, placed[j])))
        # a record sent again unchanged rides along with other records, never alone (a delivery of
        # nothing but re-sent rows could repeat an earlier file byte for byte: a DUPLICATE)
        for d, row in resends:
            if any(r.rec is not row.rec for r in d.rows) and all(r.rec is not row.rec for r in d.rows):
                d.rows.append(row)

    # ------------------------------------------------------------ breakages
    def _plan_breakages(self) -> None:
        rng = random.Random(f"{self.seed}:breakages")
        n_total = sum(len(ds) for ds in self.by_feed.values())
        keys = sorted(self.by_feed)
        used: set[int] = set()

        def mids(min_rows: int) -> list[Delivery]:
            return [
                d
                for k in keys
                for d in self.by_feed[k][1:-1]
                if id(d) not in used and not d.skip and len(d.rows) >= min_rows
            ]

        def take(kind: str, pool: list[Delivery]) -> list[Delivery]:
            chosen = rng.sample(pool, min(len(pool), self._count(kind, n_total)))
            for d in chosen:
                used.add(id(d))
                d.defect = kind
            return chosen

        # no manifest: a last delivery none of whose rows is anybody's latest record
        lasts = [self.by_feed[k][-1] for k in keys]
        safe = [d for d in lasts if d.rows and not any(r.rec.latest for r in d.rows)]
        if not safe:
            safe = [d for d in lasts if d.feed == "fire_rescue"]
        take("no_manifest", safe)
        for kind in ("missing_file", "rectification", "truncated"):
            pool = mids(3)
            if kind == "truncated":
                pool = [d for d in pool if any(not r.rec.latest for r in d.rows)]
            take(kind, pool)
        for kind in (
            "sent_twice",
            "rows_mismatch",
            "sha256_mismatch",
            "zero_byte_file",
            "required_column_missing",
            "required_column_renamed",
            "extra_file",
        ):
            take(kind, mids(1))

    def _plan_row_defects(self) -> None:
        rng = random.Random(f"{self.seed}:rowdefects")
        eligible: list[Row] = []
        for k in sorted(self.by_feed):
            for d in self.by_feed[k]:
                if d.defect in ("clean", "extra_file", "sent_twice"):
                    eligible.extend(r for r in d.rows if not r.rec.latest)
        total = sum(len(d.rows) for ds in self.by_feed.values() for d in ds)
        taken: set[int] = set()
        for kind, rate in ROW_DEFECT_RATES.items():
            spec_ok = eligible
            if kind == "blank_required":
                spec_ok = [r for r in eligible if _required_non_key(r.rec.feed)]
            elif kind == "impossible_date":
                spec_ok = [r for r in eligible if _required_non_key_dates(r.rec.feed)]
            pool = [r for r in spec_ok if id(r) not in taken]
            n = max(1, round(rate * total))
            for r in rng.sample(pool, min(n, len(pool))):
                r.defect = kind
                taken.add(id(r))

    # ------------------------------------------------------------ layouts
    def _plan_layouts(self) -> None:
        rng = random.Random(f"{self.seed}:layouts")
        everything = [d for k in sorted(self.by_feed) for d in self.by_feed[k]]
        for d in everything:
            d.layout = self._random_layout(rng, d)
        # every file-level kind at least once (cp1252 is settled after rendering, see _render_all)
        for kind in FILE_RATES:
            if kind == "cp1252":
                continue
            if any(kind in d.layout.defects(not d.rows) for d in everything):
                continue
            pool = [d for d in everything if d.defect == "clean" and len(d.rows) >= 2 and self._can(kind, d)]
            if pool:
                self._apply(kind, rng, rng.choice(pool))
        for d in everything:
            if d.defect == "truncated":
                d.layout.truncate, d.layout.parts, d.layout.trailing_blank = True, 1, False
            elif d.defect == "missing_file":
                d.layout.parts = 2

    def _can(self, kind: str, d: Delivery) -> bool:
        if kind in ("missing_optional_column", "renamed_optional_column"):
            return d.feed in HARMLESS_OPTIONAL
        return True

    def _apply(self, kind: str, rng: random.Random, d: Delivery) -> None:
        lay = d.layout
        if kind == "bom":
            lay.encoding = "utf-8-sig"
        elif kind == "crlf":
            lay.newline = "\r\n"
        elif kind == "trailing_blank_line":
            lay.trailing_blank = True
        elif kind == "dmy_dates":
            lay.style = "dmy"
        elif kind == "timestamp_dates":
            lay.style = "timestamp"
        elif kind == "missing_optional_column":
            lay.renamed = None
            lay.missing = rng.choice(sorted(HARMLESS_OPTIONAL[d.feed]))
        elif kind == "renamed_optional_column":
            lay.missing = None
            col = rng.choice(sorted(HARMLESS_OPTIONAL[d.feed]))
            lay.renamed = (col, HARMLESS_OPTIONAL[d.feed][col])
        elif kind == "extra_column":
            lay.extra = rng.choice(EXTRA_COLUMNS)[0]
        elif kind == "reordered_columns":
            lay.reorder = True
        elif kind == "split_parts":
            lay.parts = 2

    def _random_layout(self, rng: random.Random, d: Delivery) -> Layout:
        lay = Layout()
        u = rng.random()
        if u < FILE_RATES["cp1252"]:
            lay.encoding = "cp1252"  # kept only if the text is not plain ASCII
        elif u < FILE_RATES["cp1252"] + FILE_RATES["bom"]:
            lay.encoding = "utf-8-sig"
        if rng.random() < FILE_RATES["crlf"]:
            lay.newline = "\r\n"
        if rng.random() < FILE_RATES["trailing_blank_line"]:
            lay.trailing_blank = True
        u = rng.random()
        if u < FILE_RATES["dmy_dates"]:
            lay.style = "dmy"
        elif u < FILE_RATES["dmy_dates"] + FILE_RATES["timestamp_dates"]:
            lay.style = "timestamp"
        harmless = HARMLESS_OPTIONAL.get(d.feed)
        u = rng.random()
        if harmless and u < FILE_RATES["missing_optional_column"]:
            lay.missing = rng.choice(sorted(harmless))
        elif harmless and u < FILE_RATES["missing_optional_column"] + FILE_RATES["renamed_optional_column"]:
            col = rng.choice(sorted(harmless))
            lay.renamed = (col, harmless[col])
        if rng.random() < FILE_RATES["extra_column"]:
            lay.extra = rng.choice(EXTRA_COLUMNS)[0]
        if rng.random() < FILE_RATES["reordered_columns"]:
            lay.reorder = True
        if len(d.rows) >= 2 and rng.random() < FILE_RATES["split_parts"]:
            lay.parts = 2
        if d.defect == "required_column_missing":
            lay.required_missing = rng.choice(FEEDS[d.feed].required)
        elif d.defect == "required_column_renamed":
            col = rng.choice(FEEDS[d.feed].required)
            lay.required_renamed = (col, REQUIRED_ALIASES.get(col, col.replace("_", "")))
        return lay

    # ------------------------------------------------------------ rendering
    def _columns(self, d: Delivery, lay: Layout, rng: random.Random) -> list[tuple[str, str]]:
        """(header name, source column) pairs; source ``__extra__`` for the extra column."""
        cols: list[tuple[str, str]] = []
        for c in FEEDS[d.feed].column_names:
            if c in (lay.missing, lay.required_missing):
                continue
            name = c
            if lay.renamed and lay.renamed[0] == c:
                name = lay.renamed[1]
            if lay.required_renamed and lay.required_renamed[0] == c:
                name = lay.required_renamed[1]
            cols.append((name, c))
        if lay.extra:
            cols.insert(rng.randint(0, len(cols)), (lay.extra, "__extra__"))
        if lay.reorder:
            rng.shuffle(cols)
        return cols

    def _render_rows(
        self, d: Delivery, rows: list[Row], lay: Layout, rng: random.Random
    ) -> list[tuple[Row, dict[str, str], list[tuple[str, str]]]]:
        out = []
        for row in rows:
            values = row.sent if row.corrupt and row.sent is not None else row.values
            if row.corrupt and row.sent is None:
                values = row.sent = _corrupt(row, rng)
            vals, noise = self.renderer.render(
                row.rec, values, lay.style, d.extract_date, rng, force=d.force.get(id(row))
            )
            if row.corrupt:
                noise.append(("*", "rectified_wrong_value"))
            if lay.extra:
                vals["__extra__"] = rng.choice(dict(EXTRA_COLUMNS)[lay.extra])
            out.append((row, vals, noise))
        return out

    def render(self, d: Delivery, lay: Layout, seed_label: str) -> list[FileOut]:
        rng = random.Random(f"{self.seed}:render:{seed_label}")
        rows = sorted(d.rows, key=lambda r: (r.rec.event_date, r.rec.rid))
        if lay.truncate:
            last = next(
                i for i in range(len(rows) - 1, -1, -1) if not rows[i].rec.latest and rows[i].defect is None
            )
            rows.append(rows.pop(last))
        cols = self._columns(d, lay, rng)
        rendered = self._render_rows(d, rows, lay, rng)
        parts: list[list[tuple[Row, dict[str, str], list[tuple[str, str]]]]] = [rendered]
        if lay.parts > 1 and len(rendered) >= 2:
            half = len(rendered) // 2
            parts = [rendered[:half], rendered[half:]]
        stamp = d.extract_date.strftime("%Y%m%d")
        files = []
        for n, part in enumerate(parts, start=1):
            name = f"{d.feed}_{d.authority}_{stamp}" + (f"_{n}" if len(parts) > 1 else "") + ".csv"
            files.append(self._file(d, name, cols, part, lay, rng, truncate=lay.truncate and n == len(parts)))
        return files

    def _file(
        self,
        d: Delivery,
        name: str,
        cols: list[tuple[str, str]],
        part: list[tuple[Row, dict[str, str], list[tuple[str, str]]]],
        lay: Layout,
        rng: random.Random,
        *,
        truncate: bool,
    ) -> FileOut:
        spec = FEEDS[d.feed]
        header = ",".join(_quote(h) for h, _ in cols)
        lines = [header]
        meta: list[tuple[int, Row, str | None]] = []
        noise_out: list[tuple[int, str, str]] = []
        header_of = {src: h for h, src in cols}
        for i, (row, vals, noise) in enumerate(part):
            line_no = i + 2
            fields = [vals.get(src, "") for _, src in cols]
            defect = row.defect
            if defect == "too_many_fields":
                fields.insert(rng.randint(1, len(fields)), rng.choice(("", "X", "Flat 1")))
            elif defect == "too_few_fields":
                fields.pop(rng.randrange(len(fields)))
            elif defect == "blank_key":
                keys = [k for k in spec.key if k in header_of]
                fields[[src for _, src in cols].index(rng.choice(keys))] = rng.choice(("", " "))
            elif defect == "blank_required":
                req = [c for c in _required_non_key(d.feed) if c in header_of]
                fields[[src for _, src in cols].index(rng.choice(req))] = ""
            elif defect == "impossible_date":
                req = [c for c in _required_non_key_dates(d.feed) if c in header_of]
                fields[[src for _, src in cols].index(rng.choice(req))] = impossible_date(
                    row.rec.event_date.year, lay.style, rng
                )
            line = ",".join(_quote(f) for f in fields)
            if truncate and i == len(part) - 1:
                line = _truncate(fields, rng)
                defect = "truncated_line"
            lines.append(line)
            meta.append((line_no, row, defect))
            for col, kind in noise:
                if col == "*" or col in header_of:
                    noise_out.append((line_no, header_of.get(col, col), kind))
        text = lay.newline.join(lines)
        if not truncate:
            text += lay.newline
            if lay.trailing_blank:
                text += lay.newline
        if lay.encoding == "cp1252":
            data = text.encode("cp1252")
        elif lay.encoding == "utf-8-sig":
            data = b"\xef\xbb\xbf" + text.encode("utf-8")
        else:
            data = text.encode("utf-8")
        return FileOut(name, data, len(part), meta, noise_out)

    def _manifest(self, d: Delivery, files: list[FileOut]) -> dict[str, Any]:
        m: dict[str, Any] = {
            "feed": d.feed,
            "authority": d.authority,
            "extract_date": d.extract_date.isoformat(),
            "period_start": d.period_start.isoformat(),
            "period_end": d.period_end.isoformat(),
        }
        if d.full_refresh:
            m["full_refresh"] = True
        m["files"] = [{"name": f.name, "rows": f.rows, "sha256": f.sha256} for f in files]
        return m

    def _finish(self, d: Delivery, files: list[FileOut]) -> None:
        d.files = files
        d.written = {f.name: f.data for f in files}
        d.manifest = self._manifest(d, files)

    def _sibling(self, d: Delivery, n: int, defect: str) -> Delivery:
        s = replace(
            d, folder=f"{d.folder}_{n}", defect=defect, files=[], written={}, manifest=None, broken=False
        )
        s.parent = d
        s.rows = list(d.rows)
        return s

    def _render_all(self) -> None:
        rng = random.Random(f"{self.seed}:finish")
        siblings: list[Delivery] = []
        for k in sorted(self.by_feed):
            for d in self.by_feed[k]:
                kind = d.defect
                if kind == "rectification":
                    fixes = rng.sample(d.rows, max(1, len(d.rows) // 8))
                    fixed = [Row(r.rec, r.values) for r in fixes]
                    for r in fixes:
                        r.corrupt = True
                    d.defect = "rectified_original"
                    self._finish(d, self.render(d, d.layout, d.path))
                    s = self._sibling(d, 2, "rectification")
                    s.rows = fixed
                    s.layout = self._random_layout(rng, s)
                    s.layout.truncate = False
                    self._finish(s, self.render(s, s.layout, s.path))
                    siblings.append(s)
                    continue
                proper_layout = replace(d.layout, required_missing=None, required_renamed=None)
                proper = self.render(d, proper_layout, d.path)
                if kind in ("required_column_missing", "required_column_renamed"):
                    self._finish(d, self.render(d, d.layout, d.path))
                else:
                    self._finish(d, proper)
                if kind == "no_manifest":
                    d.manifest = None
                elif kind == "sent_twice":
                    s = self._sibling(d, 2, "duplicate_copy")
                    self._finish(s, d.files)
                    siblings.append(s)
                elif kind == "extra_file":
                    first = d.files[0]
                    d.written[first.name.replace(".csv", "_old.csv")] = first.data[
                        : max(0, len(first.data) // 2)
                    ]
                    d.written["readme.txt"] = b"Extract produced by the partner's nightly job.\r\n"
                elif kind in (
                    "rows_mismatch",
                    "sha256_mismatch",
                    "missing_file",
                    "zero_byte_file",
                    "required_column_missing",
                    "required_column_renamed",
                ):
                    d.broken = True
                    assert d.manifest is not None
                    entry = d.manifest["files"][0]
                    if kind == "rows_mismatch":
                        entry["rows"] = entry["rows"] + rng.choice(
                            (1, 2, -1) if entry["rows"] > 0 else (1, 2)
                        )
                    elif kind == "sha256_mismatch":
                        entry["sha256"] = hashlib.sha256(d.files[0].data + b"\n").hexdigest()
                    elif kind == "missing_file":
                        del d.written[d.files[-1].name]
                    elif kind == "zero_byte_file":
                        d.written[d.files[-1].name] = b""
                    s = self._sibling(d, 2, "corrected_redelivery")
                    s.layout = proper_layout
                    self._finish(s, proper)
                    siblings.append(s)
        for s in siblings:
            self.by_feed[(s.authority, s.feed)].append(s)
        self._guarantee_noise()
        self._settle_cp1252(rng)
        self._unknown(rng)

    def _guarantee_noise(self, max_probes: int = 30000) -> None:
        """Force each value-level noise kind that did not happen by chance onto one row."""
        everything = [d for k in sorted(self.by_feed) for d in self.by_feed[k]]
        seen = {(kind, "") for d in everything for f in d.files for _, _, kind in f.noise}
        seen |= {(kind, d.feed) for d in everything for f in d.files for _, _, kind in f.noise}
        # every kind somewhere, and an unknown sex in every feed whose sex codes have one (U or 9)
        wanted = [(k, "") for k in NOISE_KINDS] + [
            ("sex_unknown", f)
            for f, spec in FEEDS.items()
            if "sex" in spec.person_columns
            and {"U", "9"} & set(spec.column(spec.person_columns["sex"]).codes)
        ]
        missing = [w for w in wanted if w not in seen]
        if not missing:
            return
        rng = random.Random(f"{self.seed}:force")
        candidates = [d for d in everything if d.defect == "clean" and d.rows and d.files]
        for kind, feed in missing:
            probes = 0
            pool = [d for d in candidates if not feed or d.feed == feed]
            for d in rng.sample(pool, len(pool)):
                if probes > max_probes or self._force_one(d, kind):
                    break
                probes += len(d.rows)

    def _force_one(self, d: Delivery, kind: str) -> bool:
        for row in d.rows:
            if row.defect is not None or id(row) in d.force:
                continue
            probe = random.Random(0)
            _, noise = self.renderer.render(
                row.rec, row.delivered, d.layout.style, d.extract_date, probe, kind
            )
            if not any(k == kind for _, k in noise):
                continue
            d.force[id(row)] = kind
            files = self.render(d, d.layout, d.path)
            if any(k == kind for f in files for _, _, k in f.noise):
                self._finish(d, files)
                return True
            del d.force[id(row)]
        return False

    def _settle_cp1252(self, rng: random.Random) -> None:
        """A cp1252 layout only counts when the text is not plain ASCII; make sure one does."""
        everything = [d for k in sorted(self.by_feed) for d in self.by_feed[k]]
        found = False
        for d in everything:
            if d.layout.encoding == "cp1252":
                if all(f.data.isascii() for f in d.files):
                    d.layout.encoding = "utf-8"
                else:
                    found = True
        if found:
            return
        pool = [
            d
            for d in everything
            if d.defect == "clean"
            and d.files
            and any(not f.data.isascii() for f in d.files)
            and d.layout.encoding == "utf-8"
        ]
        if not pool:
            return
        d = rng.choice(pool)
        d.layout.encoding = "cp1252"
        self._finish(d, self.render(d, d.layout, d.path))

    def _unknown(self, rng: random.Random) -> None:
        n_unknown_auth = DELIVERY_BREAKAGES["unknown_authority"][1]
        plain = [
            d
            for k in sorted(self.by_feed)
            for d in self.by_feed[k]
            if d.defect == "clean" and d.rows and not d.full_refresh
        ]
        for i in range(n_unknown_auth):
            src = rng.choice(plain)
            other = ("leeds", "cheshire_east", "lancashire")[i % 3]
            u = Delivery(other, src.feed, src.extract_date, src.folder, src.period_start, src.period_end)
            u.defect = "unknown_authority"
            u.broken = True
            u.layout = src.layout
            files = []
            for f in src.files:
                name = f.name.replace(f"_{src.authority}_", f"_{other}_")
                files.append(FileOut(name, f.data, f.rows, [], []))
            self._finish(u, files)
            self.extra_deliveries.append(u)
        for i in range(DELIVERY_BREAKAGES["unknown_feed"][1]):
            authority = rng.choice(AUTHORITY_CODES)
            extract = last_month_end_on_or_before(self.as_of - timedelta(days=20 + 31 * i))
            u = Delivery(
                authority, "parking_fines", extract, extract.isoformat(), extract.replace(day=1), extract
            )
            u.defect = "unknown_feed"
            u.broken = True
            lines = ["pcn_ref,vrm,contravention_code,issue_date,amount"]
            n = rng.randint(5, 20)
            for _ in range(n):
                d = extract - timedelta(days=rng.randint(0, 27))
                letters = "ABCDEFGHJKLMNOPRSTUVWXYZ"
                vrm = "".join(rng.choice(letters) for _ in range(2)) + f"{rng.randint(10, 75)} "
                vrm += "".join(rng.choice(letters) for _ in range(3))
                code = rng.choice(("01", "12", "30", "62"))
                amount = rng.choice(("35.00", "70.00", "110.00"))
                lines.append(f"PCN{rng.randrange(10**8):08d},{vrm},{code},{d},{amount}")
            data = ("\n".join(lines) + "\n").encode("utf-8")
            name = f"parking_fines_{authority}_{extract.strftime('%Y%m%d')}.csv"
            self._finish(u, [FileOut(name, data, n, [], [])])
            self.extra_deliveries.append(u)


def _required_non_key(feed: str) -> list[str]:
    spec = FEEDS[feed]
    return [c for c in spec.required if c not in spec.key]


def _required_non_key_dates(feed: str) -> list[str]:
    spec = FEEDS[feed]
    return [c for c in spec.required_dates if c not in spec.key]


def _truncate(fields: list[str], rng: random.Random) -> str:
    """The line cut short inside an unquoted field before the last separator: fewer fields."""
    starts, pos = [], 0
    quoted = [_quote(f) for f in fields]
    for q in quoted:
        starts.append(pos)
        pos += len(q) + 1
    line = ",".join(quoted)
    options = [j for j in range(1, len(fields) - 1) if quoted[j] == fields[j]]
    if not options:
        return line[: starts[1]]
    j = rng.choice(options)
    return line[: starts[j] + len(fields[j]) // 2]


def _corrupt(row: Row, rng: random.Random) -> Values:
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
