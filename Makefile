# The two commands: `make run` (set up and serve the shop) and `make test` (the whole suite).
# The newest supported Python that runs (a pyenv shim can be on PATH and still refuse to run);
# `make run PYTHON=python3.12` chooses one. Looked up only when .venv is created.
PYTHON_CANDIDATES := python3.13 python3.12 python3.11
PYTHON ?= $(firstword $(foreach python,$(PYTHON_CANDIDATES),$(shell $(python) -c '' >/dev/null 2>&1 && echo $(python))))
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# admin/admin and editor/editor for trying the admin (development only: refused without DEBUG).
SEED_ARGS ?= --demo-users

.PHONY: run setup venv test lint format check e2e-deps proxy-deps bench screenshots clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11, 3.12 or 3.13 is required: none of $(PYTHON_CANDIDATES) runs"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

setup: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_shop $(SEED_ARGS)

run: setup  ## set up (venv, migrate, seed) and serve the shop at http://127.0.0.1:8000
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv  ## the whole suite: unit, integration, concurrency (PostgreSQL) and browser tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: venv
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

e2e-deps: node_modules/axe-core/axe.min.js  ## Debian's Chromium and axe-core for the browser tests
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

proxy-deps:  ## Debian's nginx, for the reverse-proxy tests (tests/reliability/test_proxy.py)
	test -x /usr/sbin/nginx || { apt-get update && apt-get install -y nginx; }

# axe-core, pinned in package-lock.json; reinstalled when the lock file changes.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

screenshots: venv e2e-deps  ## refresh docs/screenshots/ (shop page before and after a purchase)
	E2E_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_shopper_journeys.py -p no:cacheprovider \
		-k "test_two_products_bought_and_paid_show_as_paid_in_my_orders or test_phone_shopper_buys_without_sideways_scrolling"

# Benchmarks (bench/README.md): a fresh PostgreSQL database, gunicorn, wrk. A few minutes.
BENCH_ORDERS ?= 100000
BENCH_EVENTS ?= 1000000
BENCH_DURATION ?= 5
BENCH_CONNECTIONS ?= 4
BENCH_CACHE_URL ?=

bench: venv  ## measure the shop under gunicorn against a ceiling; writes bench/results/
	command -v wrk >/dev/null 2>&1 || { apt-get update && apt-get install -y wrk; }
	BENCH_ORDERS=$(BENCH_ORDERS) BENCH_EVENTS=$(BENCH_EVENTS) \
	BENCH_DURATION=$(BENCH_DURATION) BENCH_CONNECTIONS=$(BENCH_CONNECTIONS) \
	BENCH_CACHE_URL=$(BENCH_CACHE_URL) \
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
