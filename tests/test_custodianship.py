"""The custodianship config: its shape (custodianship.md), defaults and validation errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from accelerator.feeds import AUTHORITIES, FEEDS
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
    assert c.authorities["bury"].uploaders["school_census"] == "sg-da-bury-education-up"
    assert c.authorities["bolton"].uploaders["police_incidents"] == "sg-da-gmp-uploaders"
    assert max(len(g) for g in c.groups) <= 32  # Linux group names, for the local back end


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
    assert problems(data) == (
        "authorities.burry: unknown authority 'burry' (known: " + ", ".join(AUTHORITIES) + ")",
    )


def test_parse_custodianship_rejects_missing_custodians() -> None:
    assert problems(config(authorities__bury__custodians=None)) == ("authorities.bury.custodians: missing",)


def test_parse_custodianship_rejects_missing_analysts() -> None:
    assert problems(config(authorities__bolton__analysts="")) == ("authorities.bolton.analysts: missing",)


def test_parse_custodianship_rejects_missing_platform_principals() -> None:
    assert set(problems(config(platform={}))) == {"platform.pipeline: missing", "platform.engineers: missing"}


def test_parse_custodianship_rejects_an_unknown_feed() -> None:
    data = config(authorities__bury__uploaders={"police": "sg-da-gmp-uploaders"})
    assert [p for p in problems(data) if "unknown feed 'police'" in p] == [
        "authorities.bury.uploaders.police: unknown feed 'police' (known: " + ", ".join(FEEDS) + ")"
    ]


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
    c = parse_custodianship(config(platform__pipeline=oid, object_ids={"sg-da-bury-analysts": ANOTHER}))
    assert c.pipeline == oid.lower()  # one spelling of a GUID: lower case
    assert c.object_ids == {"sg-da-bury-analysts": ANOTHER}


ANOTHER = "0b9c2f7e-1111-4222-8333-444455556666"


def test_parse_custodianship_an_object_id_mapped_to_a_name_is_spelled_by_that_name() -> None:
    c = parse_custodianship(
        config(authorities__bury__analysts=ANOTHER.upper(), object_ids={"sg-da-bury-analysts": ANOTHER})
    )
    assert c.authorities["bury"].analysts == "sg-da-bury-analysts"


def test_parse_custodianship_a_guid_in_two_letter_cases_is_one_principal() -> None:
    found = problems(
        config(authorities__bury__custodians=ANOTHER, authorities__bolton__custodians=ANOTHER.upper())
    )
    assert found == (
        f"authorities.bolton.custodians: {ANOTHER} (written {ANOTHER.upper()} there) is both bury "
        "custodians and bolton custodians: roles conflict (need-to-know)",
    )


def test_parse_custodianship_two_names_of_one_object_id_are_one_principal() -> None:
    found = problems(
        config(
            authorities__bolton__custodians="sg-da-bolton-dpl",
            object_ids={"sg-da-bury-custodians": ANOTHER, "sg-da-bolton-dpl": ANOTHER.upper()},
        )
    )
    assert len(found) == 1
    assert "bury custodians and bolton custodians: roles conflict" in found[0]
    written = "authorities.bolton.custodians: sg-da-bury-custodians (written sg-da-bolton-dpl there)"
    assert found[0].startswith(written)


def test_parse_custodianship_a_name_and_its_object_id_in_a_role_and_the_pipeline_conflict() -> None:
    found = problems(config(platform__pipeline=ANOTHER, object_ids={"sg-da-gmp-uploaders": ANOTHER.upper()}))
    assert len(found) == 1 and "is both platform pipeline and bury police_incidents uploaders" in found[0]


def test_parse_custodianship_one_partner_group_spelled_two_ways_is_still_one_group() -> None:
    c = parse_custodianship(
        config(
            authorities__bolton__uploaders={"police_incidents": ANOTHER.upper()},
            object_ids={"sg-da-gmp-uploaders": ANOTHER},
        )
    )
    assert c.authorities["bolton"].uploaders["police_incidents"] == "sg-da-gmp-uploaders"
    assert c.groups.count("sg-da-gmp-uploaders") == 1 and ANOTHER not in c.groups


def test_parse_custodianship_reads_an_optional_traverse_group() -> None:
    assert parse_custodianship(BASE).traverse is None
    c = parse_custodianship(config(platform__traverse="sg-da-platform-traverse"))
    assert c.traverse == "sg-da-platform-traverse"
    assert "sg-da-platform-traverse" in c.groups and "sg-da-platform-traverse" not in c.member_groups


def test_parse_custodianship_the_traverse_group_holds_no_other_role() -> None:
    found = problems(config(platform__traverse="sg-da-bury-analysts"))
    assert found == (
        "authorities.bury.analysts: sg-da-bury-analysts is both platform traverse and bury analysts: "
        "roles conflict (need-to-know)",
    )


def test_parse_custodianship_names_the_path_of_every_wrong_type() -> None:
    found = problems(
        config(
            platform__engineers=["a", "b"],
            authorities__bury__uploaders=["sg-da-gmp-uploaders"],
            authorities__bolton="sg-da-bolton",
            object_ids=["x"],
        )
    )
    assert set(found) == {
        "platform.engineers: must be one group name or object id, got ['a', 'b']",
        "authorities.bury.uploaders: must map a feed to its uploader group",
        "authorities.bolton: must be a mapping with 'custodians' and 'analysts'",
        "object_ids: must map a principal name to its Entra object id",
    }


def test_parse_custodianship_names_a_missing_platform_and_empty_authorities() -> None:
    assert set(problems({"authorities": {}})) == {
        "platform: missing (needs 'pipeline' and 'engineers')",
        "authorities: missing or empty (one entry per authority of feeds.md)",
    }
    assert problems([]) == ("the file must be a mapping with 'platform' and 'authorities'",)


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
