# ledgerbridge: `make run` (demo against the simulators) and `make test` (lint + the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHELL  := bash
.SHELLFLAGS := -o pipefail -c

.DEFAULT_GOAL := all
.PHONY: all install run test pytest lint format bench chaos schema lock env-example target-fields clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ledgerbridge needs Python 3.11+ (set PYTHON=python3.11)")'
	@echo "Creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)

# One line per package fetched, so a first install (a minute or two) shows it is moving; pip's errors still show.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing ledgerbridge and its dependencies into $(VENV) (the first time takes a minute or two)"
	@$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]' \
		| { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } \
		| sed -u -e 's/^Collecting \([^ ]*\).*/  fetching \1/' -e 's/^Successfully installed .*/  installed./'
	@touch $(STAMP)

install: $(STAMP)

## The service in demo mode: Redis (started if none answers), simulators, API and worker. Nothing to configure.
## Its logs go to ledgerbridge-demo.log; `make run LOGS=1` shows them here instead. `make run FRESH=1`: the
## simulators with nothing connected or configured, for the setup wizard.
run: install
	@$(BIN)/ledgerbridge demo $(if $(LOGS),--log-file -,) $(if $(FRESH),--fresh,)

## Lint and type-check, then the whole test suite (tests start a redis-server if none answers).
test: lint pytest

pytest: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks print their figures; they are not tests.
bench: install
	@set -e; found=0; for f in bench/bench_*.py; do \
		[ -e "$$f" ] || continue; found=1; echo "== $$f"; $(BIN)/python "$$f"; done; \
	[ $$found -eq 1 ] || echo "no benchmarks yet"

## The chaos suite's long profile: real processes, kill -9 of workers mid-POST, of Redis, of the API, simulator faults;
## prints the recovery time after each fault and the counts (docs/operations.md). `make test` runs its short profile.
chaos: install
	$(BIN)/python -m tests.chaos --logs chaos-logs

## The hashed lock files the Docker image installs from (needs PyPI): production, demo, and the build backend.
LOCK := $(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"
lock: install
	$(LOCK) pyproject.toml -o requirements/app.txt
	$(LOCK) pyproject.toml --extra demo -o requirements/demo.txt
	$(LOCK) requirements/build.in -o requirements/build.txt

## .env.example from the settings model (a test fails while the two differ).
env-example: install
	$(BIN)/python -m app.envfile > .env.example

## JSON Schema of the mapping format.
schema: install
	$(BIN)/python -c 'import json, mapping; print(json.dumps(mapping.mapping_json_schema(), indent=2))'

## Target field lists (mapping/target_fields.json) from the vendor references (a test fails while they differ).
REFERENCE ?= ../shared/reference
target-fields: install
	$(BIN)/python -m mapping.target_fields $(REFERENCE)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
