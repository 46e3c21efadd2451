"""The NLG evaluations: character BLEU/ROUGE on hand-computed cases, the summary and copywriting reports."""

from __future__ import annotations

import math

import pytest

from services.copywriting.engine import product_json
from services.copywriting.schemas import CopyProduct
from shared.taxonomy import load_taxonomy
from shared.taxonomy.index import TaxonomyIndex
from training import eval_copywriting, eval_summary
from training.eval_summary import chars, corpus_bleu, rouge_l, rouge_n, text_scores
from training.registry import load_all


def test_chars_strip_punctuation_and_fold_width() -> None:
    assert chars("包裹，明天到。") == list("包裹明天到")
    assert chars("ＡB 1-3") == list("ab13")


def test_identical_strings_score_100() -> None:
    for hyp in (["包裹明天送达"], ["退货退款，1-3个工作日审核", "查询物流"]):
        scores = text_scores(hyp, hyp)
        assert all(value == pytest.approx(100) for value in scores.values())
    assert corpus_bleu(["包裹，明天到。"], ["包裹明天到"]) == pytest.approx(100)  # punctuation is not scored


def test_disjoint_strings_score_0() -> None:
    assert corpus_bleu(["退款"], ["物流在途"]) == 0
    assert rouge_n("退款", "物流在途", 1) == rouge_n("退款", "物流在途", 2) == rouge_l("退款", "物流在途") == 0
    assert corpus_bleu([""], ["物流在途"]) == 0 and rouge_l("", "物流在途") == 0


def test_partial_match_by_hand() -> None:
    # abcde / abcdf: 1-4-gram precisions 4/5, 3/4, 2/3, 1/2; equal lengths, no brevity penalty.
    assert corpus_bleu(["abcde"], ["abcdf"]) == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    assert rouge_n("abcde", "abcdf", 1) == pytest.approx(80)
    assert rouge_n("abcde", "abcdf", 2) == pytest.approx(75)
    assert rouge_l("abcde", "abcdf") == pytest.approx(80)
    # 包裹在途 / 包裹在途中明天送达: every n-gram of the hypothesis matches; brevity penalty exp(1 - 9/4).
    assert corpus_bleu(["包裹在途"], ["包裹在途中明天送达"]) == pytest.approx(100 * math.exp(1 - 9 / 4))
    # recall 4/9, precision 1: F1 = 2 * 4/9 / (1 + 4/9) = 8/13
    assert rouge_n("包裹在途", "包裹在途中明天送达", 1) == pytest.approx(100 * 8 / 13)
    # LCS of 查询物流信息 and 物流查询信息 is 4 (查询信息 or 物流信息): F1 = 4/6.
    assert rouge_l("查询物流信息", "物流查询信息") == pytest.approx(100 * 4 / 6)


def test_bleu_is_corpus_level_and_smoothed() -> None:
    # Counts are summed before dividing: two one-sided halves are not two averages.
    assert corpus_bleu(["abcd", "wxyz"], ["abcd", "wxyq"]) == pytest.approx(100 * (7 / 8 * 5 / 6 * 3 / 4 * 1 / 2) ** 0.25)
    # Orders with no match, the 'exp' smoothing: 1 / (2^k x their n-gram count), k = 1, 2, 3 in turn.
    assert corpus_bleu(["axbxc"], ["abc"]) == pytest.approx(100 * (3 / 5 * 1 / 8 * 1 / 12 * 1 / 16) ** 0.25)


def test_summary_evaluation_on_a_subset() -> None:
    examples = eval_summary.load_summaries()
    assert len(examples) >= 40
    result = eval_summary.evaluate_summaries(examples[:12])
    assert result["n"] == 12 and not result["invalid"]
    assert set(result["labels"]) == {"是否接受", "是否负面情绪"}
    for info in result["labels"].values():
        assert {"accuracy", "correct", "confusion", "third_accuracy", "errors"} <= set(info)
        assert sum(info["confusion"].values()) == 12
    for scores in result["text"].values():
        assert {"bleu4", "rouge1", "rouge2", "rougeL", "third", "mean_chars", "mean_ref_chars"} <= set(scores)
        assert 0 <= scores["bleu4"] <= 100 and 0 <= scores["rougeL"] <= 100
    report = eval_summary.render(result)
    assert "format valid" in report and "BLEU-4" in report and "tuned" in report


def test_format_problems() -> None:
    good = {"用户问题": "未收到货", "客服方案": "补发", "是否接受": "是", "是否负面情绪": "否"}
    assert eval_summary.format_problems(good) == []
    assert eval_summary.format_problems({**good, "是否接受": "接受"})
    assert eval_summary.format_problems({k: v for k, v in good.items() if k != "客服方案"})
    assert eval_summary.format_problems({**good, "extra": 1})
    assert eval_summary.format_problems("not an object")


def test_unsupported_values_are_found() -> None:
    index = TaxonomyIndex(load_taxonomy())
    phone = index.category_named("smartphone")
    assert phone is not None
    product = CopyProduct(skuName="某手机", attributes={"screen panel": "OLED", "colour": "black"}, intro="OLED屏")
    source = product_json(product)
    # OLED (in either language) and black are in the input; AMOLED and 蓝色 are not ("OLED" inside "AMOLED"
    # is no OLED claim, and AMOLED屏 counts once, as the pair AMOLED / AMOLED屏).
    assert eval_copywriting.unsupported_values("OLED屏，黑色，black", source, phone, index) == []
    assert eval_copywriting.unsupported_values("AMOLED屏，蓝色", source, phone, index) == [
        "screen panel=AMOLED",
        "colour=蓝色",
    ]


def test_copywriting_evaluation_on_a_subset() -> None:
    result = eval_copywriting.evaluate_copywriting(per_category=1)
    assert result["products"] == result["categories"] == 40
    assert result["copies"] == 40 * 2 * (2 + len(eval_copywriting.EXPLICIT_LENGTHS))
    assert set(result["passed"]) == set(eval_copywriting.CHECKS)
    assert result["passed"]["length"] == (result["copies"], result["copies"])  # the bound is always held
    assert result["passed"]["numbers"][0] == result["copies"]
    assert result["passed"]["repeats"] == (result["copies"], result["copies"])  # every fact stated once
    ok, due = result["passed"]["review"]
    assert due > 0 and ok >= 0.9 * due
    report = eval_copywriting.render(result)
    assert "length" in report and "attributes" in report and "repeats" in report and "review" in report


def test_repeated_values_and_quoted_reviews_are_found() -> None:
    index = TaxonomyIndex(load_taxonomy())
    phone = index.category_named("smartphone")
    assert phone is not None
    product = {
        "skuName": "Pixel 8a 6.1英寸", "attributes": {"screen size": "6.1 inch", "screen panel": "OLED"},
        "skuCommentList": [{"commentContent": "屏幕很细腻，户外也看得清。"}],
    }
    # 6.1英寸 and 6.1 inch are one value in two spellings; OLED屏 and OLED overlap and count once.
    assert eval_copywriting.repeated_values("Pixel 8a 6.1英寸：屏幕尺寸6.1 inch，OLED屏", product, phone, index) == [
        "screen size=6.1 inch x2"
    ]
    assert eval_copywriting.repeated_values("Pixel 8a：6.1英寸、OLED屏。", product, phone, index) == []
    assert eval_copywriting.quotes_a_review("买家说：“屏幕很细腻，户外也看得清”。", product)
    assert not eval_copywriting.quotes_a_review("买家说：“续航很好”。", product)  # not what any buyer wrote


def test_registered() -> None:
    assert {"summary", "copywriting"} <= set(load_all())
