"""Every prompt file is a valid template: a stray "$" would only fail when the LLM path first runs."""

from __future__ import annotations

from pathlib import Path
from string import Template

import pytest

from shared.prompts import load_prompt
from shared.settings import PROJECT_ROOT

PROMPTS = sorted(Path(PROJECT_ROOT, "services").glob("*/prompts/*.txt"))


def test_there_are_prompts() -> None:
    assert len(PROMPTS) >= 5


@pytest.mark.parametrize("path", PROMPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_prompt_is_a_valid_template(path: Path) -> None:
    template = Template(path.read_text("utf-8"))
    assert template.is_valid(), f"{path}: a '$' that is not a placeholder must be written '$$'"
    prompt = load_prompt(f"services.{path.parent.parent.name}", path.stem)
    rendered = prompt.render(**{name: f"<{name}>" for name in template.get_identifiers()})
    assert "$" not in rendered.replace("$$", "") or "$" in path.read_text("utf-8").replace("$$", "")
    assert prompt.version.startswith(f"{path.stem}@")
