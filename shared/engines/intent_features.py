"""What the intent classifiers read from a dialog: the last user message, and cues from the context.

The label belongs to the last user message; the context matters through a few cues the labelling rules name:
whether a brand came from the user or from the bot, whether the bot just asked where the product is for,
whether a product type was named earlier. Cues on the message itself say whether it names a kind of product
(in the catalog or not), reads as a search-box query, or is after-sales talk (``product_kinds``). The
message's character 1-3-grams, hashed, carry the short words a sentence embedding blurs ("退", "吗", "refund").
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.engines.patterns import BOT_ASKS_NEED, BOT_ASKS_PLACE, BUDGET, DECIDED, brand_like
from shared.engines.product_kinds import AFTER_SALES, product_kind_lexicon, query_like
from shared.engines.terms import TermLexicon
from shared.schemas import Message

CUES: tuple[str, ...] = (
    "user_brand",  # the last message names a brand or model
    "brand_from_bot",  # ... and the bot named it first
    "brand_new",  # ... and the bot did not name it
    "bot_named_products",  # the bot's last turn offered brands or models
    "category",  # the last message names a product type
    "category_before",  # an earlier user turn did
    "decided",  # the user has decided and asks how to buy
    "budget",
    "bot_asks_place",
    "bot_asks_need",
    "multi_turn",
    "product_kind",  # the last message names a kind of product, in the catalog or not
    "product_kind_before",  # an earlier user turn did
    "product_query",  # the last message is a search-box query that names a kind of product
    "query",  # ... a search-box query at all (a few words, no sentence)
    "after_sales",  # the last message is about an order placed: delivery, return, refund, fault, complaint
)


GRAM_BUCKETS = 4096
_SPACES = re.compile(r"\s+")


def char_grams(text: str, buckets: int = GRAM_BUCKETS) -> np.ndarray:
    """The text's character 1-3-grams (lower-cased, spaces folded, word edges marked by a space), hashed into
    ``buckets`` by CRC-32 (the same in every process, unlike ``hash``); square-rooted counts, unit length."""
    padded = f" {_SPACES.sub(' ', text.lower()).strip()} "
    vector = np.zeros(buckets, dtype=np.float32)
    for n in (1, 2, 3):
        for i in range(len(padded) - n + 1):
            gram = padded[i : i + n]
            if not gram.isspace():
                vector[zlib.crc32(gram.encode()) % buckets] += 1
    vector = np.sqrt(vector)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


@dataclass(frozen=True, slots=True)
class IntentInput:
    last: str
    cues: np.ndarray  # float32, one value per name in CUES
    brands: tuple[str, ...]  # the brand-like names in the last message, for the reason
    grams: np.ndarray  # float32, the last message's hashed character n-grams (``char_grams``)


class IntentFeaturizer:
    def __init__(self, brands: TermLexicon, categories: TermLexicon, kinds: TermLexicon | None = None) -> None:
        self.brands = brands
        self.categories = categories
        self.kinds = kinds or product_kind_lexicon()

    def names_product(self, text: str) -> bool:
        return bool(self.categories.find(text) or self.kinds.find(text))

    def read(self, messages: Sequence[Message]) -> IntentInput:
        last_index = max(i for i, m in enumerate(messages) if m.role == "user")
        last = messages[last_index].content
        before = messages[:last_index]
        bot_turns = [m.content for m in before if m.role == "assistant"]
        last_bot = bot_turns[-1] if bot_turns else ""
        bot_text = " ".join(bot_turns).lower()
        names = tuple(m.surface for m in brand_like(last, self.brands))
        from_bot = any(name.lower() in bot_text for name in names)
        product, query = self.names_product(last), query_like(last)
        values = {
            "user_brand": bool(names),
            "brand_from_bot": from_bot,
            "brand_new": bool(names) and not from_bot,
            "bot_named_products": bool(last_bot) and bool(brand_like(last_bot, self.brands)),
            "category": bool(self.categories.find(last)),
            "category_before": any(self.categories.find(m.content) for m in before if m.role == "user"),
            "decided": bool(DECIDED.search(last)),
            "budget": bool(BUDGET.search(last)),
            "bot_asks_place": bool(BOT_ASKS_PLACE.search(last_bot)),
            "bot_asks_need": bool(BOT_ASKS_NEED.search(last_bot)),
            "multi_turn": bool(before),
            "product_kind": product,
            "product_kind_before": any(self.names_product(m.content) for m in before if m.role == "user"),
            "product_query": product and query,
            "query": query,
            "after_sales": bool(AFTER_SALES.search(last)),
        }
        return IntentInput(last, np.array([values[c] for c in CUES], dtype=np.float32), names, char_grams(last))
