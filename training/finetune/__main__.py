"""``python -m training.finetune local|sagemaker|serve-args``: see the package's docstring and the README."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from training.finetune import config as cfg
from training.finetune import local, sagemaker, serving


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="a LLaMA-Factory YAML (training/finetune/configs)")
    parser.add_argument("--datasets", help="comma-separated dataset names, instead of the config's")
    parser.add_argument("--model", help="model_name_or_path, instead of the config's")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any other key; null removes it"
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m training.finetune", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    run_local = commands.add_parser("local", help="llamafactory-cli on this machine's GPUs")
    _config_args(run_local)
    run_local.add_argument("--nproc", type=int, help="GPUs: torchrun through FORCE_TORCHRUN=1 NPROC_PER_NODE=N")
    run_local.add_argument("--resolved-dir", type=Path, default=local.RESOLVED_DIR, help="where the resolved YAML goes")

    job = commands.add_parser("sagemaker", help="a SageMaker training job through boto3")
    _config_args(job)
    job.add_argument("--role-arn", required=True, help="the job's execution role")
    job.add_argument("--bucket", required=True, help="S3 bucket for the source dir, data, checkpoints and model")
    job.add_argument("--prefix", default="shopguide/finetune", help="S3 key prefix in the bucket")
    job.add_argument("--region", help="default: the AWS configuration's")
    job.add_argument("--job-name", help="default: the config's name and the UTC time")
    job.add_argument("--image-uri", help="default: the PyTorch DLC of --framework-version etc.")
    job.add_argument("--framework-version", default="2.3.0")
    job.add_argument("--py-version", default="py311")
    job.add_argument("--cuda-version", default="cu121")
    job.add_argument("--os-version", default="ubuntu20.04")
    job.add_argument("--instance-type", default="ml.p4d.24xlarge")
    job.add_argument("--instance-count", type=int, default=1)
    job.add_argument("--volume-gb", type=int, default=500)
    job.add_argument("--max-runtime-s", type=int, default=5 * 24 * 3600)
    job.add_argument("--data-s3", help="the SFT datasets' S3 prefix (default s3://BUCKET/PREFIX/sft/)")
    job.add_argument("--model-s3", help="base weights' S3 prefix, as the 'model' channel (default: hub download)")
    job.add_argument("--no-checkpoints", action="store_true", help="no CheckpointConfig (no resume on restart)")
    job.add_argument("--wait", action="store_true", help="poll describe_training_job until the job ends")
    job.add_argument("--poll-s", type=float, default=60.0)

    serve = commands.add_parser("serve-args", help="the vLLM server's arguments (configs/vllm_serving.yaml)")
    serve.add_argument("--config", type=Path, default=serving.SERVING_CONFIG)
    serve.add_argument("--lora", action="store_true", help="with --enable-lora and the adapters")
    return root


def _job_name(config_path: Path) -> str:
    stem = "".join(c if c.isalnum() else "-" for c in config_path.stem)[:40].strip("-")
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def run_sagemaker(args: argparse.Namespace, clients: tuple[Any, Any] | None = None) -> int:
    config = cfg.resolve(
        cfg.load(args.config), datasets=args.datasets, model=args.model, overrides=cfg.parse_set(args.set), root=None
    )
    region = args.region or (clients[1].meta.region_name if clients else None)
    if region is None:
        import boto3

        region = boto3.session.Session().region_name
    if region is None:
        raise cfg.ConfigError("no AWS region: pass --region or configure one")
    spec = sagemaker.JobSpec(
        job_name=args.job_name or _job_name(args.config),
        role_arn=args.role_arn,
        bucket=args.bucket,
        region=region,
        image_uri=args.image_uri
        or sagemaker.image_uri(region, args.framework_version, args.py_version, args.cuda_version, args.os_version),
        prefix=args.prefix,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        volume_gb=args.volume_gb,
        max_runtime_s=args.max_runtime_s,
        data_s3=args.data_s3,
        model_s3=args.model_s3,
        checkpoints=not args.no_checkpoints,
    )
    if args.dry_run:
        print(f"put_object s3://{spec.bucket}/{spec.sourcedir_key}")
        print(json.dumps(sagemaker.create_request(spec, args.config.name), indent=2))
        return 0
    if clients is None:
        import boto3

        session = boto3.session.Session(region_name=region)
        clients = (session.client("s3"), session.client("sagemaker"))
    s3, sm = clients
    arn = sagemaker.submit(s3, sm, spec, args.config.name, config)
    print(f"created {arn}")
    if args.wait:
        job = sagemaker.wait(sm, spec.job_name, poll_s=args.poll_s)
        print(f"model: {job.get('ModelArtifacts', {}).get('S3ModelArtifacts')}")
    return 0


def main(argv: list[str] | None = None, clients: tuple[Any, Any] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "local":
            return local.launch(
                args.config,
                datasets=args.datasets,
                model=args.model,
                overrides=cfg.parse_set(args.set),
                nproc=args.nproc,
                dry_run=args.dry_run,
                resolved_dir=args.resolved_dir,
            )
        if args.command == "sagemaker":
            return run_sagemaker(args, clients)
        print("\n".join(serving.args(serving.load(args.config), lora=args.lora)))
        return 0
    except (cfg.ConfigError, local.LauncherError, sagemaker.JobFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
