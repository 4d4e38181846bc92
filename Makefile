# `make lab` and `make test` work on a fresh machine after `git clone`: they create .venv,
# install the package with its dev extras and (for the browser tests) Debian's chromium.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp's name carries a hash of pyproject.toml: editing the dependencies reinstalls,
# re-running with nothing changed is instant.
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
CHROMIUM := /usr/bin/chromium
# Colour emoji for Chromium (without it the notebooks' emoji render as empty boxes).
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install chromium test test-fast lab dashboard report notebooks bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

chromium: $(CHROMIUM) $(EMOJI_FONT)

$(CHROMIUM) $(EMOJI_FONT) &:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium fonts-dejavu-core fonts-noto-color-emoji

# Tests run on every core (pytest-xdist), each file whole on one worker: a notebook's cells share
# one kernel, a module's tests their module-scoped server (see conftest.py for why not loadgroup).
# Files start in collection order, the long browser walk first (no reordering by size).
# HYPOTHESIS_PROFILE=thorough runs every property test with ten times the examples.
XDIST := -n auto --dist loadfile --no-loadscope-reorder

# Every test: unit, integration (real HTTP to the sandbox), nbval on every notebook, browser;
# the 25 slowest are listed at the end.
test: install chromium
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider \
		$(XDIST) --durations=25

# Everything but the browser and notebooks, for quick local loops.
test-fast: install
	$(BIN)/python -m pytest tests -m "not browser and not slow" $(XDIST)

# `make lab PORT=9000 NO_BROWSER=1 DATA=/tmp/lab`: the port (JupyterLab 8888, Voilà 8866), no web
# browser opened, and the folder of the sandbox database with its cache and ledger (delete it to
# start afresh).
DATA ?= .data
NO_BROWSER ?=
BROWSER_FLAG = $(if $(NO_BROWSER),--no-browser)
lab: PORT ?= 8888
dashboard: PORT ?= 8866

# JupyterLab on notebooks/, connected to a local sandbox (or the real API when SMSGIC_TOKEN is set).
lab: install
	$(BIN)/smsgic-analytics lab --notebooks notebooks --data $(DATA) --port $(PORT) $(BROWSER_FLAG)

# The read-only status-and-spend dashboard (notebooks/dashboard.ipynb) as a Voilà page against the sandbox;
# on a fresh sandbox the launcher first sends its demo history, once.
dashboard: install
	$(BIN)/smsgic-analytics lab --notebooks notebooks --data $(DATA) --voila notebooks/dashboard.ipynb --port $(PORT) $(BROWSER_FLAG)

# Executes every notebook headlessly into self-contained HTML under reports/.
report: install
	$(BIN)/smsgic-analytics report --notebooks notebooks --out reports

# Re-executes every notebook in place, as nbval will check it (after changing what they show).
notebooks: install
	$(BIN)/smsgic-analytics report --notebooks notebooks --in-place

bench: install
	# every benchmark runs; the target fails at the end if one missed its target
	fail=0; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || { echo "!! $$b: a target not met"; fail=1; }; done; exit $$fail

clean:
	rm -rf $(VENV) .pytest_cache reports test-artifacts
