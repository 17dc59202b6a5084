"""The ACL plan as POSIX ACLs on a local lake folder, so access can be proven with real users.

Groups are Linux groups named as in the config (created with ``groupadd`` when missing); the
pipeline identity becomes the local user who runs the pipeline. A Linux group cannot hold groups,
so the traverse group (``platform.traverse``), when the config names one, is made to hold exactly
the users of every custodians, analysts and uploader group (``gpasswd -M``): re-apply after adding
a user to a group. ACLs and owners are read with one ``getfacl`` (``-R`` over the lake, or the
paths of a sampled or planned-only check on standard input) and written with one
``setfacl --restore``, only for the paths that differ from the plan, so a second apply changes
nothing. A path whose owner the config does not allow (:class:`~acl_plan.Owners`) is given to the
pipeline user. Needs the Debian ``acl`` package.

Commit point: each path's ACL is set by ``setfacl --restore`` as it goes (no transaction over the
lake); an interrupted apply leaves some paths done and the rest as they were, and re-running it
finishes the job.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from accelerator.governance.acl_plan import (
    DEEP_LIMIT,
    Acl,
    AclPlan,
    ApplyReport,
    Drift,
    DriftCheck,
    Listed,
    ObservedPath,
    Owners,
    Scope,
    find_drift,
    sample,
)
from accelerator.governance.custodianship import Custodianship

SUPERUSERS = frozenset({"root"})
MAX_GROUP_NAME = 32
"""groupadd's limit on a group name."""


class LocalAclError(RuntimeError):
    """The local back end cannot do what was asked (tools, privileges, a missing user)."""


def require_acl_tools() -> None:
    missing = [t for t in ("getfacl", "setfacl") if shutil.which(t) is None]
    if missing:
        raise LocalAclError(
            f"{' and '.join(missing)} not found: install the 'acl' package (apt-get install acl)"
        )


def _run(args: list[str], *, stdin: str | None = None) -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LocalAclError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def local_plan(plan: AclPlan, pipeline_user: str) -> AclPlan:
    """The plan with the pipeline identity mapped to the local user that runs the pipeline."""
    return plan.rename({plan.pipeline: pipeline_user})


def ensure_groups(names: Iterable[str]) -> list[str]:
    """Create the Linux groups that do not exist yet; return those created."""
    created = []
    for name in sorted(set(names)):
        if len(name) > MAX_GROUP_NAME:
            raise LocalAclError(
                f"group name {name} has {len(name)} characters; Linux allows {MAX_GROUP_NAME}: "
                "shorten it in the custodianship config"
            )
        try:
            grp.getgrnam(name)
        except KeyError:
            if os.geteuid() != 0:
                raise LocalAclError(f"group {name} does not exist and only root can create it") from None
            _run(["groupadd", name])
            created.append(name)
    return created


def group_members(name: str) -> frozenset[str]:
    """The users of a Linux group: its listed members and the users whose primary group it is."""
    try:
        g = grp.getgrnam(name)
    except KeyError:
        return frozenset()
    primary = {u.pw_name for u in pwd.getpwall() if u.pw_gid == g.gr_gid}
    return frozenset(g.gr_mem) | primary


def traverse_drift(config: Custodianship) -> tuple[set[str], set[str]]:
    """Users the traverse group lacks, and users it holds that are in none of the member groups."""
    if not config.traverse:
        return set(), set()
    want = set().union(*(group_members(g) for g in config.member_groups))
    try:
        have = set(grp.getgrnam(config.traverse).gr_mem)
    except KeyError:
        have = set()
    return want - have, have - want


def sync_traverse_group(config: Custodianship) -> list[str]:
    """Make the traverse group hold exactly the member groups' users; ``+user`` / ``-user`` changes."""
    missing, extra = traverse_drift(config)
    if not config.traverse or not (missing or extra):
        return []
    want = sorted(set().union(*(group_members(g) for g in config.member_groups)))
    _run(["gpasswd", "-M", ",".join(want), config.traverse])
    return [f"+{u}" for u in sorted(missing)] + [f"-{u}" for u in sorted(extra)]


def ensure_directories(plan: AclPlan, root: Path) -> list[str]:
    """Create every planned directory that is missing (owner-only until its ACL is set)."""
    created = []
    for p in plan.paths:
        target = root / p.path if p.path else root
        if not target.exists():
            target.mkdir(mode=0o700, parents=True)
            created.append(p.path)
    return created


_UNESCAPE = re.compile(r"\\(\\|[0-7]{3})")


def _unescape(name: str) -> str:
    return _UNESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1), 8)), name)


def _escape(name: str) -> str:
    return "".join(
        "\\\\" if c == "\\" else c if c.isprintable() and not c.isspace() else f"\\{ord(c):03o}" for c in name
    )


def observe(root: Path, paths: Iterable[str] | None = None) -> list[ObservedPath]:
    """The ACL and owner of every file and directory under ``root`` (symbolic links are skipped),
    or, with ``paths`` (relative to ``root``), of those paths only."""
    require_acl_tools()
    if paths is None:
        out = _run(["getfacl", "-R", "-P", "-p", "-E", "--", str(root)])
    else:
        # getfacl reads the names from standard input; they must not hold a newline
        names = [str(root / p) if p else str(root) for p in paths]
        names = [n for n in names if "\n" not in n and os.path.lexists(n)]
        out = _run(["getfacl", "-P", "-p", "-E", "-"], stdin="\n".join(names) + "\n") if names else ""
    seen = []
    for block in out.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not lines[0].startswith("# file: "):
            continue
        path = Path(_unescape(lines[0][len("# file: ") :]))
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            continue
        owner = next((_unescape(ln[len("# owner: ") :]) for ln in lines if ln.startswith("# owner: ")), None)
        rel = os.path.relpath(path, root)
        acl = Acl.parse("\n".join(line for line in lines[1:] if not line.startswith("#")))
        seen.append(ObservedPath("" if rel == "." else rel, stat.S_ISDIR(mode), acl, owner))
    return seen


def listing(root: Path) -> list[Listed]:
    """Every file and directory under ``root`` with its modification time (links not followed)."""
    out = [Listed("", True, root.lstat().st_mtime)]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                continue
            out.append(Listed(os.path.relpath(full, root), stat.S_ISDIR(st.st_mode), st.st_mtime))
    return out


def untraversable_ancestors(root: Path) -> list[str]:
    """Ancestors of the lake that other users cannot traverse (no ``o+x``): ACLs below won't help."""
    bad = []
    for parent in root.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            bad.append(str(parent))
    return bad


def owners(pipeline_user: str) -> Owners:
    """Owners allowed locally: the pipeline user, root, and below an area the members of a group
    that may write there."""
    return Owners(pipeline_user, SUPERUSERS, cache(group_members))


def check_local(
    plan: AclPlan,
    root: Path,
    *,
    pipeline_user: str,
    scope: Scope = "deep",
    limit: int = DEEP_LIMIT,
    config: Custodianship | None = None,
) -> DriftCheck:
    """Drift of the lake from the plan: ACLs and owners of every path (``deep``), of the planned
    directories (``planned``), or deep up to ``limit`` paths and sampled above (``auto``). With
    ``config``, the traverse group's members are checked too."""
    root = root.resolve()
    lplan = local_plan(plan, pipeline_user)
    if scope == "deep":
        seen, what = observe(root), "deep: every path"
    elif scope == "planned":
        seen, what = observe(root, [p.path for p in lplan.paths]), "planned directories only"
    else:
        found = listing(root)
        chosen, what = sample(found, limit=limit)
        seen = observe(root) if len(chosen) == len(found) else observe(root, [p.path for p in chosen])
    drifts = find_drift(lplan, seen, owners(pipeline_user))
    if config is not None and config.traverse:
        missing, extra = traverse_drift(config)
        problems = [f"traverse group {config.traverse} lacks {', '.join(sorted(missing))}"] if missing else []
        if extra:
            problems.append(
                f"traverse group {config.traverse} holds {', '.join(sorted(extra))} (in no group)"
            )
        if problems:
            drifts = sorted([*drifts, Drift("", tuple(problems))], key=lambda d: d.path)
    return DriftCheck(drifts, f"{what} ({len(seen)} read)")


def drift_local(
    plan: AclPlan, root: Path, *, pipeline_user: str, config: Custodianship | None = None
) -> list[Drift]:
    """Every path under the lake whose ACL or owner differs from the plan (a deep check)."""
    return check_local(plan, root, pipeline_user=pipeline_user, config=config).drifts


def apply_local(
    plan: AclPlan, root: Path, *, pipeline_user: str, config: Custodianship | None = None
) -> ApplyReport:
    """Make the lake what the plan says: groups (and, with ``config``, the traverse group's
    members), directories, owners, then every differing ACL."""
    require_acl_tools()
    root = root.resolve()  # getfacl -P would skip a lake root given through a symbolic link
    try:
        pipe = pwd.getpwnam(pipeline_user)
    except KeyError:
        raise LocalAclError(f"pipeline user {pipeline_user!r} does not exist on this machine") from None
    lplan = local_plan(plan, pipeline_user)
    groups = {e.qualifier for p in lplan.paths for e in (*p.acl.access, *p.acl.default) if e.tag == "group"}
    if config is not None and config.traverse:
        groups |= set(config.groups)
    report = ApplyReport(warnings=list(plan.warnings))
    report.created_groups = ensure_groups(g for g in groups if g)
    if config is not None:
        report.traverse_members = sync_traverse_group(config)
    report.created_dirs = ensure_directories(lplan, root)

    blocks = []
    seen = observe(root)
    is_dir = {o.path: o.is_dir for o in seen}
    rule = owners(pipeline_user)
    for o in seen:
        if rule.problem(lplan, o):
            os.chown(root / o.path if o.path else root, pipe.pw_uid, -1, follow_symlinks=False)
            report.owners_changed.append(o.path)
    for d in find_drift(lplan, seen):
        acl = lplan.expected(d.path, is_dir=is_dir.get(d.path, True))
        target = root / d.path if d.path else root
        blocks.append(f"# file: {_escape(str(target))}\n" + "\n".join(acl.lines()) + "\n")
        report.changed.append(d.path)
    if blocks:
        _run(["setfacl", "--restore=-"], stdin="\n".join(blocks) + "\n")
    report.directories_successful = sum(1 for p in report.changed if is_dir.get(p, True))
    report.files_successful = len(report.changed) - report.directories_successful
    for parent in untraversable_ancestors(root):
        report.warnings.append(f"{parent} has no o+x: nobody but its owner can reach the lake below it")
    return report
