# Two commands for a fresh machine: `make demo` and `make test`. Both run `setup` first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
JARS   := .jars

.PHONY: setup demo test lint types unit clean

setup: $(VENV)/.installed $(JARS)/.fetched acl-tools browser

# POSIX ACL tools (setfacl, getfacl) for the real-user access tests in tests/test_acl_local.py.
.PHONY: acl-tools
acl-tools:
	command -v setfacl >/dev/null || (apt-get update -qq && apt-get install -y -qq acl)

# Debian's Chromium for the report tests (tests/test_report_browser.py drives it with Playwright as
# the system browser: no `playwright install`, no browser download).
.PHONY: browser
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

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
	$(BIN)/ruff check lib tests jobs benchmarks tools
	$(BIN)/ruff format --check lib tests jobs benchmarks tools
	$(BIN)/lint-imports

# The committed generated files (docs/gold.md, infra/sql/, infra/synapse/) from their sources;
# the tests fail when they drift.
.PHONY: generated
generated: setup
	$(BIN)/python -m tools.gold_docs --write
	$(BIN)/python -m tools.synapse_artifacts build

types: setup
	$(BIN)/mypy

# Two test processes on the two cores, each with its own Spark session; tests that share a lake
# built by the whole pipeline run in the same process (tests/conftest.py), so each is built once;
# work is handed out in the order tests/conftest.py collects it (the longest first), not re-sorted.
# The 40 slowest setups, calls and teardowns are listed at the end: where the suite's time goes.
unit: setup
	$(BIN)/pytest -q -n 2 --dist loadgroup --no-loadscope-reorder --durations=40

test: lint types unit checkov

# checkov (PyPI) on infra/ in its own venv: its pinned dependencies would fight pyspark's.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q 'checkov==$(CHECKOV_VERSION)'
	touch $@

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/checkov --directory infra --compact --quiet --skip-download

clean:
	rm -rf $(VENV) .venv-checkov $(JARS) demo build dist .pytest_cache .mypy_cache .ruff_cache
