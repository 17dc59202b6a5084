"""``accelerator``: generate demo deliveries, run the pipeline, and the demo that does both.

This is an edge of the system: it may read the clock (the default ``--as-of`` is today) and the
environment; everything it calls receives those values as parameters.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accelerator.config import RunContext, Settings
from accelerator.governance.cli import app as acl_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(acl_app, name="acl", help="Storage ACLs from the custodianship config: plan, apply, drift")
console = Console()

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


def _run(landing: str, lake: str, as_of: date) -> None:
    from accelerator import pipeline
    from accelerator.spark import get_spark

    settings = Settings(lake_root=lake, landing_root=landing, jars_dir=_jars_dir())
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


if __name__ == "__main__":
    app()
