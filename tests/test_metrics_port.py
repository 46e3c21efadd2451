"""``SG_METRICS_PORT``: metrics on a port of their own, not on the app's public one; and ``probe``, the
containers' health check. The gateway runs as a container runs it (``python -m shared.suite serve gateway``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.tier1.app import create_app
from shared.settings import PROJECT_ROOT, Settings
from tests.conftest import app_client, free_port


@pytest.mark.parametrize(("metrics_port", "status"), [(None, 200), (9100, 404)])
async def test_the_public_port_serves_metrics_only_without_a_metrics_port(
    settings: Settings, metrics_port: int | None, status: int
) -> None:
    app = create_app(settings.model_copy(update={"metrics_port": metrics_port}))
    async with app_client(app) as client:
        response = await client.get("/metrics")
        assert response.status_code == status
        assert (await client.get("/healthz")).status_code == 200


def _env(**values: str) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("SG_")},
        "SG_CACHE_BACKEND": "memory",
        "SG_LOG_JSON": "false",
        **values,
    }


def _probe(env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "shared.suite", "probe", "gateway"]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, timeout=60, check=False).returncode


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The gateway process: its public URL, its metrics URL and its environment."""
    public, metrics = free_port(), free_port()
    env = _env(SG_SERVICES__GATEWAY=f"http://127.0.0.1:{public}", SG_METRICS_PORT=str(metrics))
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.suite", "serve", "gateway"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{public}"
            for _ in range(600):
                if proc.poll() is not None:
                    pytest.fail(f"the gateway exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            yield url, f"http://127.0.0.1:{metrics}", env
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_metrics_are_served_on_their_own_port(gateway: tuple[str, str, dict[str, str]]) -> None:
    public, metrics, _ = gateway
    assert httpx.get(f"{public}/healthz").status_code == 200
    assert httpx.get(f"{public}/metrics").status_code == 404
    scraped = httpx.get(f"{metrics}/metrics")
    assert scraped.status_code == 200
    assert 'sg_http_requests_total{method="GET",route="/healthz",service="gateway",status="200"}' in scraped.text
    # The 404 above was counted too: the metrics port sees the same registry as the app.
    assert 'route="unmatched",service="gateway",status="404"' in scraped.text


def test_probe_says_whether_the_app_is_ready(gateway: tuple[str, str, dict[str, str]]) -> None:
    _, _, env = gateway
    assert _probe(env) == 0
    assert _probe({**env, "SG_SERVICES__GATEWAY": f"http://127.0.0.1:{free_port()}"}) == 1
