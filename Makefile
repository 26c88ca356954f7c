# The README's commands. `make demo` and `make test` each do all the set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PYTHONUNBUFFERED := 1

static:
	$(PY) manage.py collectstatic --noinput -v 0

## devcert: a development C2PA signing certificate (var/c2pa/), unless one is there
devcert: install
	$(PY) manage.py make_dev_certificate

.PHONY: cluster cluster-down cluster-packages devcert static setup services migrate install install-dev browser node-tools demo test lint format serve worker beat bench clean-test-db

## setup: virtualenv, pinned install, services up, database migrated
setup: install services migrate static devcert

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

services:
	@bash scripts/services.sh

migrate: install services
	$(PY) manage.py migrate --noinput

## browser: Debian's Chromium for the console's browser tests
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "[setup] installing Debian's chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "[setup] could not install chromium: browser tests will be skipped"; }

## node-tools: Debian's nodejs and npm, then openapi-typescript and tsc (pinned in
## tests/contract/ts/package-lock.json) into tests/contract/ts/node_modules (ignored)
TS_TOOLS := tests/contract/ts
node-tools:
	@command -v npm >/dev/null 2>&1 || { echo "[setup] installing Debian's nodejs and npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@test -x $(TS_TOOLS)/node_modules/.bin/tsc || npm ci --prefix $(TS_TOOLS) --no-audit --no-fund

## demo: set up, seed a small world, run the end-to-end scenario with a live server and worker
demo: setup
	$(PY) manage.py demo

## test: ruff, then pytest against the real PostgreSQL, Redis and a real Celery worker
test: install-dev services browser node-tools cluster-packages static devcert
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest --create-db

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## serve: one ASGI server (daphne, with the request-size guards of sora_social/serve.py) for HTTP and websockets on one port
serve: setup
	DB_POOL=$${DB_POOL:-1} $(PY) -m sora_social.serve -b $${HOST:-127.0.0.1} -p $${PORT:-8000} sora_social.asgi:application

## worker: a Celery worker for both queues (production: one process per GPU on `gpu`)
worker: setup
	$(VENV)/bin/celery -A sora_social worker -Q gpu,default --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A sora_social beat --loglevel=INFO

## bench: every benchmark, JSON into benchmarks/results/
bench: setup install-dev
	$(PY) -m benchmarks.run_all

## cluster-packages: Debian's nginx, PgBouncer and Ceph (RADOS Gateway), unless installed
cluster-packages:
	@bash deploy/install-packages.sh

## cluster: the production topology on this box (nginx, 2 ASGI servers, PgBouncer, primary +
## streaming replica, Redis, 2 gpu workers, a default worker, beat, Ceph RGW); docs/SCALING.md
cluster: install cluster-packages static devcert
	@bash scripts/cluster.sh up

cluster-down:
	@bash scripts/cluster.sh down
