"""The evaluation harness: its results file and HTML report, the comparison with the previous run, the text
scores against sacrebleu, a real service over HTTP, and the model-as-judge pass against the simulator."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import httpx
import jsonschema
import pytest
from sacrebleu.metrics import BLEU, CHRF

from services.intent.app import create_app as intent_app
from shared.settings import PROJECT_ROOT, PoolSettings, Settings
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as simulator_app
from training.eval_summary import chars, corpus_bleu, rouge_l, rouge_n
from training.harness.cli import main
from training.harness.judge import CRITERIA, PROMPT_FILE
from training.harness.results import Results
from training.harness.targets import routed_to

HYPOTHESES = ["用户想买一台轻薄的笔记本电脑，预算五千元", "客服推荐了两款手机并说明了续航", "不满意", "Refund ASAP, order 12345"]
REFERENCES = ["用户咨询轻薄笔记本，预算5000元左右", "客服推荐两款续航长的手机", "用户表示不满意", "refund for order 12345"]
# Remote references in the report: anything fetched (src/href to a URL, CSS url() or @import, a script).
REMOTE = re.compile(r"(?:src|href)\s*=\s*['\"]?\s*(?:https?:)?//|url\(|@import|<script|<link", re.I)


def _results(out: Path, name: str = "local") -> Results:
    return Results.model_validate_json((out / f"{name}.json").read_text("utf-8"))


# --------------------------------------------------------------------------- BLEU and ROUGE against sacrebleu
def test_character_bleu4_equals_sacrebleu() -> None:
    stripped = ["".join(chars(t)) for t in HYPOTHESES], ["".join(chars(t)) for t in REFERENCES]
    expected = BLEU(tokenize="char").corpus_score(stripped[0], [stripped[1]]).score
    assert corpus_bleu(HYPOTHESES, REFERENCES) == pytest.approx(expected, abs=1e-9)
    # Smoothing: one pair whose 4-grams never match (sacrebleu's default "exp" smoothing).
    expected = BLEU(tokenize="char").corpus_score(["abcdxyz"], [["abcxyzd"]]).score
    assert corpus_bleu(["abcdxyz"], ["abcxyzd"]) == pytest.approx(expected, abs=1e-9) and expected > 0


def test_character_rouge_n_equals_sacrebleu_chrf_per_order() -> None:
    """chrF with beta 1 and eps smoothing is the mean over its character orders of each order's n-gram F1: at
    order 1 ROUGE-1, at order 2 the mean of ROUGE-1 and ROUGE-2."""
    for hyp, ref in zip(HYPOTHESES, REFERENCES, strict=True):
        h, r = "".join(chars(hyp)), "".join(chars(ref))
        f1 = CHRF(char_order=1, word_order=0, beta=1, eps_smoothing=True).sentence_score(h, [r]).score
        f12 = CHRF(char_order=2, word_order=0, beta=1, eps_smoothing=True).sentence_score(h, [r]).score
        assert rouge_n(hyp, ref, 1) == pytest.approx(f1, abs=1e-9)
        assert rouge_n(hyp, ref, 2) == pytest.approx(2 * f12 - f1, abs=1e-9)


def test_rouge_l_equals_a_brute_force_longest_common_subsequence() -> None:
    def lcs(a: str, b: str) -> int:
        @cache
        def length(i: int, j: int) -> int:
            if i == len(a) or j == len(b):
                return 0
            return length(i + 1, j + 1) + 1 if a[i] == b[j] else max(length(i + 1, j), length(i, j + 1))

        return length(0, 0)

    for hyp, ref in zip(HYPOTHESES, REFERENCES, strict=True):
        h, r = "".join(chars(hyp)), "".join(chars(ref))
        common = lcs(h, r)
        expected = 100 * 2 * common / (len(h) + len(r)) if common else 0.0
        assert rouge_l(hyp, ref) == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------- results, report, comparison
def test_results_file_report_and_regressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--tasks", "summary", "copywriting", "--limit", "6", "--out", str(tmp_path)]
    assert main(args) == 0
    first = _results(tmp_path)
    raw = json.loads((tmp_path / "local.json").read_text("utf-8"))
    jsonschema.validate(raw, Results.model_json_schema())
    assert set(first.tasks) == {"summary", "copywriting"} and first.comparison is None
    summary = first.tasks["summary"]
    assert summary.n == 6 and summary.engines == {"local": 6} and summary.metrics["answered"] == 1.0
    assert {"valid", "accept_accuracy", "negative_accuracy", "problem_bleu4", "solution_rougeL"} <= set(summary.metrics)
    assert all(0 <= v <= 1 for v in first.scores().values())
    assert first.latency["summary"].n == 6 and len(first.latency["summary"].samples_ms) == 6
    assert first.latency["copywriting"].n == first.tasks["copywriting"].n > 0
    assert "baseline" in capsys.readouterr().out

    page = (tmp_path / "local.html").read_text("utf-8")
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 4  # scores x2, latency histograms x2
    assert not REMOTE.search(page), REMOTE.search(page)

    # The previous run scored BLEU higher than now by more than the tolerance, and ROUGE-L by less.
    raw["tasks"]["summary"]["metrics"]["problem_bleu4"] += 0.05
    raw["tasks"]["summary"]["metrics"]["problem_rougeL"] += 0.01
    (tmp_path / "local.json").write_text(json.dumps(raw), "utf-8")
    assert main([*args, "--fail-on-regression"]) == 1
    second = _results(tmp_path)
    assert second.comparison is not None and second.comparison.previous == str(tmp_path / "local.json")
    assert [c.metric for c in second.comparison.regressions] == ["summary.problem_bleu4"]
    assert second.comparison.regressions[0].delta == pytest.approx(-0.05)
    assert second.comparison.compared == len(first.scores())
    assert second.comparison.previous_scores["summary.problem_bleu4"] == raw["tasks"]["summary"]["metrics"][
        "problem_bleu4"]
    assert (tmp_path / "local.previous.json").is_file()
    assert "REGRESSION summary.problem_bleu4" in capsys.readouterr().out
    page = (tmp_path / "local.html").read_text("utf-8")
    assert re.search(r"<tr class='regression'><td>problem_bleu4</td>", page)
    assert not re.search(r"<tr class='regression'><td>problem_rougeL</td>", page)

    # Unchanged scores: the third run compares with the second and finds nothing.
    assert main([*args, "--fail-on-regression"]) == 0
    assert _results(tmp_path).comparison.regressions == []  # type: ignore[union-attr]


# --------------------------------------------------------------------------- a running service over HTTP
def test_base_url_evaluates_a_running_service_and_skips_what_it_does_not_serve(
    tmp_path: Path, settings: Settings
) -> None:
    with run_in_thread(intent_app(settings)) as server:
        assert main(["--base", server.url, "--tasks", "intent", "extraction", "--limit", "12",
                     "--out", str(tmp_path)], settings) == 0
    name = "http-" + re.sub(r"[^A-Za-z0-9]+", "-", server.url.split("://")[1])
    results = _results(tmp_path, name)
    assert results.target.kind == "http" and results.target.description == server.url
    intent = results.tasks["intent"]
    assert intent.n == 12 and intent.engines == {"local": 12} and intent.failed == 0
    assert intent.confusion is not None and sum(map(sum, intent.confusion.matrix)) == 12
    assert set(intent.per_label) == set(intent.confusion.labels)
    assert 0 < intent.metrics["accuracy"] <= 1 and results.latency["intent"].n == 12
    extraction = results.tasks["extraction"]
    assert extraction.skipped and "/v1/extract answered 404" in extraction.skipped
    page = (tmp_path / f"{name}.html").read_text("utf-8")
    assert "Confusion matrix" in page and "F1 per label" in page and not REMOTE.search(page)


def test_a_stopped_service_is_failures_not_scores(tmp_path: Path, settings: Settings) -> None:
    with run_in_thread(intent_app(settings)) as server:
        url = server.url
    assert main(["--base", url, "--tasks", "intent", "--limit", "3", "--out", str(tmp_path)], settings) == 0
    results = Results.model_validate_json(next(tmp_path.glob("http-*.json")).read_text("utf-8"))
    intent = results.tasks["intent"]
    assert intent.failed == 3 and intent.n == 0 and intent.metrics["answered"] == 0.0
    assert intent.failures and "ConnectError" in intent.failures[0]


# --------------------------------------------------------------------------- model as judge
VERDICT = '{"scores": {"helpful": 4, "appealing": 5, "grounded": 3, "fluent": 5}, "reason": "fine"}'


def test_judge_scores_dialog_and_copy_with_the_configured_model(tmp_path: Path, settings: Settings) -> None:
    config = SimConfig(model_name="judge-sim-7b", script=["I think it is good."], reply=VERDICT)
    with run_in_thread(simulator_app(config)) as sim:
        settings = settings.model_copy(update={"llm_pools": {"sim": PoolSettings(endpoints=[sim.url])}})
        args = ["--tasks", "summary", "--limit", "2", "--judge", "sim", "--judge-items", "2", "--out", str(tmp_path)]
        assert main(args, settings) == 0
        requests = [r["body"] for r in httpx.get(f"{sim.url}/sim/stats").json()["last_requests"]]
    judged = _results(tmp_path).judge
    assert judged is not None and judged.model == "judge-sim-7b" and judged.backend == "sim"
    assert judged.rubric == PROMPT_FILE
    assert judged.rubric_sha256 == hashlib.sha256((PROJECT_ROOT / PROMPT_FILE).read_bytes()).hexdigest()
    assert [len(judged.items[k]) for k in ("dialog", "copy")] == [2, 2]
    first, *rest = judged.items["dialog"]
    assert first.problem and "no JSON object" in first.problem and not first.scores  # the scripted non-answer
    assert all(s.scores == {"helpful": 4, "grounded": 3, "fluent": 5} for s in rest)
    assert judged.mean == {"dialog": {"helpful": 4.0, "grounded": 3.0, "fluent": 5.0},
                           "copy": {"appealing": 5.0, "grounded": 3.0, "fluent": 5.0}}
    # What the judge read: the rubric as the system message, the item (the guide's reply, the copy) as data.
    assert len(requests) == 4
    system, user = requests[0]["messages"][0]["content"], requests[0]["messages"][1]["content"]
    assert "fixed rubric" in system and ", ".join(CRITERIA["dialog"]) in system
    assert '"reply"' in user and '"products"' in user
    assert '"copy"' in requests[-1]["messages"][1]["content"]
    assert "judge-sim-7b" in (tmp_path / "local.html").read_text("utf-8")


def test_an_unknown_backend_is_refused_by_name(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown backend 'nope'.*bedrock"):
        routed_to(settings, "nope")
    assert main(["--tasks", "summary", "--judge", "nope"], settings) == 2


# --------------------------------------------------------------------------- a named LLM backend
def test_backend_routes_the_tasks_to_the_named_pool_and_scores_its_answers(tmp_path: Path, settings: Settings) -> None:
    answer = '<response>{"category": "specific needs", "reason": "names the product and what it must do"}</response>'
    with run_in_thread(simulator_app(SimConfig(reply=answer))) as sim:
        pool = PoolSettings(endpoints=[sim.url], model="sim-intent-1")
        settings = settings.model_copy(update={"llm_pools": {"sim": pool}})
        assert main(["--backend", "sim", "--tasks", "intent", "--limit", "8", "--out", str(tmp_path)], settings) == 0
        asked = httpx.get(f"{sim.url}/sim/stats").json()["requests"]
    results = _results(tmp_path, "backend-sim")
    assert results.target.kind == "backend" and results.target.engine == "llm"
    assert results.target.models["intent"] == "sim-intent-1"
    intent = results.tasks["intent"]
    assert intent.engines == {"llm": 8} and asked == 8
    assert intent.confusion is not None
    predicted = [sum(column) for column in zip(*intent.confusion.matrix, strict=True)]
    assert predicted == [8 if label == "specific needs" else 0 for label in intent.confusion.labels]
    gold = sum(intent.confusion.matrix[intent.confusion.labels.index("specific needs")])
    assert intent.metrics["accuracy"] == pytest.approx(gold / 8)
