"""Structured outputs: the JSON schemas made from the tasks' pydantic models, how each backend asks for them
(an OpenAI-compatible pool by ``response_format`` as its settings say, Bedrock by a forced tool), and the
services sending them through the one cascade."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from services.extraction.app import create_app as extraction_app
from services.extraction.schemas import extraction_answer
from services.intent.app import create_app as intent_app
from services.intent.engine import SCHEMA as INTENT_SCHEMA
from services.summary.app import create_app as summary_app
from services.summary.engine import SCHEMA as SUMMARY_SCHEMA
from shared.engines.artefacts import load_extraction, load_intent, models_dir
from shared.llm import ChatRequest, OpenAICompatBackend, OutputSchema, strict_schema
from shared.schemas import INTENT_LABELS
from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.taxonomy import load_taxonomy
from tests.conftest import app_client

from .helpers import Sim


class _Inner(BaseModel):
    title: str  # a property named like a keyword stays
    note: str | None = None


class _Outer(BaseModel):
    """An outer model."""

    kind: Literal["a", "b"]
    inner: _Inner
    items: list[_Inner] = []


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema in ``node``."""
    if isinstance(node, list):
        return [found for item in node for found in _objects(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") == "object" else []
    return own + [found for value in node.values() for found in _objects(value)]


def test_strict_schema_inlines_closes_and_requires_every_object() -> None:
    schema = strict_schema(_Outer.model_json_schema())
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    objects = _objects(schema)
    assert len(objects) == 3  # the outer model, its inner one, the list's items
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    inner = schema["properties"]["inner"]
    assert set(inner["properties"]) == {"title", "note"}  # "title" the property kept, "title" the keyword gone
    assert "title" not in inner and "default" not in schema["properties"]["items"]
    assert schema["properties"]["kind"]["enum"] == ["a", "b"]


def test_the_task_schemas_come_from_their_models() -> None:
    intent = INTENT_SCHEMA.schema
    assert intent["properties"]["category"]["enum"] == list(INTENT_LABELS)
    assert intent["required"] == ["category", "reason", "aim", "scene"]
    summary = SUMMARY_SCHEMA.schema
    assert summary["required"] == ["用户问题", "客服方案", "是否接受", "是否负面情绪"]
    for key in ("是否接受", "是否负面情绪"):
        assert summary["properties"][key]["enum"] == ["是", "否"]
    assert summary["additionalProperties"] is False


def test_the_extraction_schema_holds_the_catalogs_categories_and_their_keys() -> None:
    taxonomy = load_taxonomy()
    model = extraction_answer(taxonomy)
    schema = OutputSchema.of(model, "extraction").schema
    call = next(option for option in schema["properties"]["call"]["anyOf"] if option.get("type") == "object")
    variants = call["properties"]["arguments"]["anyOf"]
    assert [v["properties"]["category"]["const"] for v in variants] == list(taxonomy.categories)
    for variant in variants:
        category = variant["properties"]["category"]["const"]
        assert set(variant["properties"]) == taxonomy.allowed_keys(category)
        assert variant["additionalProperties"] is False
    assert {"type": "null"} in schema["properties"]["call"]["anyOf"]
    # The model is what a constrained reply is checked against: the forms the schema allows, and no other.
    model.model_validate({"call": None})
    laptop = {key: None for key in taxonomy.allowed_keys("laptop")} | {"category": "laptop", "memory": "16GB"}
    model.model_validate({"call": {"name": "get_recommds_by_sku", "arguments": laptop}})
    with pytest.raises(ValidationError):
        model.model_validate({"call": {"name": "get_recommds_by_sku", "arguments": laptop | {"category": "sofa_x"}}})


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "none"])
async def test_a_pool_asks_for_json_as_its_settings_say(
    sim_a: Sim,
    make_backend: Callable[..., OpenAICompatBackend],
    chat_request: Callable[..., ChatRequest],
    mode: Literal["json_schema", "json_object", "none"],
) -> None:
    backend = make_backend(sim_a.url, structured_output=mode)
    await backend.complete(chat_request(task=Task.INTENT, schema=INTENT_SCHEMA))
    body = sim_a.last_request()["body"]
    expected = {
        "json_schema": {
            "type": "json_schema",
            "json_schema": {"name": "intent", "schema": INTENT_SCHEMA.schema, "strict": True},
        },
        "json_object": {"type": "json_object"},
        "none": None,
    }[mode]
    assert body.get("response_format") == expected
    assert sim_a.stats()["response_formats"] == ({} if mode == "none" else {mode: 1})


async def test_free_text_asks_for_no_format(
    sim_a: Sim, make_backend: Callable[..., OpenAICompatBackend], chat_request: Callable[..., ChatRequest]
) -> None:
    backend = make_backend(sim_a.url)
    await backend.complete(chat_request())
    async for _ in backend.stream(chat_request()):
        pass
    assert all("response_format" not in seen["body"] for seen in sim_a.stats()["last_requests"])


async def test_the_simulator_answers_a_json_format_with_the_object_alone(
    sim_a: Sim, make_backend: Callable[..., OpenAICompatBackend], chat_request: Callable[..., ChatRequest]
) -> None:
    tagged = '<thinking>hmm</thinking><response>{"category": "random chat"}</response>'
    sim_a.configure(constrain_json=True, reply=tagged)
    backend = make_backend(sim_a.url)
    assert (await backend.complete(chat_request(schema=INTENT_SCHEMA))).text == '{"category": "random chat"}'
    assert (await backend.complete(chat_request())).text == tagged  # free text: as scripted


def _sim_settings(sim: Sim, **pool: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        cache_backend="memory",
        log_json=False,
        llm_pools={"sim": PoolSettings(endpoints=[sim.url], health_interval_s=60, **pool)},
        llm_tasks={task: TaskRoute(backend="openai", pool="sim") for task in Task},
    )


async def test_the_structured_tasks_send_their_schemas_through_the_cascade(sim_a: Sim) -> None:
    """Intent, extraction and summary, each its service as deployed, routed to a pool: each request carries the
    task's schema, and the constrained JSON reply is the answer (engine llm)."""
    load_intent(models_dir())  # loaded before the apps' start-up timeout runs
    load_extraction(models_dir())
    taxonomy = load_taxonomy()
    phone = {key: None for key in taxonomy.allowed_keys("smartphone")} | {
        "category": "smartphone",
        "camera": "good camera",
    }
    sim_a.configure(
        constrain_json=True,
        replies={
            "classify": '<thinking>…</thinking><response>{"category": "specific needs", "reason": "a camera is asked '
            'for", "aim": "photos", "scene": ""}</response>',
            "dialog (JSON)": json.dumps({"call": {"name": "get_recommds_by_sku", "arguments": phone}}),
            "对话（JSON）": '{"用户问题": "询问退货", "客服方案": "客服说明可以七天无理由退货", "是否接受": "是", '
            '"是否负面情绪": "否"}',
        },
    )
    settings = _sim_settings(sim_a)
    said = {"messages": [{"role": "user", "content": "I want a phone with a good camera"}], "engine": "llm"}
    async with app_client(intent_app(settings)) as client:
        intent = (await client.post("/v1/intent", json=said)).json()
    async with app_client(extraction_app(settings)) as client:
        extraction = (await client.post("/v1/extract", json=said)).json()
    async with app_client(summary_app(settings)) as client:
        body = {"conversation": "用户：这个能退吗\n客服：可以七天无理由退货\n用户：好的", "engine": "llm"}
        summary = (await client.post("/v1/summary", json=body)).json()
    assert (intent["intent"], intent["engine"]) == ("specific needs", "llm")
    assert (extraction["call"]["arguments"], extraction["engine"]) == (
        {"category": "smartphone", "camera": "good camera"},
        "llm",
    )
    assert (summary["summary"]["是否接受"], summary["engine"]) == ("是", "llm")
    sent = {
        seen["body"]["response_format"]["json_schema"]["name"]: seen["body"]["response_format"]
        for seen in sim_a.stats()["last_requests"]
    }
    assert sent["intent"]["json_schema"]["schema"] == INTENT_SCHEMA.schema
    assert sent["summary"]["json_schema"]["schema"] == SUMMARY_SCHEMA.schema
    assert (
        sent["extraction"]["json_schema"]["schema"] == OutputSchema.of(extraction_answer(taxonomy), "extraction").schema
    )
