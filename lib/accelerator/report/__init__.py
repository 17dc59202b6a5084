"""Run reports people look at, and the clerical review of borderline links.

Three parts, as every stage: *read* (:mod:`.read`: small pandas frames of counts, aggregated by
Spark), *transform* (:mod:`.transform`: pure pandas) and *render* (:mod:`.render` and
:mod:`.charts`: one HTML page, Altair charts rendered to inline SVG). :func:`report_html` returns
the page (notebooks show it with ``displayHTML``); ``accelerator report`` writes it to a file.

:func:`write_reports`, called at the end of every pipeline run, writes (in this order):

1. ``bronze/_platform/run_log``: the run's stage timings and gold counts (:mod:`.run_log`);
2. ``silver/<a>/_review/``: each authority's clerical review pages (:mod:`.review`);
3. ``gold/<a>/_reports/run_report.html``: each authority's own report (its deliveries, data
   quality and gold: readable by its custodians and analysts under the ACL plan's default ACL
   on ``gold/<a>``), and ``bronze/_platform/_reports/run_report.html``, the platform report
   (every authority, and linkage; pipeline and platform engineers only).

Commit point: the run log (1). The pages are derived and replaced whole by every run; a run
killed after (1) leaves last run's pages, which the next run replaces. Nothing written here holds
a name, identifier or record key, but for the review pages, which stay under ``silver/<a>/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import SparkSession

from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES
from accelerator.io.lake import Lake
from accelerator.linkage.people import link_threshold
from accelerator.report.files import write_text
from accelerator.report.read import gold_counts, narrow, read_report
from accelerator.report.render import render
from accelerator.report.review import Review, write_reviews
from accelerator.report.run_log import StageTimer, gold_rows, stage_rows, write_run_log

__all__ = ["ReportsWritten", "StageTimer", "link_threshold", "report_html", "write_reports"]

REPORT_FILE = "run_report.html"


def report_html(
    spark: SparkSession,
    settings: Settings,
    *,
    run_id: str | None = None,
    authority: str = "",
) -> str:
    """The run report of ``run_id`` (default: the latest run) as one self-contained HTML page:
    every authority, or ``authority``'s own report."""
    data = read_report(
        spark,
        settings.lake_root,
        run_id=run_id,
        authority=authority,
        threshold=link_threshold(spark, settings),
    )
    return render(data)


def platform_report_path(lake_root: str) -> str:
    return f"{Lake(lake_root).audit('_reports')}/{REPORT_FILE}"


def authority_report_path(lake_root: str, authority: str) -> str:
    return f"{Lake(lake_root).gold(authority, '_reports')}/{REPORT_FILE}"


@dataclass
class ReportsWritten:
    platform: str
    authorities: dict[str, str] = field(default_factory=dict)
    reviews: dict[str, Review] = field(default_factory=dict)


def write_reports(
    spark: SparkSession,
    settings: Settings,
    ctx: RunContext,
    *,
    timings: Mapping[str, float] | None = None,
    review: bool = True,
) -> ReportsWritten:
    """Log the run, then write the review pages and the reports (see the module docstring)."""
    root = settings.lake_root
    lake = Lake(root)
    present = [a for a in AUTHORITIES if _has_gold_or_log(spark, lake, a)]
    rows = stage_rows(ctx, timings or {})
    gold = gold_counts(spark, root, present)
    logged = [f for f in (rows, gold_rows(ctx, gold)) if not f.empty] or [rows]  # (pandas warns on empty)
    write_run_log(spark, root, ctx, pd.concat(logged, ignore_index=True))
    out = ReportsWritten(platform=platform_report_path(root))
    threshold = link_threshold(spark, settings)
    if review:
        out.reviews = write_reviews(
            spark,
            root,
            present,
            threshold=threshold,
            secret=settings.linkage_secret,
        )
    data = read_report(spark, root, run_id=ctx.run_id, threshold=threshold, gold=gold)
    for a in present:  # each authority's page from the same counts, narrowed (no second read)
        out.authorities[a] = authority_report_path(root, a)
        write_text(spark, out.authorities[a], render(narrow(data, a)))
    write_text(spark, out.platform, render(data))
    return out


def _has_gold_or_log(spark: SparkSession, lake: Lake, authority: str) -> bool:
    from accelerator.io import tables

    return tables.exists(spark, lake.gold(authority, "family")) or tables.exists(
        spark, lake.quarantine(authority)
    )
