# The two commands: `make run` (a whole shard on this machine) and `make test`.
#
#   make run     start PostgreSQL (embedded unless DATABASE_URL), daphne (HTTPS), celery workers + beat;
#                writes $KCP_DATA_DIR/admin.kubeconfig once the server answers. Env: KCP_PORT (6443),
#                KCP_DATA_DIR (.kcp), DATABASE_URL, REDIS_URL.
#   make run SHARDS=2  two shards (root, shard-1; own PostgreSQL each), the global database and the
#                front proxy (HAProxy) on KCP_PORT; docs/shards.md (also: shards on separate hosts).
#   make test    the whole suite, e2e included (real kubectl/helm/Python client); PYTEST_ARGS=... to narrow.
#   make lint    ruff, mypy, import-linter.
#   make clients fetch kubectl + helm into .cache/kube-clients and build the Python client's venv.
#   make bench   benchmarks against DESIGN.md's targets (QUICK=1: under 3 minutes); see bench/README.md.
#   make clean   remove caches and install stamps (never the data of `make run`: that is `make clean-data`).
#
# Variables given in the environment or on the command line (make run KCP_PORT=7443) reach the
# recipes' environment as they are; nothing here exports them, so an unset one stays unset.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-requirements
REQUIREMENTS := requirements.txt requirements-dev.txt
# Lint imports the settings (mypy's Django plugin): give it a database URL that is never dialled
# and its own data dir, so linting never starts a database or writes into .kcp.
LINT_ENV := DATABASE_URL=postgres://lint@127.0.0.1:1/lint KCP_SECRET_KEY=lint KCP_DATA_DIR=$(CURDIR)/.cache/lint-data

.PHONY: help venv run test lint clients bench clean clean-data

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

venv: $(STAMP)

# The first of python3.13, python3.12, pyenv's 3.13*/3.12*, python3 that really runs and is >= 3.12
# (pyenv shims exist for versions that are not selected and then fail, hence running each one).
FIND_PYTHON = for c in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 \
  $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
  if command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; \
  then echo "$$c"; exit 0; fi; done; exit 1

# The project itself is installed editable (no dependencies: they are the pinned requirements) for
# the kubectl plugins' console scripts: kubectl-ws, kubectl-create_workspace, kubectl-kcp (pyproject.toml).
$(STAMP): $(REQUIREMENTS) pyproject.toml
	@if [ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then :; else \
	  python=$$($(FIND_PYTHON)) || { \
	    echo "make venv: no Python >= 3.12 found (tried python3.13, python3.12, ~/.pyenv/versions/3.1[23]*, python3)." >&2; \
	    echo "Install one (e.g. apt-get install python3 python3-venv on Debian 13, or pyenv install 3.12) and retry." >&2; \
	    exit 1; }; \
	  echo "make venv: creating $(VENV) with $$python ($$($$python --version))"; \
	  rm -rf $(VENV); "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@rm -rf kcp_django.egg-info  # setuptools' by-product in the work tree; the venv has its own metadata
	@touch $@

run: venv
	$(PY) -m kcpsite.launcher

# Tests get their own data dir (embedded PostgreSQL, secret key, broker) apart from `make run`'s .kcp.
test: venv
	KCP_DATA_DIR="$${KCP_DATA_DIR:-$(CURDIR)/.cache/test-data}" $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(LINT_ENV) $(VENV)/bin/mypy kube kcpsite workspaces apis shards portal kubectl_kcp tools frontproxy
	$(VENV)/bin/lint-imports

clients: venv
	$(PY) -c 'from tests.e2e.clients import kubectl_and_helm, python_client_venv; \
	k, h = kubectl_and_helm(); print("kubectl:", k); print("helm:   ", h); print("python client:", python_client_venv())'

# Benchmark-only dependencies (aiohttp, matplotlib) come from bench/requirements-bench.txt, never from `make venv`.
BENCH_STAMP := $(VENV)/.stamp-bench
$(BENCH_STAMP): bench/requirements-bench.txt $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -r bench/requirements-bench.txt
	@touch $@

# Its own stack in .cache/bench-data (or a fresh database on DATABASE_URL's server) on a free port.
bench: venv $(BENCH_STAMP)
	$(PY) -m bench $(if $(filter 1 true yes,$(QUICK)),--quick) $(BENCH_ARGS)

# Stops the test data dir's embedded PostgreSQL first: deleting files under a running server is never right.
clean:
	@if [ -x $(PY) ] && [ -d .cache/test-data ]; then \
	  $(PY) -W ignore -c 'from pathlib import Path; from kcpsite.embedded import stop_embedded_postgres as s; s(Path(".cache/test-data"))' || true; \
	fi
	rm -rf .cache
	rm -f $(VENV)/.stamp-*

clean-data:
	@if [ -x $(PY) ] && [ -d "$${KCP_DATA_DIR:-.kcp}" ]; then \
	  $(PY) -W ignore -c 'import os; from pathlib import Path; from kcpsite.embedded import stop_embedded_postgres as s; \
	  s(Path(os.environ.get("KCP_DATA_DIR") or ".kcp"))' || true; \
	fi
	rm -rf "$${KCP_DATA_DIR:-.kcp}"
