"""The slot policy over the category taxonomy: which category the user wants, which of its key attributes
are already known (from the function call's words and constraints, the user's words, or an answered question),
and what to ask next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shared.schemas import FunctionCall, Message, SkuInfo
from shared.taxonomy import Attribute, Category
from shared.taxonomy.index import BUDGET_KEY, TaxonomyIndex

# The category's first attributes (taxonomy order = importance) that the guide asks about, then the budget.
KEY_ATTRIBUTES = 3

# Words too generic to show that the user talked about an attribute.
_QUESTION = re.compile(r"[?？]")
_SENTENCES = re.compile(r"(?<=[。！？!?\n])")
# Words a question uses for an attribute besides its names: the guide asks about "预算", not "价格".
_ALSO_NAMED = {"price": ("预算", "budget", "price range")}


@dataclass(frozen=True, slots=True)
class SlotState:
    category: Category | None
    known: dict[str, str] = field(default_factory=dict)  # attribute key -> value ("" when only talked about)
    missing: tuple[Attribute, ...] = ()  # key attributes still unknown, most important first
    brand: str | None = None

    @property
    def next_question(self) -> Attribute | None:
        return self.missing[0] if self.missing else None


class SlotPolicy:
    """What is known and what to ask next, from the call arguments, the dialog and the products."""

    def __init__(self, index: TaxonomyIndex, key_attributes: int = KEY_ATTRIBUTES) -> None:
        self.index = index
        self.key_attributes = key_attributes

    def state(
        self, messages: Sequence[Message], call: FunctionCall | None = None, products: Sequence[SkuInfo] = ()
    ) -> SlotState:
        args = dict(call.arguments) if call else {}
        user_text = "\n".join(m.content for m in messages if m.role == "user")
        category = (
            self.index.category_named(args.get("category"))
            or self.index.category_in_text(args.get("category", ""))
            or _first(self.index.category_of(p) for p in products)
            or self._category_from_dialog(messages)
        )
        known: dict[str, str] = {}
        attributes = self.index.attributes_of(category)
        for key, value in args.items():
            attr = self.index.attribute(category, key)
            if attr is not None and str(value).strip():
                known[attr.key] = str(value)
        # What the call constrains as values is known, though no words for it came along.
        if constraints := call.constraints if call else None:
            for key in (*constraints.attributes, *((BUDGET_KEY,) if constraints.price else ())):
                if (attr := self.index.attribute(category, key)) is not None:
                    known.setdefault(attr.key, "")
        cues = self.index.cues(category)
        for attr in attributes:
            if attr.key in known:
                continue
            if (mentioned := self.index.mentioned_value(attr, user_text, cues[attr.key])) is not None:
                known[attr.key] = mentioned
        for attr in self._answered_questions(messages, attributes):
            known.setdefault(attr.key, "")
        brand = args.get("brand") or self.index.brand_in_text(category, user_text)
        missing: tuple[Attribute, ...] = ()
        if category is not None:
            wanted = [*category.attributes[: self.key_attributes], *([self.index.budget] if self.index.budget else [])]
            missing = tuple(a for a in wanted if a.key not in known)
        return SlotState(category=category, known=known, missing=missing, brand=brand or None)

    def _category_from_dialog(self, messages: Sequence[Message]) -> Category | None:
        # The latest user message that names a category wins: users change their minds.
        for message in reversed(messages):
            if message.role == "user" and (cat := self.index.category_in_text(message.content)):
                return cat
        return None

    def _answered_questions(self, messages: Sequence[Message], attributes: Iterable[Attribute]) -> list[Attribute]:
        """Attributes the guide asked about and the user answered (perhaps with "no preference")."""
        answered: list[Attribute] = []
        for i, message in enumerate(messages[:-1]):
            if message.role != "assistant" or not _QUESTION.search(message.content):
                continue
            if not any(m.role == "user" for m in messages[i + 1 :]):
                continue
            questions = " ".join(s for s in _SENTENCES.split(message.content) if _QUESTION.search(s)).lower()
            for attr in attributes:
                names = [n.lower() for n in (attr.zh, attr.en, attr.key, *_ALSO_NAMED.get(attr.key, ())) if n]
                if any(n in questions for n in names):
                    answered.append(attr)
        return answered


def _first(items: Iterable[Category | None]) -> Category | None:
    return next((item for item in items if item is not None), None)
