"""The gold data dictionary: every published column with its type and description.

One source for the column comments written into the Delta tables, for ``docs/gold.md`` and the
serverless SQL views (``tools/gold_docs.py``, ``tools/gold_sql.py``), and for
the test that checks gold against outputs.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import types as T

from accelerator.gold.rules import HEADLINES

_HEADLINE_TEXT = {
    1: "getting a good education",
    2: "good early years development",
    3: "improved mental and physical health",
    4: "promoting recovery and reducing harm from substance use",
    5: "improved family relationships",
    6: "children safe from abuse and exploitation",
    7: "crime prevention and tackling crime",
    8: "safe from domestic abuse",
    9: "secure housing",
    10: "financial stability",
}

Column = tuple[str, T.DataType, str]

TABLES: Mapping[str, tuple[str, tuple[Column, ...]]] = {
    "family": (
        "One row per family of the authority as of the run's reference date (as_of).",
        (
            (
                "family_id",
                T.StringType(),
                "Family id, stable from run to run; unique across all authorities.",
            ),
            (
                "authority",
                T.StringType(),
                "Lower-case authority code (feeds.md) whose delivery holds the family's latest address.",
            ),
            ("as_of", T.DateType(), "Reference date of the run; windows and ages are relative to it."),
            ("member_count", T.IntegerType(), "Number of people in the family."),
            ("adults", T.IntegerType(), "Members aged 18 or over at as_of (or of unknown age)."),
            ("children", T.IntegerType(), "Members under 18 at as_of."),
            *[
                (
                    name,
                    T.BooleanType(),
                    f"Headline {n}: {_HEADLINE_TEXT[n]} (outcomes.md); evidence in headline_evidence.",
                )
                for n, name in HEADLINES.items()
            ],
            ("headline_count", T.IntegerType(), "How many of the ten headlines the family has."),
            (
                "eligible",
                T.BooleanType(),
                "At least three headlines and a dependent child (under 18) or an expectant parent (MATERNITY referral open at as_of).",
            ),
            (
                "open_early_help_case",
                T.BooleanType(),
                "A member is in an early help case open at as_of (any authority; details only from this authority).",
            ),
            (
                "lead_professional",
                T.StringType(),
                "Keyworker of the family's open early help case held by this authority (most recently opened).",
            ),
            ("lead_agency", T.StringType(), "Lead agency of that case."),
            (
                "open_social_care_episodes",
                T.IntegerType(),
                "Children's social care episodes of members open at as_of, held by this authority.",
            ),
            (
                "open_referrals",
                T.IntegerType(),
                "Health referrals of members open at as_of, held by this authority.",
            ),
            (
                "fire_hoarding_concern",
                T.BooleanType(),
                "Fire and rescue recorded a hoarding concern at the family's address (context only, sets no headline).",
            ),
            (
                "fire_deliberate_fire",
                T.BooleanType(),
                "Fire and rescue recorded a deliberate fire at the family's address (context only).",
            ),
            (
                "fire_safe_and_well_visits",
                T.IntegerType(),
                "Safe and well visits at the family's address (context only).",
            ),
            ("current_address", T.StringType(), "The family's latest known address line, as delivered."),
            ("current_postcode", T.StringType(), "Its postcode, normalised."),
            (
                "other_authority_records",
                T.BooleanType(),
                "A member also has records held by another authority (yes/no only; nothing of them is shown).",
            ),
        ),
    ),
    "family_member": (
        "One row per member of each family of the authority.",
        (
            ("family_id", T.StringType(), "Family id (gold family)."),
            ("person_id", T.StringType(), "Person id from linkage, stable from run to run."),
            (
                "forename",
                T.StringType(),
                "Display forename from the person's most recent record held by this authority (else any).",
            ),
            ("surname", T.StringType(), "Display surname, likewise."),
            (
                "dob",
                T.DateType(),
                "Date of birth: the value most of the person's records give (ties: the most recent record's).",
            ),
            ("age", T.IntegerType(), "Age in whole years at as_of."),
            ("role", T.StringType(), "ADULT or CHILD (under 18 at as_of)."),
            ("as_of", T.DateType(), "Reference date of the run."),
        ),
    ),
    "headline_evidence": (
        "Why each headline flag is set: one row per member record that satisfies a headline rule.",
        (
            ("family_id", T.StringType(), "Family id."),
            ("headline", T.IntegerType(), "Headline number, 1–10."),
            ("person_id", T.StringType(), "The member the evidence is about."),
            ("feed", T.StringType(), "Feed of the record."),
            (
                "record_key",
                T.StringType(),
                "The record's key (outputs.md); null when the record is held by another authority.",
            ),
            ("event_date", T.DateType(), "Date of the event that meets the rule."),
            (
                "detail",
                T.StringType(),
                "What the record shows; null when the record is held by another authority.",
            ),
            (
                "rule_id",
                T.StringType(),
                "Named rule that raised the evidence (gold.rules), with its version.",
            ),
            ("held_by_this_authority", T.BooleanType(), "The record is this authority's own."),
            ("as_of", T.DateType(), "Reference date of the run."),
        ),
    ),
    "child_timeline": (
        "A single view of each child: every event of the authority's own records, by date.",
        (
            ("person_id", T.StringType(), "The child (under 18 at as_of)."),
            ("family_id", T.StringType(), "The child's family."),
            ("event_date", T.DateType(), "Date of the event."),
            ("feed", T.StringType(), "Feed of the record."),
            (
                "event_type",
                T.StringType(),
                "What happened (incident type and role, census term, service, benefit, status, episode type, ...).",
            ),
            ("detail", T.StringType(), "More about the event."),
            ("record_key", T.StringType(), "The record's key (outputs.md)."),
            ("as_of", T.DateType(), "Reference date of the run."),
        ),
    ),
    "publication": (
        "One row: the as_of whose four tables (family, family_member, headline_evidence, child_timeline) are complete for this authority. Written after them; a report whose family.as_of differs from this as_of is reading a publication in progress.",
        (
            ("authority", T.StringType(), "Authority code (feeds.md)."),
            ("as_of", T.DateType(), "Reference date of the complete publication."),
            (
                "run_id",
                T.StringType(),
                "The pipeline (or rights) run that published it (its start time and a hash).",
            ),
            ("families", T.IntegerType(), "Rows of family in the publication."),
            ("family_members", T.IntegerType(), "Rows of family_member in the publication."),
            ("headline_evidence_rows", T.IntegerType(), "Rows of headline_evidence in the publication."),
            ("child_timeline_rows", T.IntegerType(), "Rows of child_timeline in the publication."),
        ),
    ),
}


def schema(table: str) -> T.StructType:
    return T.StructType(
        [T.StructField(name, dtype, True, {"comment": text}) for name, dtype, text in TABLES[table][1]]
    )
