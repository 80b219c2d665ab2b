# Quick start: `make run` (serve everything on http://127.0.0.1:8000) and `make test`.
# Both create .venv and install what they need first; nothing else is required.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint format check-deploy clean help

help:
	@echo "make run    - install, migrate, create roles and admin, serve web + worker + beat"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff check, ruff format --check, lint-imports, makemigrations --check"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# MySQL/MariaDB support needs the MariaDB client library to build; without it those sync
# connections are unavailable (and their tests skip outside CI).
HAVE_MARIADB := $(shell pkg-config --exists libmariadb 2>/dev/null && echo yes)
MYSQL_REQUIREMENTS := $(if $(HAVE_MARIADB),-r requirements-mysql.txt,)

$(VENV)/.runtime-installed: requirements.txt requirements-mysql.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt $(MYSQL_REQUIREMENTS)
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt requirements-mysql.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(MYSQL_REQUIREMENTS)
	touch $@ $(VENV)/.runtime-installed

# DEBUG defaults to true here: a local, plain-HTTP server with a development secret key.
# Set DEBUG=false, SECRET_KEY and the rest (see README) for anything else.
run: $(VENV)/.runtime-installed
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py bootstrap
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py serve

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
