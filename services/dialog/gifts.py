"""Gift requests without a product kind ("想给我妈买个礼物", "she loves cooking"): who the gift is for, what
they enjoy, the budget, and the kinds of products (taxonomy categories) that fit them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.dialog.constraints import Budget, stated_price
from shared.engines.constraints import Currencies, find_price
from shared.schemas import Message, PriceRange
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex

MAX_KINDS = 3

GIFT = re.compile(
    r"礼物|礼品|送礼|送(?:给)?(?=[我他她朋人女男老爸妈父母孩儿长同闺亲领客])|生日|纪念日|母亲节|父亲节|情人节|圣诞|"
    r"\b(?:gifts?|present|birthday|anniversary|mother'?s day|father'?s day|valentine'?s|christmas)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Recipient:
    pattern: re.Pattern[str]
    zh: str  # as the guide names them: 妈妈
    en: str  # your mom
    pronoun_zh: str
    pronoun_en: str  # she / he / they
    kinds: tuple[str, ...]  # category ids, the likeliest first


@dataclass(frozen=True, slots=True)
class Interest:
    pattern: re.Pattern[str]
    zh: str
    en: str
    kinds: tuple[str, ...]


def _p(text: str) -> re.Pattern[str]:
    return re.compile(text, re.I)


RECIPIENTS = (
    Recipient(_p(r"妈|母亲|婆婆|岳母|\b(?:mom|mum|mother|mommy)\b"), "妈妈", "your mom", "她", "she",
              ("hair_dryer", "moisturizer", "smartwatch", "rice_cooker")),
    Recipient(_p(r"爸|父亲|公公|岳父|\b(?:dad|father|daddy)\b"), "爸爸", "your dad", "他", "he",
              ("smartwatch", "bluetooth_speaker", "office_chair")),
    Recipient(_p(r"爷爷|奶奶|外公|外婆|姥姥|姥爷|长辈|老人|\bgrand(?:ma|pa|mother|father|parents?)\b"), "长辈",
              "your grandparents", "TA", "they", ("smartwatch", "air_purifier", "mattress")),
    Recipient(_p(r"女朋友|女友|老婆|媳妇|妻子|太太|\b(?:girlfriend|wife)\b"), "", "", "她", "she",
              ("lipstick", "moisturizer", "hair_dryer", "headphones")),
    Recipient(_p(r"男朋友|男友|老公|丈夫|\b(?:boyfriend|husband)\b"), "", "", "他", "he",
              ("headphones", "smartwatch", "running_shoes")),
    Recipient(_p(r"宝宝|婴儿|新生儿|满月|\b(?:baby|newborn)\b"), "宝宝", "a baby", "TA", "they",
              ("baby_sleeping_bag", "stroller")),
    Recipient(_p(r"孩子|儿子|女儿|小朋友|\b(?:kids?|son|daughter|child)\b"), "", "", "TA", "they",
              ("desk_lamp", "tablet", "smartwatch")),
    Recipient(_p(r"朋友|闺蜜|兄弟|同事|领导|老师|客户|\b(?:friend|colleague|coworker|boss|teacher)\b"), "", "", "TA", "they",
              ("bluetooth_speaker", "headphones", "desk_lamp")),
)
ANYONE = ("bluetooth_speaker", "headphones", "hair_dryer")

INTERESTS = (
    Interest(_p(r"做饭|下厨|烹饪|厨艺|烧菜|做菜|烘焙|煲汤|\b(?:cook\w*|bak(?:e|ing)|kitchen|chef)\b"), "做饭", "cooking",
             ("rice_cooker", "coffee_machine")),
    Interest(_p(r"咖啡|\b(?:coffee|espresso|latte)\b"), "喝咖啡", "coffee", ("coffee_machine",)),
    Interest(_p(r"音乐|听歌|唱歌|\b(?:music|songs?|podcasts?)\b"), "听音乐", "music", ("headphones", "bluetooth_speaker")),
    Interest(_p(r"跑步|健身|运动|锻炼|瑜伽|\b(?:running|jogging|fitness|workouts?|gym|yoga|exercis\w*|sports?)\b"), "运动",
             "sports", ("running_shoes", "smartwatch", "yoga_mat")),
    Interest(_p(r"户外|爬山|登山|徒步|露营|\b(?:hiking|camping|outdoors?|trekking)\b"), "户外", "the outdoors",
             ("hiking_backpack", "tent", "smartwatch")),
    Interest(_p(r"骑行|骑车|\b(?:cycling|biking)\b"), "骑行", "cycling", ("bicycle", "smartwatch")),
    Interest(_p(r"拍照|摄影|\b(?:photography|photos|taking pictures)\b"), "拍照", "photography", ("camera", "smartphone")),
    Interest(_p(r"旅游|旅行|出差|\b(?:travel\w*|trips?)\b"), "旅行", "travel", ("headphones", "hiking_backpack", "camera")),
    Interest(_p(r"护肤|化妆|美妆|打扮|\b(?:skin ?care|make-?up|beauty)\b"), "护肤", "skincare",
             ("moisturizer", "lipstick", "sunscreen")),
    Interest(_p(r"看书|阅读|读书|学习|写作业|\b(?:reading|books|study\w*)\b"), "看书学习", "reading",
             ("desk_lamp", "tablet")),
    Interest(_p(r"游戏|数码|电子产品|\b(?:gaming|games|gadgets|tech)\b"), "数码", "gadgets",
             ("headphones", "tablet", "smartwatch")),
    Interest(_p(r"睡眠|睡不好|失眠|\bsleep\w*\b"), "睡个好觉", "a good night's sleep", ("mattress", "bedding")),
    Interest(_p(r"穿搭|时尚|买衣服|\b(?:fashion|clothes)\b"), "穿搭", "fashion", ("down_jacket", "dress", "t_shirt")),
    Interest(_p(r"打扫|收拾|家务|\b(?:cleaning|housework|tidy\w*)\b"), "收拾家里", "a tidy home",
             ("vacuum_cleaner", "air_purifier")),
    Interest(_p(r"健康|养生|\b(?:health|wellness)\b"), "健康", "health", ("smartwatch", "air_purifier")),
)
# Examples the guide offers when it asks what the recipient enjoys.
ASKED_INTERESTS = ("做饭", "运动", "护肤"), ("cooking", "sports", "skincare")

@dataclass(frozen=True, slots=True)
class GiftNeed:
    recipient: Recipient | None
    who: str  # the recipient as the user named them: 女朋友, my wife
    interests: tuple[Interest, ...]
    budget: Budget | None  # as the user said it
    kinds: tuple[Category, ...]  # what fits, interest kinds first
    first_turn: bool  # the user's last turn is the one that mentions the gift

    @property
    def for_interests(self) -> tuple[Category, ...]:
        return tuple(c for c in self.kinds if any(c.id in i.kinds for i in self.interests))

    @property
    def others(self) -> tuple[Category, ...]:
        return tuple(c for c in self.kinds if c not in self.for_interests)

    def name(self, zh: bool) -> str:
        if self.recipient is None:
            return "TA" if zh else "them"
        label = self.recipient.zh if zh else self.recipient.en
        return label or (self.who if zh else f"your {self.who.lower()}")


def gift_need(
    messages: Sequence[Message], index: TaxonomyIndex, currencies: Currencies, entry_prices: Mapping[str, float]
) -> GiftNeed | None:
    """The gift the user is choosing, read from their turns since the last one that mentions a gift.
    ``entry_prices``: each kind's cheapest product in the catalog (its vocabulary), to leave out kinds a budget cannot
    reach (no refrigerator for a 500-yuan gift); a kind the catalog does not carry is never suggested."""
    users = [m.content for m in messages if m.role == "user"]
    start = next((i for i in range(len(users) - 1, -1, -1) if GIFT.search(users[i])), None)
    if start is None:
        return None
    said = users[start:]
    recipient, who = None, ""
    for text in reversed(said):
        for candidate in RECIPIENTS:
            if match := candidate.pattern.search(text):
                recipient, who = candidate, match.group(0)
                break
        if recipient:
            break
    interests = tuple(i for i in INTERESTS if any(i.pattern.search(t) for t in said))
    price, budget = stated_price(said, currencies) or (None, None)
    ids = [*(k for i in interests for k in i.kinds), *(recipient.kinds if recipient else ANYONE)]
    kinds = [index.taxonomy.categories[c] for c in dict.fromkeys(ids) if c in index.taxonomy.categories]
    affordable = [c for c in kinds if _within(c, price, entry_prices)]
    if price is not None and not affordable:  # nothing we thought of fits: the cheapest kinds that do
        affordable = sorted(
            (c for c in index.taxonomy.categories.values() if c.id in entry_prices and _within(c, price, entry_prices)),
            key=lambda c: entry_prices[c.id],
        )
    return GiftNeed(recipient, who, interests, budget, tuple(affordable[:MAX_KINDS]), start == len(users) - 1)


def _within(category: Category, price: PriceRange | None, entry_prices: Mapping[str, float]) -> bool:
    """Whether the budget (in the catalog's currency) reaches the kind's cheapest product."""
    return price is None or price.max is None or entry_prices.get(category.id, 0) <= price.max


def adds_to_gift(text: str) -> bool:
    """Whether a user turn tells something about a gift being chosen (who, what they enjoy, the budget)."""
    return bool(
        GIFT.search(text)
        or any(r.pattern.search(text) for r in RECIPIENTS)
        or any(i.pattern.search(text) for i in INTERESTS)
        or find_price(text) is not None
    )
