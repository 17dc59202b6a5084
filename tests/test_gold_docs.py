"""docs/gold.md is generated from the gold dictionary and rules and never drifts; the generator's
--check notices any drift; docs/power-bi.md names the config's groups per authority."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from accelerator.feeds import AUTHORITIES
from accelerator.gold import dictionary
from accelerator.gold.rules import HEADLINES, RULES
from accelerator.governance.custodianship import load_custodianship
from tools.gold_docs import main, render_gold_md

ROOT = Path(__file__).resolve().parents[1]
GOLD_MD = ROOT / "docs" / "gold.md"
CONFIG = ROOT / "infra" / "custodianship.yaml"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _rows(section: str) -> list[list[str]]:
    """The body rows of the markdown table in ``section``, cells stripped (header and rule skipped)."""
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows[2:]]


def test_committed_gold_md_is_the_rendered_text() -> None:
    assert GOLD_MD.read_text(encoding="utf-8") == render_gold_md(), (
        "docs/gold.md is out of date: python -m tools.gold_docs --write"
    )


def test_every_table_and_column_is_documented_with_type_and_description() -> None:
    sections = _sections(GOLD_MD.read_text(encoding="utf-8"))
    for table, (grain, columns) in dictionary.TABLES.items():
        assert table in sections, f"no section for {table}"
        body = sections[table]
        assert grain in body, f"{table}: grain missing"
        rows = _rows(body)
        assert [r[0] for r in rows] == [f"`{n}`" for n, _, _ in columns], f"{table}: columns differ"
        for row, (name, dtype, text) in zip(rows, columns, strict=True):
            assert row[1] == f"`{dtype.simpleString()}`", f"{table}.{name}: type"
            assert row[2].startswith("`") and row[2] != "``", f"{table}.{name}: SQL type"
            assert row[3] == text.replace("|", "\\|"), f"{table}.{name}: description"


def test_the_rule_table_lists_every_rule() -> None:
    rows = _rows(_sections(GOLD_MD.read_text(encoding="utf-8"))["Headline rules"])
    assert len(rows) == len(RULES)
    by_id = {r[0].strip("`"): r for r in rows}
    assert set(by_id) == {r.rule_id for r in RULES}
    for rule in RULES:
        row = by_id[rule.rule_id]
        assert row[1:] == [
            str(rule.version),
            str(rule.headline),
            f"`{HEADLINES[rule.headline]}`",
            f"`{rule.feed}`",
            rule.description,
        ]
    assert {int(r[2]) for r in rows} == set(HEADLINES), "every headline has a rule"


def test_check_passes_on_the_repository() -> None:
    assert main(["--check", "--root", str(ROOT), "--config", str(CONFIG)]) == 0


def test_check_notices_drift_and_write_repairs_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    shutil.copy(CONFIG, root / "infra" / "custodianship.yaml")
    args = ["--root", str(root)]
    assert main(["--check", *args]) == 1  # nothing generated yet
    assert main(["--write", *args]) == 0
    assert main(["--check", *args]) == 0
    assert (root / "docs" / "gold.md").read_text(encoding="utf-8") == render_gold_md()

    gold_md = root / "docs" / "gold.md"
    gold_md.write_text(gold_md.read_text(encoding="utf-8").replace("`h03_health`", "`h03`"), encoding="utf-8")
    views = root / "infra" / "sql" / "gold_bury.views.sql"
    views.write_text(
        views.read_text(encoding="utf-8").replace("/gold/bury/", "/gold/wigan/"), encoding="utf-8"
    )
    (root / "infra" / "sql" / "gold_london.views.sql").write_text("-- stray\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--check", *args]) == 1
    err = capsys.readouterr().err
    for p in ("docs/gold.md", "infra/sql/gold_bury.views.sql", "infra/sql/gold_london.views.sql"):
        assert p in err

    assert main(["--write", *args]) == 0
    assert not (root / "infra" / "sql" / "gold_london.views.sql").exists()
    assert main(["--check", *args]) == 0


def test_the_config_drives_the_access_script(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    text = CONFIG.read_text(encoding="utf-8").replace("sg-da-bury-analysts", "sg-da-bury-bi-authors")
    (root / "infra" / "custodianship.yaml").write_text(text, encoding="utf-8")
    assert main(["--write", "--root", str(root)]) == 0
    access = (root / "infra" / "sql" / "gold_bury.access.sql").read_text(encoding="utf-8")
    assert "CREATE USER [sg-da-bury-bi-authors] FROM EXTERNAL PROVIDER;" in access
    assert "sg-da-bury-analysts" not in access
    # The committed scripts were made from the committed config, so this one no longer matches.
    assert main(["--check", "--root", str(root), "--config", str(CONFIG)]) == 1


def test_power_bi_roles_use_the_configs_groups() -> None:
    """The role table of docs/power-bi.md: one role per authority, its members that authority's
    custodians and analysts groups (as in infra/custodianship.yaml), filtering on that authority."""
    config = load_custodianship(CONFIG)
    text = (ROOT / "docs" / "power-bi.md").read_text(encoding="utf-8")
    rows = {r[0]: r for r in _rows(text.split("<!-- roles -->", 2)[1])}
    assert set(rows) == {f"`gold_{a}`" for a in AUTHORITIES}
    for a in AUTHORITIES:
        g = config.authorities[a]
        role = rows[f"`gold_{a}`"]
        assert set(re.findall(r"`(sg-[^`]+)`", role[1])) == {g.custodians, g.analysts}
        assert role[2] == f'`[authority] = "{a}"`'
