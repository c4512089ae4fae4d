PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The PostgreSQL server of the test runs; each run names its own databases after this one's.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clickmeter

.PHONY: run test lint typecheck lock bench-ingest bench-dashboard services browser clickhouse wrk

## Every package at its locked version, checked against its locked hashes (requirements/dev.txt
## holds the runtime's and the tools')
$(STAMP): requirements/base.txt requirements/dev.txt scripts/install-requirements
	PYTHON=$(PYTHON) scripts/install-requirements $(VENV) dev
	touch $(STAMP)

## Compile requirements/*.in (the direct dependencies) into the locked, hashed *.txt; after editing a
## .in, or with LOCK_ARGS=--upgrade to take the newest versions the .in files allow
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements/base.txt requirements/base.in
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements/dev.txt requirements/dev.in

## Serve the embedded default (SQLite, tasks and periodic jobs in-process, demo data) on
## http://127.0.0.1:8000, or HOST and PORT from the environment (see scripts/run.py)
run: $(STAMP)
	$(BIN)/python scripts/run.py

services:
	scripts/services-up

## Debian's Chromium for the beacon's browser tests (Playwright drives it; it downloads no browser)
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Debian's ClickHouse server (release 18.16) for the ClickHouse store's tests, which start their
## own server processes; the current engine comes embedded, from PyPI's chdb (requirements/dev.txt)
clickhouse:
	test -x /usr/sbin/clickhouse-server || (apt-get update -qq && apt-get install -y -qq clickhouse-server)

## The types (typecheck), then the pre-commit hooks (.pre-commit-config.yaml: ruff, ruff-format,
## django-upgrade) on every tracked file: what they would change fails, with the diff (they fix the
## working tree as they would on commit)
lint: $(STAMP) typecheck
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

## mypy with the Django and DRF plugins, as strict as pyproject.toml says; the plugin loads the
## settings, which need a SECRET_KEY
typecheck: $(STAMP)
	SECRET_KEY=typecheck $(BIN)/mypy

## Lint, then the whole suite in parallel (TEST_WORKERS, one per core by default) with coverage and
## its floor, on local PostgreSQL (started if down) in databases of its own and a Redis of its own
## (scripts/test.py), with real workers; TEST_ARGS go to pytest
test: $(STAMP) services browser clickhouse lint
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_WORKERS=$(TEST_WORKERS) $(BIN)/python scripts/test.py $(TEST_ARGS)

## Ingest throughput against the production-shaped stack (see docs/benchmarks.md)
bench-ingest: wrk $(STAMP) services
	$(BIN)/python bench/ingest.py

## The HTTP load generator bench-ingest drives, checked before anything is installed or started
wrk:
	@command -v wrk >/dev/null || { echo "make bench-ingest needs wrk (HTTP load): apt-get install wrk" >&2; exit 1; }

## Report endpoints and the dashboard page over 1,000,000 seeded events (see docs/benchmarks.md)
bench-dashboard: $(STAMP) services
	$(BIN)/python bench/dashboard.py $(BENCH_ARGS)
