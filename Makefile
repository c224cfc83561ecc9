# Fresh-machine entry points: `make demo` and `make test` create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov pins packages the project also uses (packaging, pycep-parser) at other versions, so it gets its own
# venv; inside .venv so that it is ignored, excluded from lint and removed by `make clean` like the rest.
TOOLS       := $(VENV)/tools
TOOLS_STAMP := $(TOOLS)/.installed
CHECKOV     := checkov==3.3.30
# `make lock` resolves pyproject.toml with uv (installed into .venv on demand): requirements-dev.txt, every package
# of the dev venv pinned with its hashes, and requirements.txt, the production ones at the same versions, for the
# Functions host's remote build. --universal: one file for every Python the project allows (3.11 here, 3.13 on
# Azure), split by markers where they differ. LOCK_ARGS passes options on: LOCK_ARGS=--upgrade moves every pin to
# the newest release pyproject.toml allows, LOCK_ARGS='--upgrade-package NAME' one of them.
UV          := uv==0.13.9
LOCK_ARGS   ?=
UV_COMPILE  := UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
               --python $(BIN)/python --quiet --custom-compile-command 'make lock'

.PHONY: demo test bench lint typecheck infra-check worker-env worker-check lock clean

# Exactly the locked versions (pip's hash-checking mode also refuses any dependency the lock does not pin), then
# the project itself.
$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(TOOLS_STAMP): Makefile
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check '$(CHECKOV)'
	touch $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/failover demo $(ARGS)

test: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(TOOLS)/bin/python tests/infra/checkov_gate.py infra
	$(BIN)/python -m tests.worker.worker_env
	$(BIN)/pytest

# Benchmarks (figures, not pass/fail; docs/performance.md has the large cases and how long they take).
bench: $(STAMP)
	$(BIN)/python -m bench.storm --copies 2000 --concurrency 64  # issue 21: p99 <= 50 ms
	$(BIN)/failover bench --vms 200 --sessions 2000 --time-scale 60

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Security scan of the Bicep (infra/): no failed check, every skip with its reason in the Bicep.
infra-check: $(TOOLS_STAMP)
	$(TOOLS)/bin/python tests/infra/checkov_gate.py infra

# The venv of the Python 3.13 worker check (.venv/worker-3.13/, reused while requirements.txt is unchanged);
# without Python 3.13 it says how to install it, and fails only on CI or with FAILOVER_REQUIRE_WORKER_CHECK=1.
worker-env: $(STAMP)
	$(BIN)/python -m tests.worker.worker_env

# Load the app as Azure's Python 3.13 worker does (docs/deploy.md, "Python version and the load check").
worker-check: worker-env
	$(BIN)/pytest -p no:xdist -o addopts=-ra tests/test_worker_load.py

# Regenerate the lock files after a change to the dependencies in pyproject.toml (docs/deploy.md, "Dependencies
# and the lock files"); pins that still fit are kept. Then `make` installs the new lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV)'
	$(UV_COMPILE) --extra dev --generate-hashes $(LOCK_ARGS) -o requirements-dev.txt
	$(UV_COMPILE) --constraint requirements-dev.txt --annotation-style line -o requirements.txt

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
