"""Intent and scene recognition: the local CPU engine, the LLM path, and the cascade between them.

The local engine is the trained classifier of ``shared.engines.intent`` (USE embeddings + context cues,
calibrated probabilities) with the scene patterns of ``shared.engines.scene``.
"""

from __future__ import annotations

import difflib
import re
from functools import cache

from services.intent.schemas import IntentAnswer, IntentResponse
from shared.engines.artefacts import load_intent, models_dir
from shared.engines.intent import IntentModel, IntentPrediction
from shared.engines.intent_features import CUES
from shared.engines.scene import extract_scene
from shared.live_prompts import PromptBook
from shared.llm import OutputSchema, TaskLLM, Unusable, UsageMeter, run_cascade
from shared.llm.base import ChatMessage
from shared.llm.checks import Sources, pick_json, placeholder
from shared.prompts import Prompt, load_prompt, transcript_data
from shared.schemas import INTENT_LABELS, EngineChoice, IntentLabel, Message, Scene, TokenUsage, intent_label
from shared.settings import Task

PROMPT = load_prompt("services.intent", "intent")
SCHEMA = OutputSchema.of(IntentAnswer, "intent")

_REASONS = {
    "random chat": "no product, feature or shopping intent in the last message",
    "random shopping": "shopping is the topic, but no product type, feature or need is named",
    "intended shopping": "a clear wish to buy, naming at most a product type",
    "specific scenarios": "a purchase tied to where or when the product is needed",
    "specific needs": "the user says what the product must do or be",
    "specific brand": "the user names a brand or model and has not decided to buy",
}


def explain(prediction: IntentPrediction) -> str:
    """A one-line reason from the label and the context cues that back it."""
    cues = dict(zip(CUES, prediction.read.cues, strict=True))
    names = ", ".join(f"'{b}'" for b in prediction.read.brands)
    if prediction.label == "specific needs" and cues["decided"]:
        return "the user has decided and asks how to buy"
    if prediction.label == "specific needs" and cues["brand_from_bot"]:
        return f"the user picks {names}, which the guide offered"
    if prediction.label == "specific brand" and names:
        return f"the user names {names} and has not decided to buy"
    return _REASONS[prediction.label]


class LocalIntentEngine:
    """The trained classifier; ``confidence`` is its calibrated probability for the label."""

    def __init__(self, model: IntentModel | None = None) -> None:
        self.model = model or load_intent(models_dir())

    def classify(self, messages: list[Message]) -> IntentResponse:
        prediction = self.model.predict(messages)
        return IntentResponse(
            intent=prediction.label,
            reason=explain(prediction),
            scene=extract_scene(messages, prediction.label),
            confidence=round(prediction.confidence, 4),
            engine="local",
        )


def normalise_label(raw: str) -> IntentLabel | None:
    """Map an LLM's label to one of the six: case, spacing and near misses ("Specific_Brand")."""
    cleaned = re.sub(r"[\s_\-]+", " ", raw).strip().lower()
    close = difflib.get_close_matches(cleaned, INTENT_LABELS, n=1, cutoff=0.75)  # a label itself scores 1
    return intent_label(close[0]) if close else None


def build_prompt(messages: list[Message], prompt: Prompt = PROMPT) -> list[ChatMessage]:
    """The instruction as the system message; the chat, JSON-encoded, as the user message."""
    return prompt.messages(conversation=transcript_data((m.role, m.content) for m in messages))


def parse_llm_answer(text: str, sources: Sources | None = None) -> IntentResponse | None:
    answer = read_llm_answer(text, sources or Sources.of())
    return None if isinstance(answer, Unusable) else answer


def read_llm_answer(text: str, sources: Sources) -> IntentResponse | Unusable:
    """The model's own answer: the first ``<response>`` block (or JSON object) with a category that was not
    copied from the chat or the prompt, its values no template filler."""
    block = pick_json(text, sources, "response", lambda b: bool(b.value.get("category") or b.value.get("intent")))
    if block is None:
        return Unusable("no JSON answer with a category")
    if isinstance(block, Unusable):
        return block
    data = block.value
    label = normalise_label(str(data.get("category") or data.get("intent") or ""))
    if label is None:
        return Unusable("no known category in the answer")
    reason, aim, scene = (str(data.get(key, "") or "") for key in ("reason", "aim", "scene"))
    if any(placeholder(value) for value in (reason, aim, scene) if value):
        return Unusable("the answer repeats the prompt's form instead of filling it in", "echoed")
    return IntentResponse(
        intent=label, reason=reason, scene=Scene(aim=aim, scene=scene), confidence=0.9, engine="llm"
    )


def repair(problem: Unusable) -> str:
    """The retry's words: what was wrong with the reply, so that asking again can get something else."""
    labels = ", ".join(f'"{label}"' for label in INTENT_LABELS)
    return (
        f"That answer cannot be used: {problem.reason}. Answer again: one <response></response> block holding the "
        f"JSON object, its category one of {labels}."
    )


class IntentRecogniser:
    """Answers with the local engine, the LLM, or the cascade: local first, the LLM when unsure."""

    def __init__(
        self, llm: TaskLLM, local: LocalIntentEngine, threshold: float, prompts: PromptBook | None = None
    ) -> None:
        self.llm = llm
        self.local = local
        self.threshold = threshold
        self.prompts = prompts or PromptBook("services.intent")

    async def recognise(self, messages: list[Message], engine: EngineChoice) -> IntentResponse:
        live = self.prompts.get("intent")  # one version for the whole request, whatever reloads meanwhile
        prompt = cache(lambda: build_prompt(messages, live))
        sources = cache(lambda: Sources.of([m.content for m in messages], [m.content for m in prompt()]))
        meter = UsageMeter()
        answer = await run_cascade(
            self.llm,
            Task.INTENT,
            engine,
            local=lambda: self.local.classify(messages),
            prompt=prompt,
            parse=lambda text: read_llm_answer(text, sources()),
            confident=lambda local: local.confidence >= self.threshold,
            repair=repair,
            meter=meter,
            schema=SCHEMA,
        )
        version = live.version if answer.engine == "llm" else None
        return answer.value.model_copy(update={"usage": TokenUsage.of(meter.usage), "prompt_version": version})
