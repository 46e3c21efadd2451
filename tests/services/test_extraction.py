"""Extraction service: a multi-turn smartphone dialog, chit-chat, validation."""

from __future__ import annotations

import pytest

from services.extraction.app import create_app
from shared.engines.artefacts import load_extraction, load_intent, models_dir
from tests.conftest import app_client


@pytest.fixture(autouse=True, scope="module")
def _models_loaded() -> None:
    """Load the models (``make models`` built them) once, before any app's start-up timeout runs."""
    load_intent(models_dir())
    load_extraction(models_dir())


SMARTPHONE_DIALOG = [
    {"role": "user", "content": "Hi, I'm looking to buy a new smartphone. Can you help recommend one based on my needs?"},
    {"role": "assistant", "content": "Absolutely! What are some of the key features you're looking for in your new phone?"},
    {"role": "user", "content": "I need a phone with a really good camera and display since I watch a lot of videos and "
     "take tons of pictures. Long battery life is also pretty important to me."},
    {"role": "assistant", "content": "Do you have any preferences for the brand or operating system?"},
    {"role": "user", "content": "I'm open to either iOS or Android. As for brands, I like Samsung and Google Pixel "
     "phones. I also want a 6 inch screen."},
]


async def test_seed_smartphone_dialog(settings) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/extract", json={"messages": SMARTPHONE_DIALOG})
    assert response.status_code == 200
    call = response.json()["call"]
    assert call["name"] == "get_recommds_by_sku"
    args = call["arguments"]
    assert args["category"] == "smartphone"
    assert "Samsung" in args["brand"] and "Google Pixel" in args["brand"]
    assert "6" in args["screen size"]


async def test_greetings_give_no_call(settings) -> None:
    async with app_client(create_app(settings)) as client:
        for text in ("Hello there!", "你好，在吗？"):
            response = await client.post("/v1/extract", json={"messages": [{"role": "user", "content": text}]})
            body = response.json()
            assert body["call"] is None and body["engine"] == "local"
            assert body["turn"]["category"] is None and body["turn"]["arguments"] == {}, "a greeting says nothing"
            assert body["usage"] is None  # no model ran


async def test_chinese_budget_and_later_turn_override(settings) -> None:
    messages = [
        {"role": "user", "content": "我想买个笔记本电脑，预算5000以内"},
        {"role": "assistant", "content": "好的，您主要用来做什么？"},
        {"role": "user", "content": "还是8000以内吧，要联想的"},
    ]
    async with app_client(create_app(settings)) as client:
        args = (await client.post("/v1/extract", json={"messages": messages})).json()["call"]["arguments"]
    assert args["category"] == "laptop"
    assert args["brand"] == "Lenovo"
    assert "8000" in args["price"]


async def test_the_last_message_is_read_as_a_delta(settings) -> None:
    messages = [
        {"role": "user", "content": "I need headphones"},
        {"role": "assistant", "content": "Sure, what will you use them for?"},
        {"role": "user", "content": "for the gym, not Sony, under 100 dollars"},
    ]
    async with app_client(create_app(settings)) as client:
        body = (await client.post("/v1/extract", json={"messages": messages})).json()
    turn = body["turn"]
    assert turn["category"] == "headphones" and turn["named"] is False, "the kind comes from the dialog"
    assert turn["arguments"]["use"] == "gym" and "brand" not in turn["arguments"]
    assert turn["constraints"]["brands"] == {"include": [], "exclude": ["Sony"]}
    assert turn["constraints"]["price"]["max"] == 100 * settings.currency_rates["USD"]
    assert body["call"]["constraints"] == turn["constraints"], "the call adds the turns up"


async def test_bad_input(settings) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/extract", json={"messages": [{"role": "user", "content": ""}]})
    assert response.status_code == 422
    assert "messages.0.content" in response.json()["error"]["message"]


async def test_seed_dialog_keeps_the_users_wishes(settings) -> None:
    async with app_client(create_app(settings)) as client:
        args = (await client.post("/v1/extract", json={"messages": SMARTPHONE_DIALOG})).json()["call"]["arguments"]
    assert "camera" in args["camera"].lower()
    assert "battery" in args["battery"].lower()


async def test_browsing_after_a_product_gives_no_call(settings) -> None:
    messages = [
        {"role": "user", "content": "can you check if my order shipped?"},
        {"role": "assistant", "content": "It shipped this morning and should arrive Thursday."},
        {"role": "user", "content": "great thanks. while I'm here, what's on clearance?"},
    ]
    async with app_client(create_app(settings)) as client:
        assert (await client.post("/v1/extract", json={"messages": messages})).json()["call"] is None
