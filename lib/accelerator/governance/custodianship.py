"""The custodianship config of custodianship.md: who may touch which authority's data.

One declarative YAML file names, per authority, its custodians group, its analysts group and an
optional uploader group per feed, plus the platform's pipeline identity, engineers group and
(optional) traverse group::

    platform:
      pipeline: mi-synw-gm-prod           # object id or name of the Synapse managed identity
      engineers: sg-da-platform-engineers
      traverse: sg-da-platform-traverse   # optional: its members are the groups below
    authorities:
      bury:
        custodians: sg-da-bury-custodians
        analysts: sg-da-bury-analysts
        uploaders:                        # optional, per feed
          police_incidents: sg-da-gmp-uploaders
    object_ids:                           # optional: name -> Entra object id, for Azure only
      sg-da-bury-custodians: 0b9c...

More keys are allowed and ignored. The file is parsed as a typed pydantic model
(:class:`Custodianship`); :func:`parse_custodianship` reports every problem at once, each with its
dotted path, in a :class:`CustodianshipError`. Structural problems come first: the role conflicts
between principals are checked once every principal is readable.

**One principal, one spelling.** A principal may be written as a name or as an Entra object id (a
GUID, in any letter case). Two spellings are the same principal when they are the same GUID
ignoring case, or when ``object_ids`` maps a name to that GUID (or two names to one GUID). After
parsing, every principal holds its canonical spelling: the (alphabetically first) name mapped to
its object id, else the lower-case GUID, else the name as written. Names are compared exactly
(Linux group names are case-sensitive). So the planner, both back ends and the conflict check all
see one principal once, however the config spells it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


# ------------------------------------------------------------------------------------- field types


def _principal(value: Any) -> str:
    if value is None or value == "":
        raise PydanticCustomError("missing", "missing")
    if not isinstance(value, str):
        raise PydanticCustomError("principal_type", f"must be one group name or object id, got {value!r}")
    if not (_NAME.match(value) or is_object_id(value)):
        raise PydanticCustomError(
            "principal_name", f"{value!r} is not a usable principal name (letters, digits, '_.-@')"
        )
    return value


Principal = Annotated[str, BeforeValidator(_principal)]
"""A group or identity: a name usable in ACL text and as a Linux group, or an object id."""


def _object_id(value: Any) -> str:
    if not isinstance(value, str) or not is_object_id(value):
        raise PydanticCustomError("object_id", f"{value!r} is not an object id (a GUID)")
    return value.lower()


ObjectId = Annotated[str, BeforeValidator(_object_id)]


def _authority(code: str) -> str:
    if code not in AUTHORITIES:
        raise PydanticCustomError(
            "authority", f"unknown authority {code!r} (known: {', '.join(AUTHORITIES)})"
        )
    return code


def _feed(feed: str) -> str:
    if feed not in FEEDS:
        raise PydanticCustomError("feed", f"unknown feed {feed!r} (known: {', '.join(FEEDS)})")
    return feed


Authority = Annotated[str, AfterValidator(_authority)]
Feed = Annotated[str, AfterValidator(_feed)]


# ------------------------------------------------------------------------------------------ models


class Platform(BaseModel):
    """The platform's own principals."""

    model_config = ConfigDict(extra="allow", frozen=True)

    pipeline: Principal
    """The Synapse managed identity: a user principal on ACLs."""
    engineers: Principal
    """Break-glass engineers: traverse everywhere, read nothing."""
    traverse: Principal | None = None
    """Optional group whose members are every custodians, analysts and uploader group (nested
    Entra groups; locally a Linux group holding their users): the one entry that gives them
    traverse on the shared parents, so those stay within ADLS's 28 named entries."""


class AuthorityGroups(BaseModel):
    """The groups of one authority (custodianship.md, "Groups and rights")."""

    model_config = ConfigDict(extra="allow", frozen=True)

    custodians: Principal
    analysts: Principal
    uploaders: dict[Feed, Principal] = Field(default_factory=dict)
    """feed -> uploader group; a feed without an uploader group (or listed without one) has none."""

    @field_validator("uploaders", mode="before")
    @classmethod
    def _drop_feeds_without_a_group(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {k: v for k, v in value.items() if v is not None}
        raise PydanticCustomError("uploaders", "must map a feed to its uploader group")


class Custodianship(BaseModel):
    """A validated custodianship config, every principal in its canonical spelling.

    ``pipeline`` is the Synapse managed identity (a user principal on ACLs); every other principal
    is a group. ``authorities`` may omit authorities of feeds.md: their areas are still planned,
    with platform-only access (``missing_authorities``).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    platform: Platform
    authorities: dict[Authority, AuthorityGroups]
    object_ids: dict[str, ObjectId] = Field(default_factory=dict)
    source: str = Field(default="<config>", exclude=True)

    @field_validator("authorities", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if not value:
            raise PydanticCustomError("missing", "missing or empty (one entry per authority of feeds.md)")
        return value

    @field_validator("object_ids", mode="before")
    @classmethod
    def _ids_mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise PydanticCustomError("object_ids", "must map a principal name to its Entra object id")
        return value

    @model_validator(mode="after")
    def _canonical_and_no_conflicts(self, info: ValidationInfo) -> Custodianship:
        spell = Spelling(self.object_ids)
        problems = _conflicts(self, spell)
        if problems:
            raise PydanticCustomError("role_conflict", "\n".join(problems))
        c = spell.canonical
        platform = self.platform.model_copy(
            update={
                "pipeline": c(self.platform.pipeline),
                "engineers": c(self.platform.engineers),
                "traverse": c(self.platform.traverse) if self.platform.traverse else None,
            }
        )
        authorities = {
            code: g.model_copy(
                update={
                    "custodians": c(g.custodians),
                    "analysts": c(g.analysts),
                    "uploaders": {f: c(u) for f, u in g.uploaders.items()},
                }
            )
            for code, g in self.authorities.items()
        }
        object.__setattr__(self, "platform", platform)
        object.__setattr__(self, "authorities", authorities)
        return self

    # ---- what the planner and back ends read

    @property
    def pipeline(self) -> str:
        return self.platform.pipeline

    @property
    def engineers(self) -> str:
        return self.platform.engineers

    @property
    def traverse(self) -> str | None:
        return self.platform.traverse

    @property
    def missing_authorities(self) -> tuple[str, ...]:
        """Authorities of feeds.md the config does not name (their data is platform-only)."""
        return tuple(a for a in AUTHORITIES if a not in self.authorities)

    @property
    def member_groups(self) -> tuple[str, ...]:
        """Every custodians, analysts and uploader group, sorted, each once: the groups the
        traverse group must hold."""
        names: set[str] = set()
        for g in self.authorities.values():
            names.update((g.custodians, g.analysts, *g.uploaders.values()))
        return tuple(sorted(names))

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group the config names (engineers and traverse included), sorted, each once."""
        extra = {self.engineers} | ({self.traverse} if self.traverse else set())
        return tuple(sorted(set(self.member_groups) | extra))

    def warnings(self) -> tuple[str, ...]:
        missing = self.missing_authorities
        if not missing:
            return ()
        return (
            f"{self.source}: no groups for {', '.join(missing)}: their areas get platform-only access "
            "(pipeline and engineers' traverse)",
        )


# ------------------------------------------------------------------------------------ identities


class Spelling:
    """Which spellings name the same principal: GUIDs ignoring case, names through ``object_ids``."""

    def __init__(self, object_ids: Mapping[str, str]) -> None:
        self.object_ids = {name: oid.lower() for name, oid in object_ids.items()}
        self._name_of: dict[str, str] = {}
        for name, oid in sorted(self.object_ids.items()):
            self._name_of.setdefault(oid, name)

    def identity(self, principal: str) -> str:
        """The key two spellings of one principal share: its object id when known, else its name."""
        if is_object_id(principal):
            return principal.lower()
        return self.object_ids.get(principal, principal)

    def canonical(self, principal: str) -> str:
        """The one spelling used after parsing: a name if one maps to it, else the lower-case GUID."""
        key = self.identity(principal)
        return self._name_of.get(key, key) if is_object_id(key) else key


# ------------------------------------------------------------------------------------- conflicts


class _Role:
    def __init__(self, role: str, where: str, written: str, authority: str = "", feed: str = "") -> None:
        self.role = role  # pipeline, engineers, traverse, custodians, analysts, uploaders
        self.where = where  # the dotted key
        self.written = written  # the spelling used there
        self.authority = authority
        self.feed = feed

    def __str__(self) -> str:
        if self.role in ("pipeline", "engineers", "traverse"):
            return f"platform {self.role}"
        if self.role == "uploaders":
            return f"{self.authority} {self.feed} uploaders"
        return f"{self.authority} {self.role}"


def _conflicts(config: Custodianship, spell: Spelling) -> list[str]:
    """A principal may hold two roles only when they cannot widen anyone's need-to-know.

    Allowed: one uploader group for a feed across several authorities (a partner such as GMP
    delivers for all ten), and an authority's custodians uploading that authority's own feeds.
    Everything else is a conflict: the pipeline identity, the engineers or the traverse group in
    any other role; one group as custodians or analysts of two authorities, or as both custodians
    and analysts; a readers' group of one authority uploading into another's landing area or being
    its analysts. Spellings are compared through :class:`Spelling`.
    """
    roles: dict[str, list[_Role]] = {}
    for role in _roles(config):
        roles.setdefault(spell.identity(role.written), []).append(role)
    problems = []
    for held in roles.values():
        bad = _conflicting(held)
        if bad:
            a, b = bad
            spelled = a.written if a.written == b.written else f"{a.written} (written {b.written} there)"
            problems.append(f"{b.where}: {spelled} is both {a} and {b}: roles conflict (need-to-know)")
    return problems


def _roles(config: Custodianship) -> list[_Role]:
    """Every role the config gives a principal: the platform's, then each authority's in turn."""
    p = config.platform
    held = [
        _Role("pipeline", "platform.pipeline", p.pipeline),
        _Role("engineers", "platform.engineers", p.engineers),
        _Role("traverse", "platform.traverse", p.traverse or ""),
    ]
    for code, g in config.authorities.items():
        held.append(_Role("custodians", f"authorities.{code}.custodians", g.custodians, code))
        held.append(_Role("analysts", f"authorities.{code}.analysts", g.analysts, code))
        for feed, name in g.uploaders.items():
            held.append(_Role("uploaders", f"authorities.{code}.uploaders.{feed}", name, code, feed))
    return [r for r in held if r.written]


def _conflicting(held: list[_Role]) -> tuple[_Role, _Role] | None:
    for i, a in enumerate(held):
        for b in held[i + 1 :]:
            if _conflict(a, b):
                return a, b
    return None


def _conflict(a: _Role, b: _Role) -> bool:
    if {a.role, b.role} & {"pipeline", "engineers", "traverse"}:
        return True
    if a.role == b.role == "uploaders":
        return False
    if a.role == "uploaders" or b.role == "uploaders":
        up, other = (a, b) if a.role == "uploaders" else (b, a)
        return not (other.role == "custodians" and other.authority == up.authority)
    return True  # custodians/analysts twice, whatever the authorities


# --------------------------------------------------------------------------------------- loading

_HINTS: dict[tuple[str, ...], str] = {
    ("platform",): "missing (needs 'pipeline' and 'engineers')",
    ("authorities",): "missing or empty (one entry per authority of feeds.md)",
}
_MAPPINGS = {
    "platform": "a mapping with 'pipeline' and 'engineers'",
    "authorities": "a mapping of authority codes to their groups",
    "object_ids": "a mapping of principal names to Entra object ids",
}


def _problem(err: Mapping[str, Any]) -> list[str]:
    """One pydantic error in the config's own words: ``dotted.path: message``."""
    loc = tuple(str(x) for x in err["loc"] if x != "[key]")
    kind = err["type"]
    if kind == "role_conflict":
        return str(err["msg"]).splitlines()
    if kind in ("dict_type", "model_type", "model_attributes_type") and err.get("input") is None:
        kind = "missing"  # `platform:` with nothing after it
    if kind == "missing":
        msg = _HINTS.get(loc, "missing")
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        if len(loc) == 2 and loc[0] == "authorities":
            msg = "must be a mapping with 'custodians' and 'analysts'"
        else:
            msg = f"must be {_MAPPINGS.get(loc[0] if len(loc) == 1 else '', 'a mapping')}"
    else:
        msg = str(err["msg"])
    return [f"{'.'.join(loc)}: {msg}" if loc else msg]


def parse_custodianship(data: Any, *, source: str = "<config>") -> Custodianship:
    """Validate the parsed YAML of a custodianship config; raise one error listing every problem."""
    if not isinstance(data, Mapping):
        raise CustodianshipError(source, ["the file must be a mapping with 'platform' and 'authorities'"])
    try:
        return Custodianship.model_validate({**data, "source": source})
    except ValidationError as e:
        problems = [p for err in e.errors() for p in _problem(err)]
        raise CustodianshipError(source, problems) from None


def load_custodianship(path: str | Path) -> Custodianship:
    """Read and validate a custodianship YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise CustodianshipError(str(p), [f"cannot read the file: {e.strerror or e}"]) from e
    return loads_custodianship(text, source=str(p))


def loads_custodianship(text: str, *, source: str = "<config>") -> Custodianship:
    """Parse and validate the YAML text of a custodianship config (e.g. read from storage)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CustodianshipError(source, [f"not valid YAML: {e}"]) from e
    return parse_custodianship(data, source=source)
