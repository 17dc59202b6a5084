"""The whole pipeline as one call, and each stage on its own, shared by the CLI, the Spark job
definitions (``jobs/``) and the Synapse notebooks (``notebooks/``).

Each stage is a function of (spark, settings, run context); this module only chains them and
collects what each returns for the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import SparkSession

from accelerator.bronze.deliveries import Outcome
from accelerator.bronze.land import BronzeResult, run_bronze
from accelerator.bronze.landing import run_landing_lifecycle
from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES
from accelerator.gold.build import GoldResult, run_gold
from accelerator.governance.acl_plan import ApplyReport, Drift
from accelerator.governance.rights import restricted_people
from accelerator.io import storage as io_storage
from accelerator.io.lake import Lake
from accelerator.io.storage import LandingStorage, Storage, storage_for
from accelerator.linkage.families import FamilyResult, run_families
from accelerator.linkage.people import LinkageResult, run_people
from accelerator.report import ReportsWritten, StageTimer, write_reports
from accelerator.silver.build import SilverResult, run_silver


@dataclass
class PipelineResult:
    bronze: BronzeResult
    silver: SilverResult
    people: LinkageResult
    families: FamilyResult
    gold: GoldResult
    landing_cleared: int = 0
    reports: ReportsWritten | None = None


def run(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    *,
    storage: Storage | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    clock: Callable[[], float] | None = None,
    review: bool = True,
) -> PipelineResult:
    """Bronze for every pending delivery, silver for every delivery not yet applied, linkage of
    people and families as of ``ctx.as_of``, gold for every authority, then the run's log and
    reports (``report/``: the run log, each authority's review pages when ``review``, the
    platform's and each authority's report). ``clock`` (seconds, e.g. ``time.monotonic``; the
    caller's, never read here) times the stages for the report; without it no timings are logged."""
    timer = StageTimer(clock)

    def stage(name: str) -> None:
        timer.start(name)
        if on_stage:
            on_stage(name)

    store = storage or storage_for(settings.landing_root, spark)
    stage("bronze")
    bronze = run_bronze(spark, settings, ctx, store, on_outcome=on_outcome, on_total=on_total)
    cleared = clear_landing(spark, settings, ctx, store)
    stage("silver")
    silver = run_silver(spark, settings, ctx)
    stage("people")
    people = run_people(spark, settings, ctx)
    stage("families")
    families = run_families(spark, settings, ctx)
    stage("gold")
    gold_ = gold(spark, settings, ctx)
    reports = write_reports(spark, settings, ctx, timings=timer.finish(), review=review)
    return PipelineResult(
        bronze=bronze,
        silver=silver,
        people=people,
        families=families,
        gold=gold_,
        landing_cleared=cleared,
        reports=reports,
    )


def clear_landing(spark: SparkSession, settings: Settings, ctx: RunContext, store: Storage) -> int:
    """Remove the files of deliveries settled more than ``settings.landing_grace_days`` ago from
    landing (``bronze/landing.py``; the pipeline identity has delete there). A landing reached
    through a storage that cannot delete (a read-only wrapper) is left as it is. Returns the
    number of delivery folders removed."""
    if not isinstance(store, LandingStorage):
        return 0
    return sum(1 for _, removed in run_landing_lifecycle(spark, settings, ctx, store) if removed)


# ----------------------------------------------------------------------------------- one stage
#
# The notebooks (notebooks/*.ipynb) and Spark job definitions (jobs/run_stage.py) run the pipeline
# one stage at a time: bronze, silver, link (people then families), gold, and acl (the storage
# ACLs of custodianship.md checked, or applied, against the lake). Each stage reads only what the
# previous ones wrote to the lake, so a stage can be re-run on its own.

STAGES: tuple[str, ...] = ("bronze", "silver", "link", "gold", "acl")


class OnlyAuthorities:
    """A landing zone narrowed to some authorities: the folders at the landing root that are not
    one of ``authorities`` are not listed, so bronze assesses nothing of theirs. Everything else
    is the inner storage's own: files are streamed in chunks, and the landing lifecycle deletes
    (only under the authorities kept) when the inner storage can."""

    def __init__(self, inner: Storage, landing_root: str, authorities: Iterable[str]) -> None:
        wanted = sorted(set(authorities))
        unknown = [a for a in wanted if a not in AUTHORITIES]
        if unknown:
            raise ValueError(f"unknown authorities {unknown}; expected some of {list(AUTHORITIES)}")
        self._inner = inner
        self._root = landing_root.rstrip("/")
        self.authorities = tuple(wanted)

    def list_dirs(self, path: str) -> list[str]:
        names = self._inner.list_dirs(path)
        if path.rstrip("/") == self._root:
            return [n for n in names if n in self.authorities]
        return names

    def list_files(self, path: str) -> list[str]:
        return self._inner.list_files(path)

    def entries(self, path: str) -> list[tuple[str, str]]:
        found = io_storage.entries(self._inner, path)
        if path.rstrip("/") == self._root:
            return [(n, kind) for n, kind in found if n in self.authorities]
        return found

    def read_chunks(self, path: str, chunk_bytes: int = io_storage.CHUNK_BYTES) -> Iterator[bytes]:
        return io_storage.read_chunks(self._inner, path, chunk_bytes)

    def delete(self, path: str) -> bool:
        rel = path.rstrip("/")[len(self._root) + 1 :] if path.startswith(self._root + "/") else ""
        if rel.split("/")[0] not in self.authorities:
            raise ValueError(f"{path} is not under the landing of {', '.join(self.authorities)}")
        return io_storage.delete(self._inner, path)

    def exists(self, path: str) -> bool:
        return self._inner.exists(path)

    def size(self, path: str) -> int:
        return self._inner.size(path)

    def read_bytes(self, path: str) -> bytes:
        return self._inner.read_bytes(path)


def bronze(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    *,
    authorities: Sequence[str] = (),
    storage: Storage | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BronzeResult:
    """Land every pending delivery, or only those of ``authorities`` when given."""
    base = storage or storage_for(settings.landing_root, spark)
    store = OnlyAuthorities(base, settings.landing_root, authorities) if authorities else base
    result = run_bronze(spark, settings, ctx, store, on_outcome=on_outcome, on_total=on_total)
    clear_landing(spark, settings, ctx, base)  # as a whole run does, right after bronze
    return result


def silver(spark: SparkSession, settings: Settings, ctx: RunContext) -> SilverResult:
    """Apply every LOADED delivery not yet applied (whatever authority bronze landed it for)."""
    return run_silver(spark, settings, ctx)


@dataclass
class LinkResult:
    people: LinkageResult
    families: FamilyResult


def link(spark: SparkSession, settings: Settings, ctx: RunContext) -> LinkResult:
    """People (score, cluster, carry ids) then families as of ``ctx.as_of``; always every authority:
    a person's records cross authority boundaries."""
    people = run_people(spark, settings, ctx)
    families = run_families(spark, settings, ctx)
    return LinkResult(people=people, families=families)


def gold(spark: SparkSession, settings: Settings, ctx: RunContext) -> GoldResult:
    """Gold for every authority as of ``ctx.as_of``, without the people whose processing is
    restricted (governance keeps the register; gold only receives it)."""
    restricted = restricted_people(spark, Lake(settings.lake_root))
    return run_gold(spark, settings, ctx, restricted=restricted)


@dataclass
class AclResult:
    """Paths whose ACL differs from the custodianship config (after the apply, when applied)."""

    target: str
    drifts: list[Drift] = field(default_factory=list)
    report: ApplyReport | None = None

    @property
    def ok(self) -> bool:
        return not self.drifts and (self.report is None or self.report.ok)


def acl(
    spark: SparkSession | None,
    settings: Settings,
    *,
    apply: bool = False,
    credential: Any = None,
    pipeline_user: str | None = None,
) -> AclResult:
    """Check (or with ``apply``, set then check) the lake's ACLs against the custodianship config.

    An ``abfss://`` lake root is one container of an ADLS Gen2 account, reached with ``credential``
    (an azure-identity credential; on Synapse the adapter's, from the workspace identity). A local
    lake root uses POSIX ACLs, with ``pipeline_user`` standing for the pipeline identity. The check
    is deep (every file and folder, ACL and owner) up to ``acl_plan.DEEP_LIMIT`` paths and above it
    reads every directory and the newest files of each (``acl_plan.sample``); the target names which.
    """
    from accelerator.governance.acl_plan import plan_acls
    from accelerator.governance.custodianship import parse_custodianship
    from accelerator.io.abfss import parse_abfss

    source = settings.custodianship_config
    raw = storage_for(source, spark).read_bytes(source)
    config = parse_custodianship(yaml.safe_load(raw.decode("utf-8")), source=source)
    plan = plan_acls(config)
    url = parse_abfss(settings.lake_root)
    if url is not None:
        from accelerator.governance.acl_azure import AzureLake, connect, object_id_map

        if not url.is_container_root:
            raise ValueError(f"{settings.lake_root}: the lake root must be a container root")
        fs = connect(url.account, url.filesystem, credential)
        lake = AzureLake(fs, plan, object_id_map(plan, config))
        report = lake.apply(deep=False) if apply else None
        check = lake.check("auto")
        return AclResult(f"{url.account}/{url.filesystem} ({check.scope})", check.drifts, report)
    if "://" in settings.lake_root:
        raise ValueError(f"{settings.lake_root}: the acl stage needs a local folder or an abfss:// root")
    if not pipeline_user:
        raise ValueError("a local lake needs pipeline_user: the local user standing for the pipeline")
    from accelerator.governance.acl_local import apply_local, check_local

    root = Path(settings.lake_root)
    report = apply_local(plan, root, pipeline_user=pipeline_user, config=config) if apply else None
    checked = check_local(plan, root, pipeline_user=pipeline_user, scope="auto", config=config)
    return AclResult(f"{root} ({checked.scope})", checked.drifts, report)


@dataclass
class StageResult:
    """What one stage did: its result object and a JSON-ready summary (notebook and job output)."""

    stage: str
    run_id: str
    as_of: date
    result: Any
    summary: dict[str, Any]


def summarise(stage: str, result: Any) -> dict[str, Any]:
    """A small JSON-ready summary of one stage's result: counts only, never a name or identifier."""
    if isinstance(result, BronzeResult):
        return {
            "deliveries": len(result.outcomes),
            "by_status": dict(sorted(result.by_status().items())),
            "by_reason": result.by_reason(),
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "rows_quarantined_by_reason": result.rows_quarantined_by_reason(),
        }
    if isinstance(result, SilverResult):
        return {
            "tables_changed": result.changed_tables,
            "deliveries_applied": sum(len(v) for v in result.applied.values()),
            "rows_written": sum(result.rows_written.values()),
        }
    if isinstance(result, LinkResult):
        p, f = result.people, result.families
        return {
            "records": p.records,
            "records_scored": p.scored_records,
            "links": p.links,
            "people": p.people,
            "model_trained": p.trained,
            "churn": round(p.churn, 6),
            "person_id_changes": len(p.changes),
            "families": f.families,
            "family_sizes": {str(k): v for k, v in sorted(f.sizes.items())},
        }
    if isinstance(result, GoldResult):
        return {
            "families": dict(sorted(result.families.items())),
            "eligible": dict(sorted(result.eligible.items())),
        }
    if isinstance(result, AclResult):
        return {
            "target": result.target,
            "ok": result.ok,
            "drifting_paths": len(result.drifts),
            "drift": [str(d) for d in result.drifts[:20]],
            "applied": result.report.summary() if result.report else None,
        }
    raise TypeError(f"no summary for the {stage} stage's {type(result).__name__}")


def run_stage(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    stage: str,
    *,
    authorities: Sequence[str] = (),
    storage: Storage | None = None,
    acl_apply: bool = False,
    credential: Any = None,
    pipeline_user: str | None = None,
) -> StageResult:
    """Run one of :data:`STAGES`. ``authorities`` narrows bronze only (the other stages work on what
    is pending, or on every authority at once); the ``acl_*``, ``credential`` and ``pipeline_user``
    arguments are for the acl stage only."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    if authorities and stage != "bronze":
        raise ValueError(f"only bronze runs for some authorities; {stage} always runs for all")
    result: Any
    if stage == "bronze":
        result = bronze(spark, settings, ctx, authorities=authorities, storage=storage)
    elif stage == "silver":
        result = silver(spark, settings, ctx)
    elif stage == "link":
        result = link(spark, settings, ctx)
    elif stage == "gold":  # the last stage of a run: the run's log and reports follow gold
        result = gold(spark, settings, ctx)
        write_reports(spark, settings, ctx)
    else:
        result = acl(spark, settings, apply=acl_apply, credential=credential, pipeline_user=pipeline_user)
    return StageResult(stage, ctx.run_id, ctx.as_of, result, summarise(stage, result))
