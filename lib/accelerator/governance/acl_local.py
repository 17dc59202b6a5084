"""The ACL plan as POSIX ACLs on a local lake folder, so access can be proven with real users.

Groups are Linux groups named as in the config (created with ``groupadd`` when missing); the
pipeline identity becomes the local user who runs the pipeline. ACLs are read with one
``getfacl -R`` over the lake and written with one ``setfacl --restore``, only for the paths that
differ from the plan, so a second apply changes nothing. Needs the Debian ``acl`` package.
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
from pathlib import Path

from accelerator.governance.acl_plan import (
    Acl,
    AclPlan,
    ApplyReport,
    Drift,
    ObservedPath,
    find_drift,
)


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
        try:
            grp.getgrnam(name)
        except KeyError:
            if os.geteuid() != 0:
                raise LocalAclError(f"group {name} does not exist and only root can create it") from None
            _run(["groupadd", name])
            created.append(name)
    return created


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


def observe(root: Path) -> list[ObservedPath]:
    """The ACL of every file and directory under ``root`` (symbolic links are skipped)."""
    require_acl_tools()
    out = _run(["getfacl", "-R", "-P", "-p", "-E", "--", str(root)])
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
        rel = os.path.relpath(path, root)
        acl = Acl.parse("\n".join(line for line in lines[1:] if not line.startswith("#")))
        seen.append(ObservedPath("" if rel == "." else rel, stat.S_ISDIR(mode), acl))
    return seen


def untraversable_ancestors(root: Path) -> list[str]:
    """Ancestors of the lake that other users cannot traverse (no ``o+x``): ACLs below won't help."""
    bad = []
    for parent in root.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            bad.append(str(parent))
    return bad


def drift_local(plan: AclPlan, root: Path, *, pipeline_user: str) -> list[Drift]:
    """Every path under the lake whose ACL differs from the plan."""
    return find_drift(local_plan(plan, pipeline_user), observe(root.resolve()))


def apply_local(plan: AclPlan, root: Path, *, pipeline_user: str) -> ApplyReport:
    """Make the lake's ACLs what the plan says: groups, directories, then every differing path."""
    require_acl_tools()
    root = root.resolve()  # getfacl -P would skip a lake root given through a symbolic link
    try:
        pwd.getpwnam(pipeline_user)
    except KeyError:
        raise LocalAclError(f"pipeline user {pipeline_user!r} does not exist on this machine") from None
    lplan = local_plan(plan, pipeline_user)
    groups = {e.qualifier for p in lplan.paths for e in (*p.acl.access, *p.acl.default) if e.tag == "group"}
    report = ApplyReport(warnings=list(plan.warnings))
    report.created_groups = ensure_groups(g for g in groups if g)
    report.created_dirs = ensure_directories(lplan, root)

    blocks = []
    seen = observe(root)
    is_dir = {o.path: o.is_dir for o in seen}
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
