# Two entry points (see README): `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean collect-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/routerbench run $(ARGS)

test: $(STAMP)
	$(BIN)/python -m ruff check src tests benchmarks scripts examples
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests benchmarks scripts examples
	$(BIN)/python -m ruff format --check src tests benchmarks

# The real end-to-end collect run (not part of CI; see docs/collect.md). Set LLAMA_WHEELS to a
# folder holding a prebuilt llama-cpp-python wheel to skip its ~20-minute build.
collect-demo: $(STAMP)
	$(BIN)/python scripts/collect_demo.py $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(GROUPS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

.PHONY: serve-demo
serve-demo: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[serve]'
	$(BIN)/python scripts/serve_demo.py $(ARGS)
