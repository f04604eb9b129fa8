# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test test-slow bench schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/boundaryd demo --dir demo

test: $(TSTAMP)
	$(BIN)/python -m pytest -q

test-slow: $(TSTAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(TSTAMP)
	$(BIN)/python bench/plan_bench.py

schema: $(STAMP)
	$(BIN)/python -m boundaryd.rules > rules/schema.json

clean:
	rm -rf $(VENV) demo .pytest_cache
