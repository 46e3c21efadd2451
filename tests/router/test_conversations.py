"""Plain multi-turn conversations through the router's /v1/chat, on the local engines and the real catalog service
(the shipped sample catalog, prices in CNY): every product shown meets every constraint the user stated (price
within range after conversion, excluded brand absent, kind unchanged), or the answer's ``relaxed`` names the
constraint that nothing met."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.engines.constraints import fits
from shared.schemas import AttributeConstraint
from shared.settings import Settings
from shared.suite import serve_in_threads

from .conftest import Answer, conversation


@pytest.fixture(scope="module")
def router(redis_url_module: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        _env_file=None,
        redis_url=redis_url_module,
        cache_backend="redis",
        qdrant_path=tmp_path_factory.mktemp("conversations") / "qdrant",
        log_json=False,
    )
    with contextlib.ExitStack() as stack:
        started = stack.enter_context(serve_in_threads(settings, ["intent", "extraction", "dialog", "catalog", "router"]))
        yield started.services.router, settings



def _meets_the_call(answer: Answer, category: str) -> None:
    """Every product is of the dialog's kind and meets the call's constraints, except those ``relaxed`` names."""
    call, relaxed = answer["call"], answer["relaxed"]
    assert call is not None and call["arguments"]["category"] == category
    constraints = call["constraints"] or {}
    assert answer["products"] or relaxed
    for product in answer["products"]:
        assert product["category"] == category
        if (price := constraints.get("price")) and "price" not in relaxed:
            assert (price["min"] or 0) <= product["price"] <= (price["max"] or float("inf")), product
        brands = constraints.get("brands") or {}
        if "brand_exclude" not in relaxed:
            assert product["brand"] not in brands.get("exclude", []), product
        if brands.get("include") and "brand" not in relaxed:
            assert product["brand"] in brands["include"], product
        for key, wanted in (constraints.get("attributes") or {}).items():
            if f"attribute:{key}" not in relaxed:
                assert fits(product["attributes"].get(key), AttributeConstraint.model_validate(wanted)), (key, product)


def test_a_wish_about_a_feature_keeps_the_kind_and_the_budget_converts(router: tuple[str, Settings]) -> None:
    url, settings = router
    first, second = conversation(
        url, "I'm looking for a new smartphone.", "Camera quality matters most, and my budget is about $800."
    )
    assert first["call"]["arguments"]["category"] == "smartphone"
    assert "camera" in second["call"]["arguments"], "the camera is the phone's"
    price = second["call"]["constraints"]["price"]
    usd = settings.currency_rates["USD"]
    assert price == {"min": pytest.approx(800 * usd * 0.8), "max": pytest.approx(800 * usd * 1.2), "currency": "CNY"}
    _meets_the_call(second, "smartphone")


def test_a_budget_said_later_applies_to_what_was_asked_before(router: tuple[str, Settings]) -> None:
    url, settings = router
    *_, last = conversation(url, "I need headphones", "for the gym, wireless", "Under 100 dollars please")
    assert last["call"]["arguments"]["use"] == "gym"
    assert last["call"]["constraints"]["price"]["max"] == pytest.approx(100 * settings.currency_rates["USD"])
    _meets_the_call(last, "headphones")


def test_a_chinese_range_enters_the_call(router: tuple[str, Settings]) -> None:
    url, _ = router
    first, _, last = conversation(url, "推荐一款面霜", "我是干皮", "不要太贵，两三百的")
    assert "texture" not in first["call"]["arguments"], "the product's name is no texture"
    assert last["call"]["constraints"]["price"] == {"min": 200, "max": 300, "currency": "CNY"}
    assert "skin type" in last["call"]["arguments"]
    _meets_the_call(last, "moisturizer")


def test_an_excluded_brand_is_absent(router: tuple[str, Settings]) -> None:
    url, _ = router
    _, last, cheaper = conversation(url, "我想买个手机", "不要苹果的，预算3000以内", "便宜点")
    assert last["call"]["constraints"]["brands"]["exclude"] == ["Apple"]
    assert "brand" not in last["call"]["arguments"]
    assert last["products"] and all(p["brand"] != "Apple" for p in last["products"])
    _meets_the_call(last, "smartphone")
    # "Cheaper" is below the cheapest shown; Apple stays excluded.
    cheapest = min(p["price"] for p in last["products"])
    assert cheaper["intent"] not in {"random chat", "random shopping"}
    assert cheaper["call"]["constraints"]["price"]["max"] < cheapest
    _meets_the_call(cheaper, "smartphone")


def test_one_message_with_a_kind_an_exclusion_and_a_budget(router: tuple[str, Settings]) -> None:
    url, _ = router
    (answer,) = conversation(url, "我想买个手机，不要苹果的，预算3000以内")
    assert answer["intent"] not in {"random chat", "random shopping"}
    assert answer["call"]["constraints"]["brands"]["exclude"] == ["Apple"]
    assert answer["call"]["constraints"]["price"]["max"] == 3000
    assert answer["products"] and all(p["brand"] != "Apple" for p in answer["products"])
    _meets_the_call(answer, "smartphone")


def test_a_winter_need_gets_winter_bags(router: tuple[str, Settings]) -> None:
    url, _ = router
    (answer,) = conversation(url, "宝宝一岁了，冬天睡觉总踢被子，想买个睡袋，怎么选？")
    assert answer["call"]["constraints"]["attributes"]["season"] == {
        "min": None, "max": None, "unit": None, "value": "winter"
    }
    _meets_the_call(answer, "baby_sleeping_bag")
    assert all(p["attributes"]["season"] == "winter" for p in answer["products"])


def test_a_quantity_becomes_an_attribute_range(router: tuple[str, Settings]) -> None:
    url, _ = router
    (answer,) = conversation(url, "which tent would you suggest for 4 people")
    assert answer["call"]["arguments"]["capacity"] == "4 people"
    _meets_the_call(answer, "tent")


def test_what_nothing_meets_is_named_and_the_nearest_come_first(router: tuple[str, Settings]) -> None:
    url, _ = router
    _, last = conversation(url, "I need headphones", "under 5 dollars")
    assert last["relaxed"] == ["price"]
    prices = [p["price"] for p in last["products"]]
    assert prices == sorted(prices), "the nearest to the budget first"


def test_the_second_one_refers_to_what_was_shown(router: tuple[str, Settings]) -> None:
    url, _ = router
    first, _ = conversation(url, "I need headphones", "Sony or Bose")
    with httpx.stream(
        "POST", f"{url}/v1/chat", json={"message": "the second one", "session_id": first["session_id"], "stream": True},
        timeout=60,
    ) as response:
        events = _events(response.iter_lines())
    shown = json.loads(httpx.get(f"{url}/v1/sessions/{first['session_id']}").text)
    assert events["call"]["focus"] == shown["last_products"][1]["skuId"]
    assert [p["skuId"] for p in events["products"]["products"]] == [events["call"]["focus"]]
    assert shown["state"]["call"]["constraints"]["brands"]["include"] == ["Sony", "Bose"]
    assert shown["state"]["focus"] == events["call"]["focus"], "the session keeps the state"


def _events(lines: Iterator[str]) -> dict[str, Any]:
    events: dict[str, Any] = {}
    name = ""
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events[name] = json.loads(line[5:])
    return events


def test_a_url_or_a_capitalised_word_is_no_brand(router: tuple[str, Settings]) -> None:
    url, _ = router
    (answer,) = conversation(
        url, "I need running shoes for a marathon. Run club says Good grip matters, see http://shop.example.com/item/3"
    )
    assert answer["call"] is not None and "brand" not in answer["call"]["arguments"]
    assert (answer["call"]["constraints"] or {}).get("brands") is None


def test_apple_the_fruit_is_no_brand(router: tuple[str, Settings]) -> None:
    url, _ = router
    (fruit,) = conversation(url, "想买点苹果，新鲜的水果")
    assert fruit["call"] is None or "brand" not in fruit["call"]["arguments"]
    (phone,) = conversation(url, "想买个苹果手机")
    assert phone["call"]["constraints"]["brands"]["include"] == ["Apple"]
    assert phone["products"] and all(p["brand"] == "Apple" for p in phone["products"])
