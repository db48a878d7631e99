# Two entry points for a fresh clone: `make up` (set up + run the main job + UI) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup up up-headless test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	cd dbt && ../$(BIN)/dbt parse --quiet --profiles-dir . --target duckdb
	touch $@

setup: $(VENV)/.installed

up: setup  ## generate + materialize the last 90 days, print a summary, start the Dagster UI
	$(BIN)/metrics up $(ARGS)

up-headless: setup  ## the same, exiting after the summary
	$(BIN)/metrics up --headless $(ARGS)

test: setup  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=12 $(ARGS)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf data .dagster_home dbt/target dbt/logs
