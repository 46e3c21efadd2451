"""Dialog service: routes, validation, the grounded local guide, small talk, streaming, the LLM path."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import pytest

import services.dialog.app as dialog_app
from services.dialog.app import create_app
from services.dialog.engine import HISTORY_TURNS
from shared.engines.constraints import Currencies
from shared.lexicon import invented_numbers
from shared.llm import LLMStreamCut, LLMUnavailable
from shared.prompts import load_prompt
from shared.schemas import Message, MessageDict
from shared.settings import Settings, get_settings
from shared.sse import EventStreamResponse
from shared.taxonomy import load_taxonomy
from shared.text import is_chinese
from tests.conftest import app_client
from tests.services.conftest import FakeLLM, parse_sse, user

PHONES = [
    {
        "skuId": "p1",
        "skuName": "Galaxy S24 Ultra",
        "brand": "Samsung",
        "category": "smartphone",
        "price": 9699.0,
        "attributes": {"screen size": "6.8 inch", "camera": "200MP quad camera", "battery": "5000mAh"},
        "skuCommentList": [
            {"commentContent": "Heavy in the hand. The camera is amazing, night photos are crisp.", "score": 5}
        ],
    },
    {
        "skuId": "p2",
        "skuName": "Pixel 8",
        "brand": "Google Pixel",
        "category": "smartphone",
        "price": 4999,
        "attributes": {"screen size": "6.2 inch", "camera": "50MP dual camera", "battery": "4575mAh"},
        "skuCommentList": [{"commentContent": "Battery is poor. Great photos though!", "score": 4}],
    },
]
OTHER_PHONES = ("iPhone", "Xiaomi", "Huawei", "OnePlus", "Honor", "OPPO", "vivo")


def bot(text: str) -> MessageDict:
    return {"role": "assistant", "content": text}


def taxonomy_text() -> str:
    """Every value the taxonomy offers as an example, so numbers from the guide's questions count as known."""
    tax = load_taxonomy()
    attrs = [a for c in tax.categories.values() for a in c.attributes] + list(tax.common_attributes)
    return " ".join(v for a in attrs for v in (*a.values_en, *a.values_zh))



@pytest.fixture
def fake_llm(install_fake_llm: Callable[..., FakeLLM]) -> Callable[..., FakeLLM]:
    return functools.partial(install_fake_llm, dialog_app)


async def post(settings: Any, body: dict[str, Any]) -> Any:
    async with app_client(create_app(settings)) as client:
        return await client.post("/v1/dialog", json=body)


# --------------------------------------------------------------------------- service basics
async def test_health_ready_metrics(settings) -> None:
    async with app_client(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": "dialog"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert (await client.post("/v1/dialog", json={"messages": [user("hi")]})).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert 'sg_http_requests_total{method="POST",route="/v1/dialog",service="dialog",status="200"}' in metrics
    assert 'sg_engine_answers_total{engine="local",outcome="answered",service="dialog"}' in metrics


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": []}, "the conversation is empty"),
        ({"messages": [bot("hello")]}, "at least one message with role 'user'"),
        ({"messages": [user("hi")], "intent": "buying"}, "intent"),
        ({"messages": [user("hi")], "products": [{"skuId": "x", "skuName": "A"}] * 11}, "at most 10"),
        ({"messages": [user("hi")], "products": [{"skuId": "x"}]}, "products.0.skuName"),
        ({"messages": [user("hi")], "knowledge": [{"text": "x" * 9000}]}, "knowledge[0].text is 9000 characters"),
        ({"messages": [user("x" * 9000)]}, "the limit is 8000"),
        ({"messages": [user("hi")], "stream": "maybe"}, "stream"),
        ({"messages": [user("hi")], "temperature": 1}, "temperature"),
    ],
)
async def test_bad_input_is_a_readable_422(settings, body, fragment) -> None:
    response = await post(settings, body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error" and fragment in error["message"]


# --------------------------------------------------------------------------- grounded guide (local)
async def test_grounded_reply_mentions_only_given_products_and_asks_the_top_missing_attribute(settings) -> None:
    body = {
        "messages": [user("I need a phone with a really good camera and long battery life.")],
        "intent": "specific needs",
        "call": {"arguments": {"category": "smartphone", "camera": "good camera", "battery": "long battery life"}},
        "products": PHONES,
    }
    response = await post(settings, body)
    assert response.status_code == 200
    reply = response.json()["reply"]
    assert response.json()["engine"] == "local"
    assert "Galaxy S24 Ultra" in reply and "Pixel 8" in reply
    assert "¥9699" in reply and "¥4999" in reply
    assert "night photos are crisp" in reply and "Great photos though" in reply  # the best review sentence
    assert "Battery is poor" not in reply and "Heavy in the hand" not in reply
    assert not any(name.lower() in reply.lower() for name in OTHER_PHONES)
    # camera and battery are known; screen size is the smartphone's most important attribute left.
    assert reply.rstrip().endswith("?") and "screen size" in reply.splitlines()[-1]
    sources = [json.dumps(body), taxonomy_text(), "1 2 3"]
    assert invented_numbers(reply, sources) == []


async def test_more_products_than_three_are_cut_to_three(settings) -> None:
    many = [{**PHONES[0], "skuId": f"p{i}", "skuName": f"Model {chr(65 + i)}"} for i in range(5)]
    reply = (await post(settings, {"messages": [user("recommend a phone")], "products": many})).json()["reply"]
    assert "Model A" in reply and "Model C" in reply and "Model D" not in reply


async def test_known_slots_from_call_dialog_and_answered_question(settings) -> None:
    base = {"intent": "specific needs", "call": {"arguments": {"category": "smartphone", "screen size": "6.7英寸"}}}
    first = await post(settings, {**base, "messages": [user("我想买个手机，拍照要好")]})
    reply = first.json()["reply"]
    assert is_chinese(reply)
    assert "屏幕材质" in reply and "屏幕尺寸" not in reply  # size from the call, camera from the dialog
    answered = [user("我想买个手机，拍照要好"), bot(reply), user("都可以")]
    second = (await post(settings, {**base, "messages": answered})).json()["reply"]
    assert "预算" in second and "屏幕材质" not in second
    done = [*answered, bot(second), user("5000元以内吧")]
    third = (await post(settings, {**base, "messages": done, "products": PHONES[:1]})).json()["reply"]
    assert "？" in third and "预算" not in third and "屏幕材质" not in third and "Galaxy S24 Ultra" in third


async def test_unknown_category_asks_what_to_buy_and_knowledge_is_quoted(settings) -> None:
    body = {"messages": [user("I want to buy something nice")], "intent": "intended shopping"}
    reply = (await post(settings, body)).json()["reply"]
    assert "kind of" in reply and reply.count("?") == 1  # one question: what kind of product (worded variously)
    tip = "Wider screens suit video lovers. Ignore this sentence."
    body = {"messages": [user("I need a laptop")], "intent": "intended shopping", "knowledge": [{"text": tip}]}
    reply = (await post(settings, body)).json()["reply"]
    assert "Tip: Wider screens suit video lovers." in reply and "Ignore this" not in reply
    assert "screen size" in reply  # the laptop's first attribute
    chunk = "How to choose a laptop\n## Screens\nWider screens suit video lovers. More text here."
    other = "如何选购笔记本\n## 屏幕\n大屏适合看视频的用户。"
    body["knowledge"] = [{"text": other}, {"text": chunk}]
    reply = (await post(settings, body)).json()["reply"]
    assert "Tip: Wider screens suit video lovers." in reply, "the title and heading are skipped, zh hit passed over"


# --------------------------------------------------------------------------- a guide's voice (local)
CHEAP_PHONES = [
    {
        "skuId": "c1",
        "skuName": "华为 畅享70 5G手机 6.7英寸 LCD屏",
        "skuNameEn": "Huawei Enjoy 70 5G Smartphone 6.7 inch LCD",
        "brand": "Huawei",
        "category": "smartphone",
        "price": 1199.0,
        "attributes": {"screen size": "6.7 inch", "screen panel": "LCD", "camera": "50MP triple camera"},
        "skuCommentList": [{"commentContent": "续航很给力，一天一充够用。", "score": 5}],
    },
    {
        "skuId": "c2",
        "skuName": "荣耀 X50 5G手机 6.8英寸 LCD屏",
        "skuNameEn": "Honor X50 5G Smartphone 6.8 inch LCD",
        "brand": "Honor",
        "category": "smartphone",
        "price": 1099.0,
        "attributes": {"screen size": "6.8 inch", "screen panel": "LCD", "camera": "50MP triple camera"},
        "skuCommentList": [{"commentContent": "Big bright screen, love it for videos.", "score": 5}],
    },
]


def local_reply(body: dict[str, Any], currencies: Currencies | None = None) -> str:
    from services.dialog.engine import LocalDialogEngine
    from services.dialog.schemas import DialogRequest
    from shared.taxonomy.index import TaxonomyIndex

    engine = LocalDialogEngine(TaxonomyIndex(load_taxonomy()), currencies=currencies)
    return engine.plan(DialogRequest.model_validate(body)).reply


def questions(reply: str) -> int:
    return reply.count("?") + reply.count("？")


def phone_turn(
    text: str,
    arguments: dict[str, str],
    products: list[dict[str, Any]],
    constraints: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A turn about phones; ``constraints`` as the router sends them, else the call carries words only."""
    call: dict[str, Any] = {"arguments": {"category": "smartphone", **arguments}}
    if constraints is not None:
        call["constraints"] = constraints
    return {"messages": [user(text)], "intent": "specific needs", "call": call, "products": products, **extra}


def usd() -> float:
    """What a dollar is worth in the catalog's currency, as the settings say."""
    return get_settings().currency_rates["USD"]


@pytest.mark.parametrize(
    ("text", "arguments", "constraints", "expect"),
    [
        ("我想买个手机，预算3000以内", {"price": "3000以内"}, None, ("3000元以内",)),
        ("a phone under 3000 yuan please", {"price": "under 3000 yuan"}, None, ("under ¥3000",)),
        # The structured range is what the catalog applied, whatever the words: "<3000" reads as none.
        ("a phone, budget <3000", {"price": "<3000"}, {"price": {"max": 3000}}, ("under ¥3000",)),
        ("a phone, budget max 3000", {}, {"price": {"max": 3000}}, ("under ¥3000",)),
        ("想要华为的手机，跑步时用", {"brand": "Huawei", "use": "跑步"}, None, ("华为", "适合跑步")),
        ("a Huawei phone for commuting", {"brand": "Huawei", "use": "commuting"}, None,
         ("from Huawei", "for commuting")),
        ("想要华为的手机", {}, {"brands": {"include": ["Huawei"]}}, ("华为手机",)),
        ("a phone, 6.7 inch or so", {}, {"attributes": {"screen size": {"min": 6.03, "max": 7.37, "unit": "inch"}}},
         ("with a screen size of about 6.7 inch",)),
        ("六七英寸的手机", {}, {"attributes": {"screen size": {"min": 6.5, "max": 6.8, "unit": "inch"}}},
         ("屏幕尺寸6.5-6.8英寸",)),
    ],
)
def test_the_reply_acknowledges_the_constraints_it_applied(text, arguments, constraints, expect) -> None:
    reply = local_reply(phone_turn(text, arguments, CHEAP_PHONES, constraints))
    opener = reply.splitlines()[0]
    assert all(fragment in opener for fragment in expect), opener
    assert is_chinese(reply) == is_chinese(text)
    assert "最接近" not in reply and "closest" not in reply  # the products do fit


@pytest.mark.parametrize(
    ("text", "words", "dollars", "expect"),
    [
        ("a phone under $300", "under $300", (None, 300), "under $300"),
        ("想买手机，500美元以内", "500美元以内", (None, 500), "500美元以内"),
        ("a phone around $200", "around $200", (160, 240), "around $200"),
        # A later turn moved the range ("cheaper"): the values tell, said in the user's dollars.
        ("something cheaper", "under $300", (None, 250), "under $250"),
    ],
)
def test_a_budget_in_dollars_is_said_back_in_dollars(text, words, dollars, expect) -> None:
    low, high = (None if d is None else round(d * usd(), 2) for d in dollars)
    constraints = {"price": {"min": low, "max": high}}
    reply = local_reply(phone_turn(text, {"price": words}, CHEAP_PHONES, constraints))
    assert expect in reply.splitlines()[0], reply
    assert "最接近" not in reply and "closest" not in reply and "¥1199" in reply  # compared in yuan: they fit


def test_the_dollar_rate_is_the_settings() -> None:
    phone = {**CHEAP_PHONES[0], "price": 950.0}
    words = phone_turn("a phone under $100", {"price": "under $100"}, [phone])
    dear = local_reply(words, Currencies.of(Settings(_env_file=None, currency_rates={"USD": 7.0})))
    cheap = local_reply(words, Currencies.of(Settings(_env_file=None, currency_rates={"USD": 10.0})))
    assert "closest" in dear and "under $100" in dear  # ¥950 is over $100 at 7 yuan a dollar
    assert "closest" not in cheap and "under $100" in cheap  # and within it at 10


def test_a_call_without_constraints_is_read_as_the_catalog_reads_it() -> None:
    # An outside caller's words: the shared parser reads them (brand aliases, Chinese figures, "about").
    reply = local_reply(phone_turn("想要华为手机，两千左右", {"brand": "华为", "price": "两千左右"}, CHEAP_PHONES))
    assert "2000元左右的华为手机" in reply.splitlines()[0], reply
    reply = local_reply(phone_turn("a phone, between 1000 and 1500 dollars", {"price": "between 1000 and 1500 dollars"},
                                   CHEAP_PHONES))
    assert "between $1000 and $1500" in reply.splitlines()[0] and "closest" in reply.splitlines()[0], reply
    # Words the parser reads as no range ("cheap") are acknowledged as nothing.
    reply = local_reply(phone_turn("a cheap phone", {"price": "cheap"}, CHEAP_PHONES))
    assert "¥" not in reply.splitlines()[0] and "$" not in reply.splitlines()[0]
    # Without any call yet, a budget the user states is still noted.
    reply = local_reply({"messages": [user("预算3000以内，买点什么好")], "intent": "specific needs"})
    assert "3000元以内" in reply and questions(reply) == 1


def test_an_excluded_brand_is_acknowledged_and_its_products_left_out() -> None:
    products = [*CHEAP_PHONES, {**PHONES[0], "skuId": "a1", "skuName": "iPhone 15", "brand": "Apple", "price": 999}]
    not_apple = {"brands": {"exclude": ["Apple"]}}
    reply = local_reply(phone_turn("I need a phone, not Apple, under 2000", {"price": "under 2000"}, products,
                                   {**not_apple, "price": {"max": 2000}}))
    assert "other than Apple" in reply.splitlines()[0] and "iPhone" not in reply
    reply = local_reply(phone_turn("想买手机，不要苹果的", {}, products, not_apple))
    assert "苹果以外" in reply.splitlines()[0] and "iPhone" not in reply


@pytest.mark.parametrize(
    ("text", "arguments", "relaxed", "expect"),
    [
        ("推荐个手机，100元以内", {"price": "100元以内"}, ["price"], ("100元以内", "暂时没有", "最接近", "¥1099")),
        ("推荐个手机，100元以内", {"price": "100元以内"}, [], ("100元以内", "最接近")),  # seen from the prices alone
        ("a phone under $100", {"price": "under $100"}, ["price"], ("under $100", "closest", "¥1099")),
        ("I want a Sony phone", {"brand": "Sony"}, ["brand"], ("from Sony", "closest")),
    ],
)
def test_relaxed_filters_are_said_honestly(text, arguments, relaxed, expect) -> None:
    reply = local_reply(phone_turn(text, arguments, CHEAP_PHONES, relaxed=relaxed))
    opener, *rest = reply.splitlines()
    assert all(fragment in reply for fragment in expect), reply
    assert any(word in opener for word in ("暂时没有", "目前没有", "couldn't find", "no smartphones")), opener
    assert "Enjoy 70" in reply or "畅享70" in reply  # still shown, as the closest
    assert questions(reply) == 1 and questions(rest[-1]) == 1  # one question: can the requirement give?


def test_a_product_over_budget_among_fitting_ones_is_marked() -> None:
    products = [*CHEAP_PHONES, {**PHONES[1], "price": 4999}]
    reply = local_reply(phone_turn("预算1500以内的手机", {"price": "1500以内"}, products))
    assert "1500元以内" in reply.splitlines()[0] and "最接近" not in reply
    assert "（¥4999，超出预算）" in reply and "（¥1199）" in reply
    between = {"price": {"min": 1100, "max": 1500}}
    reply = local_reply(phone_turn("a phone between 1100 and 1500 yuan", {}, products, between))
    assert "(¥1099, below budget)" in reply and "(¥4999, over budget)" in reply and "(¥1199)" in reply


TENTS = [
    {
        "skuId": "t1",
        "skuName": "挪客 云尚2 双人帐篷",
        "skuNameEn": "Naturehike Cloud Up 2 Tent",
        "brand": "Naturehike",
        "category": "tent",
        "price": 399.0,
        "attributes": {"capacity": "2 person", "season": "3-season"},
    },
    {
        "skuId": "t2",
        "skuName": "科尔曼 Sundome 帐篷",
        "skuNameEn": "Coleman Sundome Tent",
        "brand": "Coleman",
        "category": "tent",
        "price": 459.0,
        "attributes": {"capacity": "3-4 person", "season": "summer"},
    },
]


def tent_turn(text: str, constraints: dict[str, Any], relaxed: list[str]) -> dict[str, Any]:
    call = {"arguments": {"category": "tent"}, "constraints": constraints}
    return {"messages": [user(text)], "intent": "specific needs", "call": call, "products": TENTS, "relaxed": relaxed}


FOR_SIX = {"attributes": {"capacity": {"min": 6, "unit": "person"}}}
FOUR_SEASON = {"attributes": {"season": {"value": "4-season"}}}
NOT_THESE = {"brands": {"exclude": ["Naturehike", "Coleman"]}}


@pytest.mark.parametrize(
    ("text", "constraints", "relaxed", "opener", "question"),
    [
        ("a tent for 6 people under 500 yuan", {**FOR_SIX, "price": {"max": 500}}, ["attribute:capacity"],
         "no tents under ¥500 with a capacity of at least 6 people", "capacity"),
        ("想要6人以上的帐篷，500以内", {**FOR_SIX, "price": {"max": 500}}, ["attribute:capacity"],
         "500元以内、容纳人数6人以上的帐篷", "容纳人数"),
        ("a tent for winter", FOUR_SEASON, ["attribute:season"], "4-season tents", "season"),
        ("冬天用的帐篷", FOUR_SEASON, ["attribute:season"], "四季的帐篷", "季节"),
        ("a tent, not Naturehike or Coleman", NOT_THESE, ["brand_exclude"],
         "Everything I found is from Naturehike or Coleman, which you wanted to avoid", "Naturehike or Coleman"),
        ("帐篷，不要挪客和科尔曼", NOT_THESE, ["brand_exclude"], "找到的都是挪客、科尔曼的", "挪客、科尔曼"),
        ("a Hilleberg tent", {"brands": {"include": ["Hilleberg"]}}, ["brand"], "tents from Hilleberg", "brands"),
        ("要希尔伯格的帐篷", {"brands": {"include": ["Hilleberg"]}}, ["brand"], "Hilleberg帐篷", "品牌"),
        ("a tent under 100 yuan", {"price": {"max": 100}}, ["price"], "the closest ones start at ¥399", "price"),
        ("一百以内的帐篷", {"price": {"max": 100}}, ["price"], "最便宜的¥399", "价格"),
        ("a tent", {"attributes": {"season": {"value": "summer"}}}, ["attribute:season", "category"], "tents", "?"),
    ],
)
def test_each_relaxed_constraint_is_said_and_asked_about(text, constraints, relaxed, opener, question) -> None:
    reply = local_reply(tent_turn(text, constraints, relaxed))
    first, *_, last = reply.splitlines()
    assert opener in first, reply
    assert question in last and questions(reply) == 1 and questions(last) == 1, reply
    assert is_chinese(reply) == is_chinese(text)
    assert "Sundome" in reply  # still shown, as the closest


def test_the_llm_is_told_the_constraints_and_which_the_products_miss() -> None:
    from services.dialog.engine import LocalDialogEngine, constraints_text
    from services.dialog.schemas import DialogRequest
    from shared.taxonomy.index import TaxonomyIndex

    index = TaxonomyIndex(load_taxonomy())
    body = tent_turn("a tent for 6 people, not Coleman, under $70", {**FOR_SIX, "price": {"max": round(70 * usd(), 2)},
                     "brands": {"exclude": ["Coleman"]}}, ["attribute:capacity"])
    body["call"]["arguments"]["price"] = "under $70"
    plan = LocalDialogEngine(index).plan(DialogRequest.model_validate(body))
    assert constraints_text(plan, index) == (
        "budget under $70; not the brand \"Coleman\"; capacity: a capacity of at least 6 people. "
        "NOT met by the products: the capacity"
    )


def test_a_measured_attribute_the_products_miss_is_seen_from_their_values() -> None:
    # A recommender that does not report relaxing: the products' own capacities tell.
    reply = local_reply(tent_turn("a tent for 6 people", FOR_SIX, []))
    assert "with a capacity of at least 6 people" in reply.splitlines()[0] and "closest" in reply.splitlines()[0]
    for_three = {"attributes": {"capacity": {"min": 3, "unit": "person"}}}
    reply = local_reply(tent_turn("a tent for 3 people", for_three, []))
    assert "closest" not in reply, reply


async def test_a_gift_without_a_product_kind_gets_kinds_of_products(settings) -> None:
    turns = ["想给我妈买个礼物", "她喜欢做饭", "预算500以内"]
    replies: list[str] = []
    messages: list[MessageDict] = []
    for text, intent in zip(turns, ("intended shopping", "intended shopping", "specific scenarios"), strict=True):
        messages.append(user(text))
        reply = (await post(settings, {"messages": messages, "intent": intent})).json()["reply"]
        replies.append(reply)
        messages.append(bot(reply))
    assert not any("哪一类商品" in r for r in replies), replies
    assert all(questions(r) == 1 and is_chinese(r) for r in replies), replies
    assert "妈妈" in replies[0] and "做饭" in replies[0]  # kinds for a mom, then what she enjoys
    assert "电饭煲" in replies[1] and "预算" in replies[1]  # cooking kinds, then the budget
    assert "500元以内" in replies[2] and "电饭煲" in replies[2]
    assert "咖啡机" not in replies[2] and "冰箱" not in replies[2]  # kinds the budget cannot reach are left out


async def test_an_english_gift_dialog_continues_past_a_browsing_label(settings) -> None:
    messages: list[MessageDict] = []
    replies = []
    for text, intent in [("I want to buy a gift for my mom", "intended shopping"),
                         ("she loves cooking", "intended shopping"),
                         ("under $100", "random shopping")]:  # the intent model's label for a bare budget
        messages.append(user(text))
        replies.append((await post(settings, {"messages": messages, "intent": intent})).json()["reply"])
        messages.append(bot(replies[-1]))
    assert "rice cookers" in replies[1].lower() and "under $100" in replies[2] and "rice cooker" in replies[2]
    assert not any("What kind of product" in r or "Browsing is fun" in r for r in replies), replies
    assert all(questions(r) == 1 and not is_chinese(r) for r in replies)


def test_a_gift_for_someone_unnamed_asks_who_it_is_for() -> None:
    reply = local_reply({"messages": [user("想买个礼物")], "intent": "intended shopping"})
    assert "送给谁" in reply and questions(reply) == 1


def test_openers_vary_across_requests_and_are_fixed_per_request() -> None:
    bodies = [phone_turn(f"我想买个手机，预算{n}以内", {"price": f"{n}以内"}, CHEAP_PHONES) for n in range(2000, 2030)]
    openers = [local_reply(b).splitlines()[0].replace(f"{b['call']['arguments']['price'][:4]}", "N") for b in bodies]
    assert len(set(openers)) >= 3, set(openers)
    assert all(local_reply(b) == local_reply(b) for b in bodies[:5])
    english = {local_reply(phone_turn(f"a phone under {n} yuan", {"price": f"under {n}"}, CHEAP_PHONES)).split(":")[0]
               .replace(str(n), "N") for n in range(2000, 2030)}
    assert len(english) >= 3, english


@pytest.mark.parametrize(
    "body",
    [
        phone_turn("我想买个手机", {}, CHEAP_PHONES),
        phone_turn("I want a phone", {}, CHEAP_PHONES),
        phone_turn("I want a phone", {}, CHEAP_PHONES[:1]),
        phone_turn("我想买个手机", {}, []),
        phone_turn("推荐个手机，100元以内", {"price": "100元"}, CHEAP_PHONES, relaxed=["price"]),
        {"messages": [user("送女朋友礼物，预算300")], "intent": "specific scenarios"},
        {"messages": [user("I want to buy something nice")], "intent": "intended shopping"},
    ],
)
def test_every_shopping_reply_asks_one_question(body) -> None:
    assert questions(local_reply(body)) == 1


def test_with_products_shown_the_question_helps_choose_between_them() -> None:
    # Both have the same panel and camera; the screen size is unknown and differs: that is the choice.
    reply = local_reply(phone_turn("I want a phone with an LCD screen and a triple camera",
                                   {"screen panel": "LCD", "camera": "50MP triple camera"}, CHEAP_PHONES))
    last = reply.splitlines()[-1]
    assert "screen size" in last and "6.7 inch" in last and "6.8 inch" in last and questions(last) == 1
    # The product lines do not repeat what the names already say.
    assert reply.count("6.7 inch") == 2  # in the name and in the question, not again in the line


def test_the_calls_values_are_the_truth_and_its_words_are_read_as_the_catalog_reads_them() -> None:
    from services.dialog.constraints import read_asked
    from shared.schemas import FunctionCall
    from shared.taxonomy.index import TaxonomyIndex

    index = TaxonomyIndex(load_taxonomy())
    phone = index.category_named("smartphone")
    currencies = Currencies("CNY", {"USD": 7.0})

    def read(arguments: dict[str, str], constraints: dict[str, Any] | None = None, said: str = "") -> tuple[Any, ...]:
        call = FunctionCall.model_validate({"arguments": arguments, "constraints": constraints})
        asked = read_asked(call, [said], phone, index, currencies)
        price = (asked.price.min, asked.price.max) if asked.price else None
        return price, asked.budget.text(False) if asked.budget else "", asked.brands, asked.excluded, asked.use

    # Words only: the shared parser, brands in the catalog's spelling.
    assert read({"brand": "华为", "price": "3000以内", "use": "拍照"}) == ((None, 3000), "under ¥3000", ("Huawei",), (), "拍照")
    assert read({"price": "under $100"}) == ((None, 700), "under $100", (), (), "")
    # Values: what the catalog applied, whatever the words or the user's messages say.
    values = {"price": {"max": 5000}, "brands": {"exclude": ["Apple"]}}
    assert read({"brand": "Apple"}, values, "不要苹果，预算100以内") == ((None, 5000), "under ¥5000", (), ("Apple",), "")
    assert read({"price": "under $800"}, {"price": {"max": 3500}}) == ((None, 3500), "under $500", (), (), "")
    # A call without a price reads none from the messages: the catalog applied none.
    assert read({}, None, "预算3000以内")[0] is None


async def test_history_window_keeps_the_last_turns() -> None:
    from services.dialog.engine import window

    messages = [Message(**m) for i in range(15) for m in (user(f"u{i}"), bot(f"b{i}"))] + [Message(**user("now"))]
    kept = window(messages)
    assert kept[0].content == "u5" and kept[-1].content == "now"
    assert sum(m.role == "user" for m in kept) == HISTORY_TURNS + 1


# --------------------------------------------------------------------------- small talk
@pytest.mark.parametrize(
    ("text", "intent", "expect"),
    [
        ("Hello! How are you?", "random chat", ("Hi there", "doing great", "buy")),
        ("你好呀，今天好无聊", "random chat", ("您好", "添置")),
        ("just browsing, anything interesting?", "random shopping", ("Browsing is fun", "gift")),
    ],
)
async def test_chit_chat_is_friendly_steers_to_shopping_and_names_no_product(settings, text, intent, expect) -> None:
    response = await post(settings, {"messages": [user(text)], "intent": intent, "products": PHONES})
    reply = response.json()["reply"]
    assert all(fragment in reply for fragment in expect), reply
    assert "Galaxy" not in reply and "Pixel" not in reply and "¥" not in reply
    assert is_chinese(reply) == is_chinese(text)


# --------------------------------------------------------------------------- streaming
async def test_stream_sends_tokens_then_done_equal_to_the_reply(settings) -> None:
    body = {"messages": [user("我想买个手机，拍照要好")], "intent": "specific needs", "products": PHONES}
    async with app_client(create_app(settings)) as client:
        plain = (await client.post("/v1/dialog", json=body)).json()
        streamed = await client.post("/v1/dialog", json={**body, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(streamed.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"} and len(kinds) > 5
    tokens = "".join(data["text"] for kind, data in events if kind == "token")
    assert tokens == events[-1][1]["reply"] == plain["reply"]
    assert events[-1][1]["engine"] == "local"


# --------------------------------------------------------------------------- the LLM path (fake LLM)
async def test_llm_stream_is_relayed_with_products_and_window_in_the_prompt(settings, fake_llm) -> None:
    llm = fake_llm(pieces=["Shopping Guide: ", "The Galaxy ", "S24 Ultra ", "has a 200MP camera."])
    history = [m for i in range(12) for m in (user(f"question {i}"), bot(f"answer {i}"))]
    body = {
        "messages": [*history, user("which phone?")], "intent": "specific needs", "products": PHONES, "stream": True
    }
    events = parse_sse((await post(settings, body)).text)
    tokens = "".join(d["text"] for k, d in events if k == "token")
    assert tokens == "The Galaxy S24 Ultra has a 200MP camera."  # the "Shopping Guide:" prefix is dropped
    usage = {"prompt_tokens": len(llm.calls[0]), "completion_tokens": 4, "estimated": False}
    version = load_prompt("services.dialog", "guide").version
    assert events[-1] == (
        "done", {"reply": tokens, "engine": "llm", "finish_reason": "stop", "prompt_version": version, "usage": usage}
    )
    system, *chat = llm.calls[0]
    assert system.role == "system"
    assert '"name":"Galaxy S24 Ultra"' in system.content and '"price":4999' in system.content
    assert "screen size" in system.content  # what to ask next
    assert "<constraints>none stated</constraints>" in system.content
    assert chat[0].content == "question 2" and chat[-1].content == "which phone?" and chat[0].role == "user"
    assert llm.closed


async def test_llm_failing_before_the_first_token_falls_back_to_the_local_reply(settings, fake_llm) -> None:
    fake_llm(pieces=[LLMUnavailable("all endpoints down")])
    body = {"messages": [user("I need a phone with a good camera")], "intent": "specific needs", "products": PHONES}
    events = parse_sse((await post(settings, {**body, "stream": True})).text)
    assert events[-1][0] == "done" and events[-1][1]["engine"] == "local"
    assert "Galaxy S24 Ultra" in events[-1][1]["reply"]
    assert "".join(d["text"] for k, d in events if k == "token") == events[-1][1]["reply"]


async def test_llm_failing_mid_stream_ends_with_an_error_event(settings, fake_llm) -> None:
    llm = fake_llm(pieces=["The Galaxy ", "S24 Ultra is ", LLMStreamCut("connection reset")])
    body = {"messages": [user("which phone?")], "intent": "specific needs", "products": PHONES, "stream": True}
    events = parse_sse((await post(settings, body)).text)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "error" and "done" not in kinds and kinds.count("token") >= 1
    error = events[-1][1]
    assert error["type"] == "llm_stream_cut" and "retry" in error["message"]
    assert error["partial"] == "".join(d["text"] for k, d in events if k == "token")
    assert llm.closed


async def test_llm_non_streamed_answer_and_fallback(settings, fake_llm) -> None:
    body = {"messages": [user("hi")], "intent": "random chat"}
    fake_llm(replies=["Hello! Anything you'd like to shop for today?"])
    answer = (await post(settings, body)).json()
    usage = {"prompt_tokens": 2, "completion_tokens": 8, "estimated": False}  # the system prompt and "hi"; 8 words
    assert answer == {
        "reply": "Hello! Anything you'd like to shop for today?",
        "engine": "llm",
        "finish_reason": "stop",
        "usage": usage,
        "prompt_version": load_prompt("services.dialog", "chat").version,
    }
    fake_llm(replies=[LLMUnavailable("down")])
    fallback = (await post(settings, body)).json()
    assert fallback["engine"] == "local" and "Hi there" in fallback["reply"] and fallback["prompt_version"] is None
    llm = fake_llm(replies=["unused"])
    forced = (await post(settings, {**body, "engine": "local"})).json()
    assert forced["engine"] == "local" and llm.calls == []


async def test_client_disconnect_closes_the_llm_stream(settings, fake_llm) -> None:
    """A client hanging up mid-stream must stop the upstream generation (the LLM iterator is closed)."""
    from services.dialog.engine import DialogGuide, LocalDialogEngine
    from services.dialog.schemas import DialogRequest
    from shared.taxonomy.index import TaxonomyIndex

    llm = FakeLLM(endless=True)
    guide = DialogGuide(llm, LocalDialogEngine(TaxonomyIndex(load_taxonomy())))
    request = DialogRequest(messages=[Message(**user("tell me a story"))], intent="random chat")
    response = EventStreamResponse(guide.stream(request))
    sent: list[MutableMapping[str, Any]] = []

    stalled = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await stalled.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if len(sent) == 3:  # a slow client, gone: the generator waits at a yield when the client hangs up
            stalled.set()
            await asyncio.sleep(10)

    scope = {"type": "http", "asgi": {"spec_version": "2.3"}, "method": "POST", "path": "/v1/dialog", "headers": []}
    await asyncio.wait_for(response(scope, receive, send), timeout=2)
    assert len([m for m in sent if m["type"] == "http.response.body"]) == 2  # tokens went out, then the client left
    assert llm.closed


async def test_a_failing_producer_ends_the_stream_with_an_error_event() -> None:
    async def broken() -> AsyncIterator[tuple[str, dict[str, Any]]]:
        yield "token", {"text": "Hel"}
        raise RuntimeError("bug")

    response = EventStreamResponse(broken())
    body = b""

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal body
        body += message.get("body", b"")

    await response({"type": "http", "asgi": {"spec_version": "2.4"}, "headers": []}, receive, send)
    events = parse_sse(body.decode())
    assert events[0] == ("token", {"text": "Hel"})
    assert events[-1][0] == "error" and events[-1][1]["type"] == "internal_error"


def test_llm_prompt_is_trimmed_by_tokens_oldest_exchanges_first() -> None:
    from services.dialog.engine import within_budget
    from shared.llm.base import ChatMessage
    from shared.llm.chunking import count_tokens

    history = [ChatMessage(role="user" if i % 2 == 0 else "assistant", content=f"turn {i} " * 50) for i in range(9)]
    kept = within_budget("system", history, max_tokens=350)
    assert kept[-1] == history[-1] and kept[0].role == "user"
    assert [m.content for m in kept] == [m.content for m in history[-len(kept):]], "the newest exchanges stay"
    assert sum(count_tokens(m.content) for m in kept) <= 350 - count_tokens("system") < sum(
        count_tokens(m.content) for m in history[-len(kept) - 2 :]
    )
    # Chinese is counted in tokens (character pairs), not characters: 600 characters are ~300 tokens.
    chinese = [ChatMessage(role="user", content="手机" * 300)]
    assert within_budget("", chinese, max_tokens=400) == chinese
    cut = within_budget("", chinese, max_tokens=100)[0].content
    assert cut.endswith("…") and count_tokens(cut) <= 101
