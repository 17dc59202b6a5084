"""Typed settings, loaded once at the edge (CLI, job, notebook) and passed down.

Nothing under ``accelerator`` reads the clock or the environment: the run's ``as_of``, its id and
its start time arrive in a :class:`RunContext` built by the caller.
"""

from __future__ import annotations

import hashlib
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
