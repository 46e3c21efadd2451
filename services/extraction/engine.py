"""API extraction: the dialog becomes one ``get_recommds_by_sku`` call, or none.

The local engine is a taxonomy-driven baseline (synonyms, brand lexicon, budget and size patterns);
issue 3's embedding-backed engine takes its place behind ``LocalExtractor.extract``.
"""

from __future__ import annotations

import logging
import re

from pydantic import ValidationError

from shared.jsonblock import extract_json
from shared.llm import LLMClient, LLMError
from shared.llm.base import ChatMessage
from shared.prompts import load_prompt
from shared.schemas import FunctionCall, Message, render_transcript
from shared.settings import Task
from shared.taxonomy import Category, Taxonomy
from shared.telemetry import ENGINE_ANSWERS

from services.extraction.schemas import ExtractResponse

log = logging.getLogger(__name__)

PROMPT = load_prompt("services.extraction", "extraction")

_BUDGET = re.compile(
    r"(?:under|below|less than|no more than|within|up to|max(?:imum)?|budget(?: is| of)?)\s*[$¥€£]?\s*\d[\d,.]*\s*"
    r"(?:k\b|dollars|usd|yuan|rmb|元|块)?"
    r"|[$¥€£]\s*\d[\d,.]*(?:\s*(?:-|to)\s*[$¥€£]?\s*\d[\d,.]*)?"
    r"|(?:预算)?\d[\d,.]*\s*(?:元|块|rmb)?\s*(?:以内|以下|左右|之内)"
    r"|预算\s*\d[\d,.]*\s*(?:元|块)?"
    r"|\d[\d,.]*\s*(?:-|到|至)\s*\d[\d,.]*\s*(?:元|块)",
    re.I,
)
_INCHES = re.compile(r"\d+(?:\.\d+)?\s*(?:-?\s*inch(?:es)?\b|in\b|英寸|寸)", re.I)


def _term(text: str) -> re.Pattern[str]:
    # ASCII terms must stand as words ("tent" not in "content"); CJK terms have no word boundaries.
    escaped = re.escape(text.lower())
    return re.compile(rf"\b{escaped}s?\b" if text.isascii() else escaped, re.I)


class LocalExtractor:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._category_terms = sorted(
            (
                (len(term), _term(term), category.id)
                for category in taxonomy.categories.values()
                for term in {category.name_en, category.name_zh, *category.synonyms_en, *category.synonyms_zh}
                if term
            ),
            key=lambda item: -item[0],
        )

    def _category(self, text: str) -> Category | None:
        for _, pattern, category_id in self._category_terms:
            if pattern.search(text):
                return self.taxonomy[category_id]
        return None

    @staticmethod
    def _brands(category: Category, text: str) -> list[str]:
        names = {brand: brand for brand in category.brands} | dict(category.brand_aliases)
        found = {names[alias] for alias in names if _term(alias).search(text)}
        return sorted(found, key=lambda brand: text.lower().find(brand.lower()) % 10_000)

    @staticmethod
    def _attributes(category: Category, text: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for attribute in category.attributes:
            if "size" in attribute.key and (inches := _INCHES.search(text)):
                values[attribute.key] = inches.group(0).strip()
                continue
            for term in (attribute.key, attribute.zh, *attribute.values_en, *attribute.values_zh):
                if term and (match := re.search(rf"(?:[\w-]+\s+)?{_term(term).pattern}", text, re.I)):
                    values[attribute.key] = match.group(0).strip()
                    break
        return values

    def extract(self, messages: list[Message]) -> FunctionCall | None:
        user_turns = [m.content for m in messages if m.role == "user"]
        category: Category | None = None
        for turn in reversed(user_turns):
            if category := self._category(turn):
                break
        if category is None:
            return None
        arguments: dict[str, str] = {"category": category.id}
        for turn in user_turns:  # later turns override earlier ones
            if brands := self._brands(category, turn):
                arguments["brand"] = " and ".join(brands)
            arguments.update(self._attributes(category, turn))
            if budget := _BUDGET.search(turn):
                arguments["price"] = budget.group(0).strip()
        return FunctionCall(arguments=arguments)


class Extractor:
    """Local engine by default; the LLM with one repair round when configured, falling back to local."""

    def __init__(self, llm: LLMClient, local: LocalExtractor) -> None:
        self.llm = llm
        self.local = local

    async def extract(self, messages: list[Message], engine: str) -> ExtractResponse:
        if engine == "local" or self.llm.uses_local(Task.EXTRACTION):
            ENGINE_ANSWERS.labels("extraction", "local", "answered").inc()
            return ExtractResponse(call=self.local.extract(messages), engine="local")
        call = await self._ask_llm(messages)
        if call is False:
            ENGINE_ANSWERS.labels("extraction", "local", "llm_fallback").inc()
            return ExtractResponse(call=self.local.extract(messages), engine="local")
        ENGINE_ANSWERS.labels("extraction", "llm", "answered").inc()
        return ExtractResponse(call=call or None, engine="llm")

    def _prompt(self, messages: list[Message]) -> str:
        taxonomy = self.local.taxonomy
        categories = "\n".join(
            f"- {c.id} ({c.name_en} / {c.name_zh}): {', '.join(c.attribute_keys)}" for c in taxonomy.categories.values()
        )
        common = ", ".join(a.key for a in taxonomy.common_attributes)
        return PROMPT.render(categories=categories, common_keys=common, conversation=render_transcript(messages))

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

    async def _ask_llm(self, messages: list[Message]) -> FunctionCall | None | bool:
        """The call, None for "no call", or False when the LLM gave nothing usable."""
        prompt = [ChatMessage(role="user", content=self._prompt(messages))]
        for _ in range(2):  # one repair round: the error goes back to the model
            try:
                reply = await self.llm.complete(Task.EXTRACTION, prompt)
                return self._validate(reply.text)
            except LLMError as exc:
                log.warning("extraction LLM failed, answering locally: %s", exc)
                return False
            except (ValueError, ValidationError, AttributeError) as exc:
                prompt = [
                    *prompt,
                    ChatMessage(role="assistant", content=reply.text),
                    ChatMessage(role="user", content=f"That answer is invalid: {exc}. Answer again, JSON only."),
                ]
        return False
