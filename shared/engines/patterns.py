"""Surface patterns both engines read: budgets, decided purchases, brand-like names, the bot's questions."""

from __future__ import annotations

import re

from shared.engines.terms import Mention, TermLexicon


def _any(*items: str) -> re.Pattern[str]:
    return re.compile("|".join(items), re.I)


# "under $1500", "3000以内", "budget's around $400", "1500左右", "一万以内", "500 bucks", "预算6000".
BUDGET = re.compile(
    r"(?:under|below|less than|no more than|within|up to|max(?:imum)?|around|about|budget(?:'s| is| of)?"
    r"(?: around| about)?)\s*[$¥€£]?\s*\d[\d,.]*\s*(?:k\b|dollars|bucks|usd|yuan|rmb|元|块)?"
    r"|[$¥€£]\s*\d[\d,.]*(?:\s*(?:-|to)\s*[$¥€£]?\s*\d[\d,.]*)?"
    r"|\d[\d,.]*\s*(?:k\b|bucks|dollars|块钱|元|块)"
    r"|(?:预算|价格)?(?:别超过|不超过|不要超过)?\s*(?:\d[\d,.]*|[一二两三四五六七八九十]+[千万])\s*(?:元|块)?"
    r"\s*(?:以内|以下|左右|之内|上下)"
    r"|(?:预算|价格)(?:可以)?(?:再)?(?:提到|加到|是|在)?\s*\d[\d,.]*\s*(?:元|块)?"
    r"|(?:别超过|不超过|不要超过)\s*\d[\d,.]*"
    r"|\d[\d,.]*\s*(?:-|到|至)\s*\d[\d,.]*\s*(?:元|块)",
    re.I,
)

# The user has decided and asks how to buy: payment, delivery, coupons at checkout, trade-in.
DECIDED = _any(
    r"\bi'?ll (take|buy|go with|get) (it|this|that|the|one)\b",
    r"\blet'?s go with\b",
    r"\b(i'?ve )?decided\b",
    r"\bready to (buy|order|check ?out)\b",
    r"\bcheck ?out\b",
    r"\b(add(ed)?|put) (it )?to (my )?cart\b",
    r"\b(pay|payment|installments?|paypal|trade-?in)\b",
    r"\bdeliver(ed|y)? by\b",
    r"\bgift wrapping\b",
    r"\bhow (do|can) i (buy|order|pay|apply)\b",
    r"\bshipping take\b",
    "下单",
    "怎么买",
    "如何购买",
    "加入购物车",
    "就要这个",
    "就这个了",
    "就它了",
    "我要了",
    "决定要了",
    "准备买了",
    "付款",
    "支付",
    "分期",
    "以旧换新",
    "什么时候能到",
    "多久能到",
    "就.{1,6}吧，",
    "买两支",
    "我要.{1,6}那个",
)

# A question from the bot about where or when the product will be used: the answer is a scenario.
BOT_ASKS_PLACE = _any(
    r"\bwhere\b",
    r"\bwhat'?s it for\b",
    r"\boccasion\b",
    r"\bwhat kind of riding\b",
    "哪里",
    "在哪",
    "哪儿",
    "什么场合",
    "什么地方",
    "什么场景",
    "什么时候",
)

# A question from the bot about features, purpose, budget or taste: the answer names needs.
BOT_ASKS_NEED = _any(
    r"\bwhat (matters|features|size|capacity|kind|type)\b",
    r"\bbudget\b",
    r"\bprefer\b",
    r"\bwhat will you\b",
    r"\bany (requirements|budget|brand|preferences?)\b",
    r"\bor\b.*\?",
    "看重",
    "用途",
    "用来做什么",
    "需求",
    "预算",
    "肤质",
    "偏好",
    "多大",
    "哪种",
    "还是",
)

# Latin names inside Chinese text are how a foreign brand or model is written there ("theragun的", "声丽(SENICC)",
# "A7M4"). In English text a capitalised word is a sentence start or an ordinary word as often as a name ("So I",
# "Run", "Good"): there only the lexicon names brands.
_SPEC = re.compile(r"^(?:spf|ipx?\d|rtx|gtx|usb|cri|type|pa\+|i\d\b|[a-z]?\d+[a-z]*$)", re.I)  # SPF50, RTX 4060, i7
_LATIN_IN_CHINESE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][A-Za-z0-9' &+-]*[A-Za-z0-9]")
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)+(?:/\S*)?", re.I)
NOT_NAMES = frozenset(
    "i i'm i've i'd i'll ok okay hi hello hey thanks thank yes no sure great cool nice oh hmm lol haha also and "
    "christmas halloween thanksgiving easter valentine's mother's father's black friday cyber monday tuesday "
    "wednesday thursday saturday sunday january february march april may june july august september october "
    "november december ios android windows mac hdr anc oled lcd gps usb hepa spf pa rtx ram ssd ai app wifi "
    "bluetooth type-c led uv ipx tpe cadr diy tv ac bot camera phone budget hz day paypal visa alipay canadian "
    "american chinese japanese korean german french italian british gb hp "
    "http https www com cn html jd taobao tmall item plus pro max mini ultra lite se new vip "
    # Function words a chat writer capitalises mid-line, where a sentence starts without its full stop
    # ("I lost my phone So I have to buy one"): never a name.
    "so actually but or then well now just maybe because if when what which who how why where there this that "
    "these those my your our their we you he she they it its me please sorry not any some all one the a an in "
    "on at to of for with from by as is are was be do does did can could would should will have has had too "
    "very really".split()
)
# Brand aliases that are everyday words far more often than brands ("5000左右" is no Zuoyou sofa).
_AMBIGUOUS_ALIASES = frozenset(
    "左右 永久 闪电 冠军 大王 小布 博士 凤凰 小鹰 多特 水星 鸭鸭 keep clear forever pouch only".split()
)
_AFTER_NUMBER = re.compile(r"\d\s*$")  # "3.5 HP" is a unit, not the brand HP
_MIN_UNKNOWN_NAME = 3  # "jd", "ok", "XL": two letters are too little to take as a name the lexicon lacks


def brand_like(text: str, brands: TermLexicon) -> list[Mention]:
    """Known brands (word-bounded, never inside a link), plus, in Chinese text, Latin names outside the stop
    words, specs and links."""
    links = [match.span() for match in _URL.finditer(text)]
    found = [
        m
        for m in brands.find(text)
        if m.surface.lower() not in _AMBIGUOUS_ALIASES
        and not _AFTER_NUMBER.search(text[: m.start])
        and not any(a <= m.start < b for a, b in links)
    ]
    if not re.search(r"[\u4e00-\u9fff]", text):
        return found
    taken = [(m.start, m.end) for m in found] + links
    for match in _LATIN_IN_CHINESE.finditer(text):
        surface = match.group(0).strip()
        start, end = match.start(), match.start() + len(surface)
        if (
            len(surface) < _MIN_UNKNOWN_NAME
            or surface.split()[0].lower() in NOT_NAMES
            or _SPEC.match(surface)
            or any(a < end and start < b for a, b in taken)
        ):
            continue
        found.append(Mention(start, end, surface, surface))
        taken.append((start, end))
    return sorted(found, key=lambda m: m.start)
