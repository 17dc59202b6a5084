"""The edge for notebooks and Spark job definitions: settings, run context, one stage, a summary.

Like ``accelerator.cli`` this is an edge of the system: it may read the clock (an empty ``as_of``
means today, UTC) and it picks the runtime (Synapse when a storage account is given, else local).
Everything it calls receives those values as parameters.

On Synapse the settings file of an environment is read from the workspace's storage account, where
the release copies ``infra/environments/<env>.yaml`` (see :func:`environments_url`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import SparkSession

from accelerator.config import ENVIRONMENTS_DIR, RunContext, Settings, settings_for
from accelerator.pipeline import StageResult, run_stage
from accelerator.synapse.runtime import LocalRuntime, Runtime, SynapseRuntime

WORKSPACE_CONTAINER = "synapse"
"""The workspace's default file system (infra/bicep/main.bicep), where the release puts
``accelerator/environments/``, ``accelerator/jobs/`` and ``accelerator/custodianship.yaml``."""


def environments_url(storage_account: str) -> str:
    """Where the release copies the environment parameter files in a workspace's storage."""
    if not storage_account or not storage_account.isalnum() or not storage_account.islower():
        raise ValueError(f"not a storage account name: {storage_account!r}")
    return f"abfss://{WORKSPACE_CONTAINER}@{storage_account}.dfs.core.windows.net/accelerator/environments"


def runtime_for(storage_account: str) -> Runtime:
    """Synapse when the settings live in a storage account, else the local runtime."""
    return SynapseRuntime.detect() if storage_account else LocalRuntime()


def load_settings(
    *,
    env: str = "",
    storage_account: str = "",
    settings_file: str = "",
    runtime: Runtime | None = None,
    **overrides: Any,
) -> Settings:
    """The settings of ``env``: from ``settings_file`` when given, else ``<env>.yaml`` in the
    workspace storage (``storage_account``) or in ``infra/environments`` (local runs)."""
    rt = runtime or runtime_for(storage_account)
    if settings_file:
        import yaml

        data = yaml.safe_load(rt.read_text(settings_file)) or {}
        return Settings.from_mapping(data, source=settings_file, **overrides)
    if not env:
        raise ValueError("set env (dev, test or prod), or give a settings file")
    directory = environments_url(storage_account) if storage_account else ENVIRONMENTS_DIR
    return settings_for(env, directory=directory, read_text=rt.read_text, **overrides)


def session_for(settings: Settings) -> SparkSession:
    """The Spark session: a local Delta session when the settings name a jars folder, else the
    cluster's (Synapse gives a Spark job definition's ``spark-submit`` a Delta-ready builder)."""
    from accelerator.spark import get_spark

    if settings.jars_dir:
        return get_spark(jars_dir=settings.jars_dir, extra_conf=settings.spark_conf)
    SparkSession.builder.appName("accelerator").getOrCreate()
    return get_spark(extra_conf=settings.spark_conf)


def run_context(as_of: str = "", *, now: datetime | None = None) -> RunContext:
    """A run context for ``as_of`` (YYYY-MM-DD; empty: today, UTC), started ``now``."""
    started = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    try:
        day = date.fromisoformat(as_of) if as_of else started.date()
    except ValueError:
        raise ValueError(f"as_of must be YYYY-MM-DD, not {as_of!r}") from None
    return RunContext.create(as_of=day, started_at=started)


def authorities_of(authority: str) -> tuple[str, ...]:
    """``"bury, bolton"`` → ``("bolton", "bury")``; empty → every authority."""
    return tuple(sorted({a.strip().lower() for a in authority.split(",") if a.strip()}))


def stage(
    spark: SparkSession,
    name: str,
    *,
    env: str = "",
    storage_account: str = "",
    settings_file: str = "",
    settings: Settings | None = None,
    as_of: str = "",
    authority: str = "",
    apply_acls: bool = False,
    pipeline_user: str | None = None,
    runtime: Runtime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run one stage (``accelerator.pipeline.STAGES``) and return its summary, ready to print or to
    hand back from a notebook (``stage``, ``run_id``, ``as_of`` and the stage's own counts).

    ``settings`` skips loading them (a job that loaded them to start its session)."""
    rt = runtime or runtime_for(storage_account)
    if settings is None:
        settings = load_settings(
            env=env, storage_account=storage_account, settings_file=settings_file, runtime=rt
        )
    ctx = run_context(as_of, now=now)
    result: StageResult = run_stage(
        spark,
        settings,
        ctx,
        name,
        authorities=authorities_of(authority),
        acl_apply=apply_acls,
        credential=rt.credential() if name == "acl" else None,
        pipeline_user=pipeline_user,
    )
    return {"stage": name, "run_id": result.run_id, "as_of": result.as_of.isoformat(), **result.summary}
