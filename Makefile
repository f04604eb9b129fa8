# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test test-slow lint bench schema clean systemd-tools

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

test: $(TSTAMP) systemd-tools
	$(BIN)/python -m pytest -q

# The unit-file tests run systemd-analyze; install it where we can (Debian, as root).
systemd-tools:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing systemd-analyze (Debian package systemd)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; \
	  else echo "note: systemd-analyze missing; the unit-file tests will be skipped"; fi; }

lint: $(TSTAMP)
	$(BIN)/ruff check daemon tests bench
	$(BIN)/mypy --strict daemon/boundaryd

test-slow: $(TSTAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(TSTAMP)
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/google_requests_bench.py
	$(BIN)/python bench/caldav_requests_bench.py

schema: $(STAMP)
	$(BIN)/python -m boundaryd.core.rules > rules/schema.json

clean:
	rm -rf $(VENV) demo .pytest_cache
