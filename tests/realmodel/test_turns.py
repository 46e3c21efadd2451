"""The platform on the real model: a shopping turn through the gateway and router (JSON and streamed), the
structured services and copywriting, and the OpenAI facade with the openai SDK. Each answer's ``engine`` label
must be what the cascade counted (the LLM's answer accepted, or the local one after the LLM's was refused),
streamed tokens must arrive as the model generates them, and a client that hangs up must stop the generation
at the model server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from services.copywriting.schemas import CopyResponse
from services.intent.app import create_app as intent_app
from services.summary.schemas import SummaryResponse
from shared.engines.artefacts import load_intent, models_dir
from shared.settings import Settings, Task, TaskRoute
from tests.conftest import app_client

from .conftest import KEY, TIMEOUT_S, RealModel, counted, real_settings

pytestmark = pytest.mark.timeout(TIMEOUT_S)  # a CPU model on a loaded machine: generous, never asserted

AUTH = {"Authorization": f"Bearer {KEY}"}
ASK = "I want a phone with a good camera, around 3000 yuan"
# A request the guide answers at length, so that a hang-up after its first words leaves much ungenerated.
LONG_ASK = "Please explain in detail everything I should know before buying a laptop for programming"


class EngineCount:
    """Answers the cascade counted for one service (``sg_engine_answers_total``): by the LLM, or by the local
    engine after the LLM's answer was refused."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.before = self._now()

    def _now(self) -> tuple[float, float]:
        return (
            counted("sg_engine_answers_total", service=self.service, engine="llm", outcome="answered"),
            counted("sg_engine_answers_total", service=self.service, engine="local", outcome="llm_fallback"),
        )

    def engine(self) -> str:
        """Which engine answered since this count began: exactly one answer, asked of the LLM."""
        llm, fallback = (after - before for after, before in zip(self._now(), self.before, strict=True))
        assert (llm, fallback) in ((1, 0), (0, 1)), f"{self.service}: {llm} LLM answers, {fallback} fallbacks"
        return "llm" if llm else "local"


def test_a_shopping_turn(real_suite: Settings) -> None:
    counts = {stage: EngineCount(stage) for stage in ("intent", "extraction", "dialog")}
    response = httpx.post(
        f"{real_suite.services.gateway}/v1/chat", json={"message": ASK}, headers=AUTH, timeout=TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    turn = response.json()
    assert turn["reply"].strip()
    for stage, count in counts.items():
        assert turn["engines"][stage] == count.engine(), stage


def test_the_facade_streams_as_the_model_generates(real_suite: Settings, real_model: RealModel) -> None:
    chunks = 0
    generating_at_first_chunk = False
    with openai.OpenAI(
        base_url=f"{real_suite.services.gateway}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT_S
    ) as sdk:
        stream = sdk.chat.completions.create(
            model="shopping-guide", messages=[{"role": "user", "content": LONG_ASK}], stream=True
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    generating_at_first_chunk = generating_at_first_chunk or (not chunks and real_model.busy() > 0)
                    chunks += 1
    # Many chunks, the first while the model was still writing the rest: sent as generated, not at the end.
    assert chunks > 1 and generating_at_first_chunk


def _dialog_generation(settings: Settings, model: RealModel, hang_up: bool) -> float:
    """The tokens the model generated for one streamed guide reply to LONG_ASK, the client hanging up at the first
    token if asked (llama-server counts a generation's tokens when it ends)."""
    before = model.metric("tokens_predicted_total")
    body = {
        "messages": [{"role": "user", "content": LONG_ASK}],
        "intent": "specific needs",
        "stream": True,
        "engine": "llm",
    }
    with httpx.stream("POST", f"{settings.services.dialog}/v1/dialog", json=body, timeout=TIMEOUT_S) as response:
        assert response.status_code == 200
        tokens = 0
        for line in response.iter_lines():
            tokens += line == "event: token"
            if hang_up and tokens:
                break  # closing the response is the hang-up
    model.wait_idle()
    assert tokens > 1 or hang_up, "the reply came in one piece"
    return model.metric("tokens_predicted_total") - before


def test_a_hang_up_stops_the_generation_at_the_model_server(real_suite: Settings, real_model: RealModel) -> None:
    whole = _dialog_generation(real_suite, real_model, hang_up=False)
    assert whole >= 8, "the model answered too briefly for a hang-up to show"
    cut = _dialog_generation(real_suite, real_model, hang_up=True)
    # The same prompt at temperature 0 makes the same reply: hung up at its first token, the model stopped early.
    assert real_model.busy() == 0
    assert cut < whole


async def test_summary_and_copywriting_say_which_engine_answered(real_suite: Settings) -> None:
    """(Intent and extraction: the shopping turn.)"""
    said = {"messages": [{"role": "user", "content": ASK}], "engine": "llm"}
    product = {"skuName": "Redmi Note 13 Pro", "price": 1999, "attributes": {"camera": "200MP"}}
    cases: list[tuple[str, str, dict[str, Any], type[Any]]] = [
        (
            "summary",
            "/v1/summary",
            {"conversation": "用户：耳机坏了\n客服：可以换新\n用户：好的", "engine": "llm"},
            SummaryResponse,
        ),
        ("copywriting", "/v1/copywriting", {"product": product, **said}, CopyResponse),
    ]
    counts = {service: EngineCount(service) for service, *_ in cases}
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:  # all at once: the server has two slots
        responses = await asyncio.gather(
            *(
                client.post(f"{getattr(real_suite.services, service)}{path}", json=body)
                for service, path, body, _ in cases
            )
        )
    for (service, _, _, schema), response in zip(cases, responses, strict=True):
        assert response.status_code == 200, response.text
        assert schema.model_validate(response.json()).engine == counts[service].engine(), service


async def test_an_unusable_reply_is_answered_locally_and_says_so(real_model: RealModel) -> None:
    """Three tokens cannot hold the intent JSON: the model's reply is refused (twice: one retry) and the local
    engine answers, labelled local."""
    load_intent(models_dir())  # before the app's start-up timeout runs
    settings = real_settings(
        real_model, llm_tasks={Task.INTENT: TaskRoute(backend="openai", pool="real", max_tokens=3)}
    )
    refused = counted("sg_llm_replies_total", service="intent", verdict="unusable")
    count = EngineCount("intent")
    async with app_client(intent_app(settings)) as client:
        response = await client.post(
            "/v1/intent", json={"messages": [{"role": "user", "content": ASK}], "engine": "llm"}
        )
    assert response.status_code == 200
    assert response.json()["engine"] == count.engine() == "local"
    assert counted("sg_llm_replies_total", service="intent", verdict="unusable") == refused + 2


@pytest.fixture(autouse=True)
def _idle_after(real_model: RealModel) -> Iterator[None]:
    """Each test leaves the model idle: a generation left running would slow the next one down."""
    yield
    real_model.wait_idle()
