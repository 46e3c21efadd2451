# Two commands: `make run` starts the suite, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench eval simulator clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/python -m shared.suite run

test: install
	$(BIN)/python -m pytest -q

simulator: install
	$(BIN)/python -m shared.simulator --port 9000 --echo

clean:
	rm -rf $(VENV) var .pytest_cache
