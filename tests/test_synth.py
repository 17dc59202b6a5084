"""The synthetic partner-feed generator: determinism, messiness, and a truth a correct platform can reach.

The truth is checked against an independent reference loader written here from feeds.md and
outcomes.md alone: it reads the landing bytes (whatever the encoding, line endings, date format and
column layout), decides every delivery's status, quarantines rows, keeps the latest version of each
record, and recomputes families and headlines from the delivered values (person ids from
records.csv, dates of birth from people.csv). Its answers must equal truth/*.csv exactly.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.identifiers import normalise_postcode, normalise_uprn
from accelerator.synth import GenerationSummary, generate
from accelerator.synth.dates import add_months, age_on, term_end
from accelerator.synth.noise import NOISE_KINDS
from accelerator.synth.rates import FILE_RATES

AS_OF = date(2025, 3, 31)
HEADLINES = [
    "h01_education",
    "h02_early_years",
    "h03_health",
    "h04_substance",
    "h05_relationships",
    "h06_safeguarding",
    "h07_crime",
    "h08_domestic_abuse",
    "h09_housing",
    "h10_financial",
]


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("synth30")
    summary = generate(out, families_per_authority=30, seed=7, as_of=AS_OF)
    return out, summary


@pytest.fixture(scope="module")
def gen_mid_month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("synth_mid")
    summary = generate(out, families_per_authority=15, seed=3, as_of=date(2024, 2, 29))
    return out, summary


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- reference reader (feeds.md)

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}$")
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def parse_date(v: str | None) -> date | None:
    if v is None:
        return None
    v = v.strip()
    m = _ISO.match(v) or _TS.match(v)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(v)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def parse_file(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (physical line number, fields) per data record; empty lines are not records."""
    lines = decode(data).split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    rows = []
    for i, ln in enumerate(lines[1:], start=2):
        if ln == "":
            continue
        rows.append((i, next(csv.reader([ln]))))
    return header, rows


def blank(v: str | None) -> bool:
    return v is None or v.strip() == ""


def ref_key(feed: str, values: dict[str, str]) -> str:
    spec = FEEDS[feed]
    parts = []
    for col in spec.key:
        v = values[col].strip()
        if spec.column(col).kind == "date":
            d = parse_date(v)
            v = d.isoformat() if d else v
        if col in spec.upper_key_columns:
            v = v.upper()
        parts.append(v)
    return "|".join(parts)


@dataclass
class RefRow:
    authority: str
    feed: str
    key: str
    values: dict[str, str]
    delivery_path: str
    extract_date: date
    folder: str


@dataclass
class RefLoad:
    status: dict[str, str]
    counts: dict[str, tuple[int, int, int]]
    quarantine: set[tuple[str, str, int, str]]
    state: dict[tuple[str, str], dict[str, RefRow]]


def discover(root: Path) -> Iterator[tuple[str, str, str, Path]]:
    for a in sorted((root / "landing").iterdir()):
        for f in sorted(a.iterdir()):
            for folder in sorted(f.iterdir()):
                yield a.name, f.name, folder.name, folder


def reference_load(root: Path) -> RefLoad:
    groups: dict[tuple[str, str], list[tuple[str, Path]]] = defaultdict(list)
    for a, f, folder, path in discover(root):
        groups[(a, f)].append((folder, path))
    out = RefLoad({}, {}, set(), {})
    for (a, feed), folders in sorted(groups.items()):
        loaded: set[str] = set()
        state: dict[str, RefRow] = {}
        for folder, path in sorted(folders, key=lambda x: (x[0][:10], x[0])):
            dpath = f"landing/{a}/{feed}/{folder}"
            status, rows_in, quarantined, accepted = _assess(
                a, feed, folder, path, loaded, out.quarantine, dpath
            )
            out.status[dpath] = status
            loaded_n = rows_in - quarantined if status == "LOADED" else 0
            out.counts[dpath] = (rows_in, loaded_n, quarantined if status == "LOADED" else 0)
            if status == "LOADED":
                manifest = json.loads((path / "manifest.json").read_text("utf-8"))
                if manifest.get("full_refresh") is True:
                    state = {}
                for r in accepted:
                    state[r.key] = r
        if a in AUTHORITIES and feed in FEEDS:
            out.state[(a, feed)] = state
    return out


def _assess(
    a: str,
    feed: str,
    folder: str,
    path: Path,
    loaded: set[str],
    quarantine: set[tuple[str, str, int, str]],
    dpath: str,
) -> tuple[str, int, int, list[RefRow]]:
    names = {p.name for p in path.iterdir()}
    if "manifest.json" not in names:
        return "PENDING", 0, 0, []
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    listed = [f["name"] for f in manifest["files"]]
    blobs = {n: (path / n).read_bytes() for n in listed if n in names}
    shas = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}
    rows_in = sum(len(parse_file(b)[1]) for b in blobs.values() if b)
    if len(blobs) == len(listed) and all(s in loaded for s in shas.values()):
        return "DUPLICATE", rows_in, 0, []
    if a not in AUTHORITIES or feed not in FEEDS or len(blobs) != len(listed):
        return "REJECTED", rows_in, 0, []
    spec = FEEDS[feed]
    accepted: list[RefRow] = []
    q: list[tuple[str, str, int, str]] = []
    for entry in manifest["files"]:
        data = blobs[entry["name"]]
        if not data or shas[entry["name"]] != entry["sha256"]:
            return "REJECTED", rows_in, 0, []
        header, rows = parse_file(data)
        if len(rows) != entry["rows"] or any(c not in header for c in spec.required):
            return "REJECTED", rows_in, 0, []
        for line, fields in rows:
            reason = None
            if len(fields) != len(header):
                reason = "FIELD_COUNT"
            else:
                values = dict(zip(header, fields, strict=True))
                if any(blank(values[k]) for k in spec.key):
                    reason = "MISSING_KEY"
                elif any(blank(values[c]) for c in spec.required):
                    reason = "MISSING_REQUIRED"
                elif any(parse_date(values[c]) is None for c in spec.required_dates):
                    reason = "BAD_REQUIRED_DATE"
            if reason:
                q.append((dpath, entry["name"], line, reason))
                continue
            key = ref_key(feed, values)
            accepted.append(RefRow(a, feed, key, values, dpath, date.fromisoformat(folder[:10]), folder))
    loaded.update(shas.values())
    quarantine.update(q)
    return "LOADED", rows_in, len(q), accepted


# ---------------------------------------------------------------- reference families, headlines (outcomes.md)

ABBREVIATIONS = {
    "RD": "ROAD",
    "ST": "STREET",
    "AVE": "AVENUE",
    "CL": "CLOSE",
    "LN": "LANE",
    "PL": "PLACE",
    "DR": "DRIVE",
    "CRES": "CRESCENT",
    "GR": "GROVE",
    "SQ": "SQUARE",
    "TER": "TERRACE",
}


def norm_line(s: str) -> str:
    toks = re.sub(r"[,\s]+", " ", s.upper()).strip().split(" ")
    toks[-1] = ABBREVIATIONS.get(toks[-1], toks[-1])
    return " ".join(toks)


def event_date(feed: str, v: dict[str, str]) -> date:
    if feed == "school_census":
        return term_end(v["census_term"].strip())
    col = FEEDS[feed].event_date
    assert col is not None
    d = parse_date(v[col])
    assert d is not None
    return d


def end_or_none(v: dict[str, str], end: str, start: str) -> date | None:
    """An end date as silver keeps it: null when absent, not a date, or before its start."""
    e, s = parse_date(v.get(end)), parse_date(v.get(start))
    if e is None or (s is not None and e < s):
        return None
    return e


def reference_families_and_headlines(
    load: RefLoad, records: list[dict[str, str]], people: dict[str, dict[str, str]]
) -> dict[frozenset[str], tuple[str, dict[str, bool], bool]]:
    as_of, w0 = AS_OF, add_months(AS_OF, -12)
    pid_of = {(r["authority"], r["feed"], r["record_key"]): r["person_id"] for r in records}
    rows_by_person: dict[str, list[RefRow]] = defaultdict(list)
    for (a, feed), state in load.state.items():
        for key, row in state.items():
            pid = pid_of[(a, feed, key)]
            if pid:
                rows_by_person[pid].append(row)

    def in_window(d: date) -> bool:
        return w0 < d <= as_of

    def open_at(s: date, e: date | None) -> bool:
        return s <= as_of and (e is None or e > as_of)

    def open_window(s: date, e: date | None) -> bool:
        return s <= as_of and (e is None or e > w0)

    # families
    parent: dict[str, str] = {p: p for p in rows_by_person}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: str, y: str) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    eh: dict[tuple[str, str], list[str]] = defaultdict(list)
    housing: dict[tuple[str, str], list[tuple[date, str, str]]] = defaultdict(list)
    latest: dict[str, tuple[tuple[date, date, str, str], RefRow]] = {}
    for pid, rows in rows_by_person.items():
        for r in rows:
            v = r.values
            if r.feed == "early_help":
                opened = parse_date(v["case_open_date"])
                assert opened is not None
                if open_at(opened, end_or_none(v, "case_close_date", "case_open_date")):
                    eh[(r.authority, v["family_case_ref"].strip())].append(pid)
            if r.feed == "housing":
                d = parse_date(v["status_date"])
                assert d is not None
                housing[(r.authority, v["case_ref"].strip())].append((d, v["status"], pid))
            order = (event_date(r.feed, v), r.extract_date, r.folder, r.feed)
            if pid not in latest or order > latest[pid][0]:
                latest[pid] = (order, r)
    for pids in eh.values():
        for p in pids[1:]:
            union(pids[0], p)
    for rows3 in housing.values():
        top = max(d for d, _, _ in rows3)
        members = [p for d, _, p in rows3 if d == top]
        for p in members[1:]:
            union(members[0], p)
    by_addr: dict[tuple[str, str], str] = {}
    for pid, (_, r) in sorted(latest.items()):
        v = r.values
        keys = [("line", f"{norm_line(v['address'])}|{normalise_postcode(v['postcode'])}")]
        uprn = normalise_uprn(v.get("uprn"))
        if uprn:
            keys.append(("uprn", uprn))
        for k in keys:
            if k in by_addr:
                union(by_addr[k], pid)
            else:
                by_addr[k] = pid

    # headlines per person
    flags: dict[str, set[int]] = defaultdict(set)
    expectant: set[str] = set()
    for pid, rows in rows_by_person.items():
        age = age_on(date.fromisoformat(people[pid]["dob"]), as_of)
        f = flags[pid]
        for r in rows:
            v, feed = r.values, r.feed
            if feed == "school_census":
                if in_window(term_end(v["census_term"])) and 5 <= age <= 16:
                    possible = int(v["sessions_possible"])
                    absent = int(v["sessions_authorised_absence"]) + int(v["sessions_unauthorised_absence"])
                    if (possible - absent) / possible < 0.9 or int(v["suspensions"]) > 0:
                        f.add(1)
                    if v["permanent_exclusion"] == "Y":
                        f.add(1)
            elif feed == "health_services":
                ref = parse_date(v["referral_date"])
                assert ref is not None
                dis = end_or_none(v, "discharge_date", "referral_date")
                service, outcome = v["service"], v.get("outcome")
                if (
                    service == "HEALTH_VISITING"
                    and outcome == "BELOW_EXPECTED"
                    and in_window(ref)
                    and age < 5
                ):
                    f.add(2)
                if service == "MATERNITY" and outcome == "CONCERN" and in_window(ref):
                    f.add(2)
                if service == "MATERNITY" and open_at(ref, dis):
                    expectant.add(pid)
                if service == "MENTAL_HEALTH" and open_window(ref, dis):
                    f.add(3)
                if service == "SUBSTANCE_MISUSE" and open_window(ref, dis):
                    f.add(4)
            elif feed == "early_help":
                opened = parse_date(v["case_open_date"])
                assert opened is not None
                if open_at(opened, end_or_none(v, "case_close_date", "case_open_date")):
                    needs = set(v["presenting_needs"].split(";"))
                    f.update(h for h, codes in ((3, {"MENTAL_HEALTH"}), (4, {"SUBSTANCE"})) if needs & codes)
                    if needs & {"PARENTAL_CONFLICT", "YOUNG_CARER"}:
                        f.add(5)
                    if needs & {"DEBT", "NEET"}:
                        f.add(10)
            elif feed == "childrens_social_care":
                start = parse_date(v["start_date"])
                assert start is not None
                if age < 18 and open_window(start, end_or_none(v, "end_date", "start_date")):
                    f.add(6)
            elif feed == "police_incidents":
                d = parse_date(v["incident_date"])
                assert d is not None
                if in_window(d) and v["role"] in ("OFFENDER", "SUSPECT"):
                    f.add(7)
                if in_window(d) and v["domestic_abuse"] == "Y":
                    f.add(8)
            elif feed == "youth_justice":
                d = parse_date(v["outcome_date"])
                assert d is not None
                if in_window(d):
                    f.add(7)
            elif feed == "probation":
                start = parse_date(v["start_date"])
                assert start is not None
                if open_window(start, end_or_none(v, "end_date", "start_date")):
                    f.add(7)
                    if v["da_perpetrator"] == "Y":
                        f.add(8)
            elif feed == "dwp_benefits":
                start = parse_date(v["award_start"])
                assert start is not None
                if (
                    age >= 18
                    and v["benefit"] in ("UC", "ESA", "JSA")
                    and v["work_status"] == "OUT_OF_WORK"
                    and open_window(start, end_or_none(v, "award_end", "award_start"))
                ):
                    f.add(10)
    for rows3 in housing.values():
        recent = sorted((d, s) for d, s, _ in rows3 if in_window(d))
        case_members = {p for _, _, p in rows3}
        h09 = {
            "HOMELESS_PREVENTION",
            "HOMELESS_RELIEF",
            "TEMPORARY_ACCOMMODATION",
            "NOTICE_SEEKING_POSSESSION",
            "EVICTED",
        }
        if recent and recent[-1][1] in h09:
            for p in case_members:
                flags[p].add(9)
        if any(s == "RENT_ARREARS" for _, s in recent):
            for p in case_members:
                flags[p].add(10)

    families: dict[str, list[str]] = defaultdict(list)
    for pid in rows_by_person:
        families[find(pid)].append(pid)
    out = {}
    for pids in families.values():
        authority = max((latest[p] for p in pids), key=lambda x: x[0])[1].authority
        fam: set[int] = set().union(*(flags[p] for p in pids))
        heads = {name: (i + 1) in fam for i, name in enumerate(HEADLINES)}
        child = any(age_on(date.fromisoformat(people[p]["dob"]), as_of) < 18 for p in pids)
        eligible = len(fam) >= 3 and (child or any(p in expectant for p in pids))
        out[frozenset(pids)] = (authority, heads, eligible)
    return out


# ---------------------------------------------------------------- tests


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", families_per_authority=10, seed=11, as_of=AS_OF)
    generate(tmp_path / "b", families_per_authority=10, seed=11, as_of=AS_OF)
    generate(tmp_path / "c", families_per_authority=10, seed=12, as_of=AS_OF)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert a != c
    assert a["truth/people.csv"] != c["truth/people.csv"]


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        generate(tmp_path, families_per_authority=10, seed=1, as_of=AS_OF)


def test_every_authority_and_feed_is_delivered(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    deliveries = read_csv(root / "truth" / "deliveries.csv")
    pairs = {(d["authority"], d["feed"]) for d in deliveries if d["expected_status"] == "LOADED"}
    assert pairs >= {(a, f) for a in AUTHORITIES for f in FEEDS}
    authorities = {d["authority"] for d in deliveries}
    assert authorities - set(AUTHORITIES), "a delivery for an unknown authority"
    assert {d["feed"] for d in deliveries} - set(FEEDS), "a delivery for an unknown feed"
    for d in deliveries:
        assert (root / d["delivery_path"]).is_dir()
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(_\d+)?", d["folder"])
        assert d["folder"][:10] == d["extract_date"]
    full = [d for d in deliveries if d["full_refresh"] == "true"]
    assert len({(d["authority"], d["feed"]) for d in full}) == len(full) == 100
    last = max(d["extract_date"] for d in deliveries)
    assert last == AS_OF.isoformat()


def test_manifests_match_their_files_unless_broken_on_purpose(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    broken = {"rows_mismatch", "sha256_mismatch", "missing_file", "zero_byte_file"}
    seen: Counter[str] = Counter()
    for d in read_csv(root / "truth" / "deliveries.csv"):
        folder = root / d["delivery_path"]
        mpath = folder / "manifest.json"
        if d["defect"] == "no_manifest":
            assert not mpath.exists() and d["expected_status"] == "PENDING"
            continue
        manifest = json.loads(mpath.read_text("utf-8"))
        assert list(manifest)[:5] == ["feed", "authority", "extract_date", "period_start", "period_end"]
        assert manifest["feed"] == d["feed"] and manifest["authority"] == d["authority"]
        assert manifest["extract_date"] == d["extract_date"]
        assert manifest.get("full_refresh", False) == (d["full_refresh"] == "true")
        ok = True
        for entry in manifest["files"]:
            p = folder / entry["name"]
            if not p.exists() or p.stat().st_size == 0:
                ok = False
                continue
            data = p.read_bytes()
            rows = len(parse_file(data)[1])
            ok = ok and hashlib.sha256(data).hexdigest() == entry["sha256"] and rows == entry["rows"]
        if d["defect"] in broken:
            assert not ok, d["delivery_path"]
            assert d["expected_status"] == "REJECTED"
            seen[d["defect"]] += 1
        else:
            assert ok, d["delivery_path"]
    assert set(seen) == broken


def test_every_kind_of_messiness_appears(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    deliveries = read_csv(root / "truth" / "deliveries.csv")
    file_kinds = {k for d in deliveries for k in d["file_defects"].split(";") if k}
    assert file_kinds >= {*FILE_RATES, "header_only", "truncated"}
    defects = {d["defect"] for d in deliveries}
    assert defects >= {
        "clean",
        "no_manifest",
        "sent_twice",
        "duplicate_copy",
        "rows_mismatch",
        "sha256_mismatch",
        "missing_file",
        "zero_byte_file",
        "required_column_missing",
        "required_column_renamed",
        "corrected_redelivery",
        "extra_file",
        "rectified_original",
        "rectification",
        "header_only",
        "truncated",
        "unknown_authority",
        "unknown_feed",
    }
    quarantine = read_csv(root / "truth" / "quarantine.csv")
    assert {q["expected_reason"] for q in quarantine} == {
        "FIELD_COUNT",
        "MISSING_KEY",
        "MISSING_REQUIRED",
        "BAD_REQUIRED_DATE",
    }
    assert {q["detail"] for q in quarantine} == {
        "too_many_fields",
        "too_few_fields",
        "truncated_line",
        "blank_key",
        "blank_required",
        "impossible_date",
    }
    noise = {n["kind"] for n in read_csv(root / "truth" / "value_noise.csv")}
    assert noise >= {*NOISE_KINDS, "rectified_wrong_value"}


def test_file_defects_are_really_in_the_bytes(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    for d in read_csv(root / "truth" / "deliveries.csv"):
        kinds = set(d["file_defects"].split(";")) - {""}
        folder = root / d["delivery_path"]
        if not (folder / "manifest.json").exists():
            continue
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        files = [folder / e["name"] for e in manifest["files"]]
        blobs = [p.read_bytes() for p in files if p.exists() and p.stat().st_size]
        if not blobs or d["feed"] not in FEEDS:
            continue
        data = blobs[0]
        assert ("bom" in kinds) == data.startswith(b"\xef\xbb\xbf")
        if "cp1252" in kinds:
            special = [b for b in blobs if not b.isascii()]
            assert special
            with pytest.raises(UnicodeDecodeError):
                special[0].decode("utf-8")
        assert ("crlf" in kinds) == (b"\r\n" in data)
        if "trailing_blank_line" in kinds:
            assert data.endswith(b"\n\n") or data.endswith(b"\r\n\r\n")
        if "truncated" in kinds:
            assert not blobs[-1].endswith(b"\n")
        assert ("split_parts" in kinds) == (len(manifest["files"]) > 1)
        header, rows = parse_file(data)
        spec = FEEDS[d["feed"]]
        if "extra_column" in kinds:
            assert set(header) - set(spec.column_names)
        if "reordered_columns" not in kinds and "extra_column" not in kinds:
            assert [h for h in header if h in spec.column_names] == [
                c for c in spec.column_names if c in header
            ]
        if "header_only" in kinds:
            assert rows == []
        dates = [
            fields[header.index(c)]
            for _, fields in rows
            for c in spec.required_dates
            if len(fields) == len(header) and c in header
        ]
        if dates and "dmy_dates" in kinds:
            assert any(_DMY.match(v) for v in dates)
        elif dates and "timestamp_dates" in kinds:
            assert any(_TS.match(v) for v in dates)
        elif dates:
            assert any(_ISO.match(v) for v in dates)


def test_every_listed_code_is_used(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    used: dict[tuple[str, str], set[str]] = defaultdict(set)
    needs: set[str] = set()
    for a, feed, _folder, path in discover(root):
        if a not in AUTHORITIES or feed not in FEEDS or not (path / "manifest.json").exists():
            continue
        for p in sorted(path.glob("*.csv")):
            if not p.stat().st_size or p.name.endswith("_old.csv"):
                continue
            header, rows = parse_file(p.read_bytes())
            for _, fields in rows:
                if len(fields) != len(header):
                    continue
                v = dict(zip(header, fields, strict=True))
                for col in FEEDS[feed].columns:
                    if col.codes and col.name in v:
                        used[(feed, col.name)].add(v[col.name])
                if feed == "early_help":
                    needs.update(v["presenting_needs"].split(";"))
    for feed, spec in FEEDS.items():
        for col in spec.columns:
            if col.codes:
                assert set(col.codes) <= used[(feed, col.name)], (feed, col.name)
    assert needs >= {
        "PARENTAL_CONFLICT",
        "YOUNG_CARER",
        "DEBT",
        "NEET",
        "MENTAL_HEALTH",
        "SUBSTANCE",
        "DOMESTIC_ABUSE",
        "HOUSING",
        "ATTENDANCE",
        "EARLY_YEARS",
    }


KEY_PATTERNS = {
    "police_incidents": r"GMP-\d\d-\d{7}\|N\d{8}",
    "school_census": r"[A-Z]\d{11}[0-9A-Z]\|20\d\d(AUT|SPR|SUM)",
    "health_services": r"RF\d{9}",
    "dwp_benefits": r"AW\d{9}",
    "housing": r"HOU\d{9}\|\d{4}-\d\d-\d\d\|\d+",
    "childrens_social_care": r"EP\d{10}",
    "early_help": r"FC\d{3}-\d{6}\|EHP\d{7}",
    "youth_justice": r"YJ\d{3}/\d{5}\|\d{4}-\d\d-\d\d",
    "probation": r"[A-Z]\d{6}\|\d{4}-\d\d-\d\d",
    "fire_rescue": r"GMFRS/\d\d/\d{6}",
}


def test_record_keys_unique_and_well_formed(gen: tuple[Path, GenerationSummary]) -> None:
    root, _ = gen
    records = read_csv(root / "truth" / "records.csv")
    keys = Counter((r["authority"], r["feed"], r["record_key"]) for r in records)
    assert max(keys.values()) == 1
    for r in records:
        assert re.fullmatch(KEY_PATTERNS[r["feed"]], r["record_key"]), r
        assert (r["person_id"] == "") == (r["feed"] == "fire_rescue")
        assert date.fromisoformat(r["event_date"]) <= AS_OF
        assert r["delivery_path"].startswith(f"landing/{r['authority']}/{r['feed']}/")


def test_truth_equals_an_independent_reference_load(gen: tuple[Path, GenerationSummary]) -> None:
    root, summary = gen
    load = reference_load(root)
    deliveries = read_csv(root / "truth" / "deliveries.csv")
    for d in deliveries:
        p = d["delivery_path"]
        assert load.status[p] == d["expected_status"], p
        counts = (
            int(d["expected_rows_in_files"]),
            int(d["expected_rows_loaded"]),
            int(d["expected_rows_quarantined"]),
        )
        if d["expected_status"] == "LOADED":
            assert counts == load.counts[p], p
            assert counts[0] == counts[1] + counts[2]
        else:
            assert counts[1:] == (0, 0)
    assert {d["delivery_path"] for d in deliveries} == set(load.status)
    quarantine = {
        (q["delivery_path"], q["source_file"], int(q["line_number"]), q["expected_reason"])
        for q in read_csv(root / "truth" / "quarantine.csv")
    }
    assert quarantine == load.quarantine
    records = read_csv(root / "truth" / "records.csv")
    truth_keys = {(r["authority"], r["feed"], r["record_key"]): r["delivery_path"] for r in records}
    ref_keys = {(a, f, k): row.delivery_path for (a, f), s in load.state.items() for k, row in s.items()}
    assert truth_keys == ref_keys
    assert summary.records == len(records)


def test_families_and_headlines_equal_the_reference(gen: tuple[Path, GenerationSummary]) -> None:
    root, summary = gen
    load = reference_load(root)
    records = read_csv(root / "truth" / "records.csv")
    people = {p["person_id"]: p for p in read_csv(root / "truth" / "people.csv")}
    ref = reference_families_and_headlines(load, records, people)
    members: dict[str, set[str]] = defaultdict(set)
    authority: dict[str, str] = {}
    for r in read_csv(root / "truth" / "families.csv"):
        members[r["family_id"]].add(r["person_id"])
        authority[r["family_id"]] = r["authority"]
    truth = {frozenset(m): fid for fid, m in members.items()}
    assert set(truth) == set(ref)
    heads = {h["family_id"]: h for h in read_csv(root / "truth" / "headlines.csv")}
    assert set(heads) == set(members)
    for fam, fid in truth.items():
        ref_authority, ref_heads, ref_eligible = ref[fam]
        h = heads[fid]
        assert authority[fid] == h["authority"] == ref_authority, fid
        assert {n: h[n] == "true" for n in HEADLINES} == ref_heads, fid
        assert int(h["headline_count"]) == sum(ref_heads.values())
        assert (h["eligible"] == "true") == ref_eligible, fid
    assert summary.families == len(members)
    assert summary.ambiguous_family_authority == 0
    # every person with an accepted person-level record is in exactly one family
    in_records = {r["person_id"] for r in records if r["person_id"]}
    listed = [p for m in members.values() for p in m]
    assert len(listed) == len(set(listed)) and set(listed) == in_records == set(people)


def test_eligible_families_have_three_headlines_and_a_child_or_expectant_parent(
    gen: tuple[Path, GenerationSummary],
) -> None:
    root, _ = gen
    people = {p["person_id"]: p for p in read_csv(root / "truth" / "people.csv")}
    members: dict[str, list[str]] = defaultdict(list)
    for r in read_csv(root / "truth" / "families.csv"):
        members[r["family_id"]].append(r["person_id"])
    heads = read_csv(root / "truth" / "headlines.csv")
    eligible = [h for h in heads if h["eligible"] == "true"]
    assert 0.05 <= len(eligible) / len(heads) <= 0.35
    load = reference_load(root)
    records = read_csv(root / "truth" / "records.csv")
    ref = reference_families_and_headlines(load, records, people)
    for h in eligible:
        assert int(h["headline_count"]) >= 3
        assert sum(h[n] == "true" for n in HEADLINES) == int(h["headline_count"])
        ages = [age_on(date.fromisoformat(people[p]["dob"]), AS_OF) for p in members[h["family_id"]]]
        child = min(ages) < 18
        assert child or ref[frozenset(members[h["family_id"]])][2]
    for name in HEADLINES:
        share = sum(h[name] == "true" for h in heads) / len(heads)
        assert 0.01 < share < 0.45, name


def test_people_and_identifiers(gen: tuple[Path, GenerationSummary]) -> None:
    from accelerator.identifiers import is_valid_nhs, is_valid_nino, is_valid_upn

    root, _ = gen
    people = read_csv(root / "truth" / "people.csv")
    for p in people:
        assert p["sex"] in ("M", "F")
        assert not p["nhs_number"] or is_valid_nhs(p["nhs_number"])
        assert not p["upn"] or is_valid_upn(p["upn"])
        assert not p["nino"] or is_valid_nino(p["nino"])
        assert set(p["authorities"].split(";")) <= set(AUTHORITIES)
    assert len({p["nhs_number"] for p in people if p["nhs_number"]}) == sum(
        1 for p in people if p["nhs_number"]
    )
    # namesakes: different people with the same name and date of birth
    same = Counter((p["forename"], p["surname"], p["dob"]) for p in people)
    assert max(same.values()) >= 2
    # people with records in more than one authority
    assert any(";" in p["authorities"] for p in people)
    assert any(not n.isascii() for p in people for n in (p["forename"], p["surname"]))


def test_meta_and_summary(gen: tuple[Path, GenerationSummary]) -> None:
    root, summary = gen
    meta = json.loads((root / "truth" / "meta.json").read_text("utf-8"))
    assert meta["seed"] == 7 and meta["as_of"] == "2025-03-31" and meta["families_per_authority"] == 30
    assert meta["counts"]["records"] == summary.records
    assert sum(summary.deliveries.values()) == summary.delivery_folders
    assert "eligible" in str(summary)


def test_as_of_in_the_middle_of_a_month(gen_mid_month: tuple[Path, GenerationSummary]) -> None:
    root, summary = gen_mid_month
    deliveries = read_csv(root / "truth" / "deliveries.csv")
    assert max(d["extract_date"] for d in deliveries) == "2024-02-29"
    # as_of - 12 months is 28 February 2023, a month end
    assert {d["extract_date"] for d in deliveries if d["full_refresh"] == "true"} == {"2023-02-28"}
    load = reference_load(root)
    for d in deliveries:
        assert load.status[d["delivery_path"]] == d["expected_status"]
    assert summary.ambiguous_family_authority == 0


def test_library_reads_no_clock_environment_or_string_hash() -> None:
    lib = Path(__file__).resolve().parents[1] / "lib" / "accelerator"
    sources = [*sorted((lib / "synth").glob("*.py")), lib / "identifiers.py"]
    for src in sources:
        text = src.read_text("utf-8")
        for banned in ("date.today", "datetime.now", "os.environ", "getenv", "time.time", " hash(", "uuid"):
            assert banned not in text, (src.name, banned)


def test_parse_file_helper_handles_quotes() -> None:
    header, rows = parse_file(b'a,b\r\n"x, y","say ""hi"""\r\n\r\n')
    assert header == ["a", "b"] and rows == [(2, ["x, y", 'say "hi"'])]
