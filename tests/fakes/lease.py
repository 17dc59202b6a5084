"""An in-memory stand-in for the blob lease part of azure-storage-file-datalake that
``accelerator.io.lease.AdlsLease`` uses, on a clock the test moves.

What it keeps, as the service does (Lease Blob / Path - Lease, REST API 2021+):

- ``FakeLeaseFileSystem.get_file_client(path)`` -> :class:`FakeFileClient` with ``exists``,
  ``create_file`` (``match_condition=MatchConditions.IfMissing`` gives 409 ``PathAlreadyExists`` on
  an existing file; overwriting a leased file without its lease gives 412 ``LeaseIdMissing``),
  ``get_file_properties`` (``metadata``; ``lease.status`` locked/unlocked, ``lease.state``
  available/leased/expired, ``lease.duration`` fixed/infinite), ``set_metadata(metadata, lease=)``
  (412 ``LeaseIdMissing`` without the lease of a leased file, 412 ``LeaseIdMismatchWithBlobOperation``
  with another) and ``acquire_lease(lease_duration, lease_id)`` -> :class:`FakeLeaseClient`.
- :class:`FakeLeaseClient` (``DataLakeLeaseClient``'s constructor and methods): ``acquire`` (400
  ``InvalidHeaderValue`` unless the duration is -1 or 15 to 60 s; 409 ``LeaseAlreadyPresent`` while
  another lease is active; the same id again renews), ``renew`` (works after expiry as long as nobody
  leased the file since; 409 ``LeaseIdMismatchWithLeaseOperation`` otherwise), ``release`` and
  ``break_lease``.
- A lease of fixed duration expires ``duration`` seconds (of ``clock``) after its last acquire or
  renew; an expired lease no longer blocks anyone.

Errors are ``azure.core.exceptions`` types with ``status_code`` and ``error_code`` as the SDK's
``process_storage_error`` sets them. ``calls`` records every operation, for tests to count.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError


def _error(cls: type[HttpResponseError], status: int, code: str) -> HttpResponseError:
    e = cls(message=f"{code}\nErrorCode:{code}")
    e.status_code = status
    e.error_code = code  # type: ignore[attr-defined]
    return e


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Blob:
    metadata: dict[str, str] = field(default_factory=dict)
    lease_id: str | None = None
    duration: int = -1
    expires: float | None = None  # None: infinite (while lease_id is set)
    broken: bool = False


class FakeLeaseFileSystem:
    """One container; files exist once created."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.blobs: dict[str, _Blob] = {}
        self.calls: list[tuple[str, str]] = []

    def get_file_client(self, path: str) -> FakeFileClient:
        return FakeFileClient(self, path.strip("/"))

    # -- service side

    def active(self, blob: _Blob) -> bool:
        if blob.lease_id is None or blob.broken:
            return False
        return blob.expires is None or self.clock() < blob.expires

    def state(self, blob: _Blob) -> str:
        if blob.lease_id is None:
            return "available"
        if blob.broken:
            return "broken"
        return "leased" if self.active(blob) else "expired"


def _lease_id(lease: Any) -> str | None:
    if lease is None:
        return None
    return lease if isinstance(lease, str) else str(lease.id)


class FakeFileClient:
    def __init__(self, fs: FakeLeaseFileSystem, path: str) -> None:
        self._fs = fs
        self.path_name = path

    def _blob(self) -> _Blob:
        blob = self._fs.blobs.get(self.path_name)
        if blob is None:
            raise _error(ResourceNotFoundError, 404, "PathNotFound")
        return blob

    def _check_write(self, blob: _Blob, lease: Any) -> None:
        given = _lease_id(lease)
        if self._fs.active(blob):
            if given is None:
                raise _error(HttpResponseError, 412, "LeaseIdMissing")
            if given != blob.lease_id:
                raise _error(HttpResponseError, 412, "LeaseIdMismatchWithBlobOperation")
        elif given is not None:
            raise _error(HttpResponseError, 412, "LeaseNotPresentWithBlobOperation")

    def exists(self, **kwargs: Any) -> bool:
        self._fs.calls.append(("exists", self.path_name))
        return self.path_name in self._fs.blobs

    def create_file(
        self, content_settings: Any = None, metadata: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        self._fs.calls.append(("create_file", self.path_name))
        blob = self._fs.blobs.get(self.path_name)
        if blob is not None:
            if kwargs.get("match_condition") == MatchConditions.IfMissing:
                raise _error(ResourceExistsError, 409, "PathAlreadyExists")
            self._check_write(blob, kwargs.get("lease"))
        self._fs.blobs[self.path_name] = _Blob(metadata=dict(metadata or {}))
        return {}

    def get_file_properties(self, **kwargs: Any) -> Any:
        self._fs.calls.append(("get_file_properties", self.path_name))
        blob = self._blob()
        state = self._fs.state(blob)
        lease = SimpleNamespace(
            status="locked" if state == "leased" else "unlocked",
            state=state,
            duration=("infinite" if blob.duration == -1 else "fixed") if state == "leased" else None,
        )
        return SimpleNamespace(name=self.path_name, metadata=dict(blob.metadata), lease=lease)

    def set_metadata(self, metadata: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        self._fs.calls.append(("set_metadata", self.path_name))
        blob = self._blob()
        self._check_write(blob, kwargs.get("lease"))
        for k, v in metadata.items():
            if not k.isidentifier() or not str(v).isascii():
                raise _error(HttpResponseError, 400, "InvalidMetadata")
        blob.metadata = dict(metadata)
        return {}

    def acquire_lease(
        self, lease_duration: int = -1, lease_id: str | None = None, **kwargs: Any
    ) -> FakeLeaseClient:
        lease = FakeLeaseClient(self, lease_id=lease_id)
        lease.acquire(lease_duration=lease_duration)
        return lease


class FakeLeaseClient:
    """``DataLakeLeaseClient(client, lease_id=None)`` over a :class:`FakeFileClient`."""

    def __init__(self, client: FakeFileClient, lease_id: str | None = None) -> None:
        self.id = lease_id or str(uuid.uuid4())
        self.etag: str | None = None
        self.last_modified: Any = None
        self._client = client
        self._fs = client._fs

    def _call(self, op: str) -> _Blob:
        self._fs.calls.append((op, self._client.path_name))
        return self._client._blob()

    def acquire(self, lease_duration: int = -1, **kwargs: Any) -> None:
        blob = self._call("acquire_lease")
        if lease_duration != -1 and not 15 <= lease_duration <= 60:
            raise _error(HttpResponseError, 400, "InvalidHeaderValue")
        if self._fs.active(blob) and blob.lease_id != self.id:
            raise _error(HttpResponseError, 409, "LeaseAlreadyPresent")
        blob.lease_id, blob.duration, blob.broken = self.id, lease_duration, False
        blob.expires = None if lease_duration == -1 else self._fs.clock() + lease_duration

    def renew(self, **kwargs: Any) -> None:
        blob = self._call("renew_lease")
        if blob.lease_id is None:
            raise _error(HttpResponseError, 409, "LeaseNotPresentWithLeaseOperation")
        if blob.lease_id != self.id:
            raise _error(HttpResponseError, 409, "LeaseIdMismatchWithLeaseOperation")
        if blob.broken:
            raise _error(HttpResponseError, 409, "LeaseIsBrokenAndCannotBeRenewed")
        blob.expires = None if blob.duration == -1 else self._fs.clock() + blob.duration

    def release(self, **kwargs: Any) -> None:
        blob = self._call("release_lease")
        if blob.lease_id is None:
            raise _error(HttpResponseError, 409, "LeaseNotPresentWithLeaseOperation")
        if blob.lease_id != self.id:
            raise _error(HttpResponseError, 409, "LeaseIdMismatchWithLeaseOperation")
        blob.lease_id, blob.expires, blob.broken = None, None, False

    def break_lease(self, lease_break_period: int | None = None, **kwargs: Any) -> int:
        blob = self._call("break_lease")
        if blob.lease_id is None:
            raise _error(HttpResponseError, 409, "LeaseNotPresentWithLeaseOperation")
        blob.broken = True
        return 0
