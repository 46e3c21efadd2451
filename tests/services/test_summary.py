"""Summary service: routes, validation, the example late-parcel dialog, refusals and complaints, what the local
summary leaves out (meta lines, chatter) and how it reports (third person), negative emotion, the LLM path with
its repair round and fallback, and label accuracy on the labelled set."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import services.summary.app as summary_app
from services.summary.app import create_app
from services.summary.engine import LocalSummariser
from services.summary.schemas import parse_transcript
from shared.llm import LLMUnavailable
from shared.prompts import load_prompt
from shared.settings import PROJECT_ROOT
from tests.conftest import app_client
from tests.services.conftest import FakeLLM

KEYS = ["用户问题", "客服方案", "是否接受", "是否负面情绪"]
PARCEL_DIALOG = (
    "用户：你好，我购买的商品一直没有收到，能帮我查一下物流信息吗？"
    "客服：您好，非常抱歉给您带来不便。请问您能提供一下订单号吗？我帮您查询一下物流信息。"
    "用户：订单号是123456789，麻烦你了。"
    "客服：好的，我帮您查询一下。根据物流信息显示，您的包裹目前正在途中，预计明天就能送达，请您耐心等待一下。"
    "用户：好的，谢谢你。"
    "客服：不客气，如果后续有任何问题，欢迎您随时联系我们。"
)
REFUSAL_AND_COMPLAINT = (
    "用户：我买的耳机才用了三天就坏了，左耳没声音。\n"
    "客服：非常抱歉，您可以申请售后维修，我们会在收到商品后7个工作日内处理。\n"
    "用户：维修？我要退货，不接受维修。\n"
    "客服：根据规定，超过7天只能维修哦。\n"
    "用户：太过分了，我要投诉你们，还要给差评！"
)
LABELLED = PROJECT_ROOT / "training" / "data" / "summary.jsonl"



@pytest.fixture
def fake_llm(install_fake_llm: Callable[..., FakeLLM]) -> Callable[..., FakeLLM]:
    return functools.partial(install_fake_llm, summary_app)


async def summarise(settings: Any, body: dict[str, Any]) -> Any:
    async with app_client(create_app(settings)) as client:
        return await client.post("/v1/summary", json=body)


async def test_health_ready_metrics(settings) -> None:
    async with app_client(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": "summary"}
        assert (await client.get("/readyz")).json()["ready"] is True
        assert (await client.post("/v1/summary", json={"conversation": PARCEL_DIALOG})).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert 'sg_engine_answers_total{engine="local",outcome="answered",service="summary"}' in metrics


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"conversation": "   "}, "conversation: the conversation is empty"),
        ({"conversation": "客服：您好，请问有什么可以帮您？"}, "no customer turn found: prefix the customer's lines with '用户：'"),
        ({"conversation": "我的快递没到"}, "no customer turn found"),
        ({}, "nothing to summarise: send 'conversation'"),
        ({"conversation": PARCEL_DIALOG, "messages": [{"role": "user", "content": "hi"}]}, "not both"),
        ({"messages": []}, "the conversation is empty"),
        ({"messages": [{"role": "assistant", "content": "您好"}]}, "at least one message with role 'user'"),
        ({"conversation": "用户：" + "啊" * 40000}, "the limit is 32000"),
        ({"conversation": PARCEL_DIALOG, "engine": "gpt"}, "engine"),
    ],
)
async def test_bad_input_is_a_readable_422(settings, body, fragment) -> None:
    response = await summarise(settings, body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]


async def test_seed_004_dialog(settings) -> None:
    body = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()
    summary = body["summary"]
    assert body["engine"] == "local" and list(summary) == KEYS
    assert summary["是否接受"] == "是" and summary["是否负面情绪"] == "否"
    assert "没有收到" in summary["用户问题"] and len(summary["用户问题"]) <= 30
    assert "预计明天" in summary["客服方案"] and len(summary["客服方案"]) <= 50
    assert "抱歉" not in summary["客服方案"] and "不客气" not in summary["客服方案"]


async def test_messages_form_gives_the_same_summary(settings) -> None:
    turns = parse_transcript(PARCEL_DIALOG)
    messages = [{"role": "user" if t.speaker == "用户" else "assistant", "content": t.text} for t in turns]
    by_text = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()
    by_messages = (await summarise(settings, {"messages": messages})).json()
    assert by_text == by_messages and len(turns) == 6


async def test_refusal_and_complaint(settings) -> None:
    summary = (await summarise(settings, {"conversation": REFUSAL_AND_COMPLAINT})).json()["summary"]
    assert summary["是否接受"] == "否" and summary["是否负面情绪"] == "是"
    assert "坏" in summary["用户问题"] and "维修" in summary["客服方案"]


OFFER = "用户：我买的台灯不亮了。\n客服：很抱歉，可以为您补发一个新的灯泡，预计两天送达。\n"


@pytest.mark.parametrize(
    ("last", "accepted", "negative"),
    [
        ("好的，谢谢！", "是", "否"),
        ("行吧，那我再等等。", "是", "否"),
        ("不接受，我要退货。", "否", "否"),
        ("不行，这样太麻烦了。", "否", "否"),
        ("算了，我不要了。", "否", "否"),
        ("我要投诉你们！", "否", "是"),
        ("再不解决我就打12315。", "否", "是"),  # leaves with a threat instead of agreeing
        ("好吧，再不解决我就打12315。", "是", "是"),  # agrees now; the threat is for later
        ("你们这是什么垃圾服务，我要给差评。", "否", "是"),
        ("我考虑一下。", "否", "否"),
        ("好吧，真是无语，下次别这样了。", "是", "是"),
    ],
)
def test_acceptance_and_emotion_from_the_final_turn(last, accepted, negative) -> None:
    summary = LocalSummariser().summarise(parse_transcript(OFFER + "用户：" + last))
    assert (summary.accepted, summary.negative) == (accepted, negative)


def test_picking_an_offered_option_is_acceptance_and_a_raised_voice_is_negative() -> None:
    engine = LocalSummariser()
    options = "用户：杯子收到就裂了。\n客服：非常抱歉，您可以选择补发或者退款。\n用户：算了，退款吧。"
    summary = engine.summarise(parse_transcript(options))
    assert (summary.accepted, summary.negative) == ("是", "否")
    shouted = "用户：我的包裹怎么还没到！\n客服：已为您催促快递，预计明天送达。\n用户：好的。"
    assert engine.summarise(parse_transcript(shouted)).negative == "是"


def test_closing_no_thanks_is_acceptance_but_declining_an_offer_is_not() -> None:
    closing = OFFER + "用户：好的\n客服：请问还有其他问题吗？\n用户：不用了，谢谢"
    declined = "用户：这个券能用吗？\n客服：需要满300元，您可以凑单再用。\n用户：不用了"
    engine = LocalSummariser()
    assert engine.summarise(parse_transcript(closing)).accepted == "是"
    assert engine.summarise(parse_transcript(declined)).accepted == "否"


# A chat as exported from a help desk: meta lines before the problem, the agent's chatter around the answer.
META_AND_CHATTER = (
    "用户：转人工\n用户：https://item.example.com/10086\n用户：[订单编号]\n用户：在吗？\n"
    "客服：您好，请问有什么可以帮您？\n"
    "用户：我买的电水壶烧水时底座一直漏水，能不能换一个？\n"
    "客服：请您稍等，正在为您查询。\n"
    "客服：很抱歉给您带来不便，已为您申请换货，快递员明天上门取件，新壶同时发出。\n"
    "客服：感谢您对本店的支持，麻烦您稍后给个好评哦~点击右下角即可\n"
    "用户：好的，谢谢"
)


def test_meta_lines_and_chatter_are_not_the_summary() -> None:
    summary = LocalSummariser().summarise(parse_transcript(META_AND_CHATTER))
    assert summary.problem.startswith("用户询问") and "漏水" in summary.problem and "是否能换" in summary.problem
    assert not any(word in summary.problem for word in ("人工", "http", "在吗", "订单编号", "我"))
    assert summary.solution.startswith("客服已") and "换货" in summary.solution and "上门取件" in summary.solution
    assert not any(word in summary.solution for word in ("稍等", "查询", "抱歉", "支持", "评价", "您"))
    assert len(summary.problem) <= 30 and len(summary.solution) <= 50


@pytest.mark.parametrize(
    ("dialog", "problem"),
    [
        ("用户：我买的台灯不亮了\n客服：已为您补发灯泡。", "用户买的台灯不亮了"),  # first person -> 用户
        ("用户：这款手机可以分期吗\n客服：可以，结算时选择分期即可。", "用户询问这款手机是否可以分期"),
        ("用户：这款耳机送不送收纳盒？\n客服：不送哦。", "用户询问这款耳机是否送收纳盒"),
        ("用户：订单已经发货了，不想要了\n客服：您可以拒收。", "用户表示订单已经发货了，不想要了"),
    ],
)
def test_the_problem_is_reported_in_the_third_person(dialog, problem) -> None:
    assert LocalSummariser().problem(parse_transcript(dialog)) == problem


def test_a_later_question_joins_the_problem_but_a_reaction_does_not() -> None:
    dialog = (
        "用户：你好，新买的吸尘器充不进电\n"
        "客服：您好，建议您换一个插座试试，如果还是充不进电可以申请售后维修。\n"
        "用户：原来是插座坏了，现在好了\n用户：那保修期是多久？\n"
        "客服：整机保修一年，电池保修半年。\n用户：好的"
    )
    summary = LocalSummariser().summarise(parse_transcript(dialog))
    assert "充不进电" in summary.problem and "保修期是多久" in summary.problem and "插座" not in summary.problem
    assert "插座" in summary.solution and "保修一年" in summary.solution


HASSLE = "用户：积分怎么兑换话费？\n客服：需要先下载客户端并完成实名认证，才能兑换。\n用户："


@pytest.mark.parametrize(
    ("last", "negative"),
    [
        ("手续这么繁琐，规定真不合理，不聊了", "是"),  # calls it unreasonable and leaves
        ("吸取教训了，下回不在这儿买了", "是"),  # a lesson learnt: disappointed
        ("等不及了，我还是去实体店买吧", "是"),  # in a hurry, gives up and buys elsewhere
        ("这么麻烦啊，那我问问银行吧", "否"),  # a hassle alone is mild
        ("去别家看看吧", "否"),
        ("？？？", "否"),  # puzzled, not angry
        ("您好！好的，谢谢！", "否"),  # "！" in a greeting or thanks is no raised voice
        ("你们这规定不合理！", "是"),
    ],
)
def test_negative_emotion_from_complaints_and_leaving(last, negative) -> None:
    assert LocalSummariser().negative(parse_transcript(HASSLE + last)) == negative


def test_the_agents_apology_is_not_the_users_negativity() -> None:
    dialog = "用户：羽绒服什么时候发货？\n客服：非常抱歉！！目前缺货，太慢了确实让您久等了。\n用户：好的，谢谢"
    assert LocalSummariser().negative(parse_transcript(dialog)) == "否"


def test_an_english_dialog_gets_an_english_extract() -> None:
    dialog = "用户：my parcel has not arrived\n客服：sorry, we will resend it tomorrow\n用户：ok thanks"
    summary = LocalSummariser().summarise(parse_transcript(dialog))
    assert summary.problem == "my parcel has not arrived" and summary.solution == "we will resend it tomorrow"


GOOD = '{"用户问题": "购买的商品未收到，请求查询物流", "客服方案": "查询物流告知包裹在途，预计明天送达", "是否接受": "是", "是否负面情绪": "否"}'


async def test_llm_json_is_used(settings, fake_llm) -> None:
    llm = fake_llm([f"```json\n{GOOD}\n```"])
    body = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()
    assert body == {"summary": json.loads(GOOD), "engine": "llm", "prompt_version": load_prompt("services.summary", "summary").version}
    system, data = llm.calls[0]
    assert system.role == "system" and "订单号是123456789" not in system.content
    assert data.role == "user" and "订单号是123456789" in data.content  # the transcript, as JSON data


async def test_llm_malformed_answer_is_repaired_once(settings, fake_llm) -> None:
    wordy = GOOD.replace('"是否接受": "是"', '"是否接受": "用户接受客服提供的方案，表示耐心等待"')
    llm = fake_llm([wordy, GOOD])
    body = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()
    assert body["engine"] == "llm" and body["summary"]["是否接受"] == "是"
    repair = llm.calls[1][-1].content
    assert llm.calls[1][2].content == wordy and "是否接受" in repair and "'是' or '否'" in repair


async def test_llm_twice_malformed_or_failing_falls_back_to_local(settings, fake_llm) -> None:
    fake_llm(["我认为用户接受了方案。", '{"用户问题": "x"}'])
    body = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()
    assert body["engine"] == "local" and body["summary"]["是否接受"] == "是" and list(body["summary"]) == KEYS
    fake_llm([LLMUnavailable("down")])
    assert (await summarise(settings, {"conversation": REFUSAL_AND_COMPLAINT})).json()["engine"] == "local"


async def test_llm_yes_no_variants_are_normalised(settings, fake_llm) -> None:
    fake_llm([GOOD.replace('"是否接受": "是"', '"是否接受": "是。"').replace('"是否负面情绪": "否"', '"是否负面情绪": "no"')])
    summary = (await summarise(settings, {"conversation": PARCEL_DIALOG})).json()["summary"]
    assert summary["是否接受"] == "是" and summary["是否负面情绪"] == "否"


@pytest.mark.skipif(not Path(LABELLED).exists(), reason="training/data/summary.jsonl is not there")
def test_label_accuracy_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    engine = LocalSummariser()
    accepted = negative = 0
    for row in rows:
        summary = engine.summarise(parse_transcript(row["conversation"]))
        accepted += summary.accepted == row["summary"]["是否接受"]
        negative += summary.negative == row["summary"]["是否负面情绪"]
        assert len(summary.problem) <= 30 and len(summary.solution) <= 50
    assert accepted / len(rows) >= 0.9 and negative / len(rows) >= 0.9, (accepted, negative, len(rows))
