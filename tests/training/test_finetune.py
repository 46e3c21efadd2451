"""The fine-tuning configs and launchers (training/finetune): offline, no GPU, no AWS, no LLaMA-Factory."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from shared.settings import PROJECT_ROOT, Settings
from training.finetune import config as cfg
from training.finetune import local, sagemaker, serving
from training.finetune.__main__ import main
from training.finetune.container import entry
from training.finetune.datasets import DATASET_DIR, DATASETS, EVAL_DATASETS

CONFIGS = cfg.CONFIG_DIR
FULL = CONFIGS / "llama2_13b_full_sft.yaml"
LORA = CONFIGS / "qwen2_5_7b_lora_sft.yaml"
SUMMARY = CONFIGS / "qwen2_5_1_5b_summary_sft.yaml"
PREDICT = CONFIGS / "qwen2_5_1_5b_summary_predict.yaml"
MERGE = CONFIGS / "merge_guide_lora.yaml"
TRAINING = (FULL, LORA, SUMMARY)
K8S_VLLM = PROJECT_ROOT / "deploy" / "k8s" / "base" / "vllm.yaml"
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
ROLE = "arn:aws:iam::111122223333:role/sagemaker-finetune"


def _deepspeed(config: dict[str, Any]) -> dict[str, Any]:
    path = PROJECT_ROOT / config["deepspeed"]
    assert path.is_file(), path
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.stem)
def test_training_configs_share_the_schedule(path: Path) -> None:
    config = cfg.load(path)
    assert (config["stage"], config["do_train"], config["bf16"]) == ("sft", True, True)
    assert config["cutoff_len"] == 4096
    assert config["num_train_epochs"] == 3.0
    assert (config["per_device_train_batch_size"], config["gradient_accumulation_steps"]) == (2, 4)
    assert config["dataset_dir"] == DATASET_DIR
    assert set(cfg.dataset_names(config)) <= set(DATASETS)
    assert "val_size" in config or "eval_dataset" in config
    assert {"model_name_or_path", "template", "output_dir", "logging_steps", "save_steps"} <= config.keys()


def test_the_guide_full_fine_tune() -> None:
    config = cfg.load(FULL)
    assert config["model_name_or_path"] == "meta-llama/Llama-2-13b-chat-hf"
    assert (config["finetuning_type"], config["template"]) == ("full", "llama2")
    assert config["learning_rate"] == 5e-5
    assert cfg.dataset_names(config) == ["guide", "extraction", "intent"]
    zero = _deepspeed(config)["zero_optimization"]
    assert zero["stage"] == 3
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "cpu"
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True  # a loadable model at the end
    ds = _deepspeed(config)
    assert ds["train_micro_batch_size_per_gpu"] == ds["gradient_accumulation_steps"] == "auto"


def test_the_lora_and_summary_variants() -> None:
    lora = cfg.load(LORA)
    assert (lora["finetuning_type"], lora["lora_target"], lora["template"]) == ("lora", "all", "qwen")
    assert lora["lora_rank"] > 0
    zero = _deepspeed(lora)["zero_optimization"]
    assert zero["stage"] == 2 and "offload_optimizer" not in zero and "offload_param" not in zero
    summary = cfg.load(SUMMARY)
    assert summary["model_name_or_path"] == "Qwen/Qwen2.5-1.5B-Instruct" and summary["template"] == "qwen"
    assert cfg.dataset_names(summary) == ["summary"]
    assert "predict_with_generate" not in summary, "LLaMA-Factory refuses generation while training"
    predict = cfg.load(PREDICT)
    assert predict["do_predict"] is True and predict["predict_with_generate"] is True and "do_train" not in predict
    assert predict["model_name_or_path"] == summary["model_name_or_path"], "the base, against the fine-tune"
    assert set(cfg.dataset_names(predict)) <= set(EVAL_DATASETS)


def test_the_merge_exports_the_lora_adapter_onto_its_base() -> None:
    merge, lora = cfg.load(MERGE), cfg.load(LORA)
    assert merge["adapter_name_or_path"] == lora["output_dir"]
    assert (merge["model_name_or_path"], merge["template"]) == (lora["model_name_or_path"], lora["template"])
    assert merge["export_legacy_format"] is False and merge["export_size"] > 0 and merge["export_dir"]
    assert local.subcommand(merge) == "export" and local.subcommand(lora) == "train"


def test_overrides() -> None:
    config = cfg.resolve(
        cfg.load(FULL), datasets="guide", model="/data/llama", overrides=cfg.parse_set(["save_steps=100", "val_size="])
    )
    assert (config["dataset"], config["model_name_or_path"], config["save_steps"]) == ("guide", "/data/llama", 100)
    assert "val_size" not in config
    assert config["deepspeed"] == str(PROJECT_ROOT / "training/finetune/deepspeed/ds_z3_offload.json")
    assert cfg.resolve(cfg.load(FULL), root=None)["deepspeed"] == cfg.load(FULL)["deepspeed"]
    with pytest.raises(cfg.ConfigError):
        cfg.parse_set(["no-equals"])


def test_local_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["local", "--config", str(FULL), "--dry-run", "--resolved-dir", str(tmp_path), "--datasets", "guide"]
    assert main(argv) == 0
    resolved = tmp_path / FULL.name
    assert capsys.readouterr().out.strip() == f"llamafactory-cli train {resolved}"
    written = yaml.safe_load(resolved.read_text("utf-8"))
    assert written["dataset"] == "guide" and Path(written["deepspeed"]).is_file()
    assert main([*argv, "--nproc", "8"]) == 0
    assert capsys.readouterr().out.strip() == f"FORCE_TORCHRUN=1 NPROC_PER_NODE=8 llamafactory-cli train {resolved}"


def test_local_fails_clearly_without_llamafactory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    assert main(["local", "--config", str(FULL), "--resolved-dir", str(tmp_path)]) == 1
    assert "llamafactory-cli is not installed" in capsys.readouterr().err


def _spec(**changes: Any) -> sagemaker.JobSpec:
    values: dict[str, Any] = {
        "job_name": "guide-full-1",
        "role_arn": ROLE,
        "bucket": "sg-ml",
        "region": "us-east-1",
        "image_uri": sagemaker.image_uri("us-east-1"),
        "model_s3": "s3://sg-ml/models/Llama-2-13b-chat-hf/",
    }
    return sagemaker.JobSpec(**(values | changes))


def _clients() -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return boto3.client("s3", **kwargs), boto3.client("sagemaker", **kwargs)


def _channel(name: str, uri: str) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "InputMode": "File"}


def test_image_uri() -> None:
    assert sagemaker.image_uri("eu-west-1", "2.3.0") == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"
    )
    assert sagemaker.image_uri("cn-north-1").startswith("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/")


def test_sagemaker_job_is_created_as_specified() -> None:
    s3, sm = _clients()
    spec = _spec()
    config = cfg.resolve(cfg.load(FULL), root=None)
    body = sagemaker.sourcedir(FULL.name, config)
    assert body == sagemaker.sourcedir(FULL.name, config), "the same bytes for the same inputs"
    expected = {
        "TrainingJobName": "guide-full-1",
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:"
            "2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker",
            "TrainingInputMode": "File",
            "MetricDefinitions": sagemaker.METRIC_DEFINITIONS,
        },
        "HyperParameters": {
            "config": '"llama2_13b_full_sft.yaml"',
            "sagemaker_program": '"entry.py"',
            "sagemaker_submit_directory": '"s3://sg-ml/shopguide/finetune/guide-full-1/source/sourcedir.tar.gz"',
            "sagemaker_region": '"us-east-1"',
            "sagemaker_job_name": '"guide-full-1"',
            "sagemaker_container_log_level": "20",
        },
        "InputDataConfig": [
            _channel("sft", "s3://sg-ml/shopguide/finetune/sft/"),
            _channel("model", "s3://sg-ml/models/Llama-2-13b-chat-hf/"),
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://sg-ml/shopguide/finetune/guide-full-1/output"},
        "ResourceConfig": {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "VolumeSizeInGB": 500},
        "StoppingCondition": {"MaxRuntimeInSeconds": 432000},
        "CheckpointConfig": {
            "S3Uri": "s3://sg-ml/shopguide/finetune/guide-full-1/checkpoints",
            "LocalPath": "/opt/ml/checkpoints",
        },
    }
    arn = "arn:aws:sagemaker:us-east-1:111122223333:training-job/guide-full-1"
    with Stubber(s3) as s3_stub, Stubber(sm) as sm_stub:
        s3_stub.add_response(
            "put_object",
            {"ETag": '"1"'},
            {"Bucket": "sg-ml", "Key": "shopguide/finetune/guide-full-1/source/sourcedir.tar.gz", "Body": body},
        )
        sm_stub.add_response("create_training_job", {"TrainingJobArn": arn}, expected)
        assert sagemaker.submit(s3, sm, spec, FULL.name, config) == arn
        s3_stub.assert_no_pending_responses()
        sm_stub.assert_no_pending_responses()

    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as tar:
        names = tar.getnames()
        shipped = yaml.safe_load(tar.extractfile(f"configs/{FULL.name}").read())  # type: ignore[union-attr]
    assert names == sorted(["entry.py", "requirements.txt", f"configs/{FULL.name}", "deepspeed/ds_z3_offload.json"])
    assert shipped == config


def test_sagemaker_request_without_model_channel_or_checkpoints() -> None:
    request = sagemaker.create_request(_spec(model_s3=None, checkpoints=False, data_s3="s3://d/sft/"), "x.yaml")
    assert request["InputDataConfig"] == [_channel("sft", "s3://d/sft/")]
    assert "CheckpointConfig" not in request


def _describe(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": "guide-full-1",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:training-job/guide-full-1",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://sg-ml/shopguide/finetune/guide-full-1/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": {"InProgress": "Training", "Completed": "Completed", "Failed": "Failed"}[status],
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "VolumeSizeInGB": 500},
        "StoppingCondition": {"MaxRuntimeInSeconds": 432000},
        "CreationTime": "2025-01-01T00:00:00Z",
        **extra,
    }


@pytest.mark.parametrize("outcome", ["Completed", "Failed"])
def test_wait_polls_until_the_job_ends(outcome: str) -> None:
    _, sm = _clients()
    sleeps: list[float] = []
    extra = {"FailureReason": "AlgorithmError: CUDA out of memory"} if outcome == "Failed" else {}
    with Stubber(sm) as stub:
        for status in ("InProgress", "InProgress", outcome):
            stub.add_response(
                "describe_training_job",
                _describe(status, **(extra if status == outcome else {})),
                {"TrainingJobName": "guide-full-1"},
            )
        if outcome == "Completed":
            job = sagemaker.wait(sm, "guide-full-1", poll_s=7, sleep=sleeps.append, log=lambda line: None)
            assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
        else:
            with pytest.raises(sagemaker.JobFailed, match="failed: AlgorithmError: CUDA out of memory"):
                sagemaker.wait(sm, "guide-full-1", poll_s=7, sleep=sleeps.append, log=lambda line: None)
        stub.assert_no_pending_responses()
    assert sleeps == [7, 7]


def test_sagemaker_command_submits_and_surfaces_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    s3, sm = _clients()
    argv = ["sagemaker", "--config", str(FULL), "--role-arn", ROLE, "--bucket", "sg-ml", "--job-name", "guide-full-1"]
    argv += ["--wait", "--poll-s", "0", "--datasets", "guide,intent"]
    with Stubber(s3) as s3_stub, Stubber(sm) as sm_stub:
        s3_stub.add_response("put_object", {"ETag": '"1"'})
        sm_stub.add_response("create_training_job", {"TrainingJobArn": "arn:job"})
        sm_stub.add_response("describe_training_job", _describe("Failed", FailureReason="ClientError: no data"))
        assert main(argv, clients=(s3, sm)) == 1
    captured = capsys.readouterr()
    assert "created arn:job" in captured.out
    assert "ClientError: no data" in captured.err


def test_sagemaker_dry_run_calls_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sagemaker", "--config", str(FULL), "--role-arn", ROLE, "--bucket", "b", "--region", "us-west-2"]
    assert main([*argv, "--job-name", "j", "--dry-run"]) == 0
    out = capsys.readouterr().out
    request = json.loads(out[out.index("{") :])
    assert request["ResourceConfig"]["InstanceType"] == "ml.p4d.24xlarge"
    assert "us-west-2" in request["AlgorithmSpecification"]["TrainingImage"]


def test_container_entry_points_the_config_at_the_job(tmp_path: Path) -> None:
    env = {
        "SM_CHANNEL_SFT": "/opt/ml/input/data/sft",
        "SM_CHANNEL_MODEL": "/opt/ml/input/data/model",
        "SM_NUM_GPUS": "8",
        "SM_HOSTS": '["algo-1", "algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
    }
    config = entry.container_config(cfg.load(FULL), env, here=Path("/opt/ml/code"))
    assert config["dataset_dir"] == "/opt/ml/input/data/sft"
    assert config["model_name_or_path"] == "/opt/ml/input/data/model"
    assert config["deepspeed"] == "/opt/ml/code/deepspeed/ds_z3_offload.json"
    assert config["output_dir"] == "/opt/ml/checkpoints"
    assert entry.torchrun_env(env) == {
        "FORCE_TORCHRUN": "1",
        "NPROC_PER_NODE": "8",
        "NNODES": "2",
        "NODE_RANK": "1",
        "MASTER_ADDR": "algo-1",
        "MASTER_PORT": "29500",
    }
    (tmp_path / "out" / "checkpoint-500").mkdir(parents=True)
    (tmp_path / "out" / "model.safetensors").write_text("w")
    entry.copy_model(tmp_path / "out", tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.safetensors"]


def _k8s_vllm_args() -> list[str]:
    docs = [doc for doc in yaml.safe_load_all(K8S_VLLM.read_text("utf-8")) if doc]
    statefulset = next(doc for doc in docs if doc["kind"] == "StatefulSet")
    return list(statefulset["spec"]["template"]["spec"]["containers"][0]["args"])


def test_k8s_vllm_serves_the_serving_config() -> None:
    config = serving.load()
    args = _k8s_vllm_args()
    assert args == serving.args(config, lora="--enable-lora" in args)


def test_compose_vllm_serves_the_serving_config() -> None:
    args = yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]["vllm"]["command"]
    assert args == serving.args(serving.load(), lora="--enable-lora" in args)


def test_the_platform_pool_asks_for_the_served_model(monkeypatch: pytest.MonkeyPatch) -> None:
    config = serving.load()
    k8s_env = yaml.safe_load((PROJECT_ROOT / "deploy" / "k8s" / "base" / "config.yaml").read_text("utf-8"))["data"]
    for key in [k for k in os.environ if k.startswith("SG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SG_LLM_POOLS", k8s_env["SG_LLM_POOLS"])
    pools = Settings(_env_file=None).llm_pools
    assert {pool.model for pool in pools.values()} == {config["served_model_name"]}


def test_served_adapters_were_trained_on_the_served_base() -> None:
    config = serving.load()
    lora = cfg.load(LORA)
    assert Path(config["model"]).name == Path(lora["model_name_or_path"]).name
    assert config["lora"]["max_lora_rank"] >= lora["lora_rank"]
    adapters = {Path(path).name for path in serving.lora_modules(config).values()}
    assert Path(lora["output_dir"]).name in adapters
    assert config["served_model_name"] not in serving.lora_modules(config)
