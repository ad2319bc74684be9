# Two commands: `make up` (set up and start) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install lint typecheck contracts pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build on disk, not a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: install
	@echo
	@echo "squeezelab is installed in $(VENV). Run a sweep in-process with:"
	@echo "    $(BIN)/squeezelab local examples/quick.yaml --out results.json"
	@echo "The API service runs with: .venv/bin/uvicorn api.asgi:app (see README, API service);"
	@echo "workers, 'squeezelab up' and the dashboard arrive with later issues."

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest

test: lint typecheck contracts pytest

bench: install
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/compression_targets.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .squeezelab
