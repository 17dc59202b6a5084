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
from bisect import bisect_left
from dataclasses import replace
from datetime import timedelta

from accelerator.feeds import FEEDS
from accelerator.synth.dates import last_month_end_on_or_before
from accelerator.synth.delivery import (
    EXTRA_COLUMNS,
    FEED_CODES,
    HARMLESS_OPTIONAL,
    REQUIRED_ALIASES,
    Delivery,
    FileOut,
    Layout,
    Row,
    required_non_key,
    required_non_key_dates,
    schedule,
)
from accelerator.synth.events import Values
from accelerator.synth.population import AUTHORITY_CODES
from accelerator.synth.rates import DELIVERY_BREAKAGES, FILE_RATES, ROW_DEFECT_RATES, VALUE_RATES
from accelerator.synth.rendering import Rendering


class DeliveryBuilder(Rendering):
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
                spec_ok = [r for r in eligible if required_non_key(r.rec.feed)]
            elif kind == "impossible_date":
                spec_ok = [r for r in eligible if required_non_key_dates(r.rec.feed)]
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
