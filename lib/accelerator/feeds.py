"""The partner feeds of ``shared/spec/feeds.md`` as named data.

Everything that knows a feed's columns, keys, required fields, dates or event date reads it from
``FEEDS``: bronze (validation, record keys), silver (typing), linkage and gold, and the generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["string", "date", "int", "decimal", "code", "yn"]

AUTHORITIES: Mapping[str, tuple[str, str]] = {
    "bolton": ("Bolton", "E08000001"),
    "bury": ("Bury", "E08000002"),
    "manchester": ("Manchester", "E08000003"),
    "oldham": ("Oldham", "E08000004"),
    "rochdale": ("Rochdale", "E08000005"),
    "salford": ("Salford", "E08000006"),
    "stockport": ("Stockport", "E08000007"),
    "tameside": ("Tameside", "E08000008"),
    "trafford": ("Trafford", "E08000009"),
    "wigan": ("Wigan", "E08000010"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind = "string"
    required: bool = False
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedSpec:
    """One feed of feeds.md.

    ``key`` gives the record_key columns in outputs.md order; ``event_date`` is the column that dates
    a record for addresses and windows (outcomes.md), ``None`` for school_census whose event date is
    the end of its census term. ``person_ref`` is the partner's own person reference, if any.
    Name/date-of-birth/sex column names differ per feed and are mapped by ``person_columns``.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str | None
    person_level: bool = True
    person_ref: str | None = None
    person_columns: Mapping[str, str] = field(default_factory=dict)
    upper_key_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date")

    @property
    def required_dates(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date" and c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, kind: ColumnKind = "string", *, req: bool = False, codes: str = "") -> Column:
    return Column(name, kind, req, tuple(codes.split()) if codes else ())


_STD_PERSON = {"forename": "forename", "surname": "surname", "dob": "dob", "sex": "gender"}

FEEDS: Mapping[str, FeedSpec] = {
    f.name: f
    for f in (
        FeedSpec(
            "police_incidents",
            (
                _c("incident_ref", req=True),
                _c("person_ref", req=True),
                _c("role", "code", codes="OFFENDER SUSPECT VICTIM WITNESS"),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("sex", "code", codes="M F U"),
                _c("address"),
                _c("postcode"),
                _c("incident_date", "date", req=True),
                _c("incident_type", "code", codes="CRIME ASB"),
                _c(
                    "offence_group",
                    "code",
                    codes="VIOLENCE SEXUAL ROBBERY THEFT CRIMINAL_DAMAGE DRUGS WEAPONS PUBLIC_ORDER OTHER",
                ),
                _c("domestic_abuse", "yn"),
            ),
            key=("incident_ref", "person_ref"),
            event_date="incident_date",
            person_ref="person_ref",
            person_columns={"forename": "forename", "surname": "surname", "dob": "dob", "sex": "sex"},
        ),
        FeedSpec(
            "school_census",
            (
                _c("upn", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("gender", "code", codes="M F"),
                _c("address"),
                _c("postcode"),
                _c("school_urn"),
                _c("census_term", "code", req=True),
                _c("sessions_possible", "int"),
                _c("sessions_authorised_absence", "int"),
                _c("sessions_unauthorised_absence", "int"),
                _c("suspensions", "int"),
                _c("permanent_exclusion", "yn"),
                _c("sen_provision", "code", codes="N K E"),
                _c("fsm_eligible", "yn"),
            ),
            key=("upn", "census_term"),
            event_date=None,
            person_columns=_STD_PERSON,
            upper_key_columns=("upn",),
        ),
        FeedSpec(
            "health_services",
            (
                _c("referral_id", req=True),
                _c("nhs_number"),
                _c("given_name"),
                _c("family_name"),
                _c("birth_date", "date"),
                _c("sex", "code", codes="1 2 9"),
                _c("address"),
                _c("postcode"),
                _c(
                    "service",
                    "code",
                    codes="MENTAL_HEALTH SUBSTANCE_MISUSE MATERNITY HEALTH_VISITING AE_ATTENDANCE",
                ),
                _c("referral_date", "date", req=True),
                _c("discharge_date", "date"),
                _c("outcome", "code", codes="ON_TRACK BELOW_EXPECTED NO_CONCERN CONCERN"),
            ),
            key=("referral_id",),
            event_date="referral_date",
            person_columns={
                "forename": "given_name",
                "surname": "family_name",
                "dob": "birth_date",
                "sex": "sex",
            },
        ),
        FeedSpec(
            "dwp_benefits",
            (
                _c("award_id", req=True),
                _c("nino"),
                _c("first_name"),
                _c("last_name"),
                _c("date_of_birth", "date"),
                _c("address"),
                _c("postcode"),
                _c("benefit", "code", codes="UC ESA JSA PIP CARERS"),
                _c("work_status", "code", codes="IN_WORK OUT_OF_WORK NO_WORK_REQUIREMENT"),
                _c("award_start", "date", req=True),
                _c("award_end", "date"),
            ),
            key=("award_id",),
            event_date="award_start",
            person_columns={"forename": "first_name", "surname": "last_name", "dob": "date_of_birth"},
        ),
        FeedSpec(
            "housing",
            (
                _c("case_ref", req=True),
                _c("member_no", "int", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("relationship", "code", codes="LEAD PARTNER CHILD OTHER"),
                _c("uprn"),
                _c("address"),
                _c("postcode"),
                _c(
                    "status",
                    "code",
                    codes="HOMELESS_PREVENTION HOMELESS_RELIEF TEMPORARY_ACCOMMODATION RENT_ARREARS "
                    "NOTICE_SEEKING_POSSESSION EVICTED SETTLED",
                ),
                _c("status_date", "date", req=True),
                _c("arrears_amount", "decimal"),
            ),
            key=("case_ref", "status_date", "member_no"),
            event_date="status_date",
            person_columns={"forename": "forename", "surname": "surname", "dob": "dob"},
        ),
        FeedSpec(
            "childrens_social_care",
            (
                _c("episode_id", req=True),
                _c("child_ref", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("gender", "code", codes="M F U"),
                _c("nhs_number"),
                _c("upn"),
                _c("uprn"),
                _c("address"),
                _c("postcode"),
                _c("episode_type", "code", codes="CIN CP CLA MISSING EXPLOITATION_RISK"),
                _c("category", "code", codes="NEGLECT EMOTIONAL PHYSICAL SEXUAL MULTIPLE"),
                _c("start_date", "date", req=True),
                _c("end_date", "date"),
            ),
            key=("episode_id",),
            event_date="start_date",
            person_ref="child_ref",
            person_columns=_STD_PERSON,
        ),
        FeedSpec(
            "early_help",
            (
                _c("family_case_ref", req=True),
                _c("person_ref", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("role", "code", codes="MAIN_CARER PARENT CHILD OTHER_ADULT"),
                _c("uprn"),
                _c("address"),
                _c("postcode"),
                _c("lead_professional"),
                _c("lead_agency"),
                _c("case_open_date", "date", req=True),
                _c("case_close_date", "date"),
                _c("presenting_needs"),
                _c("consent_to_share", "yn"),
            ),
            key=("family_case_ref", "person_ref"),
            event_date="case_open_date",
            person_ref="person_ref",
            person_columns={"forename": "forename", "surname": "surname", "dob": "dob"},
        ),
        FeedSpec(
            "youth_justice",
            (
                _c("yjs_ref", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("gender", "code", codes="M F U"),
                _c("address"),
                _c("postcode"),
                _c(
                    "outcome_type",
                    "code",
                    codes="YOUTH_CAUTION YOUTH_CONDITIONAL_CAUTION REFERRAL_ORDER YRO CUSTODY",
                ),
                _c("offence_date", "date"),
                _c("outcome_date", "date", req=True),
            ),
            key=("yjs_ref", "outcome_date"),
            event_date="outcome_date",
            person_ref="yjs_ref",
            person_columns=_STD_PERSON,
        ),
        FeedSpec(
            "probation",
            (
                _c("crn", req=True),
                _c("forename"),
                _c("surname"),
                _c("dob", "date"),
                _c("gender", "code", codes="M F U"),
                _c("address"),
                _c("postcode"),
                _c("sentence_type", "code", codes="COMMUNITY CUSTODY LICENCE"),
                _c("start_date", "date", req=True),
                _c("end_date", "date"),
                _c("da_perpetrator", "yn"),
            ),
            key=("crn", "start_date"),
            event_date="start_date",
            person_ref="crn",
            person_columns=_STD_PERSON,
        ),
        FeedSpec(
            "fire_rescue",
            (
                _c("visit_ref", req=True),
                _c("uprn"),
                _c("address"),
                _c("postcode"),
                _c("visit_type", "code", codes="SAFE_AND_WELL DELIBERATE_FIRE HOARDING_CONCERN"),
                _c("visit_date", "date", req=True),
            ),
            key=("visit_ref",),
            event_date="visit_date",
            person_level=False,
        ),
    )
}

PERSON_FEEDS: tuple[str, ...] = tuple(name for name, f in FEEDS.items() if f.person_level)
