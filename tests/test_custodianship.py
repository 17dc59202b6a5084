"""The custodianship config: its shape (custodianship.md), defaults and validation errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from accelerator.feeds import AUTHORITIES
from accelerator.governance.custodianship import (
    CustodianshipError,
    load_custodianship,
    parse_custodianship,
)

ROOT = Path(__file__).resolve().parents[1]

BASE: dict[str, Any] = {
    "platform": {"pipeline": "mi-synw-test", "engineers": "sg-da-platform-engineers"},
    "authorities": {
        "bury": {
            "custodians": "sg-da-bury-custodians",
            "analysts": "sg-da-bury-analysts",
            "uploaders": {
                "police_incidents": "sg-da-gmp-uploaders",
                "school_census": "sg-da-bury-education-uploaders",
            },
        },
        "bolton": {
            "custodians": "sg-da-bolton-custodians",
            "analysts": "sg-da-bolton-analysts",
            "uploaders": {"police_incidents": "sg-da-gmp-uploaders"},
        },
    },
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with dotted-key changes; a value of None deletes the key."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def problems(data: Any) -> tuple[str, ...]:
    with pytest.raises(CustodianshipError) as e:
        parse_custodianship(data, source="test.yaml")
    return e.value.problems


def test_default_config_names_every_authority_and_is_valid() -> None:
    c = load_custodianship(ROOT / "infra" / "custodianship.yaml")
    assert set(c.authorities) == set(AUTHORITIES)
    assert c.missing_authorities == ()
    assert c.authorities["bury"].uploaders["school_census"] == "sg-da-bury-education-uploaders"


def test_parse_custodianship_reads_the_shape_of_the_spec() -> None:
    c = parse_custodianship(BASE)
    assert c.pipeline == "mi-synw-test"
    assert c.engineers == "sg-da-platform-engineers"
    assert c.authorities["bury"].custodians == "sg-da-bury-custodians"
    assert dict(c.authorities["bolton"].uploaders) == {"police_incidents": "sg-da-gmp-uploaders"}
    assert "sg-da-gmp-uploaders" in c.groups


def test_parse_custodianship_uploaders_are_optional() -> None:
    c = parse_custodianship(config(authorities__bury__uploaders=None))
    assert dict(c.authorities["bury"].uploaders) == {}


def test_parse_custodianship_a_feed_listed_without_a_group_has_no_uploaders() -> None:
    c = parse_custodianship(config(authorities__bury__uploaders={"housing": None}))
    assert dict(c.authorities["bury"].uploaders) == {}


def test_parse_custodianship_allows_more_keys() -> None:
    c = parse_custodianship(config(owner="GMCA", authorities__bury__dpo="someone"))
    assert "bury" in c.authorities


def test_parse_custodianship_warns_about_authorities_it_does_not_name() -> None:
    c = parse_custodianship(BASE)
    assert set(c.missing_authorities) == set(AUTHORITIES) - {"bury", "bolton"}
    assert "platform-only" in c.warnings()[0]


def test_parse_custodianship_rejects_an_unknown_authority() -> None:
    data = config(authorities__burry={"custodians": "sg-a", "analysts": "sg-b"})
    assert any("unknown authority 'burry'" in p for p in problems(data))


def test_parse_custodianship_rejects_missing_custodians() -> None:
    assert problems(config(authorities__bury__custodians=None)) == ("authorities.bury.custodians: missing",)


def test_parse_custodianship_rejects_missing_analysts() -> None:
    assert problems(config(authorities__bolton__analysts="")) == ("authorities.bolton.analysts: missing",)


def test_parse_custodianship_rejects_missing_platform_principals() -> None:
    assert set(problems(config(platform={}))) == {"platform.pipeline: missing", "platform.engineers: missing"}


def test_parse_custodianship_rejects_an_unknown_feed() -> None:
    data = config(authorities__bury__uploaders={"police": "sg-da-gmp-uploaders"})
    assert any("unknown feed 'police'" in p for p in problems(data))


def test_parse_custodianship_reports_every_problem_at_once() -> None:
    data = config(authorities__bury__custodians=None, authorities__bolton__analysts=None, platform=None)
    assert len(problems(data)) == 3


@pytest.mark.parametrize(
    ("change", "conflict"),
    [
        (
            {"authorities__bolton__custodians": "sg-da-bury-custodians"},
            "bury custodians and bolton custodians",
        ),
        ({"authorities__bolton__analysts": "sg-da-bury-analysts"}, "bury analysts and bolton analysts"),
        ({"authorities__bury__analysts": "sg-da-bury-custodians"}, "bury custodians and bury analysts"),
        ({"platform__engineers": "sg-da-bury-custodians"}, "platform engineers and bury custodians"),
        ({"platform__pipeline": "sg-da-platform-engineers"}, "platform pipeline and platform engineers"),
        (
            {"authorities__bolton__uploaders": {"school_census": "sg-da-bury-custodians"}},
            "bury custodians and bolton school_census uploaders",
        ),
        (
            {"authorities__bury__uploaders": {"housing": "sg-da-bury-analysts"}},
            "bury analysts and bury housing uploaders",
        ),
    ],
)
def test_parse_custodianship_rejects_a_principal_in_conflicting_roles(
    change: dict[str, Any], conflict: str
) -> None:
    found = problems(config(**change))
    assert len(found) == 1 and conflict in found[0] and "roles conflict" in found[0]


def test_parse_custodianship_allows_a_partner_uploading_for_several_authorities() -> None:
    c = parse_custodianship(BASE)  # sg-da-gmp-uploaders uploads police_incidents for bury and bolton
    assert (
        c.authorities["bury"].uploaders["police_incidents"]
        == c.authorities["bolton"].uploaders["police_incidents"]
    )


def test_parse_custodianship_allows_custodians_uploading_their_own_feeds() -> None:
    c = parse_custodianship(config(authorities__bury__uploaders={"housing": "sg-da-bury-custodians"}))
    assert c.authorities["bury"].uploaders["housing"] == "sg-da-bury-custodians"


def test_parse_custodianship_object_ids_must_be_guids() -> None:
    found = problems(config(object_ids={"sg-da-bury-custodians": "not-a-guid"}))
    assert found == ("object_ids.sg-da-bury-custodians: 'not-a-guid' is not an object id (a GUID)",)


def test_parse_custodianship_accepts_object_ids_as_principals() -> None:
    oid = "4D6F1A2B-0000-4000-8000-00000000ABCD"
    c = parse_custodianship(config(platform__pipeline=oid, object_ids={"sg-da-bury-analysts": oid.lower()}))
    assert c.pipeline == oid
    assert c.object_ids == {"sg-da-bury-analysts": oid.lower()}


def test_parse_custodianship_rejects_names_that_break_acl_text() -> None:
    found = problems(config(authorities__bury__analysts="sg da:bury"))
    assert found == (
        "authorities.bury.analysts: 'sg da:bury' is not a usable principal name (letters, digits, '_.-@')",
    )


def test_load_custodianship_names_the_file_in_errors(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("platform: {pipeline: p}\nauthorities: {}\n", encoding="utf-8")
    with pytest.raises(CustodianshipError, match=r"c\.yaml: invalid custodianship config"):
        load_custodianship(bad)


def test_load_custodianship_reports_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("platform: [unclosed\n", encoding="utf-8")
    with pytest.raises(CustodianshipError, match="not valid YAML"):
        load_custodianship(bad)
