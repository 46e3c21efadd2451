"""Running a config on this machine's GPUs: ``llamafactory-cli train|export <resolved yaml>``.

The config is resolved first (overrides applied, paths made absolute) and written beside the others under
``var/finetune/launch/``, so the run does not depend on the working directory and the file records what ran.
Several GPUs: LLaMA-Factory starts torchrun itself when ``FORCE_TORCHRUN=1``, one process per GPU
(``NPROC_PER_NODE``), which DeepSpeed needs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.settings import PROJECT_ROOT
from training.finetune import config as cfg

CLI = "llamafactory-cli"
RESOLVED_DIR = PROJECT_ROOT / "var" / "finetune" / "launch"


class LauncherError(RuntimeError):
    """The run cannot start here."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        env = [f"{key}={shlex.quote(value)}" for key, value in sorted(self.env.items())]
        return " ".join([*env, *map(shlex.quote, self.argv)])


def subcommand(config: dict[str, Any]) -> str:
    """``export`` for a merge config (it names an export_dir), ``train`` for the rest (do_predict included)."""
    return "export" if "export_dir" in config else "train"


def command(config: dict[str, Any], path: Path, nproc: int | None = None) -> Command:
    env: dict[str, str] = {}
    if nproc is not None:
        if nproc < 1:
            raise LauncherError(f"--nproc must be at least 1, not {nproc}")
        env = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": str(nproc)}
    return Command([CLI, subcommand(config), str(path)], env)


def write_resolved(config: dict[str, Any], name: str, directory: Path = RESOLVED_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(cfg.dump(config), "utf-8")
    return path


def launch(
    config_path: Path,
    *,
    datasets: str | None = None,
    model: str | None = None,
    overrides: dict[str, Any] | None = None,
    nproc: int | None = None,
    dry_run: bool = False,
    resolved_dir: Path = RESOLVED_DIR,
) -> int:
    config = cfg.resolve(cfg.load(config_path), datasets=datasets, model=model, overrides=overrides)
    if (deepspeed := config.get("deepspeed")) and not Path(deepspeed).is_file():
        raise LauncherError(f"the DeepSpeed config {deepspeed} does not exist")
    path = write_resolved(config, config_path.name, resolved_dir)
    cmd = command(config, path, nproc)
    print(cmd.shell())
    if dry_run:
        return 0
    if shutil.which(CLI) is None:
        raise LauncherError(
            f"{CLI} is not installed here: pip install 'llamafactory[torch,metrics,deepspeed]' on a GPU machine "
            "(the platform's environment leaves it out on purpose), or submit the job with `sagemaker`"
        )
    return subprocess.run(cmd.argv, env={**os.environ, **cmd.env}, check=False).returncode
