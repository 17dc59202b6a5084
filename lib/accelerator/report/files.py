"""Write one text file (a report page, a review page) under the lake, local or ``abfss://``.

Local folders: written beside the target and renamed over it, so a reader never sees half a page.
URLs: through Spark's Hadoop file system (the pipeline identity on Synapse), overwritten in one
create; ADLS Gen2 makes the file visible when it is closed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession


def write_text(spark: SparkSession | None, path: str, text: str) -> None:
    if "://" not in path or path.startswith("file://"):
        target = Path(path.removeprefix("file://"))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
        return
    if spark is None:
        raise ValueError(f"{path}: writing to a URL needs the Spark session")
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()
