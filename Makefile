# Two commands: `make run` starts the suite, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install models run test bench eval simulator clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

# The local engines' artefacts (var/models/); rebuilt only when their data, taxonomy or code changed.
models: install
	$(BIN)/python -m training.build

run: install models
	$(BIN)/python -m shared.suite run

test: install models
	$(BIN)/python -m pytest -q

# Held-out accuracy, confusion matrix, calibration, designs compared, BFCL-style AST check.
eval: install
	$(BIN)/python -m training.evaluate

# In-process latency p50/p95 of the local engines, service RSS, artefact build time.
bench: install models
	$(BIN)/python -m training.bench

simulator: install
	$(BIN)/python -m shared.simulator --port 9000 --echo

clean:
	rm -rf $(VENV) var .pytest_cache
