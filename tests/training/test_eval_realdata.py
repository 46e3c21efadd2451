"""The real-data evaluation's scoring rules, on small records written here (never on the real data), and
its clean skip when the data directory is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.schemas import FunctionCall, Message
from shared.settings import get_settings
from training import eval_realdata as ev
from training.eval_realdata import Labels, Outcome, Result, ShoppingItem, SummaryItem

OUTSIDE = Labels(tax=None)


def item(
    item_id: str = "mg-1",
    intent: str | None = "intended shopping",
    alt: tuple[str, ...] = (),
    call: str | None = "yes",
    labels: Labels = OUTSIDE,
    lang: str = "en",
) -> ShoppingItem:
    message = Message.model_construct(role="user", content="a synthetic message")
    return ShoppingItem(item_id, lang, ev.source_of(item_id), (message,), intent, alt, call, labels)


def outcome(shopping: ShoppingItem, intent: str, **arguments: str) -> Outcome:
    return Outcome(shopping, intent, FunctionCall(arguments=arguments) if arguments else None)


def test_lenient_intent_takes_the_label_or_an_alternative() -> None:
    assert ev.intent_lenient("specific needs", "specific needs", ())
    assert ev.intent_lenient("intended shopping", "specific needs", ("intended shopping",))
    assert not ev.intent_lenient("random chat", "specific needs", ("intended shopping",))


def test_shopping_or_not_splits_after_the_second_level() -> None:
    assert not ev.is_shopping("random chat") and not ev.is_shopping("random shopping")
    assert all(ev.is_shopping(label) for label in ("intended shopping", "specific scenarios", "specific brand"))


def test_call_rule_scores_yes_and_no_only() -> None:
    assert ev.call_right("yes", True) and not ev.call_right("yes", False)
    assert ev.call_right("no", False) and not ev.call_right("no", True)
    assert ev.call_right("either", True) is None


def test_brand_captured_by_any_alias_case_folded() -> None:
    aliases = ["acme", "艾克米"]
    assert ev.brand_captured("ACME Pro 3", aliases)
    assert ev.brand_captured("艾克米", aliases)
    assert ev.brand_captured("Acme", ["acme tools"])  # the call's brand inside a longer alias
    assert not ev.brand_captured("Zenith", aliases)
    assert not ev.brand_captured(None, aliases) and not ev.brand_captured("", aliases)


def test_invented_brand_is_a_call_brand_where_none_was_named() -> None:
    assert ev.brand_invented("Zenith", [])
    assert not ev.brand_invented(None, []) and not ev.brand_invented("Zenith", ["zenith"])


def test_outside_catalog_accepts_no_category_or_a_near_one() -> None:
    outside = Labels(tax=None, tax_near=("desk_lamp",))
    assert ev.outside_catalog_right(None, outside)
    assert ev.outside_catalog_right("desk_lamp", outside)
    assert not ev.outside_catalog_right("sofa", outside)
    assert ev.outside_catalog_right("sofa", Labels(tax="sofa")) is None  # in the catalog: another rule
    assert ev.outside_catalog_right(None, Labels(tax="?")) is None


def test_category_strict_and_lenient() -> None:
    inside = Labels(tax="tent", tax_near=("hiking_backpack",))
    assert ev.category_right("tent", inside, lenient=False)
    assert not ev.category_right("hiking_backpack", inside, lenient=False)
    assert ev.category_right("hiking_backpack", inside, lenient=True)
    assert not ev.category_right(None, inside, lenient=True)
    assert ev.category_right("tent", Labels(tax="?"), lenient=True) is None


def test_sources_by_id_prefix() -> None:
    assert ev.source_of("mg-07-02") == "MG-ShopDial"
    assert ev.source_of("turn-ecd-test-001-00") == "ECD"
    assert ev.source_of("jddc-val-001-01") == "JDDC" and ev.source_of("esci-us-001") == "ESCI"


def test_scores_per_column_and_misses_by_id() -> None:
    brand = Labels(tax="smartphone", brand=("acme",))
    outcomes = [
        outcome(item("mg-1", "specific brand", labels=brand), "specific brand", category="smartphone", brand="Acme"),
        outcome(item("ecd-1", "specific needs", ("intended shopping",), lang="zh"), "intended shopping"),
        outcome(item("esci-1", "random chat", call="no", labels=Labels(tax="?")), "random chat"),
        outcome(item("mg-2", "intended shopping"), "specific brand", category="sofa", brand="Zenith"),
    ]
    scores = ev.score_shopping(outcomes, with_intent=True)
    assert scores.rate("intent strict", "all") == (0.5, 4)
    assert scores.rate("intent lenient", "zh") == (1.0, 1)
    assert scores.rate("call where yes", "all") == (2 / 3, 3)
    assert scores.rate("no call where no", "ESCI") == (1.0, 1)
    assert scores.rate("brand captured", "MG-ShopDial") == (1.0, 1)
    assert scores.rate("outside catalog: no wrong category", "all") == (0.5, 2)
    misses = dict(scores.misses["invented brands (count)"])
    assert list(misses) == ["mg-2"]
    assert "synthetic" not in " ".join(why for ms in scores.misses.values() for _, why in ms)  # ids, not texts
    table = "\n".join(ev.shopping_table("synthetic", scores))
    assert "1/4" in table.splitlines()[[r for r, _ in ev.SHOPPING_ROWS].index("invented brands (count)") + 1]


def test_summary_scores_skip_unlabelled_flags() -> None:
    labelled = SummaryItem("s-1", "用户：快递没到\n客服：帮您催", "用户询问快递", "客服催促", {"是否负面情绪": "否"})
    unlabelled = SummaryItem("s-2", "用户：快递呢\n客服：在催", "用户询问快递", "客服催促", {})
    answers = [{"用户问题": "用户询问快递", "客服方案": "客服催促", "是否负面情绪": "否", "是否接受": "是"}] * 2
    out = ev.score_summaries(list(zip([labelled, unlabelled], answers, strict=True)))
    assert out["是否负面情绪"] == (1.0, 1) and out["是否接受"][1] == 0
    assert out["用户问题"] == (pytest.approx(1.0), 2)  # identical texts; ROUGE-L on a 0..1 scale


def test_render_without_engines() -> None:
    shopping = item("mg-1", "specific needs", call="yes", labels=Labels(tax="tent"))
    result = Result(
        [outcome(shopping, "specific needs", category="tent")],
        [outcome(item("turn-esci-1", None, call=None, labels=Labels(tax=None)), "intended shopping")],
        [],
        {"intent": (1.0, 0.9), "extraction": (2.0, 1.8)},
    )
    report = ev.render(result)
    assert "target" in report and "p50 per request" in report and "a synthetic message" not in report
    assert "a synthetic message" in ev.render(result, verbose=True)  # the missed turn's text, on request only


def test_loads_the_documented_fields(tmp_path: Path) -> None:
    row = {
        "id": "esci-us-1",
        "split": "dev",
        "lang": "en",
        "source": "x",
        "intent": "specific needs",
        "intent_alt": [],
        "reason": "",
        "call": "yes",
        "category": "widget",
        "tax": None,
        "tax_near": [],
        "brand": [],
        "messages": [{"role": "user", "content": "blue widget"}],
        "labelled_by": "test",
    }
    (tmp_path / "shopping.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    [loaded] = ev.load_shopping(tmp_path / "shopping.jsonl")
    assert loaded.source == "ESCI" and loaded.labels == Labels(None) and loaded.messages[-1].content == "blue widget"


def test_absent_directory_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "realdata"
    answer = ev.report(missing)
    assert answer.count("\n") == 0 and "absent" in answer and "skipped" in answer
    missing.mkdir()
    (missing / "shopping.jsonl").write_text("", encoding="utf-8")
    assert "lacks turns.jsonl, summary.jsonl" in ev.report(missing)


def test_registered_evaluation_reads_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SG_REALDATA_DIR", str(tmp_path / "nowhere"))
    get_settings.cache_clear()
    try:
        answer = ev.realdata_report()
    finally:
        get_settings.cache_clear()
    assert answer == f"real data: {tmp_path / 'nowhere'} is absent; the real-data report is skipped"


def test_default_location_is_beside_the_checkout() -> None:
    from shared.settings import PROJECT_ROOT, Settings

    assert Settings(_env_file=None).realdata_dir == PROJECT_ROOT.parent / "shared" / "realdata"
