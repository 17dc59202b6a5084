"""``silver/_platform/person_record``: every person-level record in the common columns linkage
reads (pure transforms; ``publish.py`` writes it).

Grain: one row per (authority, feed, record_key) of the current silver records of the person-level
feeds. The columns and their types are fixed whichever feeds have arrived (a column no feed has
yet is null of its type, never dropped).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from accelerator.feeds import FEEDS

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
PERSON_RECORD_KEY = ("authority", "feed", "record_key")


def person_ref(feed: str) -> Column:
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


def household(feed: str) -> dict[str, Column]:
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


def person_columns(df: DataFrame, feed: str) -> DataFrame:
    """Silver rows of one person-level feed (any authorities) → the columns of ``person_record``."""
    cols = {"person_ref": person_ref(feed), **household(feed)}
    cols["consent_to_share"] = F.col("consent_to_share") if feed == "early_help" else F.lit(None)
    for name in PERSON_RECORD_COLUMNS:
        if name not in cols:
            cols[name] = F.col(name) if name in df.columns else F.lit(None)
    return df.select(*[cols[n].cast(t).alias(n) for n, t in PERSON_RECORD_TYPES.items()])
