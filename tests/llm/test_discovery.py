"""A pool found in DNS (``PoolSettings.dns``): replicas join and leave as the name's addresses change, and a
request on a replica that left finishes there.

Real simulators on two loopback addresses (127.0.0.1 and 127.0.0.2, one port) stand for two pods behind a
headless Service; the loop's ``getaddrinfo`` answers for the Service's name from a list the test changes,
every other name is resolved for real.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from shared.llm import ChatRequest, LLMUnavailable, OpenAICompatBackend
from shared.llm.discovery import endpoint_url
from shared.llm.metrics import ENDPOINT_UP
from shared.settings import PoolSettings
from shared.simulator import SimConfig, create_app, run_in_thread

from .helpers import Sim, eventually, pool_settings

NAME = "vllm.shopguide.svc.cluster.local"


class Resolver:
    """What the name resolves to now: a list of addresses, or None for a failed lookup."""

    def __init__(self) -> None:
        self.addresses: list[str] | None = []
        self.lookups = 0

    async def getaddrinfo(self, real: Callable[..., Any], host: Any, port: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return await real(host, port, **kwargs)
        self.lookups += 1
        if self.addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))) for address in self.addresses]


@pytest.fixture
def pods() -> Iterator[tuple[Sim, Sim]]:
    """Two simulators on one port, at 127.0.0.1 and 127.0.0.2 (both loopback on Linux)."""
    with httpx.Client() as control, run_in_thread(create_app(SimConfig(reply="one"))) as one:
        with run_in_thread(create_app(SimConfig(reply="two")), host="127.0.0.2", port=one.port) as two:
            yield Sim(one, control), Sim(two, control)


@pytest.fixture
async def resolver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Resolver]:
    loop = asyncio.get_running_loop()
    fake, real = Resolver(), loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        return await fake.getaddrinfo(real, host, port, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    yield fake


@pytest.fixture
async def discovered(
    pods: tuple[Sim, Sim], resolver: Resolver, make_backend: Callable[..., OpenAICompatBackend]
) -> OpenAICompatBackend:
    """A started backend whose pool is the name; health probes every 50 ms, lookups every 50 ms."""
    resolver.addresses = ["127.0.0.1", "127.0.0.2"]
    backend = make_backend(name="dns", endpoints=[], dns=f"{NAME}:{pods[0].server.port}", dns_interval_s=0.05)
    await backend.start()
    await eventually(lambda: len(backend.pool.snapshot()) == 2)
    return backend


def _urls(backend: OpenAICompatBackend) -> set[str]:
    return {entry["url"] for entry in backend.pool.snapshot()}


async def test_the_addresses_become_the_endpoints(
    discovered: OpenAICompatBackend, pods: tuple[Sim, Sim], chat_request: Callable[..., ChatRequest]
) -> None:
    one, two = pods
    assert _urls(discovered) == {one.url, two.url}
    replies = [(await discovered.complete(chat_request())).text for _ in range(4)]
    assert sorted(replies) == ["one", "one", "two", "two"]  # least outstanding, ties round-robin: both serve
    assert await discovered.ready()


async def test_a_replica_that_leaves_finishes_its_stream(
    discovered: OpenAICompatBackend,
    pods: tuple[Sim, Sim],
    resolver: Resolver,
    chat_request: Callable[..., ChatRequest],
) -> None:
    one, two = pods
    reply = " ".join(f"w{i}" for i in range(30))
    for pod in pods:
        pod.configure(reply=reply, itl_ms=20)
    stream = discovered.stream(chat_request())
    first = await anext(stream)
    on = one if one.stats()["in_flight"] else two
    leaving_url, staying = on.url, (two if on is one else one)

    resolver.addresses = [staying.url.removeprefix("http://").split(":")[0]]
    await eventually(lambda: _urls(discovered) == {staying.url})
    assert ("dns", leaving_url) not in {tuple(s.labels.values()) for m in ENDPOINT_UP.collect() for s in m.samples}

    rest = [delta async for delta in stream]  # the stream on the replica that left runs to its end
    assert "".join([first, *rest]).split() == reply.split()
    assert on.stats()["completed"] == 1 and on.stats()["cancelled"] == 0
    before = on.stats()["requests"]
    for _ in range(3):
        await discovered.complete(chat_request())
    assert on.stats()["requests"] == before, "no new request goes to a replica that left"


async def test_a_replica_that_joins_takes_requests(
    pods: tuple[Sim, Sim],
    resolver: Resolver,
    make_backend: Callable[..., OpenAICompatBackend],
    chat_request: Callable[..., ChatRequest],
) -> None:
    one, two = pods
    resolver.addresses = ["127.0.0.1"]
    backend = make_backend(name="dns", endpoints=[], dns=f"{NAME}:{one.server.port}", dns_interval_s=0.05)
    await backend.start()
    await eventually(lambda: _urls(backend) == {one.url})
    resolver.addresses = ["127.0.0.1", "127.0.0.2"]
    await eventually(lambda: _urls(backend) == {one.url, two.url})
    replies = {(await backend.complete(chat_request())).text for _ in range(4)}
    assert replies == {"one", "two"}


async def test_a_failed_lookup_keeps_the_endpoints(discovered: OpenAICompatBackend, resolver: Resolver) -> None:
    before, lookups = _urls(discovered), resolver.lookups
    resolver.addresses = None
    await eventually(lambda: resolver.lookups >= lookups + 3)
    assert _urls(discovered) == before


async def test_before_the_first_answer_the_pool_is_unavailable(
    pods: tuple[Sim, Sim],
    resolver: Resolver,
    make_backend: Callable[..., OpenAICompatBackend],
    chat_request: Callable[..., ChatRequest],
) -> None:
    resolver.addresses = None  # no pod ready yet: the headless Service's name does not resolve
    backend = make_backend(name="dns", endpoints=[], dns=f"{NAME}:{pods[0].server.port}", dns_interval_s=0.05)
    await backend.start()
    await eventually(lambda: resolver.lookups >= 2)
    assert not await backend.ready()
    with pytest.raises(LLMUnavailable, match="no endpoint yet"):
        await backend.complete(chat_request())
    resolver.addresses = ["127.0.0.1"]
    await eventually(lambda: _urls(backend) == {pods[0].url})
    assert (await backend.complete(chat_request())).text == "one"


async def test_a_real_name_resolves(
    pods: tuple[Sim, Sim], make_backend: Callable[..., OpenAICompatBackend], chat_request: Callable[..., ChatRequest]
) -> None:
    """The system resolver, no stand-in: localhost is 127.0.0.1 (and ::1 where the hosts file says so)."""
    backend = make_backend(name="dns", endpoints=[], dns=f"localhost:{pods[0].server.port}", dns_interval_s=60)
    await backend.start()
    await eventually(lambda: bool(backend.pool.snapshot()))
    assert pods[0].url in _urls(backend)
    assert _urls(backend) <= {pods[0].url, f"http://[::1]:{pods[0].server.port}"}
    assert (await backend.complete(chat_request())).text == "one"


def test_endpoint_urls() -> None:
    assert endpoint_url("10.1.2.3", 8000) == "http://10.1.2.3:8000"
    assert endpoint_url("fd00::5", 8000) == "http://[fd00::5]:8000"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"endpoints": [], "dns": None}, "either endpoints"),
        ({"endpoints": ["http://a:1"], "dns": "vllm:8000"}, "either endpoints"),
        ({"endpoints": [], "dns": "vllm"}, "host:port"),
        ({"endpoints": [], "dns": "http://vllm:8000"}, "host:port"),
    ],
)
def test_a_pool_takes_a_list_or_a_name(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PoolSettings(**fields)
    assert pool_settings(endpoints=[], dns="vllm.shopguide.svc.cluster.local.:8000").dns
