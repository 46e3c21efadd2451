"""The local-or-LLM cascade: modes, the auto gate, retries and repair, fallbacks, metrics, the streamed variant."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from shared.llm import (
    Answer,
    ChatMessage,
    LLMStreamCut,
    LLMUnavailable,
    Rejected,
    StreamCut,
    Unusable,
    run_cascade,
    stream_cascade,
)
from shared.schemas import EngineChoice
from shared.settings import Task
from tests.services.conftest import FakeLLM

PROMPT = [ChatMessage(role="user", content="question")]


class Routed(FakeLLM):
    """A FakeLLM whose tasks may be routed to the local backend, recording the options of each call."""

    def __init__(self, *args: Any, local: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local = local

    def uses_local(self, task: Task) -> bool:
        return self.local


def counts(task: Task) -> dict[tuple[str, str], float]:
    """ENGINE_ANSWERS for the task, by (engine, outcome)."""
    return {
        (engine, outcome): REGISTRY.get_sample_value(
            "sg_engine_answers_total", {"service": task.value, "engine": engine, "outcome": outcome}
        ) or 0.0
        for engine in ("local", "llm")
        for outcome in ("answered", "llm_fallback", "stream_cut")
    }


@pytest.fixture
def counted() -> Callable[[Task], dict[tuple[str, str], float]]:
    """``counted(task)``: what the test added to ENGINE_ANSWERS for the task, zero counts left out."""
    before = {task: counts(task) for task in Task}

    def added(task: Task) -> dict[tuple[str, str], float]:
        return {key: n - before[task][key] for key, n in counts(task).items() if n != before[task][key]}

    return added


def number(text: str) -> int | Unusable:
    return int(text) if text.isdigit() else Unusable(f"{text!r} is not a number")


async def ask(llm: FakeLLM, mode: EngineChoice = "llm", **kwargs: Any) -> Answer[Any]:
    """The cascade for a task whose local answer is 7 and whose LLM must answer a number, unless a test passes
    its own ``local`` and ``parse``."""
    return await run_cascade(
        llm,
        Task.INTENT,
        mode,
        local=kwargs.pop("local", lambda: 7),
        prompt=lambda: PROMPT,
        parse=kwargs.pop("parse", number),
        **kwargs,
    )


# --------------------------------------------------------------------------- choosing the engine
@pytest.mark.parametrize(("mode", "routed_locally"), [("local", False), ("llm", True), ("auto", True)])
async def test_local_mode_or_no_llm_answers_locally_without_asking(mode, routed_locally, counted) -> None:
    llm = Routed(["1"], local=routed_locally)
    assert await ask(llm, mode) == Answer(7, "local")
    assert llm.calls == [] and counted(Task.INTENT) == {("local", "answered"): 1}


@pytest.mark.parametrize("mode", ["llm", "auto"])
async def test_llm_and_auto_without_a_confidence_ask_the_llm_and_skip_the_local_engine(mode, counted) -> None:
    def local() -> int:
        raise AssertionError("the local engine is not needed")

    llm = Routed(["42"])
    assert await ask(llm, mode, local=local) == Answer(42, "llm")
    assert llm.calls == [PROMPT] and counted(Task.INTENT) == {("llm", "answered"): 1}


@pytest.mark.parametrize(("confidence", "expected", "calls"), [(0.9, Answer(7, "local"), 0), (0.5, Answer(42, "llm"), 1)])
async def test_auto_asks_the_llm_only_when_the_local_answer_is_unsure(confidence, expected, calls) -> None:
    llm = Routed(["42"])
    assert await ask(llm, "auto", confident=lambda _: confidence >= 0.7) == expected
    assert len(llm.calls) == calls


async def test_llm_mode_ignores_the_confidence() -> None:
    llm = Routed(["42"])
    assert await ask(llm, "llm", confident=lambda _: True) == Answer(42, "llm")


async def test_the_local_answer_is_computed_once_when_judged_then_used_as_the_fallback(counted) -> None:
    made: list[int] = []

    def local() -> int:
        made.append(7)
        return 7

    llm = Routed([LLMUnavailable("down")])
    assert await ask(llm, "auto", local=local, confident=lambda _: False) == Answer(7, "local")
    assert made == [7] and counted(Task.INTENT) == {("local", "llm_fallback"): 1}


# --------------------------------------------------------------------------- unusable replies and failures
async def test_without_a_repair_an_unusable_reply_is_not_retried(counted) -> None:
    # The same prompt again (at temperature 0, the same reply) would only spend the caller's time.
    llm = Routed(["seven", "42"])
    assert await ask(llm) == Answer(7, "local")
    assert llm.calls == [PROMPT] and counted(Task.INTENT) == {("local", "llm_fallback"): 1}


async def test_repair_retries_with_the_rejected_reply_and_what_was_wrong() -> None:
    llm = Routed(["seven", "42"])
    answer = await ask(llm, repair=lambda problem: f"Wrong: {problem.reason}. Digits only.")
    assert answer == Answer(42, "llm")
    assert llm.calls[1] == [
        *PROMPT,
        ChatMessage(role="assistant", content="seven"),
        ChatMessage(role="user", content="Wrong: 'seven' is not a number. Digits only."),
    ]


@pytest.mark.parametrize(("retries", "calls"), [(1, 2), (0, 1)])
async def test_a_reply_still_unusable_after_the_retries_falls_back_to_local(retries, calls, counted) -> None:
    llm = Routed(["seven", "eight"])
    assert await ask(llm, retries=retries, repair=lambda problem: problem.reason) == Answer(7, "local")
    assert len(llm.calls) == calls and counted(Task.INTENT) == {("local", "llm_fallback"): 1}


async def test_an_llm_error_falls_back_at_once_without_a_retry(counted) -> None:
    llm = Routed([LLMUnavailable("all endpoints down"), "42"])
    assert await ask(llm) == Answer(7, "local")
    assert len(llm.calls) == 1 and counted(Task.INTENT) == {("local", "llm_fallback"): 1}


async def test_a_bug_is_no_fallback() -> None:
    with pytest.raises(RuntimeError):
        await ask(Routed([RuntimeError("bug")]))


async def test_none_is_a_valid_answer_not_an_unusable_one(counted) -> None:
    def no_call(text: str) -> str | None | Unusable:
        return None if text == "null" else Unusable("not null")

    answer = await ask(Routed(["null"]), parse=no_call, local=lambda: "local call")
    assert answer == Answer(None, "llm") and counted(Task.INTENT) == {("llm", "answered"): 1}


async def test_options_reach_the_client_only_when_given() -> None:
    llm = Routed(["1", "2"])
    await ask(llm)
    await ask(llm, request_id="req-1")
    assert llm.options == [{}, {"request_id": "req-1"}]


# --------------------------------------------------------------------------- streaming
async def streamed(llm: FakeLLM, mode: EngineChoice = "llm", **kwargs: Any) -> list[str | Answer[str] | StreamCut]:
    pieces = stream_cascade(llm, Task.DIALOG, mode, local=lambda: "local reply", prompt=lambda: PROMPT, **kwargs)
    return [piece async for piece in pieces]


async def test_stream_relays_the_deltas_then_the_whole_reply(counted) -> None:
    llm = Routed(pieces=["Hel", "", "lo"])
    assert await streamed(llm) == ["Hel", "lo", Answer("Hello", "llm")]
    assert llm.closed and counted(Task.DIALOG) == {("llm", "answered"): 1}


async def test_stream_answers_locally_in_local_mode(counted) -> None:
    llm = Routed(pieces=["Hello"])
    assert await streamed(llm, "local") == [Answer("local reply", "local")]
    assert llm.calls == [] and counted(Task.DIALOG) == {("local", "answered"): 1}


@pytest.mark.parametrize("pieces", [[LLMUnavailable("down")], [RuntimeError("bug")], [], [""]])
async def test_stream_falls_back_to_local_before_the_first_delta(pieces, counted) -> None:
    llm = Routed(pieces=pieces)
    assert await streamed(llm) == [Answer("local reply", "local")]
    assert llm.closed and counted(Task.DIALOG) == {("local", "llm_fallback"): 1}


async def test_deltas_the_shape_holds_back_were_not_sent(counted) -> None:
    async def hold_back(deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        yield "".join([delta async for delta in deltas])

    llm = Routed(pieces=["Shopping ", "Guide: ", LLMStreamCut("connection reset")])
    assert await streamed(llm, shape=hold_back) == [Answer("local reply", "local")]
    assert counted(Task.DIALOG) == {("local", "llm_fallback"): 1}


async def test_stream_cut_after_the_first_delta_keeps_the_partial_reply(counted) -> None:
    cut = LLMStreamCut("connection reset")
    llm = Routed(pieces=["Hel", "lo", cut])
    assert await streamed(llm) == ["Hel", "lo", StreamCut(cut, "Hello")]
    assert llm.closed and counted(Task.DIALOG) == {("llm", "stream_cut"): 1}


async def test_closing_the_stream_closes_the_shape_and_the_llm_stream() -> None:
    shaped: list[str] = []

    async def upper(deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        try:
            async for delta in deltas:
                yield delta.upper()
        finally:
            shaped.append("closed")

    llm = Routed(endless=True)
    pieces = stream_cascade(llm, Task.DIALOG, "llm", local=lambda: "", prompt=lambda: PROMPT, shape=upper)
    async with aclosing(pieces):
        assert await anext(pieces) == "LA "
    assert llm.closed and shaped == ["closed"]


# --------------------------------------------------------------------------- verdicts and checks
VERDICTS = ("accepted", "truncated_repetition", "truncated_length", "unusable", "inconsistent", "echoed", "timeout",
            "failed")


@pytest.fixture
def verdicts() -> Callable[[Task], dict[str, float]]:
    """``verdicts(task)``: what the test added to sg_llm_replies_total for the task, by verdict."""

    def read(task: Task) -> dict[str, float]:
        return {
            v: REGISTRY.get_sample_value("sg_llm_replies_total", {"service": task.value, "verdict": v}) or 0.0
            for v in VERDICTS
        }

    before = {task: read(task) for task in Task}

    def added(task: Task) -> dict[str, float]:
        return {v: n - before[task][v] for v, n in read(task).items() if n != before[task][v]}

    return added


def judged(text: str) -> int | Unusable:
    """A parser that tells the kinds apart: digits are an answer, "copy" was copied, an odd number is
    inconsistent, anything else unusable."""
    if text == "copy":
        return Unusable("copied from the input", "echoed")
    if not text.isdigit():
        return Unusable("not a number")
    return int(text) if int(text) % 2 == 0 else Unusable("odd", "inconsistent")


async def test_each_reply_is_counted_by_its_verdict(verdicts) -> None:
    def repair(problem: Unusable) -> str:
        return problem.reason

    assert await ask(Routed(["x", "42"]), parse=judged, repair=repair) == Answer(42, "llm")
    assert await ask(Routed(["3", "5"]), parse=judged, repair=repair) == Answer(7, "local")
    assert verdicts(Task.INTENT) == {"unusable": 1, "accepted": 1, "inconsistent": 2}


async def test_an_echoed_reply_is_not_asked_again(verdicts) -> None:
    llm = Routed(["copy", "42"])
    assert await ask(llm, parse=judged, repair=lambda problem: "again") == Answer(7, "local")
    assert len(llm.calls) == 1 and verdicts(Task.INTENT) == {"echoed": 1}


async def test_a_timeout_is_told_from_other_failures(verdicts) -> None:
    timed_out = LLMUnavailable("no endpoint answered")
    timed_out.__cause__ = httpx.ReadTimeout("read timed out")
    assert await ask(Routed([timed_out])) == Answer(7, "local")
    assert await ask(Routed([LLMUnavailable("connection refused")])) == Answer(7, "local")
    assert verdicts(Task.INTENT) == {"timeout": 1, "failed": 1}


class Checked:
    """A stream check that passes deltas until ``stop_at`` (then says why) or rejects the reply at once."""

    def __init__(self, stop_at: str | None = None, reject: bool = False) -> None:
        self.stop_at, self.reject = stop_at, reject
        self.truncated: str | None = None

    async def __call__(self, deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        async for delta in deltas:
            if self.reject:
                raise Rejected(Unusable("copied", "echoed"))
            if delta == self.stop_at:
                self.truncated = "repetition"
                return
            yield delta


async def test_a_stream_check_may_cut_the_reply_and_says_why(counted, verdicts) -> None:
    llm = Routed(endless=True, pieces=["Hel", "lo"])
    assert await streamed(llm, check=Checked(stop_at="la ")) == ["Hel", "lo", Answer("Hello", "llm", "repetition")]
    assert llm.closed, "the upstream stream is closed when the check stops it"
    assert counted(Task.DIALOG) == {("llm", "answered"): 1}
    assert verdicts(Task.DIALOG) == {"truncated_repetition": 1}


async def test_a_stream_check_may_reject_the_reply_for_the_local_one(counted, verdicts) -> None:
    llm = Routed(pieces=["Hel", "lo"])
    assert await streamed(llm, check=Checked(reject=True)) == [Answer("local reply", "local")]
    assert llm.closed and counted(Task.DIALOG) == {("local", "llm_fallback"): 1}
    assert verdicts(Task.DIALOG) == {"echoed": 1}
    assert await streamed(Routed(pieces=["Hi"])) == ["Hi", Answer("Hi", "llm")]
    assert verdicts(Task.DIALOG) == {"echoed": 1, "accepted": 1}
