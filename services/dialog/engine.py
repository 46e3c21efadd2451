"""Dialog: the local engine (slot policy + templates), the LLM path (streamed), and the choice between them.

The guide only ever talks about the products it was given, quoting their own attributes, prices and
reviews. Small talk ("random chat", "random shopping") is answered kindly and steered toward shopping.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from services.dialog.schemas import DialogRequest, DialogResponse
from services.dialog.slots import SlotPolicy, SlotState
from shared.events import StreamEvent
from shared.lexicon import best_review_sentence, clip, format_number, split_sentences
from shared.llm import LLMError, StreamCut, TaskLLM, Unusable, run_cascade, stream_cascade
from shared.llm.base import ChatMessage
from shared.llm.chunking import clip_tokens, count_tokens
from shared.products import (
    display_name,
    feature_text,
    localised_text,
    ranked_attributes,
    reviews_in,
)
from shared.prompts import load_prompt
from shared.schemas import (
    NON_SHOPPING_INTENTS,
    KnowledgeHit,
    Message,
    SkuInfo,
    last_user_message,
)
from shared.settings import Task
from shared.sse import Event, error_event, text_events
from shared.taxonomy import Attribute, Category
from shared.taxonomy.index import TaxonomyIndex
from shared.telemetry import request_id_var
from shared.text import is_chinese

# The dialog history the guide reads by default (Settings.dialog_history_turns): the last 10 exchanges.
HISTORY_TURNS = 10
MAX_PRESENTED = 3

GUIDE_PROMPT = load_prompt("services.dialog", "guide")
CHAT_PROMPT = load_prompt("services.dialog", "chat")

_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b|你好|您好|嗨|哈喽|早上好|晚上好|在吗", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|thx)\b|谢谢|感谢|多谢", re.I)
_BYE = re.compile(r"\b(bye|goodbye|see you)\b|再见|拜拜|回头见", re.I)
_WHO = re.compile(r"\bwho are you\b|\bwhat are you\b|\bare you a (bot|robot|human)\b|你是谁|你是机器人|你叫什么", re.I)
_HOW_ARE_YOU = re.compile(r"\bhow are you\b|\bhow'?s it going\b|你好吗|最近怎么样|过得怎么样", re.I)
_GUIDE_PREFIX = re.compile(r"^\s*(shopping guide|guide|assistant|bot|导购|助手)\s*[:：]\s*", re.I)


def window(messages: Sequence[Message], turns: int = HISTORY_TURNS) -> list[Message]:
    """The current user message and the ``turns`` exchanges before it; always starts with a user message."""
    user_at = [i for i, m in enumerate(messages) if m.role == "user"]
    return list(messages[user_at[-(turns + 1)] if len(user_at) > turns else user_at[0] :])


def reply_in_chinese(messages: Sequence[Message]) -> bool:
    return is_chinese(last_user_message(list(messages)))


# --------------------------------------------------------------------------- local engine
@dataclass(frozen=True, slots=True)
class Plan:
    """What the local engine decided: the mode, slot state and the reply it would give."""

    shopping: bool
    chinese: bool
    state: SlotState
    reply: str


class LocalDialogEngine:
    """Slot-driven policy and bilingual templates; deterministic, CPU only."""

    def __init__(self, index: TaxonomyIndex, history_turns: int = HISTORY_TURNS) -> None:
        self.index = index
        self.policy = SlotPolicy(index)
        self.history_turns = history_turns
        # One well-known category per group, to suggest when the user is just browsing.
        groups: dict[str, Category] = {}
        for cat in index.taxonomy.categories.values():
            groups.setdefault(cat.group, cat)
        self._suggestions = list(groups.values())[:4]

    def plan(self, request: DialogRequest) -> Plan:
        messages = window(request.messages, self.history_turns)
        chinese = reply_in_chinese(messages)
        state = self.policy.state(messages, request.call, request.products)
        shopping = is_shopping(request, state)
        if shopping:
            reply = self._guide(request, state, chinese)
        else:
            reply = self._chat(last_user_message(messages), request.intent or "random chat", chinese)
        return Plan(shopping=shopping, chinese=chinese, state=state, reply=reply)

    # ----------------------------------------------------------------- small talk
    def _chat(self, text: str, intent: str, zh: bool) -> str:
        parts: list[str] = []
        if _BYE.search(text):
            return (
                "再见，祝您生活愉快！下次想买东西随时找我。" if zh
                else "Goodbye, have a lovely day! Come back any time you need shopping help."
            )
        if _GREETING.search(text):
            parts.append("您好！很高兴和您聊天。" if zh else "Hi there, nice to chat with you!")
        if _HOW_ARE_YOU.search(text):
            parts.append("我很好，谢谢关心！" if zh else "I'm doing great, thanks for asking!")
        if _WHO.search(text):
            parts.append(
                "我是您的智能导购助手，可以帮您挑选和比较商品。" if zh
                else "I'm your shopping assistant: I help you find and compare products."
            )
        if _THANKS.search(text):
            parts.append("不客气，能帮上忙我很开心！" if zh else "You're welcome, happy to help!")
        if not parts and intent != "random shopping":
            parts.append("明白啦，谢谢您和我分享。" if zh else "I see, thanks for sharing that with me.")
        names = [c.name_zh if zh else _plural(c.name_en) for c in self._suggestions]
        if intent == "random shopping":
            parts.append(
                f"随便逛逛也很好！比如{'、'.join(names)}都有不少好物。您是给自己买还是送人？有感兴趣的品类告诉我，我来帮您挑。"
                if zh else
                f"Browsing is fun! There are good picks in {', '.join(names[:-1])} and {names[-1]}, for example. "
                "Are you shopping for yourself or for a gift? Tell me a category you like and I'll help you choose."
            )
        else:
            parts.append(
                f"对了，最近有没有想添置的东西？比如{'、'.join(names[:3])}，我都可以帮您参谋。" if zh
                else "By the way, is there anything you've been meaning to buy? "
                f"I can help with {', '.join(names[:3])} and more."
            )
        return ("" if zh else " ").join(parts)

    # ----------------------------------------------------------------- shopping guide
    def _guide(self, request: DialogRequest, state: SlotState, zh: bool) -> str:
        parts: list[str] = []
        products = request.products[:MAX_PRESENTED]
        if products:
            parts.append(self._present(products, state, zh))
        if request.knowledge and (tip := self._tip(request.knowledge, zh)):
            parts.append(tip)
        question = state.next_question
        if question is not None:
            parts.append(self._ask(question, state, zh, bool(products)))
        elif state.category is None and not products:
            parts.append(
                "请问您想买哪一类商品呢？告诉我用途和预算，我来帮您挑选。" if zh
                else "What kind of product are you looking for? "
                "Tell me how you'll use it and your budget, and I'll help you choose."
            )
        elif products:
            parts.append(
                "您更喜欢哪一款？我可以帮您进一步对比。" if zh
                else "Which one appeals to you most? I can compare them in more detail."
            )
        else:
            parts.append(
                "暂时没有找到完全符合这些条件的商品，要不要放宽一些条件，比如品牌或预算？" if zh
                else "I couldn't find products matching all of that yet. "
                "Shall we relax a requirement, such as the brand or budget?"
            )
        return "\n".join(parts) if products else ("" if zh else " ").join(parts)

    def _present(self, products: Sequence[SkuInfo], state: SlotState, zh: bool) -> str:
        category = state.category
        noun = (category.name_zh if zh else category.name_en) if category else ("商品" if zh else "products")
        if zh:
            lines = [f"根据您的需求，为您推荐{'这' if len(products) == 1 else f'以下{len(products)}'}款{noun}："]
        elif len(products) == 1:
            lines = [f"Here is one {noun if category else 'product'} I'd recommend for you:"]
        else:
            lines = [f"Here are {len(products)} {_plural(noun)} I'd recommend for you:"]
        for i, product in enumerate(products, 1):
            lines.append(f"{i}. {self._product_line(product, state, zh)}")
        return "\n".join(lines)

    def _product_line(self, product: SkuInfo, state: SlotState, zh: bool) -> str:
        category = self.index.category_of(product) or state.category
        name = display_name(product, zh, self.index.brand_names(category, product.brand))
        price = f"（¥{format_number(product.price)}）" if zh and product.price is not None else (
            f" (¥{format_number(product.price)})" if product.price is not None else ""
        )
        attrs = [
            (key, self.index.localise(category, key, value, zh))
            for key, value in ranked_attributes(product, state.known, category, self.index)[:2]
        ]
        shown = [feature_text(self.index.label(category, key, zh), value, zh) for key, value in attrs]
        keywords = [str(v) for _, v in attrs] + [self.index.label(category, k, True) for k, _ in attrs] + list(
            product.attributes
        )
        review = best_review_sentence(reviews_in(product, zh), keywords, max_chars=50)
        reason = ("、" if zh else ", ").join(shown)
        if review is not None:
            quote = clip(review.sentence, 50).rstrip("。.!！")
            reason += (f"；买家评价：“{quote}”" if zh else f'; a buyer says: "{quote}"') if reason else (
                f"买家评价：“{quote}”" if zh else f'a buyer says: "{quote}"'
            )
        if not reason and (intro := localised_text(product, "intro", zh)):
            reason = clip(split_sentences(intro)[0], 40)
        return f"{name}{price}{'：' if zh else ': '}{reason}" if reason else f"{name}{price}"

    def _tip(self, knowledge: Sequence[KnowledgeHit], zh: bool) -> str:
        """The first informative sentence of the best hit written in the reply's language: a chunk opens
        with its guide's title and section heading, which say what it is about, not what to do."""
        for hit in knowledge:
            if is_chinese(hit.text) != zh:
                continue
            lines = hit.text.splitlines()
            lines = lines[1:] if len(lines) > 1 else lines  # the catalog's chunks open with the guide's title
            body = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
            sentences = [s for s in split_sentences(" ".join(body)) if len(s.strip()) >= 8]
            if sentences:
                text = clip(sentences[0].strip().lstrip("-*· ").strip(), 80)
                return f"小贴士：{text}" if zh else f"Tip: {text}"
        return ""

    def _ask(self, attr: Attribute, state: SlotState, zh: bool, after_products: bool) -> str:
        label = self.index.label(state.category, attr.key, zh)
        values = attr.values_zh if zh else attr.values_en
        examples = _spread(values, 3)
        if zh:
            lead = "为了推荐得更精准，" if after_products else ""
            if attr.key == "price":
                return f"{lead}请问您的预算大概是多少？"
            hint = f"比如{'、'.join(examples[:-1])}还是{examples[-1]}？" if len(examples) > 1 else ""
            return f"{lead}请问您对{label}有什么要求？{hint}"
        lead = "To narrow it down, " if after_products else ""
        if attr.key == "price":
            return f"{lead}{'w' if lead else 'W'}hat budget do you have in mind?"
        hint = f" For example {', '.join(examples[:-1])} or {examples[-1]}?" if len(examples) > 1 else ""
        return f"{lead}{'w' if lead else 'W'}hat are you looking for in terms of {label}?{hint}"


def is_shopping(request: DialogRequest, state: SlotState) -> bool:
    if request.intent is not None:
        return request.intent not in NON_SHOPPING_INTENTS
    return bool(request.products or request.call or state.category)


def _plural(noun: str) -> str:
    return noun if noun.endswith("s") else f"{noun}s"


def _spread(values: Sequence[str], n: int) -> list[str]:
    """``n`` examples spread over an entry-level-to-premium list."""
    if len(values) <= n:
        return list(values)
    step = (len(values) - 1) / (n - 1)
    return [values[round(i * step)] for i in range(n)]


# --------------------------------------------------------------------------- LLM path
def compact_products(products: Sequence[SkuInfo]) -> str:
    """The products as compact JSON for the prompt: the fields the guide may quote, two reviews each."""
    items = []
    for p in products:
        item: dict[str, Any] = {"skuId": p.skuId, "name": p.skuName}
        if (name_en := (p.model_extra or {}).get("skuNameEn")) and isinstance(name_en, str):
            item["nameEn"] = name_en
        if p.brand:
            item["brand"] = p.brand
        if p.price is not None:
            item["price"] = p.price
        if p.attributes:
            item["attributes"] = p.attributes
        if p.intro:
            item["intro"] = clip(p.intro, 200)
        reviews = [clip(c.commentContent, 120) for c in p.skuCommentList[:2]]
        if reviews:
            item["reviews"] = reviews
        items.append(item)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def within_budget(system: str, history: list[ChatMessage], max_tokens: int) -> list[ChatMessage]:
    """The history that fits the prompt budget beside the system prompt, counted in tokens: whole exchanges
    leave oldest first; if the current message alone is still too long, it is cut."""
    budget = max_tokens - count_tokens(system)
    kept = list(history)

    def size() -> int:
        return sum(count_tokens(m.content) for m in kept)

    while len(kept) > 1 and size() > budget:
        kept = kept[2:] if len(kept) > 2 else kept[1:]  # an exchange at a time; the current message stays
    if size() <= budget:
        return kept
    share = max(budget, 16) // len(kept)
    return [ChatMessage(role=m.role, content=clip_tokens(m.content, share)) for m in kept]


def build_llm_messages(
    request: DialogRequest, plan: Plan, index: TaxonomyIndex, turns: int, max_tokens: int
) -> list[ChatMessage]:
    language = "Chinese (简体中文)" if plan.chinese else "English"
    history = [ChatMessage(role=m.role, content=m.content) for m in window(request.messages, turns)]
    if not plan.shopping:
        system = CHAT_PROMPT.render(language=language)
        return [ChatMessage(role="system", content=system), *within_budget(system, history, max_tokens)]
    state = plan.state
    known = {index.label(state.category, k, plan.chinese): v or "(mentioned)" for k, v in state.known.items()}
    ask = state.next_question
    system = GUIDE_PROMPT.render(
        language=language,
        category=(f"{state.category.name_en} / {state.category.name_zh}" if state.category else "not known yet"),
        known=json.dumps(known, ensure_ascii=False) if known else "nothing yet",
        ask_next=(
            f"{ask.key} ({ask.zh}); example values: "
            + ", ".join(_spread(ask.values_zh if plan.chinese else ask.values_en, 3))
            if ask else "nothing: the key attributes are known"
        ),
        products=compact_products(request.products) if request.products else "[] (none: recommend nothing)",
        knowledge="\n".join(
            f"- {clip(k.text, 300)}" + (f" [{k.source}]" if k.source else "") for k in request.knowledge
        ) or "(none)",
    )
    return [ChatMessage(role="system", content=system), *within_budget(system, history, max_tokens)]


def strip_guide_prefix(text: str) -> str:
    return _GUIDE_PREFIX.sub("", text, count=1)


def guide_reply(text: str) -> str | Unusable:
    return strip_guide_prefix(text).strip() or Unusable("the reply is empty")


async def drop_guide_prefix(deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
    """The deltas without a "Shopping Guide:" prefix: the head is held back until the prefix can be recognised."""
    sent = False
    head = ""
    async for delta in deltas:
        if not sent and len(head) < 24:
            head += delta
            if len(head) < 24:
                continue
            delta, head = strip_guide_prefix(head).lstrip(), ""
            if not delta:
                continue
        sent = True
        yield delta
    if head and (delta := strip_guide_prefix(head).strip()):
        yield delta


class DialogGuide:
    """Answers with the LLM when the dialog task is routed to one, else (and on failure) locally."""

    def __init__(self, llm: TaskLLM, local: LocalDialogEngine, max_prompt_tokens: int = 3000) -> None:
        self.llm = llm
        self.local = local
        self.max_prompt_tokens = max_prompt_tokens

    def _messages(self, request: DialogRequest, plan: Plan) -> list[ChatMessage]:
        return build_llm_messages(request, plan, self.local.index, self.local.history_turns, self.max_prompt_tokens)

    async def answer(self, request: DialogRequest) -> DialogResponse:
        plan = self.local.plan(request)
        answer = await run_cascade(
            self.llm,
            Task.DIALOG,
            request.engine,
            local=lambda: plan.reply,
            prompt=lambda: self._messages(request, plan),
            parse=guide_reply,
            retries=0,  # the guide has never retried: an empty reply gives way to the local one at once
            request_id=request_id_var.get(),
        )
        return DialogResponse(reply=answer.value, engine=answer.engine)

    async def stream(self, request: DialogRequest) -> AsyncIterator[Event]:
        """``token`` events then ``done``; before the first token a failing LLM gives way to the local reply,
        after it an ``error`` event ends the stream. Closing this generator closes the LLM stream."""
        plan = self.local.plan(request)
        pieces = stream_cascade(
            self.llm,
            Task.DIALOG,
            request.engine,
            local=lambda: plan.reply,
            prompt=lambda: self._messages(request, plan),
            shape=drop_guide_prefix,
            request_id=request_id_var.get(),
        )
        async with aclosing(pieces):
            async for piece in pieces:
                if isinstance(piece, str):
                    yield StreamEvent.TOKEN, {"text": piece}
                elif isinstance(piece, StreamCut):
                    yield error_event(
                        "llm_stream_cut" if isinstance(piece.error, LLMError) else "internal_error",
                        "the model stopped mid-reply; the partial reply is incomplete, please retry",
                        partial=piece.partial,
                    )
                elif piece.engine == "local":
                    async for event in text_events(piece.value, "reply"):
                        yield event
                else:
                    yield StreamEvent.DONE, {"reply": piece.value, "engine": "llm"}
