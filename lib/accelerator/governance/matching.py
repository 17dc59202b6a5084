"""Matching rows, lines and files against subjects (``subject.Subject``): what erasure removes and
subject access exports.

Tables are matched by joins with small frames of the subjects' values (:class:`Needles`), never by
literals in a query: a literal sits in Spark's query plans, its logs and Delta's commit info. Raw
text (quarantined lines, landing files, stray files) is matched on the driver.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from accelerator.feeds import FEEDS
from accelerator.governance.subject import Subject, fold_name, ids_frame, rel, scope
from accelerator.io.frames import local_frame

# --------------------------------------------------------------------------- raw text


def _fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return line.split(",")


def line_matches(line: str | None, feed: str | None, authority: str, subject: Subject) -> bool:
    """Whether a raw delivered line (quarantine, landing) is about the subject: it holds one of
    their identifiers in any spelling (spaces, hyphens, case), one of their partner references, or
    their forename and surname as fields, unless it also holds a valid identifier that is someone
    else's (a namesake)."""
    return LineMatcher([subject]).matches(line, feed, authority)


def _foreign_identifier(fields: list[str], subject: Subject) -> bool:
    """Whether a field is a valid identifier that is not the subject's."""
    from accelerator.identifiers import normalise_nhs, normalise_nino, normalise_upn

    for f in fields:
        for norm, mine in ((normalise_nhs, subject.nhs), (normalise_upn, subject.upn)):
            v = norm(f)
            if v is not None and v not in mine:
                return True
        v = normalise_nino(f)
        if v is not None and v[:8] not in subject.nino8:
            return True
    return False


class LineMatcher:
    """Whether a raw line is about any of many subjects (:func:`line_matches` of each), with what
    the subjects share gathered once and each line read once: one compiled pattern of every
    identifier, the partner references and record keys of each (authority, feed) merged, names
    looked up by forename. An erasure of fifty people reads landing and quarantine once, not fifty
    times."""

    def __init__(self, subjects: Iterable[Subject]) -> None:
        self.subjects = list(subjects)
        needles = sorted({n for s in self.subjects for n in s.needles()}, key=lambda n: (-len(n), n))
        self._always = "" in needles  # an empty needle is in every text, as `"" in text` is
        self._needles = re.compile("|".join(re.escape(n) for n in needles if n)) if any(needles) else None
        self._by_name: dict[str, dict[str, list[Subject]]] = {}
        for sub in self.subjects:
            for fore, sur in sub.names:
                self._by_name.setdefault(fore, {}).setdefault(sur, []).append(sub)
        self._refs: dict[tuple[str, str], set[str]] = {}
        self._keys: dict[tuple[str, str], list[tuple[str, ...]]] = {}

    def _refs_of(self, authority: str, feed: str) -> set[str]:
        if (authority, feed) not in self._refs:
            self._refs[authority, feed] = {r for s in self.subjects for r in s.refs_of(authority, feed)}
        return self._refs[authority, feed]

    def _keys_of(self, authority: str, feed: str) -> list[tuple[str, ...]]:
        if (authority, feed) not in self._keys:
            keys = {k for s in self.subjects for k in s.keys_of(authority, feed)}
            self._keys[authority, feed] = sorted(tuple(p.upper() for p in k.split("|")) for k in keys)
        return self._keys[authority, feed]

    def matches(self, line: str | None, feed: str | None, authority: str) -> bool:
        if not line:
            return False
        if self._always:
            return True
        if self._needles is not None and self._needles.search(re.sub(r"[^0-9A-Z]", "", line.upper())):
            return True
        fields = [f.strip() for f in _fields(line)]
        upper = {f.upper() for f in fields}
        if feed is not None and feed in FEEDS:
            if upper & self._refs_of(authority, feed):
                return True
            # a rejected version of one of the person's records: every key field is on the line
            if any(all(p in upper for p in parts) for parts in self._keys_of(authority, feed)):
                return True
        folded = {n for f in fields if (n := fold_name(f)) is not None}
        named = {
            id(sub): sub
            for fore in folded & self._by_name.keys()
            for sur, subs in self._by_name[fore].items()
            if sur in folded
            for sub in subs
        }
        return any(not _foreign_identifier(fields, sub) for sub in named.values())


def mentions_any(data: bytes, subjects: Iterable[Subject]) -> bool:
    """Whether the bytes of a file hold an identifier or a name of any of the subjects (the text
    is read once, whatever their number)."""
    subs = list(subjects)
    text = data.decode("utf-8", errors="replace")
    compact = re.sub(r"[^0-9A-Z]", "", text.upper())
    if any(n in compact for s in subs for n in s.needles()):
        return True
    words = {fold_name(w) for w in re.split(r"[\s,;|\"'{}\[\]:]+", text)} - {None}
    return any(f in words and n in words for s in subs for f, n in s.names)


# --------------------------------------------------------------------------- matching rows


_SEQ = itertools.count()


def _compact(c: Column) -> Column:
    return F.regexp_replace(F.upper(c.cast("string")), "[^0-9A-Z]", "")


@dataclass(frozen=True)
class Needles:
    """What identifies a set of subjects, as small frames to join tables against (one column
    ``v``, or the columns named): no identifier is ever a literal in a query."""

    person_ids: DataFrame
    nodes: DataFrame
    records: DataFrame  # authority, feed, record_key
    refs: DataFrame  # "<scope>:<REF>"
    nhs: DataFrame
    upn: DataFrame
    nino8: DataFrame
    name_dobs: DataFrame  # _f, _s, _d (date)
    empty: bool

    @classmethod
    def of(cls, spark: SparkSession, subjects: Iterable[Subject]) -> Needles:
        subs = list(subjects)

        def frame(values: Iterable[str]) -> DataFrame:
            return ids_frame(spark, values)

        recs = sorted({r for s in subs for r in s.records})
        nd = sorted({n for s in subs for n in s.name_dobs})
        return cls(
            person_ids=frame(p for s in subs for p in s.person_ids),
            nodes=frame(n for s in subs for n in s.nodes),
            records=local_frame(spark, recs, "authority string, feed string, record_key string"),
            refs=frame(r for s in subs for r in s.refs),
            nhs=frame(v for s in subs for v in s.nhs),
            upn=frame(v for s in subs for v in s.upn),
            nino8=frame(v for s in subs for v in s.nino8),
            name_dobs=local_frame(
                spark, [(f, s, date.fromisoformat(d)) for f, s, d in nd], "_f string, _s string, _d date"
            ),
            empty=not any(s.person_ids for s in subs),
        )


def feed_of(root: str, path: str) -> tuple[str, str, str] | None:
    """(layer, authority, feed) of ``bronze|silver/<authority>/<feed>``."""
    parts = rel(root, path).split("/")
    if len(parts) == 3 and parts[0] in ("bronze", "silver") and parts[2] in FEEDS:
        return parts[0], parts[1], parts[2]
    return None


def _anti(df: DataFrame, expr: Column, needles: DataFrame) -> DataFrame:
    """``df`` without the rows whose ``expr`` equals a needle (nulls never match). The needle
    column gets a fresh name each time, so one needle frame joins many times in one plan."""
    name = f"_needle{next(_SEQ)}"
    return df.join(F.broadcast(needles.select(F.col("v").alias(name))), expr == F.col(name), "left_anti")


def _anti_name_dob(df: DataFrame, fore: Column, sur: Column, dob: Column, needles: DataFrame) -> DataFrame:
    n = next(_SEQ)
    f, s, d = f"_nf{n}", f"_ns{n}", f"_nd{n}"
    nd = F.broadcast(needles.select(F.col("_f").alias(f), F.col("_s").alias(s), F.col("_d").alias(d)))
    return df.join(nd, (fore == F.col(f)) & (sur == F.col(s)) & (dob == F.col(d)), "left_anti")


def without_subjects(root: str, path: str, df: DataFrame, needles: Needles) -> DataFrame | None:
    """The rows of the table at ``path`` (read as ``df``) that are about none of the subjects,
    by every column that can tell: record keys, partner references, identifier columns (delivered
    or validated, any spelling), forename + surname + date of birth (delivered or standardised),
    linkage node keys and person ids. None: the table has no such column (it cannot hold them)."""
    cols = set(df.columns)
    keep = df
    used = False
    where = feed_of(root, path)
    if where is not None and "record_key" in cols:
        layer, authority, feed = where
        spec = FEEDS[feed]
        mine = needles.records.where((F.col("authority") == authority) & (F.col("feed") == feed))
        keep = _anti(keep, F.col("record_key"), mine.select(F.col("record_key").alias("v")))
        ref_col = spec.person_ref
        if ref_col and ref_col in cols:
            qualified = F.concat(F.lit(scope(feed, authority) + ":"), F.upper(F.trim(F.col(ref_col))))
            keep = _anti(keep, qualified, needles.refs)
        if spec.person_level:
            names = spec.person_columns
            if {"person_forename_match", "person_surname_match", "person_dob"} <= cols:
                fore, sur, dob = (
                    F.col(c) for c in ("person_forename_match", "person_surname_match", "person_dob")
                )
            else:
                from accelerator.silver.standardise import name_match, parse_date

                fore, sur = name_match(F.col(names["forename"])), name_match(F.col(names["surname"]))
                raw = F.col(names["dob"])
                dob = parse_date(raw) if layer == "bronze" else raw.cast("date")
            keep = _anti_name_dob(keep, fore, sur, dob, needles.name_dobs)
        used = True
    elif {"authority", "feed", "record_key"} <= cols:
        node = F.concat_ws("|", "authority", "feed", "record_key")
        keep, used = _anti(keep, node, needles.nodes), True
    if where is None and {"person_forename_match", "person_surname_match", "person_dob"} <= cols:
        fore, sur, dob = (F.col(c) for c in ("person_forename_match", "person_surname_match", "person_dob"))
        keep, used = _anti_name_dob(keep, fore, sur, dob, needles.name_dobs), True
    for c in ("person_id", "new_id", "retired_id", "survivor_id"):
        if c in cols:
            keep, used = _anti(keep, F.col(c), needles.person_ids), True
    if "old_ids" in cols:
        name = f"_needle{next(_SEQ)}"
        ids = F.broadcast(needles.person_ids.select(F.col("v").alias(name)))
        keep, used = keep.join(ids, F.array_contains(F.col("old_ids"), F.col(name)), "left_anti"), True
    for c in ("unique_id_l", "unique_id_r", "unique_id"):
        if c in cols:
            keep, used = _anti(keep, F.col(c), needles.nodes), True
    for c, values in (("nhs_number", needles.nhs), ("upn", needles.upn)):
        for name in (c, f"{c}_valid"):
            if name in cols:
                keep, used = _anti(keep, _compact(F.col(name)), values), True
    for name in ("nino", "nino_valid"):
        if name in cols:
            keep, used = _anti(keep, F.substring(_compact(F.col(name)), 1, 8), needles.nino8), True
    if "person_ref" in cols and where is None:
        keep, used = _anti(keep, F.col("person_ref"), needles.refs), True
    return keep if used else None


def quarantine_hits(spark: SparkSession, df: DataFrame, authority: str, subjects: list[Subject]) -> DataFrame:
    """The keys (delivery_id, source_file, line_number) of the quarantined lines about a subject:
    the raw line is matched on the driver (``line_matches``), never in a query."""
    import pandas as pd

    pdf: pd.DataFrame = df.select("feed", "delivery_id", "source_file", "line_number", "raw_line").toPandas()
    matcher = LineMatcher(subjects)
    hit = [matcher.matches(r.raw_line, r.feed, authority) for r in pdf.itertuples(index=False)]
    keys = pdf.loc[hit, ["delivery_id", "source_file", "line_number"]]
    # a pandas frame: a local relation (io/frames.local_frame)
    return F.broadcast(spark.createDataFrame(keys, "delivery_id string, source_file string, line_number int"))
