# The two commands of the README: `make run` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/sparkify run --report report.html

test: $(VENV)/.installed-dev lint
	@if [ "$$CI" = "true" ]; then bash scripts/install-chromium.sh; fi
	$(BIN)/python -m pytest

# A fast subset while developing: DuckDB only, without the end-to-end runs marked slow. `make test`
# (and CI) still run everything.
test-fast: $(VENV)/.installed-dev
	SPARKIFY_TEST_ENGINES=duckdb $(BIN)/python -m pytest -m "not slow"

# Lint: ruff (rules and format, configured in pyproject.toml) and mypy on src/.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) sparkify.duckdb sparkify.duckdb.wal sparkify.duckdb.lock report.html
