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
from accelerator.io.storage import Storage, storage_for
from accelerator.silver.build import SilverResult, run_silver


@dataclass
class PipelineResult:
    bronze: BronzeResult
    silver: SilverResult


def run(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    *,
    storage: Storage | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PipelineResult:
    """Bronze for every pending delivery, then silver for every delivery not yet applied."""
    store = storage or storage_for(settings.landing_root, spark)
    bronze = run_bronze(spark, settings, ctx, store, on_outcome=on_outcome, on_total=on_total)
    silver = run_silver(spark, settings, ctx)
    return PipelineResult(bronze=bronze, silver=silver)
