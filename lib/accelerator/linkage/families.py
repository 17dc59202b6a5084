"""People → families as of the run's reference date (outcomes.md "Families").

Membership evidence, combined (anyone joined by any of it is one family):

1. the same early help family case open at ``as_of`` (opened on or before, not closed by then);
2. the same housing case on its latest status date on or before ``as_of``;
3. the same latest known address: the same UPRN, or the same normalised address line and
   postcode (a record with a UPRN also matches one without by line and postcode).

A person's latest known address is the address on their latest record (event date on or before
``as_of``; ties: the later delivery) that carries an address at all. A family's authority is the
authority whose delivery holds the most recent of its members' latest addresses (ties: the later
delivery, then the authority code); a family with no address takes its members' latest record.
Family ids are carried forward from the previous run by overlap of members, like person ids.

Commit point: ``silver/_platform/family_member``, this ``as_of``'s rows replaced in one commit. A
run killed before it leaves the earlier families; the next run computes them again from the same
registry. Run again for the same ``as_of``, ids carry forward from the run's own rows, unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from accelerator.config import RunContext, Settings
from accelerator.io import tables
from accelerator.io.lake import Lake
from accelerator.linkage.ids import IdChange, carry_forward


def person_facts(records: DataFrame, xref: DataFrame, *, as_of: date) -> DataFrame:
    """One row per person: latest address keys and the record that holds them, and the
    authority of their latest record (for people with no address)."""
    joined = records.join(
        xref.select("feed", "authority", "record_key", "person_id"), ["feed", "authority", "record_key"]
    )
    dated = joined.where(F.col("event_date").isNotNull() & (F.col("event_date") <= F.lit(as_of)))
    has_address = F.col("uprn_norm").isNotNull() | (
        F.col("address_norm").isNotNull() & F.col("postcode_norm").isNotNull()
    )
    order = [
        F.col("event_date").desc(),
        F.col("_extract_date").desc(),
        F.col("_folder_seq").desc(),
        F.col("authority").desc(),
        F.col("record_key").desc(),
    ]
    w_addr = Window.partitionBy("person_id").orderBy(*order)
    latest_addr = (
        dated.where(has_address)
        .withColumn("rn", F.row_number().over(w_addr))
        .where("rn = 1")
        .select(
            "person_id",
            F.col("uprn_norm").alias("uprn"),
            F.when(
                F.col("address_norm").isNotNull() & F.col("postcode_norm").isNotNull(),
                F.concat_ws("|", "address_norm", "postcode_norm"),
            ).alias("line_key"),
            F.col("authority").alias("address_authority"),
            F.col("event_date").alias("address_date"),
            F.col("_extract_date").alias("address_extract"),
            F.col("_folder_seq").alias("address_seq"),
        )
    )
    latest_any = (
        dated.withColumn("rn", F.row_number().over(w_addr))
        .where("rn = 1")
        .select(
            "person_id",
            F.col("authority").alias("record_authority"),
            F.col("event_date").alias("record_date"),
        )
    )
    return latest_any.join(latest_addr, "person_id", "left")


def household_groups(records: DataFrame, xref: DataFrame, *, as_of: date) -> DataFrame:
    """(group, person_id): members of one early help case open at as_of, or of one housing case
    on its latest status date on or before as_of."""
    joined = records.join(
        xref.select("feed", "authority", "record_key", "person_id"), ["feed", "authority", "record_key"]
    )
    eh = joined.where(
        (F.col("feed") == "early_help")
        & (F.col("household_start") <= F.lit(as_of))
        & (F.col("household_end").isNull() | (F.col("household_end") > F.lit(as_of)))
    ).select(F.col("household_ref").alias("grp"), "person_id")
    housing = joined.where((F.col("feed") == "housing") & (F.col("household_start") <= F.lit(as_of)))
    latest = housing.groupBy("household_ref").agg(F.max("household_start").alias("latest"))
    hs = (
        housing.join(latest, "household_ref")
        .where(F.col("household_start") == F.col("latest"))
        .select(F.concat_ws("@", "household_ref", F.col("latest").cast("string")).alias("grp"), "person_id")
    )
    return eh.unionByName(hs).distinct()


@dataclass
class FamilyResult:
    families: int = 0
    people: int = 0
    sizes: dict[int, int] = field(default_factory=dict)
    changes: list[IdChange] = field(default_factory=list)


def group_families(facts: pd.DataFrame, groups: pd.DataFrame) -> dict[str, list[str]]:
    """Union the evidence into families: cluster key (smallest member) → members."""
    parent = {p: p for p in facts["person_id"]}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union_all(members: list[str]) -> None:
        roots = sorted({find(m) for m in members if m in parent})
        for r in roots[1:]:
            parent[r] = roots[0]

    by_key: dict[str, list[str]] = defaultdict(list)
    for person, uprn, line in facts[["person_id", "uprn", "line_key"]].itertuples(index=False):
        if isinstance(uprn, str):
            by_key["u:" + uprn].append(person)
        if isinstance(line, str):
            by_key["l:" + line].append(person)
    for grp, person in groups[["grp", "person_id"]].itertuples(index=False):
        by_key["g:" + grp].append(person)
    for members in by_key.values():
        union_all(members)
    out: dict[str, list[str]] = defaultdict(list)
    for p in parent:
        out[find(p)].append(p)
    return {min(m): sorted(m) for m in out.values()}


def family_authorities(facts: pd.DataFrame, clusters: dict[str, list[str]]) -> dict[str, str]:
    """Each family's authority (cluster key → authority), all families at once: the authority of
    the most recent of its members' latest addresses (ties: later delivery, then later folder,
    then the authority code, highest first); a family with no address takes its members' latest
    record (ties: the authority code)."""
    key_of = {m: ckey for ckey, members in clusters.items() for m in members}
    f = facts.assign(ckey=facts["person_id"].map(key_of))
    addr_order = ["address_date", "address_extract", "address_seq", "address_authority"]
    with_addr = f[f["address_authority"].notna()].sort_values(
        ["ckey", *addr_order], ascending=[True] + [False] * len(addr_order), kind="stable"
    )
    best = with_addr.drop_duplicates("ckey")
    out = dict(zip(best["ckey"], best["address_authority"].astype(str), strict=True))
    rest = f[~f["ckey"].isin(out)].sort_values(
        ["ckey", "record_date", "record_authority"], ascending=[True, False, False], kind="stable"
    )
    best_rest = rest.drop_duplicates("ckey")
    out.update(zip(best_rest["ckey"], best_rest["record_authority"].astype(str), strict=True))
    return out


def run_families(spark: SparkSession, settings: Settings, ctx: RunContext) -> FamilyResult:
    lake = Lake(settings.lake_root)
    records = tables.read(spark, lake.platform("person_record"))
    xref = tables.read(spark, lake.platform("person_xref"))
    result = FamilyResult()
    if records is None or xref is None:
        return result
    facts: pd.DataFrame = person_facts(records, xref, as_of=ctx.as_of).toPandas()
    groups: pd.DataFrame = household_groups(records, xref, as_of=ctx.as_of).toPandas()
    clusters = group_families(facts, groups)
    previous: dict[str, str] = {}
    old = tables.read(spark, lake.platform("family_member"))
    if old is not None:
        last = old.agg(F.max("as_of").alias("m")).collect()[0]["m"]
        for r in old.where(F.col("as_of") == F.lit(last)).select("person_id", "family_id").collect():
            previous[r.person_id] = r.family_id
    assignment, _retired, changes = carry_forward(clusters, previous, prefix="F")
    authority = family_authorities(facts, clusters)
    rows = [
        (assignment[m], m, authority[ckey], ctx.as_of) for ckey, members in clusters.items() for m in members
    ]
    df = spark.createDataFrame(rows, "family_id string, person_id string, authority string, as_of date")
    # The commit point: this as_of's families replaced in one commit (other as_of's stay).
    tables.replace_where(
        df, lake.platform("family_member"), F.col("as_of") == F.lit(ctx.as_of), stats=("authority", "as_of")
    )
    result.families = len(clusters)
    result.people = len(rows)
    sizes: dict[int, int] = defaultdict(int)
    for members in clusters.values():
        sizes[len(members)] += 1
    result.sizes = dict(sorted(sizes.items()))
    result.changes = changes
    return result
