"""Intent service: the routes, validation, the local baseline and the LLM path with its fallback."""

from __future__ import annotations

import pytest

from services.intent.app import create_app
from services.intent.engine import normalise_label, parse_llm_answer
from shared.engines.artefacts import load_intent, models_dir
from tests.conftest import app_client
from tests.services.conftest import FakeLLM


@pytest.fixture(autouse=True, scope="module")
def _model_loaded() -> None:
    """Load the model (``make models`` built it) once, before any app's start-up timeout runs."""
    load_intent(models_dir())


async def test_health_ready_metrics(settings) -> None:
    async with app_client(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": "intent"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        await client.post("/v1/intent", json={"messages": [{"role": "user", "content": "hi"}]})
        metrics = (await client.get("/metrics")).text
        assert 'sg_http_requests_total{method="POST",route="/v1/intent",service="intent",status="200"}' in metrics


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hello"}]}, "at least one message with role 'user'"),
        ({"messages": [{"role": "user", "content": "   "}]}, "at least 1 character"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "'user' or 'assistant'"),
        ({"messages": [{"role": "user", "content": "x" * 9000}]}, "the limit is 8000"),
        ({"messages": [{"role": "user", "content": "hi"}], "engine": "gpu"}, "engine"),
        ({"text": "hi"}, "messages"),
    ],
)
async def test_bad_input_is_a_readable_422(settings, body, fragment) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/intent", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert fragment in error["message"]


async def test_request_id_is_echoed_or_made(settings) -> None:
    async with app_client(create_app(settings)) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/healthz")
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Hello, how are you today?", "random chat"),
        ("你好呀", "random chat"),
        ("I'm interested in a large, high-performance device. How's the battery life on this model?", "specific needs"),
        ("I want to buy a new laptop", "intended shopping"),
        ("I need a tent for camping next weekend", "specific scenarios"),
        ("Do you have any Samsung phones?", "specific brand"),
    ],
)
async def test_local_engine_labels(settings, text, label) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/intent", json={"messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == label
    assert body["engine"] == "local"
    assert 0 <= body["confidence"] <= 1


def test_brand_offered_by_the_bot_is_specific_needs() -> None:
    from services.intent.engine import LocalIntentEngine
    from shared.schemas import Message

    messages = [
        Message(role="user", content="I need a phone"),
        Message(role="assistant", content="How about Samsung or Google Pixel?"),
        Message(role="user", content="Samsung sounds good"),
    ]
    assert LocalIntentEngine().classify(messages).intent == "specific needs"


def test_llm_answer_parsing_tolerates_prose_and_near_misses() -> None:
    reply = (
        "<thinking>the user names a brand</thinking> Sure!\n<response>\n"
        '{"category": "Specific_Brand", "reason": "names Samsung", "aim": "photos", "scene": ""}\n</response>'
    )
    answer = parse_llm_answer(reply)
    assert answer is not None and answer.intent == "specific brand" and answer.scene.aim == "photos"
    assert normalise_label("random  Chat") == "random chat"
    assert normalise_label("specfic needs") == "specific needs"
    assert normalise_label("weather") is None
    assert parse_llm_answer("no json here") is None


@pytest.mark.parametrize(
    ("threshold", "reply", "engine", "llm_calls"),
    [
        (0.0, "", "local", 0),  # confident enough: the LLM is not asked
        (1.0, '<response>{"category": "specific brand", "reason": "x", "aim": "", "scene": ""}</response>', "llm", 1),
        (1.0, "no json", "local", 2),  # unparseable twice (one repair round): falls back to the local answer
    ],
)
async def test_cascade_asks_the_llm_only_when_unsure(threshold, reply, engine, llm_calls) -> None:
    from services.intent.engine import IntentRecogniser, LocalIntentEngine
    from shared.schemas import Message

    llm = FakeLLM([reply, reply])
    recogniser = IntentRecogniser(llm, LocalIntentEngine(), threshold)
    answer = await recogniser.recognise([Message(role="user", content="Do you have any Samsung phones?")], "auto")
    assert answer.engine == engine and len(llm.calls) == llm_calls


async def test_the_retry_tells_the_model_what_was_wrong() -> None:
    """A retry changes something: the rejected reply and the reason it was rejected follow the prompt (the
    same prompt again, at temperature 0, would get the same reply)."""
    from services.intent.engine import IntentRecogniser, LocalIntentEngine
    from shared.schemas import Message

    good = '<response>{"category": "specific brand", "reason": "x", "aim": "", "scene": ""}</response>'
    llm = FakeLLM(['<response>{"category": "weather"}</response>', good])
    recogniser = IntentRecogniser(llm, LocalIntentEngine(), 1.0)
    answer = await recogniser.recognise([Message(role="user", content="Do you have any Samsung phones?")], "llm")
    assert answer.engine == "llm" and answer.intent == "specific brand"
    first, second = llm.calls
    assert second[: len(first)] == first and second[len(first)].content == '<response>{"category": "weather"}</response>'
    assert "no known category in the answer" in second[-1].content and "specific brand" in second[-1].content


def test_multi_turn_and_scene() -> None:
    from services.intent.engine import LocalIntentEngine
    from shared.schemas import Message

    messages = [
        Message(role="user", content="I want to get a portable stove"),
        Message(role="assistant", content="Sure! Where will you be using it?"),
        Message(role="user", content="on a camping trip in Yosemite next month"),
    ]
    answer = LocalIntentEngine().classify(messages)
    assert answer.intent == "specific scenarios"
    assert "camping" in answer.scene.scene


async def test_a_dead_llm_pool_degrades_to_the_local_engine_and_keeps_the_service_ready(settings) -> None:
    from shared.settings import PoolSettings, Task, TaskRoute
    from tests.conftest import free_port

    dead = settings.model_copy(update={
        "llm_pools": {"gpu": PoolSettings(endpoints=[f"http://127.0.0.1:{free_port()}"], max_retries=0)},
        "llm_tasks": {**settings.llm_tasks, Task.INTENT: TaskRoute(backend="openai", pool="gpu")},
        "cascade_threshold": 1.0,  # every request asks the LLM
    })
    async with app_client(create_app(dead)) as client:
        answer = await client.post("/v1/intent", json={"messages": [{"role": "user", "content": "I want a laptop"}]})
        ready = await client.get("/readyz")  # the failed call ejected the pool's only endpoint
    assert ready.status_code == 200 and ready.json()["degraded"] == ["llm"]
    assert answer.status_code == 200 and answer.json()["engine"] == "local"
