"""Silver + linkage → ``gold/<authority>/{family, family_member, headline_evidence, child_timeline}``.

Recomputed for the run's ``as_of`` from silver and the linkage tables only (a new ``as_of`` never
reprocesses bronze or silver). Each authority's tables hold its own families and nothing else;
evidence from a record held by another authority shows only its feed and date; a person who
objected to sharing (an early help record with consent_to_share = N) raises nothing from another
authority's records (custodianship.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES, PERSON_FEEDS
from accelerator.gold import dictionary
from accelerator.gold.rules import HEADLINES, RULES, Window
from accelerator.governance.rights import restricted_people
from accelerator.io.delta import BASE_PROPERTIES, is_delta
from accelerator.io.frames import Materialised, union_all
from accelerator.io.lake import Lake
from accelerator.linkage.families import person_facts

GOLD_TABLES = tuple(dictionary.TABLES)


def age_at(dob: Column, as_of: Column) -> Column:
    """Whole years from ``dob`` to ``as_of`` (a birthday on as_of counts)."""
    before_birthday = (F.month(as_of) < F.month(dob)) | (
        (F.month(as_of) == F.month(dob)) & (F.dayofmonth(as_of) < F.dayofmonth(dob))
    )
    return F.year(as_of) - F.year(dob) - F.when(before_birthday, 1).otherwise(0)


def feed_records(spark: SparkSession, lake: Lake, feed: str) -> DataFrame | None:
    """Current silver records of one feed from every authority."""
    frames = [
        spark.read.format("delta").load(lake.silver(a, feed))
        for a in AUTHORITIES
        if is_delta(spark, lake.silver(a, feed))
    ]
    return union_all(frames) if frames else None


def person_attributes(records: DataFrame, xref: DataFrame, as_of: Column) -> DataFrame:
    """One row per person: dob (the value most records give; ties: the most recent record's), age,
    and display names from the most recent record that has them, per holding authority."""
    joined = records.join(xref, ["feed", "authority", "record_key"])
    dobs = (
        joined.where(F.col("person_dob").isNotNull())
        .groupBy("person_id", "person_dob")
        .agg(F.count(F.lit(1)).alias("n"), F.max("event_date").alias("latest"))
    )
    w = W.partitionBy("person_id").orderBy(
        F.col("n").desc(), F.col("latest").desc(), F.col("person_dob").desc()
    )
    dob = (
        dobs.withColumn("rn", F.row_number().over(w))
        .where("rn = 1")
        .select("person_id", F.col("person_dob").alias("dob"))
    )
    return dob.withColumn("age", age_at(F.col("dob"), as_of))


def names(records: DataFrame, xref: DataFrame) -> DataFrame:
    """(person_id, authority, forename, surname): the most recent named record per holder."""
    joined = records.join(xref, ["feed", "authority", "record_key"]).where(
        F.col("person_surname").isNotNull()
    )
    w = W.partitionBy("person_id", "authority").orderBy(
        F.col("event_date").desc_nulls_last(), F.col("record_key")
    )
    return (
        joined.withColumn("rn", F.row_number().over(w))
        .where("rn = 1")
        .select(
            "person_id",
            "authority",
            F.col("person_forename").alias("forename"),
            F.col("person_surname").alias("surname"),
            F.col("event_date").alias("name_date"),
        )
    )


@dataclass
class GoldResult:
    families: dict[str, int] = field(default_factory=dict)
    eligible: dict[str, int] = field(default_factory=dict)
    headline_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def write_gold(df: DataFrame, path: str, table: str) -> None:
    """Overwrite a gold table with the dictionary's columns, types and comments, readable by
    Power BI and delta-rs (reader 1, writer 2, no deletion vectors or column mapping)."""
    schema = dictionary.schema(table)
    out = df.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name, metadata=f.metadata) for f in schema.fields]
    )
    writer = out.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    for k, v in BASE_PROPERTIES.items():
        writer = writer.option(k, v)
    writer.option("delta.dataSkippingStatsColumns", "as_of").save(path)


def run_gold(spark: SparkSession, settings: Settings, ctx: RunContext) -> GoldResult:
    lake = Lake(settings.lake_root)
    as_of = F.lit(ctx.as_of)
    window = Window(ctx.as_of)
    result = GoldResult()
    keep = Materialised()
    xref = (
        spark.read.format("delta")
        .load(lake.platform("person_xref"))
        .select("feed", "authority", "record_key", "person_id")
    )
    members = (
        spark.read.format("delta")
        .load(lake.platform("family_member"))
        .where(F.col("as_of") == as_of)
        .select("family_id", "person_id", F.col("authority").alias("family_authority"))
        # Restricted people (custodianship.md) are in no gold table and raise no evidence.
        .join(F.broadcast(restricted_people(spark, lake)), "person_id", "left_anti")
    )
    members = keep(members)
    person_record = spark.read.format("delta").load(lake.platform("person_record"))
    people = keep(person_attributes(person_record, xref, as_of))
    by_feed: dict[str, DataFrame] = {}
    for feed in (*PERSON_FEEDS, "fire_rescue"):
        df = feed_records(spark, lake, feed)
        if df is None:
            continue
        if feed != "fire_rescue":
            df = df.join(xref, ["feed", "authority", "record_key"]).join(people, "person_id", "left")
        # Every rule, the timeline and the support columns read these: scan and join them once
        # (without this each plan holds ten silver scans per feed, planned and run again and again).
        by_feed[feed] = keep(df)

    # Objection to sharing: these people raise nothing from records another authority holds.
    objectors = (
        by_feed["early_help"].where(F.col("consent_to_share") == F.lit(False)).select("person_id").distinct()
        if "early_help" in by_feed
        else spark.createDataFrame([], "person_id string")
    ).withColumn("objects", F.lit(True))

    def visible(df: DataFrame, holder: str) -> DataFrame:
        """Rows a family's authority may use: its own, or another's unless the person objected."""
        return (
            df.join(objectors, "person_id", "left")
            .where((F.col(holder) == F.col("family_authority")) | F.col("objects").isNull())
            .drop("objects")
        )

    evidence = union_all(
        [
            rule.evidence(by_feed[rule.feed], window).select(
                "*",
                F.lit(rule.headline).alias("headline"),
                F.lit(f"{rule.rule_id}@v{rule.version}").alias("rule_id"),
            )
            for rule in RULES
            if rule.feed in by_feed
        ]
    )
    own = F.col("record_authority") == F.col("family_authority")
    evidence = (
        visible(evidence.join(members, "person_id"), "record_authority")
        .withColumn("held_by_this_authority", own)
        .withColumn("record_key", F.when(own, F.col("record_key")))
        .withColumn("detail", F.when(own, F.col("detail")))
        .withColumn("as_of", as_of)
        .dropDuplicates(
            [
                "family_id",
                "headline",
                "person_id",
                "feed",
                "record_key",
                "event_date",
                "rule_id",
                "record_authority",
            ]
        )
    )
    evidence = keep(evidence)
    flags = evidence.groupBy("family_id").agg(
        *[F.max(F.col("headline") == n).alias(name) for n, name in HEADLINES.items()]
    )

    health = by_feed.get("health_services")
    open_at = window.open_at
    expectant = (
        visible(
            health.where(
                (F.col("service") == "MATERNITY") & open_at(F.col("referral_date"), F.col("discharge_date"))
            ).join(members, "person_id"),
            "authority",
        )
        .select("family_id")
        .distinct()
        .withColumn("expectant", F.lit(True))
        if health is not None
        else spark.createDataFrame([], "family_id string, expectant boolean")
    )
    holders = visible(xref.join(members, "person_id"), "authority")
    other = holders.groupBy("family_id").agg(
        F.max(F.col("authority") != F.col("family_authority")).alias("other_authority_records")
    )

    eh = by_feed.get("early_help")
    support = members.select("family_id").distinct()
    if eh is not None:
        eh_open = visible(
            eh.where(open_at(F.col("case_open_date"), F.col("case_close_date"))).join(members, "person_id"),
            "authority",
        )
        any_open = eh_open.groupBy("family_id").agg(F.lit(True).alias("open_early_help_case"))
        w_case = W.partitionBy("family_id").orderBy(F.col("case_open_date").desc(), F.col("family_case_ref"))
        lead = (
            eh_open.where(F.col("authority") == F.col("family_authority"))
            .withColumn("rn", F.row_number().over(w_case))
            .where("rn = 1")
            .select("family_id", "lead_professional", "lead_agency")
        )
        support = support.join(any_open, "family_id", "left").join(lead, "family_id", "left")
    for feed, start, end, name in (
        ("childrens_social_care", "start_date", "end_date", "open_social_care_episodes"),
        ("health_services", "referral_date", "discharge_date", "open_referrals"),
    ):
        if feed in by_feed:
            counts = (
                by_feed[feed]
                .join(members, "person_id")
                .where((F.col("authority") == F.col("family_authority")) & open_at(F.col(start), F.col(end)))
                .groupBy("family_id")
                .agg(F.count(F.lit(1)).cast("int").alias(name))
            )
            support = support.join(counts, "family_id", "left")

    # The family's current address: its members' most recent latest-address record.
    facts = person_facts(person_record, xref, as_of=ctx.as_of)
    addr_rows = person_record.join(xref, ["feed", "authority", "record_key"]).select(
        "person_id",
        "event_date",
        "_extract_date",
        "_folder_seq",
        "authority",
        "uprn_norm",
        "address",
        "address_norm",
        "postcode_norm",
    )
    latest_addr = (
        facts.where(F.col("address_date").isNotNull())
        .join(members, "person_id")
        .withColumn(
            "rn",
            F.row_number().over(
                W.partitionBy("family_id").orderBy(
                    F.col("address_date").desc(),
                    F.col("address_extract").desc(),
                    F.col("address_seq").desc(),
                    F.col("person_id"),
                )
            ),
        )
        .where("rn = 1")
        .select("family_id", "person_id", "address_date", "address_authority", "uprn", "line_key")
    )
    addr = (
        latest_addr.join(
            addr_rows.select(
                "person_id",
                F.col("event_date").alias("address_date"),
                F.col("authority").alias("address_authority"),
                "address",
                "postcode_norm",
                "address_norm",
                F.col("uprn_norm").alias("uprn"),
            ),
            ["person_id", "address_date", "address_authority", "uprn"],
            "left",
        )
        .dropDuplicates(["family_id"])
        .select(
            "family_id",
            F.col("address").alias("current_address"),
            F.col("postcode_norm").alias("current_postcode"),
            "uprn",
            "address_norm",
        )
    )
    fam_auth = members.select("family_id", "family_authority").distinct()
    fire = by_feed.get("fire_rescue")
    if fire is not None:
        at_addr = (
            addr.join(fam_auth, "family_id")
            .join(
                fire.select(
                    F.col("authority").alias("family_authority"),
                    F.col("uprn_norm").alias("f_uprn"),
                    F.col("address_norm").alias("f_address"),
                    F.col("postcode_norm").alias("f_postcode"),
                    "visit_type",
                    "visit_date",
                ),
                "family_authority",
            )
            .where(
                (
                    (F.col("uprn") == F.col("f_uprn"))
                    | (
                        (F.col("address_norm") == F.col("f_address"))
                        & (F.col("current_postcode") == F.col("f_postcode"))
                    )
                )
                & (F.col("visit_date") <= as_of)
            )
        )
        fire_ctx = at_addr.groupBy("family_id").agg(
            F.max(F.col("visit_type") == "HOARDING_CONCERN").alias("fire_hoarding_concern"),
            F.max(F.col("visit_type") == "DELIBERATE_FIRE").alias("fire_deliberate_fire"),
            F.sum((F.col("visit_type") == "SAFE_AND_WELL").cast("int")).alias("fire_safe_and_well_visits"),
        )
        addr = addr.join(fire_ctx, "family_id", "left")

    roster = members.join(people, "person_id", "left")
    sizes = (
        roster.groupBy("family_id", "family_authority")
        .agg(
            F.count(F.lit(1)).cast("int").alias("member_count"),
            F.sum((F.col("age") < 18).cast("int")).cast("int").alias("children"),
        )
        .withColumn("adults", F.col("member_count") - F.coalesce(F.col("children"), F.lit(0)))
    )
    hl = [F.coalesce(F.col(name), F.lit(False)).alias(name) for name in HEADLINES.values()]
    family = (
        sizes.join(flags, "family_id", "left")
        .join(expectant, "family_id", "left")
        .join(other, "family_id", "left")
        .join(support, "family_id", "left")
        .join(addr, "family_id", "left")
        .select(
            "family_id",
            F.col("family_authority").alias("authority"),
            as_of.alias("as_of"),
            "member_count",
            "adults",
            F.coalesce(F.col("children"), F.lit(0)).alias("children"),
            *hl,
            "expectant",
            "lead_professional",
            "lead_agency",
            "current_address",
            "current_postcode",
            *[
                F.coalesce(F.col(c), F.lit(False)).alias(c)
                for c in (
                    "open_early_help_case",
                    "other_authority_records",
                    "fire_hoarding_concern",
                    "fire_deliberate_fire",
                )
            ],
            *[
                F.coalesce(F.col(c), F.lit(0)).alias(c)
                for c in ("open_social_care_episodes", "open_referrals", "fire_safe_and_well_visits")
            ],
        )
    )
    count = reduce(lambda a, b: a + b, [F.col(n).cast("int") for n in HEADLINES.values()])
    family = (
        family.withColumn("headline_count", count)
        .withColumn(
            "eligible",
            (F.col("headline_count") >= 3)
            & ((F.col("children") > 0) | F.coalesce(F.col("expectant"), F.lit(False))),
        )
        .drop("expectant")
    )
    family = keep(family)

    nm = names(person_record, xref)
    w_name = W.partitionBy("person_id").orderBy(F.col("own").desc(), F.col("name_date").desc_nulls_last())
    member_rows = (
        roster.join(nm, "person_id", "left")
        .withColumn("own", F.coalesce(F.col("authority") == F.col("family_authority"), F.lit(False)))
        .withColumn("rn", F.row_number().over(w_name))
        .where("rn = 1")
        .select(
            "family_id",
            "person_id",
            "family_authority",
            "forename",
            "surname",
            "dob",
            "age",
            F.when(F.col("age") < 18, "CHILD").otherwise("ADULT").alias("role"),
            as_of.alias("as_of"),
        )
    )
    member_rows = keep(member_rows)
    timeline = keep(_timeline(by_feed, member_rows.where(F.col("role") == "CHILD"), as_of))

    def publish(authority: str) -> None:
        own_fam = F.col("authority") == authority
        write_gold(family.where(own_fam), lake.gold(authority, "family"), "family")
        write_gold(
            member_rows.where(F.col("family_authority") == authority),
            lake.gold(authority, "family_member"),
            "family_member",
        )
        write_gold(
            evidence.where(F.col("family_authority") == authority),
            lake.gold(authority, "headline_evidence"),
            "headline_evidence",
        )
        write_gold(
            timeline.where(F.col("family_authority") == authority),
            lake.gold(authority, "child_timeline"),
            "child_timeline",
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(publish, sorted(AUTHORITIES)))
    summary = (
        family.groupBy("authority")
        .agg(
            F.count(F.lit(1)).alias("families"),
            F.sum(F.col("eligible").cast("int")).alias("eligible"),
            *[F.sum(F.col(n).cast("int")).alias(n) for n in HEADLINES.values()],
        )
        .collect()
    )
    for r in summary:
        result.families[r.authority] = r.families
        result.eligible[r.authority] = r.eligible
        result.headline_counts[r.authority] = {n: r[n] for n in HEADLINES.values()}
    keep.release()
    return result


_EVENTS: dict[str, tuple[str, str]] = {
    # feed: (event type expression, detail expression), Spark SQL over the silver columns
    "police_incidents": (
        "concat_ws(' ', incident_type, role)",
        "concat_ws(', ', offence_group, if(domestic_abuse, 'domestic abuse', null))",
    ),
    "school_census": (
        "concat('CENSUS ', census_term)",
        "concat_ws(', ', concat('sessions ', sessions_possible), concat('absent ', coalesce(sessions_authorised_absence, 0) + coalesce(sessions_unauthorised_absence, 0)), if(suspensions > 0, concat(suspensions, ' suspension(s)'), null), if(permanent_exclusion, 'permanent exclusion', null), concat('SEN ', sen_provision))",
    ),
    "health_services": (
        "service",
        "concat_ws(', ', outcome, if(discharge_date is null, 'open', concat('discharged ', discharge_date)))",
    ),
    "dwp_benefits": (
        "benefit",
        "concat_ws(', ', work_status, if(award_end is null, 'current', concat('ended ', award_end)))",
    ),
    "housing": (
        "status",
        "concat_ws(', ', concat('case ', case_ref), relationship, if(arrears_amount is null, null, concat('arrears £', arrears_amount)))",
    ),
    "childrens_social_care": (
        "episode_type",
        "concat_ws(', ', category, if(end_date is null, 'open', concat('ended ', end_date)))",
    ),
    "early_help": (
        "'EARLY_HELP_CASE'",
        "concat_ws(', ', concat('needs ', presenting_needs), concat('lead ', lead_agency), if(case_close_date is null, 'open', concat('closed ', case_close_date)))",
    ),
    "youth_justice": ("outcome_type", "if(offence_date is null, null, concat('offence ', offence_date))"),
    "probation": (
        "concat(sentence_type, ' sentence')",
        "concat_ws(', ', if(end_date is null, 'open', concat('ends ', end_date)), if(da_perpetrator, 'domestic abuse perpetrator', null))",
    ),
}


def _timeline(by_feed: dict[str, DataFrame], children: DataFrame, as_of: Column) -> DataFrame:
    """Every event of each child from the records their family's authority holds."""
    frames = []
    for feed, (etype, detail) in _EVENTS.items():
        if feed not in by_feed:
            continue
        df = by_feed[feed].join(children.select("person_id", "family_id", "family_authority"), "person_id")
        frames.append(
            df.where(
                (F.col("authority") == F.col("family_authority")) & (F.col("event_date") <= as_of)
            ).select(
                "person_id",
                "family_id",
                "family_authority",
                "event_date",
                F.lit(feed).alias("feed"),
                F.expr(etype).alias("event_type"),
                F.expr(detail).alias("detail"),
                "record_key",
                as_of.alias("as_of"),
            )
        )
    return union_all(frames)
