"""The pure ACL planner: config + lake layout -> exact ACL entries (custodianship.md's matrix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance.acl_plan import (
    MAX_NAMED_ENTRIES,
    SHARED_PARENTS,
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
TRAVERSE = "sg-da-platform-traverse"


@pytest.fixture(scope="module")
def config() -> Custodianship:
    return load_custodianship(ROOT / "infra" / "custodianship.yaml")


@pytest.fixture(scope="module")
def plan(config: Custodianship) -> AclPlan:
    return plan_acls(config)


def without_traverse(config: Custodianship, **authorities: object) -> Custodianship:
    """``config`` with no traverse group (and, if given, some authorities replaced)."""
    return parse_custodianship(
        {
            "platform": {"pipeline": config.pipeline, "engineers": config.engineers},
            "authorities": authorities
            or {a: g.model_dump() for a, g in config.authorities.items() if a in ("bury", "bolton")},
        },
        source="flat.yaml",
    )


@pytest.fixture(scope="module")
def flat(config: Custodianship) -> AclPlan:
    """Bury and Bolton of the shipped config, with no traverse group: groups on the parents."""
    return plan_acls(without_traverse(config))


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
    assert set(SHARED_PARENTS) == set(PARENTS)
    for path in PARENTS:
        for group in config.groups:
            assert can(plan, path, group) in ("---", "--x"), (path, group)
            assert can(plan, path, group, scope="default") in ("---", "--x"), (path, group)
        assert can(plan, path, PIPE) == "r-x"


def test_plan_acls_the_traverse_group_stands_in_for_every_group_on_the_shared_parents(
    plan: AclPlan, config: Custodianship
) -> None:
    for path in PARENTS:
        p = plan.get(path)
        assert p is not None
        assert {str(e) for e in p.acl.access if e.named} == {
            f"user:{PIPE}:r-x",
            f"group:{ENG}:--x",
            f"group:{TRAVERSE}:--x",
        }, path
    # below the shared parents the traverse group has nothing: it only lets the groups pass
    assert {r[0] for r in plan.rights_of(TRAVERSE)} == {p or "/" for p in PARENTS}
    assert all(r[1:] == ("--x", "---") for r in plan.rights_of(TRAVERSE))


def test_plan_acls_without_a_traverse_group_names_each_group_on_the_parents(
    flat: AclPlan, config: Custodianship
) -> None:
    bury, bolton = config.authorities["bury"], config.authorities["bolton"]
    c = {bury.custodians, bolton.custodians}
    a = {bury.analysts, bolton.analysts}
    u = {*bury.uploaders.values(), *bolton.uploaders.values()}
    want = {"": c | a | u, "landing": c | u, "bronze": c, "silver": c, "gold": c | a}
    for path, groups in want.items():
        p = flat.get(path)
        assert p is not None
        assert {e.qualifier for e in p.acl.access if e.tag == "group" and e.named} == groups | {ENG}, path
        assert all(can(flat, path, g) == "--x" for g in groups)


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
        assert traversable == set()  # the parents: through the traverse group
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
    group = "sg-da-bury-education-up"
    writable = {p.path for p in plan.paths if "w" in can(plan, p.path, group)}
    assert writable == {"landing/bury/school_census"}
    assert can(plan, "landing/bury/school_census", group) == "-wx"  # write, never read
    assert can(plan, "landing/bury/school_census", group, scope="default") == "-wx"
    traversable = {p.path for p in plan.paths if can(plan, p.path, group) == "--x"}
    assert traversable == {"landing/bury"}  # and the shared parents through the traverse group
    assert can(plan, "landing/bury", group, scope="default") == "---"


def test_plan_acls_each_authority_run_feed_has_the_authoritys_own_uploaders(
    plan: AclPlan, config: Custodianship
) -> None:
    for a in AUTHORITIES:
        for feed in ("school_census", "housing", "childrens_social_care", "early_help", "youth_justice"):
            group = config.authorities[a].uploaders[feed]
            assert group.startswith(f"sg-da-{a}-"), group
            writable = {p.path for p in plan.paths if "w" in can(plan, p.path, group)}
            assert writable == {f"landing/{a}/{feed}"}


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


def test_plan_acls_keeps_within_the_adls_entry_limit(plan: AclPlan, config: Custodianship) -> None:
    assert len(config.groups) == 77  # 10 x (custodians, analysts, 5 own uploaders), 5 partners, e, t
    counts = {p.path: p.acl.named_counts() for p in plan.paths}
    assert max(max(c) for c in counts.values()) == 13 <= MAX_NAMED_ENTRIES
    assert {counts[p] for p in PARENTS} == {(3, 2)}  # p, e, t; default p, e
    assert counts["landing/bury"] == (13, 3)  # p, e, custodians, ten uploader groups
    assert counts["landing/bury/housing"] == (4, 4)
    assert counts["gold/bury"] == (4, 4)


def test_plan_acls_refuses_more_than_28_named_entries_and_says_how_to_fix_it(config: Custodianship) -> None:
    every = {a: g.model_dump() for a, g in config.authorities.items()}
    with pytest.raises(PlanError) as e:
        plan_acls(without_traverse(config, **every))
    message = str(e.value)
    assert message.startswith(
        "flat.yaml: too many named ACL entries for ADLS, which allows 28 named entries (user:NAME and "
        "group:NAME; the access and the default ACL counted separately) per path: "
        "/ needs 77 (access ACL), landing needs 67 (access ACL)."
    )
    assert "No traverse group is configured" in message and "set platform.traverse" in message


def test_plan_acls_refuses_too_many_uploaders_below_a_traverse_group_naming_the_path() -> None:
    c = parse_custodianship(
        {
            "platform": {"pipeline": "pipe", "engineers": "eng", "traverse": "trav"},
            "authorities": {"bury": {"custodians": "bc", "analysts": "ba", "uploaders": {"housing": "up"}}},
        }
    )
    with pytest.raises(PlanError, match=r"per path: landing/bury needs 4 \(access ACL\), .*fewer distinct"):
        plan_acls(c, max_named=3)


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
