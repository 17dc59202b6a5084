"""Erasure (custodianship.md "People's rights"): many people at once, nothing left behind, resumable.

One request is a person id and its reason; ``erase`` takes a batch of them and makes about one pass
over the lake whatever the batch's size. For each subject (``subject.find_subjects``: the person's
ids, records, identifiers, partner references, names and dates of birth) it removes:

1. **landing** (inside the lake root on Azure): a *settled* delivery (in the delivery log) holding
   one of their lines is deleted whole, manifest and all (its rows are in bronze, erased there; the
   pipeline removes settled deliveries after its grace period anyway); a delivery *not yet settled*
   has the person's lines cut from its files and its manifest's ``rows`` and ``sha256`` for those
   files rewritten to match, so the pipeline still loads everyone else;
2. **rows of every Delta table** under the lake (every bronze version, quarantined lines, silver,
   linkage, families, gold): matched by record key, partner reference, identifier in any spelling
   and forename + surname + date of birth (delivered or standardised), by joins against small
   frames of the subjects' values, never literals (they would sit in query plans and logs); each
   table is rewritten by a plain overwrite of the rows kept (a DELETE records its predicate);
3. **name frequencies** of the stored linkage models: an entry keyed by one of the subjects' names
   goes once no remaining record carries that name (``frequency_keys`` gives the model's keys of a
   value; the caller supplies the linkage model's own, ``linkage.model.frequency_key``);
4. **gold** is rebuilt (``rebuild_gold``, the pipeline's gold stage, supplied by the caller);
5. **history**: every table but the audit is purged (``history.purged_tables``: not only those
   rewritten; a write killed before its commit leaves data files in a table that may hold none of
   the subjects' rows now);
6. **other files** under the lake (outside landing) that hold an identifier or name: deleted;
7. **audit**: one row per request (``audit.append``), never the erased content.

**Resumable.** Before anything is removed, the plan (the requests and, for each, what identifies the
subject) is written to ``bronze/_platform/erasure_pending.json``: the commit point after which the
erasure will be finished, by this run or by running the same command again. Each step above is
idempotent, and before a table is rewritten the plan records it (with its row count), so a run
killed anywhere leaves a plan from which the next run redoes what may not have happened, counts
every row the killed run removed, purges every table and audits each request exactly once (it skips the
requests the audit already holds under the plan's run id). The plan holds the person's identifiers,
so it is the last thing deleted, after the audit rows: then no file holds them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from accelerator.governance import audit, files
from accelerator.governance.history import other_files, purged_tables, rewrite
from accelerator.governance.landing import erase_from_landing
from accelerator.governance.matching import Needles, mentions_any, quarantine_hits, without_subjects
from accelerator.governance.pending import (
    PendingPlan,
    Progress,
    gold_step,
    plan_path,
    purge_step,
    read_plan,
)
from accelerator.governance.restriction import RebuildGold
from accelerator.governance.subject import RightsError, Subject, check_reason, find_subjects, rel
from accelerator.io import tables
from accelerator.io.lake import PLATFORM, QUARANTINE, Lake, join
from accelerator.io.storage import HadoopStorage

PENDING = "erasure_pending.json"
RULE = "UK GDPR Art. 17 (right to erasure)"


@dataclass(frozen=True)
class ErasureRequest:
    """One person to erase, and why (kept in the audit: no names or identifiers)."""

    person_id: str
    reason: str


def read_requests(text: str) -> list[ErasureRequest]:
    """Requests from CSV text with a header ``person_id,reason`` (one request per line)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"person_id", "reason"} <= set(rows[0]):
        raise RightsError("the requests file needs a header person_id,reason and one line per person")
    out = [ErasureRequest(r["person_id"].strip(), (r["reason"] or "").strip()) for r in rows]
    bad = [i + 2 for i, r in enumerate(out) if not r.person_id or not r.reason]
    if bad:
        raise RightsError(f"requests file lines {bad}: every line needs a person id and a reason")
    return out


def request_digest(requests: Sequence[ErasureRequest], *, expand: bool) -> str:
    """What names a batch (the same command run again has the same digest)."""
    text = json.dumps([[r.person_id, r.reason] for r in sorted(requests, key=lambda r: r.person_id)])
    return hashlib.sha256(f"{expand}|{text}".encode()).hexdigest()


@dataclass
class ErasureResult:
    run_id: str
    person_ids: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    other_files_removed: int = 0
    landing_files: int = 0
    gold_as_of: date | None = None
    resumed: bool = False


def pending_requests(plan: dict[str, Any]) -> list[ErasureRequest]:
    """The requests of a pending plan (to finish it with :func:`erase`)."""
    return [ErasureRequest(r["person_id"], r["reason"]) for r in plan["requests"]]


def covers(plan: dict[str, Any], person_id: str | None, record: tuple[str, str, str] | None) -> bool:
    """Whether a pending plan already covers a person id or a partner record."""
    for r in plan["requests"]:
        s = r["subject"]
        if person_id is not None and person_id in s["person_ids"]:
            return True
        if record is not None and list(record) in s["records"]:
            return True
    return False


def _pending_path(lake: Lake) -> str:
    return plan_path(lake, PENDING)


def pending(spark: SparkSession, lake_root: str) -> dict[str, Any] | None:
    """The plan of an erasure that was started and not finished, if any."""
    return read_plan(spark, _pending_path(Lake(lake_root)))


def _subjects(plan: PendingPlan) -> list[Subject]:
    return [Subject.from_json(r["subject"]) for r in plan.data["requests"]]


def erase(
    spark: SparkSession,
    lake_root: str,
    requests: Sequence[ErasureRequest],
    *,
    actor: str,
    now: datetime,
    landing_root: str | None = None,
    expand: bool = True,
    rebuild_gold: RebuildGold | None = None,
    frequency_keys: Callable[[str], Iterable[str]] | None = None,
    on_progress: Progress | None = None,
) -> ErasureResult:
    """Erase every person of ``requests`` from the lake (module docstring), or finish the pending
    erasure of the same requests. ``landing_root`` defaults to ``<lake>/landing``. Steps 1 to 7
    in order, each skipped when the plan says it finished."""
    say = on_progress or (lambda _m: None)
    lake = Lake(lake_root)
    landing = landing_root or join(lake_root, "landing")
    audit.require_intact(spark, lake_root)
    plan, resumed = _open_plan(spark, lake, requests, now=now, expand=expand)
    plan.save()  # the commit point: from here on the erasure will be finished
    subjects = _subjects(plan)
    person_ids = sorted({p for s in subjects for p in s.person_ids})
    say(
        f"erase {plan.data['run_id']}: {len(subjects)} requests, {len(person_ids)} person ids"
        + (" (resumed)" if resumed else "")
    )
    erase_from_landing(spark, lake, landing, subjects, plan, say)
    say("landing: done")
    _tables(spark, lake, subjects, plan, say, skip=[landing])
    if frequency_keys is not None:
        _model_step(spark, lake, subjects, frequency_keys, plan, say)
    gold_as_of = gold_step(spark, lake_root, plan, rebuild_gold, say)
    files_removed = purge_step(spark, lake, plan, [landing], say)
    other_removed = _other_files_step(spark, lake, subjects, plan, landing)
    result = ErasureResult(
        plan.data["run_id"],
        person_ids,
        counts={k: n for k, n in sorted(plan.rewritten().items()) if n > 0},
        files_removed=files_removed,
        other_files_removed=other_removed,
        landing_files=len(plan.data.get("landing_deleted", {})) + len(plan.data.get("landing_rewritten", {})),
        gold_as_of=gold_as_of,
        resumed=resumed,
    )
    _audit_step(spark, lake, plan, subjects, result, actor)
    say("audit: done")
    plan.delete()  # the plan holds identifiers: it goes last
    say("erase: finished")
    return result


def _open_plan(
    spark: SparkSession, lake: Lake, requests: Sequence[ErasureRequest], *, now: datetime, expand: bool
) -> tuple[PendingPlan, bool]:
    """The pending plan of these requests (resumed: True), or a new one for them, each request
    checked and its subject found. Another batch's unfinished plan is an error."""
    digest = request_digest(requests, expand=expand)
    data = pending(spark, lake.root)
    if data is not None and data["digest"] != digest:
        raise RightsError(
            f"erasure {data['run_id']} is not finished: run it again (the same requests) before another"
        )
    if data is not None:
        return PendingPlan(spark, _pending_path(lake), data), True
    if not requests:
        raise RightsError("no one to erase")
    subjects = find_subjects(spark, lake.root, [r.person_id for r in requests], expand=expand)
    for r, s in zip(requests, subjects, strict=True):
        if not r.reason.strip():
            raise RightsError("an erasure needs a reason")
        check_reason(r.reason, [s])
    data = {
        "run_id": audit.action_run_id("ERASE", now, digest),
        "digest": digest,
        "now": now.isoformat(),
        "expand": expand,
        "requests": [
            {"person_id": r.person_id, "reason": r.reason, "subject": s.to_json()}
            for r, s in zip(requests, subjects, strict=True)
        ],
    }
    return PendingPlan(spark, _pending_path(lake), data), False


def _model_step(
    spark: SparkSession,
    lake: Lake,
    subjects: list[Subject],
    frequency_keys: Callable[[str], Iterable[str]],
    plan: PendingPlan,
    say: Progress,
) -> None:
    """Step 3, once."""
    if plan.done("model"):
        return
    if _model_frequencies(spark, lake, subjects, frequency_keys):
        plan.note("rewritten", rel(lake.root, lake.platform("linkage_models")), 0)
    plan.finish("model")
    say("linkage model frequencies: done")


def _other_files_step(
    spark: SparkSession, lake: Lake, subjects: list[Subject], plan: PendingPlan, landing: str
) -> int:
    """Step 6, once: every file under the lake outside its tables, landing and the governance
    files that mentions a subject is deleted. How many were."""
    if not plan.done("other"):
        fs = HadoopStorage(spark)
        governance = [_pending_path(lake), join(lake.root, "bronze", PLATFORM, audit.ANCHOR)]
        skip = [landing, *governance, *(t for g in governance for t in files.temporaries(spark, g))]
        candidates = other_files(spark, lake.root, skip=skip)
        mentioning = [f for f in candidates if mentions_any(fs.read_bytes(f), subjects)]
        for f in mentioning:
            fs.delete(f)
        plan.finish("other", other_files_removed=len(mentioning))
    return int(plan.data.get("other_files_removed", 0))


def _audit_step(
    spark: SparkSession,
    lake: Lake,
    plan: PendingPlan,
    subjects: list[Subject],
    result: ErasureResult,
    actor: str,
) -> None:
    """Step 7: one audit row per request, all in one commit, unless the audit holds this run."""
    if audit.has_run(spark, lake.root, result.run_id):
        return
    entries = [
        audit.Entry(
            action="ERASE",
            subjects=len(subject.person_ids),
            person_id=req["person_id"],
            rule=RULE,
            reason=req["reason"],
            actor=actor,
            counts=result.counts,
            files_removed=result.files_removed + result.other_files_removed + result.landing_files,
            now=datetime.fromisoformat(plan.data["now"]),
            run_id=result.run_id,
            detail={
                "expand": plan.data["expand"],
                "gold_rebuilt_as_of": result.gold_as_of,
                "batch": len(subjects),
                "counts_are": "the batch's",
            },
        )
        for req, subject in zip(plan.data["requests"], subjects, strict=True)
    ]
    audit.append_entries(spark, lake, entries)


# --------------------------------------------------------------------------- tables


def _quarantine_keep(
    spark: SparkSession, df: DataFrame, authority: str, subjects: list[Subject]
) -> DataFrame:
    keys = quarantine_hits(spark, df, authority, subjects)
    return df.join(keys, ["delivery_id", "source_file", "line_number"], "left_anti")


def _erase_rows(
    spark: SparkSession, lake: Lake, path: str, subjects: list[Subject], needles: Needles, plan: PendingPlan
) -> int:
    """The table at ``path`` rewritten without the subjects' rows; how many rows that removed.
    The table is noted in the plan, with the count, before it is rewritten."""
    if tables.created_empty(HadoopStorage(spark), path):  # gold of an authority with no families
        return 0
    df = spark.read.format("delta").load(path)
    name = rel(lake.root, path)
    parts = name.split("/")
    keep = (
        _quarantine_keep(spark, df, parts[1], subjects)
        if parts[0] == "bronze" and parts[-1] == QUARANTINE
        else without_subjects(lake.root, path, df, needles)
    )
    if keep is None:  # no column can tell who a row is about: it holds no one (no Spark job)
        return 0
    total = df.count()
    n = total - keep.count() if total else 0  # an empty table holds no one
    if n > 0:
        plan.note("rewritten", name, n)  # before the rewrite: a resume still counts it
        rewrite(spark, path, keep)
    return n


def _tables(
    spark: SparkSession,
    lake: Lake,
    subjects: list[Subject],
    plan: PendingPlan,
    say: Progress,
    *,
    skip: list[str],
) -> None:
    """Step 2, once: every Delta table rewritten without the subjects' rows (the audit aside), four
    tables at a time (each waits mostly on the file system)."""
    if plan.done("tables"):
        return
    needles = Needles.of(spark, subjects)
    paths = purged_tables(spark, lake, skip=skip)
    with ThreadPoolExecutor(max_workers=4) as pool:
        running = {pool.submit(_erase_rows, spark, lake, p, subjects, needles, plan): p for p in paths}
        for i, done in enumerate(as_completed(running), 1):
            say(f"tables: {i} of {len(paths)} ({rel(lake.root, running[done])}: {done.result()} rows)")
    plan.finish("tables")


def _model_frequencies(
    spark: SparkSession, lake: Lake, subjects: list[Subject], frequency_keys: Callable[[str], Iterable[str]]
) -> bool:
    """Step 3: drop from every stored model's term frequencies the subjects' names that no
    remaining record carries. Returns whether the models table was rewritten."""
    path = lake.platform("linkage_models")
    models = tables.read(spark, path)
    records = tables.read(spark, lake.platform("person_record"))
    if models is None or "model_json" not in models.columns:
        return False
    wanted = {
        "forename": {f for s in subjects for f, _ in s.names},
        "surname": {n for s in subjects for _, n in s.names},
    }
    column = {"forename": "person_forename_match", "surname": "person_surname_match"}
    gone: dict[str, set[str]] = {}
    for col, values in wanted.items():
        if not values:
            gone[col] = set()
            continue
        frame = spark.createDataFrame([(v,) for v in sorted(values)], "v string")
        still = set()
        if records is not None:
            hit = frame.join(records, frame["v"] == records[column[col]], "left_semi")
            still = {r.v for r in hit.collect()}
        gone[col] = {k for v in values - still for k in frequency_keys(v)}
    rows = [r.asDict() for r in models.collect()]
    changed = False
    for r in rows:
        model = json.loads(r["model_json"])
        freqs = model.get("term_frequencies") or {}
        for col, keys in gone.items():
            shares = freqs.get(col) or {}
            for k in keys & set(shares):
                del shares[k]
                changed = True
        r["model_json"] = json.dumps(model, sort_keys=True, default=str)
    if changed:
        rewrite(spark, path, spark.createDataFrame(rows, models.schema))
    return changed
