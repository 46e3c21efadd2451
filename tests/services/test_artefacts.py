"""The NLU services load the local engines' artefacts at start and never build them: without, they do not start."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.engines.artefacts import ArtefactError
from shared.settings import PROJECT_ROOT, Settings
from shared.suite import APPS
from tests.conftest import app_client


@pytest.mark.parametrize("name", ["intent", "extraction"])
async def test_start_fails_without_artefacts(name: str, settings: Settings, tmp_path: Path) -> None:
    app = importlib.import_module(APPS[name]).create_app(settings.model_copy(update={"data_dir": tmp_path}))
    with pytest.raises(ArtefactError, match=r"models/intent\.npz is missing: build it with `make models`"):
        async with app_client(app):
            pass
    assert not (tmp_path / "models").exists()  # nothing was trained in its place


def test_a_served_service_exits_naming_make_models(tmp_path: Path) -> None:
    """What an operator sees: the process stops at start-up, and its log says what to run."""
    env = {**os.environ, "SG_DATA_DIR": str(tmp_path), "SG_LOG_JSON": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "shared.suite", "serve", "intent"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "intent.npz is missing: build it with `make models`" in done.stdout
