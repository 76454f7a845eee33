# The two commands: `make run` (set up and run the platform) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST := $(or $(LLMOPS_HOST),127.0.0.1)
PORT := $(or $(LLMOPS_PORT),8000)
CHAT_PORT := $(or $(LLMOPS_CHAT_MODEL_PORT),8091)
EMBEDDING_PORT := $(or $(LLMOPS_EMBEDDING_MODEL_PORT),8092)
export LLMOPS_HOST := $(HOST)
export LLMOPS_PORT := $(PORT)

.PHONY: install sandbox-packages services models console dev api-types run test stop lint format clean

# The console (frontend/): npm ci when the lockfile changed, a production build when its sources changed.
CONSOLE_DEPS := frontend/node_modules/.installed
CONSOLE_STAMP := frontend/dist/.built
CONSOLE_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html \
  frontend/vite.config.ts frontend/tsconfig.json frontend/package.json
NODE_CHECK := command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0] < 20))' || { \
  echo "error: the console needs Node.js 20 or newer with npm (Debian/Ubuntu: apt-get install nodejs npm, or nodejs.org); install it and run make again" >&2; exit 1; }

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Python 3.11 or newer is required ($(PYTHON) is $$($(PYTHON) --version 2>&1)); run: make PYTHON=python3.11 ..." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); echo "error: cannot create a virtualenv; on Debian/Ubuntu run: sudo apt-get install python3-venv" >&2; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Code nodes' own package environment (LLMOPS_SANDBOX_PACKAGES, pinned in platform/llmops/runs/
# sandbox-requirements.txt) under .llmops/sandbox-packages; its manifest makes this a no-op when nothing changed.
sandbox-packages: $(STAMP)
	@$(PY) manage.py sandbox_packages

install: $(STAMP) sandbox-packages

services: install
	@$(PY) -m devservices.embedded start

# llama.cpp's server is compiled once per machine (minutes) and cached as a wheel under ~/.cache/llmops.
models: install
	@$(PY) -m devservices.localmodels ensure

$(CONSOLE_DEPS): frontend/package-lock.json
	@$(NODE_CHECK)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_STAMP): $(CONSOLE_DEPS) $(CONSOLE_SOURCES)
	cd frontend && npx vite build --logLevel warn
	@touch $@

console: $(CONSOLE_STAMP)

# The Vite dev server on :5173 with a proxy to the platform on $(PORT) (run `make run` alongside).
dev: $(CONSOLE_DEPS)
	cd frontend && LLMOPS_API=http://$(HOST):$(PORT) npx vite

# Regenerate the console's API types from the platform's OpenAPI schema (a test checks they are current).
api-types: install $(CONSOLE_DEPS)
	$(PY) manage.py spectacular --format openapi-json --file .llmops/openapi.json
	cd frontend && npx openapi-typescript ../.llmops/openapi.json -o src/api/schema.d.ts

run: services models console
	@$(PY) manage.py preflight --port $(PORT) --port $(CHAT_PORT) --port $(EMBEDDING_PORT)
	@$(PY) manage.py migrate --noinput
	@$(PY) manage.py bootstrap_demo
	@echo "LLMOps Platform on http://$(HOST):$(PORT)/  (admin /admin/, API docs /api/docs/, readiness /readyz); Ctrl-C stops it"
	@exec $(VENV)/bin/honcho -d . -f deploy/Procfile.dev start

test: services models console
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

stop:
	@if [ -x $(PY) ]; then $(PY) -m devservices.embedded stop; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy platform workflows tests

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: stop
	rm -rf .llmops
