"""Silver + linkage → ``gold/<authority>/{family, family_member, headline_evidence, child_timeline}``.

Recomputed for the run's ``as_of`` from silver and the linkage tables only (a new ``as_of`` never
reprocesses bronze or silver). Each authority's tables hold its own families and nothing else;
evidence from a record held by another authority shows only its feed and date; a person who
objected to sharing (an early help record with consent_to_share = N) raises nothing from another
authority's records; restricted people (custodianship.md) are in no gold table and raise nothing.

The stage in three parts: :func:`read.read_inputs` (what gold takes from the lake),
:func:`build_tables` (pure transforms: ``persons``, ``evidence``, ``family``, ``members``,
``timeline``) and :func:`publish.publish` (the only writer; its docstring states the commit point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.feeds import AUTHORITIES
from accelerator.gold import dictionary
from accelerator.gold import evidence as E
from accelerator.gold import family as FAM
from accelerator.gold.members import member_rows
from accelerator.gold.persons import age_at, display_names, person_attributes
from accelerator.gold.publish import GoldTables, publish
from accelerator.gold.read import GoldInputs, read_inputs
from accelerator.gold.rules import HEADLINES, Window
from accelerator.gold.timeline import child_timeline
from accelerator.io.frames import Materialised
from accelerator.io.lake import Lake
from accelerator.linkage.families import person_facts

__all__ = ["GOLD_TABLES", "GoldResult", "age_at", "build_tables", "run_gold"]

GOLD_TABLES = tuple(dictionary.TABLES)
Keep = Callable[[DataFrame], DataFrame]


@dataclass
class GoldResult:
    families: dict[str, int] = field(default_factory=dict)
    eligible: dict[str, int] = field(default_factory=dict)
    headline_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def build_tables(
    inputs: GoldInputs, restricted: DataFrame | None, as_of_date: date, keep: Keep = lambda df: df
) -> GoldTables:
    """Every authority's gold tables from the inputs. ``keep`` computes a frame once where many
    later plans read it (``Materialised`` in a run; the identity in unit tests)."""
    as_of = F.lit(as_of_date)
    window = Window(as_of_date)
    members = inputs.families
    if restricted is not None:
        members = members.join(F.broadcast(restricted.select("person_id")), "person_id", "left_anti")
    members = keep(members)
    people = keep(person_attributes(inputs.person_record, inputs.xref, as_of))
    # Every rule, the timeline and the support columns read these: scan and join them once
    # (without this each plan holds ten silver scans per feed, planned and run again and again).
    feeds = {
        feed: keep(
            df
            if feed == "fire_rescue"
            else df.join(inputs.xref, ["feed", "authority", "record_key"]).join(people, "person_id", "left")
        )
        for feed, df in inputs.feeds.items()
    }
    objecting = E.objectors(feeds, members)
    evidence = keep(E.family_evidence(E.rule_evidence(feeds, window), members, objecting, as_of))

    facts = person_facts(inputs.person_record, inputs.xref, as_of=as_of_date)
    address = FAM.current_address(facts, inputs.person_record, inputs.xref, members)
    if "fire_rescue" in feeds:
        address = address.join(
            FAM.fire_context(address, feeds["fire_rescue"], members, as_of), "family_id", "left"
        )
    roster = members.join(people, "person_id", "left")
    family = FAM.family_table(
        FAM.sizes(roster),
        E.headline_flags(evidence),
        FAM.expectant(feeds.get("health_services"), members, objecting, window),
        FAM.other_authority(inputs.xref, members, objecting),
        FAM.support(feeds, members, objecting, window),
        address,
        as_of,
    )
    rows = keep(member_rows(roster, display_names(inputs.person_record, inputs.xref), as_of))
    timeline = child_timeline(feeds, rows.where(F.col("role") == "CHILD"), as_of)
    return GoldTables(
        family=keep(family), family_member=rows, headline_evidence=evidence, child_timeline=keep(timeline)
    )


def summarise(family: DataFrame) -> GoldResult:
    """Families, eligible families and each headline's count per authority (one small collect)."""
    result = GoldResult()
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
    return result


def run_gold(
    spark: SparkSession, settings: Settings, ctx: RunContext, *, restricted: DataFrame | None = None
) -> GoldResult:
    """Gold for every authority as of ``ctx.as_of``. ``restricted``: (person_id) of people whose
    processing is restricted (custodianship.md), given by the caller (``pipeline.gold``). Before
    anything has been linked there is nothing to publish: no table is written, the result is empty."""
    lake = Lake(settings.lake_root)
    inputs = read_inputs(spark, lake, ctx.as_of)
    if inputs is None:
        return GoldResult()
    keep = Materialised()
    try:
        gold = build_tables(inputs, restricted, ctx.as_of, keep)
        publish(gold, lake, sorted(AUTHORITIES), run_id=ctx.run_id, as_of=ctx.as_of)
        return summarise(gold.family)
    finally:
        keep.release()
