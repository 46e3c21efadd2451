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
from shared.lexicon import invented_numbers
from shared.llm import LLMStreamCut, LLMUnavailable
from shared.schemas import Message, MessageDict
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


def local_reply(body: dict[str, Any]) -> str:
    from services.dialog.engine import LocalDialogEngine
    from services.dialog.schemas import DialogRequest
    from shared.taxonomy.index import TaxonomyIndex

    return LocalDialogEngine(TaxonomyIndex(load_taxonomy())).plan(DialogRequest.model_validate(body)).reply


def questions(reply: str) -> int:
    return reply.count("?") + reply.count("？")


def phone_turn(text: str, arguments: dict[str, str], products: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    call = {"arguments": {"category": "smartphone", **arguments}}
    return {"messages": [user(text)], "intent": "specific needs", "call": call, "products": products, **extra}


@pytest.mark.parametrize(
    ("text", "arguments", "expect"),
    [
        ("我想买个手机，预算3000以内", {"price": "3000以内"}, ("3000元以内",)),
        ("a phone under 3000 yuan please", {"price": "under 3000 yuan"}, ("under ¥3000",)),
        ("a phone, budget <3000", {"price": "<3000"}, ("under ¥3000",)),  # a structured range reads the same
        ("a phone, budget max 3000", {"price_max": "3000"}, ("under ¥3000",)),  # so do separate keys
        ("想要华为的手机，跑步时用", {"brand": "Huawei", "use": "跑步"}, ("华为", "适合跑步")),
        ("a Huawei phone for commuting", {"brand": "Huawei", "use": "commuting"}, ("from Huawei", "for commuting")),
    ],
)
def test_the_reply_acknowledges_the_constraints_it_applied(text, arguments, expect) -> None:
    reply = local_reply(phone_turn(text, arguments, CHEAP_PHONES))
    opener = reply.splitlines()[0]
    assert all(fragment in opener for fragment in expect), opener
    assert is_chinese(reply) == is_chinese(text)
    assert "最接近" not in reply and "closest" not in reply  # the products do fit


def test_an_excluded_brand_is_acknowledged_and_its_products_left_out() -> None:
    products = [*CHEAP_PHONES, {**PHONES[0], "skuId": "a1", "skuName": "iPhone 15", "brand": "Apple", "price": 999}]
    reply = local_reply(phone_turn("I need a phone, not Apple, under 2000", {"brand": "Apple", "price": "under 2000"},
                                   products))
    assert "other than Apple" in reply.splitlines()[0] and "iPhone" not in reply
    reply = local_reply(phone_turn("想买手机，不要苹果的", {"exclude_brand": "苹果"}, products))
    assert "苹果以外" in reply.splitlines()[0] and "iPhone" not in reply


@pytest.mark.parametrize(
    ("text", "arguments", "relaxed", "expect"),
    [
        ("推荐个手机，100元以内", {"price": "100元"}, ["price"], ("100元以内", "暂时没有", "最接近", "¥1099")),
        ("推荐个手机，100元以内", {"price": "100元"}, [], ("100元以内", "最接近")),  # seen from the prices alone
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


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("700以内", None, 700), ("under $1500", None, 1500), ("<700", None, 700), ("2000-3000元", 2000, 3000),
        ("3000元以上", 3000, None), ("一万以内", None, 10000), ("两千块以内", None, 2000), ("5k", None, 5000),
        ("between 200 and 500", 200, 500), ("100元", None, 100), (">=3000", 3000, None),
    ],
)
def test_budget_forms(text, low, high) -> None:
    from services.dialog.constraints import parse_budget

    budget = parse_budget(text)
    assert budget is not None and (budget.low, budget.high) == (low, high)
    assert parse_budget("cheap") is None and parse_budget("性价比高") is None
    around = parse_budget("1500左右")
    assert around is not None and around.text(True) == "1500元左右" and around.fits(1600) and not around.fits(2000)


def test_constraints_are_read_from_the_call_and_the_users_words() -> None:
    from services.dialog.constraints import read_constraints
    from shared.taxonomy.index import TaxonomyIndex

    index = TaxonomyIndex(load_taxonomy())
    phone = index.category_named("smartphone")

    def read(arguments: dict[str, str], said: str) -> tuple[Any, ...]:
        c = read_constraints(arguments, said, phone, index)
        return (c.budget.low, c.budget.high) if c.budget else None, c.brands, c.excluded, c.use

    assert read({"brand": "华为", "price": "3000以内", "use": "拍照"}, "") == ((None, 3000), ("Huawei",), (), "拍照")
    assert read({"brand": "not Samsung"}, "") == (None, (), ("Samsung",), "")
    assert read({"price_min": "1000", "price_max": "2000"}, "") == ((1000, 2000), (), (), "")
    assert read({}, "手机，预算5000元以内吧") == ((None, 5000), (), (), "")  # no price in the call: the words
    # Extraction may pass a brand the user ruled out as the brand; the words tell; asked for again, it is wanted.
    assert read({"brand": "Apple"}, "想买手机，不要苹果的") == (None, (), ("Apple",), "")
    assert read({"brand": "Apple"}, "想买手机，不要苹果的\n算了，还是要苹果吧") == (None, ("Apple",), (), "")


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
    assert events[-1] == ("done", {"reply": tokens, "engine": "llm", "finish_reason": "stop", "usage": usage})
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
        "reply": "Hello! Anything you'd like to shop for today?", "engine": "llm", "finish_reason": "stop", "usage": usage
    }
    fake_llm(replies=[LLMUnavailable("down")])
    fallback = (await post(settings, body)).json()
    assert fallback["engine"] == "local" and "Hi there" in fallback["reply"]
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
