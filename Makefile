# The two commands a newcomer needs: `make dev` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PY_STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
NPM_STAMP := frontend/node_modules/.installed-$(shell sha1sum frontend/package-lock.json | cut -c1-12)
FRONTEND_SRC := $(shell find frontend/src frontend/public frontend/index.html frontend/vite.config.ts \
	frontend/tailwind.config.js frontend/postcss.config.js frontend/tsconfig.json -type f 2>/dev/null)

.PHONY: dev test stop lint bench setup system-dev system-test frontend layer render-layer clean \
	test-python test-frontend openapi

## make dev: install what is missing, start everything, serve http://127.0.0.1:$(PORT)/
dev: system-dev setup frontend
	@PORT=$(PORT) exec $(VENV)/bin/stockscreen dev --port $(PORT)

## make test: the whole suite (what .ci/run calls), in two lanes side by side (scripts/test-lanes.sh)
test: system-test setup frontend
	$(VENV)/bin/lint-imports --no-cache
	@scripts/test-lanes.sh $(PY)

test-python:
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q tests/unit tests/integration tests/infra tests/e2e

test-frontend:
	cd frontend && npm test --silent

## make stop: stop the project-local PostgreSQL and Redis started by make dev
stop:
	@if [ -x $(VENV)/bin/stockscreen ]; then $(VENV)/bin/stockscreen stop; fi

## make lint: ruff, mypy (strict on shared/), tsc --noEmit, eslint
lint: setup
	$(VENV)/bin/ruff check shared functions devstack infra_cdk localstack tests
	$(VENV)/bin/ruff format --check shared functions devstack infra_cdk localstack tests
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy shared/stockscreen devstack
	@for f in ingest alerts ws quotes reports reports/render; do echo "mypy functions/$$f"; $(VENV)/bin/mypy functions/$$f/handlers.py || exit 1; done
	$(VENV)/bin/mypy functions/api/app.py functions/api/chalicelib
	$(VENV)/bin/mypy infra_cdk
	cd frontend && npm run --silent typecheck && npm run --silent lint

bench: setup
	$(PY) -m pytest -q -s tests/bench

system-dev:
	@scripts/ensure-system.sh dev

system-test:
	@scripts/ensure-system.sh test

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[setup] installing Python packages (pinned by constraints.txt)"
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@# the API handlers' package (chalicelib) importable for import-linter, as Chalice's layout has it
	@echo "$(CURDIR)/functions/api" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/stockscreen-handlers.pth
	@rm -f $(VENV)/.installed-* && touch $@

$(NPM_STAMP): frontend/package-lock.json
	@echo "[setup] installing npm packages (pinned by package-lock.json)"
	@cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@rm -f frontend/node_modules/.installed-* && touch $@

frontend: frontend/dist/index.html

frontend/dist/index.html: $(NPM_STAMP) $(FRONTEND_SRC)
	@echo "[setup] building the SPA"
	@cd frontend && npm run --silent build >/dev/null
	@touch $@

## make layer: build the Lambda layer (domain package + dependencies) for CDK deploys
layer: setup
	infra_cdk/scripts/build_layer.sh

render-layer: setup
	PYTHON=$(PY) infra_cdk/scripts/build_render_layer.sh

clean: stop
	rm -rf .local frontend/dist infra_cdk/cdk.out infra_cdk/build

## make openapi: regenerate the committed OpenAPI document and the SPA's TypeScript types from it
openapi: setup
	$(PY) -m devstack.write_openapi
	cd frontend && npm run --silent gen:api
