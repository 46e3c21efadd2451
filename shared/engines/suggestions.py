"""Next-question suggestions: two or three short things the user is likely to ask next, in their language.

Drawn from where the dialog stands: the products just shown (compare them, what reviewers say), the
category's key attributes the user has not talked about yet, a cheaper one when no budget was given, or,
in small talk, a way in.
"""

from __future__ import annotations

from shared.schemas import FunctionCall, SkuInfo
from shared.taxonomy import Taxonomy

MAX_SUGGESTIONS = 3

# By language (True: Chinese): what to ask when the user is not shopping yet.
_OPENERS: dict[bool, list[str]] = {
    True: ["帮我推荐一款手机", "最近有什么值得买的？", "送女朋友什么礼物好？"],
    False: ["Recommend a phone for me", "What's worth buying right now?", "What's a good gift for my mom?"],
}


def _short_name(product: SkuInfo, zh: bool) -> str:
    """The product's name in the reply's language, cut to three words: a suggestion stays short."""
    name = product.skuName if zh else str((product.model_extra or {}).get("skuNameEn") or product.skuName)
    words = name.split()
    return " ".join(words[:3]) if len(words) > 3 else name


def suggest(taxonomy: Taxonomy, zh: bool, call: FunctionCall | None, products: list[SkuInfo]) -> list[str]:
    """At most ``MAX_SUGGESTIONS`` next questions after a turn with this ``call`` (None: no shopping; without a
    category: a kind the catalog does not carry)."""
    if call is None or "category" not in call.arguments:  # nothing, or nothing the catalog carries, was shown
        return _OPENERS[zh][:MAX_SUGGESTIONS]
    arguments = call.arguments
    category = taxonomy.categories.get(arguments.get("category", ""))
    out: list[str] = []
    if len(products) >= 2:
        a, b = _short_name(products[0], zh), _short_name(products[1], zh)
        out.append(f"对比一下{a}和{b}" if zh else f"Compare {a} and {b}")
    if category is not None:
        missing = [attr for attr in category.attributes if attr.key not in arguments]
        if missing:
            attr = missing[0]
            out.append(f"{attr.zh}方面哪款更好？" if zh else f"Which one is best for {attr.key}?")
    if products:
        out.append(f"{_short_name(products[0], zh)}的用户评价怎么样？" if zh
                   else f"What do reviewers say about {_short_name(products[0], zh)}?")
    if "price" not in arguments:
        out.append("有没有更便宜的？" if zh else "Anything cheaper?")
    return out[:MAX_SUGGESTIONS]
