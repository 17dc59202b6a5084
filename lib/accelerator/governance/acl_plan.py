"""Custodianship config -> the exact POSIX ACL of every lake path (pure: no I/O).

The matrix of custodianship.md, as implemented (``p`` the pipeline identity, ``e`` the engineers,
``t`` the traverse group when the config names one: it then replaces the groups on the shared
parents, so those carry three named entries however many groups there are):

| path | access ACL | default ACL |
|---|---|---|
| lake root | p r-x; e, every custodians/analysts/uploader group (or t) --x | platform-only |
| ``landing`` | p r-x; e, every custodians and uploader group (or t) --x | platform-only |
| ``landing/<a>`` | p r-x; e --x; custodians r-x; its uploader groups --x | p rwx, e --x, custodians r-x |
| ``landing/<a>/<feed>`` | p rwx; e --x; custodians r-x; that feed's uploader group -wx | same |
| ``bronze``, ``silver`` | p r-x; e, every custodians group (or t) --x | platform-only |
| ``gold`` | p r-x; e, every custodians and analysts group (or t) --x | platform-only |
| ``bronze/<a>``, ``silver/<a>`` | p rwx; e --x; ``<a>`` custodians r-x | same |
| ``gold/<a>`` | p rwx; e --x; ``<a>`` custodians and analysts r-x | same |
| ``bronze/_platform``, ``silver/_platform`` | platform-only: p rwx, e --x | same |

Every ACL also has ``user::rwx``, ``group::---``, ``other::---`` and a mask equal to the union of
its named entries, so every named entry is effective and nobody else gets anything. Paths the
matrix does not name inherit the default ACL of their nearest planned ancestor, exactly as a new
file or folder would (:meth:`AclPlan.expected`); under a traverse-only parent that is
platform-only: whatever appears there is locked until the config says otherwise.

Principals are names here (the pipeline a ``user`` entry, everyone else ``group`` entries); the
back ends map names to local users and groups or to Entra object ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from accelerator.feeds import AUTHORITIES, FEEDS
from accelerator.governance.custodianship import Custodianship
from accelerator.io.lake import PLATFORM

MAX_NAMED_ENTRIES = 28
"""ADLS Gen2 allows 32 entries per access (and per default) ACL; four are user::, group::, mask::,
other::."""

LANDING, BRONZE, SILVER, GOLD = "landing", "bronze", "silver", "gold"
LAYERS = (LANDING, BRONZE, SILVER, GOLD)

Tag = Literal["user", "group", "mask", "other"]
Kind = Literal["parent", "area", "platform"]


class PlanError(ValueError):
    """The config cannot be expressed as ACLs (e.g. too many named entries on one path)."""


# --------------------------------------------------------------------------------------------- ACLs


def perms_and(a: str, b: str) -> str:
    """``r-x`` and ``rw-`` -> ``r--``."""
    return "".join(x if x != "-" and y != "-" else "-" for x, y in zip(a, b, strict=True))


def perms_or(a: str, b: str) -> str:
    return "".join(x if x != "-" else y for x, y in zip(a, b, strict=True))


def _no_x(p: str) -> str:
    return p[:2] + "-"


@dataclass(frozen=True, order=True)
class Entry:
    """One ACL entry; ``qualifier`` is the principal name, empty for owner, owning group, mask, other."""

    tag: Tag
    qualifier: str
    perms: str

    @property
    def key(self) -> str:
        return f"{self.tag}:{self.qualifier}"

    @property
    def named(self) -> bool:
        return bool(self.qualifier)

    def __str__(self) -> str:
        return f"{self.tag}:{self.qualifier}:{self.perms}"


_TAG_ORDER = {"user": 0, "group": 2, "mask": 4, "other": 5}


def _sort(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """getfacl's order: user::, user:NAME, group::, group:NAME, mask::, other::."""
    return tuple(sorted(entries, key=lambda e: (_TAG_ORDER[e.tag] + (1 if e.named else 0), e.qualifier)))


@dataclass(frozen=True)
class Acl:
    """An access ACL and, for a directory, its default ACL (empty: none)."""

    access: tuple[Entry, ...]
    default: tuple[Entry, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "access", _sort(self.access))
        object.__setattr__(self, "default", _sort(self.default))

    def lines(self) -> list[str]:
        """getfacl text lines: access entries then ``default:`` entries."""
        return [str(e) for e in self.access] + [f"default:{e}" for e in self.default]

    def spec(self) -> str:
        """The comma-separated form setfacl ``--set`` and the Data Lake SDK take."""
        return ",".join(self.lines())

    @classmethod
    def parse(cls, text: str) -> Acl:
        """Parse ``spec()`` output, getfacl lines or an ADLS ``x-ms-acl`` value."""
        access: list[Entry] = []
        default: list[Entry] = []
        for raw in text.replace(",", "\n").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(":")
            target = access
            if parts[0] in ("default", "d"):
                target, parts = default, parts[1:]
            if len(parts) != 3:
                raise ValueError(f"not an ACL entry: {raw!r}")
            tag = {"u": "user", "g": "group", "m": "mask", "o": "other"}.get(parts[0], parts[0])
            if tag not in _TAG_ORDER:
                raise ValueError(f"not an ACL entry: {raw!r}")
            target.append(Entry(tag, parts[1], parts[2]))  # type: ignore[arg-type]
        return cls(tuple(access), tuple(default))

    def rename(self, names: Mapping[str, str]) -> Acl:
        """Map principal names (e.g. to object ids or local users); unmapped names stay."""

        def ren(es: tuple[Entry, ...]) -> tuple[Entry, ...]:
            return tuple(replace(e, qualifier=names.get(e.qualifier, e.qualifier)) for e in es)

        return Acl(ren(self.access), ren(self.default))

    def named_counts(self) -> tuple[int, int]:
        """Named entries (``user:NAME``, ``group:NAME``) in the access and in the default ACL: what
        ADLS limits, to 28 each (its 32 entries less ``user::``, ``group::``, ``mask::``, ``other::``)."""
        return sum(e.named for e in self.access), sum(e.named for e in self.default)

    def named_count(self) -> int:
        """The larger of :meth:`named_counts`: what must stay within :data:`MAX_NAMED_ENTRIES`."""
        return max(self.named_counts())

    def for_file(self) -> Acl:
        """This ACL as a file gets it: no default ACL, no execute bits."""
        return Acl(tuple(replace(e, perms=_no_x(e.perms)) for e in self.access))

    def inherited(self, *, is_dir: bool) -> Acl:
        """The ACL a child created under a directory with this default ACL gets."""
        child = Acl(self.default, self.default)
        return child if is_dir else child.for_file()


Grants = dict[tuple[Tag, str], str]


def _merge(*grants: Mapping[tuple[Tag, str], str]) -> Grants:
    """Union of grants; a principal named twice gets both sets of permissions."""
    out: Grants = {}
    for g in grants:
        for k, p in g.items():
            out[k] = perms_or(out.get(k, "---"), p)
    return out


def _acl(named: Mapping[tuple[Tag, str], str]) -> tuple[Entry, ...]:
    mask = "---"
    for p in named.values():
        mask = perms_or(mask, p)
    base = [Entry("user", "", "rwx"), Entry("group", "", "---"), Entry("other", "", "---")]
    entries = [Entry(tag, name, p) for (tag, name), p in named.items()]
    if entries:
        base.append(Entry("mask", "", mask))
    return tuple(base + entries)


# --------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PathPlan:
    """The planned ACL of one directory; ``path`` is relative to the lake root ("" is the root)."""

    path: str
    kind: Kind
    acl: Acl
    note: str

    @property
    def depth(self) -> int:
        return 0 if not self.path else self.path.count("/") + 1


@dataclass(frozen=True)
class AclPlan:
    """Every path custodianship.md lays out, with its exact ACL."""

    pipeline: str
    paths: tuple[PathPlan, ...]
    warnings: tuple[str, ...] = ()
    traverse: str | None = None
    """The traverse group, when the config names one (it stands in for the groups on the parents)."""
    _by_path: Mapping[str, PathPlan] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.paths, key=lambda p: (p.depth, p.path)))
        object.__setattr__(self, "paths", ordered)
        object.__setattr__(self, "_by_path", {p.path: p for p in ordered})

    def get(self, path: str) -> PathPlan | None:
        return self._by_path.get(path.strip("/"))

    def nearest(self, path: str) -> PathPlan:
        """The planned path itself or its nearest planned ancestor (the root is always planned)."""
        parts = [p for p in path.strip("/").split("/") if p]
        while parts:
            hit = self._by_path.get("/".join(parts))
            if hit:
                return hit
            parts.pop()
        return self._by_path[""]

    def expected(self, path: str, *, is_dir: bool) -> Acl:
        """What the ACL of ``path`` must be: planned, or inherited from the nearest planned ancestor."""
        planned = self.get(path)
        if planned:
            return planned.acl if is_dir else planned.acl.for_file()
        return self.nearest(path).acl.inherited(is_dir=is_dir)

    def rename(self, names: Mapping[str, str]) -> AclPlan:
        """The same plan with principals renamed (see :meth:`Acl.rename`)."""
        paths = tuple(replace(p, acl=p.acl.rename(names)) for p in self.paths)
        trav = names.get(self.traverse, self.traverse) if self.traverse else None
        return AclPlan(names.get(self.pipeline, self.pipeline), paths, self.warnings, trav)

    def principals(self) -> tuple[str, ...]:
        out = {e.qualifier for p in self.paths for e in (*p.acl.access, *p.acl.default) if e.named}
        return tuple(sorted(out))

    def rights_of(self, principal: str) -> list[tuple[str, str, str]]:
        """(path, access perms, default perms) wherever ``principal`` has a named entry."""
        rows = []
        for p in self.paths:
            acc = next((e.perms for e in p.acl.access if e.qualifier == principal), "")
            dfl = next((e.perms for e in p.acl.default if e.qualifier == principal), "")
            if acc or dfl:
                rows.append((p.path or "/", acc or "---", dfl or "---"))
        return rows


SHARED_PARENTS = ("", LANDING, BRONZE, SILVER, GOLD)
"""The folders every authority's groups pass through: where a traverse group stands in for them."""


def plan_acls(config: Custodianship, *, max_named: int = MAX_NAMED_ENTRIES) -> AclPlan:
    """The ACL of every path of custodianship.md for all authorities of feeds.md and every feed.

    An authority missing from ``config`` still gets its areas, platform-only. On the shared parents
    (:data:`SHARED_PARENTS`) every group that must pass through gets ``--x``; with a traverse group
    configured (``platform.traverse``) that group's one entry stands in for all of them. Raises
    :class:`PlanError` when a path would carry more than ``max_named`` named entries in its access
    or its default ACL (counted separately, as ADLS does).
    """
    paths = [*_shared_paths(config), *(p for code in AUTHORITIES for p in _authority_paths(config, code))]
    too_big = [p for p in paths if p.acl.named_count() > max_named]
    if too_big:
        raise PlanError(_too_many(config, too_big, max_named))
    return AclPlan(config.pipeline, tuple(paths), config.warnings(), config.traverse)


def _path(path: str, kind: Kind, access: Grants, default: Grants, note: str) -> PathPlan:
    return PathPlan(path, kind, Acl(_acl(access), _acl(default)), note)


def _platform(config: Custodianship, pipeline: str) -> Grants:
    """The pipeline identity with ``pipeline`` permissions, the engineers traverse only."""
    return {("user", config.pipeline): pipeline, ("group", config.engineers): "--x"}


def _traverse(*names: str) -> Grants:
    return {("group", n): "--x" for n in sorted(set(names))}


def _parent(config: Custodianship, path: str, names: Iterable[str], note: str) -> PathPlan:
    """A shared parent: the named groups (or the traverse group for all of them) pass through."""
    if config.traverse:
        names, note = (config.traverse,), f"traverse for {note} through {config.traverse}"
    else:
        note = f"traverse for {note}"
    only = _platform(config, "rwx")
    return _path(path, "parent", _merge(_platform(config, "r-x"), _traverse(*names)), only, note)


def _shared_paths(config: Custodianship) -> list[PathPlan]:
    """The lake root, the layers and the two platform areas, in that order."""
    groups = config.authorities.values()
    custodians = [g.custodians for g in groups]
    analysts = [g.analysts for g in groups]
    uploaders = [u for g in groups for u in g.uploaders.values()]
    only = _platform(config, "rwx")
    return [
        _parent(config, "", (*custodians, *analysts, *uploaders), "every group below"),
        _parent(config, LANDING, (*custodians, *uploaders), "custodians and uploaders"),
        _parent(config, BRONZE, custodians, "custodians"),
        _parent(config, SILVER, custodians, "custodians"),
        _parent(config, GOLD, (*custodians, *analysts), "custodians and analysts"),
        *(
            _path(f"{layer}/{PLATFORM}", "platform", only, only, "pipeline only")
            for layer in (BRONZE, SILVER)
        ),
    ]


def _authority_paths(config: Custodianship, code: str) -> list[PathPlan]:
    """One authority's landing area and feed folders, then its bronze, silver and gold areas."""
    g = config.authorities.get(code)
    read: Grants = {("group", g.custodians): "r-x"} if g else {}
    up = g.uploaders if g else {}
    who = "custodians read" if g else "no groups configured: platform only"
    writes = _platform(config, "rwx")
    out = [
        _path(
            f"{LANDING}/{code}",
            "area",
            _merge(_platform(config, "r-x"), read, _traverse(*up.values())),
            _merge(writes, read),
            who + ("; uploaders traverse" if up else ""),
        )
    ]
    for feed in FEEDS:
        upload: Grants = {("group", up[feed]): "-wx"} if feed in up else {}
        access = _merge(writes, read, upload)
        note = who + (f"; {up[feed]} writes" if feed in up else "") + "; pipeline reads and deletes"
        out.append(_path(f"{LANDING}/{code}/{feed}", "area", access, access, note))
    for layer in (BRONZE, SILVER, GOLD):
        analysts_read: Grants = {("group", g.analysts): "r-x"} if layer == GOLD and g else {}
        rights = _merge(writes, read, analysts_read)
        out.append(
            _path(
                f"{layer}/{code}", "area", rights, rights, who + ("; analysts read" if layer == GOLD else "")
            )
        )
    return out


def _too_many(config: Custodianship, too_big: list[PathPlan], max_named: int) -> str:
    def counted(p: PathPlan) -> str:
        access, default = p.acl.named_counts()
        scope = "access" if access >= default else "default"
        return f"{p.path or '/'} needs {max(access, default)} ({scope} ACL)"

    head = (
        f"{config.source}: too many named ACL entries for ADLS, which allows {max_named} named entries "
        "(user:NAME and group:NAME; the access and the default ACL counted separately) per path: "
        + ", ".join(counted(p) for p in too_big)
        + "."
    )
    shared = {p.path for p in too_big} & set(SHARED_PARENTS)
    if shared and not config.traverse:
        return head + (
            " No traverse group is configured, so each of these shared parents names every group that "
            "passes through it. Fix: set platform.traverse to an Entra security group whose members are "
            "the custodians, analysts and uploader groups (locally, a Linux group: `acl apply --local` "
            "makes their users its members); the shared parents then carry one entry for all of them."
        )
    return head + (
        " Fix: use fewer distinct uploader groups for one authority (share a partner's group across "
        "authorities, or let the authority's custodians upload its own feeds)."
    )


# -------------------------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class ObservedPath:
    """An ACL read back from storage; ``path`` relative to the lake root. ``owner`` is the owning
    user as the back end names it (None: not read)."""

    path: str
    is_dir: bool
    acl: Acl
    owner: str | None = None


@dataclass(frozen=True)
class Owners:
    """Who may own a path. The owner of a file or folder has the ``user::`` rights (``rwx`` here)
    and may change its ACL, so it must be one the config trusts with the path:

    - the pipeline identity, or a superuser (``root``; ``$superuser`` on ADLS), anywhere;
    - below a planned directory, also a member of a group that may write there (an uploader's own
      delivery in its feed folder): ``members(group)`` gives the group's users, or None when the
      back end cannot tell (Entra membership is not read: such owners are accepted, unverified).

    Planned directories themselves must be owned by the pipeline or a superuser.
    """

    pipeline: str
    superusers: frozenset[str]
    members: Callable[[str], frozenset[str] | None] = lambda _group: None

    def problem(self, plan: AclPlan, seen: ObservedPath) -> str | None:
        owner = seen.owner
        if owner is None or owner == self.pipeline or owner in self.superusers:
            return None
        allowed = [self.pipeline, *sorted(self.superusers)]
        if plan.get(seen.path) is None:
            writers = sorted(
                e.qualifier
                for e in plan.nearest(seen.path).acl.default
                if e.tag == "group" and e.named and "w" in e.perms
            )
            for group in writers:
                users = self.members(group)
                if users is None or owner in users:
                    return None
            allowed += [f"a member of {g}" for g in writers]
        return f"owner is {owner}, config: {' or '.join(allowed)}"


@dataclass(frozen=True)
class Drift:
    """A path whose ACL differs from the config, and how."""

    path: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path or '/'}: " + "; ".join(self.problems)


def _entries(es: Iterable[Entry]) -> dict[str, str]:
    return {e.key: e.perms for e in es}


def _label(key: str) -> str:
    return {"user:": "owner", "group:": "owning group", "mask:": "mask", "other:": "other"}.get(key, key)


def diff_entries(scope: str, expected: Iterable[Entry], actual: Iterable[Entry]) -> list[str]:
    """Entry-by-entry differences, ``scope`` being "access" or "default"."""
    want, got = _entries(expected), _entries(actual)
    out = []
    for key in sorted(set(want) | set(got)):
        w, g = want.get(key), got.get(key)
        if w == g:
            continue
        if w is None:
            out.append(f"{scope} {_label(key)} {g} not in the config")
        elif g is None:
            out.append(f"{scope} {_label(key)} missing (config {w})")
        else:
            out.append(f"{scope} {_label(key)} is {g}, config {w}")
    return out


def effective(acl: Acl, *, is_dir: bool) -> dict[str, str]:
    """What each principal can actually do through ``acl``: named entries and the owning group
    masked, ``other`` as is, execute ignored on files. The owner (whoever created the file) is
    left out. Principals with no rights are absent."""
    mask = next((e.perms for e in acl.access if e.tag == "mask"), None)
    out = {}
    for e in acl.access:
        if e.tag == "mask" or (e.tag == "user" and not e.named):
            continue
        p = e.perms if e.tag == "other" or mask is None else perms_and(e.perms, mask)
        if not is_dir:
            p = _no_x(p)
        if p != "---":
            out[e.key] = p
    return out


def diff_path(plan: AclPlan, seen: ObservedPath) -> list[str]:
    """Differences of one observed path from the plan.

    A planned directory must match entry for entry, access and default. Anything below it is held
    to what it would have inherited: for a directory the same default ACL, and for every principal
    no effective right beyond the config's and no lost read or traverse. A lost write alone is not
    drift there: a writer's mode (``0644`` from Spark, ``cp``) narrows the mask of what it creates,
    exactly as inheritance does; one extra reader anywhere is drift.
    """
    planned = plan.get(seen.path)
    if planned is not None:
        if not seen.is_dir:
            return ["is a file; the config expects a directory"]
        want = planned.acl
        return diff_entries("access", want.access, seen.acl.access) + diff_entries(
            "default", want.default, seen.acl.default
        )
    want = plan.expected(seen.path, is_dir=seen.is_dir)
    w, g = effective(want, is_dir=seen.is_dir), effective(seen.acl, is_dir=seen.is_dir)
    out = []
    for key in sorted(set(w) | set(g)):
        wp, gp = w.get(key, "---"), g.get(key, "---")
        wider = any(have != "-" and need == "-" for have, need in zip(gp, wp, strict=True))
        lost = any(need in "rx" and have == "-" for have, need in zip(gp, wp, strict=True))
        if wider or lost:
            out.append(f"{_label(key)} can {gp}, config {wp}")
    if seen.is_dir:
        out += diff_entries("default", want.default, seen.acl.default)
    return out


def find_drift(plan: AclPlan, observed: Iterable[ObservedPath], owners: Owners | None = None) -> list[Drift]:
    """Every path whose ACL (and, with ``owners``, owner) differs from the plan, including planned
    directories that are missing."""
    drifts = []
    seen_paths = set()
    for seen in observed:
        seen_paths.add(seen.path)
        problems = diff_path(plan, seen)
        wrong_owner = owners.problem(plan, seen) if owners else None
        if wrong_owner:
            problems.append(wrong_owner)
        if problems:
            drifts.append(Drift(seen.path, tuple(problems)))
    for p in plan.paths:
        if p.path not in seen_paths:
            drifts.append(Drift(p.path, ("missing directory",)))
    return sorted(drifts, key=lambda d: d.path)


# ------------------------------------------------------------------------------------------- scope

Scope = Literal["deep", "planned", "auto"]
"""What a drift check reads: ``deep`` every file and folder with its owner; ``planned`` the planned
directories only; ``auto`` deep when the lake has at most :data:`DEEP_LIMIT` paths, else a sample
(:func:`sample`)."""

DEEP_LIMIT = 20_000
"""Paths up to which ``auto`` checks everything: one ``getfacl`` locally (seconds), on ADLS one
``get_access_control`` call per path (about 20 000 calls, a few minutes from Synapse)."""

SAMPLE_FILES_PER_DIR = 3
"""A sampled check reads every directory and this many of the newest files in each."""


@dataclass(frozen=True)
class Listed:
    """A path found by listing the lake, with its modification time (seconds since the epoch)."""

    path: str
    is_dir: bool
    mtime: float


def sample(
    listing: Sequence[Listed], *, limit: int = DEEP_LIMIT, files_per_dir: int = SAMPLE_FILES_PER_DIR
) -> tuple[list[Listed], str]:
    """The paths an ``auto`` check reads, and how they were chosen.

    Every path when there are at most ``limit``. Otherwise every directory (directories carry the
    default ACLs everything below inherits, and are few) and, in each directory, its
    ``files_per_dir`` most recently modified files (ties by name): what the last runs wrote, where a
    writer's file mode or a hand-made change would show first. The rule is deterministic, needs no
    clock, and a nightly check after every run reads each new file while it is among the newest.
    """
    if len(listing) <= limit:
        return list(listing), f"deep: every path ({len(listing)})"
    dirs = [p for p in listing if p.is_dir]
    by_parent: dict[str, list[Listed]] = {}
    for p in listing:
        if not p.is_dir:
            by_parent.setdefault(p.path.rpartition("/")[0], []).append(p)
    files = [
        f
        for group in by_parent.values()
        for f in sorted(group, key=lambda f: (-f.mtime, f.path))[:files_per_dir]
    ]
    chosen = sorted(dirs + files, key=lambda p: p.path)
    return chosen, (
        f"sampled: {len(chosen)} of {len(listing)} paths (more than {limit}): every directory "
        f"({len(dirs)}) and the {files_per_dir} newest files of each"
    )


@dataclass(frozen=True)
class DriftCheck:
    """The outcome of a drift check: what differs, and what was read (``scope``, in words)."""

    drifts: list[Drift]
    scope: str


# ------------------------------------------------------------------------------------------- report


@dataclass
class ApplyReport:
    """What an apply did. ``changed`` lists paths whose ACL was rewritten because it differed."""

    created_groups: list[str] = field(default_factory=list)
    created_dirs: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    owners_changed: list[str] = field(default_factory=list)
    """Paths whose owner was not one the config allows, given to the pipeline identity."""
    traverse_members: list[str] = field(default_factory=list)
    """Locally: users added to or removed from the traverse group (``+user``, ``-user``)."""
    directories_successful: int = 0
    files_successful: int = 0
    failure_count: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure_count == 0 and not self.failures

    def summary(self) -> str:
        parts = [
            f"groups created: {len(self.created_groups)}",
            f"directories created: {len(self.created_dirs)}",
            f"paths changed: {len(self.changed)}",
        ]
        if self.owners_changed:
            parts.append(f"owners changed: {len(self.owners_changed)}")
        if self.traverse_members:
            parts.append(f"traverse group members changed: {len(self.traverse_members)}")
        if self.directories_successful or self.files_successful:
            parts.append(
                f"recursive: {self.directories_successful} directories, {self.files_successful} files"
            )
        parts.append(f"failures: {self.failure_count}")
        return ", ".join(parts)
