"""Starting the suite: one process per app, on the ports of ``Settings.services``.

``python -m shared.suite run`` starts everything (what ``make run`` does) and stops it all on Ctrl-C;
``python -m shared.suite serve intent`` starts one app (what a container runs), ``probe intent`` is its health
check. An app served so drains on SIGTERM (``shared.drain``): requests in flight get ``SG_DRAIN_TIMEOUT_S`` to
finish before it stops; SIGINT (Ctrl-C), or a second signal, ends them at once, streams with their ``shutdown``
error event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from types import FrameType
from urllib.parse import urlsplit

import httpx
import uvicorn
from prometheus_client import start_http_server
from uvicorn.config import STARTUP_FAILURE

from shared.drain import DRAIN_KEY, Drain
from shared.settings import Settings, get_settings
from shared.telemetry import configure_logging

# App name -> module with its create_app factory. The name is also its key in Settings.services.
APPS: dict[str, str] = {
    "catalog": "services.catalog.app",
    "intent": "services.intent.app",
    "extraction": "services.extraction.app",
    "dialog": "services.dialog.app",
    "copywriting": "services.copywriting.app",
    "summary": "services.summary.app",
    "router": "gateway.router.app",
    "gateway": "gateway.tier1.app",
}


# After the drain: how long stopped requests get to send their last word, then uvicorn's own grace for
# whatever is left (a JSON body still being relayed). A pod's terminationGracePeriodSeconds must cover the
# preStop sleep, SG_DRAIN_TIMEOUT_S and these (tests/test_deploy.py checks it).
STOP_GRACE_S = 2
GRACEFUL_SHUTDOWN_S = 5


def port_of(settings: Settings, name: str) -> int:
    return urlsplit(getattr(settings.services, name)).port or 80


class DrainingServer(uvicorn.Server):
    """uvicorn, except that a signal first drains the app (``shared.drain``) and only then shuts it down:
    SIGTERM waits up to ``drain_timeout_s`` for the requests in flight, SIGINT or a second signal does not."""

    def __init__(self, config: uvicorn.Config, drain_timeout_s: float) -> None:
        super().__init__(config)
        self.drain_timeout_s = drain_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        drain = self.lifespan.state.get(DRAIN_KEY) if self.started else None
        if self._loop is None or not isinstance(drain, Drain) or self.should_exit:
            super().handle_exit(sig, frame)
            return
        wait_s = self.drain_timeout_s if sig == signal.SIGTERM else 0.0
        # A signal handler runs between two bytecodes of the loop's thread: hand over to the loop.
        self._loop.call_soon_threadsafe(self._drain, drain, wait_s)

    def _drain(self, drain: Drain, wait_s: float) -> None:
        if self._draining is not None:
            drain.stop()
            return
        # Idle keep-alive connections close now, busy ones after their response, so that clients reconnect,
        # to another instance; the listener stays open for /readyz to say "draining".
        for connection in list(self.server_state.connections):
            connection.shutdown()
        self._draining = asyncio.create_task(self._drain_then_exit(drain, wait_s))

    async def _drain_then_exit(self, drain: Drain, wait_s: float) -> None:
        try:
            await drain.run(wait_s, STOP_GRACE_S)
        finally:
            self.should_exit = True


def serve(name: str, host: str | None = None) -> None:
    settings = get_settings()
    configure_logging(name, settings.log_level, settings.log_json)
    config = uvicorn.Config(
        f"{APPS[name]}:create_app",
        factory=True,
        host=host or settings.host,
        port=port_of(settings, name),
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    if settings.metrics_port is not None:
        # prometheus_client's own server, in a thread: it answers scrapes while the app drains, too.
        start_http_server(settings.metrics_port, addr=host or settings.host)
    server = DrainingServer(config, settings.drain_timeout_s)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def probe(name: str) -> int:
    """0 when the app this container serves is ready, 1 otherwise: a container health check (the image has
    no curl), which also tells `depends_on: service_healthy` when the app can take requests."""
    url = f"http://127.0.0.1:{port_of(get_settings(), name)}/readyz"
    try:
        return 0 if httpx.get(url, timeout=3).status_code == 200 else 1
    except httpx.HTTPError:
        return 1


@contextlib.contextmanager
def serve_in_threads(
    settings: Settings, names: list[str] | None = None, ready_timeout_s: float = 120.0
) -> Iterator[Settings]:
    """Start apps in this process, each on a real uvicorn server on a free port, services before the router
    and the gateway; yields the settings with every started app's URL. For tests and benchmarks."""
    from shared.simulator.server import run_in_thread

    wanted = names or list(APPS)
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for name in APPS:  # APPS lists services first: the router and gateway get their URLs
            if name not in wanted:
                continue
            current = settings.model_copy(update={"services": settings.services.model_copy(update=urls)})
            app = importlib.import_module(APPS[name]).create_app(current)
            urls[name] = stack.enter_context(run_in_thread(app)).url
        # Ready, not just started: timings measured against an app still loading its models mean nothing.
        for name, url in urls.items():
            _wait_ready(name, url, ready_timeout_s)
        yield settings.model_copy(update={"services": settings.services.model_copy(update=urls)})


def _wait_ready(name: str, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} at {url} was not ready within {timeout_s:g}s")
        time.sleep(0.1)


def _wait_healthy(settings: Settings, procs: dict[str, subprocess.Popen[bytes]], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    pending = set(procs)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            if procs[name].poll() is not None:
                print(f"!! {name} exited with code {procs[name].returncode}", file=sys.stderr)
                return False
            try:
                if httpx.get(f"{getattr(settings.services, name)}/healthz", timeout=0.5).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    return not pending


def _stop(procs: dict[str, subprocess.Popen[bytes]], drain_timeout_s: float) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()  # each app drains on SIGTERM (DrainingServer)
    deadline = time.monotonic() + drain_timeout_s + STOP_GRACE_S + GRACEFUL_SHUTDOWN_S + 5
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_all(startup_timeout_s: float = 120.0) -> int:
    # Ctrl-C and a process manager's SIGTERM both stop the whole suite, also when the shell that started
    # us in the background left SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = get_settings()
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "shared.suite", "serve", name], env=os.environ.copy())
        for name in APPS
    }
    try:
        if not _wait_healthy(settings, procs, startup_timeout_s):
            print("!! the suite did not start; see the logs above", file=sys.stderr)
            return 1
        key = settings.api_keys[0] if settings.api_keys else "<key>"
        print("\nShopping-guide suite is up:", flush=True)
        for name in APPS:
            print(f"  {name:<12} {getattr(settings.services, name)}   (docs: /docs)")
        print(
            f"\nTry:\n  curl -s {settings.services.gateway}/v1/chat -H 'Authorization: Bearer {key}' "
            "-H 'Content-Type: application/json' -d '{\"message\": \"I want a phone with a good camera\"}'\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for proc in procs.values()):
            time.sleep(0.5)
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        print(f"!! {', '.join(dead)} stopped; stopping the suite", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(procs, settings.drain_timeout_s)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.suite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start every app")
    one = commands.add_parser("serve", help="start one app")
    one.add_argument("name", choices=sorted(APPS))
    one.add_argument("--host", default=None)
    check = commands.add_parser("probe", help="exit 0 when the app on this host is ready (a health check)")
    check.add_argument("name", choices=sorted(APPS))
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.name, args.host)
    elif args.command == "probe":
        sys.exit(probe(args.name))
    else:
        sys.exit(run_all())


if __name__ == "__main__":
    main()
