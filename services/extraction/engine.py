"""API extraction: the dialog becomes one ``get_recommds_by_sku`` call, or none.

The local engine is ``shared.engines.extraction`` (taxonomy + embeddings for the category, brand lexicon,
attribute values in the user's words), gated by the intent model: no call for chit-chat or browsing.

An LLM call is checked against the dialog before it is taken: each brand must be named in the dialog (or a
known alias of it, or be the brand the local engine read), the category must be one the dialog supports (its
name, a synonym or one of its brands is said, or the local engine reads the same), and no value may be one of
the prompt's examples the dialog does not hold. A call that fails is ``inconsistent`` (retried once with what
was wrong) or ``echoed``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from pydantic import ValidationError

from services.extraction.schemas import ExtractResponse, extraction_answer
from shared.engines.extraction import ExtractionModel, gated_read
from shared.engines.intent import IntentModel
from shared.live_prompts import PromptBook
from shared.llm import OutputSchema, TaskLLM, Unusable, UsageMeter, run_cascade
from shared.llm.base import ChatMessage
from shared.llm.checks import Sources, pick_json, placeholder
from shared.prompts import Prompt, load_prompt, transcript_data
from shared.schemas import EngineChoice, FunctionCall, Message, TokenUsage, TurnReading
from shared.settings import Task
from shared.taxonomy import Category, Taxonomy

PROMPT = load_prompt("services.extraction", "extraction")
# The prompt's examples of the form of a value, and the brands its earlier version gave as an example (which a
# small model was seen to copy): a value equal to one of them that the dialog does not hold was copied.
PROMPT_EXAMPLES = frozenset(
    v.casefold() for v in ("6.5 inch", "long battery life", "below 2000", "5000以内", "Samsung and Google Pixel")
)
_BRAND_SEPARATOR = re.compile(r"\s*(?:\band\b|\bor\b|\bvs\.?|&|/|,|，|、|和|或者?|还是)\s*", re.I)
_SPACE = re.compile(r"\s+")


def _folded(text: str) -> str:
    return _SPACE.sub("", text).casefold()


def _said(term: str, text: str) -> bool:
    """Whether ``text`` (lower-cased) says ``term``: an English word on its own (plural too), Chinese anywhere."""
    term = term.lower()
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}s?(?![a-z0-9])", text) is not None
    return term in text


def build_prompt(taxonomy: Taxonomy, messages: Sequence[Message], prompt: Prompt = PROMPT) -> list[ChatMessage]:
    """The instruction (with the categories) as the system message; the dialog, JSON-encoded, as the user
    message."""
    categories = "\n".join(
        f"- {c.id} ({c.name_en} / {c.name_zh}): {', '.join(c.attribute_keys)}" for c in taxonomy.categories.values()
    )
    common = ", ".join(a.key for a in taxonomy.common_attributes)
    conversation = transcript_data((m.role, m.content) for m in messages)
    return prompt.messages(categories=categories, common_keys=common, conversation=conversation)


class LocalExtractor:
    def __init__(self, intent: IntentModel, model: ExtractionModel) -> None:
        self.intent = intent
        self.model = model

    @property
    def taxonomy(self) -> Taxonomy:
        return self.model.taxonomy

    def read(self, messages: list[Message]) -> tuple[FunctionCall | None, TurnReading]:
        return gated_read(messages, self.intent, self.model)


class Extractor:
    """Local engine by default; the LLM with one repair round when configured, falling back to local."""

    def __init__(self, llm: TaskLLM, local: LocalExtractor, prompts: PromptBook | None = None) -> None:
        self.llm = llm
        self.local = local
        self.prompts = prompts or PromptBook("services.extraction")
        self._schema: tuple[Taxonomy, OutputSchema] | None = None

    @property
    def brand_names(self) -> dict[str, set[str]]:
        """Every brand's names (canonical and aliases, lower-cased), by each of them, in the current vocabulary."""
        return self.local.model.brand_groups

    @property
    def schema(self) -> OutputSchema:
        """The call as the catalog's current vocabulary allows it: built again only when that changes."""
        taxonomy = self.local.taxonomy
        if self._schema is None or self._schema[0] is not taxonomy:
            self._schema = (taxonomy, OutputSchema.of(extraction_answer(taxonomy), "extraction"))
        return self._schema[1]

    async def extract(self, messages: list[Message], engine: EngineChoice) -> ExtractResponse:
        # The turn's reading is always the local engine's (what the router's dialog state merges): read while an LLM
        # answers, so that it adds nothing to the call's time, and the local call comes with it.
        reading = asyncio.create_task(asyncio.to_thread(self.local.read, messages))
        if engine == "local" or self.llm.uses_local(Task.EXTRACTION):
            await reading
        local_call = cache(lambda: reading.result()[0] if reading.done() else self.local.read(messages)[0])
        meter = UsageMeter()
        live = self.prompts.get("extraction")  # one version for the whole request, whatever reloads meanwhile
        answer = await run_cascade(
            self.llm,
            Task.EXTRACTION,
            engine,
            local=local_call,
            prompt=lambda: self.prompt(messages, live),
            parse=lambda text: self.read(text, messages, local_call, live),
            repair=lambda problem: f"That answer is invalid: {problem.reason}. Answer again, JSON only.",
            meter=meter,
            schema=self.schema,
        )
        return ExtractResponse(
            call=answer.value,
            turn=(await reading)[1],
            engine=answer.engine,
            usage=TokenUsage.of(meter.usage),
            prompt_version=live.version if answer.engine == "llm" else None,
        )

    def prompt(self, messages: list[Message], prompt: Prompt | None = None) -> list[ChatMessage]:
        return build_prompt(self.local.taxonomy, messages, prompt or self.prompts.get("extraction"))

    def read(
        self,
        text: str,
        messages: list[Message],
        local_call: Callable[[], FunctionCall | None] | None = None,
        prompt: Prompt | None = None,
    ) -> FunctionCall | None | Unusable:
        """The call, None for a valid "no call", or why the answer is unusable, inconsistent or copied (from the
        dialog, or from ``prompt``, the one sent)."""
        sources = Sources.of([m.content for m in messages], [m.content for m in self.prompt(messages, prompt)])
        block = pick_json(text, sources, "response", lambda b: "call" in b.value)
        if block is None:
            return Unusable("no JSON object with a 'call' key")
        if isinstance(block, Unusable):
            return block
        try:
            call = self._validate(block.value)
        except (ValueError, ValidationError, AttributeError) as exc:
            return Unusable(str(exc))
        if call is None:
            return None
        return self.check(call, messages, local_call or (lambda: self.local.read(messages)[0])) or call

    def check(
        self, call: FunctionCall, messages: list[Message], local_call: Callable[[], FunctionCall | None]
    ) -> Unusable | None:
        """Why the dialog does not support the call, or None when it does."""
        said = "\n".join(m.content for m in messages).lower()
        folded = _folded(said)
        arguments = call.arguments
        for key, value in arguments.items():
            if placeholder(value) or (value.casefold() in PROMPT_EXAMPLES and _folded(value) not in folded):
                return Unusable(f"{key} {value!r} is the prompt's example, not the dialog's", "echoed")
        local_arguments = (local_call() or FunctionCall()).arguments
        for brand in filter(None, _BRAND_SEPARATOR.split(arguments.get("brand", ""))):
            names = self.brand_names.get(brand.lower()) or next(
                (group for name, group in self.brand_names.items() if brand.lower().startswith(name)), {brand.lower()}
            )
            if not any(_folded(name) in folded for name in {brand.lower(), *names}) and brand not in local_arguments.get(
                "brand", ""
            ):
                return Unusable(f"the brand {brand!r} is not named in the dialog: give only brands the user named",
                                "inconsistent")
        category = self.local.taxonomy.categories[arguments["category"]]
        if not self._supported(category, said) and local_arguments.get("category") != category.id:
            return Unusable(
                f"nothing in the dialog is about the category {category.id!r}: give the product the user wants",
                "inconsistent",
            )
        return None

    @staticmethod
    def _supported(category: Category, said: str) -> bool:
        """Whether the dialog names the category, a synonym of it, or one of its brands."""
        names = (category.id, category.id.replace("_", " "), category.name_en, category.name_zh,
                 *category.synonyms_en, *category.synonyms_zh, *category.brands, *category.brand_aliases)
        return any(_said(name, said) for name in names if name)

    def _validate(self, data: dict[str, Any]) -> FunctionCall | None:
        if data["call"] is None:
            return None
        raw: Any = data["call"]
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
