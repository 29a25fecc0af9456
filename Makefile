# MedCover tasks. `make run` on a bare machine; `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PORT ?= 5000
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.req-stamp
DEV_STAMP := $(VENV)/.req-dev-stamp
# Extra arguments for both pytest passes, e.g. make test PYTEST_ARGS="-x -k claims".
PYTEST_ARGS ?=
# No application module grows past this (tests and migrations excepted): split by concept first.
MAX_MODULE_LINES := 400

PGHOST := 127.0.0.1
PGPORT := 5432
REDIS_PORT := 6379
TEST_DB := medcover_test
TEST_DATABASE_URL := postgresql+psycopg://postgres@$(PGHOST):$(PGPORT)/$(TEST_DB)
TEST_REDIS_URL := redis://$(PGHOST):$(REDIS_PORT)/15

# Shell helpers shared by the recipes: is each service answering, and complain-or-fail when not.
define CHECKS
pg_up() { pg_isready -h $(PGHOST) -p $(PGPORT) -q 2>/dev/null; }
redis_up() { redis-cli -h $(PGHOST) -p $(REDIS_PORT) ping 2>/dev/null | grep -q PONG; }
wait_for() { for _ in $$(seq 50); do "$$1" && return 0; sleep 0.2; done; return 1; }
problem() {
    if [ "$${CI:-}" = true ]; then echo "ERROR: $$*" >&2; exit 1; fi
    echo "WARNING: $$*" >&2
}
endef

# Debian packages: install them as root or through sudo, or say what to run. WeasyPrint subsets fonts with
# HarfBuzz's subsetting library when it finds it, with fontTools when not: an invoice PDF takes about a quarter of
# the time with it (README, benchmarks), so `make install` adds it and `make install-test` and `make bench` need it.
define APT
apt_install() {
    if [ "$$(id -u)" -eq 0 ]; then sudo=()
    elif command -v sudo >/dev/null; then sudo=(sudo)
    else
        echo "ERROR: these packages are needed: $$*" >&2
        echo "       run make as root, or install them: apt-get install -y $$*" >&2
        return 1
    fi
    echo "Installing $$* ..."
    "$${sudo[@]}" apt-get update
    "$${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$$@"
}
harfbuzz_subset() { $(BIN)/python -W ignore -c 'import sys; from weasyprint.text.ffi import harfbuzz_subset as hb; sys.exit(hb is None)'; }
endef

.PHONY: help run install install-test services lint test fuzz bench clean

help:
	@echo "make run           start the app on http://127.0.0.1:$(PORT) (SQLite, demo data, jobs inline)"
	echo "make test          lint, then tests on SQLite, then again on PostgreSQL + Redis"
	echo "make lint          ruff check, ruff format --check, lint-imports, module sizes"
	echo "make services      start the local PostgreSQL and Redis and create $(TEST_DB)"
	echo "make install-test  dev requirements, Chromium and poppler for the browser and PDF tests"
	echo "make fuzz          the API contract test (schemathesis) at depth: FUZZ_EXAMPLES per operation"
	echo "make bench         run the benchmarks (bench/)"
	echo "make clean         delete the SQLite databases in instance/"

$(BIN)/python:
	$(if $(PYTHON),,$(error python3.11 or python3 is needed to create $(VENV)))
	$(PYTHON) -m venv $(VENV)

# The stamps make re-runs instant: pip only runs when a requirements file is newer than its stamp.
$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)
	@$(APT)
	harfbuzz_subset && exit 0
	command -v apt-get >/dev/null && apt_install libharfbuzz-subset0 && exit 0
	echo "WARNING: install HarfBuzz's subsetting library (libharfbuzz-subset0): without it PDFs take about four times as long" >&2

run: export MEDCOVER_ENV := development
run: $(RUNTIME_STAMP)
	mkdir -p instance
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty
	exec $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

install-test: $(DEV_STAMP)
	@$(APT)
	packages=()
	[ -x /usr/bin/chromium ] || packages+=(chromium fonts-dejavu-core poppler-utils)
	command -v pdftotext >/dev/null || packages+=(poppler-utils)
	harfbuzz_subset || packages+=(libharfbuzz-subset0)
	[ $${#packages[@]} -eq 0 ] && exit 0
	apt_install $$(printf '%s\n' "$${packages[@]}" | sort -u)

services:
	@$(CHECKS)
	if ! pg_up && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
		version=$$(ls /etc/postgresql | sort -V | tail -n 1)
		echo "Starting PostgreSQL $$version ..."
		pg_ctlcluster --skip-systemctl-redirect "$$version" main start || true
		wait_for pg_up || true
	fi
	if ! redis_up && command -v redis-server >/dev/null; then
		echo "Starting Redis ..."
		if mkdir -p /var/lib/redis /var/log/redis 2>/dev/null; then
			redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $(REDIS_PORT) --save "" --appendonly no \
				--dir /var/lib/redis --logfile /var/log/redis/ci.log || true
			wait_for redis_up || true
		fi
	fi
	if pg_up; then
		psql -h $(PGHOST) -p $(PGPORT) -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='$(TEST_DB)'" | grep -q 1 \
			|| createdb -h $(PGHOST) -p $(PGPORT) -U postgres $(TEST_DB) \
			|| problem "could not create the database $(TEST_DB) as user postgres"
		echo "PostgreSQL: up on $(PGHOST):$(PGPORT), database $(TEST_DB) ready"
	else
		problem "PostgreSQL is not reachable on $(PGHOST):$(PGPORT)"
	fi
	if redis_up; then echo "Redis: up on $(PGHOST):$(REDIS_PORT)"; else problem "Redis is not reachable on $(PGHOST):$(REDIS_PORT)"; fi

# All four checks run even when one fails, so one run shows everything to fix.
lint: $(DEV_STAMP)
	status=0
	$(BIN)/ruff check . || status=1
	$(BIN)/ruff format --check . || status=1
	$(BIN)/lint-imports || status=1
	too_long=$$(for f in $$(find medcover blueprints -name '*.py') wsgi.py config.py; do
		n=$$(wc -l < "$$f"); [ "$$n" -le $(MAX_MODULE_LINES) ] || echo "  $$f: $$n lines"; done)
	if [ -n "$$too_long" ]; then
		echo "Application modules over $(MAX_MODULE_LINES) lines (split them by concept):"; echo "$$too_long"; status=1
	fi
	exit $$status

test: install-test services lint
	@$(CHECKS)
	echo "=== Pass 1: SQLite, jobs inline, browser journeys included"
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL MEDCOVER_ENV=test $(BIN)/pytest -m "not services" $(PYTEST_ARGS)
	if pg_up && redis_up; then
		echo "=== Pass 2: PostgreSQL + Redis (everything but the browser journeys)"
		MEDCOVER_ENV=test TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
			$(BIN)/pytest -m "not e2e and not contract" $(PYTEST_ARGS)
	else
		problem "PostgreSQL or Redis is not reachable: pass 2 is needed in CI"
		echo "!!! Pass 2 (PostgreSQL + Redis) SKIPPED: run 'make services' or start them yourself !!!" >&2
	fi

# The contract test of make test, deeper: many more examples per operation, a longer stateful phase. It fails on
# failures; its warnings (records used up by 60 examples each, edge values meeting state rules) are printed.
FUZZ_EXAMPLES ?= 60
FUZZ_SCENARIOS ?= 300
fuzz: $(DEV_STAMP)
	MEDCOVER_ENV=test SCHEMATHESIS_WARNINGS=report SCHEMATHESIS_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_SCENARIOS=$(FUZZ_SCENARIOS) SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful $(BIN)/pytest -m contract -p no:cacheprovider tests/contract $(PYTEST_ARGS)

bench: $(RUNTIME_STAMP)
	@$(APT)
	packages=()
	command -v wrk >/dev/null || packages+=(wrk)
	harfbuzz_subset || packages+=(libharfbuzz-subset0)
	[ $${#packages[@]} -eq 0 ] || apt_install "$${packages[@]}"
	if [ -f bench/__main__.py ]; then exec $(BIN)/python -m bench; fi
	echo "No benchmarks yet: bench/__main__.py does not exist."

clean:
	rm -f instance/*.db instance/*.db-journal instance/*.db-wal instance/*.db-shm
