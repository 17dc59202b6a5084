"""An in-memory stand-in for the part of azure-storage-file-datalake that ``acl_azure`` uses.

A test double (it lives under ``tests/``, never in the wheel), so the Azure back end can be
exercised without an account. It keeps what matters for ACLs the way ADLS Gen2 (hierarchical namespace) does:

- ``DataLakeServiceClient(account_url, credential)`` -> ``get_file_system_client(name)`` ->
  ``get_directory_client(path)`` / ``get_file_client(path)``, ``get_paths(path, recursive)``;
- ``create_directory()`` creates missing parents; a new directory or file inherits its parent's
  default ACL (as default and access for a directory; as access for a file, masked by the file
  mode ``0660`` after the service's umask ``007``);
- ``get_access_control()`` returns ``owner``, ``group``, ``permissions`` and the ``acl`` string with
  object ids; ``set_access_control(acl=...)`` replaces the whole ACL and rejects default entries on
  a file and more than 32 entries per scope;
- ``update_access_control_recursive`` / ``remove_access_control_recursive`` merge or remove entries
  on a path and everything below, in service batches of ``batch_size`` with an opaque
  continuation token, ``max_batches``, ``continue_on_failure`` and ``progress_hook``, returning
  the SDK's own ``AccessControlChangeResult``; default entries are ignored on files. Paths in
  ``FakeFileSystem.failing`` fail as a 403 would.

``FakeFileSystem.calls`` records every call, so tests can count them.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.filedatalake import (
    AccessControlChangeCounters,
    AccessControlChangeFailure,
    AccessControlChangeResult,
    AccessControlChanges,
)

MAX_ENTRIES_PER_SCOPE = 32
_CLOCK = itertools.count()


def _tick() -> datetime:
    """Modification times that increase with every path created (a fake clock, one second a path)."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_CLOCK))


_BASE = ("user:", "group:", "other:")


def _norm(path: str | None) -> str:
    return "/".join(p for p in (path or "").split("/") if p)


def _parse(acl: str, *, with_perms: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    access: dict[str, str] = {}
    default: dict[str, str] = {}
    for raw in acl.split(","):
        parts = raw.strip().split(":")
        target = access
        if parts[0] == "default":
            target, parts = default, parts[1:]
        if len(parts) != (3 if with_perms else 2) or parts[0] not in ("user", "group", "mask", "other"):
            raise HttpResponseError(message=f"InvalidAccessControlList: {raw!r}")
        target[f"{parts[0]}:{parts[1]}"] = parts[2] if with_perms else ""
    return access, default


def _and(a: str, b: str) -> str:
    return "".join(x if x != "-" and y != "-" else "-" for x, y in zip(a, b, strict=True))


def _format(entries: dict[str, str], prefix: str = "") -> list[str]:
    def order(key: str) -> tuple[int, str]:
        tag, name = key.split(":", 1)
        return ({"user": 0, "group": 2, "mask": 4, "other": 5}[tag] + (1 if name else 0), name)

    return [f"{prefix}{k}:{entries[k]}" for k in sorted(entries, key=order)]


@dataclass
class _Node:
    is_dir: bool
    access: dict[str, str]
    default: dict[str, str] = field(default_factory=dict)
    owner: str = "$superuser"
    group: str = "$superuser"
    modified: datetime = field(default_factory=lambda: _tick())

    def acl(self) -> str:
        return ",".join(_format(self.access) + _format(self.default, "default:"))


@dataclass
class FakeFileSystem:
    """One container: paths (no leading slash; "" is the root) to nodes."""

    name: str
    nodes: dict[str, _Node] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes.setdefault("", _Node(True, {"user:": "rwx", "group:": "r-x", "other:": "---"}))

    def create(self, path: str, *, is_dir: bool, owner: str = "$superuser") -> None:
        """Create ``path`` and missing parents as ``owner`` does (the creator owns what it creates:
        an object id with Entra sign-in, ``$superuser`` with the account key)."""
        parts = _norm(path).split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p in self.nodes:
                continue
            parent = self.nodes["/".join(parts[: i - 1])]
            d = i < len(parts) or is_dir
            if parent.default:
                mode = "rwx" if d else "rw-"  # 0777 / 0666 less the service's umask 007 for other
                access = dict(parent.default)
                access["user:"] = _and(access["user:"], mode)
                key = "mask:" if "mask:" in access else "group:"
                access[key] = _and(access[key], mode)
                access["other:"] = "---"
                self.nodes[p] = _Node(d, access, dict(parent.default) if d else {}, owner=owner)
            else:
                base = {"user:": "rwx" if d else "rw-", "group:": "r-x", "other:": "---"}
                self.nodes[p] = _Node(d, base, owner=owner)

    def below(self, path: str) -> list[str]:
        """``path`` and everything under it, parents before children."""
        root = _norm(path)
        return sorted(p for p in self.nodes if p == root or not root or p.startswith(root + "/"))

    def write_file(self, path: str, *, owner: str = "$superuser") -> None:
        """Create a file as a writer would (parents created, ACLs inherited, owned by the writer)."""
        self.create(path, is_dir=False, owner=owner)


class FakeAccount:
    """The storage account behind a fake service client: containers by name."""

    def __init__(self) -> None:
        self.filesystems: dict[str, FakeFileSystem] = {}

    def filesystem(self, name: str) -> FakeFileSystem:
        return self.filesystems.setdefault(name, FakeFileSystem(name))


@dataclass
class FakePathProperties:
    name: str
    is_directory: bool
    last_modified: datetime


class _FakePathClient:
    def __init__(self, fs: FakeFileSystem, path: str, *, is_dir: bool) -> None:
        self._fs = fs
        self.path_name = _norm(path)
        self._is_dir = is_dir

    def _node(self) -> _Node:
        node = self._fs.nodes.get(self.path_name)
        if node is None:
            raise ResourceNotFoundError(message=f"PathNotFound: {self.path_name}")
        return node

    def exists(self, **_: Any) -> bool:
        self._fs.calls.append(("exists", self.path_name))
        return self.path_name in self._fs.nodes

    def get_access_control(self, upn: bool | None = None, **_: Any) -> dict[str, Any]:
        self._fs.calls.append(("get_access_control", self.path_name))
        node = self._node()
        mask = node.access.get("mask:", node.access["group:"])
        perms = node.access["user:"] + mask + node.access["other:"]
        extended = any(k.split(":", 1)[1] for k in node.access) or bool(node.default)
        return {
            "owner": node.owner,  # an object id, or $superuser
            "group": node.group,
            "permissions": perms + ("+" if extended else ""),
            "acl": node.acl(),
        }

    def set_access_control(
        self,
        owner: str | None = None,
        group: str | None = None,
        permissions: str | None = None,
        acl: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self._fs.calls.append(("set_access_control", self.path_name))
        node = self._node()
        if self.path_name in self._fs.failing:
            raise HttpResponseError(message=f"AuthorizationPermissionMismatch: {self.path_name}")
        if acl is not None:
            access, default = _parse(acl)
            self._check(node, access, default)
            node.access, node.default = access, default
        node.owner = owner or node.owner
        node.group = group or node.group
        return {}

    @staticmethod
    def _check(node: _Node, access: dict[str, str], default: dict[str, str]) -> None:
        if default and not node.is_dir:
            raise HttpResponseError(message="InvalidAccessControlList: default ACL on a file")
        for scope in (access, default):
            if scope and not all(k in scope for k in _BASE):
                raise HttpResponseError(message="InvalidAccessControlList: user::, group::, other:: required")
            if len(scope) > MAX_ENTRIES_PER_SCOPE:
                raise HttpResponseError(message="InvalidAccessControlList: more than 32 entries")

    # ---- recursive ACL changes, as the SDK drives the service: one batch per request

    def update_access_control_recursive(self, acl: str, **kwargs: Any) -> AccessControlChangeResult:
        self._fs.calls.append(("update_access_control_recursive", self.path_name))
        access, default = _parse(acl)
        return self._recursive(lambda n: self._modify(n, access, default), **kwargs)

    def remove_access_control_recursive(self, acl: str, **kwargs: Any) -> AccessControlChangeResult:
        self._fs.calls.append(("remove_access_control_recursive", self.path_name))
        access, default = _parse(acl, with_perms=False)
        return self._recursive(lambda n: self._remove(n, access, default), **kwargs)

    @staticmethod
    def _modify(node: _Node, access: dict[str, str], default: dict[str, str]) -> None:
        node.access.update(access)
        if node.is_dir:
            node.default.update(default)

    @staticmethod
    def _remove(node: _Node, access: dict[str, str], default: dict[str, str]) -> None:
        for k in access:
            node.access.pop(k, None)
        if node.is_dir:
            for k in default:
                node.default.pop(k, None)

    def _recursive(
        self,
        change: Callable[[_Node], None],
        *,
        continuation_token: str | None = None,
        batch_size: int | None = None,
        max_batches: int | None = None,
        continue_on_failure: bool = False,
        progress_hook: Callable[[AccessControlChanges], None] | None = None,
        **_: Any,
    ) -> AccessControlChangeResult:
        """The SDK's loop (``_set_access_control_internal``) over :meth:`_service_batch`."""
        self._node()
        size = batch_size or 2000
        if not 1 <= size <= 2000:
            raise ValueError("batch_size must be between 1 and 2000")
        dirs = files = failures = batches = 0
        last_token: str | None = None
        token = continuation_token
        while True:
            b_dirs, b_files, failed, token = self._service_batch(change, token, size, continue_on_failure)
            dirs, files, failures, batches = (
                dirs + b_dirs,
                files + b_files,
                failures + len(failed),
                batches + 1,
            )
            last_token = token or last_token
            if progress_hook:
                progress_hook(
                    AccessControlChanges(
                        batch_counters=AccessControlChangeCounters(b_dirs, b_files, len(failed)),
                        aggregate_counters=AccessControlChangeCounters(dirs, files, failures),
                        batch_failures=failed,
                        continuation=last_token,
                    )
                )
            if not token or (max_batches is not None and batches == max_batches):
                break
        result_token = last_token if failures and not continue_on_failure else token
        return AccessControlChangeResult(AccessControlChangeCounters(dirs, files, failures), result_token)

    def _service_batch(
        self, change: Callable[[_Node], None], token: str | None, size: int, force: bool
    ) -> tuple[int, int, list[AccessControlChangeFailure], str | None]:
        """One ``setAccessControlRecursive`` request: up to ``size`` paths from ``token`` on. Without
        ``force`` (continue on failure) the service stops at the first failure, with no token."""
        self._fs.calls.append(("service_batch", self.path_name))
        targets = self._fs.below(self.path_name)
        start = int(base64.b64decode(token).decode()) if token else 0
        dirs = files = 0
        failed: list[AccessControlChangeFailure] = []
        for p in targets[start : start + size]:
            node = self._fs.nodes[p]
            if p in self._fs.failing:
                failed.append(AccessControlChangeFailure(p, node.is_dir, "AuthorizationPermissionMismatch"))
                if not force:
                    return dirs, files, failed, None
                continue
            change(node)
            dirs += node.is_dir
            files += not node.is_dir
        end = start + size
        return (
            dirs,
            files,
            failed,
            base64.b64encode(str(end).encode()).decode() if end < len(targets) else None,
        )


class FakeDataLakeDirectoryClient(_FakePathClient):
    def __init__(self, fs: FakeFileSystem, path: str) -> None:
        super().__init__(fs, path, is_dir=True)

    def create_directory(self, **_: Any) -> dict[str, Any]:
        self._fs.calls.append(("create_directory", self.path_name))
        self._fs.create(self.path_name, is_dir=True)
        return {}


class FakeDataLakeFileClient(_FakePathClient):
    def __init__(self, fs: FakeFileSystem, path: str) -> None:
        super().__init__(fs, path, is_dir=False)

    def create_file(self, **_: Any) -> dict[str, Any]:
        self._fs.calls.append(("create_file", self.path_name))
        self._fs.create(self.path_name, is_dir=False)
        return {}


class FakeFileSystemClient:
    def __init__(self, fs: FakeFileSystem) -> None:
        self.fs = fs
        self.file_system_name = fs.name

    def get_directory_client(self, directory: str) -> FakeDataLakeDirectoryClient:
        return FakeDataLakeDirectoryClient(self.fs, directory)

    def get_file_client(self, file_path: str) -> FakeDataLakeFileClient:
        return FakeDataLakeFileClient(self.fs, file_path)

    def get_paths(
        self, path: str | None = None, recursive: bool = True, **_: Any
    ) -> Iterator[FakePathProperties]:
        self.fs.calls.append(("get_paths", _norm(path)))
        root = _norm(path)
        if root not in self.fs.nodes:
            raise ResourceNotFoundError(message=f"PathNotFound: {root}")
        depth = root.count("/") + 1 if root else 0
        for p in self.fs.below(root):
            if p == root or (not recursive and p.count("/") != depth):
                continue
            node = self.fs.nodes[p]
            yield FakePathProperties(p, node.is_dir, node.modified)


class FakeDataLakeServiceClient:
    """``DataLakeServiceClient(account_url, credential)`` over a :class:`FakeAccount`."""

    def __init__(
        self, account_url: str, credential: Any = None, *, account: FakeAccount | None = None
    ) -> None:
        self.url = account_url
        self.account = account or FakeAccount()

    def get_file_system_client(self, file_system: str) -> FakeFileSystemClient:
        return FakeFileSystemClient(self.account.filesystem(file_system))
