"""The run reports and the review pages, opened in a real browser with the network off.

One copy of the session's ``built_lake`` gets everything a pipeline run writes at its end
(``write_reports``: the run log with stage timings from a given clock, the review pages, the
platform and per-authority reports); reviewers' decisions are then loaded through the CLI from
the review's own ``pairs.csv``, filled in from the generator's truth, and the platform report is
written again through the CLI. Every page is opened in Debian's Chromium (Playwright, the system
browser, one browser for all pages): no request leaves the page, no console error, every chart
drawn, the key figures equal to the lake's tables, a screenshot of each under the test's tmp
folder. The reports are also scanned for every identifier, name and record key of the generated
population.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from accelerator.cli import app
from accelerator.config import RunContext, Settings
from accelerator.io.lake import Lake
from accelerator.report import (
    StageTimer,
    authority_report_path,
    link_threshold,
    platform_report_path,
    write_reports,
)
from accelerator.report.review import review_dir

CHROMIUM = "/usr/bin/chromium"
STAGES = ("bronze", "silver", "people", "families", "gold")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Pages:
    root: Path
    settings: Settings
    run_id: str
    platform: Path
    authorities: dict[str, Path]
    reviews: dict[str, Path]
    labels: dict[str, tuple[int, int]]  # authority -> (reviewed pairs over the threshold, same person)
    truth: Path


def _same_person_truth(truth: Path) -> dict[str, str]:
    with (truth / "records.csv").open(encoding="utf-8") as f:
        return {f"{r['authority']}|{r['feed']}|{r['record_key']}": r["person_id"] for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def pages(built_lake, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Pages:
    root = tmp_path_factory.mktemp("reports")
    settings = built_lake.copy_to(root / "lake")
    ticks = iter(float(t) for t in (0, 12, 30, 41, 47, 60))  # seconds at each stage start, then the end
    timer = StageTimer(lambda: next(ticks))
    for s in STAGES:
        timer.start(s)
    run_id = _latest_run(spark, settings.lake_root)
    ctx = RunContext(as_of=built_lake.as_of, run_id=run_id, started_at=datetime(2026, 12, 1, 6, 0, 0))
    written = write_reports(spark, settings, ctx, timings=timer.finish())
    threshold = link_threshold(spark, settings)
    # Reviewers answer from the generator's truth, through the CLI (as the pipeline runs it).
    truth = _same_person_truth(built_lake.truth)
    runner = CliRunner()
    labels: dict[str, tuple[int, int]] = {}
    for a, rv in written.reviews.items():
        if "pairs.csv" not in rv.files:
            continue
        rows = list(
            csv.DictReader(io.StringIO((Path(review_dir(settings.lake_root, a)) / "pairs.csv").read_text()))
        )
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["unique_id_l", "unique_id_r", "clerical_match_score"])
        over = same = 0
        for r in rows:
            score = int(truth.get(r["unique_id_l"]) == truth.get(r["unique_id_r"]) is not None)
            w.writerow([r["unique_id_l"], r["unique_id_r"], score])
            if float(r["match_weight"]) >= threshold:
                over += 1
                same += score
        labels[a] = (over, same)
        f = root / f"labels_{a}.csv"
        f.write_text(out.getvalue(), encoding="utf-8")
        res = runner.invoke(
            app, ["linkage", "labels", "--lake", settings.lake_root, "--authority", a, "--file", str(f)]
        )
        assert res.exit_code == 0, res.output
        assert f"{len(rows)} decisions loaded for {a}" in res.output
    platform = root / "platform.html"
    res = runner.invoke(
        app, ["report", "--lake", settings.lake_root, "--out", str(platform), "--run", run_id]
    )
    assert res.exit_code == 0, res.output
    assert Path(written.platform).exists()
    reviews = {
        f"{a}_{name}": Path(review_dir(settings.lake_root, a)) / name
        for a, rv in written.reviews.items()
        for name in rv.files
        if name.endswith(".html")
    }
    authorities = {a: Path(p) for a, p in written.authorities.items()}
    return Pages(root, settings, run_id, platform, authorities, reviews, labels, built_lake.truth)


def _latest_run(spark: SparkSession, lake_root: str) -> str:
    log = spark.read.format("delta").load(Lake(lake_root).delivery_log)
    return str(log.agg(F.max("run_id")).first()[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@dataclass
class Opened:
    page: object
    requests: list[str]
    errors: list[str]


def _open(browser, path: Path, shot: Path, *, wait_for: str | None = None) -> Opened:
    """Open ``path`` offline: every request but the page itself is aborted and recorded."""
    url = path.resolve().as_uri()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    if wait_for:
        page.wait_for_function(wait_for, timeout=20_000)
    page.screenshot(path=str(shot), full_page=True)
    return Opened(page, requests, errors)


def _gold_authorities(lake_root: str) -> list[str]:
    return [p.name for p in (Path(lake_root) / "gold").iterdir() if (p / "family" / "_delta_log").is_dir()]


def _figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').first.inner_text()


def _int(text: str) -> int:
    return int(text.replace(",", ""))


# Data marks (Vega's role-mark groups, not axes or legends) inside each chart of a report.
MARKS_JS = """() => [...document.querySelectorAll('figure[data-chart]')].map(f => [f.dataset.chart,
  f.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect, g.role-mark text').length])"""


def _check_report(opened: Opened, charts: set[str]) -> None:
    assert opened.requests == []
    assert opened.errors == []
    drawn = dict(opened.page.evaluate(MARKS_JS))
    assert charts <= set(drawn), f"missing charts {charts - set(drawn)}"
    assert all(n > 0 for n in drawn.values()), drawn


def test_platform_report_offline_every_chart_and_figures_equal_the_lake(
    pages: Pages, browser, spark, tmp_path
):
    o = _open(browser, pages.platform, tmp_path / "platform.png")
    _check_report(
        o,
        {
            "delivery_grid",
            "quarantine",
            "scorecard_trend",
            "match_weight",
            "links_by_rule",
            "cluster_sizes",
            "churn",
            "prevalence",
            "timings",
        },
    )
    page = o.page
    lake = Lake(pages.settings.lake_root)
    log = spark.read.format("delta").load(lake.delivery_log).where(F.col("run_id") == pages.run_id)
    loaded = (
        log.where(F.col("status") == "LOADED").agg(F.sum("rows_loaded"), F.sum("rows_quarantined")).first()
    )
    assert _figure(page, "run_id") == pages.run_id
    assert _int(_figure(page, "deliveries")) == log.count()
    assert _int(_figure(page, "rows_loaded")) == loaded[0]
    assert _int(_figure(page, "rows_quarantined")) == loaded[1]
    for status in ("loaded", "rejected", "duplicate", "pending"):
        assert (
            _int(_figure(page, f"deliveries_{status}"))
            == log.where(F.col("status") == status.upper()).count()
        )
    xref = spark.read.format("delta").load(lake.platform("person_xref"))
    assert _int(_figure(page, "linkage_records")) == xref.count()
    assert _int(_figure(page, "linkage_people")) == xref.select("person_id").distinct().count()
    families = sum(spark.read.format("delta").load(lake.gold(a, "family")).count() for a in pages.authorities)
    eligible = sum(
        spark.read.format("delta").load(lake.gold(a, "family")).where("eligible").count()
        for a in pages.authorities
    )
    assert _int(_figure(page, "gold_families")) == families
    assert _int(_figure(page, "gold_eligible")) == eligible
    assert float(_figure(page, "seconds_total")) == 60.0
    timings = page.locator('table[data-table="timings"] tbody tr').all_inner_texts()
    assert [t.split("\t") for t in timings] == [
        ["bronze", "12"],
        ["silver", "18"],
        ["people", "11"],
        ["families", "6"],
        ["gold", "13"],
    ]
    # Quarantine by reason: the table's rows equal the lake's quarantine of the run.
    q = sum(
        spark.read.format("delta").load(lake.quarantine(a)).where(F.col("run_id") == pages.run_id).count()
        for a in pages.authorities
        if (Path(lake.quarantine(a)) / "_delta_log").is_dir()
    )
    shown = page.locator('table[data-table="quarantine"] tbody tr td:last-child').all_inner_texts()
    assert sum(_int(x) for x in shown) == q and q > 0
    # Precision from the reviewed pairs, against the truth the reviewers answered from.
    over = sum(v[0] for v in pages.labels.values())
    same = sum(v[1] for v in pages.labels.values())
    assert over > 0
    assert _int(_figure(page, "labels_linked")) == over
    assert _int(_figure(page, "labels_correct")) == same
    assert _figure(page, "precision") == f"{same / over:.1%}"


def test_authority_reports_show_their_own_authority_only(pages: Pages, browser, spark, tmp_path):
    lake = Lake(pages.settings.lake_root)
    assert sorted(pages.authorities) == sorted(_gold_authorities(pages.settings.lake_root))
    log = spark.read.format("delta").load(lake.delivery_log).where(F.col("run_id") == pages.run_id)
    delivered = {r[0] for r in log.select("authority").distinct().collect()}
    assert delivered & set(pages.authorities)
    for a, path in pages.authorities.items():
        assert path == Path(authority_report_path(pages.settings.lake_root, a))
        o = _open(browser, path, tmp_path / f"{a}.png")
        page = o.page
        own = log.where(F.col("authority") == a)
        assert _int(_figure(page, "deliveries")) == own.count()
        family = spark.read.format("delta").load(lake.gold(a, "family"))
        assert _int(_figure(page, "gold_families")) == family.count()
        assert page.locator("#linkage").count() == 0
        gold_charts = {"prevalence"} if family.count() else set()
        if a not in delivered:  # no delivery of its own in this run: no grid
            _check_report(o, {"timings", *gold_charts})
            continue
        _check_report(o, {"delivery_grid", "timings", *gold_charts})
        others = [x for x in pages.authorities if x != a]
        grid = page.locator('table[data-table="grid"]').inner_text()
        assert a in grid and not any(x in grid for x in others)


# Splink's dashboards draw with vega-embed on a canvas: count its coloured pixels.
CANVAS_INK_JS = """() => [...document.querySelectorAll('.vega-embed canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) n++;
  return n; })"""


def test_review_pages_are_splink_dashboards_that_render_offline(pages: Pages, browser, tmp_path):
    assert any(k.endswith("comparison_viewer.html") for k in pages.reviews)
    assert any(k.endswith("cluster_studio.html") for k in pages.reviews)
    for name, path in pages.reviews.items():
        o = _open(
            browser,
            path,
            tmp_path / f"{name}.png",
            wait_for="() => document.querySelectorAll('.vega-embed canvas').length > 0",
        )
        o.page.wait_for_timeout(500)  # vega renders on the next animation frame
        assert o.requests == []
        assert o.errors == []
        assert o.page.title() in ("Splink comparison viewer", "Splink cluster studio")
        ink = o.page.evaluate(CANVAS_INK_JS)
        assert ink and all(n > 500 for n in ink), ink


def _population_needles(truth: Path, spark: SparkSession, lake_root: str) -> tuple[set[str], set[str]]:
    """Identifiers and record keys (matched anywhere) and names (matched as words) of the
    generated population, and the platform's person and family ids."""
    ids: set[str] = set()
    names: set[str] = set()
    with (truth / "people.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            ids |= {r[c] for c in ("nhs_number", "upn", "nino") if r[c]}
            names |= {r["forename"], r["surname"]}
    with (truth / "records.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            ids.add(r["record_key"])
            ids |= {
                part
                for part in r["record_key"].split("|")
                if len(part) >= 6 and not re.fullmatch(r"[\d-]+", part)
            }
    lake = Lake(lake_root)
    xref = spark.read.format("delta").load(lake.platform("person_xref")).select("person_id").distinct()
    ids |= {r[0] for r in xref.collect()}
    fam = spark.read.format("delta").load(lake.platform("family_member")).select("family_id").distinct()
    ids |= {r[0] for r in fam.collect()}
    return {i for i in ids if len(i) >= 6}, {n.upper() for n in names if n}


def test_reports_hold_no_identifier_name_or_record_key(pages: Pages, spark):
    ids, names = _population_needles(pages.truth, spark, pages.settings.lake_root)
    assert len(ids) > 100 and len(names) > 50
    reports = [
        pages.platform,
        Path(platform_report_path(pages.settings.lake_root)),
        *pages.authorities.values(),
    ]
    for path in reports:
        text = path.read_text(encoding="utf-8")
        found = sorted(i for i in ids if i in text)
        assert found == [], f"{path}: {found[:5]}"
        body = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)
        words = set(re.findall(r"[A-Za-z'-]+", re.sub(r"<[^>]+>", " ", body).upper()))
        assert sorted(names & words) == [], path


def test_labels_of_another_authority_are_refused(pages: Pages, tmp_path):
    a, b = sorted(pages.authorities)[:2]
    f = tmp_path / "bad.csv"
    f.write_text(f"unique_id_l,unique_id_r,clerical_match_score\n{b}|x|1,{b}|y|2,1\n", encoding="utf-8")
    res = CliRunner().invoke(
        app, ["linkage", "labels", "--lake", pages.settings.lake_root, "--authority", a, "--file", str(f)]
    )
    assert res.exit_code == 2
    assert f"line 2: both records must be held by {a}" in res.output


def test_a_pair_the_model_never_scored_is_refused(pages: Pages, tmp_path):
    a = sorted(pages.authorities)[0]
    f = tmp_path / "unknown.csv"
    f.write_text(f"unique_id_l,unique_id_r,clerical_match_score\n{a}|x|1,{a}|y|2,1\n", encoding="utf-8")
    res = CliRunner().invoke(
        app, ["linkage", "labels", "--lake", pages.settings.lake_root, "--authority", a, "--file", str(f)]
    )
    assert res.exit_code == 2
    assert "1 pair(s) are not scored pairs of person_links" in res.output
