"""The local extraction engine: a dialog becomes the arguments of ``get_recommds_by_sku``.

- category: the taxonomy's names and synonyms in the user's turns (the last one named wins); when none
  is named, the nearest category by sentence embedding, above a similarity floor; then a product the bot
  proposed.
- brand: the brand lexicon (taxonomy + catalog) and brand-shaped names, with the model that follows
  ("Dyson V15"); a known brand in the catalog's spelling ("联想" -> "Lenovo", what the recommender filters
  on), any other name as the user wrote it; the user's "or" between two brands is kept.
- attributes: ``slots`` per message; ``use`` from the scene (aim, else where/when).
- constraints: the same needs read as values (``constraints``): price range in the catalog's currency, brands
  asked for and excluded ("not Apple", "除了小米"), measured attributes ("for 4 people") and named values.
Later turns override earlier ones; a switch to another category drops what was said about the old one. A kind
named as a feature of the current one ("camera quality" in a phone dialog) is no switch.

``read`` also gives the last message's ``TurnReading``: what it alone adds, read in the context of the dialog
(its kind, wishes, constraints, a move from what was shown, a reference to one of them), which the router merges
into the session's dialog state.
The learned cues and the category prototypes are built offline, in ``training.train_extraction``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from shared.embeddings import USE_DIM as DIM
from shared.engines.brands import general_brand_terms
from shared.engines.constraints import Currencies, merge, read_attributes, read_price
from shared.engines.encoder import SentenceEncoder, shared_encoder
from shared.engines.intent import IntentModel
from shared.engines.moves import read_ordinal, read_relative
from shared.engines.patterns import DECIDED, NOT_NAMES, brand_like
from shared.engines.product_kinds import product_kind_lexicon, query_like
from shared.engines.scene import extract_scene
from shared.engines.slots import CueBook, attribute_values
from shared.engines.terms import (
    AMBIGUOUS_BRAND_ALIASES,
    CATALOG_FILE,
    NOT_A_BRAND_NEARBY,
    Mention,
    TermLexicon,
    brand_categories,
    brand_terms,
    category_terms,
    taxonomy_brand_terms,
)
from shared.schemas import NON_SHOPPING_INTENTS, BrandConstraint, Constraints, FunctionCall, Message, TurnReading
from shared.settings import get_settings
from shared.taxonomy import DEFAULT_PATH as TAXONOMY_FILE
from shared.taxonomy import Category, Taxonomy, load_taxonomy
from shared.vocabulary import SOURCE as VOCABULARY_FILE
from shared.vocabulary import Vocabulary, open_taxonomy, sample_vocabulary

_HERE = Path(__file__).parent
# What a dialog is read with: cues and prototypes built against other versions of these mean nothing.
SOURCES = (
    TAXONOMY_FILE,
    CATALOG_FILE,
    VOCABULARY_FILE,
    *(
        _HERE / f"{m}.py"
        for m in ("extraction", "slots", "scene", "patterns", "terms", "encoder", "constraints", "moves", "product_kinds", "brands")
    ),
)
# Cosine floor for the embedding fallback; below it the dialog names no product we sell.
SIMILARITY_FLOOR = 0.45
_MODEL_TAIL = re.compile(r"(?:\s*(?:[A-Za-z]{0,4}-?\d[\w-]*|Pro\+?|Max|Ultra|Air|Mini|Plus|Lite|SE|OLED))+")
_NAME_TAIL = re.compile(r"(?:\s+[A-Z][\w'-]*|\s+\d[\w-]*)+")
_SWITCH = re.compile(r"不买了|算了|改主意|换成|还是买|instead|actually|forget|no wait|scratch that|rather", re.I)
_OR = re.compile(r"\b(?:or|vs\.?)\b|或者?|还是", re.I)
# A kind the user asks for, not a feature of the current one: "a camera", "buy a camera", "推荐相机".
_WANT_BEFORE = re.compile(
    r"(?:\b(?:a|an|new|another|buy|get|want|need|recommend|looking for|about|some)|买|要|推荐|换|看看|一[款个台部只])\W{0,2}$",
    re.I,
)
# Words around a brand that exclude it: "not Apple", "no Sony", "anything but Samsung", "不要苹果", "除了小米".
_EXCLUDE_BEFORE = re.compile(
    r"(?:\bnot?|\bnothing from|\bdon'?t (?:want|like|need)|\bexcept(?: for)?|\bother than|\banything but|\bavoid|"
    r"\bwithout|\bbesides|\bhate|\bno more|不要|不想要|不用|不买|别|除了|不考虑|不喜欢|排除|非)"
    r"\W{0,2}(?:(?:a|an|any|the)\s+)?(?:买|选|推荐|要)?$",
    re.I,
)
# Words before a product that make it what the wanted one goes with, not the wanted one: "a case for my iPhone",
# "fits an iphone 14", "适用于华为".
_FOR_BEFORE = re.compile(
    r"(?:\bfits?(?: for)?|\bcompatible with|\bworks with|\bto go with|适用于?|适配|兼容)\W{0,2}(?:(?:an?|my|the|your|our)\s+)?$",
    re.I,
)
# "a case for my iPhone": "for" after a kind of product, before the product it goes with.
_FOR_AFTER_KIND = re.compile(r"\bfor\W{0,2}(?:(?:an?|my|the|your|our)\s+)?$", re.I)
# A guide's message saying the shop does not have a brand: the user's earlier wish for it no longer stands.
_NOT_SOLD = re.compile(
    r"\b(?:don'?t|doesn'?t|do not|does not|no longer|not)\s+(?:sell|carry|have|stock|offer)\b|out of stock|"
    r"不卖|没有卖|没(?:有)?(?:这个|该)?品牌|没(?:有)?货|缺货|下架",
    re.I,
)
_SPACE = re.compile(r"\s+")


def _folded(text: str) -> str:
    return _SPACE.sub("", text).casefold()


# A book's author stands where a brand would ("a book by Stephen King", "she loves Agatha Christie"): two or three
# capitalised words, in a dialog about books.
_BOOKS = re.compile(r"\b(?:books?|novels?|authors?|writers?|paperbacks?|hardcovers?|read(?:ing)?)\b|书|小说|作者", re.I)
_PERSON = re.compile(r"(?<![.!?]\s)(?<=\s)([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b")
# A message that calls the purchase off and names nothing new: no call ("那我不要了", "never mind").
_CANCEL = re.compile(r"不要了|不买了|算了|不需要了|\bnever ?mind\b|\bforget it\b|\bno thanks\b", re.I)
# Words around a kind of product that are no part of its name: "I need new ice skates" asks for "ice skates".
_KIND_STOP = frozenset(
    "a an the some any new good nice cheap best my our your for of to and or with i we you need want buy get "
    "looking look find recommend about like some pair set".split()
)
# How much of a message the call keeps as its query when it names no kind of product at all.
MAX_QUERY_CHARS = 60
_LIST = re.compile(r"\s*(?:,|，|、|/|or|and|nor|和|或者?|跟|与)?\s*", re.I)
_EXCLUDE_AFTER = re.compile(r"^\W{0,2}的?\W{0,2}(?:就?不要了?|就算了|不考虑|免了|不行|\bis out\b|\bare out\b)", re.I)


@dataclass(frozen=True, slots=True)
class Named:
    """A brand as a message names it: where, in the call's words, and as the catalog files it."""

    start: int
    end: int
    words: str
    brand: str


class ExtractionModel:
    def __init__(
        self,
        taxonomy: Taxonomy,
        cues: dict[str, dict[str, list[str]]],
        prototypes: np.ndarray,
        encoder: SentenceEncoder,
        currencies: Currencies | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.cues = cues
        self.prototypes = prototypes  # (n_categories, 512), rows in taxonomy order
        self.encoder = encoder
        self.vocabulary = vocabulary or sample_vocabulary()
        self.category_ids = tuple(taxonomy.categories)
        self.categories = TermLexicon(category_terms(taxonomy))
        self.brands = TermLexicon(brand_terms(taxonomy, vocabulary=self.vocabulary))
        # Brand names and aliases proper (not series or model codes) -> the catalog's spelling.
        proper = {**general_brand_terms(), **taxonomy_brand_terms(taxonomy)}
        self.brand_names = {term.lower(): brand for term, brand in proper.items()}
        self.brand_categories = brand_categories(taxonomy, self.vocabulary)
        # Every brand's names (canonical and aliases, lower-cased), by each of them: what an LLM's brand is checked by.
        groups: dict[str, set[str]] = {}
        for category in taxonomy.categories.values():
            for brand in category.brands:
                groups.setdefault(brand.lower(), set()).add(brand.lower())
            for alias, brand in category.brand_aliases.items():
                groups.setdefault(brand.lower(), set()).update({brand.lower(), alias.lower()})
        self.brand_groups = {name: group for group in groups.values() for name in group}
        self.books = {cid: CueBook.of(c, cues.get(cid, {})) for cid, c in taxonomy.categories.items()}
        self.currencies = currencies or Currencies.of(get_settings())
        self.kinds = product_kind_lexicon()
        # The last words of the carried kinds' names ("shoes" of "running shoes"), and the Chinese names.
        self._heads = {t.rsplit(" ", 1)[-1] for t in self.categories.terms if t.isascii() and " " in t}
        self._cjk_category_terms = [t for t in self.categories.terms if not t.isascii()]

    def for_vocabulary(self, vocabulary: Vocabulary, enrichment: Taxonomy | None = None) -> ExtractionModel:
        """This engine over another catalog's vocabulary: its categories (the taxonomy file enriching those it
        knows), brands and values. A category the artefact has a prototype for keeps it; another one gets the mean
        embedding of its names (a few encodings, once per vocabulary version)."""
        taxonomy = open_taxonomy(vocabulary, enrichment)
        rows = dict(zip(self.category_ids, self.prototypes, strict=True))
        new = [c for cid, c in taxonomy.categories.items() if cid not in rows]
        rows.update(zip((c.id for c in new), category_prototypes(new, self.encoder), strict=True))
        prototypes = np.stack([rows[cid] for cid in taxonomy.categories]) if rows else self.prototypes[:0]
        return ExtractionModel(taxonomy, self.cues, prototypes, self.encoder, self.currencies, vocabulary)

    def extract(self, messages: Sequence[Message]) -> FunctionCall | None:
        return self.read(messages)[0]

    def read(self, messages: Sequence[Message]) -> tuple[FunctionCall | None, TurnReading]:
        """The dialog's call, and the last user message's reading in its context."""
        user_turns = [m.content for m in messages if m.role == "user"]
        last = user_turns[-1] if user_turns else ""
        named = self._named_categories(user_turns)
        # A kind the catalog does not carry, asked for since the last turn that named one it carries, is no request
        # for a kind it does carry ("a gimbal" ... "one that fits an iPhone 14").
        for index in range(len(user_turns) - 1, -1, -1):
            if named[index] or (index < len(user_turns) - 1 and _CANCEL.search(last)):
                break
            if wanted := self.uncarried_kind(user_turns[index], current=any(named[:index])):
                return self.open_read(messages, wanted)
        category = (
            next((c for c in reversed(named) if c), None)
            or self._brand_category(user_turns)
            or self._nearest_category(user_turns)
        )
        if category is None:
            category = self._named_category(next((m.content for m in reversed(messages) if m.role == "assistant"), ""))
        if category is None:
            return None, TurnReading(relative=read_relative(last, None), ordinal=read_ordinal(last))
        # The segment about this category starts after the last turn that named another one.
        start = max((i + 1 for i, c in enumerate(named) if c and c != category), default=0)
        segment = user_turns[start:]
        product_terms = [m.surface for turn in segment for m in self.categories.find(turn) if m.value == category]
        readings = [self._read_turn(turn, category, product_terms) for turn in segment]
        # A brand the guide has since said the shop does not sell is no wish any more (the user moved on).
        user_at = [i for i, m in enumerate(messages) if m.role == "user"][start:]
        readings = [self._without_denied(r, messages[at + 1 :]) for r, at in zip(readings, user_at, strict=True)]
        arguments: dict[str, str] = {"category": category}
        constraints = Constraints()
        for reading in readings:  # later turns override earlier ones
            arguments.update(reading.arguments)
            constraints = merge(constraints, reading.constraints)
        scene = extract_scene([Message.model_construct(role="user", content=t) for t in segment], "intended shopping")
        if use := scene.aim or scene.scene:
            arguments.setdefault("use", use)
        call = FunctionCall(arguments=arguments, constraints=constraints or None)
        turn = readings[-1] if readings else TurnReading()
        return call, turn.model_copy(update={"category": category, "named": bool(named and named[-1])})

    def uncarried_kind(self, text: str, current: bool = False) -> str | None:
        """The kind of product ``text`` asks for when the catalog does not carry it ("ice skates", "狗粮"), in the
        user's words, or None. In a dialog already about a kind, only a kind asked for ("I need a leash", "要买狗粮")
        or a message that is a search query on its own counts: "how's the processor?" asks about the laptop."""
        carried = [(m.start, m.end) for m in self.categories.find(text)]
        kinds = [m for m in self.kinds.find(text) if not any(a < m.end and m.start < b for a, b in carried)]
        if any(self._broader(m.surface) for m in kinds):  # "想买个睡袋": the catalog may carry what is meant
            return None
        for mention in reversed(kinds):
            if current and not (_WANT_BEFORE.search(text[: mention.start]) or query_like(text)):
                continue
            return self._kind_words(text, mention)
        return None

    def _goes_with(self, text: str, start: int) -> bool:
        """Whether what starts at ``start`` is what the wanted product goes with, not the wanted product: "fits an
        iPhone 14", "适配华为", "a case for my iPhone" (but "looking for a phone" wants the phone)."""
        before = text[:start]
        if _FOR_BEFORE.search(before):
            return True
        found = _FOR_AFTER_KIND.search(before)
        return found is not None and bool(self.kinds.find(before[: found.start()]))

    def _broader(self, kind: str) -> bool:
        """Whether a kind is the head of a kind the catalog carries ("shoes" of "running shoes", "鞋" of "跑鞋"): the
        catalog may well carry what is meant, so it is read as before (named, by brand, by embedding)."""
        if not kind.isascii():
            return any(t.endswith(kind) and t != kind for t in self._cjk_category_terms)
        lowered = kind.lower()
        return bool({lowered, lowered.removesuffix("s"), lowered.removesuffix("es")} & self._heads)

    @staticmethod
    def _kind_words(text: str, mention: Mention) -> str:
        """The kind as the user named it, with the words before it that narrow it ("ice skates", "dog food")."""
        if not mention.surface.isascii():
            return mention.surface
        words = text[: mention.start].split()
        kept: list[str] = []
        for word in reversed(words[-2:]):
            bare = word.strip(".,!?;:()\"'").lower()
            if not bare.isalpha() or bare in _KIND_STOP or word[-1:] in ",.!?;:":
                break
            kept.insert(0, bare)
        return " ".join([*kept, mention.surface.lower()])

    def open_read(
        self, messages: Sequence[Message], query: str | None = None
    ) -> tuple[FunctionCall | None, TurnReading]:
        """The call for something the catalog has no category for: no category, the user's words as ``query``
        (the kind when one is named, else the message), and what the message says as values (price, brands).
        Without a kind of product, a brand or a search query in the message ("我在找找", "I need some help") there is
        nothing to search for: no call."""
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        include, exclude = self._brands(last, None, None)
        if not include and _BOOKS.search(" ".join(m.content for m in messages if m.role == "user")):
            include = self._authors(last)
        if _CANCEL.search(last) and not query and not self.kinds.find(last):
            return None, TurnReading()
        shown = next((m.content for m in reversed(messages) if m.role == "assistant"), "")
        # "好的，我买一个": the kind the guide just talked about.
        query = query or self.uncarried_kind(last) or (self.uncarried_kind(shown) if DECIDED.search(last) else None)
        if query is None and (include or exclude or query_like(last)):
            query = " ".join(last.split())[:MAX_QUERY_CHARS]
        if query is None:
            return None, TurnReading(relative=read_relative(last, None), ordinal=read_ordinal(last))
        arguments = {"query": query}
        if include:
            arguments["brand"] = self._brand_words(last, include)
        brands = BrandConstraint(
            include=list(dict.fromkeys(n.brand for n in include)), exclude=list(dict.fromkeys(n.brand for n in exclude))
        )
        constraints = Constraints(
            price=read_price(last, self.currencies), brands=brands if brands.include or brands.exclude else None
        )
        call = FunctionCall(arguments=arguments, constraints=constraints or None)
        reading = TurnReading(
            arguments=dict(arguments), constraints=constraints, query=query, ordinal=read_ordinal(last)
        )
        return call, reading

    @staticmethod
    def _without_denied(reading: TurnReading, after: Sequence[Message]) -> TurnReading:
        """``reading`` less the brands a later guide message says the shop does not sell ("we don't sell iPhones")."""
        brands = reading.constraints.brands
        words = reading.arguments.get("brand", "")
        if not words:
            return reading
        denials = [_folded(m.content) for m in after if m.role == "assistant" and _NOT_SOLD.search(m.content)]
        if not any(_folded(words.split()[0]) in d or (brands and any(_folded(b) in d for b in brands.include))
                   for d in denials):
            return reading
        arguments = {k: v for k, v in reading.arguments.items() if k != "brand"}
        kept = brands.model_copy(update={"include": []}) if brands else None
        constraints = reading.constraints.model_copy(update={"brands": kept if kept and kept.exclude else None})
        return reading.model_copy(update={"arguments": arguments, "constraints": constraints})

    @staticmethod
    def _authors(text: str) -> list[Named]:
        """Authors named in a message about books, as the brand they stand for."""
        found = []
        for match in _PERSON.finditer(text):
            name = match.group(1)
            if name.split()[0].lower() not in NOT_NAMES:
                found.append(Named(match.start(1), match.end(1), name, name))
        return found

    def _read_turn(self, text: str, category: str, product_terms: Sequence[str]) -> TurnReading:
        """One user message about ``category``: its wishes in words, and the same read as values."""
        book = self.books[category]
        kind = self.taxonomy[category]
        arguments = attribute_values(text, book, product_terms)
        include, exclude = self._brands(text, book, category)
        if include:
            arguments["brand"] = self._brand_words(text, include)
        scene = extract_scene([Message.model_construct(role="user", content=text)], "intended shopping")
        if use := scene.aim or scene.scene:
            arguments.setdefault("use", use)
        brands = BrandConstraint(
            include=list(dict.fromkeys(n.brand for n in include)), exclude=list(dict.fromkeys(n.brand for n in exclude))
        )
        constraints = Constraints(
            price=read_price(text, self.currencies),
            brands=brands if brands.include or brands.exclude else None,
            attributes=read_attributes(text, kind, book.key_for),
        )
        # "不要太贵，两三百的": a message that states its price moves to it, not past what was shown.
        relative = [r for r in read_relative(text, kind) if not (r.key == "price" and constraints.price)]
        return TurnReading(
            arguments=arguments,
            constraints=constraints,
            relative=relative,
            ordinal=read_ordinal(text),
        )

    def _named_category(self, text: str) -> str | None:
        mentions = self.categories.find(text)
        return mentions[-1].value if mentions else None

    def _named_categories(self, user_turns: Sequence[str]) -> list[str | None]:
        """The product each turn is about. A turn may name others as features ("a phone with a good camera"):
        the product already under discussion stays unless the user switches ("算了", "actually")."""
        named: list[str | None] = []
        current: str | None = None
        for turn in user_turns:
            ids = [
                m.value
                for m in self.categories.find(turn)
                if not self._feature_of(current, turn, m) and not self._goes_with(turn, m.start)
            ]
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

    def _feature_of(self, current: str | None, turn: str, mention: Mention) -> bool:
        """Whether a kind named in ``turn`` is a feature of the current kind ("camera quality matters" in a phone
        dialog): it names one of its attributes, and the user neither asks for it ("a camera") nor switches."""
        if current is None or mention.value == current or _SWITCH.search(turn):
            return False
        names = {
            name.lower()
            for attribute in self.taxonomy[current].attributes
            for name in (attribute.key, attribute.zh, attribute.en)
            if name
        }
        return mention.surface.lower().rstrip("s") in names and not _WANT_BEFORE.search(turn[: mention.start])

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
                *(
                    self.brand_categories.get(m.value, set())
                    for m in self.brands.find(user_turns[index])
                    if m.surface not in AMBIGUOUS_BRAND_ALIASES  # 苹果 alone names no kind: it may be the fruit
                )
            )
            if sold:
                return next(iter(sold)) if len(sold) == 1 else self._nearest_category(user_turns[: index + 1], sold)
        return None

    def _brands(self, text: str, book: CueBook | None, category: str | None) -> tuple[list[Named], list[Named]]:
        """The brands a message asks for and those it excludes ("not Apple", "除了小米"): each as the call's words
        (a known brand in the catalog's spelling, "联想" -> "Lenovo", with the model the user added, "Dyson V15"; a
        series or an unknown name as written, "iPad Air") and as the brand the catalog files it under."""
        include: list[Named] = []
        exclude: list[Named] = []
        end = 0
        for mention in brand_like(text, self.brands):
            if mention.start < end or not self._is_brand(mention, book, text, category):
                continue
            if self._goes_with(text, mention.start):  # "a case for my iPhone": what it goes with
                continue
            with_model = self._with_model(text, mention)
            end = with_model.end
            named = Named(with_model.start, with_model.end, self._spelling(with_model), mention.value)
            before, after = text[max(0, mention.start - 16) : mention.start], text[end : end + 8]
            # "anything but Sony or Bose", "除了小米和华为": a list that follows an exclusion is excluded whole.
            listed = bool(exclude) and _LIST.fullmatch(text[exclude[-1].end : mention.start]) is not None
            excluded = listed or _EXCLUDE_BEFORE.search(before) or _EXCLUDE_AFTER.match(after)
            (exclude if excluded else include).append(named)
        return include, exclude

    @staticmethod
    def _brand_words(text: str, names: Sequence[Named]) -> str:
        """The brands asked for as the call's words: the user's "or" is kept, else "and"."""
        value = names[0].words
        for previous, mention in pairwise(names):
            value += (" or " if _OR.search(text[previous.end : mention.start]) else " and ") + mention.words
        return value

    def _spelling(self, mention: Mention) -> str:
        """``mention.value`` is the name as matched, ``surface`` the name with its model."""
        if canonical := self.brand_names.get(mention.value.lower()):
            return f"{canonical}{mention.surface[len(mention.value) :]}".strip()
        return mention.surface

    def _is_brand(self, mention: Mention, book: CueBook | None, text: str, category: str | None) -> bool:
        # 苹果 and 小米 name the brand only in a dialog about a kind the brand sells, and never beside food words.
        if mention.surface in AMBIGUOUS_BRAND_ALIASES:
            sold = self.brand_categories.get(mention.value, set())
            return category in sold and not NOT_A_BRAND_NEARBY.search(text)
        # A product type that is also a series name ("iPad") is a brand only when the lexicon says so;
        # a name that is an attribute value of the category ("Ryzen", "OLED") is no brand.
        if mention.surface in self.brands:
            return True
        return (
            mention.surface not in self.categories
            and mention.surface not in self.kinds
            and not (book is not None and book.names_value(mention.surface))
        )

    @staticmethod
    def _with_model(text: str, mention: Mention) -> Mention:
        """The name extended by the model the user gave after it ("Dyson V15", "Hoka Clifton 9"); ``value``
        keeps the name alone."""
        tail = _MODEL_TAIL.match(text, mention.end)
        if mention.surface.isascii() and (name := _NAME_TAIL.match(text, mention.end)):
            tail = name if not tail or name.end() > tail.end() else tail
        end = tail.end() if tail else mention.end
        return Mention(mention.start, end, text[mention.start : end].strip(), mention.surface)


def category_prototypes(categories: Sequence[Category], encoder: SentenceEncoder) -> np.ndarray:
    """Each category's mean embedding over its names and synonyms in both languages, L2-normalised."""
    rows = []
    for category in categories:
        names = [n for n in (category.name_en, category.name_zh, *category.synonyms_en, *category.synonyms_zh) if n]
        mean = encoder.encode(names).mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, DIM), np.float32)


def from_arrays(arrays: Mapping[str, np.ndarray]) -> ExtractionModel:
    """The engine an artefact's arrays describe: cues as "category<TAB>key<TAB>value" rows, and prototypes."""
    cues: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in arrays["cues"]:
        category, key, value = str(row).split("\t", 2)
        cues[category][key].append(value)
    return ExtractionModel(load_taxonomy(), cues, arrays["prototypes"], shared_encoder())


def gated_call(messages: Sequence[Message], intent: IntentModel, model: ExtractionModel) -> FunctionCall | None:
    """No call when the last turn is chit-chat or browsing, else the call."""
    return gated_read(messages, intent, model)[0]


def gated_read(
    messages: Sequence[Message], intent: IntentModel, model: ExtractionModel
) -> tuple[FunctionCall | None, TurnReading]:
    """The call (none when the last turn is chit-chat or browsing) and the last message's reading, which is given
    either way: "cheaper" alone reads as browsing, but in a running dialog it moves from what was shown. A shopping
    message about nothing the catalog has a category for still gets its call: no category, the user's words as its
    query (``open_read``), so that the guide can say honestly that the shop does not carry it."""
    call, reading = model.read(messages)
    if intent.predict(messages).label in NON_SHOPPING_INTENTS:
        return None, reading
    if call is None:
        return model.open_read(messages)
    return call, reading
