# The README's two commands: `make demo` and `make test`. Each installs the Debian packages it
# talks to when missing (scripts/system-deps.sh), builds the virtual environment and installs
# the project (compiling the Cython core) when needed, then runs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test check install system-deps clean bench

$(STAMP): pyproject.toml setup.py $(wildcard core_ext/*.pyx core_ext/*.pxd)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/system-deps.sh demo
	$(VENV)/bin/custody demo

test: $(STAMP) check
	bash scripts/system-deps.sh test
	$(PY) -m pytest -q -rs

# Static checks (configured in pyproject.toml): lint, formatting, types, the layering rules.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) scripts/import-graph --check

# Debian packages the real-peer tests use (Mosquitto, mbpoll, Chromium, socat, CJK fonts),
# only what is missing; `make test` runs it itself.
system-deps:
	bash scripts/system-deps.sh test

bench: $(STAMP)
	$(PY) bench/core.py
	$(PY) bench/drivers.py

clean:
	rm -rf $(VENV) build *.egg-info core_ext/*.so core_ext/*.c
