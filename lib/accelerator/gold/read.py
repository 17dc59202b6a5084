"""What gold reads from the lake: silver records of every feed, the linkage tables, and the
families of one ``as_of``. Reads only; every frame is lazy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.feeds import AUTHORITIES, PERSON_FEEDS
from accelerator.io import tables
from accelerator.io.frames import union_all
from accelerator.io.lake import Lake

FEEDS_READ = (*PERSON_FEEDS, "fire_rescue")


@dataclass(frozen=True)
class GoldInputs:
    """``xref``: (feed, authority, record_key, person_id); ``families``: (family_id, person_id,
    family_authority) of ``as_of``; ``person_record``: linkage's input table; ``feeds``: each
    feed's current silver records of every authority (feeds that have no table yet are absent)."""

    xref: DataFrame
    families: DataFrame
    person_record: DataFrame
    feeds: dict[str, DataFrame]


def feed_records(spark: SparkSession, lake: Lake, feed: str) -> DataFrame | None:
    """Current silver records of one feed from every authority, or None when no authority has any."""
    frames = [df for a in AUTHORITIES if (df := tables.read(spark, lake.silver(a, feed))) is not None]
    return union_all(frames) if frames else None


def read_inputs(spark: SparkSession, lake: Lake, as_of: date) -> GoldInputs | None:
    """Gold's inputs, or None before anything has been linked (a first run on a lake that has had
    no delivery yet: linkage and families wrote nothing, and there is nothing to publish)."""
    xref = tables.read(spark, lake.platform("person_xref"))
    members = tables.read(spark, lake.platform("family_member"))
    person_record = tables.read(spark, lake.platform("person_record"))
    if xref is None or members is None or person_record is None:
        return None
    families = members.where(F.col("as_of") == F.lit(as_of)).select(
        "family_id", "person_id", F.col("authority").alias("family_authority")
    )
    feeds = {feed: df for feed in FEEDS_READ if (df := feed_records(spark, lake, feed)) is not None}
    return GoldInputs(
        xref=xref.select("feed", "authority", "record_key", "person_id"),
        families=families,
        person_record=person_record,
        feeds=feeds,
    )
