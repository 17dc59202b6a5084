"""Typed settings, loaded once at the edge (CLI, job, notebook) and passed down.

Nothing under ``accelerator`` reads the clock or the environment: the run's ``as_of``, its id and
its start time arrive in a :class:`RunContext` built by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

LinkageBackend = Literal["duckdb", "spark"]


class SettingsError(ValueError):
    """Settings that do not validate: every problem, each with its path, in one message."""


def validation_message(source: str, exc: ValidationError) -> str:
    """Every error of a pydantic validation, one line each: ``<source>: <path>: <message>``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown settings key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}: {where}: {msg}")
    return "\n".join(lines)


class Settings(BaseModel):
    """Where the lake and the landing zone are, and how the pipeline behaves.

    ``lake_root`` and ``landing_root`` are local folders or ``abfss://`` URLs; the same code
    serves both. ``jars_dir`` is only used outside Synapse, to give the local Spark session Delta.
    Validated by pydantic: an unknown key or a value of the wrong type is an error naming it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake_root: str
    landing_root: str
    environment: str = "local"
    jars_dir: str | None = None
    linkage_backend: LinkageBackend = "duckdb"
    match_weight_threshold: float | None = None
    """The match weight at or over which two records are one person. None (the default): the
    threshold the linkage model chose when it was trained (``linkage.model.match_threshold``: the
    weight at which the calibrated match probability is 0.8, from a prior estimated from the
    deterministic rules; docs/linkage.md). A number overrides it for every run."""
    max_cluster_size: int = Field(default=400, gt=1)
    spark_conf: dict[str, str] = Field(default_factory=dict)
    custodianship_config: str = "infra/custodianship.yaml"
    """The custodianship config the ``acl`` stage plans from: a local path or an ``abfss://`` URL."""
    landing_grace_days: int = Field(default=30, ge=0)
    """Days a settled delivery's files stay in landing before the pipeline removes them."""
    lease_wait_seconds: float = Field(default=600.0, ge=0)
    """How long a writing command waits for another writer's lease on the lake before giving up."""
    lease_duration_seconds: int = Field(default=60, ge=15, le=60)
    """The finite duration of the ADLS blob lease (15-60 s), renewed by a heartbeat while the writer runs."""
    linkage_secret: str | None = Field(default=None, repr=False)
    """The key of the keyed hash (HMAC) under which the linkage model stores name frequencies
    (Key Vault on Synapse); never logged."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str, **overrides: Any) -> Settings:
        """Settings from parsed parameters (a YAML document), then ``overrides`` that are not None.
        Raises :class:`SettingsError` listing every problem with its path."""
        if not isinstance(data, Mapping):
            raise SettingsError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
        merged = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            raise SettingsError(validation_message(source, exc)) from None

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Settings:
        """Load an ``infra/environments/<env>.yaml`` parameter file, then apply overrides."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_mapping(data, source=str(path), **overrides)


@dataclass(frozen=True)
class RunContext:
    """One pipeline run: its reference date, its id and when it started (given, never read)."""

    as_of: date
    run_id: str
    started_at: datetime

    @classmethod
    def create(cls, *, as_of: date, started_at: datetime) -> RunContext:
        """A deterministic run id from the start time and as_of (no uuid4: ids must be stable)."""
        digest = hashlib.sha256(f"{started_at.isoformat()}|{as_of.isoformat()}".encode()).hexdigest()
        return cls(as_of=as_of, run_id=f"{started_at:%Y%m%dT%H%M%S}-{digest[:8]}", started_at=started_at)


ENVIRONMENTS_DIR = "infra/environments"
"""Where the per-environment parameter files live, relative to the repository root (on Synapse the
release copies them to ``abfss://synapse@<account>.dfs.core.windows.net/accelerator/environments``)."""


def settings_for(
    env: str,
    *,
    directory: str | Path = ENVIRONMENTS_DIR,
    read_text: Callable[[str], str] | None = None,
    **overrides: Any,
) -> Settings:
    """The settings of one environment from ``<directory>/<env>.yaml`` (``environment`` set to ``env``).

    ``directory`` is a local folder or a URL; a URL needs ``read_text`` (the Synapse adapter's, which
    reads through the workspace identity). Overrides that are None are ignored.
    """
    if not env or "/" in env or env.startswith("."):
        raise ValueError(f"not an environment name: {env!r}")
    location = f"{str(directory).rstrip('/')}/{env}.yaml"
    if read_text is None:
        if "://" in location:
            raise ValueError(f"{location}: reading a URL needs read_text (the Synapse adapter)")
        text = Path(location).read_text(encoding="utf-8")
    else:
        text = read_text(location)
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{location}: expected a mapping of settings")
    data.setdefault("environment", env)
    if data["environment"] != env:
        raise ValueError(f"{location}: says environment {data['environment']!r}, expected {env!r}")
    return Settings.from_mapping(data, source=location, **overrides)
