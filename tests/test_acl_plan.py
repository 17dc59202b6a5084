"""The pure ACL planner: config + lake layout -> exact ACL entries (custodianship.md's matrix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance.acl_plan import (
    MAX_NAMED_ENTRIES,
    Acl,
    AclPlan,
    Entry,
    ObservedPath,
    PlanError,
    effective,
    find_drift,
    perms_and,
    plan_acls,
)
from accelerator.governance.custodianship import Custodianship, load_custodianship, parse_custodianship

ROOT = Path(__file__).resolve().parents[1]
PARENTS = ("", "landing", "bronze", "silver", "gold")
PIPE = "mi-synw-gm-accelerator"
ENG = "sg-da-platform-engineers"


@pytest.fixture(scope="module")
def config() -> Custodianship:
    return load_custodianship(ROOT / "infra" / "custodianship.yaml")


@pytest.fixture(scope="module")
def plan(config: Custodianship) -> AclPlan:
    return plan_acls(config)


def can(plan: AclPlan, path: str, principal: str, *, scope: str = "access") -> str:
    """What ``principal`` can do on the planned ``path`` (its entry through the mask)."""
    p = plan.get(path)
    assert p is not None, path
    entries = p.acl.access if scope == "access" else p.acl.default
    mask = next(e.perms for e in entries if e.tag == "mask")
    mine = next((e.perms for e in entries if e.qualifier == principal), "---")
    return perms_and(mine, mask)


def test_plan_acls_covers_every_path_of_the_layout(plan: AclPlan) -> None:
    want = set(PARENTS) | {"bronze/_platform", "silver/_platform"}
    for a in AUTHORITIES:
        want |= {f"landing/{a}", f"bronze/{a}", f"silver/{a}", f"gold/{a}"}
        want |= {f"landing/{a}/{f}" for f in FEEDS}
    assert {p.path for p in plan.paths} == want
    assert len(plan.paths) == 147


def test_plan_acls_orders_parents_before_children(plan: AclPlan) -> None:
    depths = [p.depth for p in plan.paths]
    assert depths == sorted(depths)


def test_plan_acls_every_acl_closes_other_and_owning_group_and_masks_named_entries(plan: AclPlan) -> None:
    for p in plan.paths:
        for entries in (p.acl.access, p.acl.default):
            by_key = {e.key: e.perms for e in entries}
            assert by_key["other:"] == "---", p.path
            assert by_key["group:"] == "---", p.path
            assert by_key["user:"] == "rwx", p.path
            union = "---"
            for e in entries:
                if e.named:
                    union = "".join(a if a != "-" else b for a, b in zip(union, e.perms, strict=True))
            assert by_key["mask:"] == union, p.path  # every named entry is fully effective


def test_plan_acls_names_groups_only_besides_the_pipeline_identity(plan: AclPlan) -> None:
    for p in plan.paths:
        users = {e.qualifier for e in (*p.acl.access, *p.acl.default) if e.tag == "user" and e.named}
        assert users == {PIPE}, p.path


def test_plan_acls_parents_give_people_execute_only(plan: AclPlan, config: Custodianship) -> None:
    for path in PARENTS:
        for group in config.groups:
            assert can(plan, path, group) in ("---", "--x"), (path, group)
            assert can(plan, path, group, scope="default") in ("---", "--x"), (path, group)
        assert can(plan, path, PIPE) == "r-x"


def test_plan_acls_parents_default_to_platform_only(plan: AclPlan) -> None:
    for path in PARENTS:
        p = plan.get(path)
        assert p is not None
        assert {str(e) for e in p.acl.default if e.named} == {f"user:{PIPE}:rwx", f"group:{ENG}:--x"}


def test_plan_acls_analysts_read_their_gold_and_nothing_else(plan: AclPlan, config: Custodianship) -> None:
    for a, g in config.authorities.items():
        readable = {p.path for p in plan.paths if "r" in can(plan, p.path, g.analysts)}
        traversable = {p.path for p in plan.paths if can(plan, p.path, g.analysts) == "--x"}
        assert readable == {f"gold/{a}"}
        assert traversable == {"", "gold"}
        assert can(plan, f"gold/{a}", g.analysts, scope="default") == "r-x"


def test_plan_acls_custodians_read_their_areas_only(plan: AclPlan, config: Custodianship) -> None:
    for a, g in config.authorities.items():
        readable = {p.path for p in plan.paths if "r" in can(plan, p.path, g.custodians)}
        own = {f"landing/{a}", f"bronze/{a}", f"silver/{a}", f"gold/{a}"} | {
            f"landing/{a}/{f}" for f in FEEDS
        }
        assert readable == own
        assert not any("w" in can(plan, p.path, g.custodians) for p in plan.paths)
        for path in own:
            assert can(plan, path, g.custodians, scope="default") == "r-x"


def test_plan_acls_platform_areas_are_pipeline_and_engineers_only(plan: AclPlan) -> None:
    for path in ("bronze/_platform", "silver/_platform"):
        p = plan.get(path)
        assert p is not None
        for entries in (p.acl.access, p.acl.default):
            assert {str(e) for e in entries if e.named} == {f"user:{PIPE}:rwx", f"group:{ENG}:--x"}


def test_plan_acls_uploaders_write_their_own_feed_folder_only(plan: AclPlan, config: Custodianship) -> None:
    group = "sg-da-bury-education-uploaders"
    writable = {p.path for p in plan.paths if "w" in can(plan, p.path, group)}
    assert writable == {"landing/bury/school_census"}
    assert can(plan, "landing/bury/school_census", group) == "-wx"  # write, never read
    assert can(plan, "landing/bury/school_census", group, scope="default") == "-wx"
    traversable = {p.path for p in plan.paths if can(plan, p.path, group) == "--x"}
    assert traversable == {"", "landing", "landing/bury"}
    assert can(plan, "landing/bury", group, scope="default") == "---"


def test_plan_acls_a_shared_uploader_group_writes_that_feed_for_each_authority(plan: AclPlan) -> None:
    writable = {p.path for p in plan.paths if "w" in can(plan, p.path, "sg-da-gmp-uploaders")}
    assert writable == {f"landing/{a}/police_incidents" for a in AUTHORITIES}


def test_plan_acls_engineers_traverse_only(plan: AclPlan) -> None:
    for p in plan.paths:
        assert can(plan, p.path, ENG) == "--x", p.path
        assert can(plan, p.path, ENG, scope="default") == "--x", p.path


def test_plan_acls_pipeline_reads_and_deletes_landing_and_writes_the_layers(plan: AclPlan) -> None:
    assert can(plan, "landing/bury", PIPE) == "r-x"
    assert can(plan, "landing/bury", PIPE, scope="default") == "rwx"  # delete inside deliveries
    assert can(plan, "landing/bury/police_incidents", PIPE) == "rwx"  # delete a delivery's files
    for path in ("bronze/bury", "silver/bury", "gold/bury", "bronze/_platform", "silver/_platform"):
        assert can(plan, path, PIPE) == "rwx"
        assert can(plan, path, PIPE, scope="default") == "rwx"


def test_plan_acls_keeps_within_the_adls_entry_limit(plan: AclPlan) -> None:
    assert max(p.acl.named_count() for p in plan.paths) <= MAX_NAMED_ENTRIES
    root = plan.get("")
    assert root is not None and root.acl.named_count() == 28


def test_plan_acls_refuses_more_than_28_named_entries(config: Custodianship) -> None:
    groups = dict(config.authorities)
    wigan = groups["wigan"]
    groups["wigan"] = type(wigan)(
        wigan.custodians, wigan.analysts, {"housing": "sg-da-wigan-housing-uploaders"}
    )
    bigger = Custodianship(config.pipeline, config.engineers, groups, source="big.yaml")
    with pytest.raises(PlanError, match=r"big\.yaml: more than 28 named ACL entries on / \(29\)"):
        plan_acls(bigger)


def test_plan_acls_gives_unconfigured_authorities_platform_only_areas() -> None:
    c = parse_custodianship(
        {
            "platform": {"pipeline": "pipe", "engineers": "eng"},
            "authorities": {"bury": {"custodians": "bury-c", "analysts": "bury-a"}},
        }
    )
    plan = plan_acls(c)
    gold_wigan = plan.get("gold/wigan")
    assert gold_wigan is not None
    assert {str(e) for e in gold_wigan.acl.access if e.named} == {"user:pipe:rwx", "group:eng:--x"}
    assert plan.warnings and "wigan" in plan.warnings[0]


def test_plan_acls_custodians_uploading_their_own_feed_keep_read() -> None:
    c = parse_custodianship(
        {
            "platform": {"pipeline": "pipe", "engineers": "eng"},
            "authorities": {"bury": {"custodians": "bc", "analysts": "ba", "uploaders": {"housing": "bc"}}},
        }
    )
    plan = plan_acls(c)
    assert can(plan, "landing/bury/housing", "bc") == "rwx"
    assert can(plan, "landing/bury", "bc") == "r-x"


def test_expected_inherits_the_nearest_planned_default(plan: AclPlan) -> None:
    gold = plan.get("gold/bury")
    assert gold is not None
    table = plan.expected("gold/bury/family/_delta_log", is_dir=True)
    assert table == Acl(gold.acl.default, gold.acl.default)
    part = plan.expected("gold/bury/family/part-0.parquet", is_dir=False)
    assert part.default == ()
    assert "group:sg-da-bury-analysts:r--" in {str(e) for e in part.access}


def test_expected_locks_what_the_matrix_does_not_name(plan: AclPlan) -> None:
    stray = plan.expected("bronze/stray", is_dir=True)
    assert {str(e) for e in stray.access if e.named} == {f"user:{PIPE}:rwx", f"group:{ENG}:--x"}
    unknown = plan.expected("landing/unknown_authority/x.csv", is_dir=False)
    assert {str(e) for e in unknown.access if e.named} == {f"user:{PIPE}:rw-", f"group:{ENG}:---"}


def test_acl_parse_reads_adls_strings_and_round_trips() -> None:
    raw = (
        "user::rwx,user:abc:r-x,group::---,mask::r-x,other::---,"
        "default:user::rwx,default:group::---,default:other::---"
    )
    acl = Acl.parse(raw)
    assert acl.spec() == raw
    assert Entry("user", "abc", "r-x") in acl.access
    assert Acl.parse("\n".join(acl.lines())) == acl


def test_acl_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not an ACL entry"):
        Acl.parse("user:rwx")


def test_effective_applies_the_mask_and_ignores_execute_on_files() -> None:
    acl = Acl.parse("user::rw-,group::r--,group:g:r-x,mask::r--,other::---")
    assert effective(acl, is_dir=False) == {"group:": "r--", "group:g": "r--"}


def observed_from(plan: AclPlan) -> list[ObservedPath]:
    return [ObservedPath(p.path, True, p.acl) for p in plan.paths]


def test_find_drift_is_empty_when_everything_matches(plan: AclPlan) -> None:
    files = [
        ObservedPath("gold/bury/family/part-0", False, plan.expected("gold/bury/family/part-0", is_dir=False))
    ]
    assert find_drift(plan, observed_from(plan) + files) == []


def test_find_drift_reports_an_extra_entry_on_a_planned_path(plan: AclPlan) -> None:
    seen = observed_from(plan)
    gold = next(o for o in seen if o.path == "gold/bury")
    extra = Acl((*gold.acl.access, Entry("group", "sg-da-bolton-analysts", "r-x")), gold.acl.default)
    seen[seen.index(gold)] = ObservedPath("gold/bury", True, extra)
    drifts = find_drift(plan, seen)
    assert [d.path for d in drifts] == ["gold/bury"]
    assert drifts[0].problems == ("access group:sg-da-bolton-analysts r-x not in the config",)


def test_find_drift_reports_missing_directories_and_a_file_in_place_of_one(plan: AclPlan) -> None:
    seen = [o for o in observed_from(plan) if o.path != "silver/bury"]
    seen = [ObservedPath(o.path, o.path != "gold/wigan", o.acl) for o in seen]
    drifts = {d.path: d.problems for d in find_drift(plan, seen)}
    assert drifts == {
        "silver/bury": ("missing directory",),
        "gold/wigan": ("is a file; the config expects a directory",),
    }


def narrowed(plan: AclPlan, mask: str) -> Acl:
    """What POSIX and ADLS give a file created under gold/bury with a mode whose group bits are ``mask``."""
    gold = plan.get("gold/bury")
    assert gold is not None
    return Acl(
        tuple(
            Entry(e.tag, e.qualifier, perms_and(e.perms, mask)) if e.tag == "mask" else e
            for e in gold.acl.default
        )
    )


def test_find_drift_accepts_a_new_file_whose_mode_dropped_write_from_the_mask(plan: AclPlan) -> None:
    seen = [*observed_from(plan), ObservedPath("gold/bury/family/new.parquet", False, narrowed(plan, "r--"))]
    assert find_drift(plan, seen) == []


def test_find_drift_reports_a_new_file_its_readers_cannot_read(plan: AclPlan) -> None:
    seen = [*observed_from(plan), ObservedPath("gold/bury/family/new.parquet", False, narrowed(plan, "---"))]
    drifts = find_drift(plan, seen)
    assert [d.path for d in drifts] == ["gold/bury/family/new.parquet"]
    assert "group:sg-da-bury-analysts can ---, config r--" in drifts[0].problems


def test_find_drift_reports_a_world_readable_file_below_an_area(plan: AclPlan) -> None:
    loose = Acl.parse("user::rw-,group::r--,other::r--")
    seen = [*observed_from(plan), ObservedPath("silver/_platform/person_xref/part-0", False, loose)]
    problems = find_drift(plan, seen)[0].problems
    assert "other can r--, config ---" in problems
    assert f"user:{PIPE} can ---, config rw-" in problems
