"""Where a Spark program's time goes, by the code that asked for it.

Spark is lazy: all the work (planning, jobs, Delta commits) happens inside a few driver calls,
the *actions*. :func:`timing_actions` wraps those calls (DataFrame count, collect, toPandas;
DataFrameWriter save; Delta MERGE execute; Delta's forPath, which reads the table's log) and adds
up their wall time by the accelerator function that made the call. Threads that call actions
concurrently each count their own waiting time, so under a thread pool the sum exceeds the wall
time; the shares still show what dominates.

    with timing_actions() as totals:
        run_silver(...)
    print(report(totals))
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.sql import DataFrame, DataFrameWriter

Totals = dict[tuple[str, str], list[float]]

_TARGETS: tuple[tuple[Any, str], ...] = (
    (DataFrame, "count"),
    (DataFrame, "collect"),
    (DataFrame, "toPandas"),
    (DataFrame, "first"),
    (DataFrameWriter, "save"),
    (DeltaMergeBuilder, "execute"),
)


def _caller() -> str:
    """The innermost accelerator (or benchmark) function on the calling stack."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("accelerator."):
            return f"{module.removeprefix('accelerator.')}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "(other)"


@contextmanager
def timing_actions() -> Iterator[Totals]:
    totals: Totals = defaultdict(lambda: [0, 0.0])
    lock = threading.Lock()
    saved: list[tuple[Any, str, Any]] = []
    depth = threading.local()

    def wrap(owner: Any, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(depth, "n", 0):  # an action inside an action (toPandas calls collect)
                return fn(*args, **kwargs)
            depth.n = 1
            key = (_caller(), f"{owner.__name__}.{name}")
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth.n = 0
                with lock:
                    totals[key][0] += 1
                    totals[key][1] += time.perf_counter() - t0

        return timed

    targets = (*_TARGETS, (DeltaTable, "forPath"))
    for owner, name in targets:
        # The attribute as the class has it (toPandas is inherited from a mixin), or None.
        own = owner.__dict__.get(name)
        fn = next(k.__dict__[name] for k in owner.__mro__ if name in k.__dict__)
        saved.append((owner, name, own))
        if isinstance(fn, classmethod):
            setattr(owner, name, classmethod(wrap(owner, name, fn.__func__)))
        else:
            setattr(owner, name, wrap(owner, name, fn))
    try:
        yield totals
    finally:
        for owner, name, own in saved:
            if own is None:
                delattr(owner, name)
            else:
                setattr(owner, name, own)


def report(totals: Totals, *, top: int = 25) -> str:
    rows = sorted(totals.items(), key=lambda kv: -kv[1][1])[:top]
    out = [f"{'caller':<48} {'action':<28} {'calls':>6} {'seconds':>8}"]
    out += [f"{c:<48} {a:<28} {int(n):>6} {s:>8.1f}" for (c, a), (n, s) in rows]
    return "\n".join(out)
