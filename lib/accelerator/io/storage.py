"""Byte-level access to the landing zone: a local folder, or any Hadoop file system Spark reaches.

Bronze reads manifests and CSV files as bytes (it must see the exact bytes to check sha256 and to
decode Windows-1252 or a byte-order mark), so it cannot use Spark's CSV reader. Locally that is
plain file I/O; on Synapse the same calls go through the session's Hadoop ``FileSystem``
(``abfss://`` with the workspace's managed identity), so no credentials are handled here.
Erasure and retention list, walk and delete lake files through the same ``HadoopStorage``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from pyspark.sql import SparkSession


class Storage(Protocol):
    def list_dirs(self, path: str) -> list[str]:
        """Names (not paths) of the sub-folders of ``path``, sorted; [] when it does not exist."""
        ...

    def list_files(self, path: str) -> list[str]:
        """Names of the files directly in ``path``, sorted."""
        ...

    def exists(self, path: str) -> bool: ...

    def size(self, path: str) -> int: ...

    def read_bytes(self, path: str) -> bytes: ...


class LocalStorage:
    """A local folder (laptop, CI)."""

    def list_dirs(self, path: str) -> list[str]:
        p = Path(path)
        if not p.is_dir():
            return []
        return sorted(e.name for e in os.scandir(p) if e.is_dir())

    def list_files(self, path: str) -> list[str]:
        p = Path(path)
        if not p.is_dir():
            return []
        return sorted(e.name for e in os.scandir(p) if e.is_file())

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def size(self, path: str) -> int:
        return Path(path).stat().st_size

    def read_bytes(self, path: str) -> bytes:
        return Path(path).read_bytes()


class HadoopStorage:
    """Any URL the Spark session's Hadoop configuration can open (abfss:// on Synapse)."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm: Any = spark.sparkContext._jvm
        self._conf: Any = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str) -> tuple[Any, Any]:
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        return jpath.getFileSystem(self._conf), jpath

    def _list(self, path: str, *, dirs: bool) -> list[str]:
        fs, jpath = self._fs(path)
        if not fs.exists(jpath):
            return []
        return sorted(s.getPath().getName() for s in fs.listStatus(jpath) if s.isDirectory() == dirs)

    def list_dirs(self, path: str) -> list[str]:
        return self._list(path, dirs=True)

    def list_files(self, path: str) -> list[str]:
        return self._list(path, dirs=False)

    def exists(self, path: str) -> bool:
        fs, jpath = self._fs(path)
        return bool(fs.exists(jpath))

    def size(self, path: str) -> int:
        fs, jpath = self._fs(path)
        return int(fs.getFileStatus(jpath).getLen())

    def read_bytes(self, path: str) -> bytes:
        fs, jpath = self._fs(path)
        stream = fs.open(jpath)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    # Beyond the landing zone's needs: what erasure and retention do to the lake.

    def children(self, path: str) -> list[str]:
        """The names of every file and folder directly under ``path`` (hidden ones too)."""
        fs, jpath = self._fs(path)
        if not fs.exists(jpath):
            return []
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(jpath))

    def walk(self, root: str) -> list[str]:
        """Every file under ``root`` (hidden ones too), as paths under ``root``'s spelling."""
        fs, jpath = self._fs(root)
        if not fs.exists(jpath):
            return []
        base = str(fs.makeQualified(jpath).toString()).rstrip("/")
        out = []
        it = fs.listFiles(jpath, True)
        while it.hasNext():
            full = str(it.next().getPath().toString())
            out.append(root.rstrip("/") + full[len(base) :] if full.startswith(base) else full)
        return sorted(out)

    def delete(self, path: str) -> bool:
        fs, jpath = self._fs(path)
        return bool(fs.delete(jpath, True))


def storage_for(root: str, spark: SparkSession | None = None) -> Storage:
    """Local file access for plain paths, Hadoop for every URL (``abfss://``, ``file://``)."""
    if "://" not in root:
        return LocalStorage()
    if spark is None:
        raise ValueError(f"{root} needs a Spark session to be read")
    return HadoopStorage(spark)
