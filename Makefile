# doudi — two commands set everything up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint format bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate the embedded SQLite, load the demo once, serve on :8000
run: $(STAMP)
	$(BIN)/doudi migrate --no-input
	$(BIN)/doudi collectstatic --no-input -v0
	$(BIN)/doudi demo --if-empty
	$(BIN)/doudi serve 127.0.0.1:8000

## make test: lint, then the whole suite on SQLite and (when reachable) PostgreSQL
test: $(STAMP) lint test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test-postgres: $(STAMP)
	@if $(BIN)/python tests/pg_available.py; then \
	  DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  DATABASE_REPLICA_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	    $(BIN)/python -m pytest -n 2 -q -m "not browser"; \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL is unreachable on 127.0.0.1:5432 and CI=true: the PostgreSQL run is required."; exit 1; \
	else \
	  echo "PostgreSQL run skipped: no server on 127.0.0.1:5432 (CI requires it)."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## make bench: every benchmark at full scale (needs PostgreSQL on 127.0.0.1:5432; ~10 minutes);
## each prints its figures, --write-docs updates docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/policy_batch.py
	$(BIN)/python bench/api_evaluate.py
	$(BIN)/python bench/synth.py --reset
	$(BIN)/python bench/verification.py
	$(BIN)/python bench/registry_import.py
	$(BIN)/python bench/payroll.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/web_load.py

clean:
	rm -rf $(VENV) var/doudi.sqlite3*
