"""``generate``: a synthetic landing zone for the ten authorities and its truth."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from accelerator.synth.deliveries import DeliveryBuilder
from accelerator.synth.delivery import Delivery
from accelerator.synth.events import EventBuilder
from accelerator.synth.population import PopulationBuilder
from accelerator.synth.profiles import Profile
from accelerator.synth.profiles import profile as as_profile
from accelerator.synth.truth import HEADLINES, Truth, simulate

STATUSES = ("LOADED", "REJECTED", "DUPLICATE", "PENDING")


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote. Counts only: no timings (nothing here reads the clock)."""

    out_dir: str
    seed: int
    as_of: date
    families_per_authority: int
    deliveries: dict[str, int]  # by expected status
    delivery_folders: int
    files: int
    rows_in_files: int
    rows_quarantined: int
    records: int  # accepted records in their latest version (truth/records.csv)
    people: int
    families: int
    eligible_families: int
    families_with_headline: dict[str, int]
    ambiguous_family_authority: int

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d

    def lines(self) -> list[str]:
        pct = 100 * self.eligible_families / max(1, self.families)
        by_status = ", ".join(f"{s} {self.deliveries.get(s, 0)}" for s in STATUSES)
        share = ", ".join(
            f"{name[:3]} {100 * n / max(1, self.families):.0f}%"
            for name, n in self.families_with_headline.items()
        )
        return [
            f"landing and truth under {self.out_dir} (seed {self.seed}, as_of {self.as_of.isoformat()}, "
            f"{self.families_per_authority} households per authority)",
            f"deliveries: {self.delivery_folders} folders ({by_status}), {self.files} files, "
            f"{self.rows_in_files} rows in files, {self.rows_quarantined} to quarantine",
            f"records: {self.records}; people: {self.people}; families: {self.families}, "
            f"eligible {self.eligible_families} ({pct:.1f}%)",
            f"families per headline: {share}",
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def generate(
    out_dir: Path,
    *,
    families_per_authority: int = 300,
    seed: int = 1,
    as_of: date,
    profile: str | Profile = "default",
) -> GenerationSummary:
    """Write ``out_dir/landing`` (partner deliveries) and ``out_dir/truth`` (what loading them must give).

    Deterministic: the same arguments give byte-identical files. ``out_dir/landing`` and
    ``out_dir/truth`` must not exist yet or be empty. ``profile`` names a population
    (``synth/profiles.py``); the default is the generator's usual one.
    """
    prof = as_profile(profile)
    if families_per_authority < 1:
        raise ValueError("families_per_authority must be at least 1")
    out_dir = Path(out_dir)
    for sub in ("landing", "truth"):
        p = out_dir / sub
        if p.exists() and any(p.iterdir()):
            raise FileExistsError(f"{p} is not empty: generate into a fresh folder")
    deliveries, truth = build(
        families_per_authority=families_per_authority, seed=seed, as_of=as_of, profile=prof
    )
    _write_landing(out_dir, deliveries)
    summary = _summary(out_dir, seed, as_of, families_per_authority, deliveries, truth)
    _write_truth(out_dir, deliveries, truth, summary, prof)
    return summary


def build(
    *, families_per_authority: int, seed: int, as_of: date, profile: str | Profile = "default"
) -> tuple[list[Delivery], Truth]:
    """The deliveries and their truth in memory (what :func:`generate` writes)."""
    if families_per_authority < 1:
        raise ValueError("families_per_authority must be at least 1")
    prof = as_profile(profile)
    pop = PopulationBuilder(seed=seed, as_of=as_of, per_authority=families_per_authority, profile=prof)
    households = pop.build()
    records = EventBuilder(pop, seed).generate(households)
    deliveries = DeliveryBuilder(seed=seed, as_of=as_of, records=records, profile=prof).build()
    return deliveries, simulate(deliveries, as_of)


def _write_landing(out_dir: Path, deliveries: list[Delivery]) -> None:
    for d in deliveries:
        folder = out_dir / d.path
        folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(d.written):
            (folder / name).write_bytes(d.written[name])
        if d.manifest is not None:
            (folder / "manifest.json").write_bytes((json.dumps(d.manifest, indent=2) + "\n").encode("utf-8"))


def _summary(
    out_dir: Path, seed: int, as_of: date, n: int, deliveries: list[Delivery], truth: Truth
) -> GenerationSummary:
    statuses = Counter(o.status for o in truth.outcomes)
    heads = {name: sum(1 for h in truth.headlines.values() if h[name]) for name in HEADLINES}
    return GenerationSummary(
        out_dir=str(out_dir),
        seed=seed,
        as_of=as_of,
        families_per_authority=n,
        deliveries={s: statuses.get(s, 0) for s in STATUSES},
        delivery_folders=len(deliveries),
        files=sum(len(d.written) for d in deliveries),
        rows_in_files=sum(o.rows_in_files for o in truth.outcomes),
        rows_quarantined=sum(o.rows_quarantined for o in truth.outcomes),
        records=sum(len(s) for s in truth.records.values()),
        people=len(truth.people),
        families=len(truth.families),
        eligible_families=sum(truth.eligible.values()),
        families_with_headline=heads,
        ambiguous_family_authority=truth.ambiguous_family_authority,
    )


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def _b(v: bool) -> str:
    return "true" if v else "false"


def _write_truth(
    out_dir: Path, deliveries: list[Delivery], truth: Truth, summary: GenerationSummary, prof: Profile
) -> None:
    t = out_dir / "truth"
    t.mkdir(parents=True, exist_ok=True)
    rows: list[list[Any]] = []
    for o in sorted(truth.outcomes, key=lambda o: o.delivery.path):
        d = o.delivery
        rows.append(
            [
                d.path,
                d.authority,
                d.feed,
                d.folder,
                d.extract_date.isoformat(),
                _b(d.full_refresh),
                o.status,
                o.rows_in_files,
                o.rows_loaded,
                o.rows_quarantined,
                o.defect,
                ";".join(d.layout.defects(header_only=bool(d.files) and all(f.rows == 0 for f in d.files))),
            ]
        )
    _csv(
        t / "deliveries.csv",
        [
            "delivery_path",
            "authority",
            "feed",
            "folder",
            "extract_date",
            "full_refresh",
            "expected_status",
            "expected_rows_in_files",
            "expected_rows_loaded",
            "expected_rows_quarantined",
            "defect",
            "file_defects",
        ],
        rows,
    )
    _csv(
        t / "quarantine.csv",
        ["delivery_path", "source_file", "line_number", "expected_reason", "detail"],
        [list(q) for q in sorted(truth.quarantine)],
    )
    rec_rows = []
    for (authority, feed), state in sorted(truth.records.items()):
        for k in sorted(state):
            acc = state[k]
            p = acc.rec.person
            rec_rows.append(
                [authority, feed, k, p.pid if p else "", acc.rec.event_date.isoformat(), acc.delivery.path]
            )
    _csv(
        t / "records.csv",
        ["authority", "feed", "record_key", "person_id", "event_date", "delivery_path"],
        rec_rows,
    )
    people_rows = []
    for pid in sorted(truth.people):
        p = truth.people[pid]
        people_rows.append(
            [
                pid,
                p.forename,
                p.surname,
                p.dob.isoformat(),
                p.sex,
                p.nhs or "",
                p.upn or "",
                p.nino or "",
                ";".join(sorted(truth.person_authorities.get(pid, ()))),
            ]
        )
    _csv(
        t / "people.csv",
        ["person_id", "forename", "surname", "dob", "sex", "nhs_number", "upn", "nino", "authorities"],
        people_rows,
    )
    _csv(
        t / "families.csv",
        ["family_id", "person_id", "authority"],
        [[fid, pid, a] for fid, a, pids in truth.families for pid in pids],
    )
    head_rows = []
    for fid, a, _pids in truth.families:
        h = truth.headlines[fid]
        head_rows.append([fid, a, *(_b(h[n]) for n in HEADLINES), sum(h.values()), _b(truth.eligible[fid])])
    _csv(t / "headlines.csv", ["family_id", "authority", *HEADLINES, "headline_count", "eligible"], head_rows)
    noise_rows = []
    for d in sorted(deliveries, key=lambda x: x.path):
        for f in d.files:
            if f.name not in d.written:
                continue
            for line, column, kind in f.noise:
                noise_rows.append([d.path, f.name, line, column, kind])
    _csv(t / "value_noise.csv", ["delivery_path", "source_file", "line_number", "column", "kind"], noise_rows)
    meta = {
        "seed": summary.seed,
        "as_of": summary.as_of.isoformat(),
        "families_per_authority": summary.families_per_authority,
        "counts": {k: v for k, v in summary.as_dict().items() if k != "out_dir"},
    }
    if prof.name != "default":
        meta["profile"] = prof.name
    (t / "meta.json").write_bytes((json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8"))
