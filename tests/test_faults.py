"""Fault injection: the whole pipeline (``accelerator run``, a subprocess in its own process group)
SIGKILLed at points spread across bronze, silver, linkage and gold, restarted after each kill, and
finally left to finish, gives the lake one uninterrupted run gives over the same landing zone:
every table with the same rows (run ids and run timestamps aside, ``fault_kit.RUN_COLUMNS``), every
delivery LOADED exactly once, the same people partition, the same gold.

Kill points are read from the stages' own progress: the run is killed right after the nth new
Delta commit of a given table (its ``_delta_log``), so each lands inside the stage it names
whatever the machine's speed. Each restart resumes where the last left off, so one chain of runs
covers every point: the kill of bronze, then of silver on the restart, and so on.
"""

from __future__ import annotations

import pytest

from fault_kit import (
    KillPoint,
    assert_same_lake,
    clean_lake,
    commits,
    new_landing,
    run_and_kill,
    run_to_end,
    shared_base,
)

pytestmark = pytest.mark.slow

# In pipeline order; each is reached by the restart after the previous kill.
KILL_POINTS = (
    # bronze: some feed tables written, the delivery log (bronze's commit point) not yet
    KillPoint("bronze: after the 3rd bronze feed table commit", "bronze/b*/[!_]*", nth=3),
    # silver: some silver tables MERGEd, applied_deliveries (silver's commit point) not yet
    KillPoint("silver: after the 2nd silver table commit", "silver/b*/*", nth=2),
    # silver: dq_metrics written, person_record and applied_deliveries not yet
    KillPoint("silver: after dq_metrics", "silver/_platform/dq_metrics"),
    # people: links written, change log, redirects, report and person_xref (the commit point) not yet
    KillPoint("linkage: after person_links", "silver/_platform/person_links"),
    # gold: one authority's first table replaced, its publication record not yet
    KillPoint("gold: after the first gold table commit", "gold/*/*"),
)


def test_a_pipeline_killed_in_every_stage_and_restarted_ends_as_one_clean_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = shared_base(tmp_path_factory)
    work = tmp_path_factory.mktemp("faulted")
    landing = new_landing(base, work / "landing")
    lake = work / "lake"
    reached = []
    for i, point in enumerate(KILL_POINTS):
        run_and_kill(landing, lake, work / f"killed-{i}.log", point)
        reached.append((point.name, sum(commits(lake).values())))
    run_to_end(landing, lake, work / "final.log")
    assert len(reached) == len(KILL_POINTS)
    assert_same_lake(lake, clean_lake(base), context=f"after kills at {[name for name, _ in reached]}")
