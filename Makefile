# `make run`: the Dagster UI on 127.0.0.1:3000 (embedded demo API unless PARADIGM_BASE_URL is set).
# `make test`: lint and the whole test suite (what CI runs).
# `make worker`: a Celery worker, for REPORTING_EXECUTOR=celery (docs/scale-out.md).
# `make bench`: the performance figures of docs/performance.md (about 15 min; writes bench-results.json).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test install instance bench browser worker

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip check
	touch $@

run: install instance
	PARADIGM_BASE_URL="$${PARADIGM_BASE_URL:-demo}" $(BIN)/dagster dev -h 127.0.0.1 -p 3000

# A Celery worker for REPORTING_EXECUTOR=celery (same environment as the webserver and daemon; docs/scale-out.md).
# Celery options in WORKER_ARGS, e.g. `make worker WORKER_ARGS="-n worker2@%h --concurrency 4"`.
worker: install
	$(BIN)/python -m reporting_assets.worker $(WORKER_ARGS)

# The instance config in $DAGSTER_HOME: dagster.yaml, plus PostgreSQL storage when DAGSTER_POSTGRES_URL is set.
instance:
	mkdir -p "$(DAGSTER_HOME)" && cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	if [ -n "$${DAGSTER_POSTGRES_URL:-}" ]; then cat deploy/storage-postgres.yaml >> "$(DAGSTER_HOME)/dagster.yaml"; fi

test: install
	$(BIN)/ruff check reporting_assets reporting_assets_tests scripts
	$(BIN)/ruff format --check reporting_assets reporting_assets_tests scripts
	$(BIN)/pytest

# Debian's chromium for the browser test (as root); the test skips without it, except under CI.
browser:
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

bench: install
	$(BIN)/python -W ignore scripts/bench.py
