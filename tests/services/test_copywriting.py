"""Copywriting service: routes, validation, the local templates (length, wishes, no invented numbers), the LLM
path with its output check and fallback, streaming."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

import services.copywriting.app as copy_app
from services.copywriting.app import create_app
from shared.lexicon import invented_numbers, sentiment
from shared.llm import LLMUnavailable
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
    assert "正合您对电池续航的要求" in copy  # the screen is not a wish: the user said it does not matter
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
    assert body == {"copy": good, "engine": "llm"}
    prompt = llm.calls[0][0].content
    assert "5000毫安时" in prompt and "续航要好" in prompt and "120 Chinese characters" in prompt


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


def test_sentiment_lexicon_handles_negation() -> None:
    assert sentiment("拍照清晰，夜景很棒") > 0
    assert sentiment("一点也不卡") > 0 and sentiment("很卡") < 0
    assert sentiment("不好用") < 0 and sentiment("The battery is not good") < 0
    assert sentiment("Great photos, love it") > 0
    assert invented_numbers("仅售2,999元，5000mAh", ["price 2999.0", "5000mAh"]) == []
    assert invented_numbers("续航40小时", ["30 hours"]) == ["40"]
