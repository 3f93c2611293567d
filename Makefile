# fitsweep: `make demo` runs the moons sweep into runs/moons and prints its findings; `make test` lints, builds the
# docs and runs the tests.
#
# Installs take the exact versions fitsweep is tested with from requirements.lock (a pip constraints
# file resolved for CPython 3.11 on Linux x86-64). On another Python or platform, where a pin may have
# no wheel, install from pyproject's supported ranges instead: `make install LOCK=`.
# `make lock` re-resolves requirements.lock after a change to pyproject's dependencies, keeping the
# current pins where they still fit; `make lock UPGRADE=1` moves every pin to its newest allowed version.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK ?= requirements.lock
# The platform requirements.lock is resolved for, whatever machine runs `make lock`.
LOCK_PLATFORM := --python-version 3.11 --python-platform x86_64-manylinux_2_28

.PHONY: install lock lint docs demo test test-fast studies clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(if $(LOCK),-c $(LOCK)) -e ".[test,docs]"
	touch $(STAMP)

lock: | $(BIN)/python
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --quiet --extra test --extra docs $(LOCK_PLATFORM) --no-header \
		$(if $(UPGRADE),--upgrade) -o requirements.lock

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools docs/hooks
	$(BIN)/mypy src/fitsweep

# The documentation site (mkdocs.yml, docs/) into site/; --strict makes every warning an error, so a
# reference that no longer matches the code fails the build. `$(BIN)/mkdocs serve` serves it while editing.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The run ends with its findings (the report it wrote in runs/moons); `fitsweep report` is not needed after it.
demo: $(STAMP)
	$(BIN)/fitsweep run sweeps/moons.yaml --overwrite
	$(BIN)/fitsweep report runs/moons >/dev/null  # the figures, which the end of a run leaves to this command

test: lint docs
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Rerun the seed studies whose results are committed under results/, with their reports.
studies: $(STAMP)
	for sweep in sweeps/*.yaml; do $(BIN)/fitsweep run $$sweep --results-dir results --overwrite --quiet || exit 1; done
	for run in results/*/; do [ "$$run" = results/moons/ ] || $(BIN)/fitsweep report $$run >/dev/null || exit 1; done
	$(BIN)/fitsweep report results/moons --retrain

clean:
	rm -rf runs site .pytest_cache .mypy_cache .ruff_cache
