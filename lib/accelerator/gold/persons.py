"""Person-level facts gold needs: age at ``as_of`` and the names to show (pure transforms).

Grain: one row per ``person_id`` (``person_attributes``), or per ``person_id`` and holding
authority (``display_names``). Nulls: a person none of whose records gives a date of birth has a
null ``dob`` and ``age``; a person with no named record in an authority has no row there.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

RECORD_KEY = ["feed", "authority", "record_key"]


def age_at(dob: Column, as_of: Column) -> Column:
    """Whole years from ``dob`` to ``as_of`` (a birthday on as_of counts)."""
    before_birthday = (F.month(as_of) < F.month(dob)) | (
        (F.month(as_of) == F.month(dob)) & (F.dayofmonth(as_of) < F.dayofmonth(dob))
    )
    return F.year(as_of) - F.year(dob) - F.when(before_birthday, 1).otherwise(0)


def person_attributes(records: DataFrame, xref: DataFrame, as_of: Column) -> DataFrame:
    """(person_id, dob, age): the dob most records give (outcomes.md "People"; ties: the most
    recent record's, then the later date), and the age at ``as_of``."""
    joined = records.join(xref, RECORD_KEY)
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


def display_names(records: DataFrame, xref: DataFrame) -> DataFrame:
    """(person_id, authority, forename, surname, name_date): the most recent named record of the
    person held by each authority (ties: the record key)."""
    joined = records.join(xref, RECORD_KEY).where(F.col("person_surname").isNotNull())
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
