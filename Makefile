# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test test-slow test-clock lint bench schema clean systemd-tools faketime install uninstall

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

# boundaryd in its own place, apart from this clone: a venv under $(PREFIX)/share/boundaryd and the
# command in $(PREFIX)/bin, so `boundaryd service install` writes a unit that outlives the clone.
# `make install PREFIX=/opt/boundaryd` puts it elsewhere; INSTALL_PIP_FLAGS reach pip (e.g. --no-deps).
PREFIX            ?= $(HOME)/.local
INSTALL_HOME      ?= $(PREFIX)/share/boundaryd
INSTALL_VENV_FLAGS ?=
INSTALL_PIP_FLAGS ?=

install:
	$(PYTHON) -m venv $(INSTALL_VENV_FLAGS) "$(INSTALL_HOME)/venv"
	"$(INSTALL_HOME)/venv/bin/python" -m pip install --quiet --upgrade $(INSTALL_PIP_FLAGS) .
	mkdir -p "$(PREFIX)/bin"
	ln -sfn "$(INSTALL_HOME)/venv/bin/boundaryd" "$(PREFIX)/bin/boundaryd"
	@echo "installed $(PREFIX)/bin/boundaryd (in $(INSTALL_HOME)/venv); next: boundaryd service install"

uninstall:
	rm -rf "$(INSTALL_HOME)/venv"
	rm -f "$(PREFIX)/bin/boundaryd"

test: $(TSTAMP) systemd-tools lint
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

# Soak and fuzz runs (the daemon under 1,000 signals, plain and under libfaketime), a few minutes.
test-slow: $(TSTAMP)
	$(BIN)/python -m pytest -q -m slow

# The whole suite with the machine's clock at 10:59:30, 23:59:30 and a daylight-saving night (libfaketime).
test-clock: $(TSTAMP) systemd-tools faketime
	$(BIN)/python tests/clock_check.py

# libfaketime for test-slow and test-clock; install it where we can (Debian, as root).
faketime:
	@test -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing libfaketime (Debian package faketime)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null 2>&1; } || \
	    echo "note: could not install faketime; the libfaketime runs will be skipped"; \
	  else echo "note: libfaketime missing; the libfaketime runs will be skipped"; fi; }

bench: $(TSTAMP)
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/google_requests_bench.py
	$(BIN)/python bench/graph_requests_bench.py
	$(BIN)/python bench/caldav_requests_bench.py
	$(BIN)/python bench/cycle_bench.py
	$(BIN)/python bench/caldav_cycle_bench.py
	$(BIN)/python bench/daemon_cycle_bench.py

schema: $(STAMP)
	$(BIN)/python -m boundaryd.core.rules > rules/schema.json

clean:
	rm -rf $(VENV) demo .pytest_cache
