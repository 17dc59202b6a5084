"""The data engineers' daily questions, as functions the question notebooks call.

- :func:`family_view`: one family of an authority and the evidence behind each headline (gold of
  that authority only: an authority's custodians can run it as themselves).
- :func:`person_linkage`: why a person's records were linked, the pairs scored for them (above and
  below the match threshold) and how their person id changed; with :func:`linkage_report`, the
  run-level linkage report. These read ``silver/_platform`` (pipeline identity only), and show
  another authority's record as its feed and date only, as gold does (custodianship.md).
- :func:`partner_quality`: data quality by partner (authority and feed): delivery statuses,
  quarantine reasons and the data-quality metrics of silver. Counts only, no personal data.

Every function returns DataFrames (``display`` them in a notebook); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.config import Settings
from accelerator.feeds import AUTHORITIES
from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.linkage.model import COMPARISONS, node_key
from accelerator.linkage.people import link_threshold
from accelerator.linkage.report import SCHEMA as REPORT_SCHEMA
from accelerator.linkage.report import SUMMARY_ITEMS


def _authority(authority: str) -> str:
    a = authority.strip().lower()
    if a not in AUTHORITIES:
        raise ValueError(f"unknown authority {authority!r}; expected one of {', '.join(AUTHORITIES)}")
    return a


def _load(spark: SparkSession, path: str) -> DataFrame:
    if not tables.exists(spark, path):
        raise FileNotFoundError(f"{path}: no Delta table (has the stage that writes it run?)")
    return spark.read.format("delta").load(path)


# ------------------------------------------------------------------------------ one family


@dataclass
class FamilyView:
    family: DataFrame
    members: DataFrame
    evidence: DataFrame
    timeline: DataFrame


def family_view(
    spark: SparkSession, settings: Settings, *, authority: str, family_id: str = "", person_id: str = ""
) -> FamilyView:
    """One family of ``authority`` from its gold tables: by ``family_id``, or the family of
    ``person_id``. Headline evidence is ordered by headline then date; the timeline by date."""
    a = _authority(authority)
    lake = Lake(settings.lake_root)
    members_all = _load(spark, lake.gold(a, "family_member"))
    if not family_id:
        if not person_id:
            raise ValueError("give family_id or person_id")
        rows = members_all.where(F.col("person_id") == person_id).select("family_id").distinct().collect()
        if not rows:
            raise LookupError(f"{person_id} is in no family of {a}")
        family_id = rows[0].family_id
    pick = F.col("family_id") == family_id
    family = _load(spark, lake.gold(a, "family")).where(pick)
    members = members_all.where(pick).orderBy(F.col("age").desc_nulls_last(), "person_id")
    evidence = (
        _load(spark, lake.gold(a, "headline_evidence"))
        .where(pick)
        .orderBy("headline", F.col("event_date").desc_nulls_last(), "person_id")
    )
    timeline = _load(spark, lake.gold(a, "child_timeline")).where(pick).orderBy("person_id", "event_date")
    return FamilyView(family, members, evidence, timeline)


# ---------------------------------------------------------------------------------- linkage


@dataclass
class PersonLinkage:
    records: DataFrame
    """One row per record linked into the person; another authority's as feed and date only."""
    pairs: DataFrame
    """Every stored pair touching those records: weight, whether over the threshold, and the person
    id of the other record (a near miss shows another person's id)."""
    changes: DataFrame
    """MERGE / SPLIT / NEW events of this person id, and redirects to or from it."""


def person_linkage(
    spark: SparkSession, settings: Settings, *, person_id: str, authority: str
) -> PersonLinkage:
    """Linkage diagnostics of one person for the custodians of ``authority``."""
    a = _authority(authority)
    lake = Lake(settings.lake_root)
    xref = _load(spark, lake.platform("person_xref")).select("feed", "authority", "record_key", "person_id")
    xref = xref.withColumn("unique_id", node_key(F.col("authority"), F.col("feed"), F.col("record_key")))
    mine = xref.where(F.col("person_id") == person_id)
    own = F.col("authority") == F.lit(a)
    record_cols = ["person_forename", "person_surname", "person_dob", "postcode_norm", "nhs_number_valid"]
    records = (
        _load(spark, lake.platform("person_record"))
        .join(mine, ["feed", "authority", "record_key"])
        .select(
            "person_id",
            "feed",
            "event_date",
            own.alias("held_by_this_authority"),
            F.when(own, F.col("record_key")).alias("record_key"),
            *[F.when(own, F.col(c)).alias(c) for c in record_cols],
            "unique_id",
        )
        .orderBy("event_date", "feed")
    )
    ids = mine.select("unique_id")
    links = _load(spark, lake.platform("person_links"))
    other = xref.select(
        F.col("unique_id").alias("other_id"),
        F.col("person_id").alias("other_person_id"),
        F.col("feed").alias("other_feed"),
        (F.col("authority") == F.lit(a)).alias("other_held_by_this_authority"),
    )
    touching = (
        links.join(ids.withColumnRenamed("unique_id", "unique_id_l"), "unique_id_l")
        .select(
            F.col("unique_id_l").alias("unique_id"),
            F.col("unique_id_r").alias("other_id"),
            "match_weight",
            "by_identifier",
        )
        .unionByName(
            links.join(ids.withColumnRenamed("unique_id", "unique_id_r"), "unique_id_r").select(
                F.col("unique_id_r").alias("unique_id"),
                F.col("unique_id_l").alias("other_id"),
                "match_weight",
                "by_identifier",
            )
        )
    )
    pairs = (
        touching.join(other, "other_id", "left")
        .withColumn("linked", F.col("match_weight") >= F.lit(link_threshold(spark, settings)))
        .withColumn("same_person", F.col("other_person_id") == F.lit(person_id))
        .orderBy(F.col("match_weight").desc())
    )
    changes = _changes(spark, lake, person_id)
    return PersonLinkage(records, pairs, changes)


def _changes(spark: SparkSession, lake: Lake, person_id: str) -> DataFrame:
    schema = "run_id string, change string, old_ids array<string>, new_id string, records long"
    path = lake.platform("person_id_changes")
    events = _load(spark, path) if tables.exists(spark, path) else spark.createDataFrame([], schema)
    return events.where(
        (F.col("new_id") == person_id) | F.array_contains(F.col("old_ids"), person_id)
    ).orderBy("run_id")


@dataclass
class LinkageReport:
    runs: DataFrame
    """Per run: records assigned, people, and the MERGE / SPLIT / NEW events."""
    cluster_sizes: DataFrame
    """How many people have 1, 2, 3, ... records."""
    weights: DataFrame
    """Stored pairs by whole match weight, with how many are over the threshold."""
    run_id: str | None
    """The run whose report rows follow (the latest, or the one asked for)."""
    summary: DataFrame
    """That run's figures: records, records and pairs scored, links, people, churn, threshold."""
    links_by_rule: DataFrame
    """Links over the threshold by the blocking rule that found them, with their share."""
    largest_clusters: DataFrame
    """The largest people: records, authorities, records per feed, distinct dates of birth."""
    id_churn: DataFrame
    """MERGE / SPLIT / NEW events and records whose person id changed."""
    refused_merges: DataFrame
    """Merges the clustering refused, by constraint."""
    borderline_pairs: DataFrame
    """A sample of pairs near the threshold for clerical review, one column per comparison's level."""
    history: DataFrame
    """The summary figures of every run (trend of links, people and churn)."""


def linkage_report(spark: SparkSession, settings: Settings, *, run_id: str | None = None) -> LinkageReport:
    """The linkage report: the state of ``silver/_platform`` (runs, cluster sizes, weights) and the
    rows ``silver/_platform/linkage_report`` holds for ``run_id`` (default: the latest run)."""
    lake = Lake(settings.lake_root)
    xref = _load(spark, lake.platform("person_xref"))
    report_path = lake.platform("linkage_report")
    if tables.exists(spark, report_path):
        rows = _load(spark, report_path)
    else:
        rows = spark.createDataFrame([], REPORT_SCHEMA)
    if run_id is None:
        latest = rows.agg(F.max("run_id")).first()
        run_id = latest[0] if latest else None
    mine = rows.where(F.col("run_id") == F.lit(run_id))

    def section(name: str) -> DataFrame:
        return mine.where(F.col("section") == name).orderBy("rank", "item")

    history = (  # figures are counts, but for the threshold and id_churn (the share of records)
        rows.where(F.col("section") == "summary")
        .groupBy("run_id")
        .pivot("item", [*SUMMARY_ITEMS, "match_weight_threshold", "id_churn"])
        .agg(F.first(F.coalesce(F.col("value"), F.col("count").cast("double"))))
        .orderBy("run_id")
    )
    return LinkageReport(
        runs=_runs(spark, lake, xref),
        cluster_sizes=_cluster_sizes(xref),
        weights=_weights(spark, lake, settings),
        run_id=run_id,
        summary=section("summary").select("item", "count", "value"),
        links_by_rule=_links_by_rule(section("links_by_rule")),
        largest_clusters=_largest_clusters(section("largest_clusters")),
        id_churn=section("id_churn").select(
            F.col("item").alias("change"), F.col("count").alias("events"), "value"
        ),
        refused_merges=section("refused_merges").select(
            F.col("item").alias("reason"), F.col("count").alias("edges")
        ),
        borderline_pairs=_borderline_pairs(section("borderline_pairs")),
        history=history,
    )


def _runs(spark: SparkSession, lake: Lake, xref: DataFrame) -> DataFrame:
    """Per run: records assigned, people, and the id changes it made."""
    assigned = xref.groupBy("run_id").agg(
        F.count(F.lit(1)).alias("records_assigned"), F.countDistinct("person_id").alias("people")
    )
    path = lake.platform("person_id_changes")
    if not tables.exists(spark, path):
        return assigned.orderBy("run_id")
    events = (
        _load(spark, path)
        .groupBy("run_id")
        .pivot("change", ["MERGE", "SPLIT", "NEW"])
        .agg(F.count(F.lit(1)))
        .na.fill(0)
    )
    return assigned.join(events, "run_id", "full").orderBy("run_id")


def _cluster_sizes(xref: DataFrame) -> DataFrame:
    return (
        xref.groupBy("person_id")
        .agg(F.count(F.lit(1)).alias("records"))
        .groupBy("records")
        .agg(F.count(F.lit(1)).alias("people"))
        .orderBy("records")
    )


def _weights(spark: SparkSession, lake: Lake, settings: Settings) -> DataFrame:
    """Stored pairs per whole match weight, by identifier, and whether over the threshold."""
    return (
        _load(spark, lake.platform("person_links"))
        .withColumn("weight", F.floor("match_weight").cast("int"))
        .groupBy("weight")
        .agg(
            F.count(F.lit(1)).alias("pairs"),
            F.sum(F.when(F.col("by_identifier"), 1).otherwise(0)).alias("by_identifier"),
        )
        .withColumn("over_threshold", F.col("weight") >= F.lit(link_threshold(spark, settings)))
        .orderBy("weight")
    )


def _links_by_rule(rows: DataFrame) -> DataFrame:
    detail = F.col("detail")
    return rows.select(
        F.col("rank").alias("rule_order"),
        F.col("item").alias("blocking_rule"),
        F.col("count").alias("links"),
        F.col("value").alias("share"),
        F.get_json_object(detail, "$.pairs_stored").cast("long").alias("pairs_stored"),
        F.get_json_object(detail, "$.by_identifier").cast("long").alias("by_identifier"),
    )


def _largest_clusters(rows: DataFrame) -> DataFrame:
    detail = F.col("detail")
    return rows.select(
        "rank",
        "person_id",
        F.col("count").alias("records"),
        F.col("value").cast("int").alias("authorities"),
        F.get_json_object(detail, "$.records_by_feed").alias("records_by_feed"),
        F.get_json_object(detail, "$.dates_of_birth").cast("int").alias("dates_of_birth"),
    )


def _borderline_pairs(rows: DataFrame) -> DataFrame:
    """The review sample, with each comparison's level as a column of its own."""
    detail = F.col("detail")
    evidence = [F.get_json_object(detail, f"$.evidence.{c}.level").alias(c) for c in COMPARISONS]
    return rows.select(
        "rank",
        "unique_id_l",
        "unique_id_r",
        F.col("value").alias("match_weight"),
        F.get_json_object(detail, "$.linked").cast("boolean").alias("linked"),
        F.get_json_object(detail, "$.same_person").cast("boolean").alias("same_person"),
        F.get_json_object(detail, "$.rule").alias("blocking_rule"),
        *evidence,
        F.col("detail").alias("evidence_json"),
    )


# ------------------------------------------------------------------------------ data quality


@dataclass
class PartnerQuality:
    deliveries: DataFrame
    """Per authority and feed: deliveries by status, rows loaded and quarantined, last extract."""
    quarantine: DataFrame
    """Per authority, feed and reason code: rows quarantined."""
    metrics: DataFrame
    """Per authority, feed, metric and column: total count and mean rate over the deliveries."""


def partner_quality(
    spark: SparkSession, settings: Settings, *, authority: str = "", feed: str = ""
) -> PartnerQuality:
    """Data quality by partner, for one authority and/or feed or for all (empty strings)."""
    lake = Lake(settings.lake_root)
    authorities = [_authority(authority)] if authority else list(AUTHORITIES)

    def keep(df: DataFrame) -> DataFrame:
        # Without an authority, everything: the log also holds deliveries rejected for a folder
        # that names no authority of feeds.md.
        df = df.where(F.col("authority").isin(authorities)) if authority else df
        return df.where(F.col("feed") == feed) if feed else df

    log = keep(_load(spark, lake.delivery_log))
    deliveries = (
        log.groupBy("authority", "feed")
        .agg(
            F.count(F.lit(1)).alias("deliveries"),
            *[
                F.sum(F.when(F.col("status") == s, 1).otherwise(0)).alias(s.lower())
                for s in ("LOADED", "REJECTED", "DUPLICATE", "PENDING")
            ],
            F.sum("rows_loaded").alias("rows_loaded"),
            F.sum("rows_quarantined").alias("rows_quarantined"),
            F.max("extract_date").alias("last_extract_date"),
        )
        .orderBy("authority", "feed")
    )
    frames = [
        _load(spark, lake.quarantine(a)).withColumn("authority", F.lit(a))
        for a in authorities
        if tables.exists(spark, lake.quarantine(a))
    ]
    if frames:
        quarantined = frames[0]
        for f in frames[1:]:
            quarantined = quarantined.unionByName(f)
        quarantine = (
            keep(quarantined)
            .groupBy("authority", "feed", "reason_code")
            .agg(F.count(F.lit(1)).alias("rows"))
            .orderBy("authority", "feed", F.col("rows").desc())
        )
    else:
        quarantine = spark.createDataFrame([], "authority string, feed string, reason_code string, rows long")
    metrics = (
        keep(_load(spark, lake.platform("dq_metrics")))
        .groupBy("authority", "feed", "metric", "column")
        .agg(
            F.countDistinct("delivery_id").alias("deliveries"),
            F.sum("count").alias("count"),
            F.avg("rate").alias("mean_rate"),
        )
        .orderBy("authority", "feed", "metric", "column")
    )
    return PartnerQuality(deliveries, quarantine, metrics)
