"""Deadlines between apps (``shared.deadline``): ``X-Timeout-Ms`` read on arrival, the 504 naming it, and the
budget each hop passes on, so that no layer waits longer than the one above it. Real servers, real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY

from shared.deadline import DEADLINE_HEADER, remaining_s
from shared.http import create_http_client, describe_failure
from shared.service import ServiceState, app_state, create_app
from shared.settings import Settings
from shared.simulator import run_in_thread


@dataclass(frozen=True, kw_only=True)
class _State(ServiceState):
    http: httpx.AsyncClient
    seen: list[dict[str, Any]] = field(default_factory=list)  # what each request to /hang and /echo carried


router = APIRouter()


@router.post("/hang")
async def hang(request: Request) -> None:
    app_state(request, _State).seen.append({"budget": request.headers.get(DEADLINE_HEADER)})
    await asyncio.Event().wait()


@router.get("/echo")
async def echo(request: Request) -> dict[str, Any]:
    app_state(request, _State).seen.append({"budget": request.headers.get(DEADLINE_HEADER)})
    return {"budget": request.headers.get(DEADLINE_HEADER), "remaining_s": remaining_s()}


@router.get("/seen")
async def seen(request: Request) -> list[dict[str, Any]]:
    return app_state(request, _State).seen


@router.get("/stream")
async def stream() -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        yield "first\n"
        await asyncio.sleep(0.8)  # past the request's deadline, which no longer counts once the answer started
        yield "second\n"

    return StreamingResponse(body(), media_type="text/plain")


@router.get("/ask/{path}")
async def ask(path: str, request: Request) -> dict[str, Any]:
    """Calls the other app: its answer, or, when the call fails, this app's own degraded one."""
    state = app_state(request, _State)
    other = request.headers["x-other"]
    try:
        response = await state.http.request("POST" if path == "hang" else "GET", f"{other}/{path}")
    except httpx.HTTPError as exc:
        return {"degraded": describe_failure(exc)}
    return {"status": response.status_code, "answer": response.json()}


def _app(name: str, settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def resources(settings: Settings) -> AsyncIterator[_State]:
        async with create_http_client(settings, name) as http:
            yield _State(settings=settings, http=http)

    return create_app(name, routers=[router], settings=settings, resources=resources)


@dataclass(frozen=True)
class Apps:
    front: str
    back: str


@pytest.fixture(scope="module")
def apps() -> Iterator[Apps]:
    settings = Settings(_env_file=None, env="test", cache_backend="memory", deadline_margin_s=0.2)
    with run_in_thread(_app("front", settings)) as front, run_in_thread(_app("back", settings)) as back:
        yield Apps(front.url, back.url)


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_a_budget_spent_on_arrival_is_a_504_naming_the_deadline(apps: Apps) -> None:
    before = _count("sg_deadline_exceeded_total", service="back", stage="arrival")
    response = httpx.post(f"{apps.back}/hang", headers={DEADLINE_HEADER: "0"})
    assert response.status_code == 504
    assert _error(response)["type"] == "deadline_exceeded" and "X-Timeout-Ms: 0" in _error(response)["message"]
    assert _count("sg_deadline_exceeded_total", service="back", stage="arrival") == before + 1


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "99999999999"])
def test_a_malformed_budget_is_a_400_naming_the_header(apps: Apps, value: str) -> None:
    response = httpx.get(f"{apps.back}/echo", headers={DEADLINE_HEADER: value})
    assert response.status_code == 400 and DEADLINE_HEADER in _error(response)["message"]


def test_a_deadline_passing_before_the_answer_is_a_504_and_stops_the_work(apps: Apps) -> None:
    before = _count("sg_deadline_exceeded_total", service="back", stage="answering")
    response = httpx.post(f"{apps.back}/hang", headers={DEADLINE_HEADER: "300"}, timeout=30)
    assert response.status_code == 504
    assert _error(response)["message"] == "the caller's deadline (X-Timeout-Ms: 300) passed before back answered"
    assert _count("sg_deadline_exceeded_total", service="back", stage="answering") == before + 1


def test_the_request_knows_its_remaining_budget(apps: Apps) -> None:
    answer = httpx.get(f"{apps.back}/echo", headers={DEADLINE_HEADER: "5000"}).json()
    assert 0 < answer["remaining_s"] <= 5.0
    assert httpx.get(f"{apps.back}/echo").json()["remaining_s"] is None


def test_a_stream_once_started_is_not_cut_by_the_deadline(apps: Apps) -> None:
    response = httpx.get(f"{apps.back}/stream", headers={DEADLINE_HEADER: "300"}, timeout=30)
    assert response.status_code == 200 and response.text == "first\nsecond\n"


def test_each_hop_passes_on_what_remains_less_its_margin(apps: Apps) -> None:
    headers = {"x-other": apps.back, DEADLINE_HEADER: "5000"}
    sent = int(httpx.get(f"{apps.front}/ask/echo", headers=headers).json()["answer"]["budget"])
    assert 0 < sent <= 5000 - 200
    # Without a deadline of its own a hop still tells the next how long it will wait: its own timeout.
    alone = httpx.get(f"{apps.front}/ask/echo", headers={"x-other": apps.back}).json()["answer"]["budget"]
    assert alone == str(30_000)  # SG_SERVICE_TIMEOUT_S


def test_a_call_the_budget_leaves_no_time_for_is_not_made(apps: Apps) -> None:
    before = _count("sg_deadline_exceeded_total", service="front", stage="not_sent")
    response = httpx.get(f"{apps.front}/ask/never", headers={"x-other": apps.back, DEADLINE_HEADER: "150"})
    assert response.status_code == 200
    assert response.json() == {"degraded": "not asked: the caller's deadline had passed"}
    assert _count("sg_deadline_exceeded_total", service="front", stage="not_sent") == before + 1


def test_the_lower_hop_gives_up_first_so_the_upper_still_answers(apps: Apps) -> None:
    """The back hangs; the front, given 1 s, waits for it at most 0.8 s and then answers, degraded, in time: its
    caller gets the front's answer, not a timeout of its own."""
    with httpx.Client(timeout=30) as client:
        response = client.get(f"{apps.front}/ask/hang", headers={"x-other": apps.back, DEADLINE_HEADER: "1000"})
    assert response.status_code == 200
    body = response.json()
    # The front saw the back's own 504, or gave up on it first (its wait, cut by the deadline, timed out).
    if "status" in body:
        assert body["status"] == 504 and body["answer"]["error"]["type"] == "deadline_exceeded"
    else:
        assert body == {"degraded": "timed out"}
    assert 0 < int(httpx.get(f"{apps.back}/seen").json()[-1]["budget"]) <= 800


async def test_the_shared_client_keeps_no_cookie_an_upstream_set() -> None:
    """One client carries every caller's requests (all tenants'): a Set-Cookie must not ride on the next call."""
    app = FastAPI()

    @app.get("/set")
    async def set_cookie() -> StreamingResponse:
        response = StreamingResponse(iter(["set"]), media_type="text/plain")
        response.set_cookie("session", "tenant-a")
        return response

    @app.get("/cookies")
    async def cookies(request: Request) -> dict[str, str]:
        return dict(request.cookies)

    with run_in_thread(app) as server:
        async with create_http_client(Settings(_env_file=None)) as http:
            first = await http.get(f"{server.url}/set")
            assert first.headers["set-cookie"].startswith("session=tenant-a")
            assert (await http.get(f"{server.url}/cookies")).json() == {}
