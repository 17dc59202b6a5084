"""``bronze/_platform/run_log``: what a run took and what gold looked like after it, for the reports.

Grain: one row per (run, section, authority, item), appended by :func:`accelerator.report.write_reports`
at the end of every pipeline run. Sections:

========  =========================  ===========================================================
section   authority / item           value
========  =========================  ===========================================================
stage     ``""`` / the stage name    seconds the stage took (bronze, silver, people, ...), from the
                                     clock the caller hands :class:`StageTimer`
gold      the authority / families,  the count in ``gold/<a>/family`` after the run (families,
          eligible, h01 ... h10      eligible families, families with each headline)
========  =========================  ===========================================================

Gold tables hold only the current ``as_of``; this table keeps each run's counts, so the reports
draw the trend over ``as_of`` without time-travelling every authority's gold. Counts only: no
name, identifier or record key (nothing here needs erasing).

Commit point: the one ``replaceWhere run_id = <run>`` write (a re-run of the same run replaces its
rows instead of doubling them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.config import RunContext
from accelerator.io import tables
from accelerator.io.lake import Lake

RUN_LOG_SCHEMA = T.StructType(
    [
        tables.column("run_id", T.StringType()),
        tables.column("as_of", T.DateType()),
        tables.column("started_at", T.TimestampType(), "when the run started (RunContext)"),
        tables.column("section", T.StringType(), "stage or gold"),
        tables.column("authority", T.StringType(), "empty for a stage"),
        tables.column("item", T.StringType(), "the stage, or families / eligible / h01 ... h10"),
        tables.column("rank", T.IntegerType(), "order of the stage in the run"),
        tables.column("value", T.DoubleType(), "seconds, or a count"),
    ]
)
RUN_LOG_STATS = ("run_id", "as_of", "section", "authority")
COLUMNS = [f.name for f in RUN_LOG_SCHEMA.fields]


def run_log_path(lake_root: str) -> str:
    return Lake(lake_root).audit("run_log")


@dataclass
class StageTimer:
    """Seconds per stage, measured with a clock the caller gives (``time.monotonic`` at the CLI; no
    clock, nothing measured: the library never reads the clock itself).

    ``start(name)`` ends the stage before it; ``finish()`` ends the last one and returns the
    seconds per stage in run order."""

    clock: Callable[[], float] | None = None
    _marks: list[tuple[str, float]] = field(default_factory=list)
    _end: float | None = None

    def start(self, stage: str) -> None:
        if self.clock is not None:
            self._marks.append((stage, self.clock()))

    def finish(self) -> dict[str, float]:
        if self.clock is None or not self._marks:
            return {}
        end = self.clock()
        out: dict[str, float] = {}
        for (name, t0), (_, t1) in zip(self._marks, [*self._marks[1:], ("", end)], strict=True):
            out[name] = out.get(name, 0.0) + max(t1 - t0, 0.0)
        return out


def stage_rows(ctx: RunContext, timings: Mapping[str, float]) -> pd.DataFrame:
    """The ``stage`` rows of one run."""
    rows = [
        (ctx.run_id, ctx.as_of, ctx.started_at, "stage", "", name, i, float(s))
        for i, (name, s) in enumerate(timings.items())
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def gold_rows(ctx: RunContext, gold_counts: pd.DataFrame) -> pd.DataFrame:
    """The ``gold`` rows of one run from :func:`accelerator.report.read.gold_counts` (one row per
    authority: authority, as_of, families, eligible, h01 ... h10)."""
    items = [c for c in gold_counts.columns if c not in ("authority", "as_of")]
    long = gold_counts.melt(id_vars=["authority"], value_vars=items, var_name="item", value_name="value")
    return pd.DataFrame(
        {
            "run_id": ctx.run_id,
            "as_of": ctx.as_of,
            "started_at": ctx.started_at,
            "section": "gold",
            "authority": long["authority"],
            "item": long["item"],
            "rank": long["item"].map({c: i for i, c in enumerate(items)}),
            "value": long["value"].astype(float),
        },
        columns=COLUMNS,
    )


def write_run_log(spark: SparkSession, lake_root: str, ctx: RunContext, rows: pd.DataFrame) -> None:
    """Replace this run's rows (one commit); see the module docstring."""
    path = run_log_path(lake_root)
    tables.create(spark, path, RUN_LOG_SCHEMA, stats=RUN_LOG_STATS, comment="run timings and gold counts")
    records = [  # the run's own values (pandas would hand back its Timestamp for started_at)
        (ctx.run_id, ctx.as_of, ctx.started_at, r.section, r.authority, r.item, int(r.rank), float(r.value))
        for r in rows.itertuples(index=False)
    ]
    df: DataFrame = spark.createDataFrame(records, RUN_LOG_SCHEMA)
    tables.replace_where(df, path, F.col("run_id") == F.lit(ctx.run_id), stats=RUN_LOG_STATS)
