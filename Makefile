# KopDesk — every target sets up its own virtualenv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: setup demo run test test-sqlite test-postgres bench check lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Run the bot on the built-in Bot API sandbox (no token) and chat with it in the terminal.
demo: $(STAMP)
	$(VENV)/bin/kopdesk demo

## Run the bot against real Telegram: needs BOT_TOKEN in .env or the environment.
run: $(STAMP)
	$(VENV)/bin/kopdesk run

check: $(STAMP)
	$(VENV)/bin/kopdesk check

## The whole test suite on SQLite, then again on PostgreSQL ($(PG_URL)).
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/echo_baseline.py
	$(PY) bench/import_coops.py --scaling
	$(PY) bench/report_flow.py
	$(PY) bench/broadcast.py
	$(PY) bench/mixed_load.py
	test -x .venv-aiogram/bin/python || ($(PYTHON) -m venv .venv-aiogram && \
		.venv-aiogram/bin/pip install --quiet 'aiogram>=3.10,<4')
	$(PY) bench/inbound_burst.py
	$(PY) bench/inbound_inproc.py
	$(PY) bench/reminders.py
	$(PY) bench/exports.py --scaling

lint: $(STAMP)
	$(VENV)/bin/ruff check --select F,E9,B bot handlers storage tests bench

clean:
	rm -rf $(VENV) .venv-aiogram .pytest_cache kopdesk.db kopdesk.db-wal kopdesk.db-shm
