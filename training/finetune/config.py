"""Reading a fine-tuning config and applying a launcher's overrides to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.settings import PROJECT_ROOT

FINETUNE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = FINETUNE_DIR / "configs"
# Keys of a LLaMA-Factory config that name files or folders, relative to the project root when not absolute.
PATH_KEYS = ("deepspeed", "dataset_dir", "output_dir")


class ConfigError(ValueError):
    """A config or an override that cannot be used."""


def load(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path} is not a mapping of LLaMA-Factory arguments")
    return config


def parse_set(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, each value read as YAML (``3``, ``1.0e-5``, ``true``, ``null``, ``a,b``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes key=value, not {item!r}")
        out[key.strip()] = yaml.safe_load(value) if value else None
    return out


def resolve(
    config: dict[str, Any],
    *,
    datasets: str | None = None,
    model: str | None = None,
    overrides: dict[str, Any] | None = None,
    root: Path | None = PROJECT_ROOT,
) -> dict[str, Any]:
    """A copy with the overrides applied (``None`` removes a key) and relative paths made absolute under
    ``root`` (left relative without one: the SageMaker container points them at its own folders)."""
    out = dict(config)
    if datasets is not None:
        out["dataset"] = datasets
    if model is not None:
        out["model_name_or_path"] = model
    for key, value in (overrides or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    for key in PATH_KEYS if root is not None else ():
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = str(root / out[key])
    return out


def dataset_names(config: dict[str, Any]) -> list[str]:
    """The datasets a config trains and evaluates on."""
    names: list[str] = []
    for key in ("dataset", "eval_dataset"):
        value = config.get(key)
        if isinstance(value, str):
            names += [name.strip() for name in value.split(",") if name.strip()]
        elif isinstance(value, list):
            names += [str(name) for name in value]
    return names


def dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
