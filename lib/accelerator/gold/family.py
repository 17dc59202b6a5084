"""The gold ``family`` table (outputs.md): one row per family of an authority, as pure transforms.

Each function returns one row per ``family_id`` (families it has nothing to say about have no
row; ``family_table`` fills those with false or 0). ``members`` is (family_id, person_id,
family_authority); feed frames are silver records joined to ``person_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from accelerator.gold.evidence import visible
from accelerator.gold.rules import HEADLINES, Window

BOOL_CONTEXT = (
    "open_early_help_case",
    "other_authority_records",
    "fire_hoarding_concern",
    "fire_deliberate_fire",
)
COUNT_CONTEXT = ("open_social_care_episodes", "open_referrals", "fire_safe_and_well_visits")


def expectant(
    health: DataFrame | None, members: DataFrame, objecting: DataFrame, window: Window
) -> DataFrame:
    """(family_id, expectant): a member has a MATERNITY referral open at ``as_of`` (outcomes.md
    "eligible")."""
    if health is None:
        return members.select("family_id").where(F.lit(False)).withColumn("expectant", F.lit(True))
    open_maternity = (F.col("service") == "MATERNITY") & window.open_at(
        F.col("referral_date"), F.col("discharge_date")
    )
    return (
        visible(health.where(open_maternity).join(members, "person_id"), objecting, "authority")
        .select("family_id")
        .distinct()
        .withColumn("expectant", F.lit(True))
    )


def other_authority(xref: DataFrame, members: DataFrame, objecting: DataFrame) -> DataFrame:
    """(family_id, other_authority_records): a member has a record another authority holds (that
    the family's authority may know of)."""
    holders = visible(xref.join(members, "person_id"), objecting, "authority")
    return holders.groupBy("family_id").agg(
        F.max(F.col("authority") != F.col("family_authority")).alias("other_authority_records")
    )


def support(
    feeds: Mapping[str, DataFrame], members: DataFrame, objecting: DataFrame, window: Window
) -> DataFrame:
    """Existing support (outcomes.md "Gold"): an open early help case (any authority the family's
    may see), its lead professional and agency (this authority's latest open case), and counts of
    this authority's open social care episodes and health referrals."""
    open_at = window.open_at
    out = members.select("family_id").distinct()
    eh = feeds.get("early_help")
    if eh is not None:
        eh_open = visible(
            eh.where(open_at(F.col("case_open_date"), F.col("case_close_date"))).join(members, "person_id"),
            objecting,
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
        out = out.join(any_open, "family_id", "left").join(lead, "family_id", "left")
    for feed, start, end, name in (
        ("childrens_social_care", "start_date", "end_date", "open_social_care_episodes"),
        ("health_services", "referral_date", "discharge_date", "open_referrals"),
    ):
        if feed in feeds:
            counts = (
                feeds[feed]
                .join(members, "person_id")
                .where((F.col("authority") == F.col("family_authority")) & open_at(F.col(start), F.col(end)))
                .groupBy("family_id")
                .agg(F.count(F.lit(1)).cast("int").alias(name))
            )
            out = out.join(counts, "family_id", "left")
    return out


def current_address(
    facts: DataFrame, person_record: DataFrame, xref: DataFrame, members: DataFrame
) -> DataFrame:
    """(family_id, current_address, current_postcode, uprn, address_norm): the address of the
    most recent of the members' latest-address records (``facts`` from
    ``linkage.families.person_facts``; ties: later delivery, then person id)."""
    addr_rows = person_record.join(xref, ["feed", "authority", "record_key"]).select(
        "person_id",
        F.col("event_date").alias("address_date"),
        F.col("authority").alias("address_authority"),
        "address",
        "postcode_norm",
        "address_norm",
        F.col("uprn_norm").alias("uprn"),
    )
    order = W.partitionBy("family_id").orderBy(
        F.col("address_date").desc(),
        F.col("address_extract").desc(),
        F.col("address_seq").desc(),
        F.col("person_id"),
    )
    latest = (
        facts.where(F.col("address_date").isNotNull())
        .join(members, "person_id")
        .withColumn("rn", F.row_number().over(order))
        .where("rn = 1")
        .select("family_id", "person_id", "address_date", "address_authority", "uprn", "line_key")
    )
    return (
        latest.join(addr_rows, ["person_id", "address_date", "address_authority", "uprn"], "left")
        .dropDuplicates(["family_id"])
        .select(
            "family_id",
            F.col("address").alias("current_address"),
            F.col("postcode_norm").alias("current_postcode"),
            "uprn",
            "address_norm",
        )
    )


def fire_context(address: DataFrame, fire: DataFrame, members: DataFrame, as_of: Column) -> DataFrame:
    """(family_id, fire_hoarding_concern, fire_deliberate_fire, fire_safe_and_well_visits): fire and
    rescue visits on or before ``as_of`` at the family's current address (same UPRN, or same
    normalised line and postcode), recorded by the family's authority. Context only: no headline."""
    fam_auth = members.select("family_id", "family_authority").distinct()
    visits = fire.select(
        F.col("authority").alias("family_authority"),
        F.col("uprn_norm").alias("f_uprn"),
        F.col("address_norm").alias("f_address"),
        F.col("postcode_norm").alias("f_postcode"),
        "visit_type",
        "visit_date",
    )
    same_place = (F.col("uprn") == F.col("f_uprn")) | (
        (F.col("address_norm") == F.col("f_address")) & (F.col("current_postcode") == F.col("f_postcode"))
    )
    at_addr = (
        address.join(fam_auth, "family_id")
        .join(visits, "family_authority")
        .where(same_place & (F.col("visit_date") <= as_of))
    )
    return at_addr.groupBy("family_id").agg(
        F.max(F.col("visit_type") == "HOARDING_CONCERN").alias("fire_hoarding_concern"),
        F.max(F.col("visit_type") == "DELIBERATE_FIRE").alias("fire_deliberate_fire"),
        F.sum((F.col("visit_type") == "SAFE_AND_WELL").cast("int")).alias("fire_safe_and_well_visits"),
    )


def sizes(roster: DataFrame) -> DataFrame:
    """(family_id, family_authority, member_count, children, adults): children are under 18 at
    ``as_of``; a member of unknown age counts as an adult."""
    return (
        roster.groupBy("family_id", "family_authority")
        .agg(
            F.count(F.lit(1)).cast("int").alias("member_count"),
            F.sum((F.col("age") < 18).cast("int")).cast("int").alias("children"),
        )
        .withColumn("adults", F.col("member_count") - F.coalesce(F.col("children"), F.lit(0)))
    )


def family_table(
    counts: DataFrame,
    flags: DataFrame,
    expecting: DataFrame,
    other: DataFrame,
    support_: DataFrame,
    address: DataFrame,
    as_of: Column,
) -> DataFrame:
    """Grain: one row per family. The ten flags (false without evidence), ``headline_count``, and
    ``eligible``: at least three headlines and a child under 18 or an expectant parent."""
    hl = [F.coalesce(F.col(name), F.lit(False)).alias(name) for name in HEADLINES.values()]
    family = (
        counts.join(flags, "family_id", "left")
        .join(expecting, "family_id", "left")
        .join(other, "family_id", "left")
        .join(support_, "family_id", "left")
        .join(address, "family_id", "left")
    )
    optional = (*HEADLINES.values(), *BOOL_CONTEXT, *COUNT_CONTEXT)
    for c in (*optional, "lead_professional", "lead_agency", "current_address", "current_postcode"):
        if c not in family.columns:  # a feed that has not arrived yet
            family = family.withColumn(c, F.lit(None))
    family = family.select(
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
        *[F.coalesce(F.col(c), F.lit(False)).alias(c) for c in BOOL_CONTEXT],
        *[F.coalesce(F.col(c), F.lit(0)).alias(c) for c in COUNT_CONTEXT],
    )
    count = reduce(lambda a, b: a + b, [F.col(n).cast("int") for n in HEADLINES.values()])
    return (
        family.withColumn("headline_count", count)
        .withColumn(
            "eligible",
            (F.col("headline_count") >= 3)
            & ((F.col("children") > 0) | F.coalesce(F.col("expectant"), F.lit(False))),
        )
        .drop("expectant")
    )
