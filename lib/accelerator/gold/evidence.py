"""Headline evidence and flags (outcomes.md "The ten headline problems"): pure transforms.

The rules themselves live in ``rules.py`` (one named, versioned rule per headline and feed); this
module runs them over every feed, keeps what the family's authority may see, and turns evidence
into the ten flags.

Visibility (custodianship.md): a family's authority uses its own records, and another authority's
records unless the person objected to sharing (an early help record with consent_to_share = N).
Evidence from another authority's record keeps only its feed and date (``record_key`` and
``detail`` null).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from accelerator.gold.rules import HEADLINES, RULES, Window
from accelerator.io.frames import union_all

EVIDENCE_GRAIN = [
    "family_id",
    "headline",
    "person_id",
    "feed",
    "record_key",
    "event_date",
    "rule_id",
    "record_authority",
]


def objectors(feeds: Mapping[str, DataFrame], members: DataFrame) -> DataFrame:
    """(person_id, objects): people with an early help record saying consent_to_share = N."""
    eh = feeds.get("early_help")
    if eh is None:  # an empty frame of the right shape
        return members.select("person_id").where(F.lit(False)).withColumn("objects", F.lit(True))
    return (
        eh.where(F.col("consent_to_share") == F.lit(False))
        .select("person_id")
        .distinct()
        .withColumn("objects", F.lit(True))
    )


def visible(df: DataFrame, objecting: DataFrame, holder: str) -> DataFrame:
    """Rows a family's authority may use: its own (``holder`` = ``family_authority``), or another
    authority's unless the person objected to sharing."""
    return (
        df.join(objecting, "person_id", "left")
        .where((F.col(holder) == F.col("family_authority")) | F.col("objects").isNull())
        .drop("objects")
    )


def rule_evidence(feeds: Mapping[str, DataFrame], window: Window) -> DataFrame:
    """Every rule's evidence rows over the feeds that have arrived, tagged with the headline and
    the versioned rule id (``H07.police@v1``)."""
    return union_all(
        [
            rule.evidence(feeds[rule.feed], window).select(
                "*",
                F.lit(rule.headline).alias("headline"),
                F.lit(f"{rule.rule_id}@v{rule.version}").alias("rule_id"),
            )
            for rule in RULES
            if rule.feed in feeds
        ]
    )


def family_evidence(
    evidence: DataFrame, members: DataFrame, objecting: DataFrame, as_of: Column
) -> DataFrame:
    """Grain: one row per (family, headline, person, feed, record, date, rule, holder). Evidence of
    the family's members that its authority may see; another authority's record shows only its
    feed and date."""
    own = F.col("record_authority") == F.col("family_authority")
    return (
        visible(evidence.join(members, "person_id"), objecting, "record_authority")
        .withColumn("held_by_this_authority", own)
        .withColumn("record_key", F.when(own, F.col("record_key")))
        .withColumn("detail", F.when(own, F.col("detail")))
        .withColumn("as_of", as_of)
        .dropDuplicates(EVIDENCE_GRAIN)
    )


def headline_flags(evidence: DataFrame) -> DataFrame:
    """One row per family with evidence: ``h01_education`` … ``h10_financial`` (true where any
    evidence row of that headline exists; families without evidence have no row)."""
    return evidence.groupBy("family_id").agg(
        *[F.max(F.col("headline") == n).alias(name) for n, name in HEADLINES.items()]
    )
