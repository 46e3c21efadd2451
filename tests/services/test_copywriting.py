"""Copywriting service: routes, validation, the local templates (length, wishes, no invented numbers), the LLM
path with its output check and fallback, streaming."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import services.copywriting.app as copy_app
from services.copywriting.app import create_app
from shared.lexicon import invented_numbers, sentiment
from shared.llm import LLMUnavailable
from shared.prompts import load_prompt
from shared.text import is_chinese
from tests.conftest import app_client
from tests.services.conftest import FakeLLM, parse_sse, user

PHONE_ZH = {
    "skuId": "m60",
    "skuName": "Mate 60 Pro",
    "brand": "华为",
    "category": "smartphone",
    "price": 6499.0,
    "attributes": {
        "screen size": "6.82英寸",
        "camera": "5000万像素三摄",
        "battery": "5000毫安时",
        "operating system": "鸿蒙",
    },
    "intro": "搭载卫星通话功能，昆仑玻璃更耐摔。支持88W有线快充。",
    "skuCommentList": [
        {"commentContent": "发热严重，不推荐。", "score": 2},
        {"commentContent": "电池很耐用，一天一充完全够用。拍照清晰，夜景很棒！就是有点重。", "score": 5},
    ],
}
HEADPHONES_EN = {
    "skuId": "wh",
    "skuName": "WH-1000XM5",
    "brand": "Sony",
    "category": "headphones",
    "price": 2499,
    "attributes": {"type": "over-ear", "noise cancelling": "adaptive ANC", "battery": "30 hours"},
    "intro": "Industry-leading noise cancelling headphones. Two processors control eight microphones.",
    "skuCommentList": [
        {"commentContent": "The app is clunky and the case is bulky.", "score": 3},
        {"commentContent": "Noise cancelling is superb on flights, and the battery easily lasts a week of commuting."},
    ],
}



@pytest.fixture
def fake_llm(install_fake_llm: Callable[..., FakeLLM]) -> Callable[..., FakeLLM]:
    return functools.partial(install_fake_llm, copy_app)


async def post(settings: Any, body: dict[str, Any]) -> Any:
    async with app_client(create_app(settings)) as client:
        return await client.post("/v1/copywriting", json=body)


async def test_health_ready_metrics(settings) -> None:
    async with app_client(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": "copywriting"}
        assert (await client.get("/readyz")).json()["ready"] is True
        assert (await client.post("/v1/copywriting", json={"product": PHONE_ZH})).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert 'sg_engine_answers_total{engine="local",outcome="answered",service="copywriting"}' in metrics


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"product": {**PHONE_ZH, "skuName": "  "}}, "product.skuName: the product has no name"),
        ({"product": {k: v for k, v in PHONE_ZH.items() if k != "skuName"}}, "the product has no name"),
        ({"product": PHONE_ZH, "language": "fr"}, "unknown language 'fr': use 'zh'"),
        ({"product": PHONE_ZH, "max_length": 5}, "max_length: Input should be greater than or equal to 20"),
        ({"product": PHONE_ZH, "max_length": 5000}, "less than or equal to 400"),
        ({"product": PHONE_ZH, "messages": []}, "the conversation is empty"),
        ({"product": {**PHONE_ZH, "intro": "长" * 9000}}, "intro is 9000 characters"),
        ({"product": PHONE_ZH, "tone": "funny"}, "tone"),
        ({}, "product: Field required"),
    ],
)
async def test_bad_input_is_a_readable_422(settings, body, fragment) -> None:
    response = await post(settings, body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]


def product_sources(product: dict[str, Any], *texts: str) -> list[str]:
    return [json.dumps(product, ensure_ascii=False), *texts]


async def test_local_chinese_copy_is_short_grounded_and_quotes_the_best_review(settings) -> None:
    body = (await post(settings, {"product": PHONE_ZH})).json()
    copy = body["copy"]
    assert body["engine"] == "local" and is_chinese(copy)
    assert len(copy) <= 120 and "Mate 60 Pro" in copy
    assert "拍照清晰" in copy or "电池很耐用" in copy
    assert "发热严重" not in copy and "有点重" not in copy  # never the negative sentences
    assert invented_numbers(copy, product_sources(PHONE_ZH)) == []


async def test_copy_leads_with_what_the_user_cares_about(settings) -> None:
    wishes = [user("我经常出差，最看重续航，屏幕大小无所谓")]
    copy = (await post(settings, {"product": PHONE_ZH, "messages": wishes})).json()["copy"]
    assert copy.index("5000毫安时") < copy.index("6.82英寸")
    assert copy.startswith("看重电池续航？")  # the screen is not a wish: the user said it does not matter
    assert "电池很耐用" in copy  # the review that speaks to the wish, not the generally best one
    wishes = [user("I fly a lot, is the noise cancelling good?")]
    english = (await post(settings, {"product": HEADPHONES_EN, "messages": wishes})).json()["copy"]
    assert not is_chinese(english) and english.index("adaptive ANC") < english.index("30 hours")
    assert "superb on flights" in english and "clunky" not in english


@pytest.mark.parametrize(
    ("product", "language", "limit"),
    [(PHONE_ZH, "zh", 30), (PHONE_ZH, "zh", 60), (HEADPHONES_EN, "en", 20), (HEADPHONES_EN, "en", 35)],
)
async def test_copy_respects_max_length_and_invents_no_number(settings, product, language, limit) -> None:
    copy = (await post(settings, {"product": product, "language": language, "max_length": limit})).json()["copy"]
    size = len(copy) if language == "zh" else len(copy.split())
    assert 0 < size <= limit
    assert copy.endswith(("。", ".")) and "…" not in copy  # whole pieces dropped to fit, nothing cut mid-way
    assert invented_numbers(copy, product_sources(product)) == []


async def test_default_english_bound_is_sixty_words(settings) -> None:
    long_intro = " ".join(["A remarkably comfortable headband that stays put during long listening sessions."] * 8)
    product = {**HEADPHONES_EN, "intro": long_intro}
    copy = (await post(settings, {"product": product})).json()["copy"]
    assert len(copy.split()) <= 60 and "WH-1000XM5" in copy


async def test_stream_tokens_concatenate_to_the_copy(settings) -> None:
    async with app_client(create_app(settings)) as client:
        plain = (await client.post("/v1/copywriting", json={"product": PHONE_ZH})).json()
        events = parse_sse((await client.post("/v1/copywriting", json={"product": PHONE_ZH, "stream": True})).text)
    assert [k for k, _ in events][-1] == "done" and {k for k, _ in events[:-1]} == {"token"}
    assert "".join(d["text"] for k, d in events if k == "token") == events[-1][1]["copy"] == plain["copy"]


async def test_llm_copy_is_used_when_it_passes_the_check(settings, fake_llm) -> None:
    good = "华为Mate 60 Pro：5000毫安时大电池，出差一天一充就够，售价6499元。"
    llm = fake_llm([good])
    body = (await post(settings, {"product": PHONE_ZH, "messages": [user("续航要好")]})).json()
    assert body == {"copy": good, "engine": "llm", "prompt_version": load_prompt("services.copywriting", "copywriting").version}
    system, data = llm.calls[0]
    assert (system.role, data.role) == ("system", "user")
    assert "120 Chinese characters" in system.content and "续航要好" not in system.content
    assert "5000毫安时" in data.content and '{"role": "user", "content": "续航要好"}' in data.content


async def test_llm_copy_with_an_invented_number_is_retried_then_replaced(settings, fake_llm) -> None:
    invented = "华为Mate 60 Pro限时立减500元，仅售5999元！"
    llm = fake_llm([invented, "Mate 60 Pro：卫星通话，5000毫安时。"])
    body = (await post(settings, {"product": PHONE_ZH})).json()
    assert body["engine"] == "llm" and body["copy"] == "Mate 60 Pro：卫星通话，5000毫安时。"
    assert "500, 5999" in llm.calls[1][-1].content  # the retry names the invented numbers
    fake_llm([invented, invented])
    fallback = (await post(settings, {"product": PHONE_ZH})).json()
    assert fallback["engine"] == "local" and "5999" not in fallback["copy"]


async def test_llm_copy_too_long_or_failing_falls_back_to_local(settings, fake_llm) -> None:
    too_long = "Sony WH-1000XM5 " + "really " * 70 + "great."
    fake_llm([too_long, too_long])
    body = (await post(settings, {"product": HEADPHONES_EN})).json()
    assert body["engine"] == "local" and len(body["copy"].split()) <= 60
    fake_llm([LLMUnavailable("no endpoint")])
    assert (await post(settings, {"product": HEADPHONES_EN})).json()["engine"] == "local"


async def test_only_negative_reviews_are_never_quoted(settings) -> None:
    product = {**PHONE_ZH, "skuCommentList": [{"commentContent": "发热严重，不推荐。"}, {"commentContent": "电池不耐用，很失望。"}]}
    copy = (await post(settings, {"product": product})).json()["copy"]
    assert "买家说" not in copy and "发热" not in copy and "失望" not in copy


# Like the sample catalog's: the name and the intro spell out attribute values the attributes hold too.
PIXEL = {
    "skuId": "px",
    "skuName": "谷歌 Pixel 8a 5G手机 6.1英寸 AMOLED屏",
    "skuNameEn": "Google Pixel 8a 5G Smartphone 6.1 inch AMOLED",
    "brand": "Google Pixel",
    "category": "smartphone",
    "price": 2399.0,
    "attributes": {"screen size": "6.1 inch", "screen panel": "AMOLED", "camera": "50MP triple camera",
                   "battery": "4500mAh", "operating system": "Android"},
    "intro": "谷歌 Pixel 8a：屏幕尺寸6.1英寸，屏幕材质AMOLED屏。",
    "introEn": "The Google Pixel 8a has a 6.1 inch (screen size) and AMOLED (screen panel).",
    "skuCommentList": [
        {"commentContent": "快递很快，包装很好。", "score": 5},
        {"commentContent": "到手一个月了，电池4500毫安时，一天一充没问题。", "score": 5},
        {"commentContent": "外包装有压痕，还好东西没坏。", "score": 2},
        {"commentContent": "Fast delivery, great packaging.", "score": 5},
        {"commentContent": "After a month: the 50MP camera takes great photos, even at night.", "score": 5},
    ],
}


def copy_of(product: dict[str, Any], text: str | None = None, language: str = "zh", limit: int | None = None) -> str:
    from services.copywriting.engine import LocalCopywriter
    from services.copywriting.schemas import CopyRequest
    from shared.taxonomy import load_taxonomy
    from shared.taxonomy.index import TaxonomyIndex

    request = CopyRequest.model_validate(
        {"product": product, "messages": [user(text)] if text else None, "language": language, "max_length": limit}
    )
    return LocalCopywriter(TaxonomyIndex(load_taxonomy())).write(request)


@pytest.mark.parametrize(("language", "wish"), [("zh", None), ("zh", "想买个手机，续航要好"), ("en", None),
                                                ("en", "I want a phone with a great camera")])
def test_each_fact_is_stated_once(language, wish) -> None:
    copy = copy_of(PIXEL, wish, language)
    for forms in (("6.1英寸", "6.1 inch"), ("AMOLED",), ("4500",), ("5000万像素", "50MP"), ("2399",)):
        assert sum(copy.count(form) for form in forms) <= 1, (forms, copy)
    assert "Pixel 8a" in copy and "6.1" in copy  # the name less its specs, the specs once, as facts


def test_the_strongest_review_about_the_product_backs_the_copy() -> None:
    zh = copy_of(PIXEL)
    assert "电池4500毫安时，一天一充没问题" in zh  # the opening "到手一个月了" is dropped
    assert "快递" not in zh and "还好东西没坏" not in zh  # the shop's service and a two-star buyer are no praise
    en = copy_of(PIXEL, language="en")
    assert '"The 50MP camera takes great photos, even at night."' in en or "the 50MP camera takes great photos" in en
    assert "delivery" not in en and "After a month" not in en


def test_the_benefit_the_user_asked_for_comes_first() -> None:
    zh = copy_of(PIXEL, "想买个手机，续航要好")
    assert zh.startswith("看重电池续航？") and zh.index("4500") < zh.index("6.1英寸")
    en = copy_of(HEADPHONES_EN, "I fly a lot, is the noise cancelling good?", "en")
    assert en.startswith("Care about noise cancelling?")
    assert "adaptive ANC noise cancelling, for quieter commutes and flights" in en  # what it does for the buyer
    # An entry-level value gets no benefit phrase: "no ANC, for quieter flights" would oversell.
    basic = {**HEADPHONES_EN, "attributes": {"type": "over-ear", "noise cancelling": "no ANC", "battery": "30 hours"}}
    assert "quieter" not in copy_of(basic, "noise cancelling matters", "en")


def test_naming_the_product_is_no_wish() -> None:
    purifier = {
        "skuName": "小米 空气净化器4", "brand": "Xiaomi", "category": "air_purifier", "price": 949,
        "attributes": {"cadr": "200 m³/h", "noise level": "38 dB"},
    }
    copy = copy_of(purifier, "我想买个空气净化器，要安静一点的，睡眠噪音低")
    assert copy.startswith("看重睡眠噪音？") and "洁净空气量" not in copy.split("。")[0]


@pytest.mark.parametrize(("language", "limit"), [("zh", 20), ("zh", 30), ("zh", 45), ("en", 20), ("en", 30)])
def test_tight_bounds_keep_the_wish_and_the_bound(language, limit) -> None:
    wish = "想买个手机，续航要好" if language == "zh" else "I want a phone with a long battery life"
    copy = copy_of(PIXEL, wish, language, limit)
    assert (len(copy) if language == "zh" else len(copy.split())) <= limit
    assert "4500" in copy and "…" not in copy


GROCERY = [json.loads(line) for line in (Path(__file__).parents[1] / "data" / "grocery_products.jsonl").open(encoding="utf-8")]


def grocery_copy(product: dict[str, Any], language: str, named: bool = True) -> str:
    """Copy for a product of the grocery catalog, read with that catalog's vocabulary (with or without the names
    its products give their attributes)."""
    from services.copywriting.engine import LocalCopywriter
    from services.copywriting.schemas import CopyRequest
    from shared.vocabulary import OpenCatalog, vocabulary_of

    products = [p if named else {k: v for k, v in p.items() if k not in {"attributeNames", "attributesZh"}} for p in GROCERY]
    writer = LocalCopywriter(OpenCatalog.of(vocabulary_of(products)).index)
    return writer.write(CopyRequest.model_validate({"product": product, "language": language}))


@pytest.mark.parametrize("named", [True, False])
@pytest.mark.parametrize("product", GROCERY, ids=[p["skuId"] for p in GROCERY])
def test_copy_for_a_kind_only_the_catalog_knows_has_no_raw_keys(product: dict[str, Any], named: bool) -> None:
    zh = grocery_copy(product, "zh", named)
    assert not any(key in zh for key in product["attributes"]), zh
    assert product["brandAliases"][0] in zh and product["brand"] not in zh, "the brand once, by its Chinese name"
    en = grocery_copy(product, "en", named)
    if named:
        assert not any(f"{value} {key}" in en for key, value in product["attributes"].items()
                       if product["attributeNames"][key]["en"] != key), en
    assert product["brand"] in en and str(product["price"]).removesuffix(".0") in en


def test_no_phone_benefit_for_a_grocery_attribute() -> None:
    # "storage" is a phone's attribute in the taxonomy file ("with room for photos and videos"), not a coffee's.
    beans = {**GROCERY[0], "attributes": {"storage": "cool and dry"}}
    for language in ("zh", "en"):
        copy = grocery_copy(beans, language)
        assert "photos" not in copy and "照片" not in copy, copy


def test_sentiment_lexicon_handles_negation() -> None:
    assert sentiment("拍照清晰，夜景很棒") > 0
    assert sentiment("一点也不卡") > 0 and sentiment("很卡") < 0
    assert sentiment("不好用") < 0 and sentiment("The battery is not good") < 0
    assert sentiment("Great photos, love it") > 0
    assert invented_numbers("仅售2,999元，5000mAh", ["price 2999.0", "5000mAh"]) == []
    assert invented_numbers("续航40小时", ["30 hours"]) == ["40"]
