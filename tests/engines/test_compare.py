"""Comparison wording: rows side by side, review highlights, and the recommendation with its reasons."""

from __future__ import annotations

from shared.engines import compare
from shared.schemas import SkuComment, SkuInfo
from shared.taxonomy import load_taxonomy
from shared.taxonomy.index import TaxonomyIndex

INDEX = TaxonomyIndex(load_taxonomy())


def _phone(sku: str, price: float | None, scores: list[float], **attributes: str) -> SkuInfo:
    comments = [SkuComment(commentContent="Great phone, the battery lasts two days.", score=s) for s in scores]
    # From a dict, as the catalog sends it: skuNameEn is an extra field, outside the checked constructor signature.
    return SkuInfo.model_validate({
        "skuId": sku, "skuName": f"手机{sku}", "skuNameEn": f"Phone {sku}", "category": "smartphone", "price": price,
        "attributes": attributes, "skuCommentList": comments,
    })


def test_rows_are_price_then_every_attribute_with_a_dash_where_missing() -> None:
    products = [_phone("a", 3999, [], camera="50MP triple camera"), _phone("b", None, [], **{"screen size": "6.7 inch"})]
    rows = compare.rows(INDEX, products, zh=False)
    assert [(r.key, r.values) for r in rows] == [
        ("price", ["¥3999", "-"]),
        ("camera", ["50MP triple camera", "-"]),
        ("screen size", ["-", "6.7 inch"]),
    ]
    assert [r.label for r in compare.rows(INDEX, products, zh=True)][:2] == ["价格", "拍照"]


def test_highlight_is_the_best_review_sentence_in_the_reply_language() -> None:
    phone = _phone("a", 1, [])
    phone.skuCommentList = [
        SkuComment(commentContent="The screen is terrible."),
        SkuComment(commentContent="Great phone, the battery lasts two days."),
        SkuComment(commentContent="拍照很清晰，非常满意"),
    ]
    assert compare.highlight(phone, zh=False).review == "Great phone, the battery lasts two days."
    assert compare.highlight(phone, zh=True).review == "拍照很清晰，非常满意"
    assert compare.highlight(_phone("b", 1, []), zh=False).review == ""


def test_recommendation_fits_the_wishes_first_then_rating_then_price() -> None:
    fits = _phone("fits", 5999, [3], camera="200MP quad camera with 5x periscope")
    rated = _phone("rated", 3999, [5], camera="48MP dual camera")
    wishes = {"category": "smartphone", "camera": "periscope"}
    assert compare.recommend(INDEX, [rated, fits], wishes, zh=False).model_dump() == {
        "skuId": "fits",
        "reason": "Phone fits: it fits what you asked for in camera; it is rated 3.0/5 by buyers.",
    }
    assert compare.recommend(INDEX, [fits, rated], {}, zh=True).reason == "推荐手机rated：用户评分5.0，价格最低。"
