"""Intent and scene recognition: the local CPU engine, the LLM path, and the cascade between them.

The local engine here is a lexicon baseline; the trained classifier (issue 3) takes its place behind
the same ``LocalIntentEngine.classify`` signature.
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import get_args

from shared.jsonblock import extract_json
from shared.llm import LLMClient, LLMError
from shared.llm.base import ChatMessage
from shared.prompts import load_prompt
from shared.schemas import IntentLabel, Message, Scene, last_user_message, render_transcript
from shared.settings import Task
from shared.telemetry import ENGINE_ANSWERS

from services.intent.schemas import IntentResponse

log = logging.getLogger(__name__)

LABELS: tuple[str, ...] = get_args(IntentLabel)
PROMPT = load_prompt("services.intent", "intent")


def _words(*items: str) -> re.Pattern[str]:
    return re.compile("|".join(items), re.I)


# Ordered from the most specific label down, as the seed's progressive hints read.
_DECIDED = _words(r"\bhow (do|can) i (buy|order|pay)", r"\b(add|put) (it )?to (my )?cart", r"\bcheck ?out\b",
                  r"\bi'?ll take\b", "怎么买", "怎么下单", "如何购买", "下单", "加入购物车", "就要这个", "买这款")
_BRANDS = _words(r"\b(apple|iphone|samsung|google pixel|pixel|xiaomi|huawei|sony|nike|adidas|dyson|lenovo|dell|"
                 r"asus|canon|nikon|philips|midea|haier|lancome|loreal|estee lauder|oppo|vivo|oneplus)\b",
                 "苹果", "三星", "小米", "华为", "索尼", "耐克", "阿迪达斯", "戴森", "联想", "佳能", "飞利浦", "美的",
                 "海尔", "兰蔻", "欧莱雅", "雅诗兰黛")
_SCENARIO = _words(r"\b(trip|travel|camping|hiking|office|wedding|party|school|gym|beach|commute|vacation|"
                   r"business trip|outdoors?)\b", "旅行", "旅游", "露营", "徒步", "出差", "办公室", "婚礼", "聚会",
                   "上学", "健身房", "海边", "通勤", "度假", "户外")
_NEEDS = _words(r"\b(battery|camera|screen|display|waterproof|lightweight|storage|memory|noise cancell\w*|"
                r"performance|quiet|durable|size|budget|under \$?\d+|for (running|gaming|work|photos?|kids))\b",
                "续航", "电池", "拍照", "屏幕", "防水", "轻便", "内存", "降噪", "性能", "静音", "耐用", "预算",
                r"\d+\s*(元|块)以内", "适合", "用来")
_INTENDED = _words(r"\b(buy|purchase|looking for|need an?|want an?|shopping for|get a new|recommend)\b",
                   "想买", "要买", "购买", "买个", "买一", "需要一", "推荐", "想要", "入手")
_BROWSING = _words(r"\b(just (looking|browsing)|browse|deals?|on sale|what'?s new|anything (good|interesting))\b",
                   "逛逛", "随便看看", "看看", "有什么好", "优惠", "打折", "促销", "新品")
_AIM = re.compile(r"(?:\bfor (?P<en>[\w\s-]{3,40}?)(?:[,.?!]|$)|用来(?P<zh>[^，。？！,.?!]{1,20})|"
                  r"用于(?P<zh2>[^，。？！,.?!]{1,20}))", re.I)
_PLACE = re.compile(r"(?:\b(?:in|at|during|on) (?:the |my |a )?(?P<en>(?:trip|travel|camping|hiking|office|wedding|"
                    r"party|gym|beach|commute|vacation|business trip|outdoors?)[\w\s]{0,20}?)(?:[,.?!]|$)|"
                    r"(?:在|去)(?P<zh>[^，。？！,.?!]{1,12}?)(?:用|的时候|时|，|。|$))", re.I)


class LocalIntentEngine:
    """Lexicon baseline over the last user message, with the brand-offered-by-bot rule from seed 000."""

    def classify(self, messages: list[Message]) -> IntentResponse:
        text = last_user_message(messages)
        bot_text = " ".join(m.content for m in messages if m.role == "assistant")
        brand = _BRANDS.search(text)
        if _DECIDED.search(text):
            label, reason, confidence = "specific needs", "the user has decided and asks how to buy", 0.8
        elif brand and not _BRANDS.search(bot_text):
            label, reason, confidence = "specific brand", f"the user names the brand '{brand.group(0)}'", 0.75
        elif brand:
            label, reason, confidence = "specific needs", "the user picks a brand the guide offered", 0.7
        elif _SCENARIO.search(text):
            label, reason, confidence = "specific scenarios", "the user says where the product is needed", 0.65
        elif _NEEDS.search(text):
            label, reason, confidence = "specific needs", "the user names attributes or a purpose", 0.65
        elif _INTENDED.search(text):
            label, reason, confidence = "intended shopping", "the user wants to buy something", 0.6
        elif _BROWSING.search(text):
            label, reason, confidence = "random shopping", "the user is browsing without a target", 0.6
        else:
            label, reason, confidence = "random chat", "no product, feature or shopping intent", 0.55
        return IntentResponse(
            intent=label, reason=reason, scene=self.scene(text), confidence=confidence, engine="local"
        )

    @staticmethod
    def scene(text: str) -> Scene:
        aim = _AIM.search(text)
        place = _PLACE.search(text)
        return Scene(
            aim=next((g for g in (aim.groupdict().values() if aim else ()) if g), "").strip(),
            scene=next((g for g in (place.groupdict().values() if place else ()) if g), "").strip(),
        )


def normalise_label(raw: str) -> str | None:
    """Map an LLM's label to one of the six: case, spacing and near misses ("Specific_Brand")."""
    cleaned = re.sub(r"[\s_\-]+", " ", raw).strip().lower()
    if cleaned in LABELS:
        return cleaned
    close = difflib.get_close_matches(cleaned, LABELS, n=1, cutoff=0.75)
    return close[0] if close else None


def parse_llm_answer(text: str) -> IntentResponse | None:
    data = extract_json(text, tag="response")
    if not data:
        return None
    label = normalise_label(str(data.get("category") or data.get("intent") or ""))
    if label is None:
        return None
    return IntentResponse(
        intent=label,
        reason=str(data.get("reason", "")),
        scene=Scene(aim=str(data.get("aim", "") or ""), scene=str(data.get("scene", "") or "")),
        confidence=0.9,
        engine="llm",
    )


class IntentRecogniser:
    """Answers with the local engine, the LLM, or the cascade: local first, the LLM when unsure."""

    def __init__(self, llm: LLMClient, local: LocalIntentEngine, threshold: float) -> None:
        self.llm = llm
        self.local = local
        self.threshold = threshold

    async def recognise(self, messages: list[Message], engine: str) -> IntentResponse:
        local = self.local.classify(messages)
        llm_configured = not self.llm.uses_local(Task.INTENT)
        if engine == "local" or not llm_configured or (engine == "auto" and local.confidence >= self.threshold):
            ENGINE_ANSWERS.labels("intent", "local", "answered").inc()
            return local
        answer = await self._ask_llm(messages)
        if answer is None:
            ENGINE_ANSWERS.labels("intent", "local", "llm_fallback").inc()
            return local
        ENGINE_ANSWERS.labels("intent", "llm", "answered").inc()
        return answer

    async def _ask_llm(self, messages: list[Message]) -> IntentResponse | None:
        prompt = [ChatMessage(role="user", content=PROMPT.render(conversation=render_transcript(messages)))]
        for attempt in range(2):  # one retry on malformed output
            try:
                reply = await self.llm.complete(Task.INTENT, prompt)
            except LLMError as exc:
                log.warning("intent LLM failed, answering locally: %s", exc)
                return None
            if (answer := parse_llm_answer(reply.text)) is not None:
                return answer
            log.warning("intent LLM answer unparseable (attempt %d): %.200s", attempt + 1, reply.text)
        return None
