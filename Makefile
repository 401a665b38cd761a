# `make run`: the Dagster UI on 127.0.0.1:3000 (embedded demo API unless PARADIGM_BASE_URL is set).
# `make test`: lint and the whole test suite (what CI runs).
# `make worker`: a Celery worker, for REPORTING_EXECUTOR=celery (docs/scale-out.md).
# `make superset`: Apache Superset on 127.0.0.1:8088 (admin / admin) with the BI contract's dashboard loaded, reading
#   the PostgreSQL warehouse as the reader SUPERSET_READER (default superset_reader, granted every company).
# `make bench`: the performance figures of docs/performance.md (about 15 min; writes bench-results.json).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test install instance bench browser worker superset superset-env messages

install: $(VENV)/.installed

# With uv on the PATH (CI puts it there) the environment installs from uv's cache in seconds; pip otherwise. Compiled
# to bytecode, as pip does, and so are our modules: where PYTHONDONTWRITEBYTECODE is set (as on CI) no process writes
# any, and every Dagster process would compile its imports anew.
UV := $(shell command -v uv 2>/dev/null)
$(VENV)/.installed: pyproject.toml
ifdef UV
	test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[test]"
else
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
endif
	$(BIN)/pip check
	$(BIN)/python -m compileall -q reporting_assets reporting_assets_tests scripts
	touch $@

run: install instance
	export PARADIGM_BASE_URL="$${PARADIGM_BASE_URL:-demo}"; \
	if [ "$$PARADIGM_BASE_URL" = demo ]; then \
	  export REPORTING_ORG_DATA="$${REPORTING_ORG_DATA:-$(CURDIR)/reporting_assets/simulator/demo_org.csv}"; fi; \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

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

# After adding or changing a message: the catalogs get it (then translate its empty msgstr; test_i18n.py checks).
messages: install
	$(BIN)/pybabel extract -F reporting_assets/locales/babel.cfg -k NP_:1,2 --no-location --omit-header -o $(VENV)/messages.pot \
		reporting_assets
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date --width 120 -i $(VENV)/messages.pot -d reporting_assets/locales

# Debian's chromium for the browser test (as root); the test skips without it, except under CI.
browser:
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# Apache Superset in a virtual environment of its own (it pins SQLAlchemy < 2), installed once per machine, with an
# empty metadata database (user admin, password admin) that `make superset` and the BI tests copy. The four extra
# packages are what its 6.1.0 wheel needs and does not declare (or declares too loosely).
SUPERSET_VERSION := 6.1.0
SUPERSET_ENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/paradigm-reporting/superset-$(SUPERSET_VERSION)
SUPERSET := SUPERSET_CONFIG_PATH=$(CURDIR)/deploy/superset_config.py $(SUPERSET_ENV)/bin/superset

superset-env: $(SUPERSET_ENV)/template.db

$(SUPERSET_ENV)/template.db:
	test -x $(SUPERSET_ENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_ENV)
	$(SUPERSET_ENV)/bin/pip install --quiet --upgrade pip
	$(SUPERSET_ENV)/bin/pip install --quiet "apache-superset==$(SUPERSET_VERSION)" psycopg2-binary cachetools rich \
		"flask-caching==2.3.1"
	rm -f $@.partial $@.log
	SUPERSET_METADATA_DB=$@.partial $(SUPERSET) db upgrade >>$@.log 2>&1 || { tail -30 $@.log; exit 1; }
	SUPERSET_METADATA_DB=$@.partial $(SUPERSET) fab create-admin --username admin --firstname Paradigm \
		--lastname Reporting --email admin@example.com --password admin >>$@.log 2>&1 || { tail -30 $@.log; exit 1; }
	SUPERSET_METADATA_DB=$@.partial $(SUPERSET) init >>$@.log 2>&1 || { tail -30 $@.log; exit 1; }
	mv $@.partial $@

# The contract published on the warehouse of the environment, its bundle imported, Superset served.
# The contract reader Superset connects as (never the warehouse's owner)
SUPERSET_READER ?= superset_reader
superset: install superset-env
	mkdir -p "$(DAGSTER_HOME)/superset"
	test -f "$(DAGSTER_HOME)/superset/superset.db" || cp $(SUPERSET_ENV)/template.db "$(DAGSTER_HOME)/superset/superset.db"
	PARADIGM_BASE_URL="$${PARADIGM_BASE_URL:-demo}" $(BIN)/python -W ignore -m reporting_assets.bi install
	PARADIGM_BASE_URL="$${PARADIGM_BASE_URL:-demo}" $(BIN)/python -W ignore -m reporting_assets.bi grant $(SUPERSET_READER)
	PARADIGM_BASE_URL="$${PARADIGM_BASE_URL:-demo}" $(BIN)/python -W ignore -m reporting_assets.bi kit superset \
		--role $(SUPERSET_READER) --out "$(DAGSTER_HOME)/superset/paradigm_reporting.zip"
	SUPERSET_METADATA_DB="$(DAGSTER_HOME)/superset/superset.db" $(SUPERSET) import-dashboards \
		-p "$(DAGSTER_HOME)/superset/paradigm_reporting.zip" -u admin
	@echo "Superset: http://127.0.0.1:8088 (user admin, password admin), dashboard \"Paradigm usage\""
	SUPERSET_METADATA_DB="$(DAGSTER_HOME)/superset/superset.db" $(SUPERSET) run -h 127.0.0.1 -p 8088 --with-threads

bench: install
	$(BIN)/python -W ignore -m scripts.bench
