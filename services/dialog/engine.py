"""Dialog: the local engine (slot policy + templates), the LLM path (streamed), and the choice between them.

The guide only ever talks about the products it was given, quoting their own attributes, prices and
reviews. Small talk ("random chat", "random shopping") is answered kindly and steered toward shopping.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, cast

from services.dialog.constraints import Asked, Fit, attribute_text, fit, read_asked
from services.dialog.generation import bounded, instructed_chinese, with_instructions
from services.dialog.gifts import ASKED_INTERESTS, GiftNeed, adds_to_gift, gift_need
from services.dialog.schemas import DialogRequest, DialogResponse
from services.dialog.slots import SlotPolicy, SlotState
from services.dialog.voice import Voice, capitalised, joined, number_word
from shared.engines.constraints import Currencies
from shared.events import StreamEvent
from shared.lexicon import best_review_sentence, clip, format_number, split_sentences
from shared.live_prompts import PromptBook
from shared.llm import LLMError, StreamCut, TaskLLM, TokenCounter, Unusable, UsageMeter, run_cascade, stream_cascade
from shared.llm.base import ChatMessage
from shared.llm.cascade import LLMOptions
from shared.llm.checks import ReplyGuard, Sources
from shared.llm.chunking import clip_tokens, count_tokens
from shared.products import (
    display_name,
    feature_text,
    localised_text,
    ranked_attributes,
    reviews_in,
    value_text,
)
from shared.prompts import Prompt, as_data, escape_markup, load_prompt, neutralise
from shared.schemas import (
    NON_SHOPPING_INTENTS,
    KnowledgeHit,
    Message,
    SkuInfo,
    TokenUsage,
    last_user_message,
)
from shared.settings import Task, get_settings
from shared.sse import Event, error_event, text_events
from shared.taxonomy import Attribute, Category
from shared.taxonomy.index import BUDGET_KEY, TaxonomyIndex
from shared.telemetry import request_id_var
from shared.text import is_chinese

# The dialog history the guide reads by default (Settings.dialog_history_turns): the last 10 exchanges.
HISTORY_TURNS = 10
# The longest reply the LLM path sends by default (Settings.dialog_max_reply_chars).
MAX_REPLY_CHARS = 1500
MAX_PRESENTED = 3

GUIDE_PROMPT = load_prompt("services.dialog", "guide")
CHAT_PROMPT = load_prompt("services.dialog", "chat")

_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b|你好|您好|嗨|哈喽|早上好|晚上好|在吗", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|thx)\b|谢谢|感谢|多谢", re.I)
_BYE = re.compile(r"\b(bye|goodbye|see you)\b|再见|拜拜|回头见", re.I)
_WHO = re.compile(r"\bwho are you\b|\bwhat are you\b|\bare you a (bot|robot|human)\b|你是谁|你是机器人|你叫什么", re.I)
_HOW_ARE_YOU = re.compile(r"\bhow are you\b|\bhow'?s it going\b|你好吗|最近怎么样|过得怎么样", re.I)
# Role names a model may put before its reply ("Shopping Guide: ..."), which the reply goes without.
GUIDE_PREFIXES = (
    "shopping guide", "shopping assistant", "guide", "assistant", "bot", "导购", "导购员", "智能导购", "助手", "购物助手",
)
_GUIDE_PREFIX = re.compile(
    r"^\s*(?:" + "|".join(re.escape(name).replace("\\ ", r"\s+") for name in GUIDE_PREFIXES) + r")\s*[:：]\s*", re.I
)


def window(messages: Sequence[Message], turns: int = HISTORY_TURNS) -> list[Message]:
    """The current user message and the ``turns`` exchanges before it; always starts with a user message."""
    user_at = [i for i, m in enumerate(messages) if m.role == "user"]
    return list(messages[user_at[-(turns + 1)] if len(user_at) > turns else user_at[0] :])


def reply_in_chinese(messages: Sequence[Message]) -> bool:
    return is_chinese(last_user_message(list(messages)))


# --------------------------------------------------------------------------- local engine
@dataclass(frozen=True, slots=True)
class Plan:
    """What the local engine decided: the mode, slot state, what the products meet, and the reply it would give."""

    shopping: bool
    chinese: bool
    state: SlotState
    reply: str
    asked: Asked = field(default_factory=Asked)
    unmet: tuple[str, ...] = ()


class LocalDialogEngine:
    """Slot-driven policy and bilingual phrasing; deterministic, CPU only.

    A shopping reply acknowledges what the user asked for (a budget in their own currency, brands wanted or
    excluded, measured or named attributes, a use) and says plainly which of it the products miss, presenting them
    as the closest. It presents at most three products by their own attributes, price and best review, and ends
    with one question: whether a missed requirement can give, else the most important attribute still unknown, put
    as a choice between the products shown where they differ on it. A gift without a product kind gets kinds of
    products that suit the recipient, their interests and the budget.
    """

    def __init__(
        self, index: TaxonomyIndex, history_turns: int = HISTORY_TURNS, currencies: Currencies | None = None
    ) -> None:
        self.index = index
        self.currencies = currencies or Currencies.of(get_settings())
        self.policy = SlotPolicy(index)
        self.history_turns = history_turns
        # One well-known category per group, to suggest when the user is just browsing.
        groups: dict[str, Category] = {}
        for cat in index.taxonomy.categories.values():
            groups.setdefault(cat.group, cat)
        self._suggestions = list(groups.values())[:4]

    def plan(self, request: DialogRequest) -> Plan:
        messages = window(request.messages, self.history_turns)
        instructed = instructed_chinese(request.instructions)
        chinese = reply_in_chinese(messages) if instructed is None else instructed
        state = self.policy.state(messages, request.call, request.products)
        voice = Voice(messages, chinese)
        last = last_user_message(messages)
        browsing = state.category is None and not request.products
        gift = gift_need(messages, self.index, self.currencies) if browsing else None
        shopping = is_shopping(request, state) or (gift is not None and adds_to_gift(last))
        if not shopping:
            reply = self._chat(last, request.intent or "random chat", chinese)
            return Plan(shopping=False, chinese=chinese, state=state, reply=reply)
        if gift is not None:
            return Plan(shopping=True, chinese=chinese, state=state, reply=self._gift(gift, voice))
        said = [m.content for m in messages if m.role == "user"]
        asked = read_asked(request.call, said, state.category, self.index, self.currencies)
        shown = fit(request.products, asked, request.relaxed, state.category, self.index)
        reply = self._guide(request, state, asked, shown, voice)
        return Plan(True, chinese, state, reply, asked, shown.unmet)

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
    def _guide(self, request: DialogRequest, state: SlotState, asked: Asked, shown: Fit, voice: Voice) -> str:
        zh = voice.zh
        parts: list[str] = []
        products = shown.products[:MAX_PRESENTED]
        if products:
            parts.append(self._present(products, state, asked, shown, voice))
        elif asked.stated and state.next_question is not None:
            parts.append(voice.sentence("noted", desc=self._desc(state.category, asked, voice, plural=True)))
        if request.knowledge and (tip := self._tip(request.knowledge, zh)):
            parts.append(tip)
        parts.append(self._question(products, state, asked, shown, voice, lead=not parts))
        return "\n".join(parts) if products else ("" if zh else " ").join(parts)

    def _present(self, products: Sequence[SkuInfo], state: SlotState, asked: Asked, shown: Fit, voice: Voice) -> str:
        lines = [self._opener(products, state.category, asked, shown, voice)]
        for i, product in enumerate(products, 1):
            off = shown.off_budget.get(product.skuId)
            lines.append(f"{i}. {self._product_line(product, state, voice, i, off)}")
        return "\n".join(lines)

    def _opener(
        self, products: Sequence[SkuInfo], category: Category | None, c: Asked, shown: Fit, voice: Voice
    ) -> str:
        zh, n = voice.zh, len(products)
        count = number_word(n, zh)
        if "brand_exclude" in shown.unmet:
            return voice.sentence("all_excluded", brand=self._excluded_names(category, c, zh))
        if "category" in shown.unmet:
            return voice.sentence("related", desc=self._desc(category, Asked(), voice, plural=True))
        desc = self._desc(category, c, voice, plural=n > 1 or not zh)
        if shown.unmet:  # price, brand and/or attributes: no product meets them all, these are the closest
            prices = [p.price for p in products if p.price is not None]
            cheapest = ""
            if "price" in shown.unmet and c.price and c.price.max is not None and len(prices) > 1:
                low = format_number(min(prices))
                cheapest = f"（最便宜的¥{low}）" if zh else f"; the closest {_these(n)} start at ¥{low}"
            closest = cheapest.lstrip("; ") if cheapest and not zh else (
                "this one is the closest" if n == 1 else f"these {count} are the closest"
            )
            plural_desc = self._desc(category, c, voice, plural=True)
            return voice.sentence("closest", desc=plural_desc, n=count, cheapest=cheapest, closest=closest)
        if zh:
            return voice.sentence("present", desc=desc, n=count)
        return voice.sentence(
            "present", desc=desc, n=count, are="is" if n == 1 else "are", these="this one" if n == 1 else f"these {count}"
        )

    def _desc(self, category: Category | None, c: Asked, voice: Voice, plural: bool) -> str:
        """The products as the user asked for them: "700元以内、适合跑步的华为耳机" / "headphones under ¥700 from Sony"."""
        zh = voice.zh
        named = {k: a for k, a in c.attributes.items() if a.value is not None}  # "4-season": said before the noun
        measured = [attribute_text(k, a, category, self.index, zh) for k, a in c.attributes.items() if k not in named]
        values = [attribute_text(k, a, category, self.index, zh) for k, a in named.items()]
        if zh:
            noun = category.name_zh if category else "商品"
            mods = [c.budget.text(True)] if c.budget else []
            mods += [*measured, *values]
            if c.use:
                mods.append(c.use if c.use.startswith(("送", "给", "适合")) or c.use.endswith("用") else f"适合{c.use}")
            if c.excluded:
                mods.append(f"{self._excluded_names(category, c, True)}以外")
            brand = "或".join(self._brand_name(b, category, True) for b in c.brands)
            return (f"{'、'.join(mods)}的" if mods else "") + brand + noun
        noun = category.name_en if category else "product"
        words = [*values, _plural(noun) if plural else noun]
        if c.budget:
            words.append(c.budget.text(False))
        if c.brands:
            words.append("from " + " or ".join(self._brand_name(b, category, False) for b in c.brands))
        if c.excluded:
            words.append("other than " + self._excluded_names(category, c, False))
        if measured:
            words.append("with " + " and ".join(measured))
        if c.use:
            words.append(_use_en(c.use))
        return " ".join(words)

    def _excluded_names(self, category: Category | None, c: Asked, zh: bool) -> str:
        return joined([self._brand_name(b, category, zh) for b in c.excluded], zh, "或" if zh else "or")

    def _brand_name(self, brand: str, category: Category | None, zh: bool) -> str:
        """The brand as a reply in that language names it: 华为 for Huawei in Chinese."""
        if zh:
            alias = next((a for a in self.index.brand_names(category, brand)[1:] if is_chinese(a)), None)
            return alias or brand
        return brand

    def _product_line(
        self, product: SkuInfo, state: SlotState, voice: Voice, position: int, off_budget: str | None
    ) -> str:
        zh = voice.zh
        category = self.index.category_of(product) or state.category
        name = display_name(product, zh, self.index.brand_names(category, product.brand))
        price = ""
        if product.price is not None:
            notes = {"over": ("，超出预算", ", over budget"), "below": ("，低于预算", ", below budget")}
            note = notes[off_budget][0 if zh else 1] if off_budget else ""
            price = f"（¥{format_number(product.price)}{note}）" if zh else f" (¥{format_number(product.price)}{note})"
        # The attributes the name does not already state ("6.8英寸" in "荣耀 X50 6.8英寸" is said once).
        ranked = ranked_attributes(product, state.known, category, self.index)
        localised = [(key, self.index.localise(category, key, value, zh)) for key, value in ranked]
        attrs = [(k, v) for k, v in localised if not _stated_in(v, name)][:2]
        shown = [feature_text(self.index.label(category, key, zh), value, zh) for key, value in attrs]
        keywords = [str(v) for _, v in attrs] + [self.index.label(category, k, True) for k, _ in attrs] + list(
            product.attributes
        )
        review = best_review_sentence(reviews_in(product, zh), keywords, max_chars=50)
        reason = ("、" if zh else ", ").join(shown)
        if review is not None:
            quote = voice.say("review", str(position), quote=clip(review.sentence, 50).rstrip("。.!！"))
            reason = f"{reason}{'；' if zh else '; '}{quote}" if reason else capitalised(quote)
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

    # ----------------------------------------------------------------- the one question
    def _question(
        self,
        products: Sequence[SkuInfo],
        state: SlotState,
        c: Asked,
        shown: Fit,
        voice: Voice,
        lead: bool,
    ) -> str:
        """One question: what would most help, given what is known and what was shown."""
        if products and shown.unmet:
            if "category" in shown.unmet:  # every other constraint went before it: none is the one to ask about
                return voice.sentence("relax_other")
            if "price" in shown.unmet:
                return voice.sentence("relax_price")
            if "brand" in shown.unmet:
                return voice.sentence("relax_brand")
            if "brand_exclude" in shown.unmet:
                return voice.sentence("relax_excluded", brand=self._excluded_names(state.category, c, voice.zh))
            if keys := [u.removeprefix("attribute:") for u in shown.unmet if u.startswith("attribute:")]:
                return voice.sentence("relax_attribute", label=self.index.label(state.category, keys[0], voice.zh))
            return voice.sentence("relax_other")
        if products and len(products) > 1:
            for unknown in state.missing:  # the most important unknown the products differ on, as a choice
                if (choice := self._choice(products, unknown, state, voice)) is not None:
                    return choice
        if (ask := state.next_question) is not None:
            opening = voice.say("narrow") if products else (voice.say("lead") if lead else "")
            return self._ask(ask, state, voice, opening)
        if products:
            if len(products) == 1:
                return voice.sentence("one_product")
            for attr in state.category.attributes if state.category else ():
                if (choice := self._choice(products, attr, state, voice)) is not None:
                    return choice
            return voice.sentence("which_one")
        if state.category is None:
            if not c.stated:
                return voice.sentence("what_kind")
            opening = voice.sentence("noted", desc=self._desc(None, c, voice, plural=True))
            return f"{opening}{'' if voice.zh else ' '}{voice.sentence('what_kind_short')}"
        return voice.sentence("nothing", desc=self._desc(state.category, c, voice, plural=True))

    def _choice(self, products: Sequence[SkuInfo], attr: Attribute, state: SlotState, voice: Voice) -> str | None:
        """"They differ mainly in screen size (A 6.8 inch, B 6.2 inch): which suits you better?", or None when
        the products do not differ on ``attr``."""
        zh = voice.zh
        names = [self._short_name(p, state, zh) for p in products]
        if attr.key == BUDGET_KEY:
            prices = [p.price for p in products if p.price is not None]
            if len(set(prices)) < 2:
                return None
            values = "，".join(f"{n}¥{format_number(p.price)}" for n, p in zip(names, products, strict=True)
                              if p.price is not None)
            low, high = format_number(min(prices)), format_number(max(prices))
            return voice.sentence("choose_price", values=values, low=low, high=high)
        found = []
        for name, product in zip(names, products, strict=True):
            raw = next((value_text(v) for k, v in product.attributes.items()
                        if (a := self.index.attribute(state.category, k)) is not None and a.key == attr.key), "")
            if raw:
                found.append((name, self.index.localise(state.category, attr.key, raw, zh)))
        if len(found) < 2 or len({v.lower() for _, v in found}) < 2:
            return None
        values = ("，" if zh else ", ").join(f"{n} {v}" for n, v in found)
        label = self.index.label(state.category, attr.key, zh)
        return voice.sentence("choose", label=label, values=values)

    def _short_name(self, product: SkuInfo, state: SlotState, zh: bool) -> str:
        """The name less its category word and the attribute values it repeats: "荣耀 X50", "Galaxy S24 Ultra"."""
        category = self.index.category_of(product) or state.category
        name = display_name(product, zh, self.index.brand_names(category, product.brand))
        words = [category.name_zh, category.name_en, *category.synonyms_zh, *category.synonyms_en] if category else []
        for key, value in product.attributes.items():
            raw = value_text(value)
            words += [raw, self.index.localise(category, key, raw, True), self.index.localise(category, key, raw, False)]
        short = name
        for word in sorted({w for w in words if w}, key=len, reverse=True):
            short = re.sub(rf"(?<![\w.]){re.escape(word)}(?![\w.])" if word.isascii() else re.escape(word), " ",
                           short, flags=re.I)
        short = re.sub(r"\s+", " ", short).strip(" -·,，")
        return short if len(short) >= 2 else name

    def _ask(self, attr: Attribute, state: SlotState, voice: Voice, opening: str) -> str:
        zh = voice.zh
        if attr.key == BUDGET_KEY:
            return capitalised(opening + voice.say("ask_budget", lead=""))
        label = self.index.label(state.category, attr.key, zh)
        examples = _spread(attr.values_zh if zh else attr.values_en, 3)
        if len(examples) < 2:
            return capitalised(opening + voice.say("ask_plain", lead="", label=label))
        listed = f"{'、'.join(examples[:-1])}还是{examples[-1]}" if zh else f"{', '.join(examples[:-1])} or {examples[-1]}"
        return capitalised(opening + voice.say("ask", lead="", label=label, examples=listed))

    # ----------------------------------------------------------------- gifts without a product kind
    def _gift(self, gift: GiftNeed, voice: Voice) -> str:
        zh = voice.zh
        who = gift.name(zh)
        recipient = gift.recipient
        pron = (recipient.pronoun_zh if zh else recipient.pronoun_en) if recipient else ("TA" if zh else "they")
        budget = gift.budget.text(zh) if gift.budget else ""
        if gift.budget is not None and not gift.kinds:
            return voice.sentence("gift_too_tight", budget=budget)

        def names(kinds: Sequence[Category]) -> str:
            return joined([k.name_zh if zh else _plural(k.name_en) for k in kinds], zh)

        if budget:
            opening = voice.sentence("gift_open_budget", who=who, budget=budget)
        elif gift.first_turn:
            opening = voice.sentence("gift_open" if recipient else "gift_open_anyone", who=who) + ("" if zh else " ")
        else:
            opening = ""
        fits, others = gift.for_interests, gift.others
        if gift.interests and fits:
            interest = gift.interests[0]
            they = pron == "they"
            body = voice.say(
                "gift_interest", pron=pron, interest=interest.zh if zh else interest.en, kinds=names(fits),
                enjoys="enjoy" if they else "enjoys", enjoys_s="enjoys", all="都" if len(fits) > 1 else "",
            )
            if others:
                body += voice.say("gift_others", kinds=names(others), who=who)
            else:
                body += "。" if zh else "."
        elif budget:
            body = voice.say("gift_kinds_budget", kinds=names(gift.kinds))
        else:
            body = voice.say("gift_kinds" if recipient else "gift_kinds_anyone", kinds=names(gift.kinds), who=who)
        body = body if zh or opening.endswith((": ", ", ")) else capitalised(body)
        if recipient is None:
            question = voice.sentence("gift_who")
        elif not gift.interests:
            examples = ASKED_INTERESTS[0] if zh else ASKED_INTERESTS[1]
            listed = f"{'、'.join(examples[:-1])}还是{examples[-1]}" if zh else f"{', '.join(examples[:-1])} or {examples[-1]}"
            they = pron == "they"
            question = voice.sentence(
                "gift_interest_ask", pron=pron, examples=listed, does="do" if they else "does",
                possessive={"she": "her", "he": "his"}.get(pron, "their"),
            )
        elif gift.budget is None:
            question = voice.sentence("gift_budget_ask")
        else:
            first = gift.kinds[0]
            question = voice.sentence("gift_pick", first=first.name_zh if zh else _plural(first.name_en))
        return f"{opening}{body}{'' if zh else ' '}{question}"


def is_shopping(request: DialogRequest, state: SlotState) -> bool:
    if request.intent is not None:
        return request.intent not in NON_SHOPPING_INTENTS
    return bool(request.products or request.call or state.category)


def _plural(noun: str) -> str:
    if noun.endswith(("ss", "ch", "sh", "x")):
        return f"{noun}es"
    return noun if noun.endswith("s") else f"{noun}s"


def _these(n: int) -> str:
    return "one" if n == 1 else "ones"


def _use_en(use: str) -> str:
    lowered = use.lower()
    if lowered.startswith(("for ", "as ", "to ")):
        return use
    if lowered.startswith("gift"):
        return f"as a {use}"
    return f"for {use}"


def _stated_in(value: str, name: str) -> bool:
    """Whether a product's name already states the attribute value ("6.8英寸" in "荣耀 X50 6.8英寸 LCD屏")."""
    if not value:
        return False
    pattern = rf"(?<![\w.]){re.escape(value)}(?![\w.])" if value.isascii() else re.escape(value)
    return re.search(pattern, name, re.I) is not None


def _spread(values: Sequence[str], n: int) -> list[str]:
    """``n`` examples spread over an entry-level-to-premium list."""
    if len(values) <= n:
        return list(values)
    step = (len(values) - 1) / (n - 1)
    return [values[round(i * step)] for i in range(n)]


# --------------------------------------------------------------------------- LLM path
def compact_products(products: Sequence[SkuInfo]) -> str:
    """The products as compact JSON for the prompt: the fields the guide may quote, two reviews each (JSON
    whose strings cannot close the <products> tag)."""
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
    return as_data(items, compact=True)


def within_budget(
    system: str,
    history: list[ChatMessage],
    max_tokens: int,
    count: Callable[[str], int] = count_tokens,
    clip: Callable[[str, int], str] = clip_tokens,
) -> list[ChatMessage]:
    """The history that fits the prompt budget beside the system prompt, counted in tokens (``count``: the
    serving model's counts, or the estimate): whole exchanges leave oldest first; if the current message alone
    is still too long, it is cut (``clip``)."""
    budget = max_tokens - count(system)
    kept = list(history)

    def size() -> int:
        return sum(count(m.content) for m in kept)

    while len(kept) > 1 and size() > budget:
        kept = kept[2:] if len(kept) > 2 else kept[1:]  # an exchange at a time; the current message stays
    if size() <= budget:
        return kept
    share = max(budget, 16) // len(kept)
    return [ChatMessage(role=m.role, content=clip(m.content, share)) for m in kept]


def build_llm_messages(
    request: DialogRequest, plan: Plan, index: TaxonomyIndex, turns: int, max_tokens: int
) -> list[ChatMessage]:
    """The LLM's prompt within ``max_tokens`` by the word estimate (``DialogGuide`` counts as the model does)."""
    system, history = llm_prompt(request, plan, index, turns)
    return [ChatMessage(role="system", content=system), *within_budget(system, history, max_tokens)]


def llm_prompt(
    request: DialogRequest, plan: Plan, index: TaxonomyIndex, turns: int, prompt: Prompt | None = None
) -> tuple[str, list[ChatMessage]]:
    """The system prompt (the operator's instructions in a section of their own) and the dialog, untrimmed;
    ``prompt``: the plan's (``guide`` for shopping, else ``chat``) as live now, the packaged one by default."""
    system, history = _llm_prompt(request, plan, index, turns, prompt or (GUIDE_PROMPT if plan.shopping else CHAT_PROMPT))
    return with_instructions(system, request.instructions), history


def _llm_prompt(
    request: DialogRequest, plan: Plan, index: TaxonomyIndex, turns: int, prompt: Prompt
) -> tuple[str, list[ChatMessage]]:
    """The system message (the instruction, and the products and facts as data), then the dialog as user and
    assistant messages: what the customer wrote is never part of the instruction's text."""
    language = "Chinese (简体中文)" if plan.chinese else "English"
    history = [ChatMessage(role=m.role, content=neutralise(m.content)) for m in window(request.messages, turns)]
    if not plan.shopping:
        return prompt.render(language=language), history
    state = plan.state
    known = {index.label(state.category, k, plan.chinese): v or "(mentioned)" for k, v in state.known.items()}
    ask = state.next_question
    system = prompt.render(
        language=language,
        category=(f"{state.category.name_en} / {state.category.name_zh}" if state.category else "not known yet"),
        known=as_data(known) if known else "nothing yet",
        ask_next=escape_markup(
            f"{ask.key} ({ask.zh}); example values: "
            + ", ".join(_spread(ask.values_zh if plan.chinese else ask.values_en, 3))
            if ask else "nothing: the key attributes are known"
        ),
        constraints=constraints_text(plan, index),
        products=compact_products(request.products) if request.products else "[] (none: recommend nothing)",
        knowledge="\n".join(
            f"- {escape_markup(clip(k.text, 300))}" + (f" [{escape_markup(k.source)}]" if k.source else "")
            for k in request.knowledge
        ) or "(none)",
    )
    return system, history


def constraints_text(plan: Plan, index: TaxonomyIndex) -> str:
    """What the customer asked the products to satisfy, and what the products miss, for the prompt. What
    comes from the customer's words (brands, the use) is JSON."""
    c, category = plan.asked, plan.state.category
    parts = []
    if c.budget:
        parts.append(f"budget {escape_markup(c.budget.text(False))}")
    if c.brands:
        parts.append(f"brand {' or '.join(map(as_data, c.brands))}")
    if c.excluded:
        parts.append(f"not the brand {' or '.join(map(as_data, c.excluded))}")
    parts += [f"{key}: {escape_markup(attribute_text(key, a, category, index, False))}" for key, a in c.attributes.items()]
    if c.use:
        parts.append(f"use: {as_data(c.use)}")
    text = "; ".join(parts) or "none stated"
    missed = {"price": "the budget", "brand": "the brand", "category": "the category",
              "brand_exclude": "the excluded brand (every product is of it)"}
    if plan.unmet:
        text += ". NOT met by the products: " + ", ".join(
            missed.get(u) or f"the {index.label(category, u.removeprefix('attribute:'), False)}" for u in plan.unmet
        )
    return text


def strip_guide_prefix(text: str) -> str:
    return _GUIDE_PREFIX.sub("", text, count=1)


def guide_reply(text: str) -> str | Unusable:
    return strip_guide_prefix(text).strip() or Unusable("the reply is empty")


def guide_prefix_end(head: str) -> int | None:
    """Where a role prefix ("Shopping Guide: ", "导购：") at the start of ``head`` ends; -1 when ``head`` has none
    and none can follow; None while it may still become one ("Shop", "导购", "Guide ")."""
    for name in GUIDE_PREFIXES:
        at = len(head) - len(head.lstrip())
        for char in name:
            if at == len(head):
                return None  # the head ends inside the name
            if char == " ":
                if not head[at].isspace():
                    break
                while at < len(head) and head[at].isspace():
                    at += 1
                continue
            if head[at].lower() != char:
                break
            at += 1
        else:
            while at < len(head) and head[at].isspace():
                at += 1
            if at == len(head):
                return None  # the name, then maybe its colon
            if head[at] in ":：":
                return at + 1
    return -1


async def drop_guide_prefix(deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
    """The deltas without a "Shopping Guide:" prefix. Only a head that may still become one is held back: a
    reply that cannot start with one flows at once, a short one comes out when the stream ends."""
    head: str | None = ""  # None once the prefix is settled
    trim = True  # the reply's leading whitespace (after the prefix, if any) goes
    async for delta in deltas:
        if head is not None:
            head += delta
            end = guide_prefix_end(head)
            if end is None:
                continue
            delta, head = head[max(end, 0) :], None
        if trim:
            delta = delta.lstrip()
            trim = not delta
        if delta:
            yield delta
    if head is not None and (rest := strip_guide_prefix(head).strip()):
        yield rest


class DialogGuide:
    """Answers with the LLM when the dialog task is routed to one, else (and on failure) locally."""

    def __init__(
        self,
        llm: TaskLLM,
        local: LocalDialogEngine,
        max_prompt_tokens: int = 3000,
        max_reply_chars: int = MAX_REPLY_CHARS,
        tokens: TokenCounter | None = None,
        prompts: PromptBook | None = None,
    ) -> None:
        self.llm = llm
        self.local = local
        self.max_prompt_tokens = max_prompt_tokens
        self.max_reply_chars = max_reply_chars
        self.tokens = tokens or TokenCounter()
        self.prompts = prompts or PromptBook("services.dialog")

    def _prompt(self, plan: Plan) -> Prompt:
        return self.prompts.get("guide" if plan.shopping else "chat")

    async def _messages(self, request: DialogRequest, plan: Plan, prompt: Prompt | None = None) -> list[ChatMessage]:
        """The LLM's prompt within the budget as the serving model counts it (none when no LLM is asked)."""
        if request.engine == "local" or self.llm.uses_local(Task.DIALOG):
            return []
        prompt = prompt or self._prompt(plan)
        system, history = llm_prompt(request, plan, self.local.index, self.local.history_turns, prompt)
        sizes = await self.tokens.counts([system, *(m.content for m in history)])

        def clip_counted(text: str, max_tokens: int) -> str:
            return self.tokens.clip_here(text, max_tokens, sizes[text])

        kept = within_budget(system, history, self.max_prompt_tokens, sizes.__getitem__, clip_counted)
        return [ChatMessage(role="system", content=system), *kept]

    async def _prepared(
        self, request: DialogRequest
    ) -> tuple[Plan, str, str, Prompt, list[ChatMessage], LLMOptions]:
        """The plan, the local reply and its finish reason, the live prompt (one version for the whole request,
        whatever reloads meanwhile) and the LLM's messages from it, and what the client asked of the LLM."""
        plan = self.local.plan(request)
        local, finish = await bounded(plan.reply, request.generation, self.tokens)
        options: LLMOptions = {"request_id": request_id_var.get()}
        if request.generation is not None:
            options |= cast(LLMOptions, request.generation.options())
        live = self._prompt(plan)
        return plan, local, finish, live, await self._messages(request, plan, live), options

    def _guard(self, request: DialogRequest, live: Prompt) -> ReplyGuard:
        """The checks of one reply: no copy of the customer's messages or of the instruction, no loop, the
        length bound."""
        said = [m.content for m in window(request.messages, self.local.history_turns) if m.role == "user"]
        said += [neutralise(text) for text in said]  # as written, and as sent
        return ReplyGuard(self.max_reply_chars, Sources.of(said, live.text))

    async def answer(self, request: DialogRequest) -> DialogResponse:
        plan, local, finish, live, prompt, options = await self._prepared(request)
        meter = options["meter"] = UsageMeter()
        guard = self._guard(request, live)

        def parse(text: str) -> str | Unusable:
            reply = guide_reply(text)
            return reply if isinstance(reply, Unusable) else guard.check(reply)

        answer = await run_cascade(
            self.llm,
            Task.DIALOG,
            request.engine,
            local=lambda: local,
            prompt=lambda: prompt,
            parse=parse,
            retries=0,  # the guide has never retried: an empty reply gives way to the local one at once
            **options,
        )
        if answer.engine == "llm":
            finish = meter.finish_reason or "stop"
        return DialogResponse(
            reply=answer.value,
            engine=answer.engine,
            finish_reason=finish,
            usage=TokenUsage.of(meter.usage),
            prompt_version=live.version if answer.engine == "llm" else None,
        )

    async def stream(self, request: DialogRequest) -> AsyncIterator[Event]:
        """``token`` events then ``done``; before the first token a failing LLM (or a reply that repeats the
        input) gives way to the local reply, after it an ``error`` event ends the stream. A loop or an overlong
        reply is cut, and ``done`` says so (``"truncated": "repetition"`` or ``"length"``). Closing this generator
        closes the LLM stream."""
        plan, local, finish, live, prompt, options = await self._prepared(request)
        meter = options["meter"] = UsageMeter()

        def usage() -> dict[str, Any] | None:
            counted = TokenUsage.of(meter.usage)
            return counted.model_dump() if counted else None

        pieces = stream_cascade(
            self.llm,
            Task.DIALOG,
            request.engine,
            local=lambda: local,
            prompt=lambda: prompt,
            shape=drop_guide_prefix,
            check=self._guard(request, live),
            **options,
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
                    async for name, data in text_events(piece.value, "reply", prompt_version=None):
                        yield name, ({**data, "finish_reason": finish, "usage": usage()} if name == StreamEvent.DONE else data)
                else:
                    done = {
                        "reply": piece.value,
                        "engine": "llm",
                        "finish_reason": meter.finish_reason or "stop",
                        "prompt_version": live.version,
                    }
                    if piece.truncated:  # the guide cut a loop or an overlong reply
                        done["truncated"] = piece.truncated
                    yield StreamEvent.DONE, {**done, "usage": usage()}
