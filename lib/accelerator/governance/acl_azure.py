"""The ACL plan on ADLS Gen2 through the Data Lake SDK; kept thin, the logic is in ``acl_plan``.

The lake root is the root of one container (``lake``: see docs/access.md). Principals go on the
wire as Entra object ids: a principal written as a GUID is used as is, a name through the
config's ``object_ids``. Apply creates missing directories, sets each planned directory's ACL
exactly where it differs (``set_access_control``), brings everything below with
``update_access_control_recursive`` (continuation token, continue on failure, failures counted)
and finally sets exactly any path still differing (a merge cannot remove an extra entry); a path whose owner
the config does not allow (``acl_plan.Owners``: the pipeline, ``$superuser``, or below an area
anyone, since Entra group membership is not read here) is given to the pipeline identity. Drift
reads ACLs and owners back: every path (``deep``), the planned directories only (``planned``), or
deep up to ``DEEP_LIMIT`` paths and sampled above it (``auto``, ``acl_plan.sample``).

Commit point: each ``set_access_control`` and each recursive batch is the service's own commit; an
interrupted apply is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from azure.core.exceptions import ResourceNotFoundError

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
from accelerator.governance.custodianship import Custodianship, is_object_id

SUPERUSERS = frozenset({"$superuser"})
"""The owner ADLS records for paths created with the account key or a SAS."""


class AzureAclError(RuntimeError):
    """The Azure back end cannot apply the plan (e.g. a principal without an object id)."""


class _PathClient(Protocol):
    def exists(self, **kwargs: Any) -> bool: ...
    def get_access_control(self, upn: bool | None = None, **kwargs: Any) -> dict[str, Any]: ...
    def set_access_control(self, *, acl: str | None = None, **kwargs: Any) -> Any: ...
    def update_access_control_recursive(self, acl: str, **kwargs: Any) -> Any: ...


class _DirectoryClient(_PathClient, Protocol):
    def create_directory(self, **kwargs: Any) -> Any: ...


class _PathProperties(Protocol):
    name: str
    is_directory: bool


class FileSystemClient(Protocol):
    """The part of ``azure.storage.filedatalake.FileSystemClient`` used here."""

    def get_directory_client(self, directory: str) -> Any: ...
    def get_file_client(self, file_path: str) -> Any: ...
    def get_paths(self, path: str | None = None, recursive: bool = True, **kwargs: Any) -> Iterable[Any]: ...


def connect(account: str, filesystem: str, credential: Any = None) -> FileSystemClient:
    """A file system client for ``https://<account>.dfs.core.windows.net/<filesystem>``, signed in
    with ``DefaultAzureCredential`` (managed identity, Azure CLI, environment, ...)."""
    from azure.identity import DefaultAzureCredential
    from azure.storage.filedatalake import DataLakeServiceClient

    service = DataLakeServiceClient(
        f"https://{account}.dfs.core.windows.net", credential=credential or DefaultAzureCredential()
    )
    client: FileSystemClient = service.get_file_system_client(filesystem)
    return client


def object_id_map(plan: AclPlan, config: Custodianship) -> dict[str, str]:
    """Principal name -> object id for every principal of the plan; raise naming any unresolved."""
    ids: dict[str, str] = {}
    missing = []
    for name in plan.principals():
        if is_object_id(name):
            ids[name] = name.lower()
        elif name in config.object_ids:
            ids[name] = config.object_ids[name]
        else:
            missing.append(name)
    if missing:
        raise AzureAclError(
            f"{config.source}: no Entra object id for {', '.join(missing)}; add them under 'object_ids:' "
            "(name: object id) or write the object ids in place of the names"
        )
    return ids


class AzureLake:
    """One container as the lake root; ``plan`` in principal names, ``object_ids`` to map them."""

    def __init__(
        self, fs: FileSystemClient, plan: AclPlan, object_ids: dict[str, str], *, batch_size: int = 2000
    ) -> None:
        self.fs = fs
        self.plan = plan
        self.to_ids = object_ids
        self.to_names = {oid: name for name, oid in object_ids.items()}
        self.batch_size = batch_size
        self.owners = Owners(plan.pipeline, SUPERUSERS)

    def _client(self, path: str, *, is_dir: bool) -> Any:
        if is_dir:
            return self.fs.get_directory_client(path or "/")
        return self.fs.get_file_client(path)

    def _read(self, path: str, *, is_dir: bool) -> ObservedPath | None:
        try:
            raw = self._client(path, is_dir=is_dir).get_access_control()
        except ResourceNotFoundError:
            return None
        owner = raw.get("owner")
        return ObservedPath(
            path,
            is_dir,
            Acl.parse(raw["acl"]).rename(self.to_names),
            self.to_names.get(owner, owner) if owner else None,
        )

    def _set(self, path: str, acl: Acl, *, is_dir: bool) -> None:
        self._client(path, is_dir=is_dir).set_access_control(acl=acl.rename(self.to_ids).spec())

    def _listing(self, path: str | None, *, recursive: bool) -> Iterator[tuple[str, bool]]:
        for props in self.fs.get_paths(path=path or None, recursive=recursive):
            yield props.name.strip("/"), bool(props.is_directory)

    def listing(self) -> list[Listed]:
        """Every path of the container with its modification time."""
        out = []
        for props in self.fs.get_paths(path=None, recursive=True):
            modified = getattr(props, "last_modified", None)
            mtime = modified.timestamp() if isinstance(modified, datetime) else 0.0
            out.append(Listed(props.name.strip("/"), bool(props.is_directory), mtime))
        return out

    def observe(self, *, deep: bool = True, paths: Iterable[Listed] | None = None) -> list[ObservedPath]:
        """ACLs and owners of the planned directories, and with ``deep`` of every path in the
        container (or of ``paths``)."""
        planned: dict[str, bool] = {p.path: True for p in self.plan.paths}
        if paths is not None:
            planned.update((p.path, p.is_dir) for p in paths)
        elif deep:
            planned.update(self._listing(None, recursive=True))
        seen = (self._read(path, is_dir=is_dir) for path, is_dir in sorted(planned.items()))
        return [s for s in seen if s is not None]

    def check(self, scope: Scope = "deep", *, limit: int = DEEP_LIMIT) -> DriftCheck:
        """Drift of ACLs and owners: every path, the planned directories, or ``auto`` (deep up to
        ``limit`` paths, sampled above it)."""
        if scope == "auto":
            chosen, what = sample(self.listing(), limit=limit)
            seen = self.observe(paths=chosen)
        else:
            seen = self.observe(deep=scope == "deep")
            what = "deep: every path" if scope == "deep" else "planned directories only"
        return DriftCheck(find_drift(self.plan, seen, self.owners), f"{what} ({len(seen)} read)")

    def drift(self, *, deep: bool = True) -> list[Drift]:
        return self.check("deep" if deep else "planned").drifts

    def _own(self, observed: Iterable[ObservedPath], report: ApplyReport) -> None:
        """Give every path whose owner the config does not allow to the pipeline identity (needs
        Storage Blob Data Owner, as setting ACLs on paths one does not own does)."""
        pipeline = self.to_ids.get(self.plan.pipeline, self.plan.pipeline)
        for o in observed:
            if self.owners.problem(self.plan, o):
                self._client(o.path, is_dir=o.is_dir).set_access_control(owner=pipeline)
                report.owners_changed.append(o.path)

    def ensure_directories(self) -> list[str]:
        created = []
        for p in self.plan.paths:
            if not p.path:
                continue
            client = self._client(p.path, is_dir=True)
            if not client.exists():
                client.create_directory()
                created.append(p.path)
        return created

    def apply(self, *, deep: bool = True) -> ApplyReport:
        """Bring the container to the plan; a second apply changes nothing.

        ``deep`` reads every path first, so clean subtrees are left alone and leftovers a merge
        cannot remove are fixed; without it every subtree is updated recursively, blind.
        """
        report = ApplyReport(warnings=list(self.plan.warnings))
        report.created_dirs = self.ensure_directories()
        observed = self.observe(deep=deep)
        self._own(observed, report)
        is_dir = {o.path: o.is_dir for o in observed}
        before = find_drift(self.plan, observed)
        drifted = {d.path for d in before}
        report.changed = sorted(drifted)

        for p in self.plan.paths:
            if p.path in drifted:
                self._set(p.path, p.acl, is_dir=True)
        for p in self.plan.paths:
            for child, child_is_dir in self._listing(p.path, recursive=False):
                if self.plan.get(child) is not None:
                    continue
                if deep and not any(d == child or d.startswith(child + "/") for d in drifted):
                    continue
                self._recursive(child, p.acl.inherited(is_dir=True), report, is_dir=child_is_dir)
        if deep:
            for d in find_drift(self.plan, self.observe(deep=True)):
                if self.plan.get(d.path) is None and d.path in is_dir:
                    self._set(
                        d.path, self.plan.expected(d.path, is_dir=is_dir[d.path]), is_dir=is_dir[d.path]
                    )
        return report

    def _recursive(self, path: str, acl: Acl, report: ApplyReport, *, is_dir: bool) -> None:
        """``update_access_control_recursive`` over ``path``, following continuation tokens; the
        service ignores the default entries on files."""
        client = self._client(path, is_dir=is_dir)
        spec = acl.rename(self.to_ids).spec()
        failures: list[str] = []

        def collect(changes: Any) -> None:
            failures.extend(f"{f.name}: {f.error_message}" for f in changes.batch_failures)

        token: str | None = None
        while True:
            result = client.update_access_control_recursive(
                acl=spec,
                continuation_token=token,
                batch_size=self.batch_size,
                max_batches=1,
                continue_on_failure=True,
                progress_hook=collect,
            )
            counters = result.counters
            report.directories_successful += counters.directories_successful
            report.files_successful += counters.files_successful
            report.failure_count += counters.failure_count
            token = result.continuation
            if not token:
                break
        report.failures.extend(failures)
