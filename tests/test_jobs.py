"""jobs/run_stage.py on a small generated population, stage by stage, then the question functions
of the notebooks (accelerator.synapse.explore) on the lake it built."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import pwd
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from accelerator.config import Settings
from accelerator.io.lake import Lake
from accelerator.synapse import explore
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 6, 30)
KEEP = ("bolton", "bury", "wigan", "leeds")  # leeds: a folder naming no authority of feeds.md

pytestmark = pytest.mark.slow


def _job(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"job_{name}", ROOT / "jobs" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Run:
    settings_file: Path
    settings: Settings
    landing: Path
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    bury_only_authorities: set[str] = field(default_factory=set)
    folders: dict[str, int] = field(default_factory=dict)  # delivery folders before bronze ran

    def stage(self, *args: str) -> tuple[int, dict[str, Any]]:
        """``jobs/run_stage.py`` in this process; its exit code and the JSON summary it prints last."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = _job("run_stage").main(
                ["--settings", str(self.settings_file), "--as-of", AS_OF.isoformat(), *args]
            )
        return code, json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The lake ``run_stage`` builds stage by stage: bronze for bury alone, bronze for the rest,
    silver, link, gold. Every test of the module reads what it recorded (none depends on another
    test having run first)."""
    base = tmp_path_factory.mktemp("jobs")
    generate(base, families_per_authority=2, seed=7, as_of=AS_OF)
    # Three authorities are enough for the plumbing and keep the run short (bronze time grows with
    # the number of delivery folders, about 120 per authority).
    for folder in (base / "landing").iterdir():
        if folder.name not in KEEP:
            shutil.rmtree(folder)
    values = {
        "environment": "local",
        "lake_root": str(base / "lake"),
        "landing_root": str(base / "landing"),
        "jars_dir": str(ROOT / ".jars"),
        "custodianship_config": str(ROOT / "infra" / "custodianship.yaml"),
    }
    settings_file = base / "local.yaml"
    settings_file.write_text(yaml.safe_dump(values))
    run = Run(settings_file, Settings(**values), base / "landing")
    run.folders = {"bury": _folders(run.landing, "bury"), "all": _folders(run.landing)}
    lake = Lake(run.settings.lake_root)
    for name, args in (
        ("bronze_bury", ("--stage", "bronze", "--authority", "bury")),
        ("bronze_rest", ("--stage", "bronze")),
        ("silver", ("--stage", "silver")),
        ("link", ("--stage", "link")),
        ("gold", ("--stage", "gold")),
    ):
        run.codes[name], run.summaries[name] = run.stage(*args)
        if name == "bronze_bury":
            log = spark.read.format("delta").load(lake.delivery_log)
            run.bury_only_authorities = {r.authority for r in log.select("authority").distinct().collect()}
    yield run


def _folders(landing: Path, authority: str | None = None) -> int:
    return sum(1 for p in landing.glob("*/*/*") if p.is_dir() and authority in (None, p.parts[-3]))


def test_run_stage_job_runs_each_stage_in_turn_and_prints_its_summary(
    built: Run, spark: SparkSession
) -> None:
    lake = Lake(built.settings.lake_root)
    assert built.codes == dict.fromkeys(("bronze_bury", "bronze_rest", "silver", "link", "gold"), 0)
    bury, rest = built.summaries["bronze_bury"], built.summaries["bronze_rest"]
    assert bury["stage"] == "bronze" and bury["as_of"] == AS_OF.isoformat()
    assert bury["deliveries"] == built.folders["bury"]
    assert built.bury_only_authorities == {"bury"}  # the delivery log after the first stage

    assert rest["deliveries"] == built.folders["all"] - bury["deliveries"]
    loaded = spark.read.format("delta").load(lake.delivery_log).agg(F.sum("rows_loaded")).first()
    assert loaded is not None and loaded[0] == bury["rows_loaded"] + rest["rows_loaded"]

    applied = spark.read.format("delta").load(lake.platform("applied_deliveries")).count()
    assert built.summaries["silver"]["deliveries_applied"] == applied

    link = built.summaries["link"]
    xref = spark.read.format("delta").load(lake.platform("person_xref"))
    members = spark.read.format("delta").load(lake.platform("family_member")).where(F.col("as_of") == AS_OF)
    assert link["records"] == xref.count() > 0
    assert link["people"] == xref.select("person_id").distinct().count()
    assert link["families"] == members.select("family_id").distinct().count()

    gold = built.summaries["gold"]
    for authority, n in gold["families"].items():
        assert spark.read.format("delta").load(lake.gold(authority, "family")).count() == n
    assert sum(gold["families"].values()) == link["families"] > 0


def test_run_stage_job_refuses_an_authority_for_a_stage_that_runs_for_all(built: Run) -> None:
    with pytest.raises(ValueError, match="only bronze"):
        _job("run_stage").main(
            ["--settings", str(built.settings_file), "--stage", "gold", "--authority", "bury"]
        )


def test_acl_job_exits_1_when_the_lake_drifts_from_the_custodianship_config(built: Run) -> None:
    user = pwd.getpwuid(os.geteuid()).pw_name
    code, summary = built.stage("--stage", "acl", "--pipeline-user", user)
    assert code == 1 and summary["ok"] is False and summary["drifting_paths"] > 0


def _some_family(built: Run, spark: SparkSession) -> tuple[str, Any]:
    authority = next(a for a, n in sorted(built.summaries["gold"]["families"].items()) if n)
    lake = Lake(built.settings.lake_root)
    family = spark.read.format("delta").load(lake.gold(authority, "family")).orderBy("family_id").first()
    return authority, family


def test_family_view_shows_one_family_its_members_and_only_its_evidence(
    built: Run, spark: SparkSession
) -> None:
    authority, family = _some_family(built, spark)
    view = explore.family_view(spark, built.settings, authority=authority, family_id=family.family_id)
    assert view.family.count() == 1
    assert view.members.count() == family.member_count
    assert {r.family_id for r in view.evidence.select("family_id").distinct().collect()} <= {family.family_id}
    person = view.members.first()
    assert person is not None
    by_person = explore.family_view(spark, built.settings, authority=authority, person_id=person.person_id)
    assert by_person.family.first().family_id == family.family_id  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown authority"):
        explore.family_view(spark, built.settings, authority="atlantis", family_id="F1")


def test_person_linkage_lists_the_persons_records_and_masks_other_authorities(
    built: Run, spark: SparkSession
) -> None:
    authority, family = _some_family(built, spark)
    lake = Lake(built.settings.lake_root)
    members = spark.read.format("delta").load(lake.gold(authority, "family_member"))
    person_id = members.where(F.col("family_id") == family.family_id).orderBy("person_id").first().person_id  # type: ignore[union-attr]
    diag = explore.person_linkage(spark, built.settings, person_id=person_id, authority=authority)
    xref = (
        spark.read.format("delta").load(lake.platform("person_xref")).where(F.col("person_id") == person_id)
    )
    assert diag.records.count() == xref.count()
    others = diag.records.where(~F.col("held_by_this_authority"))
    assert others.where(F.col("record_key").isNotNull() | F.col("person_surname").isNotNull()).count() == 0
    linked = diag.pairs.where(F.col("linked"))
    assert linked.where(~F.col("same_person")).count() == 0  # no refused merge here: every link joined
    report = explore.linkage_report(spark, built.settings)
    assert report.runs.agg(F.sum("records_assigned")).first()[0] == built.summaries["link"]["records"]  # type: ignore[index]
    assert report.cluster_sizes.agg(F.sum("people")).first()[0] == built.summaries["link"]["people"]  # type: ignore[index]


def test_partner_quality_reconciles_with_the_bronze_summaries(built: Run, spark: SparkSession) -> None:
    bury, rest = built.summaries["bronze_bury"], built.summaries["bronze_rest"]
    dq = explore.partner_quality(spark, built.settings)
    totals = dq.deliveries.agg(F.sum("deliveries"), F.sum("rows_loaded"), F.sum("rows_quarantined")).first()
    assert totals is not None
    assert list(totals) == [
        bury["deliveries"] + rest["deliveries"],
        bury["rows_loaded"] + rest["rows_loaded"],
        bury["rows_quarantined"] + rest["rows_quarantined"],
    ]
    assert dq.quarantine.agg(F.sum("rows")).first()[0] == totals[2]  # type: ignore[index]
    only = explore.partner_quality(spark, built.settings, authority="bury", feed="housing")
    assert {(r.authority, r.feed) for r in only.metrics.select("authority", "feed").distinct().collect()} <= {
        ("bury", "housing")
    }
