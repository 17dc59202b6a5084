"""The platform's own actions on people's data: ``bronze/_platform/audit``, a hash chain.

Each row carries ``seq`` (0, 1, 2, ...), ``prev_hash`` (the previous row's ``row_hash``; 64 zeros
for the first) and ``row_hash``: the sha256 of ``prev_hash`` and the row's content in a canonical
JSON form. Editing, deleting or reordering any row breaks the chain from there on.

**Missing or never created.** A deleted audit table must not look like a lake that never had one.
Beside the table, ``bronze/_platform/audit_anchor.json`` (outside the table, so a rewrite of the
table does not touch it) holds the first row's hash and the hash and ``seq`` of a recent row (the
head, refreshed after every append). The anchor is written *before* the first row is appended, so
the table never exists without it. The chain is *intact* when the table's rows chain from the
anchor's first hash and hold the anchor's head at its ``seq``; *never created* when there is
neither table nor anchor (or only the anchor of a first append killed before its commit);
*broken* otherwise (the table without an anchor, the anchor of a committed row without a table,
a row whose hash does not match, rows cut up to the head). A kill between the table's append and
the anchor's refresh leaves the anchor one row behind, which is still intact (the head is in the
chain); the next append refreshes it. What the chain cannot tell: someone who rewrites the
whole table *and* the anchor consistently; a copy of the anchor kept elsewhere (the ACL'd
``synapse`` container, a ticket) closes that.

Every command that appends (:func:`append`) refuses a broken chain (:class:`AuditChainError`);
``accelerator audit verify --lake DIR`` reports it. Commit point of an append: the table commit;
the anchor follows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.governance import files
from accelerator.governance.subject import subject_hash
from accelerator.io import tables
from accelerator.io.lake import Lake, join

AUDIT = "audit"
ANCHOR = "audit_anchor.json"
GENESIS = "0" * 64

AUDIT_SCHEMA = T.StructType(
    [
        tables.column("seq", T.LongType(), "position in the chain: 0, 1, 2, ..."),
        tables.column("event_id", T.StringType(), "sha256 of action, subject, time and run id"),
        tables.column("action", T.StringType(), "SAR, ERASE, RESTRICT, UNRESTRICT or RETENTION"),
        tables.column("subject_hash", T.StringType(), "sha256 of 'person:' + person_id; null for retention"),
        tables.column("subjects", T.IntegerType(), "person ids the action covered (expansion by identifier)"),
        tables.column("rule", T.StringType(), "the legal or retention rule applied"),
        tables.column("reason", T.StringType(), "why, as given by the actor"),
        tables.column("actor", T.StringType(), "who ran it"),
        tables.column(
            "table_counts", T.MapType(T.StringType(), T.LongType()), "rows per table path (lake-relative)"
        ),
        tables.column("files_removed", T.LongType(), "data, log and other files deleted"),
        tables.column("at", T.TimestampType(), "when it was done (UTC)"),
        tables.column("run_id", T.StringType()),
        tables.column("detail", T.StringType(), "JSON: parameters of the action (never erased content)"),
        tables.column("prev_hash", T.StringType(), "row_hash of the previous row (64 zeros for the first)"),
        tables.column("row_hash", T.StringType(), "sha256 of prev_hash and this row's content"),
    ]
)
AUDIT_STATS = ("seq", "event_id", "action", "at", "run_id")
CONTENT = tuple(f.name for f in AUDIT_SCHEMA.fields if f.name not in ("prev_hash", "row_hash"))


class AuditChainError(RuntimeError):
    """The audit chain is broken or the audit table is missing: nothing may append to it."""


def row_hash(prev: str, row: Mapping[str, Any]) -> str:
    """The hash of one row: sha256 of the previous hash and the row's content as canonical JSON
    (sorted keys, timestamps in ISO form, maps as sorted objects)."""
    content = {k: row.get(k) for k in CONTENT}
    text = json.dumps(content, sort_keys=True, default=lambda v: v.isoformat(), separators=(",", ":"))
    return hashlib.sha256(f"{prev}|{text}".encode()).hexdigest()


def action_run_id(action: str, now: datetime, salt: str) -> str:
    digest = hashlib.sha256(f"{action}|{now.isoformat()}|{salt}".encode()).hexdigest()
    return f"{action.lower()}-{now:%Y%m%dT%H%M%S}-{digest[:8]}"


@dataclass(frozen=True)
class ChainState:
    """What :func:`verify` found: ``status`` is ``intact``, ``never created`` or ``broken``."""

    status: str
    rows: int
    problem: str = ""
    head: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.status != "broken"


def _anchor_path(lake: Lake) -> str:
    return join(lake.root, "bronze", "_platform", ANCHOR)


def read_audit(spark: SparkSession, lake_root: str) -> DataFrame | None:
    return tables.read(spark, Lake(lake_root).audit(AUDIT))


def verify(spark: SparkSession, lake_root: str) -> ChainState:
    """Check the chain from the first row to the last against the anchor (module docstring)."""
    lake = Lake(lake_root)
    df = tables.read(spark, lake.audit(AUDIT))
    raw = files.read_text(spark, _anchor_path(lake))
    if df is None and raw is None:
        return ChainState("never created", 0)
    if raw is None:
        return ChainState("broken", 0, "the audit table has no anchor (audit_anchor.json was removed)")
    anchor = json.loads(raw)
    head_seq = int(anchor.get("head_seq", -1))
    if df is None:
        if head_seq < 0:  # the first append was killed before its commit
            return ChainState("never created", 0)
        return ChainState("broken", 0, "the audit table is gone but its anchor says it existed")
    if "row_hash" not in df.columns or "seq" not in df.columns:
        return ChainState("broken", 0, "the audit table has no hash chain (written before the chain)")
    rows = [r.asDict(recursive=True) for r in df.orderBy("seq").collect()]
    prev = GENESIS
    for i, r in enumerate(rows):
        if r["seq"] != i:
            return ChainState("broken", i, f"row {i}: sequence {r['seq']} (a row was removed or added)")
        if r["prev_hash"] != prev or row_hash(prev, r) != r["row_hash"]:
            return ChainState("broken", i, f"row {i} ({r['action']} {r['run_id']}): its hash does not match")
        prev = r["row_hash"]
    if not rows:
        if head_seq < 0:
            return ChainState("never created", 0)
        return ChainState("broken", 0, "the audit table has lost every row")
    if rows[0]["row_hash"] != anchor.get("first"):
        return ChainState("broken", len(rows), "the first row is not the one the anchor names")
    if head_seq >= len(rows) or (head_seq >= 0 and rows[head_seq]["row_hash"] != anchor.get("head")):
        return ChainState("broken", len(rows), f"rows up to {head_seq} that the anchor names are missing")
    return ChainState("intact", len(rows), head=prev)


def require_intact(spark: SparkSession, lake_root: str) -> ChainState:
    """Refuse to go on when the chain is broken (every appending command calls this first)."""
    state = verify(spark, lake_root)
    if not state.ok:
        raise AuditChainError(
            f"the audit chain of {lake_root} is broken: {state.problem}. Nothing that appends to the "
            "audit runs until it is restored (`accelerator audit verify --lake ...`)"
        )
    return state


def has_run(spark: SparkSession, lake_root: str, run_id: str) -> bool:
    """Whether the audit already holds a row of ``run_id`` (a resumed command appends once)."""
    df = read_audit(spark, lake_root)
    return df is not None and bool(df.where(df["run_id"] == run_id).limit(1).collect())


@dataclass(frozen=True)
class Entry:
    """One audit row before it is chained."""

    action: str
    subjects: int
    person_id: str | None
    rule: str
    reason: str
    actor: str
    counts: Mapping[str, int]
    files_removed: int
    now: datetime
    run_id: str
    detail: Mapping[str, Any] | None = None


CONFLICTS: tuple[type[BaseException], ...] = (
    ConcurrentAppendException,
    ConcurrentWriteException,
    ConcurrentTransactionException,
    MetadataChangedException,
    ProtocolChangedException,
    DeltaConcurrentModificationException,
)
"""Delta's errors for a commit that lost a race with another writer's."""

ATTEMPTS = 20
"""How often an append is tried again after losing a race with another command's append."""


def _rows(state: ChainState, entries: Sequence[Entry]) -> list[dict[str, Any]]:
    prev, rows = state.head, []
    for i, e in enumerate(entries):
        sh = subject_hash(e.person_id) if e.person_id else None
        row: dict[str, Any] = {
            "seq": state.rows + i,
            "event_id": hashlib.sha256(
                f"{e.action}|{sh}|{e.now.isoformat()}|{e.run_id}".encode()
            ).hexdigest(),
            "action": e.action,
            "subject_hash": sh,
            "subjects": e.subjects,
            "rule": e.rule,
            "reason": e.reason,
            "actor": e.actor,
            "table_counts": {k: int(v) for k, v in sorted(e.counts.items())},
            "files_removed": int(e.files_removed),
            "at": e.now,
            "run_id": e.run_id,
            "detail": json.dumps(dict(e.detail or {}), sort_keys=True, default=str),
            "prev_hash": prev,
        }
        row["row_hash"] = prev = row_hash(prev, row)
        rows.append(row)
    return rows


def append_entries(spark: SparkSession, lake: Lake, entries: Sequence[Entry]) -> None:
    """Append ``entries`` to the chain in one commit (refuses a broken chain).

    Safe beside another command appending at the same moment (a subject access export does not
    hold the lake's lease): the rows are inserted by a MERGE on ``seq``, which reads the table, so
    Delta refuses the commit of whichever of two appends of the same ``seq`` comes second (or the
    MERGE finds the ``seq`` taken and inserts nothing); that append is built again on the new
    head and tried again, up to :data:`ATTEMPTS` times."""
    lost: BaseException | None = None
    for attempt in range(ATTEMPTS):
        try:
            if _append_once(spark, lake, entries):
                return
        except CONFLICTS as e:
            lost = e
        except AuditChainError as e:
            # After a lost race only: the winner of a first append may be between its commit and
            # its anchor refresh (the anchor still names the loser's first row). Anything else is
            # a broken chain and is raised at once.
            if attempt == 0:
                raise
            lost = e
    if isinstance(lost, AuditChainError):
        raise lost  # still broken after every try: say what is broken, not that races were lost
    raise AuditChainError(
        f"the audit append lost {ATTEMPTS} races with other commands' appends; run the command again"
    ) from lost


def _append_once(spark: SparkSession, lake: Lake, entries: Sequence[Entry]) -> bool:
    """One try; False when another append took the ``seq`` first (nothing of ours committed)."""
    state = require_intact(spark, lake.root)
    rows = _rows(state, entries)
    if not rows:
        return True
    path = lake.audit(AUDIT)
    anchor_path = _anchor_path(lake)
    if state.rows == 0 and files.read_text(spark, anchor_path) is None:
        # the anchor exists before the table does: a table never lacks one
        first = {"first": rows[0]["row_hash"], "head": None, "head_seq": -1}
        files.write_text(spark, anchor_path, json.dumps(first, sort_keys=True))
    tables.create(
        spark,
        path,
        AUDIT_SCHEMA,
        stats=AUDIT_STATS,
        extra={"delta.appendOnly": "true"},
        comment="platform actions on people's data: erasures, restrictions, retention, access exports",
    )
    frame = spark.createDataFrame([tuple(r[f.name] for f in AUDIT_SCHEMA.fields) for r in rows], AUDIT_SCHEMA)
    tables.insert_new(spark, path, frame, on=("seq",))  # the commit point
    table = tables.read(spark, path)
    assert table is not None
    mine = [r["row_hash"] for r in rows]
    if table.where(F.col("row_hash").isin(mine)).count() != len(mine):
        return False  # another append holds these seqs: build ours again on its head
    anchor = json.loads(files.read_text(spark, anchor_path) or "{}")
    if int(anchor.get("head_seq", -1)) < 0:  # no head confirmed yet: the first row is the table's
        seq0 = table.where(F.col("seq") == 0).select("row_hash").first()
        anchor["first"] = seq0[0] if seq0 is not None else rows[0]["row_hash"]
    anchor.update(head=rows[-1]["row_hash"], head_seq=rows[-1]["seq"])
    files.write_text(spark, anchor_path, json.dumps(anchor, sort_keys=True))
    return True


def append(
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
    """Append one row to the chain and return its run id (refuses a broken chain)."""
    sh = subject_hash(person_id) if person_id else None
    rid = run_id or action_run_id(action, now, sh or rule)
    entry = Entry(
        action, len(set(subjects)), person_id, rule, reason, actor, counts, files_removed, now, rid, detail
    )
    append_entries(spark, lake, [entry])
    return rid
