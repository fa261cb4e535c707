# Spotify Analytics Pipeline: `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
JARS := .cache/ivy/.fetched
ADAPTER_FILES := $(shell find adapter -name '*.py' -o -name '*.yml' -o -name '*.sql' -o -name 'pyproject.toml')

.PHONY: setup java run test lint lock server-start server-stop server-status clean

setup: $(INSTALLED) $(JARS) ## Create .venv, install pinned dependencies, fetch the Delta jars

java: ## Java 17+ for Spark (installed from Debian's packages when missing and we are root)
	@if java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing a Java 17 runtime (openjdk-17-jre-headless)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	else echo "error: Spark needs Java 17 or newer on PATH; install it (e.g. openjdk-17-jre-headless)" >&2; exit 1; fi

.PHONY: chromium
chromium: ## Headless Chromium for the report's browser tests (Debian's package, when missing and we are root)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium (Debian's chromium package) for the report tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "error: the report tests need Chromium: install Debian's chromium package (as root: make chromium)" >&2; exit 1; fi

$(INSTALLED): requirements.lock pyproject.toml $(ADAPTER_FILES) | java
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 is required (python3.11 on PATH)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (this image, some CI machines) every
	@# dbt and ingest process would otherwise recompile its imports, about 2 s of each dbt start.
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	@# setuptools reuses adapter/build: without removing it, a file deleted from adapter/ would still be installed
	rm -rf adapter/build
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps -e . --reinstall-package dbt-spark-lakehouse ./adapter
	touch $@

$(JARS): $(INSTALLED) spotify_analytics/server/command.py
	$(BIN)/spotify-analytics server fetch-jars
	touch $@

run: setup ## Start the lakehouse server if needed and run the pipeline (demo data without credentials)
	$(BIN)/spotify-analytics pipeline

TEST_WORKERS ?= 2
test: setup chromium ## Run the test suite in TEST_WORKERS processes (each starts and stops its own lakehouse server)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: setup ## ruff and sqlfluff (its dbt templater asks the lakehouse server, which is started when down)
	$(BIN)/ruff check ingest spotify_analytics adapter tests bench python_models superset conftest.py
	$(BIN)/ruff format --check ingest spotify_analytics adapter tests bench superset conftest.py
	$(BIN)/spotify-analytics server start
	$(BIN)/sqlfluff lint models tests/generic macros analyses

lock: ## Re-resolve requirements.lock from the pyproject.toml files (replaced only when resolution succeeds)
	{ echo '# Pinned dependencies of the project and its dbt adapter plugin. Regenerate with: make lock'; \
	  $(BIN)/uv pip compile pyproject.toml adapter/pyproject.toml --extra dev --python-version 3.11 -q --no-header; \
	} > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock || { rm -f requirements.lock.tmp; exit 1; }

.PHONY: superset superset-lock
SUPERSET_PORT ?= 8088
superset: setup ## Superset on http://127.0.0.1:$(SUPERSET_PORT) over this lakehouse (docs/superset.md; settings from .env)
	$(BIN)/spotify-analytics server start
	$(BIN)/spotify-analytics superset install
	@set -a; [ -f .env ] && . ./.env; set +a; \
	export SUPERSET_CONFIG_PATH=$(CURDIR)/superset/superset_config.py SUPERSET_HOME=$${SUPERSET_HOME:-$(CURDIR)/data/superset} \
	  LAKEHOUSE_SECRET_FILE=$${DATA_DIR:-$(CURDIR)/data}/lakehouse/secret LAKEHOUSE_HOST=$${LAKEHOUSE_HOST:-127.0.0.1} \
	  THRIFT_PORT=$${THRIFT_PORT:-10000}; \
	mkdir -p "$$SUPERSET_HOME" && .cache/superset/venv/bin/python superset/provision.py && \
	exec .cache/superset/venv/bin/gunicorn --workers 1 --threads 8 --timeout 300 \
	  --bind 127.0.0.1:$(SUPERSET_PORT) "superset.app:create_app()"

superset-lock: setup ## Re-resolve superset/requirements.lock from superset/requirements.in
	$(BIN)/uv pip compile superset/requirements.in --python-version 3.11 -q --no-header -o superset/requirements.lock

.PHONY: bench
bench: setup ## Benchmarks W1-W4 on a lakehouse of their own (W3 10M plays: make bench BENCH_ARGS=--with-10m)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

server-start: setup
	$(BIN)/spotify-analytics server start
server-stop:
	$(BIN)/spotify-analytics server stop
server-status:
	$(BIN)/spotify-analytics server status

clean: ## Remove the virtualenv, caches and dbt output (keeps data/)
	rm -rf $(VENV) .cache target logs
