"""Hostile input at the router, directly and through the gateway: product ids are checked against the
product-id pattern before any URL is built from them (and escaped in every URL anyway), text that shows
nothing is empty, and an upstream failure reaches the client as the stage that failed, never its address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.router.app import create_app
from gateway.router.clients import ServiceError, Services
from gateway.tier1.app import create_app as create_gateway
from shared.events import StreamEvent
from shared.recommender import create_recommender
from shared.settings import ServiceUrls, Settings
from shared.simulator import run_in_thread
from shared.sse import sse_frame
from shared.vocabulary import VOCABULARY_PATH
from tests.conftest import app_client, free_port
from tests.services.conftest import parse_sse

BAD_IDS = ["../../healthz", "SKU-\x01", "x?y=1", "SKU 1", "/etc/passwd", ""]
KEY = "hostile-key"


def recording_upstream(seen: list[str]) -> Starlette:
    """A catalog (or any service) that records every request it gets and knows no product."""

    async def anything(request: Request) -> Response:
        seen.append(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return JSONResponse({"error": {"type": "http_error", "message": "no such product"}}, status_code=404)

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


def cut_dialog() -> Starlette:
    """A dialog service whose stream breaks off after the first token: the connection just closes."""

    async def events() -> AsyncIterator[str]:
        yield sse_frame(StreamEvent.TOKEN, {"text": "Hello"})
        await asyncio.sleep(0.01)
        raise RuntimeError("the dialog service dies mid-reply")

    async def dialog(request: Request) -> Response:
        await request.body()
        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/dialog", dialog, methods=["POST"])])


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[ServiceUrls, list[str]]]:
    """A recording catalog and a dialog that cuts its stream; the other services are down."""
    seen: list[str] = []
    dead = f"http://127.0.0.1:{free_port()}"
    with run_in_thread(recording_upstream(seen)) as catalog, run_in_thread(cut_dialog()) as dialog:
        yield ServiceUrls(intent=dead, extraction=dead, dialog=dialog.url, catalog=catalog.url, copywriting=dead), seen


def _asked_about_products(seen: list[str]) -> list[str]:
    """What the catalog was asked, less the vocabulary the router fetches when it starts."""
    return [path for path in seen if path != VOCABULARY_PATH]


@pytest.fixture
def router_settings(upstreams: tuple[ServiceUrls, list[str]]) -> Settings:
    upstreams[1].clear()
    return Settings(_env_file=None, cache_backend="memory", services=upstreams[0], service_timeout_s=2, log_json=False)


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_a_product_id_outside_the_pattern_is_refused_before_any_call(
    router_settings: Settings, upstreams: tuple[ServiceUrls, list[str]], bad: str
) -> None:
    async with app_client(create_app(router_settings)) as client:
        compared = await client.post("/v1/compare", json={"sku_ids": ["SKU-smartphone-0003", bad]})
        copy = await client.post("/v1/agents/copywriting", json={"sku_id": bad})
    assert compared.status_code == 422
    assert [e["field"] for e in compared.json()["error"]["errors"]] == ["sku_ids.1"]
    assert copy.status_code == 422
    assert [e["field"] for e in copy.json()["error"]["errors"]] == ["sku_id"]
    assert _asked_about_products(upstreams[1]) == []  # the catalog was never called


async def test_ids_are_escaped_in_every_url_built_from_them() -> None:
    sent: list[httpx.URL] = []

    def catalog(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(404, json={"error": {"message": "no such product"}})

    urls = ServiceUrls(catalog="http://catalog")
    async with httpx.AsyncClient(transport=httpx.MockTransport(catalog)) as http:
        services = Services(http, urls, create_recommender(Settings(_env_file=None, services=urls), http))
        assert await services.product("../../healthz?x=1#y") is None
    assert [url.raw_path for url in sent] == [b"/v1/products/..%2F..%2Fhealthz%3Fx%3D1%23y"]
    assert sent[0].query == b""


async def test_text_of_only_invisible_characters_is_empty(router_settings: Settings) -> None:
    async with app_client(create_app(router_settings)) as client:
        response = await client.post("/v1/chat", json={"message": "\u200b\u200c\u200d\u2060\ufeff \n"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["error"]["errors"]] == ["message"]


async def test_errors_name_the_failed_stage_never_its_address(router_settings: Settings) -> None:
    async with app_client(create_app(router_settings)) as client:
        copy = await client.post("/v1/agents/copywriting", json={"product": {"skuId": "p1", "skuName": "Phone"}})
        chat = await client.post("/v1/chat", json={"message": "hello"})
        streamed = await client.post("/v1/chat", json={"message": "hello", "stream": True})
    assert copy.status_code == 502
    assert copy.json()["error"]["message"] == "copywriting unavailable: could not connect"
    assert chat.status_code == 502
    assert chat.json()["error"]["message"] == "the reply broke off: dialog unavailable: connection closed"
    error = dict(parse_sse(streamed.text))[StreamEvent.ERROR]
    assert error["message"] == "dialog unavailable: connection closed"
    for response in (copy, chat, streamed):
        assert "127.0.0.1" not in response.text and "http://" not in response.text


async def test_services_errors_carry_no_address() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    urls = ServiceUrls(dialog="http://10.0.0.7:8513")
    async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as http:
        services = Services(http, urls, create_recommender(Settings(_env_file=None, services=urls), http))
        with pytest.raises(ServiceError) as failed:
            async for _ in services.stream("dialog", "/v1/dialog", {}):
                pass
    assert str(failed.value) == "dialog unavailable: connection closed"


async def test_hostile_ids_through_the_gateway(
    router_settings: Settings, upstreams: tuple[ServiceUrls, list[str]]
) -> None:
    with run_in_thread(create_app(router_settings)) as router:
        services = router_settings.services.model_copy(update={"router": router.url})
        gateway_settings = router_settings.model_copy(
            update={"services": services, "api_keys": [KEY], "gateway_tenants_file": None}
        )
        async with app_client(create_gateway(gateway_settings)) as client:
            client.headers["Authorization"] = f"Bearer {KEY}"
            responses = [
                await client.post("/v1/compare", json={"sku_ids": ["SKU-smartphone-0003", bad]}) for bad in BAD_IDS
            ]
            climbing = await client.get("/v1/products/..%2F..%2Fhealthz")
            queried = await client.get("/v1/products/x%3Fy%3D1")
    assert [r.status_code for r in responses] == [422] * len(BAD_IDS)
    assert all(r.json()["error"]["errors"][0]["field"] == "sku_ids.1" for r in responses)
    assert climbing.status_code == 404 and queried.status_code == 404  # not a product path: no route
    assert _asked_about_products(upstreams[1]) == []
