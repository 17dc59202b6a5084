"""People's rights (custodianship.md): subject access, erasure, restriction; the audit table.

A *subject* is a platform ``person_id`` (resolved from a partner record key if need be) together with
every other person id whose records carry one of its strong identifiers (a valid NHS number, UPN or
NI number) or partner person references: linkage may have split one human into two ids, and
erasure has to find the person "by identifier as well as by person". ``expand=False`` keeps to the
one id.

Everything here takes the lake root, the time (``now``) and the actor as parameters; nothing reads
the clock or the environment (the CLI does).

Erasure, per table that holds the subject (every Delta table under the lake is looked at):

1. the table is rewritten without the subject's rows (a plain overwrite of the rows kept, so the
   commit records no predicate and no value);
2. gold is rebuilt for its ``as_of`` from what is left (family counts, flags and addresses no
   longer use the person);
3. every rewritten table, and every table a pipeline run rewrites wholesale, is vacuumed with a
   retention of zero, then its transaction log is compacted: a checkpoint of the latest version
   is written and every older commit, checksum and checkpoint is deleted;
4. files under the lake outside Delta tables (exports, model files) that hold an identifier or the
   name of the subject are deleted;
5. one row is appended to ``bronze/_platform/audit``: what was done, counts per table, when, why
   and by whom. The audit names the subject only by ``subject_hash`` (sha256 of the person id),
   never by an identifier, a name or a record key.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import FEEDS
from accelerator.io.delta import col, ensure_table, is_delta
from accelerator.io.lake import PLATFORM, QUARANTINE, Lake, join
from accelerator.io.storage import HadoopStorage

AUDIT = "audit"
RESTRICTION = "restriction"

AUDIT_SCHEMA = T.StructType(
    [
        col("event_id", T.StringType(), "sha256 of action, subject, time and run id"),
        col("action", T.StringType(), "SAR, ERASE, RESTRICT, UNRESTRICT or RETENTION"),
        col("subject_hash", T.StringType(), "sha256 of 'person:' + person_id; null for retention"),
        col("subjects", T.IntegerType(), "person ids the action covered (expansion by identifier)"),
        col("rule", T.StringType(), "the legal or retention rule applied"),
        col("reason", T.StringType(), "why, as given by the actor"),
        col("actor", T.StringType(), "who ran it"),
        col("table_counts", T.MapType(T.StringType(), T.LongType()), "rows per table path (lake-relative)"),
        col("files_removed", T.LongType(), "data, log and other files deleted"),
        col("at", T.TimestampType(), "when it was done (UTC)"),
        col("run_id", T.StringType()),
        col("detail", T.StringType(), "JSON: parameters of the action (never erased content)"),
    ]
)
AUDIT_STATS = ("event_id", "action", "at", "run_id")

RESTRICTION_SCHEMA = T.StructType(
    [
        col("person_id", T.StringType()),
        col("restricted", T.BooleanType(), "true: hidden from gold; false: restriction lifted"),
        col("at", T.TimestampType()),
        col("run_id", T.StringType()),
    ]
)
RESTRICTION_STATS = ("at", "run_id")

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
# Tables that every pipeline run rewrites wholesale: their history holds everyone.
REWRITTEN_BY_RUNS = ("person_record", "person_xref", "person_links", "family_member")
_VERSION_FILE = re.compile(r"^\.?(\d{20})\.")


class RightsError(ValueError):
    """A request that cannot be carried out as given (unknown person, unsafe reason text)."""


def subject_hash(person_id: str) -> str:
    """How the audit names a person: the person id is pseudonymous; its hash lets a custodian who
    holds the request find the audit rows without the audit holding the id itself."""
    return hashlib.sha256(f"person:{person_id}".encode()).hexdigest()


# --------------------------------------------------------------------------- file system


def delta_tables(spark: SparkSession, root: str) -> list[str]:
    """Every Delta table under the lake root (a folder holding ``_delta_log``)."""
    tables = set()
    for f in HadoopStorage(spark).walk(root):
        if "/_delta_log/" in f:
            tables.add(f.split("/_delta_log/")[0])
    return sorted(tables)


def rel(root: str, path: str) -> str:
    """A path relative to the lake root (how tables are named in exports and the audit)."""
    r = root.rstrip("/")
    return path[len(r) + 1 :] if path.startswith(r + "/") else path


# --------------------------------------------------------------------------- the subject


def fold_name(s: str | None) -> str | None:
    """Python twin of ``silver.standardise.name_match``: upper-case ASCII letters only."""
    if s is None or (isinstance(s, float) and pd.isna(s)):
        return None
    t = unicodedata.normalize("NFKD", str(s)).replace("ß", "ss").replace("æ", "ae").replace("Æ", "AE")
    t = re.sub(r"[^A-Z]", "", "".join(c for c in t if not unicodedata.combining(c)).upper())
    return t or None


def _scope(feed: str, authority: str) -> str:
    """The namespace of a partner person reference (silver.build._person_ref)."""
    return feed if feed in ("police_incidents", "probation") else f"{authority}:{feed}"


@dataclass(frozen=True)
class Subject:
    """A person as the platform knows them: ids, records and what identifies them."""

    person_id: str
    person_ids: frozenset[str]
    records: frozenset[tuple[str, str, str]]  # (authority, feed, record_key)
    nhs: frozenset[str] = frozenset()
    upn: frozenset[str] = frozenset()
    nino8: frozenset[str] = frozenset()  # first 8 characters: the suffix is optional
    refs: frozenset[str] = frozenset()  # "<scope>:<REF>" as in person_record.person_ref
    names: frozenset[tuple[str, str]] = frozenset()  # (forename, surname) in match form
    family_ids: frozenset[str] = frozenset()

    @property
    def nodes(self) -> frozenset[str]:
        """Linkage node keys (``authority|feed|record_key``)."""
        return frozenset("|".join(r) for r in self.records)

    def keys_of(self, authority: str, feed: str) -> set[str]:
        return {k for a, f, k in self.records if a == authority and f == feed}

    def refs_of(self, authority: str, feed: str) -> set[str]:
        prefix = _scope(feed, authority) + ":"
        return {r[len(prefix) :] for r in self.refs if r.startswith(prefix)}

    def needles(self) -> list[str]:
        """Identifier strings whose presence in any text means the subject (compact, upper)."""
        return sorted(self.nhs | self.upn | self.nino8)


def _read(spark: SparkSession, path: str) -> DataFrame | None:
    return spark.read.format("delta").load(path) if is_delta(spark, path) else None


def _redirects(spark: SparkSession, lake: Lake) -> dict[str, str]:
    df = _read(spark, lake.platform("person_id_redirects"))
    if df is None:
        return {}
    return {r.retired_id: r.survivor_id for r in df.select("retired_id", "survivor_id").collect()}


def current_id(person_id: str, redirects: Mapping[str, str]) -> str:
    seen = set()
    while person_id in redirects and person_id not in seen:
        seen.add(person_id)
        person_id = redirects[person_id]
    return person_id


def resolve_person(
    spark: SparkSession,
    lake_root: str,
    *,
    person_id: str | None = None,
    authority: str | None = None,
    feed: str | None = None,
    record_key: str | None = None,
) -> str:
    """The current person id of a person id (retired ids are followed to their survivor) or of a
    partner record key (authority, feed, record_key as in outputs.md)."""
    lake = Lake(lake_root)
    xref = _read(spark, lake.platform("person_xref"))
    if xref is None:
        raise RightsError("the lake has no person_xref: nothing is linked yet")
    if person_id is None:
        if not (authority and feed and record_key):
            raise RightsError("give a person id, or an authority, feed and record key")
        rows = (
            xref.where(
                (F.col("authority") == authority)
                & (F.col("feed") == feed)
                & (F.col("record_key") == record_key)
            )
            .select("person_id")
            .collect()
        )
        if not rows:
            raise RightsError(f"no person-level record {authority}/{feed} with that record key")
        person_id = str(rows[0].person_id)
    pid = current_id(person_id, _redirects(spark, lake))
    if not xref.where(F.col("person_id") == pid).limit(1).collect():
        raise RightsError(f"no records for person {person_id}")
    return pid


def find_subject(spark: SparkSession, lake_root: str, person_id: str, *, expand: bool = True) -> Subject:
    """Everything that identifies ``person_id``: their records (person_xref) and, from those
    records, valid identifiers, partner references and names. With ``expand``, every other
    person id holding one of those identifiers or references joins, until nothing new is found."""
    lake = Lake(lake_root)
    xref = _read(spark, lake.platform("person_xref"))
    records = _read(spark, lake.platform("person_record"))
    if xref is None or records is None:
        raise RightsError("the lake has no linkage tables yet")
    key = ["authority", "feed", "record_key"]
    pdf: pd.DataFrame = (
        records.select(
            *key,
            "person_ref",
            "nhs_number_valid",
            "upn_valid",
            "nino_valid",
            "person_forename_match",
            "person_surname_match",
        )
        .join(xref.select(*key, "person_id"), key, "left")
        .toPandas()
    )
    pdf["nino8"] = pdf["nino_valid"].str.slice(0, 8)
    ids = {person_id}
    redirects = _redirects(spark, lake)
    while True:
        mine = pdf[pdf["person_id"].isin(ids)]
        nhs, upn, nino8, refs = (
            set(mine[c].dropna()) for c in ("nhs_number_valid", "upn_valid", "nino8", "person_ref")
        )
        if not expand:
            break
        hit = (
            pdf["nhs_number_valid"].isin(nhs)
            | pdf["upn_valid"].isin(upn)
            | pdf["nino8"].isin(nino8)
            | pdf["person_ref"].isin(refs)
        )
        more = set(pdf.loc[hit, "person_id"].dropna()) - ids
        if not more:
            break
        ids |= more
    ids |= {old for old, new in redirects.items() if current_id(new, redirects) in ids}
    names = {
        (f, s)
        for f, s in zip(mine["person_forename_match"], mine["person_surname_match"], strict=True)
        if isinstance(f, str) and isinstance(s, str)
    }
    fam = _read(spark, lake.platform("family_member"))
    families = (
        {
            r.family_id
            for r in fam.where(F.col("person_id").isin(*ids)).select("family_id").distinct().collect()
        }
        if fam is not None
        else set()
    )
    return Subject(
        person_id=person_id,
        person_ids=frozenset(ids),
        records=frozenset((r.authority, r.feed, r.record_key) for r in mine[key].itertuples(index=False)),
        nhs=frozenset(nhs),
        upn=frozenset(upn),
        nino8=frozenset(nino8),
        refs=frozenset(refs),
        names=frozenset(names),
        family_ids=frozenset(families),
    )


# --------------------------------------------------------------------------- matching rows


def _compact(c: Column) -> Column:
    return F.regexp_replace(F.upper(c.cast("string")), "[^0-9A-Z]", "")


def _isin(c: Column, values: Iterable[str]) -> Column | None:
    vals = sorted(set(values))
    return c.isin(*vals) if vals else None


def _any(conds: Iterable[Column | None]) -> Column | None:
    present = [c for c in conds if c is not None]
    return reduce(lambda a, b: a | b, present) if present else None


def _feed_of(root: str, path: str) -> tuple[str, str] | None:
    """(authority, feed) of ``bronze|silver/<authority>/<feed>``."""
    parts = rel(root, path).split("/")
    if len(parts) == 3 and parts[0] in ("bronze", "silver") and parts[2] in FEEDS:
        return parts[1], parts[2]
    return None


def row_match(root: str, path: str, columns: Sequence[str], subject: Subject) -> Column | None:
    """A condition true on the rows of the table at ``path`` that are about the subject, from the
    columns it has: record keys, linkage node keys, person and family-independent person ids,
    identifier columns (delivered or validated) and partner references. None: no such column."""
    cols = set(columns)
    conds: list[Column | None] = []
    feed_of = _feed_of(root, path)
    if feed_of is not None and "record_key" in cols:
        authority, feed = feed_of
        conds.append(_isin(F.col("record_key"), subject.keys_of(authority, feed)))
        ref_col = FEEDS[feed].person_ref
        if ref_col and ref_col in cols:
            conds.append(_isin(F.upper(F.trim(F.col(ref_col))), subject.refs_of(authority, feed)))
    elif {"authority", "feed", "record_key"} <= cols:
        conds.append(_isin(F.concat_ws("|", "authority", "feed", "record_key"), subject.nodes))
    for c in ("person_id", "new_id", "retired_id", "survivor_id"):
        if c in cols:
            conds.append(_isin(F.col(c), subject.person_ids))
    if "old_ids" in cols and subject.person_ids:
        ids = F.array(*[F.lit(i) for i in sorted(subject.person_ids)])
        conds.append(F.arrays_overlap(F.col("old_ids"), ids))
    for c in ("unique_id_l", "unique_id_r", "unique_id"):
        if c in cols:
            conds.append(_isin(F.col(c), subject.nodes))
    for c, values in (("nhs_number", subject.nhs), ("upn", subject.upn)):
        for name in (c, f"{c}_valid"):
            if name in cols:
                conds.append(_isin(_compact(F.col(name)), values))
    for name in ("nino", "nino_valid"):
        if name in cols:
            conds.append(_isin(F.substring(_compact(F.col(name)), 1, 8), subject.nino8))
    if "person_ref" in cols and feed_of is None:
        conds.append(_isin(F.col("person_ref"), subject.refs))
    return _any(conds)


_DIGITS = re.compile(r"[^0-9A-Z]")


def _fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return line.split(",")


def line_matches(line: str | None, feed: str | None, authority: str, subject: Subject) -> bool:
    """Whether a raw delivered line (quarantine) is about the subject: it holds one of their
    identifiers in any spelling (spaces, hyphens, case), one of their partner references, or their
    forename and surname as fields, unless it also holds a valid identifier that is someone else's."""
    if not line:
        return False
    compact = _DIGITS.sub("", line.upper())
    if any(n in compact for n in subject.needles()):
        return True
    fields = [f.strip() for f in _fields(line)]
    upper = {f.upper() for f in fields}
    if feed is not None and feed in FEEDS:
        if upper & subject.refs_of(authority, feed):
            return True
        # a rejected version of one of the person's records: every key field is on the line
        if any(all(p.upper() in upper for p in k.split("|")) for k in subject.keys_of(authority, feed)):
            return True
    folded = {fold_name(f) for f in fields} - {None}
    if not any(fore in folded and sur in folded for fore, sur in subject.names):
        return False
    from accelerator.identifiers import normalise_nhs, normalise_nino, normalise_upn

    for f in fields:
        for norm, mine in ((normalise_nhs, subject.nhs), (normalise_upn, subject.upn)):
            v = norm(f)
            if v is not None and v not in mine:
                return False
        v = normalise_nino(f)
        if v is not None and v[:8] not in subject.nino8:
            return False
    return True


def _quarantine_keys(spark: SparkSession, df: DataFrame, authority: str, subject: Subject) -> pd.DataFrame:
    pdf: pd.DataFrame = df.select("feed", "delivery_id", "source_file", "line_number", "raw_line").toPandas()
    hit = [line_matches(r.raw_line, r.feed, authority, subject) for r in pdf.itertuples(index=False)]
    return pdf.loc[hit, ["delivery_id", "source_file", "line_number"]]


def subject_rows(spark: SparkSession, root: str, path: str, subject: Subject) -> DataFrame | None:
    """The subject's rows of one table (None when it cannot hold any)."""
    df = spark.read.format("delta").load(path)
    parts = rel(root, path).split("/")
    if parts[:1] == ["bronze"] and parts[-1:] == [QUARANTINE]:
        keys = _quarantine_keys(spark, df, parts[1], subject)
        if keys.empty:
            return df.limit(0)
        kdf = spark.createDataFrame(keys, "delivery_id string, source_file string, line_number int")
        return df.join(F.broadcast(kdf), ["delivery_id", "source_file", "line_number"], "left_semi")
    if parts == ["bronze", PLATFORM, AUDIT]:
        return df.where(F.col("subject_hash").isin(*[subject_hash(p) for p in sorted(subject.person_ids)]))
    cond = row_match(root, path, df.columns, subject)
    return df.where(cond) if cond is not None else None


# --------------------------------------------------------------------------- subject access


@dataclass
class AccessResult:
    person_id: str
    person_ids: list[str]
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "tolist"):
        return _jsonable(v.tolist())
    if isinstance(v, float) and pd.isna(v):
        return None
    return v


def subject_access(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    out_dir: str | Path,
    *,
    now: datetime,
    actor: str,
    reason: str = "subject access request",
    expand: bool = True,
) -> AccessResult:
    """Export every row the lake holds about the person, from every Delta table of every layer
    (bronze rows as delivered, quarantined lines, silver, linkage, families, gold, audit), into
    ``out_dir``: ``csv/<table path>.csv``, ``sar.json`` (all tables) and ``summary.md``. The
    family rows of the families they belong to are included (gold ``family``). Audited."""
    lake = Lake(lake_root)
    subject = find_subject(spark, lake_root, person_id, expand=expand)
    out = Path(out_dir)
    (out / "csv").mkdir(parents=True, exist_ok=True)
    result = AccessResult(person_id, sorted(subject.person_ids), out)
    tables: dict[str, list[dict[str, Any]]] = {}

    def rows_of(path: str) -> pd.DataFrame | None:
        name = rel(lake_root, path)
        rows = subject_rows(spark, lake_root, path, subject)
        if rows is None and name.startswith("gold/") and name.endswith("/family") and subject.family_ids:
            family = spark.read.format("delta").load(path)
            rows = family.where(F.col("family_id").isin(*sorted(subject.family_ids)))
        return rows.toPandas() if rows is not None else None

    paths = delta_tables(spark, lake_root)
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(rows_of, paths))
    for path, pdf in zip(paths, found, strict=True):
        if pdf is None or pdf.empty:
            continue
        name = rel(lake_root, path)
        target = out / "csv" / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        pdf.to_csv(target, index=False)
        tables[name] = [
            {k: _jsonable(v) for k, v in rec.items()}
            for rec in pdf.astype(object).where(pdf.notna(), None).to_dict("records")
        ]
        result.counts[name] = len(pdf)
    doc = {
        "person_id": person_id,
        "person_ids": result.person_ids,
        "generated_at": now.isoformat(),
        "generated_by": actor,
        "lake": lake_root,
        "tables": tables,
    }
    (out / "sar.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    (out / "summary.md").write_text(_summary(doc, subject), encoding="utf-8")
    write_audit(
        spark,
        lake,
        action="SAR",
        subjects=subject.person_ids,
        person_id=person_id,
        rule="UK GDPR Art. 15 (right of access)",
        reason=reason,
        actor=actor,
        counts=result.counts,
        files_removed=0,
        now=now,
        detail={"expand": expand},
    )
    return result


def _summary(doc: Mapping[str, Any], subject: Subject) -> str:
    tables: Mapping[str, list[dict[str, Any]]] = doc["tables"]
    lines = [
        f"# Subject access export: person {doc['person_id']}",
        "",
        f"Generated {doc['generated_at']} by {doc['generated_by']} from `{doc['lake']}`.",
        "",
        f"Person ids covered: {', '.join(doc['person_ids'])} "
        "(ids whose records share an identifier or partner reference).",
        f"Families: {', '.join(sorted(subject.family_ids)) or 'none'}.",
        "",
        "## Rows held, by table",
        "",
        "| layer | table | rows |",
        "|---|---|---|",
    ]
    for name in sorted(tables):
        layer, _, rest = name.partition("/")
        lines.append(f"| {layer} | {rest} | {len(tables[name])} |")
    lines += ["", "## Records by feed (silver, current versions)", ""]
    silver = {
        n: rows for n, rows in tables.items() if n.startswith("silver/") and _feed_of("", "/" + n) is not None
    }
    for name in sorted(silver):
        lines += [f"### {name}", "", "| record_key | event date | name | dob |", "|---|---|---|---|"]
        for r in sorted(silver[name], key=lambda x: str(x.get("record_key"))):
            nm = " ".join(str(r.get(c) or "") for c in ("person_forename", "person_surname")).strip()
            lines.append(f"| {r.get('record_key')} | {r.get('event_date')} | {nm} | {r.get('person_dob')} |")
        lines.append("")
    q = {n: rows for n, rows in tables.items() if n.endswith("/" + QUARANTINE)}
    if q:
        lines += ["## Quarantined lines (rejected on delivery)", ""]
        for name in sorted(q):
            for r in q[name]:
                lines.append(
                    f"- `{name}` {r.get('delivery_id')} line {r.get('line_number')}: {r.get('reason_code')}"
                )
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- history and log


def purge_histories(spark: SparkSession, paths: Iterable[str]) -> int:
    """Leave only the latest version of each Delta table: VACUUM with zero retention, then a
    checkpoint of the latest version, and every older commit, checksum and checkpoint deleted (and
    checksum files of deleted data files). Returns how many files went, data and log."""
    todo = sorted(set(paths))
    # Zero retention is refused unless the check is off; VACUUM lists files with one task per
    # `parallelPartitionDiscovery.parallelism` (10,000 by default): far too many for one table.
    conf = {RETENTION_CHECK: "false", LISTING_PARALLELISM: str(max(spark.sparkContext.defaultParallelism, 2))}
    previous = {k: spark.conf.get(k, None) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(lambda p: _purge_one(spark, p), todo))
    finally:
        for k, old in previous.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def _purge_one(spark: SparkSession, path: str) -> int:
    fs = HadoopStorage(spark)
    before = len(fs.walk(path))
    spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS")
    jvm: Any = spark.sparkContext._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog
    delta_log.invalidateCache(spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(path))
    log = delta_log.forTable(spark._jsparkSession, path)
    version = int(log.update(False, jvm.scala.Option.empty()).version())
    log.checkpoint()
    log_dir = join(path, "_delta_log")
    for name in fs.children(log_dir):
        m = _VERSION_FILE.match(name)
        if m and int(m.group(1)) < version:
            fs.delete(join(log_dir, name))
    for name in fs.children(join(log_dir, "_commits")):  # coordinated commits (none yet in Delta 3.2)
        m = _VERSION_FILE.match(name)
        if m and int(m.group(1)) < version:
            fs.delete(join(log_dir, "_commits", name))
    present = set(fs.children(path))
    for name in present:
        if name.startswith(".") and name.endswith(".crc") and name[1:-4] not in present:
            fs.delete(join(path, name))
    delta_log.invalidateCache(spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(path))
    return max(before - len(fs.walk(path)), 0)


def _overwrite_keep(spark: SparkSession, path: str, drop: Column) -> None:
    """Rewrite the table without the rows matching ``drop``: one overwrite commit whose log entry
    records no predicate (a DELETE would record the predicate, values and all)."""
    df = spark.read.format("delta").load(path)
    keep = df.where(~F.coalesce(drop, F.lit(False)))
    keep.write.format("delta").mode("overwrite").save(path)


def overwrite_without(spark: SparkSession, path: str, rows: DataFrame, key: list[str]) -> None:
    df = spark.read.format("delta").load(path)
    df.join(F.broadcast(rows.select(*key).distinct()), key, "left_anti").write.format("delta").mode(
        "overwrite"
    ).save(path)


def rebuild_gold(spark: SparkSession, lake_root: str, *, now: datetime, run_id: str) -> date | None:
    """Re-run gold for the ``as_of`` it was last built for (after an erasure or a restriction)."""
    from accelerator.config import RunContext, Settings
    from accelerator.gold.build import run_gold

    lake = Lake(lake_root)
    fam = _read(spark, lake.platform("family_member"))
    if fam is None:
        return None
    built = [
        r.m
        for p in delta_tables(spark, join(lake_root, "gold"))
        if p.endswith("/family")
        for r in spark.read.format("delta").load(p).agg(F.max("as_of").alias("m")).collect()
        if r.m is not None
    ]
    as_of = max(built) if built else fam.agg(F.max("as_of").alias("m")).collect()[0]["m"]
    if as_of is None:
        return None
    ctx = RunContext(as_of=as_of, run_id=run_id, started_at=now)
    run_gold(spark, Settings(lake_root=lake_root, landing_root=""), ctx)
    return as_of


def action_run_id(action: str, now: datetime, salt: str) -> str:
    digest = hashlib.sha256(f"{action}|{now.isoformat()}|{salt}".encode()).hexdigest()
    return f"{action.lower()}-{now:%Y%m%dT%H%M%S}-{digest[:8]}"


# --------------------------------------------------------------------------- audit


def write_audit(
    spark: SparkSession,
    lake: Lake,
    *,
    action: str,
    subjects: Iterable[str],
    person_id: str | None,
    rule: str,
    reason: str,
    actor: str,
    counts: Mapping[str, int],
    files_removed: int,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> str:
    """Append one row to ``bronze/_platform/audit`` (append-only) and return its run id."""
    n = len(set(subjects))
    sh = subject_hash(person_id) if person_id else None
    rid = run_id or action_run_id(action, now, sh or rule)
    event = hashlib.sha256(f"{action}|{sh}|{now.isoformat()}|{rid}".encode()).hexdigest()
    row = [
        (
            event,
            action,
            sh,
            n,
            rule,
            reason,
            actor,
            {k: int(v) for k, v in sorted(counts.items())},
            int(files_removed),
            now,
            rid,
            json.dumps(dict(detail or {}), sort_keys=True, default=str),
        )
    ]
    path = lake.audit(AUDIT)
    ensure_table(
        spark,
        path,
        AUDIT_SCHEMA,
        stats_columns=AUDIT_STATS,
        properties={"delta.appendOnly": "true"},
        comment="platform actions on people's data: erasures, restrictions, retention, access exports",
    )
    spark.createDataFrame(row, AUDIT_SCHEMA).write.format("delta").mode("append").save(path)
    return rid


def read_audit(spark: SparkSession, lake_root: str) -> DataFrame | None:
    return _read(spark, Lake(lake_root).audit(AUDIT))


def _check_reason(reason: str, subject: Subject) -> None:
    """The audit keeps the reason: it must not carry what is being erased."""
    compact = _DIGITS.sub("", reason.upper())
    words = {fold_name(w) for w in re.split(r"\s+", reason)} - {None}
    if (
        any(n in compact for n in subject.needles())
        or any(f in words and s in words for f, s in subject.names)
        or any(p in reason for p in subject.person_ids)
    ):
        raise RightsError("the reason must not contain the person's id, identifiers or names")


# --------------------------------------------------------------------------- erasure


@dataclass
class ErasureResult:
    person_id: str
    person_ids: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    other_files_removed: int = 0
    gold_as_of: date | None = None
    run_id: str = ""


def other_files(spark: SparkSession, lake_root: str) -> list[str]:
    """Files under the lake that belong to no Delta table (exports, model files, notes)."""
    tables = delta_tables(spark, lake_root)
    return [
        f
        for f in HadoopStorage(spark).walk(lake_root)
        if not any(f == t or f.startswith(t + "/") for t in tables)
    ]


def text_mentions(data: bytes, subject: Subject) -> bool:
    """Whether the bytes of a file hold one of the subject's identifiers or names."""
    text = data.decode("utf-8", errors="replace")
    if any(n in _DIGITS.sub("", text.upper()) for n in subject.needles()):
        return True
    words = {fold_name(w) for w in re.split(r"[\s,;|\"'{}\[\]:]+", text)} - {None}
    return any(f in words and s in words for f, s in subject.names)


def erase(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    expand: bool = True,
    rule: str = "UK GDPR Art. 17 (right to erasure)",
) -> ErasureResult:
    """Remove the person from every table of every layer, history and log included (module
    docstring), rebuild gold, and audit what was done (never the erased content)."""
    if not reason.strip():
        raise RightsError("an erasure needs a reason")
    lake = Lake(lake_root)
    subject = find_subject(spark, lake_root, person_id, expand=expand)
    _check_reason(reason, subject)
    run_id = action_run_id("ERASE", now, subject_hash(person_id))
    result = ErasureResult(person_id, sorted(subject.person_ids), run_id=run_id)
    tables = delta_tables(spark, lake_root)
    touched: set[str] = set()
    audit_path = lake.audit(AUDIT)

    def remove(path: str) -> int:
        rows = subject_rows(spark, lake_root, path, subject)
        n = rows.count() if rows is not None and path != audit_path else 0
        if n == 0 or rows is None:  # the audit names people only by hash and is append-only
            return 0
        if path.endswith("/" + QUARANTINE):
            overwrite_without(spark, path, rows, ["delivery_id", "source_file", "line_number"])
        else:
            df = spark.read.format("delta").load(path)
            cond = row_match(lake_root, path, df.columns, subject)
            assert cond is not None
            _overwrite_keep(spark, path, cond)
        return n

    with ThreadPoolExecutor(max_workers=4) as pool:
        for path, n in zip(tables, pool.map(remove, tables), strict=True):
            if n:
                result.counts[rel(lake_root, path)] = n
                touched.add(path)
    result.gold_as_of = rebuild_gold(spark, lake_root, now=now, run_id=run_id)
    purge = set(touched)
    purge |= {p for p in tables if rel(lake_root, p).startswith("gold/")}
    purge |= {lake.platform(t) for t in REWRITTEN_BY_RUNS if lake.platform(t) in tables}
    purge |= {lake.silver(a, f) for p in touched if (af := _feed_of(lake_root, p)) for a, f in [af]}
    fs = HadoopStorage(spark)
    result.files_removed = purge_histories(spark, [p for p in purge if is_delta(spark, p)])
    for f in other_files(spark, lake_root):
        if text_mentions(fs.read_bytes(f), subject):
            fs.delete(f)
            result.other_files_removed += 1
    write_audit(
        spark,
        lake,
        action="ERASE",
        subjects=subject.person_ids,
        person_id=person_id,
        rule=rule,
        reason=reason,
        actor=actor,
        counts=result.counts,
        files_removed=result.files_removed + result.other_files_removed,
        now=now,
        run_id=run_id,
        detail={"expand": expand, "gold_rebuilt_as_of": result.gold_as_of, "tables_purged": len(purge)},
    )
    return result


# --------------------------------------------------------------------------- restriction


def restricted_people(spark: SparkSession, lake: Lake) -> DataFrame:
    """Person ids currently restricted (their latest registry row says so), retired ids followed
    to their survivor. Gold hides them (gold/build.py)."""
    df = _read(spark, lake.platform(RESTRICTION))
    if df is None:
        return spark.createDataFrame([], "person_id string")
    latest = df.groupBy("person_id").agg(F.max_by("restricted", F.struct("at", "run_id")).alias("restricted"))
    ids = {r.person_id for r in latest.where("restricted").collect()}
    redirects = _redirects(spark, lake)
    ids |= {current_id(i, redirects) for i in ids}
    return spark.createDataFrame([(i,) for i in sorted(ids)], "person_id string")


@dataclass
class RestrictionResult:
    person_id: str
    restricted: bool
    gold_as_of: date | None
    run_id: str


def _set_restriction(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    *,
    restricted: bool,
    reason: str,
    actor: str,
    now: datetime,
) -> RestrictionResult:
    if not reason.strip():
        raise RightsError("a restriction needs a reason")
    lake = Lake(lake_root)
    subject = find_subject(spark, lake_root, person_id, expand=False)
    _check_reason(reason, subject)
    action = "RESTRICT" if restricted else "UNRESTRICT"
    run_id = action_run_id(action, now, subject_hash(person_id))
    path = lake.platform(RESTRICTION)
    ensure_table(spark, path, RESTRICTION_SCHEMA, stats_columns=RESTRICTION_STATS)
    spark.createDataFrame([(person_id, restricted, now, run_id)], RESTRICTION_SCHEMA).write.format(
        "delta"
    ).mode("append").save(path)
    as_of = rebuild_gold(spark, lake_root, now=now, run_id=run_id)
    removed = 0
    if restricted:  # older gold versions still show the person: nobody may time-travel to them
        removed = purge_histories(spark, delta_tables(spark, join(lake_root, "gold")))
    write_audit(
        spark,
        lake,
        action=action,
        subjects=[person_id],
        person_id=person_id,
        rule="UK GDPR Art. 18 (right to restriction of processing)",
        reason=reason,
        actor=actor,
        counts={rel(lake_root, path): 1},
        files_removed=removed,
        now=now,
        run_id=run_id,
        detail={"gold_rebuilt_as_of": as_of},
    )
    return RestrictionResult(person_id, restricted, as_of, run_id)


def restrict(
    spark: SparkSession, lake_root: str, person_id: str, *, reason: str, actor: str, now: datetime
) -> RestrictionResult:
    """Mark the person restricted: kept in bronze and silver, hidden from every gold table (gold
    is rebuilt now and its older versions vacuumed), audited."""
    return _set_restriction(spark, lake_root, person_id, restricted=True, reason=reason, actor=actor, now=now)


def unrestrict(
    spark: SparkSession, lake_root: str, person_id: str, *, reason: str, actor: str, now: datetime
) -> RestrictionResult:
    """Lift a restriction: the person is back in gold (rebuilt now), audited."""
    return _set_restriction(
        spark, lake_root, person_id, restricted=False, reason=reason, actor=actor, now=now
    )
