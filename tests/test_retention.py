"""Retention (custodianship.md "Retention") on a real lake built from generated deliveries: the dry
run lists exactly what is due, and applying it destroys exactly that, history included."""

from __future__ import annotations

import calendar
import csv
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from accelerator import pipeline
from accelerator.cli import app
from accelerator.config import RunContext, Settings
from accelerator.feeds import FEEDS
from accelerator.governance.audit import read_audit
from accelerator.governance.retention import (
    RetentionConfigError,
    RetentionPolicy,
    apply_retention,
    default_schedule,
    load_policy,
    plan_retention,
    with_steps,
)
from accelerator.io.lake import Lake
from conftest import RIGHTS_AS_OF, RIGHTS_AUTHORITIES

AS_OF = RIGHTS_AS_OF
AUTHORITIES = RIGHTS_AUTHORITIES
NOW = datetime(2025, 4, 2, 9, 30, 0)
# Neither feed has a close date: the clock is the incident date and the census term's end. Police
# records older than a year go; census records are children's and stay until the 25th birthday.
SHORT = ("police_incidents", "school_census")
POLICY = RetentionPolicy(feeds={f: 1 for f in SHORT})


@pytest.fixture(scope="module")
def built(rights_lake: Path) -> Path:
    return rights_lake


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def add_months(d: date, months: int) -> date:
    """Spark's add_months: the same day, or the month's last day when it has no such day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def expected(built: Path) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], dict[str, int]]:
    """From the generator's truth: records of the SHORT feeds due under a 1-year period (children's
    records not before their 25th birthday), the child records that rule keeps, and their feeds'
    quarantined lines due per authority (1 year from their delivery's extract date)."""
    dob = {p["person_id"]: date.fromisoformat(p["dob"]) for p in _csv(built / "truth" / "people.csv")}
    due, kept_as_child = set(), set()
    for r in _csv(built / "truth" / "records.csv"):
        if r["authority"] not in AUTHORITIES or r["feed"] not in SHORT:
            continue
        event = date.fromisoformat(r["event_date"])
        by_period = add_months(event, 12) <= AS_OF
        birth = dob[r["person_id"]]
        child = add_months(birth, 12 * 18) > event
        if by_period and (not child or add_months(birth, 12 * 25) <= AS_OF):
            due.add((r["authority"], r["feed"], r["record_key"]))
        elif by_period:
            kept_as_child.add((r["authority"], r["feed"], r["record_key"]))
    extract = {
        d["delivery_path"]: date.fromisoformat(d["extract_date"])
        for d in _csv(built / "truth" / "deliveries.csv")
    }
    lines: dict[str, int] = {}
    for q in _csv(built / "truth" / "quarantine.csv"):
        _, authority, feed, _folder = q["delivery_path"].split("/")
        if (
            authority in AUTHORITIES
            and feed in SHORT
            and add_months(extract[q["delivery_path"]], 12) <= AS_OF
        ):
            lines[authority] = lines.get(authority, 0) + 1
    return due, kept_as_child, lines


def test_load_policy_defaults_and_errors(tmp_path: Path) -> None:
    policy = load_policy()
    assert {policy.years(f) for f in FEEDS} == {6}
    assert (policy.child_under, policy.child_until_age) == (18, 25)
    bad = tmp_path / "r.yaml"
    bad.write_text("feeds:\n  no_such_feed: 3\n  housing: -1\nchild_under: x\nspare: 1\n", encoding="utf-8")
    with pytest.raises(RetentionConfigError) as err:
        load_policy(bad)
    message = str(err.value)
    # Every error, each with its path, in one message.
    for path in ("feeds.no_such_feed", "feeds.housing", "child_under", "spare"):
        assert f"{path}: " in message, (path, message)


def test_packaged_schedule_is_infra_retention_yaml() -> None:
    """The default is package data (found through importlib.resources, so it exists in the wheel)
    and the same file as the one the docs and operators edit under infra/."""
    infra = Path(__file__).resolve().parents[1] / "infra" / "retention.yaml"
    assert default_schedule() == infra.read_text(encoding="utf-8")


def _files(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def test_retention_dry_run_lists_exactly_what_is_due(
    spark: SparkSession, built: Path, tmp_path: Path
) -> None:
    due, kept_as_child, lines = expected(built)
    assert due and kept_as_child  # both the period and the children's rule are exercised
    lake = built / "lake"
    plan = plan_retention(spark, str(lake), POLICY, as_of=AS_OF)
    assert {(r.authority, r.feed, r.record_key) for r in plan.records.itertuples()} == due
    assert plan.quarantine.groupby("authority").size().to_dict() == lines

    cfg = tmp_path / "retention.yaml"
    cfg.write_text("feeds:\n" + "".join(f"  {f}: 1\n" for f in SHORT), encoding="utf-8")
    files = _files(lake)
    result = CliRunner().invoke(
        app,
        ["retention", "--lake", str(lake), "--as-of", AS_OF.isoformat(), "--dry-run", "--config", str(cfg)],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    # Counts per table and rule, never a key (record keys hold UPNs).
    for (table, rule), n in plan.counts().items():
        assert any(
            table in line and rule in line and line.rstrip(" │").endswith(str(n))
            for line in result.output.splitlines()
        ), (table, rule)
    assert sum(plan.counts().values()) == len(due) + sum(lines.values())
    for _authority, _feed, key in due:
        for part in key.split("|"):
            assert part not in result.output
    assert _files(lake) == files  # the dry run changes nothing at all


def _values(path: Path) -> set[str]:
    """Every string value of the Parquet file ``path``, or of every one under the folder ``path``
    (history and log included)."""
    out: set[str] = set()
    found = [path] if path.is_file() else [Path(d) / n for d, _dirs, names in os.walk(path) for n in names]
    for f in found:
        if f.read_bytes()[:4] == b"PAR1":
            for col in pq.read_table(f).columns:
                out |= {str(v) for v in col.to_pylist() if v is not None}
    return out


def test_retention_destroys_exactly_what_is_due(spark: SparkSession, built: Path, tmp_path: Path) -> None:
    due, _kept, lines = expected(built)
    lake = tmp_path / "lake"
    shutil.copytree(built / "lake", lake)
    lk = Lake(str(lake))
    load = spark.read.format("delta").load

    def keys(path: str) -> list[str]:
        return [r.record_key for r in load(path).select("record_key").collect()]

    before = {
        (layer, a, f): keys(getattr(lk, layer)(a, f))
        for layer in ("bronze", "silver")
        for a in AUTHORITIES
        for f in FEEDS
    }
    xref_before = {(r.authority, r.feed, r.record_key) for r in load(lk.platform("person_xref")).collect()}
    quarantine_before = {a: load(lk.quarantine(a)).count() for a in AUTHORITIES}
    # What a write killed before its commit leaves: a data file of police records, some due, in the
    # folder of a table retention has nothing to take from (no version of it reads the file).
    due_keys = {k for _, _, k in due}
    police = next(
        p
        for a in AUTHORITIES
        for p in sorted(Path(lk.bronze(a, "police_incidents")).glob("*.parquet"))
        if due_keys & _values(p)
    )
    untouched = Path(lk.bronze(AUTHORITIES[0], "health_services"))
    shutil.copyfile(police, untouched / "part-00000-killed-before-its-commit.c000.snappy.parquet")

    settings = Settings(lake_root=str(lake), landing_root=str(lake / "landing"))
    gold = lambda as_of: pipeline.gold(spark, settings, RunContext(as_of=as_of, run_id="r", started_at=NOW))  # noqa: E731
    result = apply_retention(
        spark, str(lake), POLICY, as_of=AS_OF, now=NOW, actor="records-manager", rebuild_gold=gold
    )

    for (layer, a, f), old in before.items():
        gone = {k for auth, feed, k in due if (auth, feed) == (a, f)}
        assert sorted(keys(getattr(lk, layer)(a, f))) == sorted(k for k in old if k not in gone), (
            layer,
            a,
            f,
        )
    xref_after = {(r.authority, r.feed, r.record_key) for r in load(lk.platform("person_xref")).collect()}
    assert xref_after == xref_before - due
    for a in AUTHORITIES:
        assert load(lk.quarantine(a)).count() == quarantine_before[a] - lines.get(a, 0)
    # History too: no data file, checkpoint or log of the feed's tables still holds a due record,
    # nor what the killed write left in another table's folder.
    assert not due_keys & _values(untouched)
    for a in AUTHORITIES:
        for layer in ("bronze", "silver"):
            assert not due_keys & _values(Path(getattr(lk, layer)(a, "police_incidents")))
    nodes = {"|".join(d) for d in due}
    assert not nodes & _values(Path(lk.platform("person_links")))
    assert not due_keys & _values(Path(lk.platform("person_record")))

    audit = read_audit(spark, str(lake))
    assert audit is not None
    row = audit.collect()[0]
    assert (row.action, row.actor, row.at) == ("RETENTION", "records-manager", NOW)
    assert row.table_counts == result.counts
    assert sum(
        n for t, n in result.counts.items() if t.startswith("silver/") and t.split("/")[-1] in SHORT
    ) == len(due)
    assert not due_keys & _values(Path(lk.audit("audit")))  # what was destroyed, never its content
    assert audit.where(F.col("action") == "RETENTION").count() == 1


def test_a_plan_saved_before_steps_were_named_resumes_without_redoing_finished_steps() -> None:
    # A retention killed after its purge, by a version that kept only each step's result, and
    # resumed by this one: gold and the purge are done, and the count of files removed stays.
    legacy = {"run_id": "R", "rewritten": {"bury/police_incidents|record_key": 3}, "gold_as_of": "2025-03-31"}
    assert with_steps({**legacy, "files_removed": 12})["steps"] == {"gold": True, "purge": True}
    assert with_steps(dict(legacy))["steps"] == {"gold": True}
    assert with_steps({"run_id": "R"})["steps"] == {}
    # A plan of this version is left as it is.
    assert with_steps({"run_id": "R", "steps": {"gold": True}})["steps"] == {"gold": True}
