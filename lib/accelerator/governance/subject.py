"""Who a rights request is about: the subject, resolved from a person id or a partner record key.

A *subject* is a platform ``person_id`` together with every other person id whose records carry
one of its strong identifiers (a valid NHS number, UPN or NI number) or partner person references:
linkage may have split one human into two ids, and erasure has to find the person "by identifier
as well as by person" (custodianship.md). ``expand=False`` keeps to the one id.

What identifies a subject is matched against tables, lines and files in ``matching.py``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.io import tables
from accelerator.io.frames import local_frame
from accelerator.io.lake import Lake


class RightsError(ValueError):
    """A request that cannot be carried out as given (unknown person, unsafe reason text)."""


def subject_hash(person_id: str) -> str:
    """How the audit names a person: the person id is pseudonymous; its hash lets a custodian who
    holds the request find the audit rows without the audit holding the id itself."""
    return hashlib.sha256(f"person:{person_id}".encode()).hexdigest()


def fold_name(s: object) -> str | None:
    """Python twin of ``silver.standardise.name_match``: upper-case ASCII letters only."""
    if s is None or (isinstance(s, float) and pd.isna(s)):
        return None
    t = unicodedata.normalize("NFKD", str(s)).replace("ß", "ss").replace("æ", "ae").replace("Æ", "AE")
    t = re.sub(r"[^A-Z]", "", "".join(c for c in t if not unicodedata.combining(c)).upper())
    return t or None


def scope(feed: str, authority: str) -> str:
    """The namespace of a partner person reference (as in ``person_record.person_ref``)."""
    return feed if feed in ("police_incidents", "probation") else f"{authority}:{feed}"


@dataclass(frozen=True)
class Subject:
    """A person as the platform knows them: ids, records and what identifies them."""

    person_id: str
    person_ids: frozenset[str]
    records: frozenset[tuple[str, str, str]]  # (authority, feed, record_key)
    nhs: frozenset[str] = frozenset()
    upn: frozenset[str] = frozenset()
    nino8: frozenset[str] = frozenset()  # first 8 characters: the suffix is optional
    refs: frozenset[str] = frozenset()  # "<scope>:<REF>" as in person_record.person_ref
    names: frozenset[tuple[str, str]] = frozenset()  # (forename, surname) in match form
    name_dobs: frozenset[tuple[str, str, str]] = frozenset()  # (forename, surname, ISO dob)
    family_ids: frozenset[str] = frozenset()

    @property
    def nodes(self) -> frozenset[str]:
        """Linkage node keys (``authority|feed|record_key``)."""
        return frozenset("|".join(r) for r in self.records)

    def keys_of(self, authority: str, feed: str) -> set[str]:
        return {k for a, f, k in self.records if a == authority and f == feed}

    def refs_of(self, authority: str, feed: str) -> set[str]:
        prefix = scope(feed, authority) + ":"
        return {r[len(prefix) :] for r in self.refs if r.startswith(prefix)}

    def needles(self) -> list[str]:
        """Identifier strings whose presence in any text means the subject (compact, upper)."""
        return sorted(self.nhs | self.upn | self.nino8)

    def to_json(self) -> dict[str, object]:
        """Plain data (the persisted plan of a resumable erasure; erased at its end)."""
        return {
            "person_id": self.person_id,
            "person_ids": sorted(self.person_ids),
            "records": sorted(list(r) for r in self.records),
            "nhs": sorted(self.nhs),
            "upn": sorted(self.upn),
            "nino8": sorted(self.nino8),
            "refs": sorted(self.refs),
            "names": sorted(list(n) for n in self.names),
            "name_dobs": sorted(list(n) for n in self.name_dobs),
            "family_ids": sorted(self.family_ids),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> Subject:
        def s(k: str) -> frozenset[str]:
            v = d.get(k) or []
            assert isinstance(v, list)
            return frozenset(str(x) for x in v)

        def t(k: str) -> frozenset[tuple[str, ...]]:
            v = d.get(k) or []
            assert isinstance(v, list)
            return frozenset(tuple(str(y) for y in x) for x in v)

        return cls(
            person_id=str(d["person_id"]),
            person_ids=s("person_ids"),
            records=t("records"),  # type: ignore[arg-type]
            nhs=s("nhs"),
            upn=s("upn"),
            nino8=s("nino8"),
            refs=s("refs"),
            names=t("names"),  # type: ignore[arg-type]
            name_dobs=t("name_dobs"),  # type: ignore[arg-type]
            family_ids=s("family_ids"),
        )


# --------------------------------------------------------------------------- resolution


def redirects(spark: SparkSession, lake: Lake) -> dict[str, str]:
    df = tables.read(spark, lake.platform("person_id_redirects"))
    if df is None:
        return {}
    return {r.retired_id: r.survivor_id for r in df.select("retired_id", "survivor_id").collect()}


def current_id(person_id: str, redirect: Mapping[str, str]) -> str:
    seen = set()
    while person_id in redirect and person_id not in seen:
        seen.add(person_id)
        person_id = redirect[person_id]
    return person_id


def ids_frame(spark: SparkSession, values: Iterable[str], name: str = "v") -> DataFrame:
    return local_frame(spark, [(v,) for v in sorted(set(values))], f"{name} string")


def resolve_person(
    spark: SparkSession,
    lake_root: str,
    *,
    person_id: str | None = None,
    authority: str | None = None,
    feed: str | None = None,
    record_key: str | None = None,
) -> str:
    """The current person id of a person id (retired ids are followed to their survivor) or of a
    partner record key (authority, feed, record_key as in outputs.md)."""
    lake = Lake(lake_root)
    xref = tables.read(spark, lake.platform("person_xref"))
    if xref is None:
        raise RightsError("the lake has no person_xref: nothing is linked yet")
    if person_id is None:
        if not (authority and feed and record_key):
            raise RightsError("give a person id, or an authority, feed and record key")
        wanted = local_frame(
            spark, [(authority, feed, record_key)], "authority string, feed string, record_key string"
        )
        rows = (
            xref.join(wanted, ["authority", "feed", "record_key"], "left_semi").select("person_id").collect()
        )
        if not rows:
            raise RightsError(f"no person-level record {authority}/{feed} with that record key")
        person_id = str(rows[0].person_id)
    pid = current_id(person_id, redirects(spark, lake))
    if not xref.join(ids_frame(spark, [pid], "person_id"), "person_id", "left_semi").limit(1).collect():
        raise RightsError(f"no records for person {person_id}")
    return pid


def find_subjects(
    spark: SparkSession, lake_root: str, person_ids: Sequence[str], *, expand: bool = True
) -> list[Subject]:
    """For each person id, everything that identifies them: their records (person_xref) and, from
    those records, valid identifiers, partner references, names and dates of birth. With
    ``expand``, every other person id holding one of those identifiers or references joins, until
    nothing new is found. The linkage tables are read once for all of them."""
    lake = Lake(lake_root)
    rows = _identity_rows(spark, lake)
    redirect = redirects(spark, lake)
    fam = tables.read(spark, lake.platform("family_member"))
    members = fam.select("person_id", "family_id").distinct().toPandas() if fam is not None else None
    return [_subject(person_id, rows, redirect, members, expand=expand) for person_id in person_ids]


RECORD_KEY = ["authority", "feed", "record_key"]
IDENTIFYING = ("nhs_number_valid", "upn_valid", "nino8", "person_ref")
"""The columns whose values, shared, make two person ids one subject (``find_subjects``)."""


def _identity_rows(spark: SparkSession, lake: Lake) -> pd.DataFrame:
    """Every record's key, person id, valid identifiers (the NI number's first eight characters in
    ``nino8``), partner reference, matching names and date of birth (one small read, in pandas)."""
    xref = tables.read(spark, lake.platform("person_xref"))
    records = tables.read(spark, lake.platform("person_record"))
    if xref is None or records is None:
        raise RightsError("the lake has no linkage tables yet")
    pdf: pd.DataFrame = (
        records.select(
            *RECORD_KEY,
            "person_ref",
            "nhs_number_valid",
            "upn_valid",
            "nino_valid",
            "person_forename_match",
            "person_surname_match",
            F.date_format("person_dob", "yyyy-MM-dd").alias("dob"),
        )
        .join(xref.select(*RECORD_KEY, "person_id"), RECORD_KEY, "left")
        .toPandas()
    )
    pdf["nino8"] = pdf["nino_valid"].str.slice(0, 8)
    return pdf


def _linked(rows: pd.DataFrame, person_id: str, *, expand: bool) -> tuple[set[str], pd.DataFrame]:
    """The person ids of one subject and their records: ``person_id``'s, and with ``expand`` every
    person id sharing an identifying value with them, until nothing new is found."""
    ids = {person_id}
    while True:
        mine = rows[rows["person_id"].isin(ids)]
        if not expand:
            return ids, mine
        hit = pd.Series(False, index=rows.index)
        for c in IDENTIFYING:
            hit |= rows[c].isin(set(mine[c].dropna()))
        more = set(rows.loc[hit, "person_id"].dropna()) - ids
        if not more:
            return ids, mine
        ids |= more


def _names(mine: pd.DataFrame) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    """The (forename, surname) and (forename, surname, date of birth) the records give."""
    names, name_dobs = set(), set()
    for f, s, d in zip(mine["person_forename_match"], mine["person_surname_match"], mine["dob"], strict=True):
        if isinstance(f, str) and isinstance(s, str):
            names.add((f, s))
            if isinstance(d, str):
                name_dobs.add((f, s, d))
    return names, name_dobs


def _subject(
    person_id: str,
    rows: pd.DataFrame,
    redirect: dict[str, str],
    members: pd.DataFrame | None,
    *,
    expand: bool,
) -> Subject:
    ids, mine = _linked(rows, person_id, expand=expand)
    ids |= {old for old, new in redirect.items() if current_id(new, redirect) in ids}
    nhs, upn, nino8, refs = (frozenset(mine[c].dropna()) for c in IDENTIFYING)
    names, name_dobs = _names(mine)
    families = set(members.loc[members["person_id"].isin(ids), "family_id"]) if members is not None else set()
    return Subject(
        person_id=person_id,
        person_ids=frozenset(ids),
        records=frozenset(
            (r.authority, r.feed, r.record_key) for r in mine[RECORD_KEY].itertuples(index=False)
        ),
        nhs=nhs,
        upn=upn,
        nino8=nino8,
        refs=refs,
        names=frozenset(names),
        name_dobs=frozenset(name_dobs),
        family_ids=frozenset(str(x) for x in families),
    )


def find_subject(spark: SparkSession, lake_root: str, person_id: str, *, expand: bool = True) -> Subject:
    """:func:`find_subjects` for one person."""
    return find_subjects(spark, lake_root, [person_id], expand=expand)[0]


def check_reason(reason: str, subjects: Iterable[Subject]) -> None:
    """The audit keeps the reason: it must not carry what is being erased or restricted."""
    compact = re.sub(r"[^0-9A-Z]", "", reason.upper())
    words = {fold_name(w) for w in re.split(r"\s+", reason)} - {None}
    for subject in subjects:
        if (
            any(n in compact for n in subject.needles())
            or any(f in words and s in words for f, s in subject.names)
            or any(p in reason for p in subject.person_ids)
        ):
            raise RightsError("the reason must not contain the person's id, identifiers or names")


def rel(root: str, path: str) -> str:
    """A path relative to the lake root (how tables are named in exports and the audit)."""
    r = root.rstrip("/")
    return path[len(r) + 1 :] if path.startswith(r + "/") else path
