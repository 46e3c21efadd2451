"""Copywriting evaluation: automatic checks of the local copywriter on a fixed sample of the sample catalog.

The sample: ``PER_CATEGORY`` products of every category of ``services/catalog/sample_data/products.jsonl``
(the first by a hash of the sku id). Each is written in Chinese and in English, without and with a short
wish dialog built from two of the product's own attributes, at the default bound; the wish cases are
also written at each explicit ``max_length`` of ``EXPLICIT_LENGTHS``. The copywriter runs in-process as
the service runs it with ``engine=local`` (request validated, ``brief`` then ``write``).

Checked on every copy:
- length: within the bound, Chinese in characters and English in words (the service's ``copy_length``);
- language: the copy reads as the language asked for (``shared.text.is_chinese``);
- numbers: no number absent from the input (the product as sent, and the user's words;
  ``shared.lexicon.invented_numbers``, the rule the service holds an LLM's copy to);
- attributes: no value of the category's taxonomy value lists (its own attributes, plus the common
  colour and size) that the product's input lacks in either language; the input is the product as sent
  (name, attributes, intro, reviews, English twins). Price bands and uses are not product attributes and
  are left out;
- wish (wish cases only): the copy names at least one of the wished attributes, by value or by label;
- lead (wish cases only): the first attribute the copy names, its product name aside, is a wished one;
- repeats: no attribute value stated twice (the name, a feature list, the intro and a quoted review
  together: "6.1英寸" in the name and again as 屏幕尺寸6.1英寸 is a repeat), in either language's spelling;
- review (where a review fits): the copy quotes a positive review sentence, when the product has one in
  the copy's language (``shared.lexicon.review_sentences``) and the bound is at least ``REVIEW_ROOM``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.copywriting.engine import LocalCopywriter, copy_length, product_json
from services.copywriting.schemas import DEFAULT_MAX_LENGTH, CopyRequest
from shared.lexicon import invented_numbers, review_sentences
from shared.products import feature_text, reviews_in, value_text
from shared.settings import PROJECT_ROOT
from shared.taxonomy import Attribute, Category, load_taxonomy
from shared.taxonomy.index import TaxonomyIndex
from shared.text import is_chinese
from training.registry import evaluation

PRODUCTS_FILE = PROJECT_ROOT / "services" / "catalog" / "sample_data" / "products.jsonl"
PER_CATEGORY = 3
EXPLICIT_LENGTHS = (20, 40, 80)
COMMON_CHECKED = ("colour", "size")  # common attributes that describe the product itself
CHECKS = ("length", "language", "numbers", "attributes", "wish", "lead", "repeats", "review")
WISH_CHECKS = ("wish", "lead")
# The bound from which a copy has room for a quoted review next to the name and the wished attribute.
REVIEW_ROOM = {"zh": 80, "en": 40}
_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
SHOWN = 5


@dataclass(frozen=True, slots=True)
class Case:
    product: dict[str, Any]
    lang: str
    wish: bool
    max_length: int | None

    @property
    def name(self) -> str:
        bound = self.max_length or "default"
        return f"{self.product['skuId']} {self.lang} {'wish' if self.wish else 'no wish'} max={bound}"


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def load_products(path: Path = PRODUCTS_FILE) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def sample_products(products: Sequence[dict[str, Any]], per_category: int = PER_CATEGORY) -> list[dict[str, Any]]:
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for product in products:
        by_category[product["category"]].append(product)
    return [
        product
        for category in sorted(by_category)
        for product in sorted(by_category[category], key=lambda p: _hash(p["skuId"]))[:per_category]
    ]


def cases_for(products: Sequence[dict[str, Any]]) -> list[Case]:
    cases = []
    for product in products:
        for lang in ("zh", "en"):
            cases += [Case(product, lang, False, None), Case(product, lang, True, None)]
            cases += [Case(product, lang, True, n) for n in EXPLICIT_LENGTHS]
    return cases


# --------------------------------------------------------------------------- the wish dialog
@dataclass(frozen=True, slots=True)
class Wish:
    messages: list[dict[str, str]]
    names: list[list[str]]  # per wished attribute: its value (both languages) and its label


def _wished_keys(product: dict[str, Any], category: Category) -> list[str]:
    keys = [k for k in product["attributes"] if k in category.attribute_keys and value_text(product["attributes"][k])]
    return sorted(keys, key=lambda k: _hash(f"{product['skuId']}/{k}"))[:2]


def wish_dialog(product: dict[str, Any], index: TaxonomyIndex, zh: bool) -> Wish:
    """user: I want a <category>; guide: any requirements?; user: <attribute> <value>[, <attribute> <value>]."""
    category = index.category_named(product["category"])
    assert category is not None, product["category"]
    asked, names = [], []
    for key in _wished_keys(product, category):
        raw = value_text(product["attributes"][key])
        label, value = index.label(category, key, zh), index.localise(category, key, raw, zh)
        asked.append((label, value))
        names.append([raw, index.localise(category, key, raw, not zh), value, label])
    features = [feature_text(label, value, zh) for label, value in asked]  # "匹数1.5匹", "1.5 HP cooling capacity"
    if zh:
        wants = f"要{features[0]}的" + (f"，最好{features[1]}" if len(features) > 1 else "")
        turns = [f"我想买个{category.name_zh}", f"好的，您对{category.name_zh}有什么要求吗？", f"{wants}。"]
    else:
        wants = features[0] + (f", ideally {features[1]}" if len(features) > 1 else "")
        article = "an" if category.name_en[:1].lower() in "aeiou" else "a"
        turns = [f"I want to buy {article} {category.name_en}.", "Sure, anything you need it to have?",
                 f"One with {wants}."]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    return Wish(messages, names)


# --------------------------------------------------------------------------- the checks
def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _value_pattern(value: str) -> re.Pattern[str]:
    """The value as a whole word: "OLED" not inside "AMOLED", "8GB" not inside "128GB", "S" not inside "SPF"."""
    body = r"\s*".join(re.escape(part) for part in value.split())
    return re.compile(rf"(?<![A-Za-z0-9.]){body}(?![A-Za-z0-9])", re.I)


def _checked_attributes(category: Category, index: TaxonomyIndex) -> list[Attribute]:
    return [*category.attributes, *(a for a in index.common if a.key in COMMON_CHECKED)]


def unsupported_values(copy: str, source: str, category: Category, index: TaxonomyIndex) -> list[str]:
    """Taxonomy values named in ``copy`` that ``source`` lacks in both languages."""
    squeezed = _squeeze(source)
    found = []
    for attr in _checked_attributes(category, index):
        pairs: list[tuple[str, ...]]  # the forms of one value: with its translation, or alone
        if len(attr.values_en) == len(attr.values_zh):  # parallel lists: a value and its translation
            pairs = [(en, zh) for en, zh in zip(attr.values_en, attr.values_zh, strict=True)]
        else:
            pairs = [(value,) for value in (*attr.values_en, *attr.values_zh)]
        for forms in pairs:
            named = next((form for form in forms if form and _value_pattern(form).search(copy)), None)
            if named is not None and not any(form and _squeeze(form) in squeezed for form in forms):
                found.append(f"{attr.key}={named}")
    return found


def _spans(copy: str, forms: Sequence[str]) -> list[tuple[int, int]]:
    """Where any spelling of one value occurs in ``copy``, overlapping matches ("OLED屏" / "OLED") merged."""
    found = sorted(
        (m.start(), m.end()) for form in forms if len(_squeeze(form)) >= 2 for m in _value_pattern(form).finditer(copy)
    )
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def value_forms(product: dict[str, Any], category: Category, index: TaxonomyIndex) -> dict[str, list[str]]:
    """Each attribute's value as sent and in both languages' taxonomy spelling."""
    forms = {}
    for key, value in product["attributes"].items():
        raw = value_text(value)
        if raw:
            forms[key] = list(dict.fromkeys(
                [raw, index.localise(category, key, raw, True), index.localise(category, key, raw, False)]
            ))
    return forms


def repeated_values(copy: str, product: dict[str, Any], category: Category, index: TaxonomyIndex) -> list[str]:
    """Attribute values the copy states more than once."""
    return [
        f"{key}={forms[0]} x{len(spans)}"
        for key, forms in value_forms(product, category, index).items()
        if len(spans := _spans(copy, forms)) > 1
    ]


def quotes_a_review(copy: str, product: dict[str, Any]) -> bool:
    reviews = [_squeeze(c["commentContent"]) for c in product.get("skuCommentList", [])]
    for match in _QUOTED.finditer(copy):
        quote = _squeeze((match.group(1) or match.group(2)).rstrip("…."))
        if len(quote) >= 4 and any(quote in review for review in reviews):
            return True
    return False


def has_positive_review(request: CopyRequest, zh: bool) -> bool:
    return bool(review_sentences(reviews_in(request.product, zh)))


def first_named(copy: str, product: dict[str, Any], wish: Wish, category: Category, index: TaxonomyIndex) -> bool:
    """Whether the first attribute the copy names, its product name aside, is a wished one."""
    text = copy
    for name in (product.get("skuName", ""), product.get("skuNameEn", "")):
        for full in sorted({name, f"{product.get('brand', '')} {name}", f"{product.get('brand', '')}{name}"}, key=len,
                           reverse=True):
            if full.strip():
                text = text.replace(full, " " * len(full))
    wished_keys = {key for key in _wished_keys(product, category)}
    first: tuple[int, bool] | None = None
    for key, forms in value_forms(product, category, index).items():
        names = forms + ([index.label(category, key, True), index.label(category, key, False)] if key in wished_keys
                         else [])
        for start, _ in _spans(text, names)[:1]:
            if first is None or start < first[0]:
                first = (start, key in wished_keys)
    return first is not None and first[1]


def _mentions(copy: str, names: Sequence[str]) -> bool:
    squeezed = _squeeze(copy)
    return any(len(_squeeze(name)) >= 2 and _squeeze(name) in squeezed for name in names)


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    copy: str
    length: int
    bound: int
    problems: dict[str, str]  # check -> what is wrong
    wish_value: bool | None  # a wished attribute named by its value (not only its label)
    values_named: int  # taxonomy values named in the copy, supported or not
    wish_recognised: bool | None  # the engine's brief found every wished attribute in the dialog
    review_due: bool  # the product has a positive review in the copy's language and the bound has room


def case_request(case: Case, index: TaxonomyIndex) -> tuple[CopyRequest, Wish | None]:
    """The request a case sends, and its wish dialog (wish cases only)."""
    wish = wish_dialog(case.product, index, case.lang == "zh") if case.wish else None
    request = CopyRequest.model_validate(
        {
            "product": case.product,
            "messages": wish.messages if wish else None,
            "language": case.lang,
            "max_length": case.max_length,
            "engine": "local",
        }
    )
    return request, wish


def check_case(case: Case, writer: LocalCopywriter, index: TaxonomyIndex) -> Outcome:
    request, wish = case_request(case, index)
    brief = writer.brief(request)
    copy = writer.write(request, brief)
    recognised = len(brief.wished) >= len(wish.names) if wish else None
    return check_copy(case, request, wish, copy, index, recognised)


def check_copy(
    case: Case, request: CopyRequest, wish: Wish | None, copy: str, index: TaxonomyIndex, recognised: bool | None
) -> Outcome:
    """The checks of one copy, whoever wrote it; ``recognised``: whether the local brief found every wish."""
    zh = case.lang == "zh"
    bound = case.max_length or DEFAULT_MAX_LENGTH[case.lang]
    length = copy_length(copy, zh)
    said = "\n".join(m["content"] for m in wish.messages if m["role"] == "user") if wish else ""
    category = index.category_named(case.product["category"])
    assert category is not None
    problems: dict[str, str] = {}
    if length > bound:
        problems["length"] = f"{length} {'characters' if zh else 'words'} > {bound}"
    if is_chinese(copy) != zh:
        problems["language"] = f"not {case.lang}"
    if invented := invented_numbers(copy, [product_json(request.product), said]):
        problems["numbers"] = f"numbers not in the input: {', '.join(invented)}"
    if unsupported := unsupported_values(copy, product_json(request.product), category, index):
        problems["attributes"] = f"values the input lacks: {', '.join(unsupported)}"
    values_named = len(unsupported_values(copy, "", category, index))
    wish_value = None
    if wish:
        wish_value = any(_mentions(copy, names[:3]) for names in wish.names)
        if not any(_mentions(copy, names) for names in wish.names):
            problems["wish"] = "names none of: " + "; ".join(f"{n[3]} {n[2]}" for n in wish.names)
        if not first_named(copy, case.product, wish, category, index):
            problems["lead"] = "another attribute comes before the wished ones"
    if repeated := repeated_values(copy, case.product, category, index):
        problems["repeats"] = f"stated more than once: {', '.join(repeated)}"
    review_due = bound >= REVIEW_ROOM[case.lang] and has_positive_review(request, zh)
    if review_due and not quotes_a_review(copy, case.product):
        problems["review"] = "no review quoted, though a positive one exists and the bound has room"
    return Outcome(case, copy, length, bound, problems, wish_value, values_named, recognised, review_due)


# --------------------------------------------------------------------------- the evaluation
def evaluate_copywriting(per_category: int = PER_CATEGORY) -> dict[str, Any]:
    """Every figure of the report, as data (the tests read it)."""
    index = TaxonomyIndex(load_taxonomy())
    writer = LocalCopywriter(index)
    products = sample_products(load_products(), per_category)
    return summarise_outcomes(products, per_category, [check_case(case, writer, index) for case in cases_for(products)])


def summarise_outcomes(
    products: Sequence[dict[str, Any]], per_category: int, outcomes: Sequence[Outcome]
) -> dict[str, Any]:
    """The report's figures from the checked copies of ``cases_for(products)``."""
    def rate(check: str, rows: Sequence[Outcome]) -> tuple[int, int]:
        applicable = [o for o in rows if (check not in WISH_CHECKS or o.case.wish) and (check != "review" or o.review_due)]
        return sum(check not in o.problems for o in applicable), len(applicable)

    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        bound = f"{o.bound}" if o.case.max_length else f"{o.bound} (default)"
        groups[f"{o.case.lang} {'wish' if o.case.wish else 'no wish'} max={bound}"].append(o)
    default = [o for o in outcomes if o.case.max_length is None]
    # The violations at the roomiest bounds first: those at max_length 20 are the expected ones.
    ordered = sorted(outcomes, key=lambda o: (o.case.max_length is not None, -(o.case.max_length or 0)))
    return {
        "products": len(products),
        "per_category": per_category,
        "categories": len({p["category"] for p in products}),
        "copies": len(outcomes),
        "passed": {check: rate(check, outcomes) for check in CHECKS},
        "by_group": {
            name: {
                "n": len(rows),
                "passed": {check: rate(check, rows) for check in CHECKS},
                "max_length": max(o.length for o in rows),
                "mean_length": sum(o.length for o in rows) / len(rows),
            }
            for name, rows in sorted(groups.items(), key=lambda item: (item[1][0].case.lang != "zh",
                                                                       not item[1][0].case.wish,
                                                                       item[1][0].case.max_length or 10**6))
        },
        "wish_by_value": (
            sum(bool(o.wish_value) for o in outcomes if o.case.wish),
            sum(o.case.wish for o in outcomes),
        ),
        "wish_recognised": (sum(bool(o.wish_recognised) for o in outcomes if o.case.wish),
                            sum(o.case.wish for o in outcomes)),
        "values_named": (sum(o.values_named > 0 for o in outcomes), sum(o.values_named for o in outcomes)),
        "mean_default_length": {
            lang: sum(o.length for o in default if o.case.lang == lang) / max(1, sum(o.case.lang == lang for o in default))
            for lang in ("zh", "en")
        },
        "violations": {check: [o for o in ordered if check in o.problems] for check in CHECKS},
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"engine: LocalCopywriter (templates), in-process as the service answers engine=local; "
        f"{result['products']} products ({result['categories']} categories x {result['per_category']}, by sku-id hash) "
        f"x zh/en x (no wish, wish at the default bound, wish at max_length {'/'.join(map(str, EXPLICIT_LENGTHS))})"
        f" = {result['copies']} copies",
        f"mean length at the default bound: zh {result['mean_default_length']['zh']:.1f} characters (bound "
        f"{DEFAULT_MAX_LENGTH['zh']}), en {result['mean_default_length']['en']:.1f} words (bound "
        f"{DEFAULT_MAX_LENGTH['en']})",
        "",
        f"{'check':12}{'passed':>14}{'rate':>8}",
    ]
    for check in CHECKS:
        ok, n = result["passed"][check]
        lines.append(f"{check:12}{f'{ok}/{n}':>14}{ok / n if n else float('nan'):8.3f}")
    ok, n = result["wish_by_value"]
    named, mentions = result["values_named"]
    recognised, asked = result["wish_recognised"]
    lines += [
        f"{'':12}wish named by its value (not only its label): {ok}/{n}; the engine's brief recognised every "
        f"wished attribute in {recognised}/{asked} wish dialogs",
        f"{'':12}copies naming at least one taxonomy value (what the attribute check inspects): "
        f"{named}/{result['copies']} ({mentions} mentions)",
        "",
        "by case (length: zh characters / en words; cells are passed/n):",
        f"{'case':28}{'length':>9}{'language':>10}{'numbers':>9}{'attrs':>9}{'wish':>9}{'lead':>9}{'repeats':>9}"
        f"{'review':>9}{'max':>6}{'mean':>7}",
    ]
    for name, group in result["by_group"].items():
        cells = "".join(
            f"{f'{ok}/{n}' if n else '-':>{10 if check == 'language' else 9}}"
            for check, (ok, n) in group["passed"].items()
        )
        lines.append(f"{name:28}{cells}{group['max_length']:6d}{group['mean_length']:7.1f}")
    lines += ["", "checks: numbers = shared.lexicon.invented_numbers against the product as sent and the user's words; "
              "attributes = taxonomy values (category attributes + colour, size) named in the copy, absent from the "
              "product's input in both languages; wish = a wished attribute's value or label in the copy; lead = the "
              "first attribute named (name aside) is wished; repeats = an attribute value stated twice (any spelling); "
              f"review = a positive review quoted, where one exists and the bound is at least "
              f"{REVIEW_ROOM['zh']} characters (zh) / {REVIEW_ROOM['en']} words (en)"]
    for check in CHECKS:
        found = result["violations"][check]
        if not found:
            continue
        lines.append(f"violations, {check} ({len(found)}; first {min(SHOWN, len(found))}):")
        for o in found[:SHOWN]:
            lines.append(f"  {o.case.name}: {o.problems[check]}\n    copy: {o.copy}")
    if not any(result["violations"].values()):
        lines.append("violations: none")
    return "\n".join(lines)


@evaluation("copywriting")
def copywriting_report(per_category: int = PER_CATEGORY) -> str:
    return render(evaluate_copywriting(per_category))
