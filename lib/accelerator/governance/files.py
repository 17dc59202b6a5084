"""Small files of governance beside the tables (the audit anchor, the plan of a resumable erasure
or retention), read and written through the session's Hadoop file system, so the same code runs
on a local lake and on ``abfss://``.

A write is replace-safe: the text goes to a temporary file of its own (``<path>.<random>.tmp``;
two commands may rewrite the audit anchor at once), which is closed and then renamed over
``<path>``: in one step where the file system replaces on rename (POSIX, so a reader never finds
the file missing), else (ADLS) by deleting ``<path>`` first. A reader that finds no ``<path>``
takes a complete temporary copy (a kill between the delete and the rename), so a rewrite never
loses the file.

On a local lake the write goes to the raw file system under Hadoop's checksummed one. The
checksummed rename moves the file and then its ``.crc`` in separate steps, and with writers racing
on one file it reported failure and left the temporary behind: 58 of 800 rewrites by four threads
on this machine (CI's four-thread audit test failed on it). The raw rename is POSIX's own, one
step; a ``.crc`` an older write left beside ``<path>`` is removed, as a reader would check the new
text against it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from accelerator.io.storage import HadoopStorage

RENAME_ATTEMPTS = 5  # of delete-then-rename, where a rename does not replace (ADLS)


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any, Any]:
    jvm: Any = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jvm, jpath.getFileSystem(conf), jpath


def _unchecked(jvm: Any, fs: Any) -> Any | None:
    """The raw file system under ``fs`` when it is a checksummed one (a local lake's), else None
    (module docstring)."""
    checksummed = jvm.java.lang.Class.forName("org.apache.hadoop.fs.ChecksumFileSystem")
    return fs.getRawFileSystem() if checksummed.isInstance(fs) else None


def _read(spark: SparkSession, path: str, attempts: int = 3) -> str | None:
    store = HadoopStorage(spark)
    failed = 0
    while True:
        if not store.exists(path):
            return None
        try:
            return store.read_bytes(path).decode("utf-8")
        except Py4JJavaError:  # a rewrite renamed over it as it was opened
            failed += 1
            if failed == attempts:
                raise


def temporaries(spark: SparkSession, path: str) -> list[str]:
    """The temporary copies a rewrite of ``path`` may have left (newest name last is not implied)."""
    parent, _, name = path.rstrip("/").rpartition("/")
    store = HadoopStorage(spark)
    if not store.exists(parent):
        return []
    return [
        f"{parent}/{n}"
        for n in sorted(store.list_files(parent))
        if n.startswith(name + ".") and n.endswith(".tmp")
    ]


def read_text(spark: SparkSession, path: str) -> str | None:
    """The file's text, or None when there is none."""
    text = _read(spark, path)
    if text is not None:
        return text
    for tmp in temporaries(spark, path):
        text = _read(spark, tmp)
        if text is not None:
            return text
    return None


def read_json(spark: SparkSession, path: str) -> Any:
    """The file's JSON, or None when there is none (or only a partial first write)."""
    text = _read(spark, path)
    if text is not None:
        return json.loads(text)
    for tmp in temporaries(spark, path):
        try:
            return json.loads(_read(spark, tmp) or "")
        except ValueError:
            continue
    return None


def write_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` directly (one file of the landing zone being rewritten)."""
    _jvm, fs, jpath = _fs(spark, path)
    out = fs.create(jpath, True)
    try:
        out.write(bytearray(data))
    finally:
        out.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Replace the file's content (module docstring: replace-safe)."""
    jvm, fs, jpath = _fs(spark, path)
    raw = _unchecked(jvm, fs)
    if raw is not None:  # a local lake: no checksum, and none an older write left (no-op if none)
        fs = raw
        fs.delete(jvm.org.apache.hadoop.fs.Path(jpath.getParent(), f".{jpath.getName()}.crc"), False)
    tmp = jvm.org.apache.hadoop.fs.Path(f"{path}.{uuid.uuid4().hex}.tmp")
    out = fs.create(tmp, False)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()
    for _ in range(RENAME_ATTEMPTS):
        if fs.rename(tmp, jpath):  # POSIX replaces in one step
            return
        # ADLS does not replace: delete, then rename (a reader meanwhile takes a temporary copy);
        # another writer may rename its own copy in between, so try again
        fs.delete(jpath, False)
    raise OSError(f"could not rename {tmp} to {path} in {RENAME_ATTEMPTS} tries")


def delete(spark: SparkSession, path: str) -> None:
    """Delete the file and any temporary copy of it (a folder with everything in it)."""
    store = HadoopStorage(spark)
    store.delete(path)
    for tmp in temporaries(spark, path):
        store.delete(tmp)
