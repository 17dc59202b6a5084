"""The Spark session: the existing one on Synapse, a local Delta-enabled one elsewhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

# Settings every session of ours has, on Synapse as well as locally.
COMMON_CONF: Mapping[str, str] = {
    # Dates are calendar dates; keep timestamps in UTC so a date never shifts by a zone.
    "spark.sql.session.timeZone": "UTC",
    # Gold must stay readable by Power BI and delta-rs: no deletion vectors on new tables.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    # Parse impossible dates (2023-02-30) to null instead of rolling them over.
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Write Parquet timestamps the standard way, readable by every reader.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # A frame made from pandas (bronze's batches, linkage's pairs) becomes a LocalRelation below
    # this Arrow size (48 MiB by default): its rows then sit in the query plan, and analyser and
    # optimiser rules copy them. Above it the frame is an RDD of Arrow batches, planned like a
    # table: bronze's 2-million-row benchmark went from 12,700 to 16,400 rows/s (docs/scale.md).
    "spark.sql.execution.arrow.localRelationThreshold": "4m",
    # Such a frame has one partition, so one file written, per Arrow batch: 25,000 rows (10,000 by
    # default) keeps a 50,000-row bronze batch at two files, one per core here.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "25000",
}

JVM_CLASSES = (
    "functions",
    "PythonUtils",
    "PythonSQLUtils",
    "SparkSession",
    "SparkSession$",
    "Column",
    "org.apache.spark.sql.types.Metadata",
    "io.delta.tables.DeltaTable",
)
"""JVM classes PySpark and delta-spark look up by name on every use (``sc._jvm.functions`` for every
``F.*`` call, ``PythonUtils`` for every list of columns, ``Metadata`` for every column comment,
``DeltaTable`` for every Delta table opened): :func:`remember_jvm_classes` keeps each as a plain
attribute of the gateway's view of the JVM (docs/scale.md)."""

JVM_SETTINGS = ("spark.driver.", "spark.executor.")
"""Settings of the JVM itself (memory, cores): they take effect only when it starts. A running
session (Synapse's pool, a test fixture) keeps its own, and Spark refuses to change them."""


@contextmanager
def session_conf(spark: SparkSession, conf: Mapping[str, str]) -> Iterator[None]:
    """SQL settings for the length of a block, then what was there before (unset if nothing)."""
    previous = {k: spark.conf.get(k, None) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, old in previous.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def local_jars(jars_dir: str | Path) -> list[str]:
    """The Delta jars fetched by ``make setup`` (infra/spark/pom.xml), and Splink's string
    similarity UDF jar shipped in its wheel (``jaro_winkler`` for the Spark linkage backend)."""
    folder = Path(jars_dir)
    jars = sorted(str(p.resolve()) for p in folder.glob("*.jar"))
    try:
        from splink.internals.spark.jar_location import similarity_jar_location

        jars.append(similarity_jar_location())
    except ImportError:  # pragma: no cover - splink is a dependency; Synapse adds the jar itself
        pass
    if not any("delta-spark" in j for j in jars):
        raise FileNotFoundError(
            f"no delta-spark jar in {folder.resolve()}: run `make setup` (it fetches them with mvn)"
        )
    return jars


def get_spark(
    *,
    jars_dir: str | Path | None = None,
    master: str = "local[*]",
    app_name: str = "accelerator",
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return the active session (Synapse, or a test fixture), or build a local Delta session.

    A session that already exists is used as it is, with our common settings and ``extra_conf``
    applied, less :data:`JVM_SETTINGS`; it must already have Delta (Synapse does). A new local
    session loads the jars in ``jars_dir``.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        for k, v in {**COMMON_CONF, **(extra_conf or {})}.items():
            if not k.startswith(JVM_SETTINGS):
                active.conf.set(k, v)
        remember_jvm_classes(active)
        return active
    if jars_dir is None:
        raise ValueError("no active Spark session and no jars_dir to build a local one from")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(local_jars(jars_dir)))
        .config("spark.sql.extensions", DELTA_EXTENSION)
        .config("spark.sql.catalog.spark_catalog", DELTA_CATALOG)
        # Local runs have no cluster UI to look at; keep the port free.
        .config("spark.ui.enabled", "false")
        # The driver is the executor locally: give it what a 24 GiB machine can spare.
        .config("spark.driver.memory", "6g")
        # Few cores, modest data: a handful of shuffle partitions beats the default 200.
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # No console progress bars between our own rich progress output.
        .config("spark.ui.showConsoleProgress", "false")
        # Rebuilding a small Delta snapshot with the default 50 partitions costs seconds per read.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        # Hadoop's local file system chmods what it creates to 0666/0777 less this umask (default
        # 022: 0644, 0755), which on a lake with default ACLs widens `other` to r-- / r-x and narrows
        # the mask to r-- / r-x. 007 gives 0660 / 0770: exactly what the default ACL would give
        # (docs/access.md; tests/test_acl_pipeline_user.py). ADLS applies its own umask (007).
        .config("spark.hadoop.fs.permissions.umask-mode", "007")
    )
    for k, v in {**COMMON_CONF, **(extra_conf or {})}.items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    remember_jvm_classes(session)
    return session


def remember_jvm_classes(spark: SparkSession) -> None:
    """Look each of :data:`JVM_CLASSES` up once and keep it on the gateway's JVM view.

    Py4J resolves a name such as ``sc._jvm.functions`` with a round trip to the JVM every time, and
    the JVM tries it against each of PySpark's wildcard imports in turn, each miss a search of
    every jar on the class path (about 250). PySpark does this for every ``F.*`` call: about 20,000
    look-ups in one run of the pipeline over a small lake, about a tenth of a warm run. A name that is an
    attribute of the view (or of a package on the way to a class) is found by Python itself, so
    each class and each package on its path is set as one. A class does not change while the
    JVM runs, and every session of the process talks to the same JVM through the same view."""
    jvm: Any = spark.sparkContext._jvm
    for name in JVM_CLASSES:
        holder = jvm
        for part in name.split("."):
            found = getattr(holder, part)
            setattr(holder, part, found)
            holder = found
