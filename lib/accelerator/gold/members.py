"""The gold ``family_member`` table: who is in each family (pure transform).

Grain: one row per (family, person). Names come from the person's most recent named record held
by the family's authority, else from another authority's (a person who moved in keeps a name).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F


def member_rows(roster: DataFrame, names: DataFrame, as_of: Column) -> DataFrame:
    """``roster``: (family_id, person_id, family_authority, dob, age); ``names``: from
    ``persons.display_names``. Role CHILD under 18 at ``as_of``, else ADULT (unknown age too)."""
    w_name = W.partitionBy("person_id").orderBy(F.col("own").desc(), F.col("name_date").desc_nulls_last())
    return (
        roster.join(names, "person_id", "left")
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
