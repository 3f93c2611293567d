# fitsweep: `make demo` runs the moons sweep and shows its result; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast studies clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fitsweep run sweeps/moons.yaml --results-dir runs --overwrite
	$(BIN)/fitsweep show runs/moons

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Rerun the seed studies whose results are committed under results/, with their reports.
studies: $(STAMP)
	for sweep in sweeps/*.yaml; do $(BIN)/fitsweep run $$sweep --overwrite --quiet || exit 1; done
	$(BIN)/fitsweep report results/moons --retrain

clean:
	rm -rf runs .pytest_cache
