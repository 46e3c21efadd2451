"""The whole suite started as `make run` starts it (separate processes, real HTTP) on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from shared.suite import APPS
from tests.conftest import free_port

E2E_KEY = "e2e-key"


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in APPS}
    env = {
        **os.environ,
        **{f"SG_SERVICES__{name.upper()}": url for name, url in urls.items()},
        "SG_API_KEYS": f'["{E2E_KEY}"]',
    }
    log_path = tmp_path_factory.mktemp("suite") / "suite.log"
    log_file = log_path.open("wb")  # a file, not a pipe: eight chatty processes would fill a pipe and block
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.suite", "run"], env=env, stdout=log_file, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{urls['gateway']}/readyz", timeout=1).status_code == 200 and all(
                    httpx.get(f"{url}/healthz", timeout=1).status_code == 200 for url in urls.values()
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"the suite did not come up:\n{log_path.read_text()[-3000:]}")
        yield {**urls, "log": str(log_path)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
