"""A delivery's bytes: its columns in the layout's order, each row rendered with its value-level
noise (:mod:`synth.noise`), files in the layout's encoding and line endings, the manifest, and the
guarantee that every noise kind and the Windows-1252 encoding occur at least once per run."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

from accelerator.feeds import FEEDS
from accelerator.synth.delivery import (
    EXTRA_COLUMNS,
    Delivery,
    FileOut,
    Layout,
    Row,
    corrupt_row,
    quote_field,
    required_non_key,
    required_non_key_dates,
    truncate_fields,
)
from accelerator.synth.events import Rec
from accelerator.synth.noise import NOISE_KINDS, Renderer, impossible_date
from accelerator.synth.profiles import Profile, scaled
from accelerator.synth.profiles import profile as as_profile
from accelerator.synth.rates import VALUE_RATES


class Rendering:
    """The delivery builder's state and how it renders (``DeliveryBuilder`` plans on top of it)."""

    def __init__(
        self, *, seed: int, as_of: date, records: list[Rec], profile: Profile | str = "default"
    ) -> None:
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
        self.renderer = Renderer(as_of, counts, scaled(dict(VALUE_RATES), as_profile(profile).noise))

    # ------------------------------------------------------------ schedule and assignment

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
                values = row.sent = corrupt_row(row, rng)
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
        header = ",".join(quote_field(h) for h, _ in cols)
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
                req = [c for c in required_non_key(d.feed) if c in header_of]
                fields[[src for _, src in cols].index(rng.choice(req))] = ""
            elif defect == "impossible_date":
                req = [c for c in required_non_key_dates(d.feed) if c in header_of]
                fields[[src for _, src in cols].index(rng.choice(req))] = impossible_date(
                    row.rec.event_date.year, lay.style, rng
                )
            line = ",".join(quote_field(f) for f in fields)
            if truncate and i == len(part) - 1:
                line = truncate_fields(fields, rng)
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
