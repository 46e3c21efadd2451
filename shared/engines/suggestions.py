"""Next-question suggestions: two or three short things the user is likely to ask next, in their language.

Drawn from where the dialog stands: the products just shown (compare them, what reviewers say), the
category's key attributes the user has not talked about yet, a cheaper one when no budget was given, or,
in small talk, a way in: the kinds and brands of the catalog that was ingested (its vocabulary), so a grocery shop
suggests coffee beans, not phones.
"""

from __future__ import annotations

from shared.schemas import FunctionCall, SkuInfo
from shared.taxonomy import Category
from shared.vocabulary import OpenCatalog

MAX_SUGGESTIONS = 3

# By language (True: Chinese): the ways in when the user is not shopping yet, a kind and a brand of the catalog's.
_KIND = ("帮我推荐一款{kind}", "What {kind} would you recommend?")
_BRAND = ("{brand}的{kind}怎么样？", "Which {kind} from {brand} is good?")
_BROWSE = ("最近有什么值得买的？", "What's worth buying right now?")


def _kind_name(category: Category, zh: bool) -> str:
    return (category.name_zh or category.name_en) if zh else category.name_en


def openers(catalog: OpenCatalog, zh: bool) -> list[str]:
    """The catalog's first kind, then a brand it carries of the next kind that has one, then browsing."""
    i = 0 if zh else 1
    kinds = list(catalog.taxonomy.categories.values())
    carried = {c.id: c.brands for c in catalog.vocabulary.categories}
    out: list[str] = []
    if kinds:
        out.append(_KIND[i].format(kind=_kind_name(kinds[0], zh)))
    branded = next((c for c in kinds[1:] if carried.get(c.id)), None) or next(
        (c for c in kinds if carried.get(c.id)), None
    )
    if branded is not None:
        brand = carried[branded.id][0]
        if zh:  # its Chinese name where the catalog gives one (川宁 for Twinings)
            aliases = next((b.aliases for b in catalog.vocabulary.brands if b.name == brand), [])
            brand = next((a for a in aliases if not a.isascii()), brand)
        out.append(_BRAND[i].format(brand=brand, kind=_kind_name(branded, zh)))
    out.append(_BROWSE[i])
    return out


def _short_name(product: SkuInfo, zh: bool) -> str:
    """The product's name in the reply's language, cut to three words: a suggestion stays short."""
    name = product.skuName if zh else str((product.model_extra or {}).get("skuNameEn") or product.skuName)
    words = name.split()
    return " ".join(words[:3]) if len(words) > 3 else name


def suggest(catalog: OpenCatalog, zh: bool, call: FunctionCall | None, products: list[SkuInfo]) -> list[str]:
    """At most ``MAX_SUGGESTIONS`` next questions after a turn with this ``call`` (None: no shopping; without a
    category: a kind the catalog does not carry)."""
    if call is None or "category" not in call.arguments:  # nothing, or nothing the catalog carries, was shown
        return openers(catalog, zh)[:MAX_SUGGESTIONS]
    arguments = call.arguments
    category = catalog.taxonomy.categories.get(arguments.get("category", ""))
    out: list[str] = []
    if len(products) >= 2:
        a, b = _short_name(products[0], zh), _short_name(products[1], zh)
        out.append(f"对比一下{a}和{b}" if zh else f"Compare {a} and {b}")
    if category is not None:
        missing = [attr for attr in category.attributes if attr.key not in arguments]
        if missing:
            label = catalog.index.label(category, missing[0].key, zh)
            out.append(f"{label}方面哪款更好？" if zh else f"Which one is best for {label}?")
    if products:
        out.append(f"{_short_name(products[0], zh)}的用户评价怎么样？" if zh
                   else f"What do reviewers say about {_short_name(products[0], zh)}?")
    if "price" not in arguments:
        out.append("有没有更便宜的？" if zh else "Anything cheaper?")
    return out[:MAX_SUGGESTIONS]
