"""Entry point of the SageMaker training job (``python -m training.finetune sagemaker``): runs in the PyTorch
container, from the unpacked sourcedir.tar.gz, with only this file, requirements.txt (installed by the
container first: LLaMA-Factory and DeepSpeed), configs/ and deepspeed/ beside it. It imports nothing of the
platform.

It points the config at the container's paths (the ``sft`` channel for the datasets, the ``model`` channel for
the base weights when there is one, this folder for the DeepSpeed file, /opt/ml/checkpoints for the
checkpoints, which SageMaker syncs to S3 when the job has a CheckpointConfig and restores on a restart, and
LLaMA-Factory resumes from), runs ``llamafactory-cli train`` under torchrun on every GPU of every host, then
copies the final model (not the checkpoints) to /opt/ml/model, which SageMaker uploads as model.tar.gz.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CHECKPOINT_DIR = "/opt/ml/checkpoints"
MASTER_PORT = "29500"


def container_config(config: dict[str, Any], env: dict[str, str], here: Path = HERE) -> dict[str, Any]:
    out = dict(config)
    if "SM_CHANNEL_SFT" in env:
        out["dataset_dir"] = env["SM_CHANNEL_SFT"]
    if "SM_CHANNEL_MODEL" in env:
        out["model_name_or_path"] = env["SM_CHANNEL_MODEL"]
    if out.get("deepspeed"):
        out["deepspeed"] = str(here / "deepspeed" / Path(out["deepspeed"]).name)
    out["output_dir"] = env.get("SM_CHECKPOINT_DIR", CHECKPOINT_DIR)
    return out


def torchrun_env(env: dict[str, str]) -> dict[str, str]:
    """LLaMA-Factory's own torchrun launch (FORCE_TORCHRUN), across the job's hosts."""
    hosts = json.loads(env.get("SM_HOSTS", '["algo-1"]'))
    current = env.get("SM_CURRENT_HOST", hosts[0])
    return {
        "FORCE_TORCHRUN": "1",
        "NPROC_PER_NODE": env.get("SM_NUM_GPUS", "1"),
        "NNODES": str(len(hosts)),
        "NODE_RANK": str(hosts.index(current)),
        "MASTER_ADDR": hosts[0],
        "MASTER_PORT": MASTER_PORT,
    }


def copy_model(output_dir: Path, model_dir: Path) -> None:
    """The final weights, tokenizer and reports; checkpoint-N folders stay behind (they go to S3 as
    checkpoints, not in model.tar.gz)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    for item in output_dir.iterdir():
        if item.name.startswith("checkpoint-"):
            continue
        if item.is_dir():
            shutil.copytree(item, model_dir / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, model_dir / item.name)


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="a file of configs/ beside this script")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and the command")
    args, _unknown = parser.parse_known_args(argv)  # SageMaker may pass hyperparameters of its own
    env = dict(os.environ) if env is None else env
    config = yaml.safe_load((HERE / "configs" / args.config).read_text("utf-8"))
    config = container_config(config, env)
    resolved = HERE / "resolved" / args.config  # not in output_dir: LLaMA-Factory wants it empty or resumable
    run_env = torchrun_env(env)
    argv_run = ["llamafactory-cli", "train", str(resolved)]
    print(yaml.safe_dump(config, sort_keys=False), flush=True)
    print(" ".join(f"{k}={v}" for k, v in run_env.items()), *argv_run, flush=True)
    if args.dry_run:
        return 0
    resolved.parent.mkdir(parents=True, exist_ok=True)
    resolved.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    code = subprocess.run(argv_run, env={**env, **run_env}, check=False).returncode
    if code == 0 and run_env["NODE_RANK"] == "0":
        copy_model(Path(config["output_dir"]), Path(env.get("SM_MODEL_DIR", "/opt/ml/model")))
    return code


if __name__ == "__main__":
    sys.exit(main())
