"""Bronze's columnar path (``bronze/columnar.py``): a plain file lands exactly as the row path lands
it, every other file takes the row path, and a disagreement falls back to it without a trace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from accelerator.bronze import land
from accelerator.bronze.columnar import BLANK, NotPlain, is_plain
from accelerator.bronze.deliveries import LOADED, assess, discover
from accelerator.bronze.land import run_bronze
from accelerator.config import RunContext, Settings
from accelerator.feeds import FEEDS
from accelerator.io.lake import Lake
from accelerator.io.storage import LocalStorage
from accelerator.synth import generate
from landing_kit import POLICE, csv_bytes, police_row, write_delivery

CTX = RunContext.create(as_of=date(2026, 11, 30), started_at=datetime(2026, 12, 1, 6, 0))
STORE = LocalStorage()


def test_blank_is_exactly_what_pythons_strip_removes() -> None:
    """A field of nothing but these characters is null on both paths: Arrow's pattern and
    Python's ``str.strip`` agree on every code point."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]  # no surrogates in UTF-8
    chars = [chr(c) for c in points]
    got = pc.match_substring_regex(pa.array(chars), BLANK).to_pylist()
    differ = [hex(c) for c, g, ch in zip(points, got, chars, strict=True) if g != (ch.strip() == "")]
    assert differ == []
    assert sum(got) == 29  # tab to CR, \x1c-\x1f, space, NEL, NBSP, ... (Python's whitespace)
    many = pa.array(["", " \t\u3000\xa0", " x ", "\u200b"])  # zero width space is not whitespace
    assert pc.match_substring_regex(many, BLANK).to_pylist() == [True, True, False, False]


def _plain_deliveries(landing: Path) -> dict[str, bool]:
    """Deliveries of every shape a plain file can take, and some that are not plain; returns
    whether each should be landed in columns."""
    rows = [
        police_row("GMP-1", "P1", forename="Zoë", surname='O"Brien', address="Flat 2, 10 Bank St"),
        police_row("GMP-2", "P2", forename=" Renée ", surname="Nowak", address='The "Old" Mill, Bury'),
        police_row("GMP-3", "P3", forename="\xa0\u3000", surname="\x1f", offence_group=" ", dob="03/02/2001"),
        police_row("gmp-4", "p4", forename="Chloé", surname="", address="", postcode="bl9 0sw"),
    ]
    plain = {
        "bury/police_incidents/2026-10-01": csv_bytes(POLICE, rows),
        "bury/police_incidents/2026-10-02": csv_bytes(POLICE, rows, newline="\r\n", bom=True),
        "bury/police_incidents/2026-10-03": csv_bytes(POLICE, rows, newline="\r"),
        # a quote inside an unquoted field is a literal character
        "bury/police_incidents/2026-10-05": (
            ",".join(POLICE) + "\n" + ",".join(police_row("GMP-6", "P6", surname='O"Brien')) + "\n"
        ).encode(),
        # no line end after the last record; columns in another order; one feed column missing
        "bury/police_incidents/2026-10-04": csv_bytes(
            list(reversed(POLICE[:-1])), [list(reversed(r[:-1])) for r in rows]
        ).rstrip(b"\n"),
    }
    # Key columns that are dates in any delivered form, or kept in upper case.
    yjs = FEEDS["youth_justice"].column_names
    yjs_rows = [
        {c: "" for c in yjs} | {"yjs_ref": " YJ-1 ", "outcome_date": "2026-10-05T10:00:00"},
        {c: "" for c in yjs} | {"yjs_ref": "YJ-2", "outcome_date": "5/10/2026", "forename": "Siân"},
    ]
    plain["wigan/youth_justice/2026-10-31"] = csv_bytes(yjs, [[r[c] for c in yjs] for r in yjs_rows])
    school = FEEDS["school_census"].column_names
    census = [{c: "x" for c in school} | {"upn": "a123456789012", "census_term": "2026-10-01"}]
    plain["wigan/school_census/2026-10-31"] = csv_bytes(school, [[r[c] for c in school] for r in census])
    not_plain = {
        # a Windows-1252 line; a quoted line break; a blank line; a quarantined row; an extra column
        "bury/police_incidents/2026-10-11": csv_bytes(POLICE, rows[:1])
        + csv_bytes(POLICE, rows[1:2], encoding="cp1252").split(b"\n", 1)[1],
        "bury/police_incidents/2026-10-12": csv_bytes(
            POLICE, [police_row("GMP-5", "P5", address="1 A St\n2 B St")]
        ),
        "bury/police_incidents/2026-10-13": csv_bytes(POLICE, rows).replace(b"\n", b"\n\n", 1),
        "bury/police_incidents/2026-10-14": csv_bytes(POLICE, [*rows, police_row("", "P9")]),
        "bury/police_incidents/2026-10-15": csv_bytes([*POLICE, "note"], [[*r, "hi"] for r in rows]),
    }
    for d, data in {**plain, **not_plain}.items():
        authority, feed, folder = d.split("/")
        name = f"{folder}.csv"
        records = {name: 1} if b"1 A St\n" in data else None  # two lines, one record
        write_delivery(landing, authority, feed, folder, {name: data}, rows=records)
    return {**dict.fromkeys(plain, True), **dict.fromkeys(not_plain, False)}


def _land_both_ways(
    spark: SparkSession, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> tuple[Lake, Lake, list[str]]:
    """Land ``landing`` as bronze does (columnar where plain), then again with every delivery on
    the row path. Returns both lakes and the deliveries landed in columns."""
    columnar: list[str] = []
    real = land.plain_batches

    def counting(storage: Any, out: Any, *args: Any) -> Iterator[pa.RecordBatch]:
        columnar.append(out.ref.delivery_id)
        return real(storage, out, *args)

    by_columns, by_rows = Lake(str(tmp_path / "columns")), Lake(str(tmp_path / "rows"))
    for lake, patch in (
        (by_columns, ("plain_batches", counting)),
        (by_rows, ("plain_delivery", lambda _o: False)),
    ):
        with monkeypatch.context() as m:
            m.setattr(land, *patch)
            settings = Settings(lake_root=lake.root, landing_root=str(landing))
            run_bronze(spark, settings, CTX, STORE, batch_rows=batch_rows)
    return by_columns, by_rows, sorted(set(columnar))


def _assert_same_lake(spark: SparkSession, a: Lake, b: Lake) -> int:
    """Every bronze table, quarantine and the delivery log: the same rows. Returns the rows seen."""
    seen = 0
    tables = sorted(p.relative_to(b.root).parent for p in Path(b.root).glob("bronze/*/*/_delta_log"))
    assert tables, "the row path landed nothing"
    assert tables == sorted(p.relative_to(a.root).parent for p in Path(a.root).glob("bronze/*/*/_delta_log"))
    for t in tables:
        left = spark.read.format("delta").load(f"{a.root}/{t}")
        right = spark.read.format("delta").load(f"{b.root}/{t}")
        assert_df_equality(left, right, ignore_row_order=True)
        seen += right.count()
    return seen


def test_plain_files_land_in_columns_exactly_as_row_by_row(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    want = _plain_deliveries(landing)
    outcomes = {r.delivery_id: assess(STORE, r, set()) for r in discover(STORE, str(landing))}
    assert {d: o.status for d, o in outcomes.items()} == dict.fromkeys(want, LOADED)
    assert {d: all(is_plain(f) for f in o.files) for d, o in outcomes.items()} == want
    by_columns, by_rows, columnar = _land_both_ways(spark, landing, tmp_path, monkeypatch, batch_rows=3)
    assert columnar == sorted(d for d, plain in want.items() if plain)
    assert _assert_same_lake(spark, by_columns, by_rows) > 30
    bronze = spark.read.format("delta").load(by_columns.bronze("bury", "police_incidents"))
    first = bronze.where("_delivery_id = 'bury/police_incidents/2026-10-02' AND _line = 2").first()
    assert (first.forename, first.surname, first.address) == ("Zoë", 'O"Brien', "Flat 2, 10 Bank St")
    third = bronze.where("_delivery_id = 'bury/police_incidents/2026-10-03' AND _line = 4").first()
    assert (third.forename, third.surname, third.offence_group, third.dob) == (None, None, None, "03/02/2001")
    assert (
        bronze.where("_delivery_id = 'bury/police_incidents/2026-10-04'")
        .where("domestic_abuse IS NOT NULL")
        .count()
        == 0
    )
    yjs = spark.read.format("delta").load(by_columns.bronze("wigan", "youth_justice"))
    assert sorted(r.record_key for r in yjs.collect()) == ["YJ-1|2026-10-05", "YJ-2|2026-10-05"]
    census = spark.read.format("delta").load(by_columns.bronze("wigan", "school_census"))
    assert [r.record_key for r in census.collect()] == ["A123456789012|2026-10-01"]


def test_generated_deliveries_land_the_same_either_way(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generator's deliveries of one authority (every feed, feeds.md's messiness): the plain
    ones in columns, the rest by rows, and the same bronze as all by rows."""
    gen = tmp_path / "gen"
    generate(gen, families_per_authority=4, seed=11, as_of=date(2026, 10, 31))
    landing = tmp_path / "landing"
    landing.mkdir()
    (gen / "landing" / "wigan").rename(landing / "wigan")
    by_columns, by_rows, columnar = _land_both_ways(spark, landing, tmp_path, monkeypatch, batch_rows=40)
    deliveries = [r.delivery_id for r in discover(STORE, str(landing))]
    assert 10 <= len(columnar) < len(deliveries)  # both paths taken
    assert _assert_same_lake(spark, by_columns, by_rows) > 100


def test_a_disagreement_part_way_falls_back_to_rows_and_leaves_no_duplicate(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted: Arrow's reading disagrees with the assessment after two batches were written.
    The delivery's rows written so far go, the row path lands it, and it is there exactly once."""
    landing = tmp_path / "landing"
    rows = [police_row(f"GMP-{i}", f"P{i}") for i in range(25)]
    write_delivery(landing, "bury", "police_incidents", "2026-10-31", {"a.csv": csv_bytes(POLICE, rows)})
    write_delivery(landing, "bury", "police_incidents", "2026-11-01", {"b.csv": csv_bytes(POLICE, rows[:3])})
    real = land.plain_batches
    fell_back: list[str] = []

    def disagreeing(storage: Any, out: Any, profile: Any, *args: Any) -> Iterator[pa.RecordBatch]:
        batches = real(storage, out, profile, *args)
        if out.ref.folder == "2026-10-31":
            yield from (next(batches), next(batches))
            fell_back.append(out.ref.delivery_id)
            raise NotPlain("planted")
        yield from batches

    monkeypatch.setattr(land, "plain_batches", disagreeing)
    monkeypatch.setattr("accelerator.bronze.columnar.BLOCK_BYTES", 1024)  # a few rows per block
    lake = Lake(str(tmp_path / "lake"))
    result = run_bronze(
        spark, Settings(lake_root=lake.root, landing_root=str(landing)), CTX, STORE, batch_rows=4
    )
    assert fell_back == ["bury/police_incidents/2026-10-31"]
    assert [(o.status, o.rows_loaded) for o in result.outcomes] == [(LOADED, 25), (LOADED, 3)]
    bronze = spark.read.format("delta").load(lake.bronze("bury", "police_incidents"))
    got = sorted((r._delivery_id[-10:], r._line, r.record_key) for r in bronze.collect())
    want = [("2026-10-31", i + 2, f"GMP-{i}|P{i}") for i in range(25)]
    want += [("2026-11-01", i + 2, f"GMP-{i}|P{i}") for i in range(3)]
    assert got == sorted(want)


def test_a_row_longer_than_arrows_block_falls_back_to_rows(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not planted: Arrow cannot read a record longer than its block, the assessment can. The
    delivery is tried in columns, lands by rows, and its bronze is the row path's."""
    landing = tmp_path / "landing"
    rows = [police_row(f"GMP-{i}", f"P{i}") for i in range(30)]
    rows[20] = police_row("GMP-20", "P20", address="Flat 1, " + "Long Lane " * 300)  # about 3,000 bytes
    write_delivery(landing, "bury", "police_incidents", "2026-10-31", {"a.csv": csv_bytes(POLICE, rows)})
    write_delivery(landing, "bury", "police_incidents", "2026-11-30", {"b.csv": csv_bytes(POLICE, rows[:5])})
    monkeypatch.setattr("accelerator.bronze.columnar.BLOCK_BYTES", 1024)
    landed: list[tuple[str, bool]] = []
    real = land._land_plain

    def spy(storage: Any, o: Any, *args: Any) -> bool:
        done = real(storage, o, *args)
        landed.append((o.ref.folder, done))
        return done

    monkeypatch.setattr(land, "_land_plain", spy)
    by_columns, by_rows, columnar = _land_both_ways(spark, landing, tmp_path, monkeypatch, batch_rows=8)
    assert columnar == ["bury/police_incidents/2026-10-31", "bury/police_incidents/2026-11-30"]
    assert landed == [("2026-10-31", False), ("2026-11-30", True)]  # the first fell back to rows
    assert _assert_same_lake(spark, by_columns, by_rows) == 35 + 2  # the rows, and two log rows
