"""``python -m training.sft``: supervised fine-tuning data for LLaMA-Factory (``make sft``).

Four tasks, each in the form its service asks the LLM:

- ``guide``: multi-turn dialogs; each human turn is ``User: …`` with the recommender's answer after
  ``[API Return]:`` (the products' skuInfo JSON), each gpt turn the guide's ``Shopping Guide: …`` reply; the
  system prompt is the dialog guide's own (services/dialog/prompts/guide.txt) for a transcript.
- ``extraction``: the extraction prompt over a conversation → ``<response>{"call": …}</response>``, the call being
  ``{"name": "get_recommds_by_sku", "arguments": {…}}`` or ``null``.
- ``intent``: the intent prompt → ``<thinking>…</thinking><response>{"category", "reason", "aim", "scene"}</response>``.
- ``summary``: the summary prompt over a customer-service dialog → the four-key JSON.

Sources: the labelled data in ``training/data/``; sessions the router stored, exported with
``python -m training.sft export-sessions``; and dialogs this module composes from the catalog and the taxonomy
(``generate``), seeded, with gold calls and intents and the local dialog engine's replies.

Samples are deduplicated by a hash of their normalised content, dropped when longer than ``--max-tokens``
(counted with the tokenizer at ``--tokenizer``/``SG_SFT_TOKENIZER``, else the project's word estimate), and
split train/validation by that same hash, so a sample stays on its side however the data grows.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from services.dialog.engine import GUIDE_PROMPT, LocalDialogEngine
from services.dialog.schemas import DialogRequest
from services.extraction.engine import build_prompt as extraction_prompt
from services.intent.engine import build_prompt as intent_prompt
from services.summary.engine import build_prompt as summary_prompt
from services.summary.schemas import parse_transcript
from shared.llm.base import ChatMessage
from shared.llm.chunking import count_tokens
from shared.schemas import RECOMMEND_FUNCTION, FunctionCall, IntentLabel, Message, SkuInfo
from shared.taxonomy import Category, Taxonomy, load_taxonomy
from shared.taxonomy.index import TaxonomyIndex
from training.data import DATA_DIR, load_extraction, load_intent

CATALOG_FILE = Path(__file__).resolve().parents[1] / "services" / "catalog" / "sample_data" / "products.jsonl"
SUMMARY_FILE = DATA_DIR / "summary.jsonl"
DEFAULT_OUT = Path("var/sft")
TASKS = ("guide", "extraction", "intent", "summary")
GUIDE_PRODUCTS = 3  # products per [API Return]: what the guide presents at most


# --------------------------------------------------------------------------- samples
@dataclass(frozen=True)
class Sample:
    """One sharegpt record: ``conversations`` alternate human/gpt; ``system`` may be empty."""

    task: str
    source: str  # labelled, sessions, generated
    lang: str
    id: str
    conversations: tuple[tuple[str, str], ...]  # (from, value)
    system: str = ""

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"conversations": [{"from": f, "value": v} for f, v in self.conversations]}
        out["system"] = self.system
        out.update(id=self.id, task=self.task, source=self.source, lang=self.lang)
        return out

    @property
    def text(self) -> str:
        return "\n".join([self.system, *(v for _, v in self.conversations)])

    @property
    def key(self) -> str:
        """The hash of the normalised content: what dedup and the split go by."""
        body = json.dumps([self.task, normalise(self.system), [(f, normalise(v)) for f, v in self.conversations]])
        return hashlib.sha256(body.encode()).hexdigest()


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def call_json(arguments: dict[str, str | None] | None) -> dict[str, Any] | None:
    return None if arguments is None else {"name": RECOMMEND_FUNCTION, "arguments": arguments}


def _prompted(task: str, source: str, lang: str, id: str, prompt: list[ChatMessage], answer: str) -> Sample:
    """A sample in the form its service prompts the LLM: the instruction as the system, the data as the human
    turn (services/<task>/engine.py build the same messages)."""
    system, data = prompt
    return Sample(task, source, lang, id, (("human", data.content), ("gpt", answer)), system=system.content)


def extraction_sample(
    taxonomy: Taxonomy, id: str, lang: str, source: str, messages: Sequence[Message], arguments: dict[str, Any] | None
) -> Sample:
    answer = f"<response>{_json({'call': call_json(arguments)})}</response>"
    return _prompted("extraction", source, lang, id, extraction_prompt(taxonomy, messages), answer)


_REASONS = {
    "random chat": (
        "The last user message is small talk with no product or shopping intent.",
        "最后一句是闲聊，没有商品或购物意图。",
    ),
    "random shopping": (
        "The user is browsing: shopping is the topic but no product, feature or function is named.",
        "用户在随便逛逛：话题是购物，但没有提到具体商品、属性或功能。",
    ),
    "intended shopping": (
        "The user clearly wants to buy something but names at most a product type.",
        "用户有明确的购买意愿，但最多只提到了商品类型。",
    ),
    "specific scenarios": (
        "The user needs a product for a stated place, trip or occasion, without attributes or a brand.",
        "用户说明了需要商品的场景（地点、出行或场合），没有给出属性或品牌。",
    ),
    "specific needs": (
        "The user states what the product must do or be (an attribute, function, budget or use), or has decided.",
        "用户说明了商品要满足的属性、功能、预算或用途，或已决定购买。",
    ),
    "specific brand": (
        "The user names a brand or model and has not decided to buy yet.",
        "用户自己点名了品牌或型号，尚未决定购买。",
    ),
}


def intent_sample(
    id: str, lang: str, source: str, messages: Sequence[Message], label: str, aim: str = "", scene: str = ""
) -> Sample:
    reason = _REASONS[label][1 if lang == "zh" else 0]
    answer = _json({"category": label, "reason": reason, "aim": aim, "scene": scene})
    reply = f"<thinking>{reason}</thinking>\n<response>{answer}</response>"
    return _prompted("intent", source, lang, id, intent_prompt(list(messages)), reply)


def summary_sample(id: str, source: str, conversation: str, summary: dict[str, str]) -> Sample:
    return _prompted("summary", source, "zh", id, summary_prompt(parse_transcript(conversation)), _json(summary))


_PREFIX_RULE = 'Reply directly, without any preamble or a "Shopping Guide:" prefix.'


def guide_system(lang: str) -> str:
    """The guide's prompt for a transcript: its rules in the customer's language; the products of each turn come
    in that turn after ``[API Return]``, and each reply is the ``Shopping Guide:`` line."""
    language = "Chinese (简体中文)" if lang == "zh" else "English"
    rules = Template(GUIDE_PROMPT.text.split("<category>")[0]).safe_substitute(language=language).strip()
    rules = rules.replace(_PREFIX_RULE, 'Reply directly, without any preamble, on the line "Shopping Guide: …".')
    return (
        rules + '\n\nEach customer turn is "User: …" followed by "[API Return]:" and the recommender\'s products for '
        "that turn as JSON: they are the <products> of that turn (an empty list: none)."
    )


def product_json(products: Sequence[SkuInfo]) -> str:
    return json.dumps([p.model_dump(mode="json", exclude_none=True) for p in products], ensure_ascii=False)


def guide_human(user: str, products: Sequence[SkuInfo] | None) -> str:
    shown = "(not recorded)" if products is None else product_json(products)
    return f"User: {user}\n[API Return]:\n{shown}"


def guide_sample(id: str, lang: str, source: str, turns: Sequence[tuple[str, Sequence[SkuInfo] | None, str]]) -> Sample:
    """``turns``: (user text, the products of that turn or None when not recorded, the guide's reply)."""
    conversations: list[tuple[str, str]] = []
    for user, products, reply in turns:
        conversations += [("human", guide_human(user, products)), ("gpt", f"Shopping Guide: {reply}")]
    return Sample("guide", source, lang, id, tuple(conversations), guide_system(lang))


# --------------------------------------------------------------------------- labelled data and sessions
def from_labelled(taxonomy: Taxonomy, data_dir: Path = DATA_DIR) -> list[Sample]:
    samples: list[Sample] = []
    for ex in load_intent(data_dir / "intent.jsonl"):
        samples.append(intent_sample(ex.id, ex.lang, "labelled", ex.messages, ex.intent, ex.scene.aim, ex.scene.scene))
    for e in load_extraction(data_dir / "extraction.jsonl"):
        args = dict(e.call.arguments) if e.call else None
        samples.append(extraction_sample(taxonomy, e.id, e.lang, "labelled", e.messages, args))
    with (data_dir / "summary.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                samples.append(summary_sample(row["id"], "labelled", row["conversation"], row["summary"]))
    return samples


def _lang(texts: Iterable[str]) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t) else "en"


def from_sessions(path: Path, taxonomy: Taxonomy) -> list[Sample]:
    """Samples from exported sessions: the guide dialog (the products are recorded for the last turn only),
    each user turn's intent as the router took it, and the last turn's call (the session's dialog state).
    These labels are the live engines' own, not annotated: a source to review, tagged ``sessions``."""
    samples: list[Sample] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            history = [Message.model_construct(role=m["role"], content=m["content"]) for m in row["messages"]]
            pairs = [(history[i], history[i + 1]) for i in range(0, len(history) - 1, 2)]
            if not pairs:
                continue
            sid = f"session-{row['tenant']}-{row['id']}"
            lang = _lang(u.content for u, _ in pairs)
            products = [SkuInfo.model_validate(p) for p in row.get("last_products", [])]
            turns = [
                (u.content, products if i == len(pairs) - 1 else None, a.content) for i, (u, a) in enumerate(pairs)
            ]
            samples.append(guide_sample(sid, lang, "sessions", turns))
            for i, intent in enumerate(row.get("intents", [])[: len(pairs)]):
                context = history[: 2 * i + 1]
                samples.append(intent_sample(f"{sid}-t{i}", lang, "sessions", context, intent))
            call = (row.get("state") or {}).get("call")
            args = call.get("arguments") if call else None
            samples.append(extraction_sample(taxonomy, f"{sid}-call", lang, "sessions", history[:-1], args))
    return samples


async def export_sessions(redis_url: str, tenant: str, out: Path, namespace: str = "sg", max_turns: int = 100) -> int:
    """Every session of ``tenant`` in the Redis at ``redis_url`` as JSON Lines (id, tenant, messages, intents,
    last products, preferences, dialog state); returns how many were written."""
    from shared.cache import RedisCache
    from shared.sessions import SessionStore, tenant_var

    cache = RedisCache.from_url(redis_url, namespace)
    store = SessionStore(cache, max_turns)
    prefix = f"{namespace}:session:{tenant}:"
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
    ids: set[str] = set()
    try:
        async for raw in cache.client.scan_iter(match=pattern, count=500):
            key = raw.decode()
            for suffix in (":entries", ":fields"):
                if key.endswith(suffix):
                    ids.add(key[len(prefix) : -len(suffix)])
        token = tenant_var.set(tenant)
        written = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with out.open("w", encoding="utf-8") as handle:
                for sid in sorted(ids):
                    session = await store.get(sid)
                    if session is None:  # expired between the scan and the read
                        continue
                    row = {"id": sid, "tenant": tenant, **session.model_dump(mode="json", exclude={"id"})}
                    row["messages"] = row.pop("history")
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
        finally:
            tenant_var.reset(token)
    finally:
        await cache.aclose()
    return written


# --------------------------------------------------------------------------- the generator
KINDS = ("need", "budget", "size", "brand", "brand_exclude", "scenario", "gift", "out_of_catalog", "chat", "browse")

_WANT = {
    "en": ["I want to buy {a} {c}", "looking for {a} {c}", "can you recommend {a} {c}?", "I need a new {c}"],
    "zh": ["我想买个{c}", "帮我推荐一款{c}", "想入手一个{c}", "有没有好的{c}推荐"],
}
_NEED = {
    "en": ["it should have {v}", "I'd like {v}", "one with {v}, please"],
    "zh": ["要{v}的", "最好是{v}", "想要{v}的"],
}
_BUDGET = {
    "en": ["under {n} yuan", "budget is around {n} RMB", "no more than ¥{n}", "below {n} yuan please"],
    "zh": ["{n}以内", "预算{n}左右", "不超过{n}元", "{k}千以下的"],
}
_SIZE = {"en": ["size {s}", "I wear {s}", "in size {s}"], "zh": ["要{s}码", "我穿{s}码的", "{s}码有吗"]}
_BRAND = {
    "en": ["do you have {b}?", "what about {b}?", "I like {b}, anything from them?"],
    "zh": ["有{b}的吗", "{b}的怎么样", "我比较喜欢{b}"],
}
_EXCLUDE = {"en": ["not {b}", "anything but {b}", "no {b} please"], "zh": ["不要{b}的", "除了{b}都行", "不考虑{b}"]}
_SCENES = {
    "3c": [("business trip next week", "下周出差"), ("starting university in September", "九月开学住宿舍")],
    "appliances": [("moving into a new home", "刚搬新家"), ("a small rented flat", "租的小房子")],
    "beauty": [("a beach holiday in Sanya", "去三亚海边度假"), ("my wedding next month", "下个月婚礼")],
    "apparel_shoes": [("a hiking trip in October", "十月去爬山"), ("a job interview", "去面试")],
    "baby": [("our newborn next month", "下个月宝宝出生"), ("a road trip with the baby", "带宝宝自驾游")],
    "sports_outdoor": [("camping in the mountains", "去山里露营"), ("a marathon in spring", "春天跑马拉松")],
    "home": [("a dorm room", "宿舍用"), ("guests staying over at Spring Festival", "春节家里来客人")],
}
_SCENE_ASK = {"en": ["I need {a} {c} for {s}", "{s}, so I need {a} {c}"], "zh": ["{s}，需要一个{c}", "{s}要用的{c}"]}
_GIFT = {
    "en": [
        ("a gift for my mom", "gift for my mom"),
        ("a present for my dad", "present for my dad"),
        ("a birthday gift for my girlfriend", "birthday gift for my girlfriend"),
    ],
    "zh": [
        ("送我妈的礼物", "送我妈的礼物"),
        ("给我爸的礼物", "给我爸的礼物"),
        ("女朋友的生日礼物", "女朋友的生日礼物"),
    ],
}
_GIFT_ASK = {
    "en": ["I want to buy {g}", "help me pick {g}, budget {n} yuan"],
    "zh": ["想买{g}", "帮我挑个{g}，预算{n}"],
}
_GIFT_PICK = {"en": ["{a} {c} sounds good", "let's go with {a} {c}"], "zh": ["那就{c}吧", "{c}不错"]}
_OUTSIDE = [
    ("a used car", "二手车"),
    ("a piano", "钢琴"),
    ("cat food", "猫粮"),
    ("concert tickets", "演唱会门票"),
    ("fresh flowers", "鲜花"),
    ("a motorbike helmet", "摩托车头盔"),
    ("car tyres", "汽车轮胎"),
]
_OUTSIDE_ASK = {
    "en": ["do you sell {t}?", "I want to buy {t}", "where can I get {t} here?"],
    "zh": ["你们卖{t}吗", "我想买{t}", "有{t}吗"],
}
_CHAT = {
    "en": ["hi", "hello there", "how are you?", "who are you?", "thanks, bye", "nice weather today"],
    "zh": ["你好", "在吗", "你是机器人吗", "今天天气真好", "谢谢，再见", "最近怎么样"],
}
_BROWSE = {
    "en": ["what's on sale?", "just looking around", "anything fun under 50 yuan?", "what's hot right now?"],
    "zh": ["有什么优惠活动吗", "随便看看", "最近有什么好东西", "9块9包邮的有吗"],
}


@dataclass
class Turn:
    user: str
    intent: IntentLabel
    arguments: dict[str, str | None] | None  # the gold call's arguments; None: no call
    products: list[SkuInfo]
    reply: str
    scene: tuple[str, str] = ("", "")  # (aim, scene)


@dataclass
class Dialog:
    id: str
    kind: str
    lang: str
    turns: list[Turn] = field(default_factory=list)

    def messages(self, upto: int) -> list[Message]:
        """The conversation up to and including user turn ``upto``."""
        out: list[Message] = []
        for i, t in enumerate(self.turns[: upto + 1]):
            out.append(Message.model_construct(role="user", content=t.user))
            if i < upto:
                out.append(Message.model_construct(role="assistant", content=t.reply))
        return out


def load_catalog(path: Path = CATALOG_FILE) -> list[SkuInfo]:
    with path.open(encoding="utf-8") as handle:
        return [SkuInfo.model_validate_json(line) for line in handle if line.strip()]


class Generator:
    """Dialogs composed from the catalog and the taxonomy, each turn with its gold call and intent, the products
    the catalog would return (picked by category, price and brand), and the local dialog engine's reply."""

    def __init__(self, taxonomy: Taxonomy, catalog: Sequence[SkuInfo], seed: int) -> None:
        self.taxonomy = taxonomy
        self.index = TaxonomyIndex(taxonomy)
        self.engine = LocalDialogEngine(self.index)
        self.rng = random.Random(seed)
        self.by_category: dict[str, list[SkuInfo]] = {}
        for p in catalog:
            self.by_category.setdefault(p.category, []).append(p)
        self.categories = [c for c in taxonomy.categories.values() if c.id in self.by_category]
        self.size_values = next(a for a in taxonomy.common_attributes if a.key == "size").values_en[:6]
        # A size is asked for what is worn: clothes in letters, shoes in numbers.
        self.sized = [c for c in self.categories if c.group == "apparel_shoes"]

    def pick(self, fmt: dict[str, list[str]], lang: str, **values: object) -> str:
        article = "an" if str(values.get("c", "x"))[:1].lower() in "aeiou" else "a"
        return self.rng.choice(fmt[lang]).format(a=article, **values)

    def products(
        self, cat: Category, ceiling: float | None = None, brand: str | None = None, exclude: str | None = None
    ) -> tuple[list[SkuInfo], list[str]]:
        """What the recommender would return for the call, and the constraints it had to relax."""
        pool = list(self.by_category.get(cat.id, []))
        relaxed: list[str] = []
        for name, keep in (
            ("brand_exclude", (lambda p: p.brand != exclude) if exclude else None),
            ("brand", (lambda p: p.brand == brand) if brand else None),
            ("price", (lambda p: p.price is not None and p.price <= ceiling) if ceiling else None),
        ):
            if keep is None:
                continue
            kept = [p for p in pool if keep(p)]
            if kept:
                pool = kept
            else:
                relaxed.append(name)
        pool.sort(key=lambda p: (p.price or 0.0, p.skuId))
        if ceiling:  # the closest under (or over) the ceiling first
            pool.sort(key=lambda p: abs((p.price or 0.0) - ceiling))
        return pool[:GUIDE_PRODUCTS], relaxed

    def reply(self, dialog: Dialog, turn: Turn, relaxed: list[str]) -> str:
        messages = dialog.messages(len(dialog.turns) - 1) if dialog.turns else []
        messages.append(Message.model_construct(role="user", content=turn.user))
        arguments = {k: v for k, v in (turn.arguments or {}).items() if v is not None}
        request = DialogRequest.model_construct(
            messages=messages,
            intent=turn.intent,
            call=FunctionCall(arguments=arguments) if turn.arguments else None,
            products=turn.products,
            relaxed=relaxed,
            knowledge=[],
            stream=False,
            engine="local",
        )
        return self.engine.plan(request).reply

    def _add(self, dialog: Dialog, turn: Turn, relaxed: Sequence[str] = ()) -> None:
        turn.reply = self.reply(dialog, turn, list(relaxed))
        dialog.turns.append(turn)

    def dialog(self, i: int, kind: str, lang: str) -> Dialog:
        rng = self.rng
        zh = lang == "zh"
        d = Dialog(f"gen-{i:05d}", kind, lang)
        if rng.random() < 0.2 and kind not in ("chat",):
            greeting = rng.choice(_CHAT[lang][:2])
            self._add(d, Turn(greeting, "random chat", None, [], ""))
        if kind == "chat":
            for text in rng.sample(_CHAT[lang], 2):
                self._add(d, Turn(text, "random chat", None, [], ""))
            return d
        if kind == "browse":
            self._add(d, Turn(self.pick(_BROWSE, lang), "random shopping", None, [], ""))
            return d
        if kind == "out_of_catalog":
            thing = rng.choice(_OUTSIDE)[1 if zh else 0]
            turn = Turn(self.pick(_OUTSIDE_ASK, lang, t=thing), "intended shopping", {"category": None}, [], "")
            groups = (
                "数码、家电、美妆、服饰鞋靴、母婴、运动户外和家居"
                if zh
                else (
                    "electronics, home appliances, beauty, apparel and shoes, baby, sports and outdoor, and home goods"
                )
            )
            turn.reply = (
                f"抱歉，我们这里没有{thing}，我不能给您推荐。我们主要有{groups}类的商品，需要的话我可以帮您挑选。"
                if zh
                else f"Sorry, we don't carry {thing}, so I can't recommend any. Our store has {groups}; "
                "I'd be glad to help you find something there."
            )
            d.turns.append(turn)
            return d
        if kind == "gift":
            who, aim = rng.choice(_GIFT[lang])
            budget = rng.choice([200, 300, 500, 1000])
            self._add(
                d, Turn(self.pick(_GIFT_ASK, lang, g=who, n=budget), "intended shopping", None, [], "", (aim, ""))
            )
            affordable = [c for c in self.categories if min(p.price or 0.0 for p in self.by_category[c.id]) <= budget]
            cat = rng.choice(affordable or self.categories)
            name = cat.name_zh if zh else cat.name_en
            products, relaxed = self.products(cat, ceiling=float(budget))
            args: dict[str, str | None] = {"category": cat.id, "use": aim}
            self._add(
                d, Turn(self.pick(_GIFT_PICK, lang, c=name), "specific needs", args, products, "", (aim, "")), relaxed
            )
            return d
        cat = rng.choice(self.sized if kind == "size" else self.categories)
        name = cat.name_zh if zh else cat.name_en
        args = {"category": cat.id}
        if kind == "scenario":
            en, zh_scene = rng.choice(_SCENES[cat.group])
            scene = zh_scene if zh else en
            args["use"] = scene
            products, relaxed = self.products(cat)
            text = self.pick(_SCENE_ASK, lang, c=name, s=scene)
            self._add(d, Turn(text, "specific scenarios", dict(args), products, "", ("", scene)), relaxed)
            return d
        products, relaxed = self.products(cat)
        self._add(d, Turn(self.pick(_WANT, lang, c=name), "intended shopping", dict(args), products, ""), relaxed)
        ceiling: float | None = None
        brand: str | None = None
        exclude: str | None = None
        steps = [kind] + [k for k in ("need", "budget") if k != kind and rng.random() < 0.35]
        for step in steps:
            intent: IntentLabel = "specific needs"
            if step == "need" and cat.attributes:
                attr = rng.choice(cat.attributes[:3])
                values = attr.values_zh if zh else attr.values_en
                value = rng.choice(values) if values else attr.key
                args[attr.key] = value
                text = self.pick(_NEED, lang, v=value)
            elif step == "budget" or (step == "need" and not cat.attributes):
                prices = sorted(p.price for p in self.by_category[cat.id] if p.price)
                ceiling = float(round(rng.choice(prices) * rng.choice([0.6, 1.0, 1.3]), -2) or 100)
                n = int(ceiling)
                text = self.pick(_BUDGET, lang, n=n, k=max(1, n // 1000))
                if "{k}" in text or "千" in text:  # "3千以下": only for round thousands
                    text = f"{n}以内"
                args["price"] = text
            elif step == "size":
                shoes = "shoe" in cat.id or "sneaker" in cat.id
                size = str(rng.choice(range(36, 45))) if shoes else rng.choice(self.size_values)
                args["size"] = size
                text = self.pick(_SIZE, lang, s=size)
            elif step == "brand":
                choices = list(cat.brands)
                aliases = {v: k for k, v in cat.brand_aliases.items() if re.search(r"[\u4e00-\u9fff]", k)}
                brand = rng.choice(choices)
                said = aliases.get(brand, brand) if zh else brand
                args["brand"] = said
                text = self.pick(_BRAND, lang, b=said)
                intent = "specific brand"
            else:  # brand_exclude
                exclude = rng.choice(sorted({p.brand for p in self.by_category[cat.id]}))
                said = ({v: k for k, v in cat.brand_aliases.items()}.get(exclude, exclude)) if zh else exclude
                text = self.pick(_EXCLUDE, lang, b=said)
                args["brand"] = text
            products, relaxed = self.products(cat, ceiling, brand, exclude)
            self._add(d, Turn(text, intent, dict(args), products, ""), relaxed)
        return d

    def generate(self, n: int) -> list[Dialog]:
        # Every kind and both languages in turn, so a small n still covers them all.
        return [self.dialog(i, KINDS[i % len(KINDS)], ("en", "zh")[(i // len(KINDS)) % 2]) for i in range(n)]


def from_dialogs(dialogs: Sequence[Dialog], taxonomy: Taxonomy) -> list[Sample]:
    samples: list[Sample] = []
    for d in dialogs:
        turns = [(t.user, t.products, t.reply) for t in d.turns]
        samples.append(guide_sample(d.id, d.lang, "generated", turns))
        for i, t in enumerate(d.turns):
            context = d.messages(i)
            samples.append(extraction_sample(taxonomy, f"{d.id}-t{i}", d.lang, "generated", context, t.arguments))
            samples.append(intent_sample(f"{d.id}-t{i}", d.lang, "generated", context, t.intent, *t.scene))
    return samples


# --------------------------------------------------------------------------- tokens, validation, build
@dataclass(frozen=True)
class TokenCounter:
    name: str
    count: Callable[[str], int]


def token_counter(path: str | None) -> TokenCounter:
    """The tokenizer at ``path`` (a tokenizer.json, or a model folder holding one), through ``tokenizers``, else
    transformers' AutoTokenizer (local files only); without a path, the project's word/CJK estimate."""
    if not path:
        return TokenCounter("estimate (shared.llm.chunking.count_tokens)", count_tokens)
    file = Path(path) / "tokenizer.json" if Path(path).is_dir() else Path(path)
    try:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(file))
        return TokenCounter(f"tokenizers:{file}", lambda text: len(tok.encode(text, add_special_tokens=False).ids))
    except Exception as first:  # noqa: BLE001 - any failure: try transformers, then say why
        try:
            from transformers import AutoTokenizer

            auto = AutoTokenizer.from_pretrained(path, local_files_only=True)
            return TokenCounter(f"transformers:{path}", lambda text: len(auto.encode(text, add_special_tokens=False)))
        except Exception as second:  # noqa: BLE001
            raise SystemExit(f"no tokenizer at {path}: {first}; {second}") from second


def sharegpt_problems(record: dict[str, Any]) -> list[str]:
    """What LLaMA-Factory's sharegpt converter would reject (data/README.md; its SharegptDatasetConverter): an
    optional leading system turn, then human/observation at even positions and gpt/function_call at odd ones, an
    even count ending with the model; observation only after a function_call, values non-empty strings."""
    problems: list[str] = []
    turns = record.get("conversations")
    if not isinstance(turns, list) or not turns:
        return ["no conversations"]
    if not isinstance(record.get("system", ""), str):
        problems.append("system is not a string")
    if turns[0].get("from") == "system":
        turns = turns[1:]
    if len(turns) % 2:
        problems.append("an odd number of turns")
    for i, turn in enumerate(turns):
        role, value = turn.get("from"), turn.get("value")
        allowed = ("human", "observation") if i % 2 == 0 else ("gpt", "function_call")
        if role not in allowed:
            problems.append(f"turn {i}: {role!r} where {allowed} belong")
        if role == "observation" and (i == 0 or turns[i - 1].get("from") != "function_call"):
            problems.append(f"turn {i}: an observation not after a function_call")
        if not isinstance(value, str) or not value.strip():
            problems.append(f"turn {i}: an empty value")
    return problems


@dataclass
class Built:
    kept: list[Sample]
    split: dict[str, str]  # sample key -> train/validation
    tokens: dict[str, int]
    dropped_duplicate: Counter[str]
    dropped_long: Counter[str]
    tokenizer: str


def is_validation(key: str, percent: int) -> bool:
    return int(key[:8], 16) % 100 < percent


def select(samples: Iterable[Sample], counter: TokenCounter, max_tokens: int, validation_percent: int) -> Built:
    seen: set[str] = set()
    kept: list[Sample] = []
    tokens: dict[str, int] = {}
    dup: Counter[str] = Counter()
    long: Counter[str] = Counter()
    for s in samples:
        key = s.key
        if key in seen:
            dup[s.task] += 1
            continue
        seen.add(key)
        n = counter.count(s.text)
        if n > max_tokens:
            long[s.task] += 1
            continue
        tokens[key] = n
        kept.append(s)
    split = {s.key: "validation" if is_validation(s.key, validation_percent) else "train" for s in kept}
    return Built(kept, split, tokens, dup, long, counter.name)


def write(built: Built, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {}
    for task in TASKS:
        for part in ("train", "validation"):
            rows = [s.record() for s in built.kept if s.task == task and built.split[s.key] == part]
            if not rows:
                continue
            name = f"sg_{task}_{part}"
            (out / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
            info[name] = {
                "file_name": f"{name}.json",
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system"},
                "tags": {
                    "role_tag": "from",
                    "content_tag": "value",
                    "user_tag": "human",
                    "assistant_tag": "gpt",
                    "observation_tag": "observation",
                    "function_tag": "function_call",
                },
            }
    (out / "dataset_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return info


def statistics_text(built: Built, seconds: float) -> str:
    lines = [f"tokenizer: {built.tokenizer}"]
    by = Counter((s.task, s.source, s.lang, built.split[s.key]) for s in built.kept)
    lines.append(f"{'task':<11}{'source':<11}{'lang':<5}{'train':>7}{'valid':>7}")
    for task, source, lang in sorted({k[:3] for k in by}):
        lines.append(
            f"{task:<11}{source:<11}{lang:<5}{by[task, source, lang, 'train']:>7}{by[task, source, lang, 'validation']:>7}"
        )
    lines.append(f"{'task':<11}{'samples':>8}{'p50':>7}{'p95':>7}{'max':>7}{'dup':>6}{'long':>6}")
    for task in TASKS:
        counts = sorted(built.tokens[s.key] for s in built.kept if s.task == task)
        if not counts:
            continue
        p95 = counts[min(len(counts) - 1, round(0.95 * (len(counts) - 1)))]
        lines.append(
            f"{task:<11}{len(counts):>8}{int(statistics.median(counts)):>7}{p95:>7}{counts[-1]:>7}"
            f"{built.dropped_duplicate[task]:>6}{built.dropped_long[task]:>6}"
        )
    lines.append(
        f"kept {len(built.kept)}; dropped {sum(built.dropped_duplicate.values())} duplicates, "
        f"{sum(built.dropped_long.values())} over the length limit; {seconds:.1f}s"
    )
    return "\n".join(lines)


def build(
    out: Path = DEFAULT_OUT,
    *,
    generated: int = 3000,
    seed: int = 13,
    sessions: Sequence[Path] = (),
    labelled: bool = True,
    tokenizer: str | None = None,
    max_tokens: int = 4096,
    validation_percent: int = 5,
) -> tuple[Built, str]:
    started = time.perf_counter()
    taxonomy = load_taxonomy()
    samples: list[Sample] = from_labelled(taxonomy) if labelled else []
    for path in sessions:
        samples += from_sessions(path, taxonomy)
    if generated:
        samples += from_dialogs(Generator(taxonomy, load_catalog(), seed).generate(generated), taxonomy)
    built = select(samples, token_counter(tokenizer), max_tokens, validation_percent)
    write(built, out)
    return built, statistics_text(built, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0] not in ("build", "export-sessions", "-h", "--help"):
        args_in.insert(0, "build")
    parser = argparse.ArgumentParser(prog="python -m training.sft", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the LLaMA-Factory datasets (the default command)")
    b.add_argument("--out", type=Path, default=DEFAULT_OUT)
    b.add_argument("--generated", type=int, default=3000, help="dialogs to compose from the catalog (0: none)")
    b.add_argument("--seed", type=int, default=13)
    b.add_argument("--sessions", type=Path, action="append", default=[], help="an export-sessions file (repeatable)")
    b.add_argument("--no-labelled", action="store_true", help="leave out training/data/")
    b.add_argument(
        "--tokenizer",
        default=os.environ.get("SG_SFT_TOKENIZER"),
        help="a local tokenizer.json or model folder (default: $SG_SFT_TOKENIZER; else an estimate)",
    )
    b.add_argument("--max-tokens", type=int, default=4096)
    b.add_argument("--validation-percent", type=int, default=5)
    e = sub.add_parser("export-sessions", help="the router's stored sessions of a tenant as JSON Lines")
    e.add_argument("--redis-url", required=True)
    e.add_argument("--tenant", required=True)
    e.add_argument("--namespace", default="sg", help="the cache namespace (SG_CACHE_NAMESPACE)")
    e.add_argument("--out", type=Path, default=None, help="default: var/sft/sessions-<tenant>.jsonl")
    args = parser.parse_args(args_in)
    if args.command == "export-sessions":
        out = args.out or DEFAULT_OUT / f"sessions-{args.tenant}.jsonl"
        n = asyncio.run(export_sessions(args.redis_url, args.tenant, out, args.namespace))
        print(f"{n} sessions of tenant {args.tenant} -> {out}")
        return 0
    _, text = build(
        args.out,
        generated=args.generated,
        seed=args.seed,
        sessions=args.sessions,
        labelled=not args.no_labelled,
        tokenizer=args.tokenizer,
        max_tokens=args.max_tokens,
        validation_percent=args.validation_percent,
    )
    print(text)
    print(f"-> {args.out}/dataset_info.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
