"""notebooks/*.ipynb: valid notebooks, a parameters cell, thin (a few lines calling the package)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import nbformat
import pytest

from accelerator.pipeline import STAGES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
QUESTIONS = ("explore_family", "linkage_diagnostics", "data_quality")
SYNAPSE_GLOBALS = {"spark", "display", "displayHTML"}  # what a Synapse PySpark session defines
MAX_CODE_LINES = 40


def _code(nb: Any) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _params(nb: Any) -> list[Any]:
    return [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]


def test_notebooks_one_per_stage_and_per_question() -> None:
    assert {p.stem for p in NOTEBOOKS} == {*STAGES, *QUESTIONS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_validates_as_nbformat_4_with_the_synapse_kernel(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "synapse_pyspark"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_parameters_cell_is_the_first_code_cell_and_holds_literals_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    params = _params(nb)
    assert len(params) == 1
    assert params[0] is next(c for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(params[0].source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), ast.dump(node)
        names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    assert {"env", "storage_account"} <= set(names)
    # Nothing environment-specific as a default: the pipeline or the engineer sets env and account.
    defaults = {t.id: n.value.value for n in tree.body for t in n.targets}  # type: ignore[attr-defined]
    assert defaults["env"] == "" and defaults["storage_account"] == ""


def _imports(tree: ast.Module) -> dict[str, Any]:
    """Name bound by each ``from accelerator... import x`` → the imported object."""
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            raise AssertionError(f"plain import in a notebook: {ast.dump(node)}")
        if isinstance(node, ast.ImportFrom):
            assert node.module and node.module.split(".")[0] == "accelerator", node.module
            module = importlib.import_module(node.module)
            for alias in node.names:
                try:
                    found[alias.asname or alias.name] = getattr(module, alias.name)
                except AttributeError:  # a submodule: ``from accelerator.synapse import entry``
                    found[alias.asname or alias.name] = importlib.import_module(f"{node.module}.{alias.name}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_no_logic_only_calls_into_the_package(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [s for s in _code(nb) if s not in {c.source for c in _params(nb)}]
    lines = [ln for s in code for ln in s.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(lines) <= MAX_CODE_LINES
    tree = ast.parse("\n".join(code))
    logic = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.Lambda, ast.With, ast.Try)
    assert not [n for n in ast.walk(tree) if isinstance(n, logic)], "logic belongs in lib/accelerator"
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.comprehension)]
    imported = _imports(tree)
    params = {t.id for n in ast.parse(_params(nb)[0].source).body for t in n.targets}  # type: ignore[attr-defined]
    assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets}  # type: ignore[attr-defined]
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert used <= params | assigned | set(imported) | SYNAPSE_GLOBALS, used - params - assigned
    assert set(params) <= used, f"parameters never used: {set(params) - used}"


def _target(call: ast.Call, imported: dict[str, Any]) -> Any:
    f = call.func
    if isinstance(f, ast.Name) and f.id in imported:
        return imported[f.id]
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in imported:
        return getattr(imported[f.value.id], f.attr)
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_calls_bind_to_the_package_signatures(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tree = ast.parse("\n".join(_code(nb)))
    imported = _imports(tree)
    calls = [(c, _target(c, imported)) for c in ast.walk(tree) if isinstance(c, ast.Call)]
    bound = [(c, f) for c, f in calls if f is not None]
    assert bound, "a notebook calls the package"
    for call, func in bound:
        args = [object() for _ in call.args]
        kwargs = {k.arg: object() for k in call.keywords if k.arg}
        inspect.signature(func).bind(*args, **kwargs)  # raises TypeError on a wrong call


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notebook_runs_its_own_stage_through_entry_stage(stage: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{stage}.ipynb", as_version=4)
    tree = ast.parse("\n".join(_code(nb)))
    calls = [
        c
        for c in ast.walk(tree)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "stage"
    ]
    assert len(calls) == 1
    name = calls[0].args[1]
    assert isinstance(name, ast.Constant) and name.value == stage


def test_the_run_report_is_shown_with_display_html_from_the_report_function() -> None:
    # The run report (issue 19) in the notebooks: the HTML of accelerator.report.report_html,
    # shown by Synapse's displayHTML, in the data-quality notebook (per authority) and after gold.
    from accelerator.report import report_html

    for name in ("data_quality", "gold"):
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        tree = ast.parse("\n".join(_code(nb)))
        shown = [
            n.args[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "displayHTML"
        ]
        assert len(shown) == 1, name
        call = shown[0]
        assert isinstance(call, ast.Call) and _target(call, _imports(tree)) is report_html, name
