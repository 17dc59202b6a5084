"""Movers, namesakes and twins, scored by the real model on the DuckDB backend (no Spark).

A small population of prepared records (the model's input columns, ``model.prepare``'s output)
is built inline: people with common and rare names across the ten authorities, most records
carrying an identifier, some households moved. The model is trained on it as the people stage
trains, the pairs are scored and clustered at the model's own threshold, and the test asserts
which records become one person:

- a family that moved to another authority, whose records share no identifier across the move
  (an NI number on the DWP side, an NHS number or nothing on the other), is still one family of
  people, whether the names are rare or common;
- a mover who also uses a nickname on one side is still one person;
- namesakes (same common name, different dates of birth) stay apart, and so do twins (same
  surname, date of birth and address, different NHS numbers), and two people with the same name
  and date of birth whose NHS numbers differ;
- namesakes with one date of birth who live at two homes at once stay apart, though their pairs
  weigh as a mover's; a mover whose records at one home end before the next home's begin is one
  person.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from accelerator.identifiers import make_nhs, make_nino
from accelerator.linkage import model as M
from accelerator.linkage.cluster import NODE_COLUMNS, Edge, cluster, record_nodes
from accelerator.linkage.nicknames import NICKNAMES

AUTHORITIES = ("bolton", "bury", "manchester", "oldham", "rochdale", "salford", "stockport", "tameside")
COMMON_FORENAMES = ("OLIVER", "JACK", "HARRY", "GEORGE", "AMELIA", "OLIVIA", "EMILY", "ISLA")
FORENAMES = (*COMMON_FORENAMES, *(f"FORE{c}{d}" for c in "ABCDEFGHJK" for d in "ABCDEFGHJK"))
COMMON_SURNAMES = ("SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS")
SURNAMES = (*COMMON_SURNAMES, *(f"SUR{c}{d}" for c in "ABCDEFGHJKLMN" for d in "ABCDEFGHJKLMN"))


class Records:
    """Prepared records, built one at a time."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        key: str,
        *,
        forename: str,
        surname: str,
        dob: date | None,
        sex: str,
        authority: str,
        address: tuple[int, str, str, str | None],  # house number, street, postcode, uprn
        feed: str,
        nhs: str | None = None,
        nino: str | None = None,
        ref: str | None = None,
        on: date | None = None,  # the event date: where the person lived that day
    ) -> str:
        number, street, postcode, uprn = address
        line = f"{number} {street}"
        if feed == "early_help":  # family_case_ref|person_ref: each record its own case here
            key = f"FC-{key}|{ref}"
        uid = f"{authority}|{feed}|{key}"
        self.rows.append(
            {
                "unique_id": uid,
                "authority": authority,
                "feed": feed,
                "record_key": key,
                "forename": forename,
                "surname": surname,
                "forename_canon": NICKNAMES.get(forename, forename),
                "dob": dob.isoformat() if dob else None,
                "dob_days": (dob - date(1900, 1, 1)).days if dob else None,
                "dob_swap": f"{dob.year:04d}-{dob.day:02d}-{dob.month:02d}"
                if dob and dob.day <= 12
                else None,
                "sex": sex,
                "postcode": postcode,
                "outward": postcode.split(" ")[0],
                "address": line,
                "house_street": line,
                "uprn": uprn,
                "event_day": (on - date(1900, 1, 1)).days if on else None,
                "nhs": nhs,
                "upn": None,
                "nino": nino[:8] if nino else None,
                "ref": ref,
                "id_label": nhs or (nino[:8] if nino else None),
                "is_new": 1,
            }
        )
        return uid

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).astype({"dob_days": "Int64", "event_day": "Int64", "is_new": "int64"})


def _address(rng: random.Random, authority: str) -> tuple[int, str, str, str | None]:
    i = AUTHORITIES.index(authority)
    street = f"{rng.choice(('ACACIA', 'BEECH', 'CEDAR', 'ELM', 'HAZEL', 'OAK'))}{rng.randrange(90)} ROAD"
    postcode = (
        f"M{i + 1}{rng.randrange(10)} {rng.randrange(10)}{rng.choice('ABDEFGH')}{rng.choice('JLNPQRS')}"
    )
    return (rng.randint(1, 200), street, postcode, str(rng.randrange(10**8, 10**9)))


def _zipf(names: tuple[str, ...], rng: random.Random) -> str:
    return rng.choices(names, [1 / (i + 1) for i in range(len(names))])[0]


def background(rec: Records, rng: random.Random, people: int = 1200) -> None:
    """People with two to four records each, as the feeds hold them."""
    for n in range(people):
        authority = rng.choice(AUTHORITIES)
        sex = rng.choice("MF")
        dob = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 70))
        forename, surname = _zipf(FORENAMES, rng), _zipf(SURNAMES, rng)
        nhs = make_nhs(rng) if rng.random() < 0.95 else None
        nino = make_nino(rng) if rng.random() < 0.85 else None
        home = _address(rng, authority)
        moved = rng.random() < 0.12
        away = rng.choice(AUTHORITIES) if rng.random() < 0.5 else authority
        later = _address(rng, away) if moved else home
        when = random.Random(n)  # the event dates: at home in 2022-23, after a move in 2024-25
        for j in range(rng.randint(2, 4)):
            where, addr = (away, later) if moved and j % 2 else (authority, home)
            feed = rng.choice(("health_services", "dwp_benefits", "police_incidents", "early_help"))
            name = forename if rng.random() > 0.03 else forename[:-1] + "X"
            rec.add(
                f"B{n}-{j}",
                forename=name,
                surname=surname,
                dob=dob,
                sex=sex,
                authority=where,
                address=addr,
                feed=feed,
                nhs=nhs if feed == "health_services" else None,
                nino=nino if feed == "dwp_benefits" else None,
                ref=f"R{n}" if feed in ("police_incidents", "early_help") else None,
                on=date(2024 if moved and j % 2 else 2022, 1, 1) + timedelta(days=when.randrange(700)),
            )


Linked = tuple[dict[str, str], dict[tuple[str, str], float], dict[str, str], str, pd.DataFrame]


@pytest.fixture(scope="module")
def linked() -> Linked:
    return link_population()


def link_population() -> Linked:
    """(record → cluster, pair → match weight, scenario name → record id, model JSON, records)."""
    rng = random.Random(16)
    rec = Records()
    background(rec, rng)
    ids: dict[str, str] = {}

    def person(
        tag: str,
        forename: str,
        surname: str,
        dob: date,
        sex: str,
        sides: list[tuple[str, str, dict[str, Any]]],
    ) -> None:
        for i, (authority, feed, extra) in enumerate(sides):
            addr = extra.pop("address")
            ids[f"{tag}{i}"] = rec.add(
                f"{tag}-{i}",
                forename=extra.pop("forename", forename),
                surname=surname,
                dob=dob,
                sex=sex,
                authority=authority,
                address=addr,
                feed=feed,
                **extra,
            )

    old, new = _address(rng, "bury"), _address(rng, "salford")
    # A rare name, moved from Bury to Salford: DWP (NI number) before, health (NHS number) after.
    person(
        "rare",
        "ZEBEDEE",
        "QUARMBY",
        date(1984, 6, 17),
        "M",
        [
            ("bury", "dwp_benefits", {"address": old, "nino": make_nino(rng)}),
            ("salford", "health_services", {"address": new, "nhs": make_nhs(rng)}),
        ],
    )
    # The commonest name, the same move: no identifier on the police side.
    person(
        "common",
        "OLIVER",
        "SMITH",
        date(1990, 2, 27),
        "M",
        [
            ("bury", "dwp_benefits", {"address": old, "nino": make_nino(rng)}),
            ("salford", "police_incidents", {"address": new, "ref": "N0000001"}),
        ],
    )
    # A mover known by a nickname on one side.
    a, b = _address(rng, "oldham"), _address(rng, "rochdale")
    person(
        "nick",
        "WILLIAM",
        "HARGREAVES",
        date(1979, 11, 3),
        "M",
        [
            ("oldham", "health_services", {"address": a, "nhs": make_nhs(rng)}),
            ("rochdale", "early_help", {"address": b, "forename": "BILL", "ref": "EH-77"}),
        ],
    )
    # Namesakes: the commonest name again, other dates of birth, in other authorities, no identifiers.
    for i, (authority, dob) in enumerate((("wigan", date(1990, 7, 19)), ("trafford", date(1975, 3, 2)))):
        ids[f"namesake{i}"] = rec.add(
            f"namesake-{i}",
            forename="OLIVER",
            surname="SMITH",
            dob=dob,
            sex="M",
            authority=authority,
            address=_address(rng, "bolton"),
            feed="police_incidents",
            ref=f"N555000{i}",
        )
    # Twins: one surname, date of birth and address, different NHS numbers (and similar forenames).
    home = _address(rng, "tameside")
    for i, fore in enumerate(("ELLA", "ELLIE")):
        ids[f"twin{i}"] = rec.add(
            f"twin-{i}",
            forename=fore,
            surname="TAYLOR",
            dob=date(2015, 4, 9),
            sex="F",
            authority="tameside",
            address=home,
            feed="health_services",
            nhs=make_nhs(rng),
        )
    # Same full name and date of birth, two valid NHS numbers: two people.
    for i, authority in enumerate(("stockport", "bolton")):
        ids[f"double{i}"] = rec.add(
            f"double-{i}",
            forename="AMELIA",
            surname="JONES",
            dob=date(2001, 8, 8),
            sex="F",
            authority=authority,
            address=_address(rng, authority),
            feed="health_services",
            nhs=make_nhs(rng),
        )

    def two_homes(
        tag: str, name: tuple[str, str, date, str], homes: tuple[str, str], ref: str, on: list[date]
    ) -> None:
        """One name, sex and date of birth: three records at the first home (DWP with an NI number,
        police, DWP), then two at the second (health with an NHS number), on the dates ``on`` in
        that order. No identifier in common across the two homes."""
        nino, nhs = make_nino(rng), make_nhs(rng)
        here, there = _address(rng, homes[0]), _address(rng, homes[1])
        sides = [
            (homes[0], "dwp_benefits", {"address": here, "nino": nino}),
            (homes[0], "police_incidents", {"address": here, "ref": ref}),
            (homes[0], "dwp_benefits", {"address": here, "nino": nino}),
            (homes[1], "health_services", {"address": there, "nhs": nhs}),
            (homes[1], "health_services", {"address": there, "nhs": nhs}),
        ]
        person(tag, *name, [(a, f, {**x, "on": d}) for (a, f, x), d in zip(sides, on, strict=True)])

    # Namesakes who live side by side: one name, sex and date of birth, in Oldham and in Stockport
    # over the same two years. To any pair of their records they are a mover; only the dates say
    # otherwise (outcomes.md: a record's address is where its person lived on its event date).
    side = [date(2023, 1, 10), date(2023, 10, 1), date(2024, 9, 1), date(2023, 5, 1), date(2024, 3, 1)]
    two_homes("side", ("GEORGE", "BROWN", date(1988, 5, 5), "M"), ("oldham", "stockport"), "N7000001", side)
    # A mover with several records on each side: the same, but Bury's end before Salford's begin.
    seq = [date(2022, 3, 1), date(2022, 11, 1), date(2023, 4, 1), date(2023, 6, 1), date(2024, 2, 1)]
    two_homes("seq", ("EMILY", "WILLIAMS", date(1992, 12, 1), "F"), ("bury", "salford"), "N8000001", seq)

    prepared = rec.frame()
    model_json = M.train(prepared, backend="duckdb", spark=None)
    pairs = M.score(prepared, model_json, backend="duckdb", spark=None, min_weight=-10.0)
    threshold = M.match_threshold(model_json)
    edges = [
        Edge(a, b, float(w), bool(i))
        for a, b, w, i in pairs[["unique_id_l", "unique_id_r", "match_weight", "by_identifier"]].itertuples(
            index=False
        )
        if float(w) >= threshold
    ]
    nodes = record_nodes(prepared[list(NODE_COLUMNS)].itertuples(index=False))
    clusters = cluster(nodes, edges).cluster_of
    weights = {
        tuple(sorted((a, b))): float(w)
        for a, b, w in pairs[["unique_id_l", "unique_id_r", "match_weight"]].itertuples(index=False)
    }
    return clusters, weights, ids, model_json, prepared


def _together(linked: Any, a: str, b: str) -> bool:
    clusters, _, ids, _, _ = linked
    return bool(clusters[ids[a]] == clusters[ids[b]])


def _weight(linked: Any, a: str, b: str) -> float:
    _, weights, ids, _, _ = linked
    return weights.get(tuple(sorted((ids[a], ids[b]))), float("-inf"))


def test_a_mover_with_a_rare_name_and_no_shared_identifier_is_one_person(linked: Any) -> None:
    assert _together(linked, "rare0", "rare1")


def test_a_mover_with_a_common_name_is_one_person_and_weighs_less(linked: Any) -> None:
    assert _together(linked, "common0", "common1")
    assert _weight(linked, "common0", "common1") < _weight(linked, "rare0", "rare1") - 3


def test_a_mover_known_by_a_nickname_on_one_side_is_one_person(linked: Any) -> None:
    assert _together(linked, "nick0", "nick1")


def test_namesakes_with_other_dates_of_birth_stay_apart(linked: Any) -> None:
    assert not _together(linked, "namesake0", "namesake1")
    assert not _together(linked, "namesake0", "common1")
    assert not _together(linked, "namesake1", "common0")


def test_namesakes_with_one_date_of_birth_living_side_by_side_stay_apart(linked: Any) -> None:
    _, _, _, model_json, _ = linked
    threshold = M.match_threshold(model_json)
    # The model alone would link them: some pair across the two weighs over the threshold ...
    assert max(_weight(linked, f"side{i}", f"side{j}") for i in range(3) for j in (3, 4)) >= threshold
    # ... but they lived at two homes at once, so the clustering keeps them two people.
    assert _together(linked, "side0", "side2") and _together(linked, "side3", "side4")
    assert not any(_together(linked, f"side{i}", f"side{j}") for i in range(3) for j in (3, 4))


def test_a_mover_with_several_records_on_each_side_is_one_person(linked: Any) -> None:
    assert all(_together(linked, "seq0", f"seq{i}") for i in range(1, 5))


def test_twins_with_different_nhs_numbers_stay_apart(linked: Any) -> None:
    assert not _together(linked, "twin0", "twin1")
    assert not _together(linked, "double0", "double1")


def test_the_model_keeps_its_threshold_and_no_name(linked: Any) -> None:
    _, _, _, model_json, _ = linked
    model = json.loads(model_json)
    assert model["match_weight_threshold"] == M.match_threshold(model_json) == M.LINK_WEIGHT
    text = json.dumps(model["term_frequencies"])
    assert "QUARMBY" not in text and "SMITH" not in text
    assert M.frequency_key("SMITH") in model["term_frequencies"]["surname"]


def test_name_frequencies_are_keyed_by_hmac_under_the_linkage_secret(linked: Any) -> None:
    import hashlib

    _, _, _, model_json, prepared = linked
    surnames = json.loads(model_json)["term_frequencies"]["surname"]
    assert hashlib.sha256(b"SMITH").hexdigest() not in surnames  # no unkeyed hash a dictionary reverses
    assert M.frequency_key("SMITH", secret="s3cret") != M.frequency_key("SMITH")
    with pytest.raises(ValueError, match="another linkage_secret"):
        M.score(prepared, model_json, backend="duckdb", spark=None, min_weight=0.0, secret="s3cret")


def test_a_lake_outside_local_needs_a_linkage_secret() -> None:
    assert M.linkage_key(None, environment="local") == M.DEV_LINKAGE_SECRET
    assert M.linkage_key("k", environment="prod") == "k"
    with pytest.raises(ValueError, match="linkage_secret is required in environment 'prod'"):
        M.linkage_key(None, environment="prod")
