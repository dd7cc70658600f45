# Two commands: `make run` serves the explorer on the shipped models, `make test` runs every test
# (the page's JavaScript unit tests with Node's built-in runner, then pytest).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-js install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	CELLX_HOST=$(HOST) CELLX_PORT=$(PORT) $(BIN)/python -m app

test: install-test test-js
	$(BIN)/python -m pytest -q

test-js:
	node --test tests/js/*.test.mjs

bench: install
	$(BIN)/python bench/capture.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/rank.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/match.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
