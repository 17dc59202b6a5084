"""Synapse serverless SQL over gold: one database per authority, generated, never hand-edited.

For every authority ``<a>`` of feeds.md, two sqlcmd scripts under ``infra/sql/``:

- ``gold_<a>.views.sql`` (from :mod:`accelerator.gold.dictionary`): the database ``gold_<a>``, the
  schema ``gold`` and one view per gold table, ``gold.family``, ``gold.family_member``,
  ``gold.headline_evidence`` and ``gold.child_timeline``, each an ``OPENROWSET(... FORMAT = 'DELTA')``
  over ``gold/<a>/<table>/`` with an explicit ``WITH (...)`` column list in the dictionary's order
  and types, so that Power BI sees typed columns;
- ``gold_<a>.access.sql`` (from ``infra/custodianship.yaml``): database users for that authority's
  custodians and analysts groups, the role ``gold_reader`` with exactly those two members, and
  ``SELECT`` on the schema ``gold`` for the role; any other member or Entra user is removed.

The storage account and the lake container are the sqlcmd variables ``$(StorageAccount)`` and
``$(LakeContainer)``, given by the deploy step (``sqlcmd -v``); nothing environment-specific is in
the files. No view uses a credential: serverless SQL passes the caller's own Entra identity to
storage, so the ADLS ACLs of ``gold/<a>`` (docs/access.md) decide as well as the database role.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import types as T

from accelerator.feeds import AUTHORITIES
from accelerator.gold import dictionary
from accelerator.governance.custodianship import Custodianship, is_object_id

SQL_DIR = "infra/sql"
SCHEMA = "gold"
READER_ROLE = "gold_reader"
COLLATION = "Latin1_General_100_BIN2_UTF8"
"""UTF-8 binary collation: no conversion of Parquet's UTF-8 strings, predicates pushed down."""
STRING_LENGTH = 8000
"""The dictionary gives no lengths; the widest non-max varchar never truncates a gold value."""
VARIABLES = ("StorageAccount", "LakeContainer")
LAKE_URL = "https://$(StorageAccount).dfs.core.windows.net/$(LakeContainer)"
GENERATOR = "python -m tools.gold_docs --write"


def database(authority: str) -> str:
    return f"gold_{authority}"


def views_file(authority: str) -> str:
    return f"{database(authority)}.views.sql"


def access_file(authority: str) -> str:
    return f"{database(authority)}.access.sql"


def gold_url(authority: str, table: str) -> str:
    """The Delta table's root folder (the one holding ``_delta_log``), as serverless reads it."""
    return f"{LAKE_URL}/gold/{authority}/{table}/"


def sql_type(dtype: T.DataType) -> str:
    """The serverless SQL type for a Delta column type of the dictionary."""
    if isinstance(dtype, T.StringType):
        return f"varchar({STRING_LENGTH}) COLLATE {COLLATION}"
    if isinstance(dtype, T.DateType):
        return "date"
    if isinstance(dtype, T.BooleanType):
        return "bit"
    if isinstance(dtype, T.ByteType):
        return "smallint"  # Parquet int8 is signed; tinyint is not
    if isinstance(dtype, T.ShortType):
        return "smallint"
    if isinstance(dtype, T.IntegerType):
        return "int"
    if isinstance(dtype, T.LongType):
        return "bigint"
    if isinstance(dtype, T.DoubleType):
        return "float"
    if isinstance(dtype, T.FloatType):
        return "real"
    if isinstance(dtype, T.DecimalType):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, T.TimestampType):
        return "datetime2(7)"
    raise TypeError(f"no serverless SQL type for Delta type {dtype.simpleString()}")


def _ident(name: str) -> str:
    """A bracket-quoted T-SQL identifier."""
    return "[" + name.replace("]", "]]") + "]"


def _literal(value: str) -> str:
    """An N'...' T-SQL string literal."""
    return "N'" + value.replace("'", "''") + "'"


def _comment(text: str) -> str:
    """A description for a ``--`` comment; sqlcmd would read ``$(`` as a variable."""
    if "$(" in text or "\n" in text:
        raise ValueError(f"description not usable in a sqlcmd script: {text!r}")
    return text


def _header(lines: list[str]) -> list[str]:
    return [f"-- {line}".rstrip() for line in lines]


def _view(authority: str, table: str) -> list[str]:
    grain, columns = dictionary.TABLES[table]
    names = [name for name, _, _ in columns]
    select = [f"    r.{_ident(n)}" for n in names]
    if "authority" not in names:
        # Every view carries the authority, so that a Power BI role can filter each table on its own.
        select.append(
            f"    CAST({_literal(authority)} AS varchar({STRING_LENGTH})) COLLATE {COLLATION} AS [authority]"
        )
    width = max(len(_ident(n)) for n in names)
    with_cols = [
        f"    {_ident(n).ljust(width)} {sql_type(t)}{',' if i < len(columns) - 1 else ' '}"
        f" -- {_comment(text)}"
        for i, (n, t, text) in enumerate(columns)
    ]
    return [
        f"-- {SCHEMA}.{table}: {_comment(grain)}",
        f"CREATE OR ALTER VIEW {SCHEMA}.{table} AS",
        "SELECT",
        ",\n".join(select),
        "FROM OPENROWSET(",
        f"    BULK '{gold_url(authority, table)}',",
        "    FORMAT = 'DELTA'",
        ") WITH (",
        *with_cols,
        ") AS r;",
        "GO",
        "",
    ]


def render_views(authority: str) -> str:
    """``gold_<a>.views.sql``: the database, schema and views of one authority's gold."""
    if authority not in AUTHORITIES:
        raise KeyError(f"unknown authority {authority!r}")
    db = database(authority)
    name = AUTHORITIES[authority][0]
    lines = _header(
        [
            f"Generated by `{GENERATOR}` from lib/accelerator/gold/dictionary.py.",
            "Do not edit: change the dictionary and regenerate.",
            "",
            f"Serverless SQL views over {name}'s gold (gold/{authority}/<table>, Delta). Run as a",
            f"Synapse SQL administrator, before {access_file(authority)}:",
            "  sqlcmd -S <workspace>-ondemand.sql.azuresynapse.net -G -b \\",
            f"    -i infra/sql/{views_file(authority)} \\",
            "    -v StorageAccount=<storage account> LakeContainer=lake",
            "No credential anywhere: each caller's own Entra identity reads storage (passthrough), so the",
            f"ACLs of gold/{authority} apply as well as the database role of {access_file(authority)}.",
        ]
    )
    lines += [
        ":on error exit",
        "",
        "USE master;",
        "GO",
        f"IF DB_ID({_literal(db)}) IS NULL",
        f"    CREATE DATABASE {_ident(db)} COLLATE {COLLATION};",
        "GO",
        f"USE {_ident(db)};",
        "GO",
        f"IF SCHEMA_ID({_literal(SCHEMA)}) IS NULL",
        f"    EXEC({_literal(f'CREATE SCHEMA {SCHEMA}')});",
        "GO",
        "",
    ]
    for table in dictionary.TABLES:
        lines += _view(authority, table)
    return "\n".join(lines)


def render_access(authority: str, config: Custodianship) -> str:
    """``gold_<a>.access.sql``: who may select the authority's views (custodians and analysts)."""
    if authority not in AUTHORITIES:
        raise KeyError(f"unknown authority {authority!r}")
    db = database(authority)
    groups = config.authorities.get(authority)
    members = (groups.custodians, groups.analysts) if groups else ()
    for m in members:
        if is_object_id(m):
            raise ValueError(
                f"{config.source}: authorities.{authority}: {m} is an object id; the SQL access script "
                "needs the group's display name (CREATE USER ... FROM EXTERNAL PROVIDER)"
            )
    who = (
        f"{AUTHORITIES[authority][0]}'s custodians ({members[0]}) and analysts ({members[1]})"
        if members
        else f"nobody: the custodianship config names no groups for {authority}"
    )
    lines = _header(
        [
            f"Generated by `{GENERATOR}` from infra/custodianship.yaml.",
            "Do not edit: change the custodianship config and regenerate.",
            "",
            f"Who may select the views of {db} (after {views_file(authority)}): {who}.",
            f"Database role {READER_ROLE} holds exactly these groups and has SELECT on schema {SCHEMA} only;",
            "any other member of the role and any other Entra user or group of the database is removed,",
            "so applying this twice changes nothing. Storage ACLs still apply: the views read storage as",
            "the caller (no credential), and only these groups have r-x on gold/" + authority + ".",
            "  sqlcmd -S <workspace>-ondemand.sql.azuresynapse.net -G -b \\",
            f"    -i infra/sql/{access_file(authority)}",
        ]
    )
    lines += [":on error exit", "", f"USE {_ident(db)};", "GO"]
    for m in members:
        lines += [
            f"IF DATABASE_PRINCIPAL_ID({_literal(m)}) IS NULL",
            f"    CREATE USER {_ident(m)} FROM EXTERNAL PROVIDER;",
        ]
    keep = ", ".join(_literal(m) for m in members) if members else "N''"
    lines += [
        f"IF DATABASE_PRINCIPAL_ID({_literal(READER_ROLE)}) IS NULL",
        f"    CREATE ROLE {_ident(READER_ROLE)};",
        "GO",
        "",
        "-- Remove what the config does not name: other members of the role, other Entra users and groups.",
        "DECLARE @sql nvarchar(max) = N'';",
        f"SELECT @sql = @sql + N'ALTER ROLE {_ident(READER_ROLE)} DROP MEMBER ' + QUOTENAME(m.name) + N';'",
        "FROM sys.database_role_members AS rm",
        "JOIN sys.database_principals AS r ON r.principal_id = rm.role_principal_id",
        "JOIN sys.database_principals AS m ON m.principal_id = rm.member_principal_id",
        f"WHERE r.name = {_literal(READER_ROLE)} AND m.name NOT IN ({keep});",
        "SELECT @sql = @sql + N'DROP USER ' + QUOTENAME(p.name) + N';'",
        "FROM sys.database_principals AS p",
        f"WHERE p.type IN ('E', 'X') AND p.name NOT IN ({keep});",
        "EXEC sp_executesql @sql;",
        "GO",
        "",
    ]
    lines += [f"ALTER ROLE {_ident(READER_ROLE)} ADD MEMBER {_ident(m)};" for m in members]
    lines += [f"GRANT SELECT ON SCHEMA::{_ident(SCHEMA)} TO {_ident(READER_ROLE)};", "GO", ""]
    return "\n".join(lines)


def render_readme(config: Custodianship) -> str:
    """``infra/sql/README.md``: what the scripts are and how the deploy step runs them."""
    rows = []
    for a in AUTHORITIES:
        g = config.authorities.get(a)
        who = f"`{g.custodians}`, `{g.analysts}`" if g else "nobody (no entry in the config)"
        rows.append(f"| `{database(a)}` | `{views_file(a)}` | `{access_file(a)}` | {who} |")
    tables = ", ".join(f"`{SCHEMA}.{t}`" for t in dictionary.TABLES)
    return "\n".join(
        [
            "# Serverless SQL over gold",
            "",
            f"Generated by `{GENERATOR}` from `lib/accelerator/gold/dictionary.py` and",
            "`infra/custodianship.yaml`; `tests/test_gold_sql.py` fails when these files differ from what",
            "the generator makes. Do not edit them: change the dictionary or the config and regenerate.",
            "",
            f"One serverless database per authority, `gold_<authority>`, each with the views {tables},",
            "reading `gold/<authority>/<table>` (Delta) through `OPENROWSET(... FORMAT = 'DELTA')` with an",
            "explicit, typed `WITH (...)` column list in the dictionary's order. Views of tables without an",
            "`authority` column add it as a constant, so a Power BI role can filter every table on its own",
            "(docs/power-bi.md). Types: Delta `string` is `varchar(8000)` in the UTF-8 binary collation,",
            "`date` is `date`, `int` is `int`, `boolean` is `bit`.",
            "",
            "| database | views | access | may select |",
            "|---|---|---|---|",
            *rows,
            "",
            "## Deploying",
            "",
            "As a member of the Synapse SQL administrator group (`sqlAdminGroupName` in the Bicep), with",
            "[sqlcmd](https://learn.microsoft.com/sql/tools/sqlcmd/sqlcmd-utility) (Synapse Studio does",
            "not run sqlcmd scripts). The storage account is the Bicep output `storageAccountName`, the",
            "container `lake` (docs/access.md); both are sqlcmd variables, so nothing environment-specific",
            "is in the files, and sqlcmd stops if either is missing:",
            "",
            "```sh",
            "for f in infra/sql/gold_*.views.sql infra/sql/gold_*.access.sql; do",
            '  sqlcmd -S "$WORKSPACE-ondemand.sql.azuresynapse.net" -G -b -i "$f" \\',
            '    -v StorageAccount="$STORAGE_ACCOUNT" LakeContainer=lake',
            "done",
            "```",
            "",
            "Run every views script before the access scripts (an access script needs its database).",
            "Re-run the views scripts after any dictionary change and the access scripts after any change",
            "to the custodianship config; both are idempotent.",
            "",
            "## Access",
            "",
            "- No database scoped credential and no external data source with one: serverless SQL reads",
            "  storage as the caller (Entra passthrough). A view is therefore never a way round the ADLS",
            "  ACLs: a user who may select `gold_bury` views but is not in a Bury group on `gold/bury` reads",
            "  nothing, and the workspace's managed identity (the pipeline, which can read every authority)",
            "  is never used for a query.",
            f"- In each database, the role `{READER_ROLE}` has `SELECT` on schema `{SCHEMA}` and nothing",
            "  else; its members are exactly that authority's custodians and analysts groups, created as",
            "  contained users (`CREATE USER [group] FROM EXTERNAL PROVIDER`). A person in neither group",
            "  cannot connect to the database at all.",
            "- The access script removes every other role member and every other Entra user or group of the",
            "  database, so the config stays the only source of who may read.",
            "- Serverless SQL lets any signed-in user run ad-hoc `OPENROWSET`; that too reads storage as the",
            "  user, so the ACLs bound it to the user's own authority's gold.",
            "- The Synapse SQL administrator (the platform engineers group) is `dbo` everywhere but reads",
            "  storage as itself too: engineers have traverse only, so they see view definitions, not data.",
            "",
        ]
    )


def render_all(config: Custodianship) -> Mapping[str, str]:
    """Every file under ``infra/sql/``: name -> text."""
    out: dict[str, str] = {"README.md": render_readme(config)}
    for a in AUTHORITIES:
        out[views_file(a)] = render_views(a)
        out[access_file(a)] = render_access(a, config)
    return out
