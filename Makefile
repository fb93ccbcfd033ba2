# The README's two commands: `make demo` and `make test`. Each builds the virtual
# environment and installs the project (compiling the Cython core) when needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps clean bench

$(STAMP): pyproject.toml setup.py $(wildcard core_ext/*.pyx core_ext/*.pxd)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/custody demo

test: $(STAMP)
	$(PY) -m pytest -q -rs

# Debian packages the real-peer tests use (Mosquitto, mbpoll, Chromium, socat, CJK fonts).
# Run as root; installs only what is missing.
system-deps:
	bash scripts/system-deps.sh

bench: $(STAMP)
	$(PY) bench/core.py
	$(PY) bench/drivers.py

clean:
	rm -rf $(VENV) build *.egg-info core_ext/*.so core_ext/*.c
