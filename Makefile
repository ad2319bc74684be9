# Two commands: `make up` (set up and start) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

FE := frontend

.PHONY: up test suite install lint typecheck contracts pytest bench clean dashboard chromium frontend-test screenshots dist

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build on disk, not a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The dashboard: npm packages from the lock file, then a Vite build served by the API at /.
# npm ci installs the lock as it is and never rewrites it (npm install may, and a test run
# must leave tracked files alone); the lock lists every platform's optional packages.
$(FE)/node_modules/.package-lock.json: $(FE)/package-lock.json
	npm --prefix $(FE) ci --no-audit --no-fund
$(FE)/dist/index.html: $(FE)/node_modules/.package-lock.json $(shell find $(FE)/src -type f) $(FE)/index.html $(FE)/vite.config.ts $(FE)/package.json $(FE)/scripts/compress.mjs
	npm --prefix $(FE) run build

dashboard: $(FE)/dist/index.html

# The browser tests drive the system Chromium (Playwright cannot download browsers here).
chromium:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

frontend-test: $(FE)/node_modules/.package-lock.json
	npm --prefix $(FE) test

up: install dashboard
	@echo "Starting squeezelab (API + one worker, SQLite, server-less broker) on http://127.0.0.1:8000"
	@echo "In another shell: $(BIN)/squeezelab submit examples/quick.yaml --wait"
	$(BIN)/squeezelab up

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

pytest: install dashboard chromium
	$(BIN)/pytest

# The suite, then a check that it left the checkout as it found it: files it created,
# changed or deleted fail the run, by name (your own uncommitted work is left out).
test:
	@$(PYTHON) .ci/tree_state.py snapshot build/tree-before-test.json
	@$(MAKE) --no-print-directory suite
	@$(PYTHON) .ci/tree_state.py check build/tree-before-test.json

suite: lint typecheck contracts frontend-test pytest

# The browser tests save screenshots under build/screenshots; this refreshes the README's.
screenshots: install dashboard chromium
	SQUEEZELAB_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/e2e

bench: install
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/compression_targets.py

# A release's sdist and wheel (the wheel built from the sdist, with the migrations and the
# dashboard inside), checked as PyPI would. No upload.
dist: install dashboard
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .squeezelab
