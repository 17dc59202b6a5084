"""The whole pipeline as one call, shared by the CLI, the Spark job definitions and the notebooks.

Each stage is a function of (spark, settings, run context); this module only chains them and
collects what each returns for the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from accelerator.bronze.deliveries import Outcome
from accelerator.bronze.land import BronzeResult, run_bronze
from accelerator.config import RunContext, Settings
from accelerator.gold.build import GoldResult, run_gold
from accelerator.io.storage import Storage, storage_for
from accelerator.linkage.families import FamilyResult, run_families
from accelerator.linkage.people import LinkageResult, run_people
from accelerator.silver.build import SilverResult, run_silver


@dataclass
class PipelineResult:
    bronze: BronzeResult
    silver: SilverResult
    people: LinkageResult
    families: FamilyResult
    gold: GoldResult


def run(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    *,
    storage: Storage | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Bronze for every pending delivery, silver for every delivery not yet applied, linkage of
    people and families as of ``ctx.as_of``, then gold for every authority."""

    def stage(name: str) -> None:
        if on_stage:
            on_stage(name)

    store = storage or storage_for(settings.landing_root, spark)
    stage("bronze")
    bronze = run_bronze(spark, settings, ctx, store, on_outcome=on_outcome, on_total=on_total)
    stage("silver")
    silver = run_silver(spark, settings, ctx)
    stage("people")
    people = run_people(spark, settings, ctx)
    stage("families")
    families = run_families(spark, settings, ctx)
    stage("gold")
    gold = run_gold(spark, settings, ctx)
    return PipelineResult(bronze=bronze, silver=silver, people=people, families=families, gold=gold)
