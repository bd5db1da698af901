# The two commands: `make run` (set up and serve the shop) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup venv test lint format check e2e-deps bench screenshot clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

setup: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_shop

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

e2e-deps:  ## Debian's Chromium for the browser tests
	command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
