# Two commands for a fresh machine: `make demo` and `make test`. Both run `setup` first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
JARS   := .jars

.PHONY: setup demo test lint types unit clean

setup: $(VENV)/.installed $(JARS)/.fetched

# Editable install with dev extras; re-run only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Delta Lake jars from Maven Central into a git-ignored folder the local Spark session loads.
$(JARS)/.fetched: infra/spark/pom.xml
	mkdir -p $(JARS)
	mvn -q -B -f infra/spark/pom.xml dependency:copy-dependencies \
	    -DincludeScope=runtime -DincludeArtifactIds=delta-spark_2.12,delta-storage \
	    -DoutputDirectory=$(abspath $(JARS))
	touch $@

demo: setup
	$(BIN)/accelerator demo --dir demo

lint: setup
	$(BIN)/ruff check lib tests jobs benchmarks
	$(BIN)/ruff format --check lib tests jobs benchmarks

types: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q

test: lint types unit

clean:
	rm -rf $(VENV) $(JARS) demo build dist .pytest_cache .mypy_cache .ruff_cache
