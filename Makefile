# Two entry points for a fresh clone: `make up` (set up + run the main job + UI) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup up up-headless test lint clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip

# Every version is the one recorded in constraints.txt (what CI tested), not the newest allowed.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# The manifest Dagster loads the dbt assets from, re-parsed whenever a model, macro or test changed.
DBT_SOURCES := dbt/dbt_project.yml dbt/profiles.yml $(shell find dbt/models dbt/macros dbt/tests -type f 2>/dev/null)
dbt/target/manifest.json: $(DBT_SOURCES) $(VENV)/.installed
	cd dbt && ../$(BIN)/dbt parse --quiet --profiles-dir . --target duckdb
	touch $@

setup: $(VENV)/.installed dbt/target/manifest.json

# The dashboard tests drive Debian's chromium through Playwright (never a browser Playwright downloads).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "the dashboard tests need Debian's chromium at $@: sudo apt-get install -y chromium" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	  || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)

up: setup  ## generate + materialize the last 90 days, print a summary, start the Dagster UI
	$(BIN)/metrics up $(ARGS)

up-headless: setup  ## the same, exiting after the summary
	$(BIN)/metrics up --headless $(ARGS)

test: setup $(CHROMIUM)  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=12 $(ARGS)

lint: setup
	$(BIN)/ruff check .

lock:  ## re-record constraints.txt from a fresh resolve of pyproject.toml (then run make test)
	rm -rf /tmp/metrics-lock && $(PYTHON) -m venv /tmp/metrics-lock
	/tmp/metrics-lock/bin/pip install --quiet --upgrade pip && /tmp/metrics-lock/bin/pip install --quiet -e '.[dev]'
	(echo "# Exact versions CI tested; make setup installs with -c constraints.txt. Regenerate: make lock"; \
	 /tmp/metrics-lock/bin/pip freeze --exclude-editable --all | grep -v -E '^(setuptools|wheel)==') > constraints.txt

clean:
	rm -rf data .dagster_home dbt/target dbt/logs
