"""API extraction: the dialog becomes one ``get_recommds_by_sku`` call, or none.

The local engine is ``shared.engines.extraction`` (taxonomy + embeddings for the category, brand lexicon,
attribute values in the user's words), gated by the intent model: no call for chit-chat or browsing.
"""

from __future__ import annotations

from pydantic import ValidationError

from services.extraction.schemas import ExtractResponse
from shared.engines.extraction import ExtractionModel, gated_call
from shared.engines.intent import IntentModel
from shared.jsonblock import extract_json
from shared.llm import TaskLLM, Unusable, UsageMeter, run_cascade
from shared.llm.base import ChatMessage
from shared.prompts import load_prompt
from shared.schemas import EngineChoice, FunctionCall, Message, TokenUsage, render_transcript
from shared.settings import Task
from shared.taxonomy import Taxonomy

PROMPT = load_prompt("services.extraction", "extraction")


class LocalExtractor:
    def __init__(self, intent: IntentModel, model: ExtractionModel) -> None:
        self.intent = intent
        self.model = model

    @property
    def taxonomy(self) -> Taxonomy:
        return self.model.taxonomy

    def extract(self, messages: list[Message]) -> FunctionCall | None:
        return gated_call(messages, self.intent, self.model)


class Extractor:
    """Local engine by default; the LLM with one repair round when configured, falling back to local."""

    def __init__(self, llm: TaskLLM, local: LocalExtractor) -> None:
        self.llm = llm
        self.local = local

    async def extract(self, messages: list[Message], engine: EngineChoice) -> ExtractResponse:
        meter = UsageMeter()
        answer = await run_cascade(
            self.llm,
            Task.EXTRACTION,
            engine,
            local=lambda: self.local.extract(messages),
            prompt=lambda: [ChatMessage(role="user", content=self._prompt(messages))],
            parse=self._parse,
            repair=lambda problem: f"That answer is invalid: {problem.reason}. Answer again, JSON only.",
            meter=meter,
        )
        return ExtractResponse(call=answer.value, engine=answer.engine, usage=TokenUsage.of(meter.usage))

    def _prompt(self, messages: list[Message]) -> str:
        taxonomy = self.local.taxonomy
        categories = "\n".join(
            f"- {c.id} ({c.name_en} / {c.name_zh}): {', '.join(c.attribute_keys)}" for c in taxonomy.categories.values()
        )
        common = ", ".join(a.key for a in taxonomy.common_attributes)
        return PROMPT.render(categories=categories, common_keys=common, conversation=render_transcript(messages))

    def _parse(self, text: str) -> FunctionCall | None | Unusable:
        """The call, None for a valid "no call", or why the answer is unusable."""
        try:
            return self._validate(text)
        except (ValueError, ValidationError, AttributeError) as exc:
            return Unusable(str(exc))

    def _validate(self, text: str) -> FunctionCall | None:
        data = extract_json(text, tag="response")
        if data is None or "call" not in data:
            raise ValueError("no JSON object with a 'call' key")
        if data["call"] is None:
            return None
        raw = data["call"]
        arguments = {k: str(v) for k, v in (raw.get("arguments") or {}).items() if v not in (None, "")}
        category = arguments.get("category", "")
        if category not in self.taxonomy_ids:
            raise ValueError(f"unknown category {category!r}")
        unknown = set(arguments) - self.local.taxonomy.allowed_keys(category)
        if unknown:
            raise ValueError(f"keys not in the {category} schema: {sorted(unknown)}")
        return FunctionCall(name=raw.get("name"), arguments=arguments)

    @property
    def taxonomy_ids(self) -> set[str]:
        return set(self.local.taxonomy.categories)
