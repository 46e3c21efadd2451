"""Model as judge: any configured LLM scores the target's dialog replies and copies against the fixed rubric
of ``prompts/judge.txt``, recorded with the model its server named and the rubric's hash.

The items are fixed: the first held-out extraction dialogs with a call (the products the catalog holds for
the call's category given to the guide), and the first wish copies at the default bound. A reply the judge
gives that is no JSON object of 1-5 integers for the kind's criteria is recorded as unreadable, not guessed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from shared.jsonblock import extract_json
from shared.llm import LLMClient
from shared.prompts import as_data, load_prompt
from shared.settings import PROJECT_ROOT, Settings, Task
from training.data import ExtractionExample
from training.eval_copywriting import Case, case_request
from training.harness.results import JudgeResult, JudgeScore
from training.harness.targets import Target, routed_to

CRITERIA = {"dialog": ("helpful", "grounded", "fluent"), "copy": ("appealing", "grounded", "fluent")}
PROMPT = load_prompt("training.harness", "judge")
PROMPT_FILE = "training/harness/prompts/judge.txt"
PRODUCTS_SHOWN = 3


def dialog_items(
    target: Target, examples: Sequence[ExtractionExample], products: Sequence[dict[str, Any]], n: int
) -> list[tuple[str, dict[str, Any]]]:
    """(id, what the judge reads) for the first ``n`` dialogs with a call: the dialog, the products, the reply."""
    items = []
    for example in [e for e in examples if e.call][:n]:
        assert example.call is not None
        shown = [p for p in products if p["category"] == example.call.arguments["category"]][:PRODUCTS_SHOWN]
        body = {
            "messages": [{"role": m.role, "content": m.content} for m in example.messages],
            "call": example.call.model_dump(mode="json"),
            "products": shown,
        }
        reply = target.probe("dialog", lambda body=body: target.dialog(body))  # type: ignore[misc]
        if reply is not None:
            items.append((example.id, {"dialog": body["messages"], "products": shown, "reply": reply}))
    return items


def copy_items(target: Target, cases: Sequence[Case], index: Any, n: int) -> list[tuple[str, dict[str, Any]]]:
    items = []
    for case in [c for c in cases if c.wish and c.max_length is None][:n]:
        request, wish = case_request(case, index)
        body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
        copy = target.probe("copywriting", lambda body=body: target.copy(body))  # type: ignore[misc]
        if copy is not None:
            items.append((case.name, {"product": case.product, "dialog": wish.messages if wish else [],
                                      "language": case.lang, "copy": copy}))
    return items


def read_verdict(item: str, text: str, criteria: Sequence[str]) -> JudgeScore:
    """The judge's answer as scores, or why it cannot be read."""
    answer = extract_json(text)
    scores = answer.get("scores") if answer else None
    if not isinstance(scores, dict):
        return JudgeScore(item=item, problem=f"no JSON object with 'scores' in: {text[:160]!r}")
    bad = [c for c in criteria if not (isinstance(scores.get(c), int) and 1 <= scores[c] <= 5)]
    if bad:
        return JudgeScore(item=item, problem=f"criteria missing or not 1-5: {', '.join(bad)} in {text[:160]!r}")
    reason = answer.get("reason") if answer else ""
    return JudgeScore(item=item, scores={c: int(scores[c]) for c in criteria}, reason=str(reason or "")[:300])


async def _judge(settings: Settings, items: dict[str, list[tuple[str, dict[str, Any]]]]) -> tuple[str, dict[
        str, list[JudgeScore]]]:
    models: set[str] = set()
    scored: dict[str, list[JudgeScore]] = {}
    llm = LLMClient(settings)
    await llm.start()
    try:
        for kind, pairs in items.items():
            scored[kind] = []
            for item, data in pairs:
                messages = PROMPT.messages(kind=kind, criteria=", ".join(CRITERIA[kind]), item=as_data(data))
                try:
                    reply = await llm.complete(Task.DIALOG, messages, temperature=0.0)
                except Exception as exc:  # a judge that fails is recorded per item, the run goes on
                    scored[kind].append(JudgeScore(item=item, problem=f"{type(exc).__name__}: {exc}"[:300]))
                    continue
                models.add(reply.model)
                scored[kind].append(read_verdict(item, reply.text, CRITERIA[kind]))
    finally:
        await llm.aclose()
    return ", ".join(sorted(models)) or "none answered", scored


def judge(settings: Settings, backend: str, items: dict[str, list[tuple[str, dict[str, Any]]]]) -> JudgeResult:
    """Every item scored by ``backend`` (a pool of ``llm_pools``, or "bedrock")."""
    routed, _ = routed_to(settings, backend)
    model, scored = asyncio.run(_judge(routed, items))
    mean = {
        kind: {c: sum(s.scores[c] for s in read) / len(read) for c in CRITERIA[kind]}
        for kind, scores in scored.items()
        if (read := [s for s in scores if s.scores])
    }
    rubric = (PROJECT_ROOT / PROMPT_FILE).read_bytes()
    return JudgeResult(backend=backend, model=model, rubric=PROMPT_FILE, rubric_sha256=hashlib.sha256(rubric).hexdigest(),
                       mean=mean, items=scored)
