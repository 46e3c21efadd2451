"""What the intent classifiers read from a dialog: the last user message, and cues from the context.

The label belongs to the last user message; the context matters through a few cues the labelling rules name:
whether a brand came from the user or from the bot, whether the bot just asked where the product is for,
whether a product type was named earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.engines.patterns import BOT_ASKS_NEED, BOT_ASKS_PLACE, BUDGET, DECIDED, brand_like
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
)


@dataclass(frozen=True, slots=True)
class IntentInput:
    last: str
    cues: np.ndarray  # float32, one value per name in CUES
    brands: tuple[str, ...]  # the brand-like names in the last message, for the reason


class IntentFeaturizer:
    def __init__(self, brands: TermLexicon, categories: TermLexicon) -> None:
        self.brands = brands
        self.categories = categories

    def read(self, messages: Sequence[Message]) -> IntentInput:
        last_index = max(i for i, m in enumerate(messages) if m.role == "user")
        last = messages[last_index].content
        before = messages[:last_index]
        bot_turns = [m.content for m in before if m.role == "assistant"]
        last_bot = bot_turns[-1] if bot_turns else ""
        bot_text = " ".join(bot_turns).lower()
        names = tuple(m.surface for m in brand_like(last, self.brands))
        from_bot = any(name.lower() in bot_text for name in names)
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
        }
        return IntentInput(last, np.array([values[c] for c in CUES], dtype=np.float32), names)
