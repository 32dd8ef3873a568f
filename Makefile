# The README's two commands: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ENV := source scripts/airflow-env.sh &&

.PHONY: install demo test lint bench lock clean

install: $(VENV)/.installed $(VENV)/.paths

# The lock pins every resolved package: no constraint file download needed.
$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

# The library (plugins/) and the developers' tools (devtools/, at the top) importable from the venv.
$(VENV)/.paths: $(VENV)/.installed Makefile
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "reseller_sync.pth").write_text("$(CURDIR)/plugins\n$(CURDIR)\n")'
	touch $@

demo: install
	$(ENV) python scripts/demo.py

test: install
	$(ENV) scripts/test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(ENV) for bench in bench/bench_*.py; do $(PY) $$bench || exit 1; done

# Re-resolve requirements.txt + requirements-dev.txt into requirements.lock.
lock:
	rm -rf /tmp/reseller-sync-lock && $(PYTHON) -m venv /tmp/reseller-sync-lock
	/tmp/reseller-sync-lock/bin/pip install --quiet -r requirements-dev.txt
	/tmp/reseller-sync-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf var test-artifacts .pytest_cache
