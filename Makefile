# ledgerbridge: `make run` (demo against the simulators) and `make test` (lint + the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := all
.PHONY: all install run test pytest lint format bench schema clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ledgerbridge needs Python 3.11+ (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## The service in demo mode: Redis (started if none answers), simulators, API and worker. Nothing to configure.
run: install
	$(BIN)/ledgerbridge demo

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

## JSON Schema of the mapping format.
schema: install
	$(BIN)/python -c 'import json, mapping; print(json.dumps(mapping.mapping_json_schema(), indent=2))'

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
