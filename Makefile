# Two commands on a fresh machine: `make reports` and `make test`.
# Everything lives in .venv in the project root; nothing is installed outside it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STUDY  ?=
ARGS   ?=

.PHONY: setup reports test lab screenshots benchmark clean sample

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

reports: $(STAMP)
	$(PY) -m analysis run $(STUDY) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

lab: $(STAMP)
	$(PY) -m jupyter lab notebooks/

sample: $(STAMP)
	$(PY) -m analysis sample data/sample

# Needs Debian's chromium; installed here when missing and run as root.
screenshots: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq chromium; } \
	  || { echo "make screenshots needs Chromium: sudo apt-get install chromium"; exit 1; }
	$(PY) scripts/screenshots.py

benchmark: $(STAMP)
	$(PY) benchmarks/bench_pipeline.py

clean:
	rm -rf reports/* .pytest_cache
