"""The local extraction engine: a dialog becomes the arguments of ``get_recommds_by_sku``.

- category: the taxonomy's names and synonyms in the user's turns (the last one named wins); when none
  is named, the nearest category by sentence embedding, above a similarity floor; then a product the bot
  proposed.
- brand: the brand lexicon (taxonomy + catalog) and brand-shaped names, with the model that follows
  ("Dyson V15"); a known brand in the catalog's spelling ("联想" -> "Lenovo", what the recommender filters
  on), any other name as the user wrote it; the user's "or" between two brands is kept.
- attributes: ``slots`` per message; ``use`` from the scene (aim, else where/when).
Later turns override earlier ones; a switch to another category drops what was said about the old one.
The learned cues and the category prototypes are built offline, in ``training.train_extraction``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from shared.engines.encoder import SentenceEncoder, shared_encoder
from shared.engines.intent import IntentModel
from shared.engines.patterns import brand_like
from shared.engines.scene import extract_scene
from shared.engines.slots import CueBook, attribute_values
from shared.engines.terms import (
    CATALOG_FILE,
    Mention,
    TermLexicon,
    brand_categories,
    brand_terms,
    category_terms,
    taxonomy_brand_terms,
)
from shared.schemas import NON_SHOPPING_INTENTS, FunctionCall, Message
from shared.taxonomy import DEFAULT_PATH as TAXONOMY_FILE
from shared.taxonomy import Taxonomy, load_taxonomy

_HERE = Path(__file__).parent
# What a dialog is read with: cues and prototypes built against other versions of these mean nothing.
SOURCES = (
    TAXONOMY_FILE,
    CATALOG_FILE,
    *(_HERE / f"{m}.py" for m in ("extraction", "slots", "scene", "patterns", "terms", "encoder")),
)
# Cosine floor for the embedding fallback; below it the dialog names no product we sell.
SIMILARITY_FLOOR = 0.45
_MODEL_TAIL = re.compile(r"(?:\s*(?:[A-Za-z]{0,4}-?\d[\w-]*|Pro\+?|Max|Ultra|Air|Mini|Plus|Lite|SE|OLED))+")
_NAME_TAIL = re.compile(r"(?:\s+[A-Z][\w'-]*|\s+\d[\w-]*)+")
_SWITCH = re.compile(r"不买了|算了|改主意|换成|还是买|instead|actually|forget|no wait|scratch that|rather", re.I)
_OR = re.compile(r"\b(?:or|vs\.?)\b|或者?|还是", re.I)


class ExtractionModel:
    def __init__(
        self,
        taxonomy: Taxonomy,
        cues: dict[str, dict[str, list[str]]],
        prototypes: np.ndarray,
        encoder: SentenceEncoder,
    ) -> None:
        self.taxonomy = taxonomy
        self.cues = cues
        self.prototypes = prototypes  # (n_categories, 512), rows in taxonomy order
        self.encoder = encoder
        self.category_ids = tuple(taxonomy.categories)
        self.categories = TermLexicon(category_terms(taxonomy))
        self.brands = TermLexicon(brand_terms(taxonomy))
        # Brand names and aliases proper (not series or model codes) -> the catalog's spelling.
        self.brand_names = {term.lower(): brand for term, brand in taxonomy_brand_terms(taxonomy).items()}
        self.brand_categories = brand_categories(taxonomy)
        self.books = {cid: CueBook.of(c, cues.get(cid, {})) for cid, c in taxonomy.categories.items()}

    def extract(self, messages: Sequence[Message]) -> FunctionCall | None:
        user_turns = [m.content for m in messages if m.role == "user"]
        named = self._named_categories(user_turns)
        category = (
            next((c for c in reversed(named) if c), None)
            or self._brand_category(user_turns)
            or self._nearest_category(user_turns)
        )
        if category is None:
            category = self._named_category(next((m.content for m in reversed(messages) if m.role == "assistant"), ""))
        if category is None:
            return None
        # The segment about this category starts after the last turn that named another one.
        start = max((i + 1 for i, c in enumerate(named) if c and c != category), default=0)
        segment = user_turns[start:]
        product_terms = [m.surface for turn in segment for m in self.categories.find(turn) if m.value == category]
        arguments: dict[str, str] = {"category": category}
        for turn in segment:  # later turns override earlier ones
            if brand := self._brand(turn, self.books[category]):
                arguments["brand"] = brand
            arguments.update(attribute_values(turn, self.books[category], product_terms))
        scene = extract_scene([Message.model_construct(role="user", content=t) for t in segment], "intended shopping")
        if use := scene.aim or scene.scene:
            arguments.setdefault("use", use)
        return FunctionCall(arguments=arguments)

    def _named_category(self, text: str) -> str | None:
        mentions = self.categories.find(text)
        return mentions[-1].value if mentions else None

    def _named_categories(self, user_turns: Sequence[str]) -> list[str | None]:
        """The product each turn is about. A turn may name others as features ("a phone with a good camera"):
        the product already under discussion stays unless the user switches ("算了", "actually")."""
        named: list[str | None] = []
        current: str | None = None
        for turn in user_turns:
            ids = [m.value for m in self.categories.find(turn)]
            if not ids:
                named.append(None)
                continue
            if current in ids and not _SWITCH.search(turn):
                chosen = current
            elif current is None:
                chosen = ids[0]
            else:
                chosen = next(c for c in reversed(ids) if c != current) if set(ids) - {current} else current
            named.append(chosen)
            current = chosen
        return named

    def _nearest_category(self, user_turns: Sequence[str], among: set[str] | None = None) -> str | None:
        """By embedding: the nearest of ``among`` (no floor), or of all categories above the floor."""
        for turn in reversed(user_turns):
            similarity = self.prototypes @ self.encoder.encode_one(turn)
            if among is not None:
                allowed = [i for i, cid in enumerate(self.category_ids) if cid in among]
                return self.category_ids[max(allowed, key=lambda i: similarity[i])] if allowed else None
            if similarity.max() >= SIMILARITY_FLOOR:
                return self.category_ids[int(similarity.argmax())]
        return None

    def _brand_category(self, user_turns: Sequence[str]) -> str | None:
        """A known brand with no product named ("any Dyson V15?", "vivo吧") stands for the categories it sells."""
        for index in range(len(user_turns) - 1, -1, -1):
            sold = set().union(
                *(self.brand_categories.get(m.value, set()) for m in self.brands.find(user_turns[index]))
            )
            if sold:
                return next(iter(sold)) if len(sold) == 1 else self._nearest_category(user_turns[: index + 1], sold)
        return None

    def _brand(self, text: str, book: CueBook) -> str | None:
        """The brands a message names. A known brand is given as the catalog spells it, since the recommender
        filters on that ("联想" -> "Lenovo"), with the model the user added ("Dyson V15"); a series or an
        unknown name stays as written ("iPad Air", "Nectar"). The user's "or" is kept, else "and"."""
        names: list[Mention] = []
        for mention in brand_like(text, self.brands):
            if self._is_brand(mention, book) and (not names or mention.start >= names[-1].end):
                names.append(self._with_model(text, mention))
        if not names:
            return None
        value = self._spelling(names[0])
        for previous, mention in pairwise(names):
            value += (" or " if _OR.search(text[previous.end : mention.start]) else " and ") + self._spelling(mention)
        return value

    def _spelling(self, mention: Mention) -> str:
        """``mention.value`` is the name as matched, ``surface`` the name with its model."""
        if canonical := self.brand_names.get(mention.value.lower()):
            return f"{canonical}{mention.surface[len(mention.value) :]}".strip()
        return mention.surface

    def _is_brand(self, mention: Mention, book: CueBook) -> bool:
        # A product type that is also a series name ("iPad") is a brand only when the lexicon says so;
        # a name that is an attribute value of the category ("Ryzen", "OLED") is no brand.
        if mention.surface in self.brands:
            return True
        return mention.surface not in self.categories and not book.names_value(mention.surface)

    @staticmethod
    def _with_model(text: str, mention: Mention) -> Mention:
        """The name extended by the model the user gave after it ("Dyson V15", "Hoka Clifton 9"); ``value``
        keeps the name alone."""
        tail = _MODEL_TAIL.match(text, mention.end)
        if mention.surface.isascii() and (name := _NAME_TAIL.match(text, mention.end)):
            tail = name if not tail or name.end() > tail.end() else tail
        end = tail.end() if tail else mention.end
        return Mention(mention.start, end, text[mention.start : end].strip(), mention.surface)


def from_arrays(arrays: Mapping[str, np.ndarray]) -> ExtractionModel:
    """The engine an artefact's arrays describe: cues as "category<TAB>key<TAB>value" rows, and prototypes."""
    cues: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in arrays["cues"]:
        category, key, value = str(row).split("\t", 2)
        cues[category][key].append(value)
    return ExtractionModel(load_taxonomy(), cues, arrays["prototypes"], shared_encoder())


def gated_call(messages: Sequence[Message], intent: IntentModel, model: ExtractionModel) -> FunctionCall | None:
    """No call when the last turn is chit-chat or browsing, else the call."""
    if intent.predict(messages).label in NON_SHOPPING_INTENTS:
        return None
    return model.extract(messages)
