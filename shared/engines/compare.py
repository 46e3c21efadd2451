"""Product comparison wording, in the user's language: the side-by-side rows, each product's review
highlight, and which product to recommend with the sentence that says why.

The router's compare agent fetches the products and the user's needs profile; this module only words them.
"""

from __future__ import annotations

from statistics import mean

from pydantic import BaseModel

from shared.lexicon import best_review_sentence, format_number
from shared.products import localised_text, reviews_in, value_text
from shared.schemas import SkuInfo
from shared.taxonomy.index import TaxonomyIndex
from shared.text import tokens


# The models are the router's compare answer's pieces too (no docstrings: they would change its OpenAPI).
class CompareRow(BaseModel):
    key: str
    label: str
    values: list[str]


class Highlight(BaseModel):
    skuId: str
    review: str


class Recommendation(BaseModel):
    skuId: str
    reason: str


def rows(index: TaxonomyIndex, products: list[SkuInfo], zh: bool) -> list[CompareRow]:
    """Price, then every attribute any of the products has (labelled by the first one's category: the taxonomy
    file's names, else the catalog's own), "-" where a product lacks it."""
    category = index.category_of(products[0])
    price = CompareRow(
        key="price",
        label="价格" if zh else "price",
        values=[f"¥{format_number(p.price)}" if p.price is not None else "-" for p in products],
    )
    keys = list(dict.fromkeys(k for p in products for k in p.attributes))
    attributes = [
        CompareRow(
            key=key,
            label=index.label(category, key, zh),
            values=[index.localise(category, key, value_text(p.attributes.get(key)), zh) or "-" for p in products],
        )
        for key in keys
    ]
    return [price, *attributes]


def highlight(product: SkuInfo, zh: bool) -> Highlight:
    """The product's best review sentence in the reply's language (any language when it has none in it)."""
    pick = best_review_sentence(reviews_in(product, zh) or product.skuCommentList)
    return Highlight(skuId=product.skuId, review=pick.sentence if pick else "")


def recommend(index: TaxonomyIndex, products: list[SkuInfo], preferences: dict[str, str], zh: bool) -> Recommendation:
    """The product matching most of what the user asked for (named by its category's labels); then the best rated;
    then the cheapest."""
    wishes = {k: set(tokens(v)) for k, v in preferences.items() if k not in {"category", "brand", "price"}}

    def matched(product: SkuInfo) -> list[str]:
        return [
            key for key, words in wishes.items()
            if words & set(tokens(f"{key} {value_text(product.attributes.get(key))}"))
        ]

    def rating(product: SkuInfo) -> float:
        scores = [c.score for c in product.skuCommentList if c.score is not None]
        return mean(scores) if scores else 0.0

    best = max(products, key=lambda p: (len(matched(p)), rating(p), -(p.price or 0)))
    name = localised_text(best, "skuName", zh)
    reasons: list[str] = []
    category = index.category_of(best)
    if hits := [index.label(category, key, zh) for key in matched(best)]:
        reasons.append(f"最符合您对{'、'.join(hits)}的要求" if zh else f"it fits what you asked for in {', '.join(hits)}")
    if rating(best):
        reasons.append(f"用户评分{rating(best):.1f}" if zh else f"it is rated {rating(best):.1f}/5 by buyers")
    if best.price is not None and best.price == min(p.price or float("inf") for p in products):
        reasons.append("价格最低" if zh else "it is the cheapest")
    reason = ("推荐" + name + "：" + "，".join(reasons) + "。") if zh else (
        f"{name}: " + "; ".join(reasons) + "." if reasons else f"{name}."
    )
    return Recommendation(skuId=best.skuId, reason=reason)
