"""Intermediate DataFrames computed once and cut from their lineage."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import DataFrame


def union_all(frames: Sequence[DataFrame]) -> DataFrame:
    """The rows of every frame, columns matched by name; a column some frames lack is null there."""
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


class Materialised:
    """Frames computed once, each given back with a leaf plan, and freed together.

    Our plans are deep: a feed's rows are read from ten authorities' tables and standardised, and
    gold's rules read every feed joined to the linkage tables. With ``cache()`` every later query
    still carries (and Spark re-analyses, and matches against the cache) the whole tree, which
    on small per-authority writes costs more than the work. ``localCheckpoint()`` computes a
    frame once and gives back one whose plan is the stored blocks. The blocks live in executor
    storage, as cached blocks do; Spark's dynamic allocation keeps executors that hold them.
    :meth:`release` frees them (at the end of a stage)."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def __call__(self, df: DataFrame) -> DataFrame:
        out = df.localCheckpoint(eager=True)
        self._frames.append(out)
        return out

    def release(self) -> None:
        for df in self._frames:
            # A local checkpoint's plan is the LogicalRDD holding the checkpointed RDD.
            df._jdf.queryExecution().logical().rdd().unpersist(False)
        self._frames.clear()
