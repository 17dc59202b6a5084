"""Typed settings, loaded once at the edge (CLI, job, notebook) and passed down.

Nothing under ``accelerator`` reads the clock or the environment: the run's ``as_of``, its id and
its start time arrive in a :class:`RunContext` built by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

LinkageBackend = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Settings:
    """Where the lake and the landing zone are, and how the pipeline behaves.

    ``lake_root`` and ``landing_root`` are local folders or ``abfss://`` URLs; the same code
    serves both. ``jars_dir`` is only used outside Synapse, to give the local Spark session Delta.
    """

    lake_root: str
    landing_root: str
    environment: str = "local"
    jars_dir: str | None = None
    linkage_backend: LinkageBackend = "duckdb"
    match_weight_threshold: float = 6.0
    max_cluster_size: int = 400
    spark_conf: dict[str, str] = field(default_factory=dict)
    custodianship_config: str = "infra/custodianship.yaml"
    """The custodianship config the ``acl`` stage plans from: a local path or an ``abfss://`` URL."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str, **overrides: Any) -> Settings:
        """Settings from parsed parameters (a YAML document), then ``overrides`` that are not None."""
        merged = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        unknown = set(merged) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{source}: unknown settings {sorted(unknown)}")
        return cls(**merged)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Settings:
        """Load an ``infra/environments/<env>.yaml`` parameter file, then apply overrides."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        data.update({k: v for k, v in overrides.items() if v is not None})
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        return cls(**data)


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
        raise ValueError(f"{location}: expected a mapping of settings")
    data.setdefault("environment", env)
    if data["environment"] != env:
        raise ValueError(f"{location}: says environment {data['environment']!r}, expected {env!r}")
    return Settings.from_mapping(data, source=location, **overrides)
