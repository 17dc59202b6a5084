"""infra/sql/: serverless SQL views and access per authority, generated from the gold dictionary and the
custodianship config, checked without Spark (the files are parsed as text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import types as T

from accelerator.feeds import AUTHORITIES
from accelerator.gold import dictionary
from accelerator.governance.custodianship import load_custodianship, parse_custodianship
from tools import gold_sql as sql

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "infra" / "sql"
CONFIG = load_custodianship(ROOT / "infra" / "custodianship.yaml")

# What a Delta type of the dictionary must be in serverless SQL, written here independently of
# tools.gold_sql: a new Delta type in the dictionary fails until it is added here.
EXPECTED_SQL = {
    "string": re.compile(r"^varchar\((\d+|max)\) COLLATE Latin1_General_100_BIN2_UTF8$"),
    "date": re.compile(r"^date$"),
    "int": re.compile(r"^int$"),
    "boolean": re.compile(r"^bit$"),
}
VIEW = re.compile(r"^CREATE OR ALTER VIEW gold\.(\w+) AS\n(.*?)\nGO$", re.M | re.S)
WITH_COLUMN = re.compile(r"^    \[(\w+)\]\s+(.+?)(,?)\s+-- (.+)$")


def _read(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def _views(authority: str) -> dict[str, str]:
    return dict(VIEW.findall(_read(f"gold_{authority}.views.sql")))


def _with_columns(body: str) -> list[tuple[str, str, str]]:
    block = body.split(") WITH (\n", 1)[1].split("\n) AS r;", 1)[0]
    out = []
    for line in block.splitlines():
        m = WITH_COLUMN.match(line)
        assert m, f"not a typed column: {line!r}"
        out.append((m[1], m[2], m[3]))
    return out


def test_committed_files_equal_the_generated_ones() -> None:
    expected = sql.render_all(CONFIG)
    on_disk = {p.name for p in SQL_DIR.iterdir()}
    assert on_disk == set(expected), "run: python -m tools.gold_docs --write"
    for name, text in expected.items():
        assert _read(name) == text, f"infra/sql/{name} is out of date: python -m tools.gold_docs --write"


def test_one_views_and_one_access_script_per_authority() -> None:
    for a in AUTHORITIES:
        assert (SQL_DIR / f"gold_{a}.views.sql").is_file()
        assert (SQL_DIR / f"gold_{a}.access.sql").is_file()


@pytest.mark.parametrize("authority", list(AUTHORITIES))
def test_views_read_only_that_authoritys_gold(authority: str) -> None:
    text = _read(f"gold_{authority}.views.sql")
    views = _views(authority)
    assert set(views) == set(dictionary.TABLES)
    assert f"CREATE DATABASE [gold_{authority}]" in text
    assert f"USE [gold_{authority}];" in text
    for table, body in views.items():
        bulks = re.findall(r"BULK '([^']*)'", body)
        assert bulks == [
            f"https://$(StorageAccount).dfs.core.windows.net/$(LakeContainer)/gold/{authority}/{table}/"
        ]
        assert "FORMAT = 'DELTA'" in body
        assert "DATA_SOURCE" not in body
    # Every storage location in the file is one of those; nothing of another authority is named.
    urls = re.findall(r"https?://[^'\s]+", text)
    assert len(urls) == len(dictionary.TABLES)
    assert all(f"/gold/{authority}/" in u for u in urls)
    for other in AUTHORITIES:
        if other != authority:
            assert not re.search(rf"\b{other}\b", text, re.I), f"{other} appears in {authority}'s views"


@pytest.mark.parametrize("authority", list(AUTHORITIES))
def test_every_dictionary_column_is_typed_consistently(authority: str) -> None:
    views = _views(authority)
    for table, (_, columns) in dictionary.TABLES.items():
        body = views[table]
        typed = _with_columns(body)
        assert [n for n, _, _ in typed] == [n for n, _, _ in columns], table
        assert [c for _, _, c in typed] == [","] * (len(columns) - 1) + [""], "commas between columns"
        for (name, sql_type, _), (_, dtype, _) in zip(typed, columns, strict=True):
            delta = dtype.simpleString()
            assert delta in EXPECTED_SQL, f"{table}.{name}: no expected SQL type for Delta {delta}"
            assert EXPECTED_SQL[delta].match(sql_type), f"{table}.{name}: {delta} is {sql_type}"
            assert f"    r.[{name}]" in body, f"{table}.{name} not selected"
        # Every view has an authority column; where the table lacks one it is this authority.
        names = [n for n, _, _ in columns]
        if "authority" in names:
            assert "r.[authority]" in body
        else:
            assert re.search(rf"CAST\(N'{authority}' AS varchar\(\d+\)\) COLLATE \w+ AS \[authority\]", body)


def test_nothing_environment_specific_and_no_credential() -> None:
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert set(re.findall(r"\$\((\w+)\)", text)) <= {"StorageAccount", "LakeContainer"}, path.name
        assert ":setvar" not in text.lower(), f"{path.name} hard-codes a sqlcmd variable"
        assert "abfss://" not in text
        assert not re.search(r"dfs\.core\.windows\.net/(?!\$\(LakeContainer\))", text), path.name
        assert not re.search(r"https://(?!\$\(StorageAccount\))", text), path.name
        # No credential: a view must read storage as its caller, never as the workspace identity.
        assert "SCOPED CREDENTIAL" not in text.upper()
        assert "MANAGED IDENTITY" not in text.upper()
        assert "EXTERNAL DATA SOURCE" not in text.upper()
        assert ":on error exit" in text


@dataclass(frozen=True)
class Access:
    users: set[str]
    members: set[str]
    keep: list[str]
    grants: list[str]
    use: list[str]


def _access_facts(text: str) -> Access:
    return Access(
        users=set(re.findall(r"CREATE USER \[([^\]]+)\] FROM EXTERNAL PROVIDER;", text)),
        members=set(re.findall(r"ALTER ROLE \[gold_reader\] ADD MEMBER \[([^\]]+)\];", text)),
        keep=re.findall(r"NOT IN \(([^)]*)\)", text),
        grants=re.findall(r"^\s*GRANT .*$", text, re.M),
        use=re.findall(r"^USE \[(\w+)\];$", text, re.M),
    )


@pytest.mark.parametrize("authority", list(AUTHORITIES))
def test_access_only_for_that_authoritys_custodians_and_analysts(authority: str) -> None:
    text = _read(f"gold_{authority}.access.sql")
    groups = CONFIG.authorities[authority]
    want = {groups.custodians, groups.analysts}
    facts = _access_facts(text)
    assert facts.use == [f"gold_{authority}"]
    assert facts.users == want
    assert facts.members == want
    keep = {f"N'{g}'" for g in want}
    assert [set(k.split(", ")) for k in facts.keep] == [keep, keep]  # role members, then users
    assert facts.grants == ["GRANT SELECT ON SCHEMA::[gold] TO [gold_reader];"]
    assert "db_datareader" not in text and "db_owner" not in text
    others = {
        g
        for a, ag in CONFIG.authorities.items()
        if a != authority
        for g in (ag.custodians, ag.analysts, *ag.uploaders.values())
    }
    others |= {CONFIG.pipeline, CONFIG.engineers, *groups.uploaders.values()}
    for g in others - want:
        assert g not in text, f"{g} appears in {authority}'s access script"


def test_access_follows_the_config() -> None:
    cfg = parse_custodianship(
        {
            "platform": {"pipeline": "mi-x", "engineers": "sg-eng"},
            "authorities": {"bury": {"custodians": "sg-b-dpl", "analysts": "sg-b-bi"}},
        },
        source="test",
    )
    facts = _access_facts(sql.render_access("bury", cfg))
    assert facts.users == facts.members == {"sg-b-dpl", "sg-b-bi"}
    # An authority the config leaves out: nobody is added and everybody is removed.
    wigan = sql.render_access("wigan", cfg)
    facts = _access_facts(wigan)
    assert facts.users == facts.members == set()
    assert facts.keep == ["N''", "N''"]
    assert "nobody" in wigan
    assert "sg-b-dpl" not in wigan


def test_a_principal_given_as_object_id_is_refused() -> None:
    oid = "4d6f1a2b-0000-4000-8000-000000000001"
    cfg = parse_custodianship(
        {
            "platform": {"pipeline": "mi-x", "engineers": "sg-eng"},
            "authorities": {"bury": {"custodians": oid, "analysts": "sg-b-bi"}},
        },
        source="test",
    )
    with pytest.raises(ValueError, match="display name"):
        sql.render_access("bury", cfg)


def test_unmapped_delta_types_are_refused() -> None:
    assert sql.sql_type(T.StringType()).startswith("varchar(")
    assert sql.sql_type(T.DecimalType(10, 2)) == "decimal(10,2)"
    with pytest.raises(TypeError):
        sql.sql_type(T.MapType(T.StringType(), T.StringType()))
    with pytest.raises(TypeError):
        sql.sql_type(T.TimestampNTZType())
    with pytest.raises(KeyError):
        sql.render_views("london")
