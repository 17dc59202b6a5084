"""Intermediate DataFrames computed once and cut from their lineage; DataFrames of Arrow batches;
small frames held in their query plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType, _parse_datatype_string


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


def from_arrow(spark: SparkSession, batches: Iterable[pa.RecordBatch], schema: StructType) -> DataFrame:
    """A DataFrame of Arrow record batches (one partition each), whose columns are ``schema``'s in
    its order and of the Arrow types Spark gives them (``pyspark.sql.pandas.types.to_arrow_schema``).

    What ``spark.createDataFrame(pandas_frame)`` does once the frame is Arrow, without the pandas
    frame in between: bronze's columnar path (``bronze/columnar.py``) reads a delivered file into
    Arrow and would otherwise turn every value into a Python object and back. This is PySpark
    3.5's own route (``SparkContext._serialize_to_jvm`` and ``PythonSQLUtils.toDataFrame``, as in
    ``pyspark.sql.pandas.conversion``); PySpark 4 takes an Arrow table in ``createDataFrame``.
    """
    from pyspark.sql.pandas.serializers import ArrowStreamSerializer
    from pyspark.sql.pandas.types import to_arrow_schema

    expected = to_arrow_schema(schema)
    parts = list(batches)
    for b in parts:
        if not b.schema.equals(expected):
            raise ValueError(f"an Arrow batch's schema is not the frame's: {b.schema} against {expected}")
    sc: Any = spark.sparkContext
    jvm: Any = sc._jvm
    jsession: Any = spark._jsparkSession
    jrdd = sc._serialize_to_jvm(
        parts,
        ArrowStreamSerializer(),
        lambda name: jvm.PythonSQLUtils.readArrowStreamFromFile(name),
        lambda: jvm.ArrowIteratorServer(),
    )
    return DataFrame(jvm.PythonSQLUtils.toDataFrame(jrdd, schema.json(), jsession), spark)


def local_frame(spark: SparkSession, rows: Iterable[Sequence[Any]], schema: StructType | str) -> DataFrame:
    """A frame of a few rows (values of ``schema``'s types, None for null) held in its query plan,
    as Spark's ``LocalRelation``, not as an RDD.

    ``spark.createDataFrame(list_of_rows)`` makes an RDD of the rows, and every query that reads the
    frame (each broadcast of it into a join) runs a job whose tasks unpickle it: about a fifth of a
    second each time. PySpark's own route from pandas through Arrow gives a ``LocalRelation`` below
    ``spark.sql.execution.arrow.localRelationThreshold`` (``COMMON_CONF``): read on the driver, it
    costs a broadcast about what a literal would, yet its values are not written in the plan or its
    descriptions (``LocalTableScan [v#12]``), where a literal's would be. Without Arrow (a session
    that turned it off) the frame is the RDD again: slower, the same rows."""
    fields = schema if isinstance(schema, StructType) else _parse_datatype_string(schema)
    if not isinstance(fields, StructType):
        raise TypeError(f"not a schema of columns: {schema!r}")
    data = pd.DataFrame([tuple(r) for r in rows], columns=fields.names, dtype=object)
    return spark.createDataFrame(data, fields)
