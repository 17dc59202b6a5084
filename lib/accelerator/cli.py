"""``accelerator``: generate demo deliveries, run the pipeline, and the demo that does both.

This is an edge of the system: it may read the clock (the default ``--as-of`` is today) and the
environment; everything it calls receives those values as parameters.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accelerator.config import RunContext, Settings
from accelerator.governance.cli import app as acl_app

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(acl_app, name="acl", help="Storage ACLs from the custodianship config: plan, apply, drift")
# Wide enough for the gold summary (a dozen columns) when output goes to a file or CI log.
console = Console() if sys.stdout.isatty() else Console(width=140)

AsOf = Annotated[str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default: today)")]


def _as_of(value: str | None) -> date:
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--as-of must be YYYY-MM-DD, not {value!r}") from None


def _jars_dir() -> str:
    return os.environ.get("ACCELERATOR_JARS", str(Path.cwd() / ".jars"))


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


def _run(landing: str, lake: str, as_of: date) -> None:
    from accelerator import pipeline
    from accelerator.spark import get_spark

    settings = Settings(lake_root=_root(lake), landing_root=_root(landing), jars_dir=_jars_dir())
    ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    with console.status("starting Spark"):
        spark = get_spark(jars_dir=settings.jars_dir)
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
    for part in ("landing", "truth", "lake"):  # a demo starts clean; nothing else in DIR is touched
        shutil.rmtree(dir / part, ignore_errors=True)
    generate(out=dir, families=families, seed=seed, as_of=day.isoformat())
    _run(str(dir / "landing"), str(dir / "lake"), day)


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
        spark = get_spark(jars_dir=_jars_dir())
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


@app.command()
def sar(
    lake: Lake,
    out: Annotated[Path, typer.Option("--out", help="Folder for the export (CSV, JSON, summary.md)")],
    person_id: PersonId = None,
    authority: RecAuthority = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    reason: Annotated[str, typer.Option("--reason")] = "subject access request",
    actor: Actor = None,
    no_expand: NoExpand = False,
) -> None:
    """Subject access: export every record the lake holds about a person, from every layer."""
    lake = _root(lake)
    from accelerator.governance.rights import subject_access

    spark = _spark()
    pid = _person(spark, lake, person_id, authority, feed, record_key)
    result = subject_access(
        spark, lake, pid, out, now=_now(), actor=_actor(actor), reason=reason, expand=not no_expand
    )
    table = Table(title=f"Subject access export of {pid} → {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in sorted(result.counts.items()):
        table.add_row(name, str(n))
    console.print(table)
    console.print(f"person ids covered: {', '.join(result.person_ids)}; summary: {out / 'summary.md'}")


@app.command()
def erase(
    lake: Lake,
    reason: Reason,
    person_id: PersonId = None,
    authority: RecAuthority = None,
    feed: RecFeed = None,
    record_key: RecKey = None,
    actor: Actor = None,
    no_expand: NoExpand = False,
) -> None:
    """Erasure: remove a person from every table, layer, old data file and log entry; audited."""
    lake = _root(lake)
    from accelerator.governance.rights import RightsError
    from accelerator.governance.rights import erase as erase_person

    spark = _spark()
    pid = _person(spark, lake, person_id, authority, feed, record_key)
    try:
        with console.status(f"erasing {pid}"):
            result = erase_person(
                spark, lake, pid, reason=reason, actor=_actor(actor), now=_now(), expand=not no_expand
            )
    except RightsError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    table = Table(title=f"Erased {', '.join(result.person_ids)} (audit run {result.run_id})")
    table.add_column("table")
    table.add_column("rows removed", justify="right")
    for name, n in sorted(result.counts.items()):
        table.add_row(name, str(n))
    console.print(table)
    console.print(
        f"{result.files_removed} old data/log files removed, {result.other_files_removed} other files; "
        f"gold rebuilt as of {result.gold_as_of}"
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
    from accelerator.governance.rights import RightsError
    from accelerator.governance.rights import restrict as restrict_person
    from accelerator.governance.rights import unrestrict as unrestrict_person

    lake = _root(lake)
    spark = _spark()
    pid = _person(spark, lake, person_id, authority, feed, record_key)
    fn = restrict_person if restricted else unrestrict_person
    try:
        result = fn(spark, lake, pid, reason=reason, actor=_actor(actor), now=_now())
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what is due; change nothing")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Retention schedule (default infra/retention.yaml)")
    ] = None,
    actor: Actor = None,
) -> None:
    """Retention: destroy every record whose retention period has run out, in every layer."""
    lake = _root(lake)
    from accelerator.governance.retention import apply_retention, load_policy, plan_retention

    day = _as_of(as_of)
    policy = load_policy(config)
    spark = _spark()
    plan = plan_retention(spark, lake, policy, as_of=day)
    table = Table(title=f"Retention due on {day}" + (" (dry run)" if dry_run else ""))
    table.add_column("authority/feed")
    table.add_column("due", justify="right")
    for name, n in sorted(plan.counts().items()):
        table.add_row(name, str(n))
    console.print(table)
    if dry_run:
        for r in plan.records.sort_values(["authority", "feed", "record_key"]).itertuples(index=False):
            line = f"{r.authority}/{r.feed} {r.record_key} (due {r.due_date}: {r.rule})"
            console.print(line, markup=False, soft_wrap=True)
        for r in plan.quarantine.itertuples(index=False):
            line = f"{r.authority}/_quarantine {r.delivery_id} line {r.line_number}"
            console.print(line, markup=False, soft_wrap=True)
        return
    result = apply_retention(spark, lake, policy, as_of=day, now=_now(), actor=_actor(actor), plan=plan)
    console.print(
        f"destroyed {sum(result.counts.values())} rows in {len(result.counts)} tables, "
        f"{result.files_removed} old files; gold rebuilt as of {result.gold_as_of}; audit run {result.run_id}"
    )


if __name__ == "__main__":
    app()
