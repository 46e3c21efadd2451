"""``python -m shared.simulator``: serve the LLM simulator."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from shared.simulator.app import create_app
from shared.simulator.config import SimConfig


def parse_args(argv: Sequence[str] | None = None) -> tuple[SimConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m shared.simulator", description="An OpenAI-compatible LLM simulator for tests and benchmarks."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="delay before the first token")
    parser.add_argument("--itl-ms", type=float, default=0.0, help="delay between tokens")
    reply = parser.add_mutually_exclusive_group()
    reply.add_argument("--reply", help="fixed reply text")
    reply.add_argument("--echo", action="store_true", help="answer with the last user message")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered with HTTP 500")
    parser.add_argument("--hang-rate", type=float, default=0.0, help="share of requests never answered")
    parser.add_argument("--cut-after", type=int, help="drop streams after N tokens, without [DONE]")
    parser.add_argument("--seed", type=int, help="seed for the error and hang draws")
    parser.add_argument("--model-name", default=SimConfig.model_fields["model_name"].default)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    options = {
        "model_name": args.model_name,
        "ttft_ms": args.ttft_ms,
        "itl_ms": args.itl_ms,
        "echo": args.echo,
        "error_rate": args.error_rate,
        "hang_rate": args.hang_rate,
        "cut_after": args.cut_after,
        "seed": args.seed,
    }
    if args.reply is not None:
        options["reply"] = args.reply
    return SimConfig(**options), args


def main(argv: Sequence[str] | None = None) -> None:
    config, args = parse_args(argv)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
