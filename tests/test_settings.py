"""The one settings object: environment parsing, defaults, and .env.example documenting every field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from shared.settings import PROJECT_ROOT, Settings, Task


def test_every_task_defaults_to_local() -> None:
    settings = Settings(_env_file=None)
    assert {task: route.backend for task, route in settings.llm_tasks.items()} == {task: "local" for task in Task}


def test_nested_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SG_LLM_POOLS", '{"vllm": {"endpoints": ["http://gpu-0:8000/", "http://gpu-1:8000"]}}')
    monkeypatch.setenv("SG_LLM_TASKS__DIALOG__BACKEND", "openai")
    monkeypatch.setenv("SG_LLM_TASKS__DIALOG__POOL", "vllm")
    monkeypatch.setenv("SG_SERVICES__INTENT", "http://intent:9000")
    settings = Settings(_env_file=None)
    assert settings.llm_pools["vllm"].endpoints == ["http://gpu-0:8000", "http://gpu-1:8000"]
    assert settings.llm_tasks[Task.DIALOG].backend == "openai"
    assert settings.llm_tasks[Task.INTENT].backend == "local"  # untouched tasks keep their default
    assert settings.services.intent == "http://intent:9000"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SG_LLM_TASKS__DIALOG__BACKEND", "gpu")
    with pytest.raises(ValidationError, match="llm_tasks"):
        Settings(_env_file=None)


def _env_names(model: type[BaseModel], prefix: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_env_example_documents_every_setting() -> None:
    documented = Path(PROJECT_ROOT, ".env.example").read_text()
    missing = sorted(name for name in _env_names(Settings, "SG_") if f"{name}=" not in documented)
    assert missing == [], f".env.example lacks {missing}"
