# Two commands do all the set-up on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON := $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export JOULO_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(JOULO_DATA_DIR)/dagster_home
# The venv's tools first: `dagster dev` parses the dbt project with whatever `dbt` is on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install lock test-deps demo test test-fast ui bench clean

install: $(VENV)/.installed

# Every dependency at the version in constraints.txt (the lock): a fresh machine gets what was tested.
# Installed by uv (from PyPI, at the version below), in about half pip's time (README, Testing: the install);
# pip stays in the venv, upgraded, for what runs it (the wheel test, a developer).
UV_VERSION := 0.13.10
UV_INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode
$(VENV)/.installed: pyproject.toml constraints.txt
	scripts/install-python-venv.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(UV_INSTALL) --python $(BIN)/python -c constraints.txt -e '.[test]' pip --upgrade-package pip
	$(BIN)/python -c "from joulo_pipelines.lib.dbt_manifest import ensure_manifest; ensure_manifest(force=True)"
	touch $@

# After a change to the dependencies in pyproject.toml: install it (pip install -e '.[test]' in the venv), run
# the tests, then write the lock from the environment that passed them.
lock:
	$(BIN)/python scripts/lock_constraints.py constraints.txt

demo: install
	$(BIN)/joulo demo

test-deps:
	scripts/install-test-deps.sh

# An OCPI server we did not write (extrawest-ocpi) for tests/test_ocpi_reference_server.py, in its own venv:
# the library pins pydantic 1.x, ours is on 2.
OCPI_REFERENCE_VENV := .venv-ocpi-reference
$(OCPI_REFERENCE_VENV)/.installed: tests/ocpi_reference_server/requirements.txt | $(VENV)/.installed
	scripts/install-python-venv.sh $(PYTHON)
	$(PYTHON) -m venv $(OCPI_REFERENCE_VENV)
	$(UV_INSTALL) --python $(OCPI_REFERENCE_VENV)/bin/python -r $<
	touch $@

# A charge point simulator we did not write (npm ocpp-ws-cli) for tests/test_ocpp_third_party.py. Its
# dependencies need Node 20.12+, Debian 12 has 18: the npm package `node` (pinned in package.json) brings a
# Node of its own into node_modules/.bin, where the tests take it from.
THIRD_PARTY_OCPP := tests/third_party_ocpp
$(THIRD_PARTY_OCPP)/node_modules/.installed: $(THIRD_PARTY_OCPP)/package-lock.json
	npm ci --prefix $(THIRD_PARTY_OCPP) --no-audit --no-fund --loglevel=error
	$(THIRD_PARTY_OCPP)/node_modules/.bin/node --version
	touch $@

# Tiers (README, Testing): `make test` runs all of them and is what CI runs; `make test-fast` is the one to
# run between two changes. Both on every core, a test module per worker.
PYTEST_WORKERS ?= auto
test: install test-deps $(OCPI_REFERENCE_VENV)/.installed $(THIRD_PARTY_OCPP)/node_modules/.installed
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=25

test-fast: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m fast

ui: install
	$(BIN)/python -m joulo_pipelines.lib.dagster_home  # deploy/dagster.yaml: Postgres if DAGSTER_PG_* set, warehouse pool
	$(BIN)/dagster dev -w workspace.yaml

# The national-scale benchmark: BENCH_CP=600000 for the whole country, BENCH_CP=1000 for the fixed cost.
BENCH_CP ?= 100000
bench: install
	$(BIN)/joulo bench --charge-points $(BENCH_CP) --quarter 2026-Q1

# N concurrent OCPP charge points against the gateway: acknowledged msgs/s, p50/p99 ack latency, peak memory.
.PHONY: bench-ocpp
bench-ocpp: install
	$(BIN)/python bench/ocpp_bench.py --connections $(or $(OCPP_CONNECTIONS),2000) --rate $(or $(OCPP_RATE),5000) \
		--seconds $(or $(OCPP_SECONDS),20) $(if $(OCPP_PROXY),--proxy)

clean:
	rm -rf $(VENV) $(OCPI_REFERENCE_VENV) $(THIRD_PARTY_OCPP)/node_modules dbt_project/target dbt_project/logs
