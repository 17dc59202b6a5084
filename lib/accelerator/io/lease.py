"""One writer per lake: an exclusive lease on the lake, held for as long as a command writes.

Every command that writes the lake (``run``, each stage of ``run_stage`` and the notebooks,
``erase``, ``restrict``, ``unrestrict``, ``retention`` and ``acl apply``) holds the lease from
before its first read of what it will change until after its last write, through :func:`held`.
A second writer waits up to ``Settings.lease_wait_seconds``, then gets :class:`LakeBusy`, whose
message names the holder: command, run id, host, pid and since when. Read-only commands (``sar``,
``acl drift``, ``retention --dry-run``, reports, Power BI) never take it and never wait: Delta's
snapshot isolation gives each reader the last committed version of each table it opens, never a
half-written one (a half-finished *command* is another matter: see docs/survival.md).

Where: ``<lake>/bronze/_platform/_lease``, in the platform-only area of custodianship.md (the
lake root is ``r-x`` for the pipeline identity once the ACLs are applied; ``bronze/_platform`` is
``rwx`` for it alone). The file is in no ACL plan of its own: it inherits ``bronze/_platform``'s
default ACL like every table there. It holds no personal data: a command name, a run id, a host
name, a pid and a time.

- **Local folder**: ``fcntl.flock(LOCK_EX)`` on the lease file. The kernel releases the lock when
  the holder's process dies, however it dies (SIGKILL included): no stale lock to clean up. The
  holder's description is ``_lease.json`` beside it, replaced atomically after the lock is taken
  and removed before it is released (so a description left behind names a holder that was killed).
- **ADLS Gen2** (``abfss://``): a blob lease on the lease file, through azure-storage-file-datalake's
  ``DataLakeFileClient.acquire_lease`` (a ``DataLakeLeaseClient``), with a finite duration
  (``Settings.lease_duration_seconds``, 15 to 60 s as the service allows) renewed by a heartbeat
  thread every third of it. A holder that dies stops renewing, and the service frees the lease
  when the duration runs out. The description is the lease file's metadata, set under the lease.
  A heartbeat that cannot renew (the lease was lost, or two renewals in a row failed, so the
  lease may expire before the next) calls ``on_lost``: by default a SIGINT to the main thread, so
  the writer stops as if interrupted rather than write on without the lease.

Clocks: this module reads no clock. The caller passes the holder's ``since`` and a ``clock`` (a
monotonic seconds counter, e.g. ``time.monotonic``) that only measures how long it has waited.
The heartbeat sleeps on a ``threading.Event`` between renewals: an interval, never a reading of
the time, and nothing it records depends on it.

Commit point: none. The lease changes no table; its description is advisory, for the waiter's
message only. The lease only excludes other writers; what a kill leaves of a command's own work
is the command's business (its own module's docstring, and docs/survival.md).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from accelerator.io.abfss import parse_abfss
from accelerator.io.lake import PLATFORM, join

LEASE_FILE = "_lease"
HOLDER_FILE = "_lease.json"
MIN_DURATION, MAX_DURATION = 15, 60
"""The finite blob lease durations ADLS accepts, in seconds (-1, infinite, is not used: a holder
that died would keep the lake for good)."""


def lease_path(lake_root: str) -> str:
    """The lease file of a lake."""
    return join(lake_root, "bronze", PLATFORM, LEASE_FILE)


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) the lease: enough for a waiter to name them."""

    command: str
    host: str
    pid: int
    since: datetime
    run_id: str = ""

    def describe(self) -> str:
        run = f" (run {self.run_id})" if self.run_id else ""
        return f"{self.command}{run} on {self.host}, pid {self.pid}, since {self.since.isoformat(sep=' ')}"

    def to_mapping(self) -> dict[str, str]:
        """String fields only: valid blob metadata and JSON alike."""
        return {
            "command": self.command,
            "run_id": self.run_id,
            "host": self.host,
            "pid": str(self.pid),
            "since": self.since.isoformat(),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Holder | None:
        """The holder a description names, or None when it is missing or unreadable."""
        try:
            return cls(
                command=str(data["command"]),
                host=str(data["host"]),
                pid=int(data["pid"]),
                since=datetime.fromisoformat(str(data["since"])),
                run_id=str(data.get("run_id") or ""),
            )
        except (KeyError, TypeError, ValueError):
            return None


class LakeBusy(RuntimeError):
    """Another command held the lake's lease for longer than this one would wait."""

    def __init__(self, lake_root: str, holder: Holder | None, waited_seconds: float) -> None:
        self.lake_root = lake_root
        self.holder = holder
        self.waited_seconds = waited_seconds
        who = holder.describe() if holder else "another command (its description could not be read)"
        super().__init__(
            f"the lake {lake_root} is being written by {who}; waited {waited_seconds:.0f} s "
            "(lease_wait_seconds): run this again when that command has finished"
        )


class LeaseLost(RuntimeError):
    """The lease was lost while held (ADLS: it could not be renewed in time)."""


class Lease(Protocol):
    """One lake's lease, as one would-be holder sees it."""

    heartbeat_seconds: float | None
    """How often :meth:`renew` must be called while held; None: never (the OS keeps it)."""

    def try_acquire(self) -> bool:
        """Take the lease now if it is free (and write the holder's description); False if held."""
        ...

    def current_holder(self) -> Holder | None:
        """The description the present holder wrote, None when there is none or it is unreadable."""
        ...

    def renew(self) -> None: ...

    def release(self) -> None: ...


# ------------------------------------------------------------------------------------- local


class LocalLease:
    """``flock`` on ``<lake>/bronze/_platform/_lease``; the description in ``_lease.json``."""

    heartbeat_seconds: float | None = None

    def __init__(self, lake_root: str, holder: Holder) -> None:
        self.path = Path(lease_path(lake_root))
        self.holder_path = self.path.with_name(HOLDER_FILE)
        self.holder = holder
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # 0o644 as Spark writes its files: under a default ACL the mode narrows the mask, and a
        # lost write alone is not ACL drift (acl_plan.diff_path). O_CLOEXEC (Python's default) keeps
        # the descriptor out of child processes: the lock dies with this process, not the JVM's.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self._fd = fd
        tmp = self.holder_path.with_name(HOLDER_FILE + ".tmp")
        tmp.write_text(json.dumps(self.holder.to_mapping(), sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.holder_path)
        return True

    def current_holder(self) -> Holder | None:
        try:
            data = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return Holder.from_mapping(data) if isinstance(data, dict) else None

    def renew(self) -> None:
        """Nothing to do: the kernel keeps the lock for as long as the process lives."""

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.holder_path.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


# -------------------------------------------------------------------------------------- ADLS


def _status(e: BaseException) -> int | None:
    return getattr(e, "status_code", None)


def _code(e: BaseException) -> str:
    return str(getattr(e, "error_code", "") or "")


class AdlsLease:
    """A blob lease of ``duration_seconds`` on the lease file of an ADLS Gen2 container.

    ``file_system`` is a ``FileSystemClient`` (or the fake under tests/fakes); ``path`` is the lease
    file's path in it."""

    def __init__(self, file_system: Any, path: str, holder: Holder, *, duration_seconds: int) -> None:
        if not MIN_DURATION <= duration_seconds <= MAX_DURATION:
            raise ValueError(
                f"lease_duration_seconds must be {MIN_DURATION} to {MAX_DURATION} (ADLS), "
                f"not {duration_seconds}"
            )
        self.file = file_system.get_file_client(path)
        self.path = path
        self.holder = holder
        self.duration_seconds = duration_seconds
        self.heartbeat_seconds: float | None = duration_seconds / 3
        self._lease: Any = None

    def _ensure_file(self) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError

        try:
            self.file.create_file(match_condition=MatchConditions.IfMissing)
        except HttpResponseError as e:
            # 409 the file exists (the usual case); 412 it exists and is leased.
            if _status(e) not in (409, 412):
                raise

    def try_acquire(self) -> bool:
        from azure.core.exceptions import HttpResponseError

        if self._lease is not None:
            raise RuntimeError(f"{self.path}: already held by this object")
        self._ensure_file()
        try:
            lease = self.file.acquire_lease(lease_duration=self.duration_seconds)
        except HttpResponseError as e:
            if _status(e) == 409 and _code(e) in ("LeaseAlreadyPresent", ""):
                return False
            raise
        self._lease = lease
        self.file.set_metadata(self.holder.to_mapping(), lease=lease)
        return True

    def current_holder(self) -> Holder | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self.file.get_file_properties()
        except ResourceNotFoundError:
            return None
        return Holder.from_mapping(props.metadata or {})

    def renew(self) -> None:
        if self._lease is None:
            raise LeaseLost(f"{self.path}: not held")
        self._lease.renew()

    def release(self) -> None:
        from azure.core.exceptions import HttpResponseError

        if self._lease is None:
            return
        lease, self._lease = self._lease, None
        try:
            self.file.set_metadata({}, lease=lease)
            lease.release()
        except HttpResponseError as e:
            if _status(e) not in (409, 412):  # lost meanwhile: nothing left to release
                raise


def adls_file_system(account: str, filesystem: str, credential: Any = None) -> Any:
    """A ``FileSystemClient`` of ``https://<account>.dfs.core.windows.net/<filesystem>``, signed in
    with ``credential`` (default: ``DefaultAzureCredential``)."""
    from azure.storage.filedatalake import DataLakeServiceClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    service = DataLakeServiceClient(f"https://{account}.dfs.core.windows.net", credential=credential)
    return service.get_file_system_client(filesystem)


def lease_for(
    lake_root: str,
    holder: Holder,
    *,
    duration_seconds: int,
    credential: Any = None,
    file_system: Any = None,
) -> Lease:
    """The lease of ``lake_root``: a local folder (or ``file:`` URL) or an ``abfss://`` URL."""
    url = parse_abfss(lake_root)
    if url is not None:
        fs = file_system or adls_file_system(url.account, url.filesystem, credential)
        path = "/".join(p for p in (url.path, "bronze", PLATFORM, LEASE_FILE) if p)
        return AdlsLease(fs, path, holder, duration_seconds=duration_seconds)
    if lake_root.startswith("file:"):
        lake_root = "/" + lake_root[len("file:") :].lstrip("/")  # file:///x and file:/x alike
    elif "://" in lake_root:
        raise ValueError(f"{lake_root}: a lake lease needs a local folder or an abfss:// URL")
    return LocalLease(lake_root, holder)


# --------------------------------------------------------------------------------- heartbeat


def interrupt_main(error: BaseException) -> None:
    """The default ``on_lost``: SIGINT to the main thread, which stops the writer as Ctrl-C would
    (pyspark cancels its jobs; the command's commit points decide what counts)."""
    ident = threading.main_thread().ident
    if ident is not None:
        signal.pthread_kill(ident, signal.SIGINT)


class Heartbeat:
    """Renews a lease every ``interval`` seconds on a daemon thread until :meth:`stop`.

    The lease is given up for lost on a 409 (someone else holds it, or it is gone) or on
    ``max_failures`` failed renewals in a row; then ``on_lost`` is called once and the beat stops.
    """

    def __init__(
        self,
        lease: Lease,
        interval: float,
        *,
        on_lost: Callable[[BaseException], None] = interrupt_main,
        max_failures: int = 2,
    ) -> None:
        self.lease = lease
        self.interval = interval
        self.on_lost = on_lost
        self.max_failures = max_failures
        self.renewals = 0
        self.lost: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lake-lease-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _beat(self) -> None:
        failures = 0
        while not self._stop.wait(self.interval):
            try:
                self.lease.renew()
            except Exception as e:  # any failure to renew counts; a 409 is final at once
                failures += 1
                if _status(e) == 409 or isinstance(e, LeaseLost) or failures >= self.max_failures:
                    self.lost = e
                    self.on_lost(e)
                    return
            else:
                failures = 0
                self.renewals += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


# ------------------------------------------------------------------------------------ holding


def acquire(
    lease: Lease,
    lake_root: str,
    *,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_seconds: float = 1.0,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> None:
    """Take ``lease``, waiting up to ``wait_seconds`` (measured with ``clock``) and trying again every
    ``poll_seconds``; raise :class:`LakeBusy` naming the holder when the time runs out. ``on_wait``
    is called once, with the holder, when the lease is found taken."""
    start = clock()
    told = False
    while not lease.try_acquire():
        waited = clock() - start
        if waited >= wait_seconds:
            raise LakeBusy(lake_root, lease.current_holder(), waited)
        if not told and on_wait is not None:
            on_wait(lease.current_holder())
        told = True
        sleep(max(min(poll_seconds, wait_seconds - waited), 0.0))


@contextlib.contextmanager
def held(
    lake_root: str,
    holder: Holder,
    *,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    duration_seconds: int = MAX_DURATION,
    poll_seconds: float = 1.0,
    heartbeat_seconds: float | None = None,
    credential: Any = None,
    file_system: Any = None,
    on_wait: Callable[[Holder | None], None] | None = None,
    on_lost: Callable[[BaseException], None] = interrupt_main,
) -> Iterator[Holder]:
    """Hold the lake's lease for the body of the ``with``::

        with lease.held(settings.lake_root, holder, wait_seconds=settings.lease_wait_seconds,
                        duration_seconds=settings.lease_duration_seconds,
                        clock=time.monotonic, sleep=time.sleep):
            ...  # every write of the command

    Raises :class:`LakeBusy` when the lease stays taken for ``wait_seconds``, and
    :class:`LeaseLost` at the end when the heartbeat lost it meanwhile (and the body raised
    nothing else). ``heartbeat_seconds`` overrides the lease's own renewal interval (a third of
    its duration on ADLS; none locally)."""
    lease = lease_for(
        lake_root, holder, duration_seconds=duration_seconds, credential=credential, file_system=file_system
    )
    acquire(
        lease,
        lake_root,
        wait_seconds=wait_seconds,
        clock=clock,
        sleep=sleep,
        poll_seconds=poll_seconds,
        on_wait=on_wait,
    )
    beat = None
    if lease.heartbeat_seconds is not None:
        beat = Heartbeat(lease, heartbeat_seconds or lease.heartbeat_seconds, on_lost=on_lost).start()
    try:
        yield holder
    finally:
        if beat is not None:
            beat.stop()
        lease.release()
    if beat is not None and beat.lost is not None:
        raise LeaseLost(f"the lease on {lake_root} was lost while held: {beat.lost}") from beat.lost
