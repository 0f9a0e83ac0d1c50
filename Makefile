# o365-pipeline: `make demo`, `make test`, `make dev`, `make bench` (CONTRACT.md section 1).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json

.PHONY: install manifest demo test test-deps lint dev docs bench bench-shards clean

install: $(INSTALLED)

# Reinstall only when the pins change: a second run needs no network.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

# The dbt manifest is built explicitly: prepare_if_dev() only acts under `dagster dev`.
manifest: $(INSTALLED)
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

demo: manifest
	$(BIN)/o365-pipeline demo

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Chromium and PostgreSQL for the browser and Postgres tests: installed (apt-get) when missing and root, or
# one line with the command to run.
test-deps:
	@./.ci/test-deps

test: test-deps manifest lint
	$(BIN)/pytest

# Emulator in the background, `dagster dev` on 127.0.0.1:$(DEV_PORT) wired to it, state in $(DEV_HOME). Ctrl-C or
# SIGTERM stops all of it within seconds, runs launched from the UI included (o365_pipeline/dev.py).
DEV_PORT ?= 3000
DEV_HOME ?= .dagster_home
dev: manifest
	mkdir -p data
	$(BIN)/python -m o365_pipeline.dev --port $(DEV_PORT) --home $(DEV_HOME)

# dbt's documentation site, offline: the models built into the DuckDB file of `make demo` (run first when
# missing) so the catalog knows every column, `dbt docs generate`, then the folder to open (or serve it with `dbt docs serve --profiles-dir .` in dbt_project/).
docs: manifest
	test -f data/demo.duckdb || $(MAKE) demo
	cd dbt_project && export O365_DUCKDB_PATH=$$PWD/../data/demo.duckdb && \
	  { ../$(BIN)/dbt run --quiet --profiles-dir . >/dev/null || echo "some models did not build: rerun make demo"; } && \
	  ../$(BIN)/dbt docs generate --quiet --profiles-dir .
	@echo "dbt docs: $$PWD/dbt_project/target/index.html (static site: index.html, manifest.json, catalog.json)"

bench: manifest
	$(BIN)/o365-pipeline bench --scale bench

# Mailbox shards into a throwaway PostgreSQL (initdb/pg_ctl): the bench tenant as 4 shards, 1, 2 and 4 at once.
bench-shards: manifest
	$(BIN)/python -m o365_pipeline.bench.shards --scale bench --rounds 2

clean:
	rm -rf data dbt_project/target .dagster_home
