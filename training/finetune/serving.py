"""What the vLLM GPU pool serves (``configs/vllm_serving.yaml``) as the OpenAI server's arguments.

The manifests (deploy/k8s/base/vllm.yaml) carry these arguments; ``python -m training.finetune serve-args``
prints them, and the tests check that the manifests and the platform's pool settings agree with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.finetune import config as cfg

SERVING_CONFIG = cfg.CONFIG_DIR / "vllm_serving.yaml"
# Flags with a value, in the order the server is given them.
VALUE_FLAGS = ("model", "served_model_name", "port", "max_model_len", "gpu_memory_utilization")
SWITCHES = ("enable_prefix_caching",)
TRAILING_FLAGS = ("tensor_parallel_size",)


def load(path: Path = SERVING_CONFIG) -> dict[str, Any]:
    return cfg.load(path)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def lora_modules(serving: dict[str, Any]) -> dict[str, str]:
    return dict((serving.get("lora") or {}).get("modules") or {})


def args(serving: dict[str, Any], *, lora: bool = False) -> list[str]:
    """``--key=value`` arguments; with ``lora``, the adapters too (the files must exist where vLLM starts)."""
    out = [f"{_flag(key)}={serving[key]}" for key in VALUE_FLAGS if key in serving]
    out += [_flag(key) for key in SWITCHES if serving.get(key)]
    out += [f"{_flag(key)}={serving[key]}" for key in TRAILING_FLAGS if key in serving]
    if lora and (modules := lora_modules(serving)):
        out += ["--enable-lora", f"--max-lora-rank={serving['lora']['max_lora_rank']}", "--lora-modules"]
        out += [f"{name}={path}" for name, path in modules.items()]
    return out
