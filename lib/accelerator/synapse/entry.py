"""The edge for notebooks and Spark job definitions: settings, run context, one stage, a summary.

Like ``accelerator.cli`` this is an edge of the system: it may read the clock (an empty ``as_of``
means today, UTC) and it picks the runtime (Synapse when a storage account is given, else local).
It also takes the lake's lease for every stage that writes (:func:`writer_lease`: this host, pid
and time name the holder to a command that waits). Everything it calls receives those values as
parameters.

On Synapse the settings file of an environment is read from the workspace's storage account, where
the release copies ``infra/environments/<env>.yaml`` (see :func:`environments_url`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession

from accelerator.config import ENVIRONMENTS_DIR, RunContext, Settings, settings_for
from accelerator.dates import parse_as_of
from accelerator.io import lease
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
        return with_secrets(Settings.from_mapping(data, source=settings_file, **overrides), rt)
    if not env:
        raise ValueError("set env (dev, test or prod), or give a settings file")
    directory = environments_url(storage_account) if storage_account else ENVIRONMENTS_DIR
    return with_secrets(settings_for(env, directory=directory, read_text=rt.read_text, **overrides), rt)


LINKAGE_SECRET_NAME = "linkage-secret"
"""The Key Vault secret holding ``Settings.linkage_secret`` (the HMAC key of the linkage model's
name frequencies) for every environment but ``local``."""


def with_secrets(settings: Settings, rt: Runtime) -> Settings:
    """``settings`` with the linkage secret from Key Vault when the environment needs one and the
    parameters gave none (parameter files hold no secrets)."""
    if settings.environment == "local" or settings.linkage_secret or not isinstance(rt, SynapseRuntime):
        return settings
    return settings.model_copy(update={"linkage_secret": rt.secret(LINKAGE_SECRET_NAME)})


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
    day = parse_as_of(as_of, today=started.date())
    return RunContext.create(as_of=day, started_at=started)


def _tell_waiting(holder: lease.Holder | None) -> None:
    who = holder.describe() if holder else "another command"
    print(f"waiting for the lake's lease: it is being written by {who}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def writer_lease(
    lake_root: str,
    command: str,
    *,
    wait_seconds: float,
    duration_seconds: int,
    run_id: str = "",
    credential: Any = None,
    on_wait: Callable[[lease.Holder | None], None] | None = _tell_waiting,
) -> Iterator[lease.Holder]:
    """The lake's lease (:mod:`accelerator.io.lease`) for a writing command, held for the ``with``:
    this edge gives it the host, the pid, the time and the monotonic clock it waits by. Raises
    ``lease.LakeBusy`` (naming the holder) when another command keeps it ``wait_seconds``."""
    holder = lease.Holder(
        command=command,
        host=socket.gethostname(),
        pid=os.getpid(),
        since=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        run_id=run_id,
    )
    with lease.held(
        lake_root,
        holder,
        wait_seconds=wait_seconds,
        duration_seconds=duration_seconds,
        clock=time.monotonic,
        sleep=time.sleep,
        credential=credential,
        on_wait=on_wait,
    ) as h:
        yield h


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

    ``settings`` skips loading them (a job that loaded them to start its session). Every stage
    but a read-only ``acl`` check holds the lake's lease while it runs (:func:`writer_lease`)."""
    rt = runtime or runtime_for(storage_account)
    if settings is None:
        settings = load_settings(
            env=env, storage_account=storage_account, settings_file=settings_file, runtime=rt
        )
    ctx = run_context(as_of, now=now)
    writes = name != "acl" or apply_acls  # the acl check alone only reads
    with (
        writer_lease(
            settings.lake_root,
            f"{name} stage",
            wait_seconds=settings.lease_wait_seconds,
            duration_seconds=settings.lease_duration_seconds,
            run_id=ctx.run_id,
            credential=rt.credential(),
        )
        if writes
        else contextlib.nullcontext()
    ):
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
