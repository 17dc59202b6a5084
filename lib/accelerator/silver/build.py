"""Bronze → silver: the current version of every record, applied incrementally.

Per (authority, feed), the LOADED deliveries not yet applied are taken in processing order
(extract date, folder number). If one of them is a full refresh, the table is replaced by the
current versions from the last full refresh onward (feeds.md: it "replaces everything that feed
holds for that authority"); otherwise the newest version of each record_key among the new rows is
MERGEd in, touching only those keys. Older versions stay in the Delta history of each table.
``silver/_platform/applied_deliveries`` records what has been applied; applying a delivery twice
gives the same table, so a run killed between the MERGE and that record is safe to repeat.

``silver/_platform/person_record`` (the person-level records of every feed, linkage's input) is
built from every silver table on the first run and then kept up to date by one MERGE of each
run's changed rows (the rows of a table a full refresh replaced go too), so a monthly run does not
re-read every silver table. Either way it holds what a rebuild would (tested).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce

import pandas as pd
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.bronze.deliveries import LOADED
from accelerator.bronze.land import read_log
from accelerator.config import RunContext, Settings
from accelerator.feeds import FEEDS, PERSON_FEEDS
from accelerator.io.delta import BASE_PROPERTIES, append, col, ensure_table, in_list, is_delta
from accelerator.io.frames import Materialised, union_all
from accelerator.io.lake import Lake
from accelerator.silver.quality import METRICS_SCHEMA, METRICS_STATS, delivery_metrics, log_metrics
from accelerator.silver.transform import standardise_feed

APPLIED_SCHEMA = T.StructType(
    [
        col("delivery_id", T.StringType()),
        col("authority", T.StringType()),
        col("feed", T.StringType()),
        col("extract_date", T.DateType()),
        col("folder_seq", T.IntegerType()),
        col("full_refresh", T.BooleanType()),
        col("run_id", T.StringType()),
    ]
)
# Statistics only on columns that hold no identifier or name (erasure must leave no trace).
SILVER_STATS = ("authority", "feed", "_delivery_id", "_extract_date", "event_date")


@dataclass
class SilverResult:
    applied: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    rows_written: dict[tuple[str, str], int] = field(default_factory=dict)
    replaced: set[tuple[str, str]] = field(default_factory=set)

    @property
    def changed_tables(self) -> int:
        return len(self.applied)


def _pending(spark: SparkSession, lake: Lake) -> dict[tuple[str, str], list[dict[str, object]]]:
    log = read_log(spark, lake)
    if log is None:
        return {}
    loaded = log.where(F.col("status") == LOADED).select(
        "delivery_id", "authority", "feed", "extract_date", "folder_seq", "full_refresh"
    )
    path = lake.platform("applied_deliveries")
    if is_delta(spark, path):
        loaded = loaded.join(
            spark.read.format("delta").load(path).select("delivery_id"), "delivery_id", "left_anti"
        )
    out: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in loaded.orderBy("extract_date", "folder_seq", "delivery_id").collect():
        out[(r.authority, r.feed)].append(r.asDict())
    return dict(out)


def current_versions(rows: DataFrame) -> DataFrame:
    """The newest row per record (authority and record_key): later extract date, then later
    folder, file and line."""
    w = Window.partitionBy("authority", "record_key").orderBy(
        F.col("_extract_date").desc(),
        F.col("_folder_seq").desc(),
        F.col("_source_file").desc(),
        F.col("_line").desc(),
    )
    return rows.withColumn("__rn", F.row_number().over(w)).where("__rn = 1").drop("__rn")


def run_silver(spark: SparkSession, settings: Settings, ctx: RunContext) -> SilverResult:
    """Apply every LOADED, not yet applied delivery to its silver table; then rebuild the
    cross-feed ``person_record`` table and append data-quality metrics."""
    lake = Lake(settings.lake_root)
    pending = _pending(spark, lake)
    result = SilverResult()
    if not pending:
        return result
    log = read_log(spark, lake)
    assert log is not None

    def delivered(key: tuple[str, str]) -> tuple[DataFrame, bool]:
        """The bronze rows of one table's pending deliveries (from its last full refresh on), with
        their authority and folder number, and whether the table is replaced rather than merged."""
        authority, feed = key
        deliveries = pending[key]
        last_full = max((i for i, d in enumerate(deliveries) if d["full_refresh"]), default=None)
        if last_full is not None:
            deliveries = deliveries[last_full:]
        ids = [str(d["delivery_id"]) for d in deliveries]
        # Each delivery's folder number, from the log rows already on the driver (no log scan).
        seq = F.create_map(
            *[F.lit(x) for d in deliveries for x in (str(d["delivery_id"]), int(str(d["folder_seq"])))]
        )
        bronze = (
            spark.read.format("delta")
            .load(lake.bronze(authority, feed))
            .where(in_list("_delivery_id", ids))
            .withColumn("_folder_seq", seq[F.col("_delivery_id")].cast("int"))
            .withColumn("__authority", F.lit(authority))
        )
        replace = last_full is not None or not is_delta(spark, lake.silver(authority, feed))
        return bronze, replace

    def apply(feed: str) -> pd.DataFrame:
        """One feed for every authority with pending deliveries: standardised, deduplicated and
        measured in one plan (Spark's cost per query, not per row, dominates a monthly delivery),
        then merged into (or written as) each authority's own table."""
        keys = [k for k in sorted(pending) if k[1] == feed]
        parts = {key: delivered(key) for key in keys}
        # The authorities' bronze rows are standardised together: one plan to analyse and one
        # generated program to compile per feed, not one per authority.
        bronze = union_all([df for df, _ in parts.values()])
        frames = Materialised()  # this feed's rows: freed once its tables are written
        rows = frames(
            standardise_feed(bronze, feed, authority=F.col("__authority")).withColumn(
                "_silver_run_id", F.lit(ctx.run_id)
            )
        )
        # Each MERGE below then plans over these blocks, not over ten bronze scans.
        current = frames(current_versions(rows))
        counts = {r.authority: r["count"] for r in current.groupBy("authority").count().collect()}
        for key, (_, replace) in parts.items():
            authority = key[0]
            mine = current.where(F.col("authority") == authority)
            path = lake.silver(authority, feed)
            if replace:
                _overwrite(mine, path)
                result.replaced.add(key)
            else:
                (
                    DeltaTable.forPath(spark, path)
                    .alias("t")
                    .merge(mine.alias("s"), "t.record_key = s.record_key")
                    .whenMatchedUpdateAll()
                    .whenNotMatchedInsertAll()
                    .execute()
                )
            result.applied[key] = [str(d["delivery_id"]) for d in pending[key]]
            result.rows_written[key] = counts.get(authority, 0)
        if feed in PERSON_FEEDS:  # kept for the one person_record MERGE after every feed
            person_changes.append(keep(person_columns(current, feed)))
        # Metrics are small: bring them to the driver now rather than union the feeds' plans later.
        metrics: pd.DataFrame = delivery_metrics(rows, feed, ctx.run_id).toPandas()
        frames.release()
        return metrics

    person_changes: list[DataFrame] = []
    keep = Materialised()  # the person columns of every feed, until person_record is merged
    with ThreadPoolExecutor(max_workers=4) as pool:
        metric_frames = list(pool.map(apply, sorted({feed for _, feed in pending})))

    ensure_table(spark, lake.platform("dq_metrics"), METRICS_SCHEMA, stats_columns=METRICS_STATS)
    applied_ids = [i for ids in result.applied.values() for i in ids]
    from_log: pd.DataFrame = log_metrics(
        log.where(in_list("delivery_id", applied_ids)), ctx.run_id
    ).toPandas()
    all_metrics = pd.concat([*metric_frames, from_log], ignore_index=True)[
        [f.name for f in METRICS_SCHEMA.fields]
    ]
    append(spark.createDataFrame(all_metrics, METRICS_SCHEMA), lake.platform("dq_metrics"))
    update_person_record(spark, lake, person_changes, {k for k in result.replaced if k[1] in PERSON_FEEDS})
    keep.release()
    applied = [{**d, "run_id": ctx.run_id} for key in sorted(pending) for d in pending[key]]
    ensure_table(
        spark, lake.platform("applied_deliveries"), APPLIED_SCHEMA, stats_columns=("delivery_id", "run_id")
    )
    append(spark.createDataFrame(applied, APPLIED_SCHEMA), lake.platform("applied_deliveries"))
    return result


def _overwrite(df: DataFrame, path: str) -> None:
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    for k, v in {**BASE_PROPERTIES, "delta.dataSkippingStatsColumns": ",".join(SILVER_STATS)}.items():
        writer = writer.option(k, v)
    writer.save(path)


# The columns of person_record and their types: fixed, whichever feeds have arrived (a column no
# feed has yet is null of its type, never dropped).
PERSON_RECORD_TYPES: dict[str, str] = {
    "authority": "string",
    "feed": "string",
    "record_key": "string",
    "person_ref": "string",
    "person_forename": "string",
    "person_surname": "string",
    "person_forename_match": "string",
    "person_surname_match": "string",
    "person_dob": "date",
    "person_sex": "string",
    "nhs_number_valid": "string",
    "upn_valid": "string",
    "nino_valid": "string",
    "postcode_norm": "string",
    "address": "string",
    "address_norm": "string",
    "address_flat": "string",
    "address_house_number": "string",
    "address_street": "string",
    "uprn_norm": "string",
    "event_date": "date",
    "role": "string",
    "household_ref": "string",
    "household_start": "date",
    "household_end": "date",
    "consent_to_share": "boolean",
    "_extract_date": "date",
    "_folder_seq": "int",
    "_delivery_id": "string",
}
PERSON_RECORD_COLUMNS = tuple(PERSON_RECORD_TYPES)


def _person_ref(feed: str) -> Column:
    """The partner's person reference, namespaced so that it only matches within its partner:
    GMP and the Probation Service are one partner across Greater Manchester; children's social
    care, early help and youth justice are each authority's own services."""
    spec = FEEDS[feed]
    if spec.person_ref is None:
        return F.lit(None).cast("string")
    if feed in ("police_incidents", "probation"):
        scope = F.lit(f"{feed}:")
    else:
        scope = F.concat(F.col("authority"), F.lit(f":{feed}:"))
    ref = F.upper(F.trim(F.col(spec.person_ref)))
    return F.when(ref.isNotNull() & (ref != ""), F.concat(scope, ref))


def _household(feed: str) -> dict[str, Column]:
    """Role and household evidence where a feed says who lives together (outcomes.md
    "Families"): the early help family case with its open/close dates, the housing case with its
    status date."""
    none_s, none_d = F.lit(None).cast("string"), F.lit(None).cast("date")
    cols = {"role": none_s, "household_ref": none_s, "household_start": none_d, "household_end": none_d}
    if feed == "early_help":
        ref = F.concat_ws(
            ":", F.lit("early_help"), F.col("authority"), F.upper(F.trim(F.col("family_case_ref")))
        )
        cols.update(role=F.col("role"), household_ref=ref, household_start=F.col("case_open_date"))
        cols["household_end"] = F.col("case_close_date")
    elif feed == "housing":
        ref = F.concat_ws(":", F.lit("housing"), F.col("authority"), F.upper(F.trim(F.col("case_ref"))))
        cols.update(role=F.col("relationship"), household_ref=ref, household_start=F.col("status_date"))
        cols["household_end"] = F.col("status_date")
    elif feed == "police_incidents":
        cols["role"] = F.col("role")
    return cols


def silver_tables(
    spark: SparkSession, lake: Lake, authorities: Iterable[str], feeds: Iterable[str]
) -> Iterator[tuple[str, str, DataFrame]]:
    """(authority, feed, table) for every silver table that exists, authority by authority."""
    wanted = list(feeds)
    for authority in authorities:
        for feed in wanted:
            path = lake.silver(authority, feed)
            if is_delta(spark, path):
                yield authority, feed, spark.read.format("delta").load(path)


def person_columns(df: DataFrame, feed: str) -> DataFrame:
    """Silver rows of one person-level feed (any authorities) → the columns of ``person_record``."""
    cols = {"person_ref": _person_ref(feed), **_household(feed)}
    cols["consent_to_share"] = F.col("consent_to_share") if feed == "early_help" else F.lit(None)
    for name in PERSON_RECORD_COLUMNS:
        if name not in cols:
            cols[name] = F.col(name) if name in df.columns else F.lit(None)
    return df.select(*[cols[n].cast(t).alias(n) for n, t in PERSON_RECORD_TYPES.items()])


def person_records(spark: SparkSession, lake: Lake, authorities: list[str]) -> DataFrame | None:
    """Every current person-level record of ``authorities``, read from their silver tables."""
    frames = [
        person_columns(df, feed) for _, feed, df in silver_tables(spark, lake, authorities, PERSON_FEEDS)
    ]
    if not frames:
        return None
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def build_person_record(spark: SparkSession, lake: Lake) -> None:
    """``silver/_platform/person_record``: every current person-level record of every authority,
    with the common columns linkage reads. Rebuilt from the silver tables (one overwrite)."""
    from accelerator.feeds import AUTHORITIES

    df = person_records(spark, lake, list(AUTHORITIES))
    if df is not None:
        # One input partition per silver file would write a hundred small files; a few will do.
        _overwrite(df.repartition(4), lake.platform("person_record"))


def update_person_record(
    spark: SparkSession, lake: Lake, changes: list[DataFrame], replaced: set[tuple[str, str]]
) -> None:
    """Bring ``person_record`` up to date with this run's silver changes in one MERGE, instead of
    rebuilding it from every silver table: ``changes`` are the person columns of the rows just
    merged into (or written as) silver tables, and ``replaced`` the (authority, feed) tables a full
    refresh replaced, whose other rows go. The result is the rebuild's (tested); it is rebuilt
    when it does not exist yet."""
    path = lake.platform("person_record")
    target = DeltaTable.forPath(spark, path) if is_delta(spark, path) else None
    if target is None or tuple(target.toDF().columns) != PERSON_RECORD_COLUMNS:
        build_person_record(spark, lake)  # the first run, or a table of another layout
        return
    if not changes:
        return
    source = reduce(DataFrame.unionByName, changes)
    key = "t.authority = s.authority AND t.feed = s.feed AND t.record_key = s.record_key"
    merge = target.alias("t").merge(source.alias("s"), key).whenMatchedUpdateAll().whenNotMatchedInsertAll()
    if replaced:
        gone = " OR ".join(f"(t.authority = '{a}' AND t.feed = '{f}')" for a, f in sorted(replaced))
        merge = merge.whenNotMatchedBySourceDelete(condition=gone)
    merge.execute()
