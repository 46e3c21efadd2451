"""A SageMaker training job for a fine-tuning config, through boto3 (no SageMaker SDK).

What the SageMaker PyTorch estimator would do, spelt out: the source dir (``container/``: entry.py and its
requirements, the config, the DeepSpeed files) goes to S3 as sourcedir.tar.gz; ``create_training_job`` runs
the PyTorch deep learning container image with script-mode hyperparameters (``sagemaker_program``,
``sagemaker_submit_directory``) that make the container unpack it and run ``entry.py --config <yaml>``; the
SFT datasets come in as the ``sft`` channel, the base weights as the optional ``model`` channel (else the
config's hub id is downloaded), checkpoints sync to S3, and the final model lands in ``S3OutputPath``.
``wait`` polls ``describe_training_job`` until the job ends.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.settings import PROJECT_ROOT
from training.finetune import config as cfg

CONTAINER_DIR = cfg.FINETUNE_DIR / "container"
ENTRY_POINT = "entry.py"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# The deep learning containers' registry account; these regions have their own.
DLC_ACCOUNT = "763104351884"
DLC_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "eu-central-2": "380420809688",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
}
# LLaMA-Factory logs the trainer's dicts: {'loss': 1.23, 'grad_norm': ..., 'learning_rate': ..., 'epoch': ...}.
METRIC_DEFINITIONS = [
    {"Name": "train:loss", "Regex": r"'loss': ([0-9.e+-]+)"},
    {"Name": "eval:loss", "Regex": r"'eval_loss': ([0-9.e+-]+)"},
    {"Name": "train:learning_rate", "Regex": r"'learning_rate': ([0-9.e+-]+)"},
]
TERMINAL = {"Completed", "Failed", "Stopped"}


class JobFailed(RuntimeError):
    """The training job ended without completing."""


def image_uri(
    region: str,
    framework_version: str = "2.3.0",
    py_version: str = "py311",
    cuda_version: str = "cu121",
    os_version: str = "ubuntu20.04",
) -> str:
    """The PyTorch training DLC for SageMaker, GPU build, e.g.
    763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker."""
    account = DLC_ACCOUNTS.get(region, DLC_ACCOUNT)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    tag = f"{framework_version}-gpu-{py_version}-{cuda_version}-{os_version}-sagemaker"
    return f"{account}.dkr.ecr.{region}.{domain}/pytorch-training:{tag}"


@dataclass(frozen=True)
class JobSpec:
    job_name: str
    role_arn: str
    bucket: str
    region: str
    image_uri: str
    prefix: str = "shopguide/finetune"
    instance_type: str = "ml.p4d.24xlarge"
    instance_count: int = 1
    volume_gb: int = 500
    max_runtime_s: int = 5 * 24 * 3600
    data_s3: str | None = None  # default: s3://<bucket>/<prefix>/sft/
    model_s3: str | None = None  # base weights; default: the config's hub id, downloaded in the job
    checkpoints: bool = True

    def s3(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, self.prefix.strip("/"), *parts])

    @property
    def sourcedir_key(self) -> str:
        return f"{self.prefix.strip('/')}/{self.job_name}/source/sourcedir.tar.gz"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def sourcedir(config_name: str, config: dict[str, Any], root: Path = PROJECT_ROOT) -> bytes:
    """sourcedir.tar.gz, byte for byte the same for the same inputs (no times, owners or order from disk)."""
    files = {
        ENTRY_POINT: (CONTAINER_DIR / ENTRY_POINT).read_bytes(),
        "requirements.txt": (CONTAINER_DIR / "requirements.txt").read_bytes(),
        f"configs/{config_name}": cfg.dump(config).encode("utf-8"),
    }
    if deepspeed := config.get("deepspeed"):
        path = Path(deepspeed) if Path(deepspeed).is_absolute() else root / deepspeed
        if not path.is_file():
            raise cfg.ConfigError(f"the DeepSpeed config {deepspeed} does not exist")
        files[f"deepspeed/{path.name}"] = path.read_bytes()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name in sorted(files):
            _add(tar, name, files[name])
    return buffer.getvalue()


def create_request(spec: JobSpec, config_name: str) -> dict[str, Any]:
    """The create_training_job arguments. Hyperparameter values are JSON, as the SageMaker SDK writes them
    and the container's training toolkit reads them."""
    hyperparameters = {
        "config": config_name,
        "sagemaker_program": ENTRY_POINT,
        "sagemaker_submit_directory": f"s3://{spec.bucket}/{spec.sourcedir_key}",
        "sagemaker_region": spec.region,
        "sagemaker_job_name": spec.job_name,
        "sagemaker_container_log_level": 20,
    }
    channels = [_channel("sft", spec.data_s3 or spec.s3("sft") + "/")]
    if spec.model_s3:
        channels.append(_channel("model", spec.model_s3))
    request: dict[str, Any] = {
        "TrainingJobName": spec.job_name,
        "RoleArn": spec.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": METRIC_DEFINITIONS,
        },
        "HyperParameters": {key: json.dumps(value) for key, value in hyperparameters.items()},
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": spec.s3(spec.job_name, "output")},
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_s},
    }
    if spec.checkpoints:
        request["CheckpointConfig"] = {
            "S3Uri": spec.s3(spec.job_name, "checkpoints"),
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    return request


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "InputMode": "File",
    }


def submit(s3: Any, sagemaker: Any, spec: JobSpec, config_name: str, config: dict[str, Any]) -> str:
    """Uploads the source dir, creates the job; its ARN."""
    s3.put_object(Bucket=spec.bucket, Key=spec.sourcedir_key, Body=sourcedir(config_name, config))
    return str(sagemaker.create_training_job(**create_request(spec, config_name))["TrainingJobArn"])


def wait(
    sagemaker: Any,
    job_name: str,
    *,
    poll_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Polls until the job ends: its description when Completed, JobFailed with SageMaker's reason else."""
    last = None
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
        status = job["TrainingJobStatus"]
        shown = (status, job.get("SecondaryStatus"))
        if shown != last:
            log(f"{job_name}: {status} ({job.get('SecondaryStatus', '-')})")
            last = shown
        if status == "Completed":
            return dict(job)
        if status in TERMINAL:
            reason = job.get("FailureReason") or "no reason given"
            raise JobFailed(f"training job {job_name} {status.lower()}: {reason}")
        sleep(poll_s)
