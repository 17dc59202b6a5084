"""The gold ``child_timeline`` table: each child's events across every feed (pure transform).

Grain: one row per (child, record) for records held by the child's family's authority (outputs.md:
"the authority's own records only") with an event date on or before ``as_of``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from accelerator.io.frames import union_all

EVENTS: dict[str, tuple[str, str]] = {
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


def child_timeline(feeds: Mapping[str, DataFrame], children: DataFrame, as_of: Column) -> DataFrame:
    """``children``: (person_id, family_id, family_authority) of the members under 18."""
    kids = children.select("person_id", "family_id", "family_authority")
    frames = [
        feeds[feed]
        .join(kids, "person_id")
        .where((F.col("authority") == F.col("family_authority")) & (F.col("event_date") <= as_of))
        .select(
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
        for feed, (etype, detail) in EVENTS.items()
        if feed in feeds
    ]
    return union_all(frames)
