"""The trained local engines: artefacts, calibrated probabilities, extraction rules, scene."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from shared.engines.artefacts import INTENT_ARTEFACT, ArtefactError, load_intent, read
from shared.engines.extraction import ExtractionModel
from shared.engines.intent import SOURCES, IntentModel
from shared.engines.scene import extract_scene
from tests.conftest import chat
from training import train_intent


def test_artefacts_round_trip_and_go_stale(intent: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "intent.npz"
    train_intent.save(intent, path)
    loaded = train_intent.load(path)
    assert loaded is not None
    dialog = chat("想买个降噪耳机，每天地铁通勤用")
    assert loaded.predict(dialog).probabilities == pytest.approx(intent.predict(dialog).probabilities)
    arrays = dict(np.load(path))
    np.savez(path, **{**arrays, "fingerprint": np.array("built from other data")})
    assert train_intent.load(path) is None  # stale: make models rebuilds it
    assert train_intent.load(tmp_path / "missing.npz") is None


def test_a_service_loads_only_what_it_can_serve(intent: IntentModel, tmp_path: Path) -> None:
    """Older training data still serves; other engine code, a broken file or none fails, naming make models."""
    path = tmp_path / INTENT_ARTEFACT
    train_intent.save(intent, path)
    arrays = dict(np.load(path))
    np.savez(path, **{**arrays, "training_fingerprint": np.array("trained on older data")})
    assert train_intent.load(path) is None  # make models rebuilds it
    dialog = chat("想买个降噪耳机，每天地铁通勤用")
    assert load_intent(tmp_path).predict(dialog).probabilities == pytest.approx(intent.predict(dialog).probabilities)
    for problem, spoil in (
        ("is stale", lambda: np.savez(path, **{**arrays, "fingerprint": np.array("other engine code")})),
        ("is unreadable", lambda: path.write_bytes(b"not an artefact")),
        ("is missing", path.unlink),
    ):
        spoil()
        with pytest.raises(ArtefactError, match=re.escape(f"{path} {problem}") + ".*`make models`"):
            read(path, SOURCES)


def test_probabilities_are_a_distribution(intent: IntentModel) -> None:
    prediction = intent.predict(chat("hi"))
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert prediction.confidence == max(prediction.probabilities.values())
    assert intent.classifier.temperature > 0


@pytest.mark.parametrize(
    ("turns", "label"),
    [
        (
            (
                "I need headphones",
                "I'd suggest the Sony WH-1000XM5 or the Bose QuietComfort Ultra.",
                "how's the battery life on the Sony?",
            ),
            "specific needs",
        ),  # the bot offered the brand
        (
            (
                "I need headphones",
                "I'd suggest the Sony WH-1000XM5 or the Bose QuietComfort Ultra.",
                "what about Sennheiser? I've always liked their sound",
            ),
            "specific brand",
        ),  # the user brings one
        (("想买个台灯", "好的，请问主要放在哪里用？", "大学宿舍"), "specific scenarios"),
        (("随便逛逛",), "random shopping"),
        (("能分期免息吗？我准备买了",), "specific needs"),
        # Real shop chat: a search-box query, a question about the item on the page, after-sales talk.
        (("folding step stool",), "intended shopping"),
        (("这款洗了会缩水吗",), "specific needs"),
        (("is the strap adjustable?",), "specific needs"),
        (("收到的碗有个缺口，怎么退",), "random chat"),
        (
            ("I'd like a new kettle", "Sure! Electric or stovetop?", "the kettle I ordered came with a dent"),
            "random chat",
        ),
    ],
)
def test_context_decides(intent: IntentModel, turns: tuple[str, ...], label: str) -> None:
    assert intent.predict(chat(*turns)).label == label


def test_extraction_follows_the_dialog(extraction: ExtractionModel) -> None:
    switched = extraction.extract(chat("想买个瑜伽垫，紫色的", "好的", "算了，还是先买个跑步机吧，要能折叠的"))
    assert switched is not None and switched.arguments["category"] == "treadmill"
    assert "colour" not in switched.arguments  # the old category's wishes are dropped
    corrected = extraction.extract(chat("想买件羽绒服，黑色M码", "好的", "黑色的太常见了，换个米色的吧"))
    assert corrected is not None and corrected.arguments["colour"] == "米色"
    offered = extraction.extract(
        chat(
            "I need a coffee machine",
            "The Breville Barista Express and the De'Longhi Dedica are customer favourites.",
            "one with a milk frother please",
        )
    )
    assert offered is not None and "brand" not in offered.arguments  # only the bot named them
    by_brand = extraction.extract(chat("thinking about a Dyson V15"))
    assert by_brand is not None and by_brand.arguments == {"category": "vacuum_cleaner", "brand": "Dyson V15"}


def test_brands_with_precision(extraction: ExtractionModel) -> None:
    phone = extraction.extract(chat("我想买个苹果手机"))
    assert phone is not None and phone.arguments["brand"] == "Apple"
    assert phone.constraints is not None and phone.constraints.brands is not None
    assert phone.constraints.brands.include == ["Apple"]
    fruit = extraction.extract(chat("想买点苹果，新鲜的水果"))
    assert fruit is None or "brand" not in fruit.arguments, "苹果 beside fruit words is the fruit"
    grain = extraction.extract(chat("小米粥怎么煮好喝，想买个电饭煲"))
    assert grain is not None and grain.arguments["category"] == "rice_cooker" and "brand" not in grain.arguments
    words = extraction.extract(chat("Good morning! I'm looking for a smartphone. So I lost mine, Run me some picks"))
    assert words is not None and "brand" not in words.arguments
    link = extraction.extract(chat("这个耳机 http://item.jd.com/100012.html 还有吗"))
    assert link is not None and "brand" not in link.arguments


def test_brands_excluded(extraction: ExtractionModel) -> None:
    call, turn = extraction.read(chat("我想买个手机", "好的", "不要苹果的，预算3000以内"))
    assert call is not None and "brand" not in call.arguments
    assert turn.constraints.brands is not None and turn.constraints.brands.exclude == ["Apple"]
    assert turn.constraints.price is not None and turn.constraints.price.max == 3000
    _, besides = extraction.read(chat("想买个扫地机器人，除了小米还有什么推荐"))
    assert besides.constraints.brands is not None and besides.constraints.brands.exclude == ["Xiaomi"]
    _, english = extraction.read(chat("I need headphones", "Sure!", "anything but Sony or Bose"))
    assert english.constraints.brands is not None and english.constraints.brands.exclude == ["Sony", "Bose"]


def test_a_feature_named_like_a_kind_is_no_switch(extraction: ExtractionModel) -> None:
    call, turn = extraction.read(
        chat("I'm looking for a new smartphone.", "Sure!", "Camera quality matters most, and my budget is about $800.")
    )
    assert call is not None and call.arguments["category"] == "smartphone" and "camera" in call.arguments
    assert turn.category == "smartphone" and turn.constraints.price is not None
    switched = extraction.extract(chat("I'm looking for a new smartphone.", "Sure!", "actually I want a camera"))
    assert switched is not None and switched.arguments["category"] == "camera"


def test_slot_values_are_the_wish_not_the_leftover(extraction: ExtractionModel) -> None:
    tent = extraction.extract(chat("which tent would you suggest for 4 people"))
    assert tent is not None and tent.arguments["capacity"] == "4 people"
    cream = extraction.extract(chat("推荐一款面霜"))
    assert cream is not None and cream.arguments == {"category": "moisturizer"}
    _, cheap = extraction.read(chat("推荐一款面霜", "好的", "不要太贵，两三百的"))
    assert cheap.arguments["price"] == "两三百" and cheap.relative == [], "a stated price is no move past the shown"


def test_scene() -> None:
    scene = extract_scene(chat("下周去三亚旅游，需要准备点什么东西？"), "specific scenarios")
    assert "三亚" in scene.scene and scene.aim == ""
    assert extract_scene(chat("我想给女朋友买个礼物"), "intended shopping").aim == "送女朋友"
    assert extract_scene(chat("下周去三亚旅游"), "random chat").scene == ""  # empty for chit-chat
