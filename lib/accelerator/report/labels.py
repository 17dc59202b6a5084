"""Reviewers' decisions on borderline pairs: ``silver/<a>/linkage_labels``.

An authority's custodians review the pairs of ``silver/<a>/_review/`` (both records held by that
authority) and return a CSV; the pipeline loads it with ``accelerator linkage labels --authority A
--file labels.csv``. The table sits under the authority's own silver area: the decisions are about
its records only, its custodians can read them back, and erasure finds them by their
``unique_id_l`` / ``unique_id_r`` columns like every linkage row.

The CSV (Splink's labels format, dedupe): a header, then one row per reviewed pair::

    unique_id_l,unique_id_r,clerical_match_score
    bury|police_incidents|INC1|P1,bury|health_services|R9,1

``clerical_match_score`` is 1 (the same person), 0 (not) or a confidence between. A file with any
bad row is refused whole, every problem listed with its line: a pair of another authority, a pair
the model never scored (not in ``person_links``), a score outside [0, 1], a repeated pair.

Grain: one row per pair (ids ordered as ``person_links`` stores them); a later decision on a pair
replaces the earlier one. Commit point: the one MERGE.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from accelerator.feeds import AUTHORITIES
from accelerator.io import tables
from accelerator.io.lake import Lake

LABEL_SCHEMA = T.StructType(
    [
        tables.column("unique_id_l", T.StringType(), "authority|feed|record_key of one record"),
        tables.column("unique_id_r", T.StringType(), "authority|feed|record_key of the other"),
        tables.column("clerical_match_score", T.DoubleType(), "1 the same person, 0 not"),
        tables.column("run_id", T.StringType(), "the run that loaded the decision"),
        tables.column("source_file", T.StringType(), "the file it came from (its name only)"),
    ]
)
LABEL_STATS = ("run_id",)
HEADER = ("unique_id_l", "unique_id_r", "clerical_match_score")


class LabelsError(ValueError):
    """A labels file that cannot be loaded: every problem, with its line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("labels refused:\n  " + "\n  ".join(problems))


def labels_path(lake_root: str, authority: str) -> str:
    return Lake(lake_root).silver(authority, "linkage_labels")


@dataclass(frozen=True)
class Loaded:
    authority: str
    pairs: int
    same_person: int


def parse_labels(text: str, authority: str) -> pd.DataFrame:
    """The rows of a labels CSV (unique_id_l, unique_id_r, clerical_match_score), or
    :class:`LabelsError` listing every bad line. Pure: the pairs are checked against the lake by
    :func:`load_labels`."""
    if authority not in AUTHORITIES:
        raise LabelsError([f"unknown authority {authority!r}"])
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:3]) != HEADER:
        raise LabelsError([f"line 1: expected the header {','.join(HEADER)}, got {header!r}"])
    rows: list[tuple[str, str, float]] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    prefix = f"{authority}|"
    for n, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) < 3:
            problems.append(f"line {n}: expected 3 fields, got {len(fields)}")
            continue
        a, b, s = (f.strip() for f in fields[:3])
        if not (a.startswith(prefix) and b.startswith(prefix)):
            problems.append(f"line {n}: both records must be held by {authority}")
            continue
        try:
            score = float(s)
        except ValueError:
            problems.append(f"line {n}: clerical_match_score {s!r} is not a number")
            continue
        if not 0.0 <= score <= 1.0:
            problems.append(f"line {n}: clerical_match_score {score} is outside [0, 1]")
            continue
        pair = (a, b)
        if a == b:
            problems.append(f"line {n}: a record paired with itself")
            continue
        if pair in seen or (b, a) in seen:
            problems.append(f"line {n}: the same pair as line {seen.get(pair) or seen[(b, a)]}")
            continue
        seen[pair] = n
        rows.append((*pair, score))
    if problems:
        raise LabelsError(problems)
    if not rows:
        raise LabelsError(["the file holds no decision"])
    return pd.DataFrame(rows, columns=list(HEADER))


def load_labels(
    spark: SparkSession, lake_root: str, authority: str, text: str, *, run_id: str, source_file: str
) -> Loaded:
    """Check every pair is a scored pair in ``person_links``, then MERGE the decisions (the commit
    point). Nothing is written when any pair is unknown."""
    parsed = parse_labels(text, authority)
    lake = Lake(lake_root)
    links = tables.read(spark, lake.platform("person_links"))
    if links is None:
        raise LabelsError(["no person_links yet: run the pipeline first"])
    src = spark.createDataFrame(
        [
            (r.unique_id_l, r.unique_id_r, float(r.clerical_match_score), run_id, source_file)
            for r in parsed.itertuples()
        ],
        LABEL_SCHEMA,
    )
    # Splink stores a pair in one order: match either, and keep the stored one.
    stored = links.select("unique_id_l", "unique_id_r")
    flipped = src.select(
        F.col("unique_id_r").alias("unique_id_l"), F.col("unique_id_l").alias("unique_id_r"), *src.columns[2:]
    )
    keys = ["unique_id_l", "unique_id_r"]
    found = src.join(stored, keys).unionByName(flipped.join(stored, keys)).dropDuplicates(keys)
    n_found = found.count()
    if n_found != len(parsed):
        raise LabelsError(
            [f"{len(parsed) - n_found} pair(s) are not scored pairs of person_links (the review's pairs are)"]
        )
    path = labels_path(lake_root, authority)
    tables.create(spark, path, LABEL_SCHEMA, stats=LABEL_STATS, comment="clerical review decisions")
    tables.merge(spark, path, found, on=["unique_id_l", "unique_id_r"])
    return Loaded(authority, len(parsed), int((parsed["clerical_match_score"] >= 0.5).sum()))
