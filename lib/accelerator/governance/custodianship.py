"""The custodianship config of custodianship.md: who may touch which authority's data.

One declarative YAML file names, per authority, its custodians group, its analysts group and an
optional uploader group per feed, plus the platform's pipeline identity and engineers group::

    platform:
      pipeline: mi-synw-gm-prod           # object id or name of the Synapse managed identity
      engineers: sg-da-platform-engineers
    authorities:
      bury:
        custodians: sg-da-bury-custodians
        analysts: sg-da-bury-analysts
        uploaders:                        # optional, per feed
          police_incidents: sg-da-gmp-uploaders
    object_ids:                           # optional: name -> Entra object id, for Azure only
      sg-da-bury-custodians: 0b9c...

More keys are allowed and ignored. :func:`parse_custodianship` reports every problem at once in a
:class:`CustodianshipError`; the planner (``acl_plan``) and both back ends take the validated
:class:`Custodianship`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from accelerator.feeds import AUTHORITIES, FEEDS

DEFAULT_CONFIG = "infra/custodianship.yaml"
"""Where the project keeps its own config, relative to the repository root."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A principal ends up inside POSIX ACL text ("group:NAME:r-x,...") and as a Linux group name.
_NAME = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$")


def is_object_id(principal: str) -> bool:
    """True when ``principal`` is written as an Entra object id (a GUID) rather than a name."""
    return bool(_GUID.match(principal))


class CustodianshipError(ValueError):
    """The config is invalid; ``problems`` lists every problem found, each naming its key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid custodianship config ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class AuthorityGroups:
    """The groups of one authority (custodianship.md, "Groups and rights")."""

    custodians: str
    analysts: str
    uploaders: Mapping[str, str] = field(default_factory=dict)
    """feed -> uploader group; a feed without an uploader group has none."""


@dataclass(frozen=True)
class Custodianship:
    """A validated custodianship config.

    ``pipeline`` is the Synapse managed identity (a user principal on ACLs); every other principal
    is a group. ``authorities`` may omit authorities of feeds.md: their areas are still planned,
    with platform-only access (``missing_authorities``).
    """

    pipeline: str
    engineers: str
    authorities: Mapping[str, AuthorityGroups]
    object_ids: Mapping[str, str] = field(default_factory=dict)
    source: str = "<config>"

    @property
    def missing_authorities(self) -> tuple[str, ...]:
        """Authorities of feeds.md the config does not name (their data is platform-only)."""
        return tuple(a for a in AUTHORITIES if a not in self.authorities)

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group the config names, sorted, each once."""
        names = {self.engineers}
        for g in self.authorities.values():
            names.update((g.custodians, g.analysts, *g.uploaders.values()))
        return tuple(sorted(names))

    def warnings(self) -> tuple[str, ...]:
        missing = self.missing_authorities
        if not missing:
            return ()
        return (
            f"{self.source}: no groups for {', '.join(missing)}: their areas get platform-only access "
            "(pipeline and engineers' traverse)",
        )


def load_custodianship(path: str | Path) -> Custodianship:
    """Read and validate a custodianship YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise CustodianshipError(str(p), [f"cannot read the file: {e.strerror or e}"]) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CustodianshipError(str(p), [f"not valid YAML: {e}"]) from e
    return parse_custodianship(data, source=str(p))


def parse_custodianship(data: Any, *, source: str = "<config>") -> Custodianship:
    """Validate the parsed YAML of a custodianship config; raise one error listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise CustodianshipError(source, ["the file must be a mapping with 'platform' and 'authorities'"])

    platform = data.get("platform")
    pipeline = engineers = ""
    if not isinstance(platform, Mapping):
        problems.append("platform: missing (needs 'pipeline' and 'engineers')")
    else:
        pipeline = _principal(platform, "pipeline", "platform.pipeline", problems)
        engineers = _principal(platform, "engineers", "platform.engineers", problems)

    authorities: dict[str, AuthorityGroups] = {}
    raw_auth = data.get("authorities")
    if not isinstance(raw_auth, Mapping) or not raw_auth:
        problems.append("authorities: missing or empty (one entry per authority of feeds.md)")
        raw_auth = {}
    for code, entry in raw_auth.items():
        where = f"authorities.{code}"
        if code not in AUTHORITIES:
            problems.append(f"{where}: unknown authority {code!r} (known: {', '.join(AUTHORITIES)})")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping with 'custodians' and 'analysts'")
            continue
        custodians = _principal(entry, "custodians", f"{where}.custodians", problems)
        analysts = _principal(entry, "analysts", f"{where}.analysts", problems)
        uploaders: dict[str, str] = {}
        raw_up = entry.get("uploaders") or {}
        if not isinstance(raw_up, Mapping):
            problems.append(f"{where}.uploaders: must map a feed to its uploader group")
            raw_up = {}
        for feed, value in raw_up.items():
            if feed not in FEEDS:
                problems.append(f"{where}.uploaders: unknown feed {feed!r} (known: {', '.join(FEEDS)})")
                continue
            if value is None:  # a feed listed without a group has no uploaders
                continue
            group = _principal(raw_up, feed, f"{where}.uploaders.{feed}", problems)
            if group:
                uploaders[str(feed)] = group
        authorities[str(code)] = AuthorityGroups(custodians, analysts, uploaders)

    object_ids: dict[str, str] = {}
    raw_ids = data.get("object_ids") or {}
    if not isinstance(raw_ids, Mapping):
        problems.append("object_ids: must map a principal name to its Entra object id")
        raw_ids = {}
    for name, oid in raw_ids.items():
        if not isinstance(oid, str) or not is_object_id(oid):
            problems.append(f"object_ids.{name}: {oid!r} is not an object id (a GUID)")
        else:
            object_ids[str(name)] = oid.lower()

    problems.extend(_conflicts(pipeline, engineers, authorities))
    if problems:
        raise CustodianshipError(source, problems)
    return Custodianship(pipeline, engineers, authorities, object_ids, source)


def _principal(parent: Mapping[Any, Any], key: str, where: str, problems: list[str]) -> str:
    value = parent.get(key)
    if value is None or value == "":
        problems.append(f"{where}: missing")
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}: must be one group name or object id, got {value!r}")
        return ""
    if not (_NAME.match(value) or is_object_id(value)):
        problems.append(f"{where}: {value!r} is not a usable principal name (letters, digits, '_.-@')")
        return ""
    return value


@dataclass(frozen=True)
class _Role:
    role: str  # pipeline, engineers, custodians, analysts, uploaders
    authority: str = ""
    feed: str = ""

    def __str__(self) -> str:
        if self.role in ("pipeline", "engineers"):
            return f"platform {self.role}"
        if self.role == "uploaders":
            return f"{self.authority} {self.feed} uploaders"
        return f"{self.authority} {self.role}"


def _conflicts(pipeline: str, engineers: str, authorities: Mapping[str, AuthorityGroups]) -> list[str]:
    """A principal may hold two roles only when they cannot widen anyone's need-to-know.

    Allowed: one uploader group for a feed across several authorities (a partner such as GMP
    delivers for all ten), and an authority's custodians uploading that authority's own feeds.
    Everything else is a conflict: the pipeline identity or the engineers group in any other role;
    one group as custodians or analysts of two authorities, or as both custodians and analysts;
    a readers' group of one authority uploading into another's landing area or being its analysts.
    """
    roles: dict[str, list[_Role]] = {}
    if pipeline:
        roles.setdefault(pipeline, []).append(_Role("pipeline"))
    if engineers:
        roles.setdefault(engineers, []).append(_Role("engineers"))
    for code, g in authorities.items():
        for role, name in (("custodians", g.custodians), ("analysts", g.analysts)):
            if name:
                roles.setdefault(name, []).append(_Role(role, code))
        for feed, name in g.uploaders.items():
            roles.setdefault(name, []).append(_Role("uploaders", code, feed))

    problems = []
    for name, held in roles.items():
        if len(held) < 2:
            continue
        bad = _conflicting(held)
        if bad:
            a, b = bad
            problems.append(f"{name} is both {a} and {b}: roles conflict (need-to-know)")
    return problems


def _conflicting(held: list[_Role]) -> tuple[_Role, _Role] | None:
    for i, a in enumerate(held):
        for b in held[i + 1 :]:
            if _conflict(a, b):
                return a, b
    return None


def _conflict(a: _Role, b: _Role) -> bool:
    if "pipeline" in (a.role, b.role) or "engineers" in (a.role, b.role):
        return True
    if a.role == b.role == "uploaders":
        return False
    if a.role == "uploaders" or b.role == "uploaders":
        up, other = (a, b) if a.role == "uploaders" else (b, a)
        return not (other.role == "custodians" and other.authority == up.authority)
    return True  # custodians/analysts twice, whatever the authorities
