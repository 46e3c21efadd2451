"""``python -m training.finetune.check`` (``make finetune-check``, the first step of ``make finetune-cpu``): the CPU
fine-tune's torch code, checked on a tiny randomly initialised Llama built from a config, with the packaged
SmolLM2 tokenizer and chat template. Needs the finetune extra, so it runs outside ``make test``; each check
raises on failure and the command exits non-zero.

- the prefix-cache loss ``PrefixTrainer`` trains and validates with equals the loss of the whole sequence;
- a LoRA update changes that loss, the merge keeps it, and the merged model saved and read back gives it again;
- the OpenAI server (``serve.create_app`` over real HTTP-level requests through FastAPI's test client):
  /health, /v1/models, /tokenize; a greedy completion is the text ``generate`` gives for the chat template's
  prompt, with its usage; the streamed deltas join to the same text, end in [DONE] and carry usage when asked;
  the cached system-message prefix changes nothing in the reply; an over-long prompt is a 400 and an unknown
  parameter a 422 naming it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from fastapi.testclient import TestClient
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from training.finetune import cpu, serve
from training.finetune.cpu_data import IGNORE

SYSTEM = "You turn a shopping dialog into one call of the recommendation API. " * 4


def tiny_model(vocab: int) -> Any:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


def _close(a: float, b: float, what: str, tolerance: float = 1e-4) -> None:
    if abs(a - b) > tolerance * max(1.0, abs(a)):
        raise AssertionError(f"{what}: {a} != {b}")
    print(f"ok  {what}: {a:.6f} = {b:.6f}")


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"ok  {what}")


def check_training(tokenizer: Any) -> None:
    rows = [
        {"system": SYSTEM, "conversations": [{"from": "human", "value": f"The dialog (JSON): [{{\"content\": \"{q}\"}}]"},
                                             {"from": "gpt", "value": a}]}
        for q, a in (("a phone under 3000", '<response>{"call": null}</response>'),
                     ("hello there", '<response>{"call": null}</response>'))
    ]
    encoded = [cpu.encode(tokenizer, row) for row in rows]
    prefix_len = min(n for _, n in encoded) - 8
    samples = [cpu.Encoded(row, ids, n, prefix_len) for row, (ids, n) in zip(rows, encoded, strict=True)]
    model = tiny_model(len(tokenizer))
    ids, prompt_len = encoded[0]
    labels = torch.tensor([[IGNORE] * prompt_len + ids[prompt_len:]])
    with torch.no_grad():
        whole = model(input_ids=torch.tensor([ids]), labels=labels).loss.item()
    trainer = cpu.PrefixTrainer(model, ids[:prefix_len])
    _close(trainer.validation_loss(samples[:1]), whole, "prefix-cache loss = whole-sequence loss")

    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=cpu.LORA_TARGETS, task_type="CAUSAL_LM"))
    trainer = cpu.PrefixTrainer(peft, ids[:prefix_len])
    before = trainer.validation_loss(samples)
    optimizer = torch.optim.AdamW([p for p in peft.parameters() if p.requires_grad], lr=1e-2)
    peft.train()
    trainer.read_prefix()
    for _ in range(3):
        for sample in samples:
            trainer.loss(sample).backward()
        optimizer.step()
        optimizer.zero_grad()
    after = trainer.validation_loss(samples)
    _expect(after < before, f"LoRA updates lower the loss on what they train on: {before:.4f} -> {after:.4f}")
    merged = peft.merge_and_unload()
    _close(cpu.PrefixTrainer(merged, ids[:prefix_len]).validation_loss(samples), after, "merged = adapter loss")
    with tempfile.TemporaryDirectory() as folder:
        merged.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        again = cpu.load_model(Path(folder))
        _close(cpu.PrefixTrainer(again, ids[:prefix_len]).validation_loss(samples), after, "saved and re-read = merged")
        _expect(len(cpu.load_tokenizer(Path(folder))) == len(tokenizer), "the saved tokenizer is the base's")


def _events(text: str) -> list[Any]:
    return [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]


def check_server(tokenizer: Any) -> None:
    model = tiny_model(len(tokenizer))
    generator = serve.Generator(model, tokenizer, "tiny", context=256)
    client = TestClient(serve.create_app(generator))
    _expect(client.get("/health").json()["status"] == "ok", "/health answers")
    _expect([m["id"] for m in client.get("/v1/models").json()["data"]] == ["tiny"], "/v1/models names the model")
    count = client.post("/tokenize", json={"content": "a phone"}).json()["count"]
    _expect(count == len(tokenizer("a phone", add_special_tokens=False)["input_ids"]), "/tokenize counts tokens")

    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "a phone under 3000"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=12, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)
    expected = tokenizer.decode(out[0, len(prompt):], skip_special_tokens=True)
    body = {"model": "tiny", "messages": messages, "max_tokens": 12, "temperature": 0}
    for attempt in ("prefix read", "prefix from the cache"):
        reply = client.post("/v1/chat/completions", json=body).json()
        _expect(reply["choices"][0]["message"]["content"] == expected, f"completion = generate's greedy text ({attempt})")
    _expect(len(generator._prefixes) == 1, "the system message's KV cache is kept")
    _expect(reply["usage"]["prompt_tokens"] == len(prompt) and reply["usage"]["completion_tokens"] == 12
            and reply["choices"][0]["finish_reason"] == "length", "usage and finish reason")

    streamed = client.post("/v1/chat/completions", json={**body, "stream": True,
                                                         "stream_options": {"include_usage": True}})
    events = _events(streamed.text)
    _expect(events[-1] == "[DONE]", "the stream ends with [DONE]")
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    _expect(text == expected, "streamed deltas join to the completion")
    _expect(chunks[-1]["usage"]["completion_tokens"] == 12, "the stream's last chunk carries usage")

    too_long = client.post("/v1/chat/completions", json={**body, "messages": [{"role": "user", "content": "x " * 600}]})
    _expect(too_long.status_code == 400 and "context" in too_long.text, "an over-long prompt is a 400 saying why")
    label = {"type": "object", "properties": {"label": {"enum": ["yes", "no"]}}, "required": ["label"],
             "additionalProperties": False}
    constrained = client.post("/v1/chat/completions", json={
        **body, "max_tokens": 24, "response_format": {"type": "json_schema", "json_schema": {"name": "l", "schema": label}}})
    content = constrained.json()["choices"][0]["message"]["content"]
    _expect(json.loads(content).get("label") in ("yes", "no"), f"a json_schema reply is the schema's JSON: {content!r}")
    loose = client.post("/v1/chat/completions", json={**body, "max_tokens": 48, "response_format": {"type": "json_object"}})
    _expect(loose.status_code == 200, "json_object is taken")
    half = client.post("/v1/chat/completions", json={**body, "response_format": {"type": "json_schema"}})
    _expect(half.status_code == 422 and "json_schema" in half.text, "json_schema without its schema is a 422")
    bogus = {"type": "json_schema", "json_schema": {"name": "b", "schema": {"type": "bogus"}}}
    refused = client.post("/v1/chat/completions", json={**body, "response_format": bogus})
    _expect(refused.status_code == 400 and "bogus" in refused.text, "a schema the grammar cannot take is a 400 naming it")
    unknown = client.post("/v1/chat/completions", json={**body, "n": 2})
    _expect(unknown.status_code == 422 and '"n"' in unknown.text, "an unknown parameter is a 422 naming it")


def main() -> int:
    tokenizer = cpu.load_tokenizer()
    check_training(tokenizer)
    check_server(tokenizer)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
