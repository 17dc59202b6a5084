"""One lazy Spark session for the whole test run (style.md §6), every setting explained."""

from __future__ import annotations

import csv
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from accelerator import pipeline
from accelerator.config import RunContext, Settings
from accelerator.spark import get_spark
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]

# Every JVM of the suite, the session below and each subprocess's, reads tests/spark-conf/ (no
# generated code on the suite's small lakes: the file says why).
os.environ.setdefault("SPARK_CONF_DIR", str(ROOT / "tests" / "spark-conf"))

# Every `accelerator` subprocess a test starts inherits these (cli._spark_conf): its JVM takes 2g,
# not the 6g default, and compiles with the quick compiler only (a short run on a small lake: about
# a tenth less CPU, on a machine whose two cores the suite keeps busy), with one GC thread. The quick
# compiler alone reserves 48 MB for compiled code, which Spark fills within a run (the JVM then
# stops compiling and interprets the rest): 240 MB, the default of the full compiler.
os.environ.setdefault("ACCELERATOR_DRIVER_MEMORY", "2g")
os.environ.setdefault(
    "ACCELERATOR_DRIVER_JAVA_OPTIONS",
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseSerialGC",
)


# The lakes the whole pipeline builds once per test process (below). `make test` runs two pytest
# processes (pytest-xdist, `--dist loadgroup`); each test that needs one of these lakes, or a
# module-scoped fixture, is kept in one group so that each lake is built by one process only.
SHARED_LAKES = ("rights_lake", "built_lake")


# The longest work first (`make test` passes --no-loadscope-reorder, so pytest-xdist hands out work
# in collection order, and more to a process with two tests or fewer to go): the rights lake's group (its
# erasures and retention, killed and resumed, are the longest), the two real-process fault tests,
# the built lake's group, then everything else as collected. One process takes the rights group,
# the other the fault tests and the built lake's group; the short tests fill in at the end, so
# neither is left with a long tail (pytest-xdist's own order, by number of tests, started the fault
# tests last).
LONGEST_FIRST = ("rights_lake", "tests/test_faults.py", "tests/test_concurrency.py", "built_lake")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank: dict[str, int] = {}
    for item in items:
        names = getattr(item, "fixturenames", ())
        group = next((lake for lake in SHARED_LAKES if lake in names), None)
        if group is None:
            defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
            if any(d.scope == "module" for ds in defs.values() for d in ds):
                group = item.nodeid.split("::")[0]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        unit = group or item.nodeid.split("::")[0]
        rank[item.nodeid] = LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=lambda item: rank[item.nodeid])  # stable: the rest keep their order


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = get_spark(
        jars_dir=ROOT / ".jars",  # Delta jars fetched by `make setup` (infra/spark/pom.xml)
        master="local[2]",  # the CI machine has two cores
        app_name="accelerator-tests",
        extra_conf={
            # Two of these JVMs and up to three CLI ones (ACCELERATOR_DRIVER_MEMORY above) share 24 GiB:
            # at the 6g default, the kernel killed one mid-suite (every later test: connection refused).
            "spark.driver.memory": "4g",
            # At 3g the old generation of both JVMs was full half-way through the suite (jstat):
            # 4g, and Spark keeps the status of its last 50 jobs, stages and queries, not 1000 (it
            # keeps them with no UI, and each holds its plan's description).
            "spark.ui.retainedJobs": "50",
            "spark.ui.retainedStages": "50",
            "spark.ui.retainedTasks": "500",
            "spark.sql.ui.retainedExecutions": "50",
            "spark.sql.shuffle.partitions": "1",  # tiny data: one shuffle partition is fastest
            "spark.default.parallelism": "2",  # match the two cores
            "spark.sql.adaptive.enabled": "false",  # stable plans and partition counts in tests
            "spark.ui.enabled": "false",  # no web UI port in CI
            "spark.sql.session.timeZone": "UTC",  # dates never shift with the machine's zone
            "spark.databricks.delta.snapshotPartitions": "1",  # small Delta logs: rebuild in one task
            "spark.databricks.delta.delete.deletionVectors.persistent": "false",  # plain rewrites
        },
    )
    session.sparkContext.setLogLevel("ERROR")  # keep test output readable
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _reset_spark_caches(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used Spark: drop cached data and Delta's cached table logs. The suite
    builds hundreds of Delta tables (lakes and their copies); Delta keeps a snapshot per table it has
    read, and without this the driver heap fills up late in the run."""
    yield
    if "spark" in request.fixturenames:
        session = request.getfixturevalue("spark")
        session.catalog.clearCache()
        jvm = session.sparkContext._jvm
        assert jvm is not None
        jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


@dataclass(frozen=True)
class BuiltLake:
    """A lake built by the whole pipeline from generated deliveries: shared, read-only.

    ``landing`` holds the deliveries of a few authorities only (the generator's full population
    is in ``truth``): the two that most people moved between. Tests that
    change the lake work on a copy (``copy_to``).
    """

    landing: Path
    lake: Path
    truth: Path
    authorities: tuple[str, ...]
    as_of: date
    settings: Settings

    def copy_to(self, dest: Path) -> Settings:
        """A copy of the lake and of its landing zone (a run clears settled deliveries from
        landing after the grace period: the shared landing must stay whole)."""
        shutil.copytree(self.lake, dest)
        landing = dest.with_name(dest.name + "-landing")
        shutil.copytree(self.landing, landing)
        return Settings(lake_root=str(dest), landing_root=str(landing), jars_dir=str(ROOT / ".jars"))


BUILT_AS_OF = date(2026, 11, 30)


@pytest.fixture(scope="session")
def built_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> BuiltLake:
    gen = tmp_path_factory.mktemp("generated")
    generate(gen, families_per_authority=20, seed=7, as_of=BUILT_AS_OF)
    # The two authorities that most people have records in both of (they moved between them).
    homes: dict[str, set[str]] = {}
    with (gen / "truth" / "records.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["person_id"]:
                homes.setdefault(r["person_id"], set()).add(r["authority"])
    pairs = Counter(tuple(sorted(h)) for h in homes.values() if len(h) == 2)
    assert pairs, "the generated population has no one with records in two authorities"
    authorities = pairs.most_common(1)[0][0]
    root = tmp_path_factory.mktemp("built")
    for a in authorities:
        shutil.copytree(gen / "landing" / a, root / "landing" / a)
    settings = Settings(
        lake_root=str(root / "lake"), landing_root=str(root / "landing"), jars_dir=str(ROOT / ".jars")
    )
    ctx = RunContext.create(as_of=BUILT_AS_OF, started_at=datetime(2026, 12, 1, 6, 0, 0))
    pipeline.run(spark, settings, ctx)
    return BuiltLake(root / "landing", root / "lake", gen / "truth", authorities, BUILT_AS_OF, settings)


RIGHTS_AS_OF = date(2025, 3, 31)
RIGHTS_AUTHORITIES = ("bolton", "bury")  # neighbours: people move and are recorded across the border


@pytest.fixture(scope="session")
def rights_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake of the rights and retention tests: Bolton's and Bury's generated deliveries (seed 7,
    6 households per authority, as of 31 March 2025) through the whole pipeline. ``lake/`` and the
    generator's ``truth/`` (all authorities) are under the returned folder; read-only, copy to change."""
    out = tmp_path_factory.mktemp("rights")
    generate(out, families_per_authority=6, seed=7, as_of=RIGHTS_AS_OF)
    for d in (out / "landing").iterdir():
        if d.name not in RIGHTS_AUTHORITIES:
            shutil.rmtree(d)
    settings = Settings(lake_root=str(out / "lake"), landing_root=str(out / "landing"))
    pipeline.run(spark, settings, RunContext.create(as_of=RIGHTS_AS_OF, started_at=datetime(2025, 4, 1, 6)))
    return out
