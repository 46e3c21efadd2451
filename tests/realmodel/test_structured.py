"""The structured tasks' prompts, as the services build them, sent to the real model with their schemas: every
reply is valid JSON of the task's schema (the pydantic model it was made from), by construction."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from services.extraction.engine import build_prompt as extraction_prompt
from services.extraction.schemas import extraction_answer
from services.intent.engine import SCHEMA as INTENT_SCHEMA
from services.intent.engine import build_prompt as intent_prompt
from services.intent.schemas import IntentAnswer
from services.summary.engine import SCHEMA as SUMMARY_SCHEMA
from services.summary.engine import build_prompt as summary_prompt
from services.summary.schemas import Summary, SummaryRequest
from shared.llm import ChatMessage, LLMClient, OutputSchema
from shared.schemas import Message
from shared.settings import Task
from shared.taxonomy import load_taxonomy

from .conftest import TIMEOUT_S, RealModel, real_settings

pytestmark = pytest.mark.timeout(TIMEOUT_S)  # a CPU model on a loaded machine: generous, never asserted

SHOPPING = [
    Message(role="user", content="Hi, I need a new phone"),
    Message(role="assistant", content="Sure! What matters most to you?"),
    Message(role="user", content="A good camera, and I like Xiaomi. Around 3000 yuan."),
]
CAMPING = [Message(role="user", content="周末去露营，想买个帐篷，要防水的")]
TRANSCRIPT = "用户：我买的耳机左边没声音\n客服：很抱歉，您可以申请换货，我们免费寄新的给您\n用户：好吧，那就换货吧"


async def test_every_structured_reply_is_schema_valid(real_model: RealModel) -> None:
    """Intent, extraction and summary at once (the server has two slots): each reply is its model's JSON."""
    taxonomy = load_taxonomy()
    extraction: type[BaseModel] = extraction_answer(taxonomy)
    asks: list[tuple[Task, list[ChatMessage], OutputSchema, type[BaseModel]]] = [
        (Task.INTENT, intent_prompt(SHOPPING), INTENT_SCHEMA, IntentAnswer),
        (Task.EXTRACTION, extraction_prompt(taxonomy, CAMPING), OutputSchema.of(extraction, "extraction"), extraction),
        (Task.SUMMARY, summary_prompt(SummaryRequest(conversation=TRANSCRIPT).turns()), SUMMARY_SCHEMA, Summary),
    ]
    async with LLMClient(real_settings(real_model)) as llm:
        replies = await asyncio.gather(*(llm.complete(task, prompt, schema=schema) for task, prompt, schema, _ in asks))
    for (task, _, _, model), reply in zip(asks, replies, strict=True):
        answer = model.model_validate_json(reply.text)
        assert reply.finish_reason == "stop", f"{task}: cut at max_tokens"
        if task is Task.SUMMARY:  # the four keys and none besides: the schema's object is closed
            assert list(json.loads(reply.text)) == SUMMARY_SCHEMA.schema["required"]
        if task is Task.EXTRACTION and (call := answer.model_dump(by_alias=True)["call"]) is not None:
            # a category of the catalog's, with only its own keys: nothing else can be written
            assert set(call["arguments"]) <= taxonomy.allowed_keys(call["arguments"]["category"])
