"""``accelerator``: generate demo deliveries, run the pipeline, and the demo that does both.

This is an edge of the system: it may read the clock (the default ``--as-of`` is today) and the
environment; everything it calls receives those values as parameters.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accelerator.config import RunContext, Settings
from accelerator.dates import parse_as_of
from accelerator.governance.cli import app as acl_app

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from accelerator.governance.erasure import ErasureRequest
    from accelerator.governance.schedule import RetentionPolicy

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(acl_app, name="acl", help="Storage ACLs from the custodianship config: plan, apply, drift")
# Wide enough for the gold summary (a dozen columns) when output goes to a file or CI log.
console = Console() if sys.stdout.isatty() else Console(width=140)

AsOf = Annotated[str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default: today)")]


def _as_of(value: str | None) -> date:
    try:
        return parse_as_of(value, today=datetime.now(UTC).date())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _jars_dir() -> str:
    return os.environ.get("ACCELERATOR_JARS", str(Path.cwd() / ".jars"))


def _linkage_secret() -> str | None:
    """``ACCELERATOR_LINKAGE_SECRET``: the HMAC key of the linkage model's name frequencies (the Key
    Vault secret on Synapse). Unset, a local lake uses the documented development key."""
    return os.environ.get("ACCELERATOR_LINKAGE_SECRET") or None


def _settings(lake: str, landing: str) -> Settings:
    """The settings every command of the CLI runs with: roots, the local jars and the linkage key."""
    return Settings(
        lake_root=lake, landing_root=landing, jars_dir=_jars_dir(), linkage_secret=_linkage_secret()
    )


_JVM_ENVIRONMENT = {
    "ACCELERATOR_DRIVER_MEMORY": "spark.driver.memory",
    "ACCELERATOR_DRIVER_JAVA_OPTIONS": "spark.driver.extraJavaOptions",
}


def _spark_conf() -> dict[str, str]:
    """The local session's JVM, when the environment says so (the tests do: they run several CLI
    processes beside their own sessions on 2 cores and 24 GiB).

    - ``ACCELERATOR_DRIVER_MEMORY`` (e.g. ``2g``): its heap, below the 6g default;
    - ``ACCELERATOR_DRIVER_JAVA_OPTIONS``: its JVM options (e.g. ``-XX:TieredStopAtLevel=1``, which
      spends less CPU compiling in a short run on a small lake)."""
    return {conf: v for env, conf in _JVM_ENVIRONMENT.items() if (v := os.environ.get(env))}


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder for landing/ and truth/")],
    families: Annotated[int, typer.Option("--families", help="Families per authority")] = 300,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_of: AsOf = None,
) -> None:
    """Write synthetic partner deliveries (landing/) and their ground truth (truth/)."""
    from accelerator.synth import generate as synth_generate

    with console.status(f"generating {families} families per authority into {out}"):
        summary = synth_generate(out, families_per_authority=families, seed=seed, as_of=_as_of(as_of))
    console.print(summary)


def _root(location: str) -> str:
    """A URL as given; a local folder made absolute (Delta records a table's location, and a
    relative one resolves differently on the second write)."""
    return location if "://" in location else str(Path(location).resolve())


LEASE_BUSY = 3
"""Exit code of a writing command that found the lake's lease held for longer than it would wait."""


def _writer_lease(lake: str, command: str, *, run_id: str = "", settings: Settings | None = None) -> None:
    """Hold the lake's lease (``accelerator.io.lease``) from now until this command ends: released
    when the CLI's context closes, and by the OS if the process dies. This host, pid and time name
    the holder. ``ACCELERATOR_LEASE_WAIT_SECONDS`` overrides how long to wait for another writer;
    after that, exit 3 naming the holder."""
    import contextlib
    import socket

    from accelerator.io.lease import Holder, LakeBusy, held

    try:  # typer 0.20 and later carry their own click; earlier ones use the click package
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - depends on the typer installed
        from click import get_current_context  # type: ignore[no-redef]

    s = settings or Settings(lake_root=lake, landing_root=lake)
    me = Holder(command=command, host=socket.gethostname(), pid=os.getpid(), since=_now(), run_id=run_id)
    wait = float(os.environ.get("ACCELERATOR_LEASE_WAIT_SECONDS") or s.lease_wait_seconds)

    def waiting(holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "another command"
        line = f"waiting up to {wait:.0f} s for the lake: it is being written by {who}"
        console.print(line, markup=False, soft_wrap=True)

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(
            held(
                lake,
                me,
                wait_seconds=wait,
                duration_seconds=s.lease_duration_seconds,
                clock=time.monotonic,
                sleep=time.sleep,
                on_wait=waiting,
            )
        )
    except LakeBusy as e:
        console.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(LEASE_BUSY) from None
    get_current_context().call_on_close(stack.close)


def _run(landing: str, lake: str, as_of: date, *, lease_held: bool = False) -> None:
    from accelerator import pipeline
    from accelerator.spark import get_spark

    settings = _settings(_root(lake), _root(landing))
    ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    if not lease_held:
        _writer_lease(settings.lake_root, "run", run_id=ctx.run_id, settings=settings)
    with console.status("starting Spark"):
        spark = get_spark(jars_dir=settings.jars_dir, extra_conf=_spark_conf())
        spark.sparkContext.setLogLevel("ERROR")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("bronze: assessing deliveries", total=None)
        result = pipeline.run(
            spark,
            settings,
            ctx,
            on_total=lambda n: progress.update(task, total=n),
            on_outcome=lambda o: progress.update(task, advance=1, description=f"bronze: {o.ref.delivery_id}"),
            on_stage=lambda s: progress.update(task, description=f"{s}: running"),
            clock=time.monotonic,
        )
        progress.update(task, description="done")
    console.print(f"run {ctx.run_id} as of {as_of}")
    console.print(bronze_table(result.bronze))
    people, families = result.people, result.families
    console.print(
        f"silver: {result.silver.changed_tables} tables updated; linkage: {people.records} records → "
        f"{people.people} people ({people.links} links, {people.scored_records} records scored, "
        f"churn {people.churn:.2%}); {families.families} families"
    )
    console.print(gold_table(result.gold))


def gold_table(result: object) -> Table:
    """Per authority: families, eligible families, and families per headline."""
    from accelerator.gold.build import GoldResult
    from accelerator.gold.rules import HEADLINES

    assert isinstance(result, GoldResult)
    table = Table(title="Gold: families by authority")
    table.add_column("authority")
    for col in ("families", "eligible", *[f"h{n:02d}" for n in HEADLINES]):
        table.add_column(col, justify="right")
    for authority in sorted(result.families):
        counts = result.headline_counts[authority]
        table.add_row(
            authority,
            str(result.families[authority]),
            str(result.eligible[authority]),
            *[str(counts[name]) for name in HEADLINES.values()],
        )
    return table


def bronze_table(result: object) -> Table:
    from accelerator.bronze.land import BronzeResult

    assert isinstance(result, BronzeResult)
    table = Table(title="Bronze: deliveries by status")
    for col in ("status", "deliveries", "rows loaded", "rows quarantined"):
        table.add_column(col, justify="right" if col != "status" else "left")
    statuses = result.by_status()
    for status in ("LOADED", "REJECTED", "DUPLICATE", "PENDING"):
        outs = [o for o in result.outcomes if o.status == status]
        table.add_row(
            status,
            str(statuses.get(status, 0)),
            str(sum(o.rows_loaded for o in outs)),
            str(sum(o.rows_quarantined for o in outs)),
        )
        # Each reason code of that status (docs/bronze.md), e.g. REJECTED / MANIFEST_INVALID.
        for code in sorted({o.reason_code for o in outs if o.reason_code}):
            mine = [o for o in outs if o.reason_code == code]
            table.add_row(f"  {code}", str(len(mine)), "", "", style="dim")
    for code, n in result.rows_quarantined_by_reason().items():
        table.add_row(f"  quarantined {code}", "", "", str(n), style="dim")
    table.add_row(
        "total",
        str(len(result.outcomes)),
        str(result.rows_loaded),
        str(result.rows_quarantined),
        style="bold",
    )
    return table


@app.command()
def run(
    landing: Annotated[str, typer.Option("--landing", help="Landing zone: folder or abfss:// URL")],
    lake: Annotated[str, typer.Option("--lake", help="Lake root: folder or abfss:// URL")],
    as_of: AsOf = None,
) -> None:
    """Land every pending delivery, then build the later layers."""
    _run(landing, lake, _as_of(as_of))


@app.command()
def demo(
    dir: Annotated[Path, typer.Option("--dir", help="Demo folder")] = Path("demo"),
    families: Annotated[int, typer.Option("--families", help="Families per authority")] = 300,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_of: AsOf = None,
) -> None:
    """Generate demo deliveries into DIR/landing and run the pipeline into DIR/lake."""
    day = _as_of(as_of)
    lake = dir / "lake"
    # The lake's lease first (a run or erasure on DIR/lake is waited for), then a clean start:
    # everything in the lake but the lease itself, and DIR's landing and truth; nothing else in DIR.
    _writer_lease(_root(str(lake)), "demo")
    _clear_lake(lake)
    for part in ("landing", "truth"):
        shutil.rmtree(dir / part, ignore_errors=True)
    generate(out=dir, families=families, seed=seed, as_of=day.isoformat())
    _run(str(dir / "landing"), str(lake), day, lease_held=True)
    page = _write_report(_root(str(dir / "lake")), dir / "report.html", None, "")
    console.print(
        f"run report: {page.resolve()} (open it in a browser; each authority's is in gold/<a>/_reports)"
    )


def _clear_lake(lake: Path) -> None:
    """Remove everything under a local lake except its lease files (held by this command)."""
    from accelerator.io.lease import HOLDER_FILE, LEASE_FILE, lease_path

    lake = lake.resolve()
    lease = Path(lease_path(str(lake))).parent
    keep = {lease / LEASE_FILE, lease / HOLDER_FILE}
    if not lake.is_dir():
        return
    for path in sorted(lake.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path in keep or (path.is_dir() and any(k.is_relative_to(path) for k in keep)):
            continue
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


# ------------------------------------------------------------------------ run reports and review


def _write_report(lake: str, out: Path, run_id: str | None, authority: str) -> Path:
    from accelerator.report import report_html

    settings = _settings(lake, lake)
    spark = _spark()
    try:
        page = report_html(spark, settings, run_id=run_id, authority=authority)
    except (FileNotFoundError, LookupError, ValueError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


@app.command()
def report(
    lake: Annotated[str, typer.Option("--lake", help="Lake root: folder or abfss:// URL")],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write")],
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: the latest run)")] = None,
    authority: Annotated[str, typer.Option("--authority", help="One authority's own report")] = "",
) -> None:
    """Write a run's report: one self-contained HTML page (counts and charts, no personal data)."""
    page = _write_report(_root(lake), out, run_id, authority)
    console.print(f"run report: {page.resolve()}")


linkage_app = typer.Typer(no_args_is_help=True, help="Linkage: clerical review decisions")
app.add_typer(linkage_app, name="linkage")


@linkage_app.command("labels")
def linkage_labels(
    lake: Annotated[str, typer.Option("--lake", help="Lake root: folder or abfss:// URL")],
    authority: Annotated[str, typer.Option("--authority", help="The authority whose reviewers decided")],
    file: Annotated[
        Path, typer.Option("--file", help="labels CSV: unique_id_l,unique_id_r,clerical_match_score")
    ],
) -> None:
    """Load reviewers' decisions on borderline pairs into silver/<authority>/linkage_labels."""
    from accelerator.report.labels import LabelsError, load_labels

    text = file.read_text(encoding="utf-8-sig")
    run_id = f"labels-{_now():%Y%m%dT%H%M%S}"
    _writer_lease(_root(lake), "linkage labels", run_id=run_id)
    spark = _spark()
    try:
        loaded = load_labels(
            spark, _root(lake), authority.strip().lower(), text, run_id=run_id, source_file=file.name
        )
    except LabelsError as e:
        console.print(str(e), markup=False, style="red")
        raise typer.Exit(2) from None
    console.print(
        f"{loaded.pairs} decisions loaded for {loaded.authority} "
        f"({loaded.same_person} the same person); run {run_id}"
    )


# ------------------------------------------------------------------ people's rights and retention

Lake = Annotated[str, typer.Option("--lake", help="Lake root: folder or abfss:// URL")]
PersonId = Annotated[str | None, typer.Option("--person-id", help="Platform person id (P...)")]
RecAuthority = Annotated[str | None, typer.Option("--authority", help="With --feed and --record-key")]
RecFeed = Annotated[str | None, typer.Option("--feed", help="Feed of the partner record")]
RecKey = Annotated[str | None, typer.Option("--record-key", help="Partner record key (outputs.md)")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit; no names or identifiers)")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who asks (default: the user running this)")]
NoExpand = Annotated[
    bool,
    typer.Option("--no-expand", help="Only this person id, not ids that share an identifier with it"),
]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _actor(actor: str | None) -> str:
    import getpass

    return actor or getpass.getuser()


def _spark() -> SparkSession:
    from accelerator.spark import get_spark

    with console.status("starting Spark"):
        spark = get_spark(jars_dir=_jars_dir(), extra_conf=_spark_conf())
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def _person(
    spark: SparkSession,
    lake: str,
    person_id: str | None,
    authority: str | None,
    feed: str | None,
    record_key: str | None,
) -> str:
    from accelerator.governance.rights import RightsError, resolve_person

    try:
        return resolve_person(
            spark,
            lake,
            person_id=person_id,
            authority=authority,
            feed=feed,
            record_key=record_key,
        )
    except RightsError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


Landing = Annotated[
    str | None,
    typer.Option("--landing", help="Landing zone (default <lake>/landing, as on Azure)"),
]


def _say(message: str) -> None:
    """One progress line (counts and table paths only, never an identifier), flushed at once."""
    console.print(message, markup=False, soft_wrap=True)
    sys.stdout.flush()


def _gold_stage(spark: SparkSession, lake: str, landing: str, now: datetime) -> Callable[[date], object]:
    """How governance rebuilds gold: the pipeline's own gold stage for one as_of."""
    from accelerator import pipeline

    settings = _settings(lake, landing)
    return lambda as_of: pipeline.gold(spark, settings, RunContext.create(as_of=as_of, started_at=now))


def _frequency_keys(value: str) -> list[str]:
    """The keys a linkage model may hold a name's frequency under: the keyed hash models are saved
    with, and the plain SHA-256 of models saved before it (erasure removes both)."""
    import hashlib

    from accelerator.linkage import model

    return [
        model.frequency_key(value, secret=_linkage_secret()),
        hashlib.sha256(value.encode("utf-8")).hexdigest(),
    ]


def _key_or_exit(spark: SparkSession, lake: str) -> None:
    """Refuse (exit 2) to erase under another linkage key than the lake's models were trained under:
    the erased person's names would be looked for under the wrong keys and stay in the models."""
    from accelerator.io import tables
    from accelerator.io.lake import Lake as LakePaths
    from accelerator.linkage import model

    models = tables.read(spark, LakePaths(lake).platform("linkage_models"))
    if models is None or "model_json" not in models.columns:
        return
    try:
        for r in models.select("model_json").collect():
            model.saved_frequency_key(json.loads(r.model_json), _linkage_secret())
    except ValueError:
        console.print(
            "the lake's linkage models were trained under another linkage key than this command has: "
            "set ACCELERATOR_LINKAGE_SECRET to the lake's key (its Key Vault secret) and run again. "
            "Nothing was changed.",
            style="red",
            markup=False,
        )
        raise typer.Exit(2) from None


def _chain_or_exit(spark: SparkSession, lake: str) -> None:
    from accelerator.governance.audit import verify

    state = verify(spark, lake)
    if not state.ok:
        console.print(
            f"the audit chain is broken: {state.problem}. Nothing that appends to the audit runs "
            "until it is restored (accelerator audit verify).",
            style="red",
            markup=False,
        )
        raise typer.Exit(4)


@app.command()
def sar(
    lake: Lake,
    authority: Annotated[
        str, typer.Option("--authority", help="The authority answering (controller of its own data)")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the export (CSV, JSON, summary.md)")],
    person_id: PersonId = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    reason: Annotated[str, typer.Option("--reason")] = "subject access request",
    actor: Actor = None,
    no_expand: NoExpand = False,
) -> None:
    """Subject access: export what AUTHORITY holds about a person; other authorities only named."""
    lake = _root(lake)
    from accelerator.governance.access import subject_access

    spark = _spark()
    _chain_or_exit(spark, lake)
    pid = _person(spark, lake, person_id, authority if person_id is None else None, feed, record_key)
    result = subject_access(
        spark,
        lake,
        pid,
        out,
        authority=authority,
        now=_now(),
        actor=_actor(actor),
        reason=reason,
        expand=not no_expand,
    )
    table = Table(title=f"Subject access export of {pid} held by {authority} → {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in sorted(result.counts.items()):
        table.add_row(name, str(n))
    console.print(table)
    for e in result.elsewhere:
        console.print(f"also held by {e['authority']}: {e['feed']} ({e['records']} records)", markup=False)
    console.print(f"person ids covered: {', '.join(result.person_ids)}; summary: {out / 'summary.md'}")


@app.command()
def erase(
    lake: Lake,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the audit; no names or identifiers)")
    ] = None,
    person_id: PersonId = None,
    authority: RecAuthority = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    requests: Annotated[
        Path | None,
        typer.Option("--requests", help="CSV of many requests: header person_id,reason, one line each"),
    ] = None,
    landing: Landing = None,
    actor: Actor = None,
    no_expand: NoExpand = False,
) -> None:
    """Erasure: remove people from every table, layer, old data file, log entry and landing; audited.

    One person (--person-id or a record key, with --reason) or many (--requests FILE) in one pass.
    Killed part-way, the same command again finishes the job: an unfinished erasure is always
    finished first, and the command stops there when that erasure already covered what it asks."""
    lake = _root(lake)
    _writer_lease(lake, "erase")
    from accelerator.governance import erasure
    from accelerator.governance.rights import RightsError

    landing_root = _root(landing) if landing else None
    spark = _spark()
    _chain_or_exit(spark, lake)
    _key_or_exit(spark, lake)
    now = _now()
    run = functools.partial(
        erasure.erase,
        spark,
        lake,
        actor=_actor(actor),
        now=now,
        landing_root=landing_root,
        expand=not no_expand,
        rebuild_gold=_gold_stage(spark, lake, landing_root or lake + "/landing", now),
        frequency_keys=_frequency_keys,
        on_progress=_say,
    )
    record = (authority, feed, record_key) if authority and feed and record_key else None
    try:
        plan = erasure.pending(spark, lake)
        if plan is not None:
            _say(f"an erasure was not finished ({plan['run_id']}): finishing it first")
            _erased(run(erasure.pending_requests(plan)))
            if _covered(plan, person_id, requests, record):
                return
        _erased(run(_erasure_requests(spark, lake, requests, reason, person_id, authority, feed, record_key)))
    except RightsError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


def _covered(
    plan: dict[str, Any], person_id: str | None, requests: Path | None, record: tuple[str, str, str] | None
) -> bool:
    """Whether the unfinished erasure ``plan`` already covered what the command line asks (asking
    nothing more than to finish it, it did)."""
    from accelerator.governance import erasure

    given = [person_id] if person_id else []
    if requests is not None:
        given = [r.person_id for r in erasure.read_requests(requests.read_text(encoding="utf-8"))]
    if not given and record is None:
        return True
    return all(erasure.covers(plan, p, None) for p in given) and (
        record is None or erasure.covers(plan, None, record)
    )


def _erasure_requests(
    spark: SparkSession,
    lake: str,
    requests: Path | None,
    reason: str | None,
    person_id: str | None,
    authority: str | None,
    feed: str | None,
    record_key: str | None,
) -> list[ErasureRequest]:
    """The requests of the command line: each line of ``--requests``, or the one person (by id or
    partner record) with ``--reason``; every person resolved to their current id."""
    from accelerator.governance import erasure
    from accelerator.governance.rights import RightsError

    if requests is not None:
        asked = erasure.read_requests(requests.read_text(encoding="utf-8"))
        return [
            erasure.ErasureRequest(_person(spark, lake, r.person_id, None, None, None), r.reason)
            for r in asked
        ]
    if not reason:
        raise RightsError("an erasure needs --reason (or --requests FILE)")
    return [erasure.ErasureRequest(_person(spark, lake, person_id, authority, feed, record_key), reason)]


def _erased(result: object) -> None:
    from accelerator.governance.erasure import ErasureResult

    assert isinstance(result, ErasureResult)
    table = Table(title=f"Erased {len(result.person_ids)} person ids (audit run {result.run_id})")
    table.add_column("table")
    table.add_column("rows removed", justify="right")
    for name, n in sorted(result.counts.items()):
        table.add_row(name, str(n))
    console.print(table)
    console.print(
        f"{result.files_removed} old data/log files removed, {result.other_files_removed} other files, "
        f"{result.landing_files} landing deliveries or files; gold rebuilt as of {result.gold_as_of}",
        markup=False,
    )


def _restriction(
    lake: str,
    person_id: str | None,
    authority: str | None,
    feed: str | None,
    record_key: str | None,
    reason: str,
    actor: str | None,
    restricted: bool,
) -> None:
    from accelerator.governance.restriction import restrict as restrict_person
    from accelerator.governance.restriction import unrestrict as unrestrict_person
    from accelerator.governance.rights import RightsError

    lake = _root(lake)
    _writer_lease(lake, "restrict" if restricted else "unrestrict")
    spark = _spark()
    _chain_or_exit(spark, lake)
    pid = _person(spark, lake, person_id, authority, feed, record_key)
    fn = restrict_person if restricted else unrestrict_person
    now = _now()
    try:
        result = fn(
            spark,
            lake,
            pid,
            reason=reason,
            actor=_actor(actor),
            now=now,
            rebuild_gold=_gold_stage(spark, lake, lake + "/landing", now),
        )
    except RightsError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    state = "restricted (hidden from gold)" if restricted else "no longer restricted"
    console.print(f"{pid} {state}; gold rebuilt as of {result.gold_as_of}; audit run {result.run_id}")


@app.command()
def restrict(
    lake: Lake,
    reason: Reason,
    person_id: PersonId = None,
    authority: RecAuthority = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    actor: Actor = None,
) -> None:
    """Restriction: keep the person in bronze and silver, hide them from every gold table."""
    _restriction(lake, person_id, authority, feed, record_key, reason, actor, True)


@app.command()
def unrestrict(
    lake: Lake,
    reason: Reason,
    person_id: PersonId = None,
    authority: RecAuthority = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    actor: Actor = None,
) -> None:
    """Lift a restriction: the person shows in gold again."""
    _restriction(lake, person_id, authority, feed, record_key, reason, actor, False)


@app.command()
def retention(
    lake: Lake,
    as_of: Annotated[str, typer.Option("--as-of", help="Date the schedule is applied on, YYYY-MM-DD")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due; change nothing")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Retention schedule (default: the packaged retention.yaml)"),
    ] = None,
    landing: Landing = None,
    actor: Actor = None,
) -> None:
    """Retention: destroy every record whose retention period has run out, in every layer.

    Killed part-way, the same command again finishes the job."""
    lake = _root(lake)
    from accelerator.governance.retention import apply_retention, pending, plan_retention

    day = _as_of(as_of)
    policy = _retention_policy(config)
    if not dry_run:  # a dry run only reads: it never waits for, nor blocks, a writer
        _writer_lease(lake, "retention")
    spark = _spark()
    saved = None if dry_run else pending(spark, lake)
    plan = None
    if saved is None:
        plan = plan_retention(spark, lake, policy, as_of=day)
        console.print(_due_table(plan.counts(), day, dry_run=dry_run))
        if dry_run:
            return
    else:
        _say(f"a retention run was not finished ({saved['run_id']}): finishing it")
    _chain_or_exit(spark, lake)
    landing_root = _root(landing) if landing else None
    now = _now()
    try:
        result = apply_retention(
            spark,
            lake,
            policy,
            as_of=day,
            now=now,
            actor=_actor(actor),
            plan=plan,
            landing_root=landing_root,
            rebuild_gold=_gold_stage(spark, lake, landing_root or lake + "/landing", now),
            on_progress=_say,
        )
    except RuntimeError as e:
        console.print(str(e), style="red", markup=False)
        raise typer.Exit(2) from None
    console.print(
        f"destroyed {sum(result.counts.values())} rows in {len(result.counts)} tables, "
        f"{result.files_removed} old files, {result.landing_deliveries} landing deliveries; "
        f"gold rebuilt as of {result.gold_as_of}; audit run {result.run_id}",
        markup=False,
    )


def _retention_policy(config: Path | None) -> RetentionPolicy:
    """The retention schedule (``config``, or the packaged one); exit 2 naming every problem."""
    from accelerator.governance.retention import RetentionConfigError, load_policy

    try:
        return load_policy(config)
    except RetentionConfigError as e:
        console.print(str(e), style="red", markup=False)
        raise typer.Exit(2) from None


def _due_table(counts: Mapping[tuple[str, str], int], day: date, *, dry_run: bool) -> Table:
    """Rows due per table and rule."""
    table = Table(title=f"Retention due on {day}" + (" (dry run)" if dry_run else ""))
    for col in ("table", "rule", "rows due"):
        table.add_column(col, justify="right" if col == "rows due" else "left")
    for (name, rule), n in sorted(counts.items()):
        table.add_row(name, rule, str(n))
    return table


audit_app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(audit_app, name="audit", help="The audit table's hash chain: verify")


@audit_app.command("verify")
def audit_verify(lake: Lake) -> None:
    """Check the audit chain: every row's hash, the order, and the anchor beside the table.
    Exit 0 when intact (or never created), 1 when broken."""
    from accelerator.governance.audit import verify

    lake = _root(lake)
    state = verify(_spark(), lake)
    if state.ok:
        console.print(f"audit chain {state.status}: {state.rows} rows", markup=False)
        return
    console.print(f"audit chain broken: {state.problem}", style="red", markup=False)
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
