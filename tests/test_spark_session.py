"""The session get_spark hands out: PySpark finds the JVM classes it uses on every call without
asking the JVM (accelerator.spark.remember_jvm_classes)."""

from __future__ import annotations

from typing import Any

import pytest
from py4j.java_gateway import JavaPackage, JVMView
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from accelerator.spark import JVM_CLASSES, get_spark


def test_column_functions_lists_and_comments_ask_the_jvm_for_no_class(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_spark() is spark  # the fixture's session, as a notebook or in-process command gets it
    df = spark.createDataFrame([(1, "a"), (2, "b")], "n int, s string")  # (looks up its own few)
    asked: list[str] = []
    view_lookup, package_lookup = JVMView.__getattr__, JavaPackage.__getattr__

    def on_view(self: JVMView, name: str) -> Any:
        asked.append(name)
        return view_lookup(self, name)

    def on_package(self: JavaPackage, name: str) -> Any:
        asked.append(f"{self._fqn}.{name}")
        return package_lookup(self, name)

    monkeypatch.setattr(JVMView, "__getattr__", on_view)
    monkeypatch.setattr(JavaPackage, "__getattr__", on_package)
    out = df.select(
        F.col("n"), F.lit(2).alias("two", metadata={"comment": "a described column"}), F.upper("s").alias("u")
    ).where(F.col("n") == 1)
    assert [tuple(r) for r in out.collect()] == [(1, 2, "A")]
    assert out.schema["two"].metadata == {"comment": "a described column"}
    assert asked == []  # functions, PythonUtils, Metadata: each found on the view, no round trip
    # The probe sees a look-up when there is one: a class no one remembered.
    spark.sparkContext._jvm.java.lang.System.currentTimeMillis()  # type: ignore[union-attr]
    assert "java" in asked


def test_every_remembered_name_is_a_class_of_the_running_jvm(spark: SparkSession) -> None:
    jvm: Any = spark.sparkContext._jvm
    for name in JVM_CLASSES:
        holder, *path = name.split(".")
        found = vars(jvm)[holder]  # set on the view itself
        for part in path:
            found = vars(found)[part]
        assert not isinstance(found, JavaPackage), f"{name} is not a class of this JVM"
