# Academy: the two commands a new user runs (`make run`, `make test`) and a few helpers.
# Everything bootstraps a local virtualenv in .venv from pyproject.toml; only Python 3.11+ is needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

# Embedded defaults for a laptop: debug on, SQLite, no Redis. Real deployments set their own.
export DJANGO_DEBUG ?= 1

.PHONY: run test lint bench bootstrap migrate demo worker serve clean

bootstrap: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

migrate: bootstrap
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_schedules

demo: migrate
	$(BIN)/python manage.py seed_demo

## make run: migrate, load demo content, start the task worker and the ASGI server (HTTP + WebSocket).
run: demo
	@echo ""
	@echo "  Academy is starting on http://$(HOST):$(PORT)/"
	@echo "    catalog:   http://$(HOST):$(PORT)/courses/"
	@echo "    dashboard: http://$(HOST):$(PORT)/dashboard/"
	@echo "    admin:     http://$(HOST):$(PORT)/admin/   (user: admin / password: admin)"
	@echo ""
	@$(BIN)/python manage.py run_academy --host $(HOST) --port $(PORT)

lint: bootstrap
	$(BIN)/ruff check .

# Test processes (pytest-xdist, each with its own database, data folder and Redis database:
# tests/worker_isolation.py). The suite mostly waits on servers, sockets and browsers, so more
# workers than cores pays; TEST_WORKERS=0 runs it in one process. `--dist load` hands tests
# out in collection order, which keeps pytest-django's order in every worker (tests in a
# transaction before the transactional ones, which empty the database when they end); work
# stealing does not, and a stolen test then finds no root page.
TEST_WORKERS ?= 4

## make test [TEST_WORKERS=4] [PYTEST_ARGS=...]: lint, migrations drift check, then the whole test suite.
test: bootstrap
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

## make bench [BENCH_ARGS="pages load -- --quick"] [SAVE=1]: the benchmarks (SAVE=1 writes bench/results/<date>.md).
bench: bootstrap $(BENCH_STAMP)
	$(BIN)/python -m bench $(if $(SAVE),--save) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
