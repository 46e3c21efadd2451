"""Copywriting: short persuasive copy from a product's attributes, intro and reviews.

Local engine: templates that lead with the attributes the user asked for and quote the most positive
concrete review sentence. LLM path: a prompt, then a check (length, language, and every number in the
copy must appear in the input), one retry with the broken rule named, then the local copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from services.copywriting.schemas import (
    DEFAULT_MAX_LENGTH,
    CopyProduct,
    CopyRequest,
    CopyResponse,
)
from shared.lexicon import (
    best_review_sentence,
    clip,
    format_number,
    invented_numbers,
    split_sentences,
)
from shared.llm import TaskLLM, Unusable, run_cascade
from shared.llm.base import ChatMessage
from shared.products import (
    display_name,
    feature_text,
    localised_text,
    ranked_attributes,
    reviews_in,
    value_text,
)
from shared.prompts import load_prompt
from shared.schemas import Message
from shared.settings import Task
from shared.sse import Event, text_events
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex
from shared.telemetry import request_id_var
from shared.text import is_chinese

PROMPT = load_prompt("services.copywriting", "copywriting")
_WRAPPING = re.compile(r"^\s*(?:文案|copy|推荐文案)\s*[:：]\s*", re.I)
_QUOTES = "\"'“”‘’「」"
_CLAUSE = re.compile(r"[，,。！？!?；;\n]|\.\s|\bbut\b|但是|不过", re.I)
_INDIFFERENT = re.compile(
    r"无所谓|都可以|都行|不在乎|不重要|随便|不介意|没要求|不挑|"
    r"\b(?:don'?t|do not|doesn'?t|does not)\s+(?:really\s+)?(?:care|matter|mind)|\bnot important\b|"
    r"\bno preference\b|\bwhatever\b|\bany\s+\w+\s+(?:is|will do)\b",
    re.I,
)


def copy_length(text: str, zh: bool) -> int:
    """Chinese copy is measured in characters, English in words."""
    return len(text) if zh else len(text.split())


@dataclass(frozen=True, slots=True)
class Brief:
    """What the copy is written from: language, bound, the user's wishes and the matching attributes."""

    zh: bool
    max_length: int
    wishes: str
    attributes: list[tuple[str, str]]  # (label, value), wished-for first
    wished: list[str]  # labels of the attributes the user asked about
    wish_keywords: list[str]  # their names, cue words and values, to find a review that speaks to them
    category: Category | None


class LocalCopywriter:
    def __init__(self, index: TaxonomyIndex) -> None:
        self.index = index

    def brief(self, request: CopyRequest) -> Brief:
        product = request.product
        said = "\n".join(m.content for m in request.messages or [] if m.role == "user")
        # "屏幕大小无所谓" / "I don't care about the colour" name an attribute but are no wish.
        wishes = "\n".join(c for c in _CLAUSE.split(said) if c.strip() and not _INDIFFERENT.search(c))
        if request.language is not None:
            zh = request.language == "zh"
        elif said:
            zh = is_chinese(next(m.content for m in reversed(request.messages or []) if m.role == "user"))
        else:
            zh = is_chinese(f"{product.skuName} {product.intro}")
        category = self.index.category_of(product)
        known: dict[str, str] = {}
        wished: list[str] = []
        wish_keywords: list[str] = []
        cues = self.index.cues(category)
        for key, value in product.attributes.items():
            attr = self.index.attribute(category, key)
            hit = (
                self.index.mentioned_value(attr, wishes, cues.get(attr.key)) is not None
                if attr is not None
                else key.lower() in wishes.lower()
            ) or (bool(value_text(value)) and value_text(value).lower() in wishes.lower())
            if wishes and hit:
                known[attr.key if attr else key] = ""
                wished.append(self.index.label(category, key, zh))
                wish_keywords += [key, value_text(value), *(cues.get(attr.key, []) if attr else ())]
        attributes = [
            (self.index.label(category, key, zh), self.index.localise(category, key, value, zh))
            for key, value in ranked_attributes(product, known, category, self.index)
        ]
        limit = request.max_length or DEFAULT_MAX_LENGTH["zh" if zh else "en"]
        return Brief(zh, limit, said, attributes, wished, wish_keywords, category)

    def write(self, request: CopyRequest, brief: Brief | None = None) -> str:
        brief = brief or self.brief(request)
        product = request.product
        zh = brief.zh
        keywords = [v for _, v in brief.attributes] + [label for label, _ in brief.attributes]
        reviews = reviews_in(product, zh)
        review = best_review_sentence(reviews, keywords, max_chars=60 if zh else 160)
        if brief.wish_keywords:  # prefer a review about what the user cares about
            wished = best_review_sentence(reviews, brief.wish_keywords, max_chars=60 if zh else 160)
            lowered = wished.sentence.lower() if wished else ""
            if wished and any(k.lower() in lowered for k in brief.wish_keywords if len(k) >= 2):
                review = wished
        intro_text = localised_text(product, "intro", zh)
        intro = split_sentences(intro_text)[0] if intro_text else ""
        name = display_name(product, zh, self.index.brand_names(brief.category, product.brand))
        attrs = [feature_text(label, value, zh) for label, value in brief.attributes[:3]]
        n_wished = min(len(brief.wished), 3)

        # Pieces from the most to the least important; each is kept only if the copy still fits.
        pieces: dict[str, str] = {}
        order = ["attr0", "review", "wish", "attr1", "price", "attr2", "intro"]
        candidates = {
            "attr0": attrs[0] if attrs else "",
            "attr1": attrs[1] if len(attrs) > 1 else "",
            "attr2": attrs[2] if len(attrs) > 2 else "",
            "review": review.sentence.rstrip("。.!！") if review else "",
            "wish": ("、".join(brief.wished[:n_wished]) if zh else " and ".join(brief.wished[:n_wished]))
            if n_wished else "",
            "price": format_number(product.price) if product.price is not None else "",
            "intro": intro.rstrip("。.!！"),
        }
        text = self._render(name, pieces, zh)
        for key in order:
            if not candidates[key]:
                continue
            trial = self._render(name, {**pieces, key: candidates[key]}, zh)
            if copy_length(trial, zh) <= brief.max_length:
                pieces[key] = candidates[key]
                text = trial
        return text if copy_length(text, zh) <= brief.max_length else _clip_to(text, brief.max_length, zh)

    @staticmethod
    def _render(name: str, p: dict[str, str], zh: bool) -> str:
        features = [p[k] for k in ("attr0", "attr1", "attr2") if p.get(k)]
        if zh:
            out = f"{name}"
            if features:
                out += "：" + "、".join(features)
            out += "。"
            if p.get("wish"):
                out += f"正合您对{p['wish']}的要求。"
            if p.get("intro"):
                out += f"{p['intro']}。"
            if p.get("review"):
                out += f"买家说：“{p['review']}”。"
            if p.get("price"):
                out += f"售价¥{p['price']}。"
            return out
        out = name
        if features:
            out += ": " + (features[0] if len(features) == 1 else f"{', '.join(features[:-1])} and {features[-1]}")
        out += "."
        if p.get("wish"):
            out += f" Just what you asked for in {p['wish']}."
        if p.get("intro"):
            out += f" {p['intro']}."
        if p.get("review"):
            out += f' One buyer says: "{p["review"]}."'
        if p.get("price"):
            out += f" Yours for ¥{p['price']}."
        return out


def _clip_to(text: str, limit: int, zh: bool) -> str:
    if zh:
        return clip(text, limit)
    words = text.split()
    return " ".join(words[: limit - 1]).rstrip(",;:") + "…" if len(words) > limit else text


# --------------------------------------------------------------------------- LLM path
def product_json(product: CopyProduct) -> str:
    data = product.model_dump(exclude_defaults=True, exclude={"skuId"})
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def clean_copy(text: str) -> str:
    text = text.strip()
    text = _WRAPPING.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def check_copy(text: str, brief: Brief, sources: Sequence[str]) -> str | None:
    """Why the copy is unacceptable, or None when it is fine."""
    if not text:
        return "the copy is empty"
    length = copy_length(text, brief.zh)
    if length > brief.max_length:
        unit = "characters" if brief.zh else "words"
        return f"the copy has {length} {unit}; the limit is {brief.max_length} {unit}"
    if is_chinese(text) != brief.zh:
        return f"the copy must be written in {'Chinese' if brief.zh else 'English'}"
    if invented := invented_numbers(text, sources):
        return f"the copy contains numbers not found in the product data: {', '.join(invented[:5])}"
    return None


class Copywriter:
    """Writes with the LLM when the copywriting task is routed to one, else (and on failure) locally."""

    def __init__(self, llm: TaskLLM, local: LocalCopywriter) -> None:
        self.llm = llm
        self.local = local

    async def write(self, request: CopyRequest) -> CopyResponse:
        brief = self.local.brief(request)
        product = product_json(request.product)
        answer = await run_cascade(
            self.llm,
            Task.COPYWRITING,
            request.engine,
            local=lambda: self.local.write(request, brief),
            prompt=lambda: [ChatMessage(role="user", content=_prompt(request, brief, product))],
            parse=lambda text: _checked(clean_copy(text), brief, [product, brief.wishes]),
            repair=_rewrite,
            request_id=request_id_var.get(),
        )
        return CopyResponse(copy_text=answer.value, engine=answer.engine)

    async def stream(self, request: CopyRequest) -> AsyncIterator[Event]:
        """The checked copy as token events, then ``done``: an LLM copy is checked whole before it is sent,
        so a copy with an invented number never reaches the user."""
        answer = await self.write(request)
        async for event in text_events(answer.copy_text, "copy", answer.engine):
            yield event


def _prompt(request: CopyRequest, brief: Brief, product: str) -> str:
    return PROMPT.render(
        language="Chinese (简体中文)" if brief.zh else "English",
        max_length=str(brief.max_length),
        unit="Chinese characters" if brief.zh else "words",
        product=product,
        wishes=_transcript(request.messages) if request.messages else "(the user said nothing about preferences)",
    )


def _checked(text: str, brief: Brief, sources: Sequence[str]) -> str | Unusable:
    problem = check_copy(text, brief, sources)
    return text if problem is None else Unusable(problem)


def _rewrite(problem: Unusable) -> str:
    return f"That copy is not acceptable: {problem.reason}. Rewrite it following every rule; output only the copy."


def _transcript(messages: Sequence[Message]) -> str:
    return "\n".join(f"{'user' if m.role == 'user' else 'guide'}: {m.content}" for m in messages)
