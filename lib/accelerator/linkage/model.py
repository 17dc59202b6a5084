"""The probabilistic person model (Splink), its input columns and its two backends.

Input: one row per person-level record (``silver/_platform/person_record``) prepared by
:func:`prepare` into plain strings and integers, so that the same SQL runs on DuckDB (the driver,
fast at feed scale) and on Spark (the scale-out path on Synapse).

Evidence (outcomes.md "People"), strongest first:

1. a shared valid NHS number, UPN or NI number: a comparison with fixed, large but finite weight;
   a *different* valid identifier of the same kind is strong evidence against (twins);
2. the same partner reference within one partner: fixed, large weight;
3. names, date of birth, sex and address: m probabilities estimated from record pairs that share
   a valid identifier (not from EM, which on household data learns "same household" rather than
   "same person"), u probabilities from random pairs, term-frequency adjusted names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import operator
import re
from collections.abc import Sequence
from functools import reduce
from typing import Any, Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from accelerator.linkage.nicknames import NICKNAMES

MODEL_VERSION = "person-model-1"
Backend = Literal["duckdb", "spark"]

PREPARED_COLUMNS = (
    "unique_id",
    "authority",
    "feed",
    "record_key",
    "forename",
    "surname",
    "forename_canon",
    "dob",
    "dob_days",
    "dob_swap",
    "sex",
    "postcode",
    "outward",
    "address",
    "house_street",
    "uprn",
    "nhs",
    "upn",
    "nino",
    "ref",
    "id_label",
    "is_new",
)


def node_key(authority: Column | str, feed: Column | str, record_key: Column | str) -> Any:
    return F.concat_ws("|", authority, feed, record_key)


DAY_ZERO = "1900-01-01"
"""Dates the model and the clustering take as numbers (``dob_days``, ``event_day``) count days from
this one."""


def _days(c: Column) -> Column:
    return F.datediff(c, F.lit(DAY_ZERO).cast("date"))


def prepare(records: DataFrame, *, new_keys: DataFrame | None = None) -> DataFrame:
    """person_record rows → the model's input columns (one row per record, ``unique_id`` =
    ``authority|feed|record_key``). ``new_keys`` (a frame of unique_id) marks the records an
    incremental run must score; without it every record is new."""
    nick = F.create_map(*[F.lit(x) for k, v in sorted(NICKNAMES.items()) for x in (k, v)])
    fore, sur = F.col("person_forename_match"), F.col("person_surname_match")
    dob = F.col("person_dob")
    # An NI number's suffix letter may be missing (feeds.md): the person is the prefix and the six
    # digits, so ``AB123456C`` and ``AB123456`` are one number, never "different valid" ones.
    nino = F.substring(F.col("nino_valid"), 1, 8)
    out = records.select(
        node_key(F.col("authority"), F.col("feed"), F.col("record_key")).alias("unique_id"),
        "authority",
        "feed",
        "record_key",
        fore.alias("forename"),
        sur.alias("surname"),
        F.coalesce(nick[fore], fore).alias("forename_canon"),
        F.date_format(dob, "yyyy-MM-dd").alias("dob"),
        _days(dob).alias("dob_days"),
        F.when(F.dayofmonth(dob) <= 12, F.date_format(dob, "yyyy-dd-MM")).alias("dob_swap"),
        F.col("person_sex").alias("sex"),
        F.col("postcode_norm").alias("postcode"),
        F.split(F.col("postcode_norm"), " ").getItem(0).alias("outward"),
        F.col("address_norm").alias("address"),
        F.when(
            F.col("address_house_number").isNotNull(),
            F.concat_ws(" ", F.col("address_house_number"), F.col("address_street")),
        ).alias("house_street"),
        F.col("uprn_norm").alias("uprn"),
        # Not compared: the clustering reads it (two homes at once), so it is not in the signature.
        _days(F.col("event_date")).alias("event_day"),
        F.col("nhs_number_valid").alias("nhs"),
        F.col("upn_valid").alias("upn"),
        nino.alias("nino"),
        F.col("person_ref").alias("ref"),
        F.coalesce(F.col("nhs_number_valid"), F.col("upn_valid"), nino).alias("id_label"),
    )
    if new_keys is None:
        return out.withColumn("is_new", F.lit(1))
    flagged = new_keys.select("unique_id", F.lit(1).alias("is_new"))
    return out.join(flagged, "unique_id", "left").withColumn("is_new", F.coalesce("is_new", F.lit(0)))


def _lr(sql: str) -> str:
    """Comparison levels name the two sides ``col_l`` and ``col_r`` (blocking rules use l./r.)."""
    return re.sub(r"\b([lr])\.([a-z_]+)", r"\2_\1", sql)


def _identifier_levels() -> list[Any]:
    kinds = ("nhs", "upn", "nino")
    none_both = " AND ".join(f"(l.{k} IS NULL OR r.{k} IS NULL)" for k in kinds)
    differ = " OR ".join(f"l.{k} <> r.{k}" for k in kinds)
    same = " OR ".join(f"l.{k} = r.{k}" for k in kinds)
    return [
        {"sql_condition": _lr(none_both), "label_for_charts": "no identifier on both", "is_null_level": True},
        {
            "sql_condition": _lr(differ),
            "label_for_charts": "different valid identifier",
            "m_probability": 0.0005,
            "u_probability": 0.9999,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
        {
            "sql_condition": _lr(same),
            "label_for_charts": "same valid identifier",
            "m_probability": 0.9995,
            "u_probability": 0.000001,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
        {
            "sql_condition": "ELSE",
            "label_for_charts": "else",
            "m_probability": 0.5,
            "u_probability": 0.5,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
    ]


def _ref_levels() -> list[Any]:
    return [
        {
            "sql_condition": _lr("l.ref IS NULL OR r.ref IS NULL"),
            "label_for_charts": "no reference",
            "is_null_level": True,
        },
        {
            "sql_condition": _lr("l.ref = r.ref"),
            "label_for_charts": "same partner reference",
            "m_probability": 0.9,
            "u_probability": 0.00001,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
        {
            "sql_condition": _lr("l.feed = r.feed AND l.ref <> r.ref"),
            "label_for_charts": "another reference of the same partner",
            "m_probability": 0.08,
            "u_probability": 0.99,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
        {
            "sql_condition": "ELSE",
            "label_for_charts": "different partners",
            "m_probability": 0.5,
            "u_probability": 0.5,
            "fix_m_probability": True,
            "fix_u_probability": True,
        },
    ]


BLOCKING_RULES = (
    "l.nhs = r.nhs",
    "l.upn = r.upn",
    "l.nino = r.nino",
    "l.ref = r.ref",
    "l.dob = r.dob",
    "l.dob_swap = r.dob",
    "l.surname = r.surname AND l.forename_canon = r.forename_canon",
    "l.postcode = r.postcode AND l.forename_canon = r.forename_canon",
    "l.forename = r.surname AND l.surname = r.forename",
)
"""The pairs the model scores: any one of these holds (docs/linkage.md)."""


def _name_comparison(col: str, other: str) -> Any:
    """A forename or surname: exact (with its frequency), swapped with the other name, the same
    canonical forename (nicknames; forenames only), close, less close."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    canonical = [cll.ExactMatchLevel("forename_canon").configure(label_for_charts="same canonical forename")]
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            cll.ColumnsReversedLevel(col, other).configure(label_for_charts="swapped with " + other),
            *(canonical if col == "forename" else []),
            cll.JaroWinklerLevel(col, 0.92),
            cll.JaroWinklerLevel(col, 0.80),
            cll.ElseLevel(),
        ],
    )


def _dob_comparison() -> Any:
    """The date of birth: exact (with how many share it), a day out, day and month swapped, the
    same month, the same year."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob", term_frequency_adjustments=True),
            cll.CustomLevel(_lr("abs(l.dob_days - r.dob_days) <= 1"), "one day apart"),
            cll.CustomLevel(_lr("l.dob_swap = r.dob"), "day and month swapped"),
            cll.CustomLevel(_lr("substr(l.dob, 1, 7) = substr(r.dob, 1, 7)"), "same year and month"),
            cll.CustomLevel(_lr("substr(l.dob, 1, 4) = substr(r.dob, 1, 4)"), "same year"),
            cll.ElseLevel(),
        ],
    )


def _address_comparison() -> Any:
    """The address: the same UPRN, line and postcode, house and street, postcode, district."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    no_address = (
        "(l.uprn IS NULL OR r.uprn IS NULL) AND (l.address IS NULL OR r.address IS NULL) "
        "AND (l.postcode IS NULL OR r.postcode IS NULL)"
    )
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel(_lr(no_address), "no address").configure(is_null_level=True),
            cll.CustomLevel(_lr("l.uprn = r.uprn"), "same UPRN"),
            cll.CustomLevel(
                _lr("l.address = r.address AND l.postcode = r.postcode"), "same address and postcode"
            ),
            cll.CustomLevel(_lr("l.house_street = r.house_street"), "same house number and street"),
            cll.CustomLevel(_lr("l.postcode = r.postcode"), "same postcode"),
            cll.CustomLevel(_lr("l.outward = r.outward"), "same postcode district"),
            cll.ElseLevel(),
        ],
    )


def settings(*, blocking_filter: str | None = None) -> Any:
    """The Splink settings (a SettingsCreator). ``blocking_filter`` is added to every blocking
    rule (an incremental run scores only pairs with a new record)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator

    rules: list[Any] = [f"({r}) AND ({blocking_filter})" if blocking_filter else r for r in BLOCKING_RULES]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.CustomComparison(output_column_name="identifiers", comparison_levels=_identifier_levels()),
            cl.CustomComparison(output_column_name="partner_ref", comparison_levels=_ref_levels()),
            _name_comparison("forename", "surname"),
            _name_comparison("surname", "forename"),
            _dob_comparison(),
            cl.ExactMatch("sex"),
            _address_comparison(),
        ],
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
        max_iterations=0,
    )


def _db_api(backend: Backend, spark: Any) -> Any:
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    from splink import SparkAPI

    return SparkAPI(spark_session=spark, break_lineage_method="persist")


def _register(db_api: Any, backend: Backend, table: Any, name: str, spark: Any = None) -> Any:
    """Register a frame with Splink under ``name``. On Spark the name is a temporary view of the
    session, which outlives the Splink API object: a view left by an earlier training or scoring
    in the same session is dropped first (Splink refuses to register over it)."""
    if backend == "duckdb":
        data = table.toPandas() if isinstance(table, DataFrame) else table
        return db_api.register(data, dataset_display_name=name)
    session = spark or (table.sparkSession if isinstance(table, DataFrame) else None)
    if session is not None:
        session.catalog.dropTempView(name)
    return db_api.register(table, dataset_display_name=name)


# Columns whose exact-match level is term-frequency adjusted (see ``settings``).
TF_COLUMNS = ("forename", "surname", "dob")
# Frequencies count identities, not records: one person's fifty records must not make their name or
# birthday look common. An identity is a distinct (forename, surname, date of birth).
IDENTITY_COLUMNS = ("forename", "surname", "dob")
# The comparisons of ``settings``, in order (their match weights are kept with each link).
COMPARISONS = ("identifiers", "partner_ref", "forename", "surname", "dob", "sex", "address")
EVIDENCE_COLUMNS = (*[f"mw_{c}" for c in COMPARISONS], *[f"mw_tf_adj_{c}" for c in TF_COLUMNS])
# A scored pair: the pair, its weight, whether it shares a valid identifier, the blocking rule that
# found it, and each comparison's match weight (with the names' term-frequency adjustments):
# match_weight = prior + the sum of the mw_ columns, so the evidence of a link is on record.
LINK_TYPES: dict[str, str] = {
    "unique_id_l": "string",
    "unique_id_r": "string",
    "match_weight": "double",
    "by_identifier": "boolean",
    "blocking_rule": "string",
    **{f"mw_{c}": "double" for c in COMPARISONS},
    **{f"mw_tf_{c}": "double" for c in TF_COLUMNS},
}
LINK_COLUMNS = tuple(LINK_TYPES)


# The key of the name frequencies' HMAC when settings give none: for local and test lakes only. It
# is in the source, so it is not a secret: a lake outside ``local`` must have ``linkage_secret``
# (Key Vault on Synapse), see :func:`linkage_key`.
DEV_LINKAGE_SECRET = "accelerator-local-linkage-key-not-secret"
FREQUENCY_HASH = "hmac-sha256"
_KEY_CHECK = b"accelerator:linkage:key-check"


def linkage_key(secret: str | None, *, environment: str = "local") -> str:
    """The HMAC key of the name frequencies: ``secret``, or the documented development key on a
    ``local`` lake. Anywhere else a missing secret is an error (a key in the source protects
    nothing)."""
    if secret:
        return secret
    if environment == "local":
        return DEV_LINKAGE_SECRET
    raise ValueError(
        f"linkage_secret is required in environment {environment!r}: the linkage model keeps name "
        "frequencies under a keyed hash (HMAC-SHA256) whose key must be secret (Key Vault on Synapse)"
    )


def _value_hash(value: str, key: str | None) -> str:
    """HMAC-SHA256 of a value under ``key``; ``None`` is the unkeyed SHA-256 of models saved
    before frequencies were keyed (read only, for those models)."""
    if key is None:
        return hashlib.sha256(value.encode("utf-8")).hexdigest()
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def frequency_key(value: str, *, secret: str | None = None) -> str:
    """The key under which a trained model keeps ``value``'s frequency (erasure removes an erased
    person's names by it): HMAC-SHA256 under ``linkage_key(secret)``."""
    return _value_hash(value, linkage_key(secret))


def key_check(key: str) -> str:
    """A fingerprint of the key (an HMAC of a fixed label, which says nothing about any name), kept
    with the model so that scoring under another key fails loudly instead of silently finding no
    frequency for any name."""
    return hmac.new(key.encode("utf-8"), _KEY_CHECK, hashlib.sha256).hexdigest()


def term_frequencies(prepared: Any, *, secret: str | None = None) -> dict[str, dict[str, float]]:
    """Each value's share of the identities (distinct forename, surname and date of birth) that
    have a value in a TF-adjusted column, keyed by the HMAC-SHA256 of the value under the linkage
    key (``linkage_key(secret)``): the model holds no name, in clear or under a hash a dictionary
    of names could reverse. Counting identities rather than records keeps a person with many
    records from making their own name or birthday look common (:func:`value_u` turns a share into
    the chance that another person has the value).

    They are part of the model: computed once at training and saved in its JSON, so a pair scores
    the same whenever it is scored. A stored link and a fresh full re-run then agree to the bit,
    and an incremental run gives the people a full re-run gives. A value first seen after training
    has no frequency and gets the unadjusted exact-match weight (Splink's rule for a missing
    frequency)."""
    key = linkage_key(secret)
    out: dict[str, dict[str, float]] = {}
    if isinstance(prepared, DataFrame):
        identities = prepared.select(*IDENTITY_COLUMNS).distinct().cache()
    else:  # pandas, on the driver
        identities = prepared[list(IDENTITY_COLUMNS)].drop_duplicates()
    for col in TF_COLUMNS:
        if isinstance(identities, DataFrame):
            rows = identities.where(F.col(col).isNotNull()).groupBy(col).count().collect()
            counts = {str(r[col]): int(r["count"]) for r in rows}
        else:
            counts = {str(k): int(v) for k, v in identities[col].dropna().value_counts().items()}
        total = sum(counts.values())
        out[col] = {_value_hash(v, key): n / total for v, n in counts.items()} if total else {}
    if isinstance(identities, DataFrame):
        identities.unpersist()
    return out


def identities(prepared: Any) -> int:
    """The number of identities (distinct forename, surname and date of birth) in ``prepared``."""
    if isinstance(prepared, DataFrame):
        return int(prepared.select(*IDENTITY_COLUMNS).distinct().count())
    return len(prepared[list(IDENTITY_COLUMNS)].drop_duplicates())


def coincidence(shares: dict[str, float], n: int) -> float:
    """The chance that two different identities agree on the column: Σ c(c−1) / (n(n−1)) over the
    values' identity counts c = share × n."""
    if n < 2:
        return 1.0
    return max(sum(x * (x * n - 1) for x in shares.values()) / (n - 1), 1.0 / (n - 1) ** 2)


def value_u(share: float, n: int, floor: float) -> float:
    """The u of an exact match on one value: the share of the *other* identities that hold it,
    (c − 1) / (n − 1), and at least ``floor``. A value held by one identity alone says only that no
    other identity has it, so it counts as ``floor``: the column's average coincidence or one
    identity in n, whichever is smaller (for names, a name nobody else holds weighs as "one other
    person might"; for dates of birth, most of which are held by one identity, a birthday nobody
    else has weighs as the average birthday)."""
    if n < 2:
        return max(share, floor)
    return max((share * n - 1) / (n - 1), floor)


def tf_lookup(
    prepared: Any, col: str, shares: dict[str, float], key: str | None, n: int | None = None
) -> Any:
    """The lookup Splink joins on (value, tf_value) for the values present in ``prepared`` (a
    Spark frame, or the pandas frame already on the driver for DuckDB). With ``n`` (the model's
    identity count) the value is :func:`value_u`; without it (older models) the share."""
    import pandas as pd

    if isinstance(prepared, DataFrame):
        values = [r[0] for r in prepared.where(F.col(col).isNotNull()).select(col).distinct().collect()]
    else:
        values = [str(v) for v in prepared[col].dropna().unique()]
    if n is None:
        known = [(v, shares[h]) for v in values if (h := _value_hash(v, key)) in shares]
    else:
        floor = min(coincidence(shares, n), 1.0 / max(n - 1, 1))
        known = [(v, value_u(shares[h], n, floor)) for v in values if (h := _value_hash(v, key)) in shares]
    lookup = pd.DataFrame({col: [v for v, _ in known], f"tf_{col}": [x for _, x in known]})
    return lookup.astype({col: "string", f"tf_{col}": "float64"}) if lookup.empty else lookup


# A pair links when its calibrated match probability is at least one half (match weight 0): one
# person is then more likely than two. The pair is not the last word on a wrong link: the
# clustering refuses every merge that would put two valid identifiers of one kind, two members of
# one household roster, two incompatible dates of birth or two homes at once in one person
# (``cluster.py``), and those are the wrong links a pair's weight cannot see. A higher bar (it was
# 0.8, weight 2) bought next to no precision on any population profile and sat on the slope where
# movers with common names weigh, 3 to 4 (docs/linkage.md, "Across populations").
LINK_COST_RATIO = 1.0
LINK_PROBABILITY = LINK_COST_RATIO / (1 + LINK_COST_RATIO)
LINK_WEIGHT = math.log2(LINK_COST_RATIO)


def match_threshold(model_json: str, default: float = LINK_WEIGHT) -> float:
    """The match-weight threshold stored with the model (``default`` for a model saved before
    thresholds were)."""
    return float(json.loads(model_json).get("match_weight_threshold", default))


def threshold_for(model_json: str, override: float | None = None) -> float:
    """The match threshold a run links at: ``override`` (``Settings.match_weight_threshold``) when
    set, else the model's own (:func:`match_threshold`)."""
    return float(override) if override is not None else match_threshold(model_json)


def train(prepared: Any, *, backend: Backend, spark: Any, seed: int = 42, secret: str | None = None) -> str:
    """Estimate the model from the data and return it as Splink JSON (saved with the run), with
    the term frequencies it was estimated on (``term_frequencies``, keyed by HMAC under
    ``linkage_key(secret)``) and its match threshold."""
    from splink import Linker

    db_api = _db_api(backend, spark)
    linker = Linker(_register(db_api, backend, prepared, "person_record", spark), settings(), log_level=None)
    det: list[Any] = ["l.nhs = r.nhs", "l.upn = r.upn", "l.nino = r.nino"]
    linker.training.estimate_probability_two_random_records_match(det, recall=deterministic_recall(prepared))
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=seed)
    linker.training.estimate_m_from_label_column("id_label")
    model = linker.misc.save_model_to_json()
    _write_effective_probabilities(linker, model)
    if ADDRESS_M_FROM_IDENTITIES:
        _address_m_from_identities(model, prepared, db_api, backend, spark)
    model["model_version"] = MODEL_VERSION
    model["term_frequencies"] = term_frequencies(prepared, secret=secret)
    model["term_frequency_identities"] = n = identities(prepared)
    _set_exact_u(model, model["term_frequencies"], n)
    _cap_canonical_forename(model)
    model["term_frequencies_hash"] = FREQUENCY_HASH
    model["term_frequencies_key_check"] = key_check(linkage_key(secret))
    model["match_probability_threshold"] = LINK_PROBABILITY
    model["match_weight_threshold"] = LINK_WEIGHT
    # Splink names each linker at random; the saved model must be a function of the data alone
    # (a run resumed after a kill trains the same model as an uninterrupted one).
    model.pop("linker_uid", None)
    return json.dumps(model, sort_keys=True, default=str)


# The address comparison's m from pairs of one identity (exact forename, surname and date of birth)
# rather than from pairs that share an identifier: a family that moved often has no identifier in
# common across the move (one service records the NI number, another the NHS number), so the
# identifier pairs under-count moves and a different address would cost more than a move does.
ADDRESS_M_FROM_IDENTITIES = True


def _address_m_from_identities(
    model: dict[str, Any], prepared: Any, db_api: Any, backend: Backend, spark: Any
) -> None:
    from splink import Linker

    if isinstance(prepared, DataFrame):
        cols = [F.col(c) for c in IDENTITY_COLUMNS]
        labelled = prepared.withColumn(
            "identity_label",
            F.when(reduce(operator.or_, [c.isNull() for c in cols]), F.lit(None)).otherwise(
                F.concat_ws("|", *cols)
            ),
        )
    else:
        complete = prepared[list(IDENTITY_COLUMNS)].notna().all(axis=1)
        joined = (
            prepared["forename"].astype(str)
            + "|"
            + prepared["surname"].astype(str)
            + "|"
            + prepared["dob"].astype(str)
        )
        labelled = prepared.assign(identity_label=joined.where(complete, None))
    linker = Linker(
        _register(db_api, backend, labelled, "person_identity", spark), settings(), log_level=None
    )
    linker.training.estimate_m_from_label_column("identity_label")
    by_identity = linker.misc.save_model_to_json()
    _write_effective_probabilities(linker, by_identity)
    for mine, theirs in zip(model["comparisons"], by_identity["comparisons"], strict=True):
        if mine["output_column_name"] != "address":
            continue
        for lm, lt in zip(mine["comparison_levels"], theirs["comparison_levels"], strict=True):
            if not lm.get("is_null_level") and lt.get("m_probability") is not None:
                lm["m_probability"] = lt["m_probability"]


def deterministic_recall(prepared: Any) -> float:
    """The share of true pairs the identifier rules find, estimated on the pairs of records with
    one exact forename, surname and date of birth (nearly all the same person): the share of those
    that share a valid identifier. It depends on the population (how many records carry an
    identifier, how many services a person meets), so it is measured rather than assumed; the
    prior (``probability_two_random_records_match``) is the identifier pairs over this recall."""
    import pandas as pd

    cols = [*IDENTITY_COLUMNS, "id_label"]
    grouped: pd.DataFrame
    if isinstance(prepared, DataFrame):
        grouped = prepared.where(F.col("dob").isNotNull()).groupBy(*cols).count().toPandas()
    else:
        rows = prepared[prepared["dob"].notna()]
        grouped = rows.groupby(cols, dropna=False).size().reset_index(name="count")

    def pairs(k: pd.Series) -> int:
        n = k.astype("int64")
        return int((n * (n - 1) // 2).sum())

    shared = pairs(grouped.loc[grouped["id_label"].notna(), "count"])
    total = pairs(grouped.groupby(list(IDENTITY_COLUMNS), dropna=False)["count"].sum())
    return min(0.95, max(0.05, shared / total)) if total else 0.7


def _set_exact_u(model: dict[str, Any], frequencies: dict[str, dict[str, float]], n: int) -> None:
    """The u of each TF-adjusted exact level is the column's coincidence among identities (what a
    value first seen after training weighs; a known value weighs by its own :func:`value_u`)."""
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            col = lvl.get("tf_adjustment_column")
            if col in frequencies and lvl.get("sql_condition", "").count("=") == 1:
                lvl["u_probability"] = coincidence(frequencies[col], n)


def _cap_canonical_forename(model: dict[str, Any]) -> None:
    """A nickname (``BILL`` for ``WILLIAM``) never weighs more than the exact forename: random pairs
    with one canonical forename and two spellings are so rare that u sampling finds almost none,
    and the level would otherwise weigh 14 bits or more. Its u is raised so that its m / u is at
    most the exact level's."""
    for comp in model["comparisons"]:
        if comp["output_column_name"] != "forename":
            continue
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        exact = next(lvl for lvl in levels if lvl.get("tf_adjustment_column") == "forename")
        for lvl in levels:
            if lvl.get("label_for_charts") == "same canonical forename":
                ratio = float(lvl["m_probability"]) / float(exact["m_probability"])
                lvl["u_probability"] = max(float(lvl["u_probability"]), float(exact["u_probability"]) * ratio)


def _write_effective_probabilities(linker: Any, model: dict[str, Any]) -> None:
    """Write into the saved model each level's m and u as Splink uses them at prediction. A level
    that no identifier-linked pair reached (or u sampling missed) has no estimate, and Splink
    would fill in its library default at every prediction, or 1e-6 for a level marked "not
    observed". Written down, the model JSON is the whole model: its weights do not move with a
    Splink upgrade, and the report can name each level from a link's weights."""
    comparisons = linker._settings_obj.comparisons
    for comp_json, comp in zip(model["comparisons"], comparisons, strict=True):
        for lvl_json, lvl in zip(comp_json["comparison_levels"], comp.comparison_levels, strict=True):
            if lvl.is_null_level:
                continue
            lvl_json["m_probability"] = lvl.m_probability
            lvl_json["u_probability"] = lvl.u_probability


def in_dialect(model: dict[str, Any], table: Any) -> dict[str, Any]:
    """The trained model in the SQL of ``table``'s backend. Splink saves conditions in the dialect
    that trained them (DuckDB quotes identifiers with double quotes, which Spark reads as strings):
    the settings are rendered afresh for the backend and the trained parameters copied level by
    level."""
    from splink import Linker

    rendered: dict[str, Any] = Linker(table, settings(), log_level=None).misc.save_model_to_json()
    if rendered.get("sql_dialect") == model.get("sql_dialect"):
        return model
    keys = ("m_probability", "u_probability", "tf_adjustment_weight", "tf_minimum_u_value")
    for fresh, trained in zip(rendered["comparisons"], model["comparisons"], strict=True):
        for lf, lt in zip(fresh["comparison_levels"], trained["comparison_levels"], strict=True):
            lf.update({k: lt[k] for k in keys if k in lt})
    rendered["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    rendered["blocking_rules_to_generate_predictions"] = model["blocking_rules_to_generate_predictions"]
    return rendered


def score(
    prepared: Any,
    model_json: str,
    *,
    backend: Backend,
    spark: Any,
    min_weight: float,
    incremental: bool = False,
    secret: str | None = None,
) -> Any:
    """Score the blocked pairs (only pairs with a new record when ``incremental``) and return
    those with match_weight ≥ ``min_weight`` as pandas, columns :data:`LINK_COLUMNS`. ``secret``
    is the key the model was trained under (see :func:`train`)."""
    from splink import Linker

    db_api = _db_api(backend, spark)
    # DuckDB scores on the driver: bring the rows over once, for the table and the lookups.
    rows = prepared.toPandas() if backend == "duckdb" and isinstance(prepared, DataFrame) else prepared
    table = _register(db_api, backend, rows, "person_record", spark)
    saved = json.loads(model_json)
    frequencies: dict[str, dict[str, float]] | None = saved.pop("term_frequencies", None)
    key = saved_frequency_key(saved, secret)
    n: int | None = saved.pop("term_frequency_identities", None)
    model = in_dialect(saved, table)
    for extra in ("model_version", "match_probability_threshold", "match_weight_threshold"):
        model.pop(extra, None)
    model["retain_intermediate_calculation_columns"] = True  # mw_identifiers is read below
    if incremental:
        rules = model["blocking_rules_to_generate_predictions"]
        flt = "l.is_new = 1 OR r.is_new = 1"
        model["blocking_rules_to_generate_predictions"] = [
            {**r, "blocking_rule": f"({r['blocking_rule']}) AND ({flt})"}
            if isinstance(r, dict)
            else f"({r}) AND ({flt})"
            for r in rules
        ]
    linker = Linker(table, model, log_level=None)
    if frequencies is not None:  # a model saved before frequencies were kept computes them afresh
        for col, shares in frequencies.items():
            lookup = tf_lookup(rows, col, shares, key, n)
            linker.table_management.register_term_frequency_lookup(
                _register(db_api, backend, lookup, f"person_tf_{col}", spark), col
            )
    predictions = linker.inference.predict(threshold_match_weight=min_weight)
    cols = ["unique_id_l", "unique_id_r", "match_weight", "match_key", *EVIDENCE_COLUMNS]
    if backend == "duckdb":
        df = predictions.as_pandas_dataframe()[cols]
    else:
        df = predictions.as_spark_dataframe().select(*cols).toPandas()
    # Splink keeps each comparison's match weight: only "same valid identifier" is strongly positive.
    df["by_identifier"] = df["mw_identifiers"] > 15
    rules = blocking_rules(model_json)
    df["blocking_rule"] = df["match_key"].astype(int).map(dict(enumerate(rules)))
    df = df.rename(columns={f"mw_tf_adj_{c}": f"mw_tf_{c}" for c in TF_COLUMNS})
    return df[list(LINK_COLUMNS)]


def saved_frequency_key(saved: dict[str, Any], secret: str | None) -> str | None:
    """The key the saved model's frequencies are under (``None``: an older, unkeyed model), after
    checking that ``secret`` is the key it was trained under. Pops the hash fields from ``saved``."""
    kind = saved.pop("term_frequencies_hash", None)
    check = saved.pop("term_frequencies_key_check", None)
    if kind is None:
        return None
    key = linkage_key(secret)
    if check != key_check(key):
        raise ValueError(
            "the linkage model's name frequencies are under another linkage_secret than the one "
            "given: score with the key it was trained under, or retrain (run_people(retrain=True))"
        )
    return key


def blocking_rules(model_json: str) -> list[str]:
    """The model's blocking rules in order (Splink's ``match_key`` is the index of the first rule
    that generated a pair)."""
    rules = json.loads(model_json).get("blocking_rules_to_generate_predictions", [])
    return [r["blocking_rule"] if isinstance(r, dict) else str(r) for r in rules]


def comparison_levels(model_json: str) -> Sequence[dict[str, Any]]:
    """(comparison, level, m, u) for the linkage report."""
    model = json.loads(model_json)
    out = []
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            out.append(
                {
                    "comparison": comp["output_column_name"],
                    "level": lvl.get("label_for_charts", lvl["sql_condition"]),
                    "m": lvl.get("m_probability"),
                    "u": lvl.get("u_probability"),
                }
            )
    return out
