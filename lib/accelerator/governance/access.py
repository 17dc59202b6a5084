"""Subject access (UK GDPR Art. 15), answered by one authority, the controller of its own data.

``subject_access(..., authority=A)`` exports what authority A holds about the person:

- ``bronze/A/<feed>``: every delivered version of the person's rows, and ``bronze/A/_quarantine``
  lines about them (found by identifier or name, as erasure finds them);
- ``silver/A/<feed>``: the current versions;
- linkage: ``person_record`` and ``person_xref`` rows of A's records of the person, and the
  ``person_links`` rows that have one of those records on a side. The other side of a link is
  never shown as a record key (it may hold another person's UPN): it reads ``<authority>/<feed>``
  when it is the same person's record held by another authority, else ``another person's record``;
- ``silver/_platform/family_member`` rows of the person in A's families; ``restriction`` rows;
- ``gold/A/*``: the person's rows, and the ``family`` rows of their families in A (without
  ``lead_professional``, a member of staff).

For the other authorities it lists only that they hold records (authority, feed and how many), so
A can refer the requester; nothing of those records. No row of another person is exported.

The export folder (``csv/<table path>.csv``, ``sar.json``, ``summary.md``) is private to the user
who runs it: folders 0700 and files 0600, set explicitly (not left to the umask). CSV cells that a
spreadsheet would read as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return)
are prefixed with ``'``. One SAR row is appended to the audit (its only write to the lake).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance import audit
from accelerator.governance.history import delta_tables
from accelerator.governance.matching import Needles, feed_of, quarantine_hits, without_subjects
from accelerator.governance.subject import Subject, find_subject, ids_frame, rel
from accelerator.io.lake import QUARANTINE, Lake, join

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
OTHER_PERSON = "another person's record"


def neutralise(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _private_dir(path: Path) -> None:
    """``path`` and every folder created on the way to it, mode 0700 (not left to the umask)."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for p in [path, *missing]:
        os.chmod(p, 0o700)


def _private_write(path: Path, text: str) -> None:
    _private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


@dataclass
class AccessResult:
    person_id: str
    authority: str
    person_ids: list[str]
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    elsewhere: list[dict[str, Any]] = field(default_factory=list)


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


def _rows(
    spark: SparkSession, lake: Lake, path: str, subject: Subject, needles: Needles, authority: str
) -> DataFrame | None:
    """The subject's rows of one table that authority ``authority`` may see (None: none)."""
    name = rel(lake.root, path)
    parts = name.split("/")
    df = spark.read.format("delta").load(path)
    if parts[0] in ("bronze", "silver", "gold") and parts[1] not in (authority, "_platform"):
        return None
    if parts[0] == "bronze" and parts[-1] == QUARANTINE:
        keys = quarantine_hits(spark, df, authority, [subject])
        return df.join(keys, ["delivery_id", "source_file", "line_number"], "left_semi")
    if feed_of(lake.root, path) is not None:
        # The rows erasure would remove: every row minus those it keeps, told apart by a row id on
        # a materialised copy (the same rows in both evaluations).
        numbered = df.withColumn("_sar_row", F.monotonically_increasing_id()).localCheckpoint()
        keep = without_subjects(lake.root, path, numbered, needles)
        if keep is None:
            return None
        return numbered.join(keep.select("_sar_row"), "_sar_row", "left_anti").drop("_sar_row")
    if parts[0] == "gold":
        if parts[-1] == "family":
            fams = ids_frame(spark, subject.family_ids, "family_id")
            cols = [c for c in df.columns if c != "lead_professional"]
            return df.join(F.broadcast(fams), "family_id", "left_semi").select(*cols)
        if "person_id" in df.columns:
            return df.join(
                F.broadcast(needles.person_ids.withColumnRenamed("v", "person_id")), "person_id", "left_semi"
            )
        return None
    mine = [r for r in subject.records if r[0] == authority]
    nodes = ids_frame(spark, ("|".join(r) for r in mine), "node")
    table = parts[-1]
    if table in ("person_record", "person_xref"):
        node = F.concat_ws("|", "authority", "feed", "record_key")
        return df.join(F.broadcast(nodes), node == F.col("node"), "left_semi")
    if table == "person_links":
        return _links(df, nodes, subject)
    if table == "family_member":
        ids = needles.person_ids.withColumnRenamed("v", "person_id")
        return df.where(F.col("authority") == authority).join(F.broadcast(ids), "person_id", "left_semi")
    if table == "restriction":
        return df.join(
            F.broadcast(needles.person_ids.withColumnRenamed("v", "person_id")), "person_id", "left_semi"
        )
    return None


def _links(df: DataFrame, nodes: DataFrame, subject: Subject) -> DataFrame:
    """Links with one of A's records on a side; the other side shown without its record key."""
    own = {r[0] for r in nodes.collect()}
    same = {"|".join(r) for r in subject.records}
    out = [
        df.join(F.broadcast(nodes), F.col(side) == F.col("node"), "left_semi")
        for side in ("unique_id_l", "unique_id_r")
    ]
    rows: pd.DataFrame = out[0].unionByName(out[1]).distinct().toPandas()
    for c in ("unique_id_l", "unique_id_r"):
        rows[c] = [
            v if v in own else ("/".join(v.split("|")[:2]) if v in same else OTHER_PERSON) for v in rows[c]
        ]
    return df.sparkSession.createDataFrame(rows, df.schema) if len(rows) else df.limit(0)


def subject_access(
    spark: SparkSession,
    lake_root: str,
    person_id: str,
    out_dir: str | Path,
    *,
    authority: str,
    now: datetime,
    actor: str,
    reason: str = "subject access request",
    expand: bool = True,
) -> AccessResult:
    """Export what ``authority`` holds about the person into ``out_dir`` (module docstring)."""
    if authority not in AUTHORITIES:
        raise ValueError(f"unknown authority {authority!r}")
    audit.require_intact(spark, lake_root)
    lake = Lake(lake_root)
    subject = find_subject(spark, lake_root, person_id, expand=expand)
    out = Path(out_dir)
    _private_dir(out)
    _private_dir(out / "csv")
    result = AccessResult(person_id, authority, sorted(subject.person_ids), out)
    found = _export_tables(spark, lake, subject, authority, out / "csv")
    result.counts = {name: len(rows) for name, rows in found.items()}
    result.elsewhere = _held_elsewhere(subject, authority)
    doc = {
        "person_id": person_id,
        "person_ids": result.person_ids,
        "authority": authority,
        "generated_at": now.isoformat(),
        "generated_by": actor,
        "lake": lake_root,
        "tables": found,
        "held_by_other_authorities": result.elsewhere,
    }
    _private_write(out / "sar.json", json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    _private_write(out / "summary.md", _summary(doc, subject, authority))
    audit.append(
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
        detail={"expand": expand, "authority": authority},
    )
    return result


def _export_tables(
    spark: SparkSession, lake: Lake, subject: Subject, authority: str, csv_dir: Path
) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows of the subject that ``authority`` may see, each table written to
    ``csv_dir`` as CSV (cells neutralised for spreadsheets); the rows by table, as JSON values."""
    found: dict[str, list[dict[str, Any]]] = {}
    needles = Needles.of(spark, [subject])
    for path in delta_tables(spark, lake.root, skip=[join(lake.root, "landing")]):
        rows = _rows(spark, lake, path, subject, needles, authority)
        if rows is None:
            continue
        pdf: pd.DataFrame = rows.toPandas()
        if pdf.empty:
            continue
        name = rel(lake.root, path)
        _private_write(csv_dir / f"{name}.csv", pdf.map(neutralise).to_csv(index=False))
        found[name] = [
            {k: _jsonable(v) for k, v in rec.items()}
            for rec in pdf.astype(object).where(pdf.notna(), None).to_dict("records")
        ]
    return found


def _held_elsewhere(subject: Subject, authority: str) -> list[dict[str, Any]]:
    """How many of the subject's records each other authority holds, per feed (no content)."""
    held: dict[tuple[str, str], int] = {}
    for a, f, _k in subject.records:
        if a != authority:
            held[(a, f)] = held.get((a, f), 0) + 1
    return [{"authority": a, "feed": f, "records": n} for (a, f), n in sorted(held.items())]


def _summary(doc: Mapping[str, Any], subject: Subject, authority: str) -> str:
    found: Mapping[str, list[dict[str, Any]]] = doc["tables"]
    lines = [
        f"# Subject access export: person {doc['person_id']}, held by {authority}",
        "",
        f"Generated {doc['generated_at']} by {doc['generated_by']} from `{doc['lake']}`.",
        "",
        f"Person ids covered: {', '.join(doc['person_ids'])} "
        "(ids whose records share an identifier or partner reference).",
        "",
        "## Rows held by this authority, by table",
        "",
        "| layer | table | rows |",
        "|---|---|---|",
    ]
    for name in sorted(found):
        layer, _, rest = name.partition("/")
        lines.append(f"| {layer} | {rest} | {len(found[name])} |")
    lines += ["", "## Records by feed (silver, current versions)", ""]
    for name in sorted(n for n in found if n.startswith("silver/") and n.split("/")[-1] in FEEDS):
        lines += [f"### {name}", "", "| record_key | event date | name | dob |", "|---|---|---|---|"]
        for r in sorted(found[name], key=lambda x: str(x.get("record_key"))):
            nm = " ".join(str(r.get(c) or "") for c in ("person_forename", "person_surname")).strip()
            lines.append(f"| {r.get('record_key')} | {r.get('event_date')} | {nm} | {r.get('person_dob')} |")
        lines.append("")
    q = {n: rows for n, rows in found.items() if n.endswith("/" + QUARANTINE)}
    if q:
        lines += ["## Quarantined lines (rejected on delivery)", ""]
        for name in sorted(q):
            for r in q[name]:
                lines.append(
                    f"- `{name}` {r.get('delivery_id')} line {r.get('line_number')}: {r.get('reason_code')}"
                )
        lines.append("")
    lines += ["## Other authorities holding records of this person", ""]
    elsewhere = doc["held_by_other_authorities"]
    if elsewhere:
        lines += ["Refer the requester to them: this export holds none of their data.", ""]
        lines += ["| authority | feed | records |", "|---|---|---|"]
        lines += [f"| {e['authority']} | {e['feed']} | {e['records']} |" for e in elsewhere]
    else:
        lines.append("None.")
    lines.append("")
    return "\n".join(lines)
