"""Linkage quality and cost against the generator's truth, across population profiles, beside
Splink with its default settings.

    .venv/bin/python benchmarks/linkage.py --families 300 --profiles default movers --seeds 1 2
    .venv/bin/python benchmarks/linkage.py --dir demo      # reuse a lake built by `accelerator demo`
    .venv/bin/python benchmarks/linkage.py --prepared /tmp/cache   # model only, DuckDB, no Spark

For each profile, seed and size (``synth/profiles.py``): generate deliveries (all ten
authorities), build bronze and silver (Spark), then time people and families linkage from scratch
(the DuckDB backend runs in the driver) and score against truth: person pairs, family pairs, and
eligible families (outcomes.md's eligibility of the families linkage made, from the true headline
contribution of every record: ``evaluation.score_eligible``). The precision and recall of people
against the match-weight threshold come from the stored pairs (``person_links`` keeps every pair
of weight ≥ 0), re-clustered at each threshold. Optionally the Spark backend, and Splink with its
library's default comparisons, EM training and a 0.95 clustering threshold on the same records.

``--keep DIR`` keeps each run's folder (landing, lake, truth, the prepared model input as parquet
and the records' headline flags): ``--dir DIR/*`` then re-runs linkage on the built silver (Spark
for the stages, no bronze or silver), and ``--prepared DIR`` re-trains and re-scores the model on
the prepared rows with DuckDB alone (no Spark, no lock): person figures and the threshold curve.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import re
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from deltalake import DeltaTable

from accelerator.evaluation import PairScore, score_eligible, score_families, score_people
from accelerator.linkage import model as M
from accelerator.linkage.cluster import NODE_COLUMNS, Edge, cluster, record_nodes
from accelerator.linkage.people import STORE_MIN_WEIGHT
from accelerator.synth import generate
from accelerator.synth.generator import build as build_truth
from accelerator.synth.truth import record_flags

ROOT = Path(__file__).resolve().parents[1]
LINKAGE_TABLES = (
    "person_xref",
    "person_links",
    "person_id_changes",
    "person_id_redirects",
    "linkage_models",
    "linkage_report",
    "family_member",
)
CURVE = tuple(float(t) for t in range(-4, 11))  # match-weight thresholds (pairs are stored from -4)


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def splink_defaults(records: pd.DataFrame) -> pd.DataFrame:
    """Splink out of the box on the same rows: library comparisons, EM, cluster at 0.95."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = pd.DataFrame(
        {
            "unique_id": records["authority"] + "|" + records["feed"] + "|" + records["record_key"],
            "first_name": records["person_forename_match"],
            "surname": records["person_surname_match"],
            "dob": records["person_dob"].astype("string"),
            "sex": records["person_sex"],
            "postcode": records["postcode_norm"],
            "nhs": records["nhs_number_valid"],
        }
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("surname", "first_name"),
            block_on("postcode", "first_name"),
            block_on("nhs"),
        ],
    )
    linker = Linker(DuckDBAPI().register(df), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95).as_pandas_dataframe()
    out = clusters[["unique_id", "cluster_id"]].rename(columns={"cluster_id": "person_id"})
    return _split_uid(out)


def _split_uid(frame: pd.DataFrame) -> pd.DataFrame:
    parts = frame["unique_id"].str.split("|", n=2, expand=True)
    return frame.assign(authority=parts[0], feed=parts[1], record_key=parts[2])


def _with(settings: Any, **changes: Any) -> Any:
    """The settings with ``changes`` (a frozen dataclass or a pydantic model)."""
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        return dataclasses.replace(settings, **changes)
    return settings.model_copy(update=changes)


def _read(path: Path) -> pd.DataFrame:
    return DeltaTable(str(path)).to_pandas()


def flags_frame(
    families_per_authority: int, seed: int, as_of: date, profile: str, truth: Any = None
) -> pd.DataFrame:
    """Each accepted record's true headline contribution (the generator's truth, in memory)."""
    if truth is None:
        _, truth = build_truth(
            families_per_authority=families_per_authority, seed=seed, as_of=as_of, profile=profile
        )
    rf = record_flags(truth)
    rows = []
    for (authority, feed), state in truth.records.items():
        for k, acc in state.items():
            p = acc.rec.person
            if p is None:
                continue
            rid = (authority, feed, k)
            child = p.age(as_of) < 18
            rows.append((authority, feed, k, frozenset(rf.flags.get(rid, ())), child, rid in rf.expectant))
    return pd.DataFrame(rows, columns=["authority", "feed", "record_key", "flags", "child", "expectant"])


def curve(
    nodes_frame: pd.DataFrame, links: pd.DataFrame, truth_records: pd.DataFrame
) -> list[dict[str, float]]:
    """Person precision and recall at each threshold of :data:`CURVE`, clustering the stored pairs."""
    nodes = record_nodes(nodes_frame[list(NODE_COLUMNS)].itertuples(index=False))
    pairs = list(
        links[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]].itertuples(index=False)
    )
    out = []
    for t in CURVE:
        edges = [Edge(a, b, float(w), bool(i)) for a, b, w, i in pairs if float(w) >= t]
        c = cluster(nodes, edges)
        xref = _split_uid(
            pd.DataFrame({"unique_id": list(c.cluster_of), "person_id": list(c.cluster_of.values())})
        )
        s, _ = score_people(xref, truth_records)
        out.append({"threshold": t, "precision": round(s.precision, 5), "recall": round(s.recall, 5)})
    return out


def with_truth(prepared: pd.DataFrame, xref: pd.DataFrame, truth_records: pd.DataFrame) -> pd.DataFrame:
    """Every linked record of a true person: its true ``person_id``, the person linkage made of it
    (``pred``) and the model's columns that tell people apart."""
    key = ["authority", "feed", "record_key"]
    t = truth_records[truth_records["person_id"] != ""][[*key, "person_id"]]
    x = xref[[*key, "person_id"]].rename(columns={"person_id": "pred"})
    cols = ["forename", "surname", "dob", "address", "postcode", "uprn", "nhs", "upn", "nino"]
    return t.merge(x, on=key).merge(prepared[[*key, *cols]], on=key)


def misses(m: pd.DataFrame) -> dict[str, int]:
    """The true pairs linkage missed (``m``: :func:`with_truth`), by what their two records have in
    common: the issue's hidden population missed mostly one exact name and date of birth at two
    addresses with no shared identifier."""
    split = m.groupby("person_id")["pred"].transform("nunique") > 1
    out: dict[str, int] = {}
    for _, g in m[split].groupby("person_id"):
        rows = g.to_dict("records")
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if a["pred"] == b["pred"]:
                    continue
                same_id = any(isinstance(a[k], str) and a[k] == b[k] for k in ("nhs", "upn", "nino"))
                same_addr = (isinstance(a["uprn"], str) and a["uprn"] == b["uprn"]) or (
                    a["address"] == b["address"] and a["postcode"] == b["postcode"]
                )
                names = a["forename"] == b["forename"] and a["surname"] == b["surname"]
                if names and a["dob"] == b["dob"] and isinstance(a["dob"], str):
                    kind = "exact name and dob, " + ("same" if same_addr else "other") + " address"
                elif a["dob"] == b["dob"] and isinstance(a["dob"], str):
                    kind = "a name differs, same dob"
                else:
                    kind = "dob differs or missing"
                kind += ", shared identifier" if same_id else ", no shared identifier"
                out[kind] = out.get(kind, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def wrong_clusters(m: pd.DataFrame) -> dict[str, int]:
    """The clusters that join records of more than one true person (``m``: :func:`with_truth`), by
    what the people share: the same forename or not (namesakes and twins look alike to a pair), one
    authority or several."""
    out: dict[str, int] = {}
    for _, g in m.groupby("pred"):
        if g["person_id"].nunique() < 2:
            continue
        people = g.groupby("person_id").agg(
            names=("forename", lambda x: set(x.dropna())), places=("authority", set)
        )
        names, places = list(people["names"]), list(people["places"])
        kind = "same forename" if all(names[0] & n for n in names[1:]) else "different forenames"
        kind += ", one authority" if all(places[0] & p for p in places[1:]) else ", other authorities"
        out[kind] = out.get(kind, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def plateau(points: list[dict[str, float]], threshold: float, width: float = 2.0) -> dict[str, float]:
    """How far precision and recall move within ±``width`` of ``threshold`` (on the curve's points)."""
    near = [p for p in points if abs(p["threshold"] - threshold) <= width]
    return {
        "precision_range": round(max(p["precision"] for p in near) - min(p["precision"] for p in near), 5),
        "recall_range": round(max(p["recall"] for p in near) - min(p["recall"] for p in near), 5),
    }


def measure(
    work: Path,
    *,
    as_of: date,
    build: bool,
    flags: pd.DataFrame | None,
    threshold: float | None,
    spark_backend: bool = False,
    defaults: bool = False,
    keep: Path | None = None,
) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from accelerator.bronze.land import run_bronze
    from accelerator.config import RunContext, Settings
    from accelerator.io.storage import LocalStorage
    from accelerator.linkage.families import run_families
    from accelerator.linkage.people import run_people
    from accelerator.silver.build import run_silver
    from accelerator.spark import get_spark

    spark = get_spark(jars_dir=ROOT / ".jars")
    spark.sparkContext.setLogLevel("ERROR")
    base = Settings(lake_root=str(work / "lake"), landing_root=str(work / "landing"))
    settings = base if threshold is None else _with(base, match_weight_threshold=threshold)
    ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    platform = work / "lake" / "silver" / "_platform"
    t_build = 0.0
    if build:
        tb = time.perf_counter()
        run_bronze(spark, settings, ctx, LocalStorage())
        run_silver(spark, settings, ctx)
        t_build = time.perf_counter() - tb
    for t in LINKAGE_TABLES:  # linkage from scratch on the built silver
        shutil.rmtree(platform / t, ignore_errors=True)
    t0 = time.perf_counter()
    people = run_people(spark, settings, ctx)
    t_people = time.perf_counter() - t0
    t1 = time.perf_counter()
    families = run_families(spark, settings, ctx)
    t_families = time.perf_counter() - t1
    rss = peak_rss_mib()

    truth_records = pd.read_csv(work / "truth" / "records.csv", dtype=str, keep_default_na=False)
    truth_families = pd.read_csv(work / "truth" / "families.csv", dtype=str, keep_default_na=False)
    truth_headlines = pd.read_csv(work / "truth" / "headlines.csv", dtype=str, keep_default_na=False)
    xref = _read(platform / "person_xref")
    members = _read(platform / "family_member")
    members = members[members["as_of"] == as_of]
    links = _read(platform / "person_links")
    person, missing = score_people(xref, truth_records)
    family = score_families(members, xref, truth_records, truth_families)
    eligible = (
        score_eligible(flags, xref, members, truth_records, truth_families, truth_headlines).__dict__
        if flags is not None
        else None
    )
    record_rows = spark.read.format("delta").load(str(platform / "person_record"))
    prepared: pd.DataFrame = M.prepare(record_rows).toPandas()
    points = curve(prepared, links, truth_records)
    linked = with_truth(prepared, xref, truth_records)
    missed = misses(linked)
    model_json = _read(platform / "linkage_models")["model_json"].iloc[-1]
    used = M.threshold_for(model_json, settings.match_weight_threshold)
    if keep is not None:
        prepared.to_parquet(keep / "prepared.parquet")
        if flags is not None:
            (keep / "flags.pkl").write_bytes(pickle.dumps(flags))

    spark_figures: dict[str, Any] = {}
    if spark_backend:
        for t in LINKAGE_TABLES:
            shutil.rmtree(platform / t, ignore_errors=True)
        spark_settings = _with(settings, linkage_backend="spark")
        t3 = time.perf_counter()
        spark_people = run_people(spark, spark_settings, ctx)
        t_spark = time.perf_counter() - t3
        spark_person, spark_missing = score_people(_read(platform / "person_xref"), truth_records)
        spark_figures = {
            "spark_backend_people_seconds": round(t_spark, 1),
            "spark_backend_people": spark_people.people,
            "spark_backend_person": spark_person.as_dict(),
            "spark_backend_missing_from_xref": spark_missing,
        }
    default_figures: dict[str, Any] = {}
    if defaults:
        records = record_rows.select(
            *[F.col(c) for c in ("authority", "feed", "record_key", "person_forename_match")],
            "person_surname_match",
            "person_dob",
            "person_sex",
            "postcode_norm",
            "nhs_number_valid",
        ).toPandas()
        t2 = time.perf_counter()
        default_xref = splink_defaults(records)
        t_default = time.perf_counter() - t2
        default_person, _ = score_people(default_xref, truth_records)
        default_figures = {
            "splink_defaults_seconds": round(t_default, 1),
            "splink_defaults_person": default_person.as_dict(),
        }
    return {
        "records": people.records,
        "people": people.people,
        "families": families.families,
        "build_seconds": round(t_build, 1),
        "people_seconds": round(t_people, 1),
        "families_seconds": round(t_families, 1),
        "driver_peak_rss_mib": rss,
        "threshold": used,
        "model_threshold": M.match_threshold(model_json),
        "person": person.as_dict(),
        "person_records_missing_from_xref": missing,
        "family": family.as_dict(),
        "eligible": eligible,
        "curve": points,
        "plateau": plateau(points, used),
        "missed_pairs": missed,
        "wrong_clusters": wrong_clusters(linked),
        **spark_figures,
        **default_figures,
    }


def offline(cache: Path) -> dict[str, Any]:
    """Train and score the model on a kept run's prepared rows with DuckDB (no Spark)."""
    prepared = pd.read_parquet(cache / "prepared.parquet")
    truth_records = pd.read_csv(cache / "truth" / "records.csv", dtype=str, keep_default_na=False)
    t0 = time.perf_counter()
    model_json = M.train(prepared, backend="duckdb", spark=None)
    links = M.score(
        prepared.assign(is_new=1), model_json, backend="duckdb", spark=None, min_weight=STORE_MIN_WEIGHT
    )
    seconds = time.perf_counter() - t0
    points = curve(prepared, links, truth_records)
    threshold = M.match_threshold(model_json)
    nodes = record_nodes(prepared[list(NODE_COLUMNS)].itertuples(index=False))
    edges = [
        Edge(a, b, float(w), bool(i))
        for a, b, w, i in links[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]].itertuples(
            index=False
        )
        if float(w) >= threshold
    ]
    c = cluster(nodes, edges).cluster_of
    xref = _split_uid(pd.DataFrame({"unique_id": list(c), "person_id": list(c.values())}))
    at = min(points, key=lambda p: abs(p["threshold"] - threshold))
    linked = with_truth(prepared, xref, truth_records)
    return {
        "records": len(prepared),
        "train_and_score_seconds": round(seconds, 1),
        "model_threshold": threshold,
        "person_at_threshold": at,
        "plateau": plateau(points, threshold),
        "curve": points,
        "missed_pairs": misses(linked),
        "wrong_clusters": wrong_clusters(linked),
    }


# ---------------------------------------------------------------- without Spark: a reference silver
# When Spark is not available (``--no-spark``), the model's input is made in Python from the
# generated delivery bytes: each accepted record's delivered strings (parsed from its file), with
# silver's person-column rules (``silver/standardise.py``) re-stated below. It is a reference for
# the model's figures, not the platform's silver; families follow outcomes.md on the linked people
# (open early help case, housing case on its latest status date, the same latest address).

_ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿŁłŚśŻżŹźĆćŃńĘęĄąŠšŽžČčŘřĞğİıŞş"
_PLAIN = "AAAAAACEEEEIIIINOOOOOOUUUUYaaaaaaceeeeiiiinoooooouuuuyyLlSsZzZzCcNnEeAaSsZzCcRrGgIiSs"
_FOLD = str.maketrans(_ACCENTED, _PLAIN)
_STREET = {
    "RD": "ROAD", "ST": "STREET", "AVE": "AVENUE", "AV": "AVENUE", "CL": "CLOSE", "LN": "LANE",
    "PL": "PLACE", "DR": "DRIVE", "CRES": "CRESCENT", "CRESC": "CRESCENT", "GR": "GROVE",
    "GRV": "GROVE", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE",
}  # fmt: skip
_TYPE_WORDS = "|".join(sorted(set(_STREET) | set(_STREET.values())))
_ADDR = re.compile(r"^(?:(?:FLAT|APARTMENT|APT|UNIT) ([0-9]+[A-Z]?) )?([0-9]+[A-Z]?) (.+)$")
_NINO = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[ABCEGHJKLMNOPRSTWXYZ][ABCEGHJKLMNPRSTWXYZ][0-9]{6}[A-D]?$")
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def _fold(s: str) -> str:
    return s.translate(_FOLD).replace("ß", "ss").replace("ẞ", "ss").replace("Æ", "ae").replace("æ", "ae")


def _name(s: str | None) -> str | None:
    out = re.sub("[^A-Z]", "", _fold(s or "").upper())
    return out or None


def _date(s: str | None) -> date | None:
    s = (s or "").strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$", s)
    try:
        if m:
            return date.fromisoformat(m.group(1))
        if re.match(r"^\d{1,2}/\d{1,2}/\d{4}$", s):
            d_, m_, y_ = (int(x) for x in s.split("/"))
            return date(y_, m_, d_)
    except ValueError:
        return None
    return None


def _sex(s: str | None) -> str | None:
    s = (s or "").strip().upper()
    if s in ("M", "1", "MALE"):
        return "M"
    if s in ("F", "2", "FEMALE"):
        return "F"
    return "U" if s in ("U", "9", "0", "X", "UNKNOWN", "NOT STATED") else None


def _postcode(s: str | None) -> str | None:
    s = re.sub(r"[^A-Za-z0-9]", "", s or "").upper()
    if not 5 <= len(s) <= 7:
        return None
    outward = re.sub(r"(?<=[0-9])O", "0", re.sub(r"^([A-Z]{2})O", r"\g<1>0", s[:-3]))
    pc = f"{outward} {re.sub(r'^O', '0', s[-3:])}"
    return pc if re.match(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$", pc) else None


def _uprn(s: str | None) -> str | None:
    s = re.sub(r"\s", "", s or "")
    stripped = s.lstrip("0")
    return stripped if re.match(r"^[0-9]{1,12}$", s) and stripped else None


def _address(s: str | None) -> str | None:
    s = re.sub(r"[^A-Z0-9 ]", " ", _fold(s or "").upper())
    s = re.sub(r"\s+", " ", s).strip()
    for abbr, full in _STREET.items():
        guard = rf"(?!\s+[A-Z]+\s+(?:{_TYPE_WORDS})\b)" if abbr == "ST" else ""
        s = re.sub(rf"\b{abbr}\b{guard}", full, s)
    return s or None


def _nhs(s: str | None) -> str | None:
    s = re.sub(r"[\s-]", "", s or "")
    if not re.match(r"^[0-9]{10}$", s) or re.match(r"^(\d)\1{9}$", s) or s.startswith("999"):
        return None
    check = 11 - sum(int(s[i]) * (10 - i) for i in range(9)) % 11
    check = 0 if check == 11 else check
    return s if check != 10 and check == int(s[9]) else None


def _upn(s: str | None) -> str | None:
    s = re.sub(r"\s", "", s or "").upper()
    if not re.match(rf"^[{_UPN_ALPHABET}][0-9]{{11}}[0-9{_UPN_ALPHABET}]$", s):
        return None
    last = int(s[12]) if s[12].isdigit() else _UPN_ALPHABET.index(s[12])
    total = last * 13 + sum(int(s[p - 1]) * p for p in range(2, 13))
    return s if s[0] == _UPN_ALPHABET[total % 23] else None


def _nino(s: str | None) -> str | None:
    s = re.sub(r"\s", "", s or "").upper()
    return s if _NINO.match(s) else None


def reference_prepared(deliveries: list[Any], truth: Any) -> pd.DataFrame:
    """The model's input (``model.prepare``'s columns) for every accepted person-level record."""
    import csv
    import io

    from accelerator.feeds import FEEDS
    from accelerator.linkage.nicknames import NICKNAMES

    strings: dict[int, dict[str, str]] = {}
    for d in deliveries:
        encoding = {"cp1252": "cp1252", "utf-8-sig": "utf-8-sig"}.get(d.layout.encoding, "utf-8")
        for f in d.files:
            data = d.written.get(f.name)
            if not data:
                continue
            rows = [r for r in csv.reader(io.StringIO(data.decode(encoding), newline="")) if r]
            header = rows[0]
            for (_, row, kind), fields in zip(f.lines, rows[1:], strict=False):
                if kind is None:
                    strings[id(row)] = dict(zip(header, fields, strict=False))
    out = []
    for (authority, feed), state in truth.records.items():
        spec = FEEDS[feed]
        if not spec.person_level:
            continue
        pc = spec.person_columns
        for key, acc in state.items():
            v = strings.get(id(acc.row))
            if v is None:
                continue
            dob = _date(v.get(pc["dob"]))
            if dob is not None and dob > acc.delivery.extract_date:
                dob = None
            fore, sur = _name(v.get(pc["forename"])), _name(v.get(pc["surname"]))
            addr = _address(v.get("address"))
            m = _ADDR.match(addr or "")
            nhs = _nhs(v.get("nhs_number")) if "nhs_number" in v else None
            upn = _upn(v.get("upn")) if "upn" in v else None
            nino = _nino(v.get("nino"))
            nino = nino[:8] if nino else None
            ref = None
            if spec.person_ref and (raw := (v.get(spec.person_ref) or "").strip().upper()):
                scope = f"{feed}:" if feed in ("police_incidents", "probation") else f"{authority}:{feed}:"
                ref = scope + raw
            postcode = _postcode(v.get("postcode"))
            out.append(
                {
                    "unique_id": f"{authority}|{feed}|{key}",
                    "authority": authority,
                    "feed": feed,
                    "record_key": key,
                    "forename": fore,
                    "surname": sur,
                    "forename_canon": NICKNAMES.get(fore, fore) if fore else None,
                    "dob": dob.isoformat() if dob else None,
                    "dob_days": (dob - date.fromisoformat(M.DAY_ZERO)).days if dob else None,
                    "dob_swap": dob.strftime("%Y-%d-%m") if dob and dob.day <= 12 else None,
                    "sex": _sex(v.get(pc["sex"])) if "sex" in pc else None,
                    "postcode": postcode,
                    "outward": postcode.split(" ")[0] if postcode else None,
                    "address": addr,
                    "house_street": f"{m.group(2)} {m.group(3)}" if m else None,
                    "uprn": _uprn(v.get("uprn")) if "uprn" in v else None,
                    "event_day": (acc.rec.event_date - date.fromisoformat(M.DAY_ZERO)).days,
                    "nhs": nhs,
                    "upn": upn,
                    "nino": nino,
                    "ref": ref,
                    "id_label": nhs or upn or nino,
                    "is_new": 1,
                }
            )
    return pd.DataFrame(out).astype({"dob_days": "Int64"})


def reference_families(truth: Any, xref: pd.DataFrame) -> pd.DataFrame:
    """outcomes.md's families on the linked people (person_id, family_id), from the records' true
    household evidence and true addresses."""
    from accelerator.synth.truth import UnionFind

    person_of = {
        (a, f, k): p
        for a, f, k, p in xref[["authority", "feed", "record_key", "person_id"]].itertuples(index=False)
    }
    uf = UnionFind()
    latest: dict[str, tuple[Any, str]] = {}
    eh: dict[tuple[str, str], list[str]] = {}
    housing: dict[tuple[str, str], list[tuple[date, str]]] = {}
    for (authority, feed), state in truth.records.items():
        for key, acc in state.items():
            pid = person_of.get((authority, feed, key))
            if pid is None:
                continue
            uf.find(pid)
            v = acc.values
            if feed == "early_help":
                close = v["case_close_date"]
                if v["case_open_date"] <= truth.as_of and (close is None or close > truth.as_of):
                    eh.setdefault((authority, v["family_case_ref"]), []).append(pid)
            elif feed == "housing":
                housing.setdefault((authority, v["case_ref"]), []).append((v["status_date"], pid))
            order = acc.order()
            if pid not in latest or order > latest[pid][0]:
                latest[pid] = (order, acc.rec.address.uprn)
    for pids in eh.values():
        for p in pids[1:]:
            uf.union(pids[0], p)
    for rows in housing.values():
        last = max(d for d, _ in rows)
        members = [p for d, p in rows if d == last]
        for p in members[1:]:
            uf.union(members[0], p)
    by_address: dict[str, list[str]] = {}
    for pid, (_, uprn) in latest.items():
        by_address.setdefault(uprn, []).append(pid)
    for pids in by_address.values():
        for p in pids[1:]:
            uf.union(pids[0], p)
    return pd.DataFrame([(p, uf.find(p)) for p in sorted(latest)], columns=["person_id", "family_id"])


def measure_without_spark(
    n: int, seed: int, as_of: date, profile: str, *, threshold: float | None
) -> dict[str, Any]:
    """Generate in memory, make the reference input, train, score, cluster and score against truth."""
    import csv as _csv

    deliveries, truth = build_truth(families_per_authority=n, seed=seed, as_of=as_of, profile=profile)
    work = Path(tempfile.mkdtemp(prefix="bench-linkage-nospark-"))
    try:
        generate(work, families_per_authority=n, seed=seed, as_of=as_of, profile=profile)
        truth_records = pd.read_csv(work / "truth" / "records.csv", dtype=str, keep_default_na=False)
        truth_families = pd.read_csv(work / "truth" / "families.csv", dtype=str, keep_default_na=False)
        truth_headlines = pd.read_csv(work / "truth" / "headlines.csv", dtype=str, keep_default_na=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    del _csv
    prepared = reference_prepared(deliveries, truth)
    flags = flags_frame(n, seed, as_of, profile, truth)
    t0 = time.perf_counter()
    model_json = M.train(prepared, backend="duckdb", spark=None)
    links = M.score(prepared, model_json, backend="duckdb", spark=None, min_weight=STORE_MIN_WEIGHT)
    used = M.match_threshold(model_json) if threshold is None else threshold
    nodes = record_nodes(prepared[list(NODE_COLUMNS)].itertuples(index=False))
    pairs = links[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]].itertuples(index=False)
    c = cluster(nodes, [Edge(a, b, float(w), bool(i)) for a, b, w, i in pairs if float(w) >= used])
    seconds = time.perf_counter() - t0
    xref = _split_uid(
        pd.DataFrame({"unique_id": list(c.cluster_of), "person_id": list(c.cluster_of.values())})
    )
    members = reference_families(truth, xref)
    person, missing = score_people(xref, truth_records)
    family = score_families(members, xref, truth_records, truth_families)
    eligible = score_eligible(flags, xref, members, truth_records, truth_families, truth_headlines)
    points = curve(prepared, links, truth_records)
    model = json.loads(model_json)
    linked = with_truth(prepared, xref, truth_records)
    return {
        "records": len(prepared),
        "people": len(set(c.cluster_of.values())),
        "families": int(members["family_id"].nunique()),
        "people_seconds": round(seconds, 1),
        "threshold": used,
        "model_threshold": M.match_threshold(model_json),
        "prior": model["probability_two_random_records_match"],
        "person": person.as_dict(),
        "person_records_missing_from_xref": missing,
        "family": family.as_dict(),
        "eligible": eligible.__dict__,
        "curve": points,
        "plateau": plateau(points, used),
        "missed_pairs": misses(linked),
        "wrong_clusters": wrong_clusters(linked),
    }


def _line(name: str, s: PairScore | dict[str, Any]) -> str:
    d = s if isinstance(s, dict) else s.as_dict()
    return f"  {name:<28} precision {d['precision']:.4f}  recall {d['recall']:.4f}  f1 {d['f1']:.4f}"


def _curve_text(points: list[dict[str, float]]) -> str:
    return "  ".join(f"{p['threshold']:g}:{p['precision']:.4f}/{p['recall']:.4f}" for p in points)


def table_row(name: str, r: dict[str, Any]) -> str:
    p, f, e = r["person"], r["family"], r["eligible"] or {}
    el = f"{e.get('precision', float('nan')):.4f} | {e.get('recall', float('nan')):.4f}"
    pl = r["plateau"]
    return (
        f"| {name} | {r['records']:,} | {r['threshold']:g} | {p['precision']:.4f} | {p['recall']:.4f} | "
        f"{f['f1']:.4f} | {el} | {pl['precision_range']:.4f} / {pl['recall_range']:.4f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, nargs="+", default=[300])
    ap.add_argument("--seeds", type=int, nargs="+", default=[11])
    ap.add_argument("--profiles", nargs="+", default=["default"])
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--threshold", type=float, help="match-weight threshold (default: the settings' value)")
    ap.add_argument("--dir", type=Path, nargs="+", help="built folders (a demo, or --keep's): linkage only")
    ap.add_argument("--keep", type=Path, help="keep each run's folder here (<profile>-<seed>-<n>)")
    ap.add_argument("--prepared", type=Path, help="model only on runs saved by --keep (DuckDB, no Spark)")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--no-spark",
        action="store_true",
        help="no Spark: the model on a Python reference of silver's person columns, DuckDB backend",
    )
    ap.add_argument("--spark-backend", action="store_true", help="also run people on the Spark backend")
    ap.add_argument("--defaults", action="store_true", help="also run Splink with its default settings")
    args = ap.parse_args()
    as_of = date.fromisoformat(args.as_of)
    results: dict[str, Any] = {}
    if args.no_spark:
        for n in args.families:
            for profile in args.profiles:
                for seed in args.seeds:
                    name = f"{profile} seed {seed}, {n} families per authority"
                    results[name] = r = measure_without_spark(
                        n, seed, as_of, profile, threshold=args.threshold
                    )
                    print(table_row(name, r), flush=True)
                    print(f"   curve {_curve_text(r['curve'])}", flush=True)
                    print(f"   missed pairs: {r['missed_pairs']}", flush=True)
                    print(f"   wrong clusters: {r['wrong_clusters']}", flush=True)
                    if args.json:
                        args.json.write_text(json.dumps(results, indent=2, default=str))
    elif args.prepared:
        for cache in sorted(p for p in args.prepared.iterdir() if (p / "prepared.parquet").exists()):
            r = offline(cache)
            results[cache.name] = r
            at, pl = r["person_at_threshold"], r["plateau"]
            print(
                f"{cache.name}: {r['records']} records, {r['train_and_score_seconds']}s; threshold "
                f"{r['model_threshold']:g}: P {at['precision']:.4f} R {at['recall']:.4f}; "
                f"±2 moves P {pl['precision_range']:.4f} R {pl['recall_range']:.4f}"
            )
            print(
                "   "
                + "  ".join(f"{p['threshold']:g}:{p['precision']:.4f}/{p['recall']:.4f}" for p in r["curve"])
            )
    elif args.dir:
        for folder in args.dir:
            meta = json.loads((folder / "truth" / "meta.json").read_text())
            flags_file = folder / "flags.pkl"
            results[str(folder)] = r = measure(
                folder,
                as_of=date.fromisoformat(str(meta.get("as_of", args.as_of))),
                build=False,
                flags=pickle.loads(flags_file.read_bytes()) if flags_file.exists() else None,
                threshold=args.threshold,
                spark_backend=args.spark_backend,
                defaults=args.defaults,
            )
            print(table_row(folder.name, r), flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2, default=str))
    else:
        for n in args.families:
            for profile in args.profiles:
                for seed in args.seeds:
                    name = f"{profile} seed {seed}, {n} families per authority"
                    if args.keep:
                        work = args.keep / f"{profile}-{seed}-{n}"
                        shutil.rmtree(work, ignore_errors=True)
                        work.mkdir(parents=True)
                    else:
                        work = Path(tempfile.mkdtemp(prefix=f"bench-linkage-{n}-"))
                    try:
                        generate(work, families_per_authority=n, seed=seed, as_of=as_of, profile=profile)
                        flags = flags_frame(n, seed, as_of, profile)
                        results[name] = r = measure(
                            work,
                            as_of=as_of,
                            build=True,
                            flags=flags,
                            threshold=args.threshold,
                            spark_backend=args.spark_backend,
                            defaults=args.defaults,
                            keep=work if args.keep else None,
                        )
                        print(table_row(name, r), flush=True)
                    finally:
                        if not args.keep:
                            shutil.rmtree(work, ignore_errors=True)
                    if args.json:
                        args.json.write_text(json.dumps(results, indent=2, default=str))
    for name, r in results.items():
        if "person" not in r:
            continue
        print(f"{name}: {r['records']} records → {r['people']} people, {r['families']} families")
        g = r.get
        print(
            f"  bronze+silver {g('build_seconds', '-')}s, people {g('people_seconds', '-')}s, families "
            f"{g('families_seconds', '-')}s, driver peak RSS {g('driver_peak_rss_mib', '-')} MiB; "
            f"missing from xref: {g('person_records_missing_from_xref', '-')}; threshold "
            f"{r['threshold']:g} (model's {r['model_threshold']:g})"
        )
        print(_line("people (this model)", r["person"]))
        print(_line("families (this model)", r["family"]))
        if r["eligible"]:
            e = r["eligible"]
            print(f"  {'eligible families':<28} precision {e['precision']:.4f}  recall {e['recall']:.4f}")
        print(
            "  curve "
            + "  ".join(f"{p['threshold']:g}:{p['precision']:.4f}/{p['recall']:.4f}" for p in r["curve"])
        )
        if "spark_backend_person" in r:
            print(
                _line("people (Spark backend)", r["spark_backend_person"])
                + f"  {r['spark_backend_people_seconds']}s, missing {r['spark_backend_missing_from_xref']}"
            )
        if "splink_defaults_person" in r:
            print(
                _line("people (Splink defaults)", r["splink_defaults_person"])
                + f"  {r['splink_defaults_seconds']}s"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
