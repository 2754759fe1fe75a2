# Two commands on a fresh machine: `make reports` and `make test`.
# Everything lives in .venv in the project root; nothing is installed outside it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STUDY  ?=
ARGS   ?=
LOCK   := .venv-lock
# JupyterLab refuses to start as root (containers) unless told it may.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup reports test lab screenshots benchmark clean sample lock

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml or constraints.txt changed since the last install.
# constraints.txt holds the exact versions the suite passed with; pyproject.toml keeps the ranges.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# Refresh constraints.txt (after adding a dependency, or to move to newer versions): install the newest
# versions pyproject.toml allows into a throw-away venv and record them; then run `make test`, which
# reinstalls .venv from the new file, and commit constraints.txt (and environment.yml's pins) when green.
lock:
	rm -rf $(LOCK)
	$(PYTHON) -m venv $(LOCK)
	$(LOCK)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK)/bin/python -m pip install --quiet -e '.[test]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK)/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK)
	@echo "constraints.txt refreshed: run make test, update the pins in environment.yml, commit both."

reports: $(STAMP)
	$(PY) -m analysis run $(STUDY) $(ARGS)

# Tests run on every core (pytest-xdist); a file's tests stay on one worker, so its fixtures run once;
# the heaviest files start first (tests/conftest.py orders them), not the files with most tests.
test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder

lab: $(STAMP)
	$(PY) -m jupyter lab $(LAB_ROOT) notebooks/

sample: $(STAMP)
	$(PY) -m analysis sample data/sample

# Needs Debian's chromium; installed here when missing and run as root.
screenshots: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq chromium; } \
	  || { echo "make screenshots needs Chromium: sudo apt-get install chromium"; exit 1; }
	$(PY) scripts/screenshots.py

# Cost against visits (generate / check / run of 100k, 1M and 5M-visit salons: CPU, wall, peak memory),
# then the sample study against the plain papermill + nbconvert floor (alternating runs, median ratio) and
# 8 copies of the sample in one call against one.  BENCH_VISITS="100000 1000000" for a shorter run.
BENCH_VISITS ?= 100000 1000000 5000000
benchmark: $(STAMP)
	$(PY) benchmarks/bench_scale.py --visits $(BENCH_VISITS)
	$(PY) benchmarks/bench_pipeline.py --skip-big

clean:
	rm -rf reports/* .pytest_cache $(LOCK)
