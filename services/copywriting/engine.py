"""Copywriting: short persuasive copy from a product's attributes, intro and reviews.

Local engine: the benefit the user asked for first (the wished attribute and what it does for them), the
strongest review sentence about the product to back it, then the other facts, each stated once, and the
price, within the bound. LLM path: the rules as the system message and the product and the conversation,
JSON-encoded, as the user message; then a check (length, language, every number in the copy must appear in
the input, no copy of the input or the prompt, no loop), one retry with the broken rule named, then the local
copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import cache

from services.copywriting.schemas import (
    DEFAULT_MAX_LENGTH,
    CopyProduct,
    CopyRequest,
    CopyResponse,
)
from shared.lexicon import (
    clip,
    format_number,
    invented_numbers,
    review_sentences,
    sentiment,
    split_sentences,
)
from shared.live_prompts import PromptBook
from shared.llm import TaskLLM, Unusable, run_cascade
from shared.llm.base import ChatMessage
from shared.llm.checks import Repetition, Sources, echoed_text
from shared.products import (
    display_name,
    feature_text,
    localised_text,
    ranked_attributes,
    reviews_in,
    value_text,
)
from shared.prompts import Prompt, as_data, load_prompt, transcript_data
from shared.settings import Task
from shared.sse import Event, text_events
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex
from shared.telemetry import request_id_var
from shared.text import is_chinese
from shared.vocabulary import CATALOG_GROUP

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
class Fact:
    """One attribute as the copy states it: its key, label and value in the copy's language, and every
    spelling of the value (either language, as sent) that counts as stating it."""

    key: str
    label: str
    value: str
    forms: tuple[str, ...]
    wished: bool

    def text(self, zh: bool) -> str:
        # 滋润度 "滋润", 烘焙程度 "中度烘焙": the value alone, not "滋润度滋润" or "烘焙程度中度烘焙"; and an
        # attribute the catalog gives no Chinese name is no English key in Chinese copy.
        label = self.label
        if zh and (label.isascii() or self.value in label or any(label[i : i + 2] in self.value for i in range(len(label) - 1))):
            return self.value
        return feature_text(self.label, self.value, zh)


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
    facts: tuple[Fact, ...] = ()  # the attributes again, with their keys and spellings, in the same order


# What an attribute does for the buyer, said after its value. Only for values above the entry level of the
# attribute's scale (taxonomy values run from entry-level to premium): "3500mAh, so you charge less often"
# would oversell.
BENEFITS: dict[str, tuple[str, str]] = {
    "battery": ("出门少操心充电", "so you charge less often"),
    "camera": ("随手拍也清晰", "for sharper everyday photos"),
    "sensor resolution": ("细节拍得更清楚", "for finer detail"),
    "noise cancelling": ("通勤、出差都更安静", "for quieter commutes and flights"),
    "water resistance": ("不怕汗水和雨水", "so sweat and rain are no worry"),
    "health sensors": ("健康数据随时看", "to keep an eye on your health"),
    "gps": ("运动轨迹记录更准", "for accurate tracks"),
    "processor": ("多开应用也流畅", "for smooth multitasking"),
    "memory": ("多开应用也流畅", "for smooth multitasking"),
    "storage": ("照片视频放得下", "with room for photos and videos"),
    "suction": ("清洁更彻底", "for a deeper clean"),
    "cadr": ("净化更快", "to clean the air faster"),
    "cushioning": ("跑起来更舒服", "for comfier miles"),
    "spf": ("防晒更安心", "for dependable sun protection"),
    "fill power": ("保暖更到位", "for real warmth"),
    "eye care grade": ("看书写字更护眼", "easier on the eyes"),
    "long wear": ("妆容更持久", "to last through the day"),
    "energy rating": ("长期用更省电", "to save power over the years"),
}
_HOOKS = ("看重{wish}？", "Care about {wish}?")
_REVIEW_LEAD = ("买家说：", "One buyer says: ")
_ALSO = ("另有{facts}。", "Also: {facts}.")
_PRICE = ("售价¥{price}。", "Yours for ¥{price}.")
_LEADS = ("lead", "lead_values", "lead_first")  # the lead in full, as bare values, the first value alone
_REVIEW_CLAUSE = re.compile(r"(?<=[，,:：])\s*")
# Review openings that only say how the buyer got there ("到手一个月了", "After a month").
_FILLER = re.compile(
    r"^\s*(?:入手|到手|用了|买了|收到|对比了|第一次买|给.{1,6}买的|帮.{1,6}买的|第[一二三两]次|"
    r"after (?:a|one|two|three|\w+) (?:day|week|month|year)s?|bought (?:it|this)|compared)",
    re.I,
)
# About the shop, not the product: no selling point.
_ERRAND = re.compile(r"deliver|shipping|packag|courier|customer service|seller|快递|物流|包装|客服|发货|到货|送货|卖家", re.I)


class LocalCopywriter:
    """Copy as a shop assistant says it: the benefit the user asked for first (the wished attribute, what
    it does for them), the strongest review sentence to back it, then the other facts, each stated once,
    and the price; pieces are dropped, least important first, to stay within the bound."""

    def __init__(self, index: TaxonomyIndex) -> None:
        self.index = index

    def brief(self, request: CopyRequest) -> Brief:
        product = request.product
        said = "\n".join(m.content for m in request.messages or [] if m.role == "user")
        # "屏幕大小无所谓" / "I don't care about the colour" name an attribute but are no wish.
        wishes = "\n".join(c for c in _CLAUSE.split(said) if c.strip() and not _INDIFFERENT.search(c))
        category = self.index.category_of(product)
        # Naming the product is no wish: "我想买个空气净化器" says nothing about 洁净空气量 (空气). A value that is
        # also a product word ("拉拉裤", "沙发床") is still read from the words as said.
        said_wishes, wishes = wishes, _without_names(wishes, category)
        if request.language is not None:
            zh = request.language == "zh"
        elif said:
            zh = is_chinese(next(m.content for m in reversed(request.messages or []) if m.role == "user"))
        else:
            zh = is_chinese(f"{product.skuName} {product.intro}")
        known: dict[str, str] = {}
        wished: list[str] = []
        wish_keywords: list[str] = []
        cues = self.index.cues(category)
        for key, value in product.attributes.items():
            attr = self.index.attribute(category, key)
            mentioned = self.index.mentioned_value(attr, wishes, cues.get(attr.key)) if attr is not None else None
            if mentioned and len(mentioned) <= 2 and mentioned.isascii() and not _states(wishes, mentioned):
                mentioned = None  # size "S" inside "pieces" is no wish
            forms = {value_text(value), *(self.index.localise(category, key, value_text(value), z) for z in (True, False))}
            hit = (mentioned is not None if attr is not None else key.lower() in wishes.lower()) or any(
                _states(said_wishes, form) for form in forms
            )
            if wishes and hit:
                known[attr.key if attr else key] = ""
                wished.append(self.index.label(category, key, zh))
                wish_keywords += [key, value_text(value), *(cues.get(attr.key, []) if attr else ())]
        facts = []
        for key, value in ranked_attributes(product, known, category, self.index):
            attr = self.index.attribute(category, key)
            forms = {value, self.index.localise(category, key, value, True), self.index.localise(category, key, value, False)}
            facts.append(Fact(
                key=attr.key if attr else key,
                label=self.index.label(category, key, zh),
                value=self.index.localise(category, key, value, zh),
                forms=tuple(sorted(f for f in forms if f)),
                wished=(attr.key if attr else key) in known,
            ))
        limit = request.max_length or DEFAULT_MAX_LENGTH["zh" if zh else "en"]
        attributes = [(f.label, f.value) for f in facts]
        return Brief(zh, limit, said, attributes, wished, wish_keywords, category, tuple(facts))

    def write(self, request: CopyRequest, brief: Brief | None = None) -> str:
        brief = brief or self.brief(request)
        product = request.product
        zh = brief.zh
        facts = list(brief.facts)
        brands = self.index.brand_names(brief.category, product.brand)
        full_name = display_name(product, zh, brands)
        # A value inside the brand stays: 烟台 (its origin) is part of 烟台果园.
        inside = [b.lower() for b in brands]
        name = _without(full_name, [form for f in facts for form in f.forms if not any(form.lower() in b for b in inside)])
        review = self._review(product, brief)
        wished = [f for f in facts if f.wished][:2]
        leading = wished or [self._topic(review, facts) or facts[0]] if facts else []
        intro = self._intro(product, zh, facts)
        first = leading[0] if leading else None
        # The benefits speak of the taxonomy file's kinds ("for sharper photos"): none for a kind only the catalog knows.
        known = brief.category is not None and brief.category.group != CATALOG_GROUP
        benefit = (
            BENEFITS.get(first.key, ("", ""))[0 if zh else 1]
            if known and first and self._above_entry(first, brief.category)
            else ""
        )
        # The hook names what the user cares about, unless that name holds the value ("变频", 滋润度 "滋润").
        labels = [f.label for f in wished if not any(form.lower() in f.label.lower() for form in (f.value, *f.forms))]
        hook = _HOOKS[0 if zh else 1].format(wish=("和" if zh else " and ").join(labels)) if labels else ""
        bare = _without_names(name, brief.category).strip() or name
        model = _without(bare, self.index.brand_names(brief.category, product.brand))
        names = list(dict.fromkeys([name, bare, model]))
        order = ["lead", "lead_values", "lead_first", "review", "hook", "benefit", "fact0", "price", "fact1", "fact2", "intro"]

        # With the review, a fact it states is left to it: said once, in a buyer's words ("the 50MP camera"
        # states 50MP triple camera). Without room for it, the facts are stated plainly.
        told = [f for f in facts if any(_states(review, form) or _same_amount(review, form) for form in f.forms)]
        plans = [(review, told), ("", [])] if review else [("", [])]
        best = ""
        for candidate, (quote, covered) in ((n, plan) for n in names for plan in plans):
            lead = [f for f in leading if f not in covered]
            others = [f for f in facts if f not in leading and f not in covered][:3]
            # The pieces from the most to the least important; each is kept only if the copy still fits. The lead
            # falls back to the bare values ("5000毫安时") or the first alone, then the name to one without its
            # product word or brand.
            candidates = {
                "lead": _listed([f.text(zh) for f in lead], zh),
                "lead_values": _listed([f.value for f in lead], zh),
                "lead_first": lead[0].value if len(lead) > 1 else "",
                "review": quote,
                "hook": hook,
                "benefit": benefit,
                **{f"fact{i}": fact.text(zh) for i, fact in enumerate(others)},
                "price": format_number(product.price) if product.price is not None else "",
                "intro": intro,
            }
            pieces: dict[str, str] = {}
            text = self._render(candidate, pieces, zh)
            for key in order:
                if not candidates.get(key) or (key.startswith("lead_") and pieces.keys() & _LEADS):
                    continue
                trial = self._render(candidate, {**pieces, key: candidates[key]}, zh)
                if copy_length(trial, zh) <= brief.max_length:
                    pieces[key] = candidates[key]
                    text = trial
            best = best or text
            led = bool(pieces.keys() & _LEADS) or not lead
            if copy_length(text, zh) <= brief.max_length and led and (not quote or "review" in pieces):
                return text
        return best if copy_length(best, zh) <= brief.max_length else _clip_to(best, brief.max_length, zh)

    def _review(self, product: CopyProduct, brief: Brief) -> str:
        """The strongest positive review sentence, one about what the user wished for when there is one,
        less the opening clauses that say nothing ("到手一个月了，")."""
        zh = brief.zh
        keywords = [v for _, v in brief.attributes] + [label for label, _ in brief.attributes]
        reviews = reviews_in(product, zh)
        # Praise from a buyer who rated the product well first: "还好东西没坏" in a two-star review is no praise.
        pleased = [c for c in reviews if c.score is None or c.score >= 4]
        reviews = pleased if review_sentences(pleased) else reviews
        limit = 60 if zh else 160
        ranked = [p for p in review_sentences(reviews, keywords, max_chars=limit) if not _ERRAND.search(p.sentence)]
        if brief.wish_keywords:  # prefer a review about what the user cares about
            about = [k.lower() for k in brief.wish_keywords if len(k) >= 2]
            ranked = [p for p in review_sentences(reviews, brief.wish_keywords, max_chars=limit)
                      if any(k in p.sentence.lower() for k in about) and not _ERRAND.search(p.sentence)] + ranked
        if not ranked:
            return ""
        sentence = ranked[0].sentence
        clauses = [c for c in _REVIEW_CLAUSE.split(sentence) if c.strip()]
        keys = [k.lower() for k in keywords + brief.wish_keywords if len(k) >= 2]
        while len(clauses) > 1 and (_FILLER.search(clauses[0]) or not _telling(clauses[0], keys)):
            clauses.pop(0)
        return clip("".join(clauses) if zh else " ".join(clauses), limit).rstrip("。.!！,，;；")

    def _topic(self, review: str, facts: Sequence[Fact]) -> Fact | None:
        """The fact a review talks about, by its label or value."""
        lowered = review.lower()
        return next((f for f in facts if review and (f.label.lower() in lowered or
                                                      any(_states(review, form) for form in f.forms))), None)

    def _above_entry(self, fact: Fact, category: Category | None) -> bool:
        """Whether the value stands in the upper half of its attribute's scale (or off the scale)."""
        attr = self.index.attribute(category, fact.key)
        if attr is None or len(attr.values_en) < 2:
            return True
        scales = [[v.lower() for v in attr.values_en], [v.lower() for v in attr.values_zh]]
        position = next((scale.index(form.lower()) for scale in scales for form in fact.forms if form.lower() in scale),
                        None)
        return position is None or position >= len(attr.values_en) // 2

    @staticmethod
    def _intro(product: CopyProduct, zh: bool, facts: Sequence[Fact]) -> str:
        """The intro's first sentence, when it says something the attributes do not."""
        text = localised_text(product, "intro", zh)
        sentence = split_sentences(text)[0].rstrip("。.!！") if text else ""
        if not sentence or any(_states(sentence, form) for f in facts for form in f.forms):
            return ""
        return sentence

    @staticmethod
    def _render(name: str, p: dict[str, str], zh: bool) -> str:
        out = ""
        if p.get("hook"):
            out += p["hook"] + ("" if zh else " ")
        out += name
        if lead := next((p[k] for k in _LEADS if p.get(k)), ""):
            out += ("：" if zh else ": ") + lead
        if p.get("benefit"):
            out += ("，" if zh else ", ") + p["benefit"]
        if zh and p.get("review") and not lead:  # "石头 Q7 Max，买家说：“…”。"
            return out + f"，{_REVIEW_LEAD[0]}“{p['review']}”。" + _rest(p, zh)
        out += "。" if zh else "."
        if p.get("review"):
            out += f"{_REVIEW_LEAD[0]}“{p['review']}”。" if zh else f' {_REVIEW_LEAD[1]}"{p["review"]}."'
        return out + _rest(p, zh)


def _rest(p: dict[str, str], zh: bool) -> str:
    """The other facts, the intro and the price."""
    i = 0 if zh else 1
    out = ""
    facts = [p[k] for k in ("fact0", "fact1", "fact2") if p.get(k)]
    if facts:
        out += _ALSO[i].format(facts=_listed(facts, zh)) if zh else " " + _ALSO[i].format(facts=_listed(facts, zh))
    if p.get("intro"):
        out += f"{p['intro']}。" if zh else f" {p['intro']}."
    if p.get("price"):
        out += _PRICE[i].format(price=p["price"]) if zh else " " + _PRICE[i].format(price=p["price"])
    return out


def _states(text: str, value: str) -> bool:
    """Whether ``text`` states ``value`` (as a whole word when it is Latin: "OLED" is not in "AMOLED")."""
    if not value:
        return False
    body = r"\s*".join(re.escape(part) for part in value.split())
    return re.search(rf"(?<![A-Za-z0-9.]){body}(?![A-Za-z0-9])", text, re.I) is not None


def _same_amount(text: str, value: str) -> bool:
    """Whether ``text`` gives the amount a value leads with ("50MP" for "50MP triple camera", 4500 for 4500mAh)."""
    match = re.match(r"\D{0,3}?(\d+(?:\.\d+)?)", value)
    if match is None or len(match.group(1)) < 2:
        return False
    return re.search(rf"(?<![\d.]){re.escape(match.group(1))}(?![\d.])", text) is not None


def _without(name: str, values: Sequence[str]) -> str:
    """The name less the attribute values it spells out ("谷歌 Pixel 8a 5G手机 6.1英寸 AMOLED屏" -> "谷歌 Pixel 8a
    5G手机"): the copy states each of them once, as a fact."""
    short = name
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        body = r"\s*".join(re.escape(part) for part in value.split())
        short = re.sub(rf"(?<![A-Za-z0-9.]){body}(?![A-Za-z0-9])", " ", short, flags=re.I)
    short = re.sub(r"\s+", " ", short).strip(" -·,，/")
    return short if len(short) >= 2 else name


def _listed(items: Sequence[str], zh: bool) -> str:
    if zh or len(items) <= 1:
        return "、".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _without_names(text: str, category: Category | None) -> str:
    """``text`` less the category's names: "我想买个空气净化器" -> "我想买个 "."""
    if category is None:
        return text
    names = (category.name_zh, category.name_en, *category.synonyms_zh, *category.synonyms_en)
    for name in sorted((n for n in names if n), key=len, reverse=True):
        pattern = rf"(?<![A-Za-z]){re.escape(name)}(?:e?s)?(?![A-Za-z])" if name.isascii() else re.escape(name)
        text = re.sub(pattern, " ", text, flags=re.I)
    return re.sub(r"[ \t]+", " ", text)


def _telling(clause: str, keywords: Sequence[str]) -> bool:
    """Whether a review clause says something: an opinion, a number or one of the attribute words."""
    lowered = clause.lower()
    return sentiment(clause) != 0 or bool(re.search(r"\d", clause)) or any(k in lowered for k in keywords)


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
    repetition = Repetition()
    repetition.feed(text, final=True)
    if repetition.loop_at is not None:
        return "the copy repeats itself"
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

    def __init__(self, llm: TaskLLM, local: LocalCopywriter, prompts: PromptBook | None = None) -> None:
        self.llm = llm
        self.local = local
        self.prompts = prompts or PromptBook("services.copywriting")

    async def write(self, request: CopyRequest) -> CopyResponse:
        brief = self.local.brief(request)
        product = product_json(request.product)
        live = self.prompts.get("copywriting")  # one version for the whole request, whatever reloads meanwhile
        prompt = cache(lambda: build_prompt(request, brief, live))
        said = [m.content for m in request.messages or []]
        echo = cache(lambda: Sources.of(said, [m.content for m in prompt()]))

        def parse(text: str) -> str | Unusable:
            copy = clean_copy(text)
            if echoed_text(copy, echo()):
                return Unusable("the copy repeats the input or the prompt", "echoed")
            return _checked(copy, brief, [product, brief.wishes])

        answer = await run_cascade(
            self.llm,
            Task.COPYWRITING,
            request.engine,
            local=lambda: self.local.write(request, brief),
            prompt=prompt,
            parse=parse,
            repair=_rewrite,
            request_id=request_id_var.get(),
        )
        version = live.version if answer.engine == "llm" else None
        return CopyResponse(copy_text=answer.value, engine=answer.engine, prompt_version=version)

    async def stream(self, request: CopyRequest) -> AsyncIterator[Event]:
        """The checked copy as token events, then ``done``: an LLM copy is checked whole before it is sent,
        so a copy with an invented number never reaches the user."""
        answer = await self.write(request)
        async for event in text_events(answer.copy_text, "copy", answer.engine, prompt_version=answer.prompt_version):
            yield event


def build_prompt(request: CopyRequest, brief: Brief, prompt: Prompt = PROMPT) -> list[ChatMessage]:
    """The rules as the system message; the product and the conversation, JSON-encoded, as the user message."""
    product = as_data(request.product.model_dump(exclude_defaults=True, exclude={"skuId"}))
    conversation = transcript_data((m.role, m.content) for m in request.messages or [])
    return prompt.messages(
        language="Chinese (简体中文)" if brief.zh else "English",
        max_length=str(brief.max_length),
        unit="Chinese characters" if brief.zh else "words",
        data=f'{{"product": {product},\n"conversation": {conversation}}}',
    )


def _checked(text: str, brief: Brief, sources: Sequence[str]) -> str | Unusable:
    problem = check_copy(text, brief, sources)
    return text if problem is None else Unusable(problem)


def _rewrite(problem: Unusable) -> str:
    return f"That copy is not acceptable: {problem.reason}. Rewrite it following every rule; output only the copy."
