"""Deadlines: the caller's remaining budget travels with each request, so no layer waits longer than the one above.

Like gRPC's ``grpc-timeout``, the budget travels relative: ``X-Timeout-Ms`` holds the milliseconds the caller still
waits (relative, so the hosts' clocks need not agree). An app reads it on arrival (``shared.service``) and keeps the
deadline for the request; each outgoing call (``shared.http``'s client, hence the gateway's proxy and the router's
service calls; the LLM client) waits at most min(its own timeout, what remains - ``SG_DEADLINE_MARGIN_S``) and
sends that wait on as the next hop's budget. A request that arrives with its budget spent, or whose deadline
passes before it has answered, gets a 504 naming the deadline.

The deadline bounds the wait for an answer to *start*: once an app has sent its response's headers (a stream),
it is lifted for that request, and the read timeouts between events take over, as they do at the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
from prometheus_client import Counter

DEADLINE_HEADER = "X-Timeout-Ms"
# A budget longer than a day is a mistake on the caller's side, not a deadline.
MAX_BUDGET_MS = 86_400_000

DEADLINE_EXCEEDED = Counter(
    "sg_deadline_exceeded_total",
    "Requests and calls given up because a deadline passed, by the layer (service) that gave up and when: "
    "arrival (the budget was spent before the request came: 504), answering (it passed before the answer "
    "started: 504), upstream (a call to the next hop timed out), not_sent (no budget was left for the call). "
    "LLM calls that time out are counted in llm_requests_total{outcome=\"timeout\"}",
    ["service", "stage"],
)
ABANDONED = Counter(
    "sg_requests_abandoned_total",
    "Requests whose client hung up before the answer ended: their work (LLM calls included) was cancelled",
    ["service"],
)


@dataclass(slots=True)
class _Deadline:
    at: float | None  # time.monotonic(); None once lifted


_deadline: ContextVar[_Deadline | None] = ContextVar("deadline", default=None)


class DeadlineExceeded(httpx.TimeoutException):
    """The caller's deadline leaves no time for this call, so it is not made (a timeout to whoever asked)."""


def timed_out(service: str, exc: httpx.HTTPError) -> None:
    """Counts an outgoing call that timed out (a call not sent is counted where it was refused)."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, DeadlineExceeded):
        DEADLINE_EXCEEDED.labels(service, "upstream").inc()


def parse_budget(value: str) -> float:
    """The seconds an ``X-Timeout-Ms`` value grants; ValueError (with the reason) when it is not one."""
    if not value.strip().isdigit() or int(value) > MAX_BUDGET_MS:
        raise ValueError(f"{DEADLINE_HEADER} must be a whole number of milliseconds from 0 to {MAX_BUDGET_MS}")
    return int(value) / 1000


def format_budget(seconds: float) -> str:
    return str(max(0, int(seconds * 1000)))


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """The current request's deadline: ``seconds`` from now, or the one already set if sooner."""
    at = time.monotonic() + seconds
    current = remaining_s()
    token = _deadline.set(_Deadline(at if current is None else min(at, time.monotonic() + current)))
    try:
        yield
    finally:
        _deadline.reset(token)


def lift() -> None:
    """The answer has started: the request's deadline no longer bounds what it does next."""
    if (deadline := _deadline.get()) is not None:
        deadline.at = None


def remaining_s() -> float | None:
    """Seconds left before the current request's deadline (negative once past); None without one."""
    deadline = _deadline.get()
    if deadline is None or deadline.at is None:
        return None
    return deadline.at - time.monotonic()


def wait_s(own_s: float | None, margin_s: float) -> float | None:
    """How long an outgoing call may wait: min(``own_s``, what remains - ``margin_s``), which leaves this layer
    ``margin_s`` to answer (degraded) once the call gives up. None when neither bounds it; <= 0: no time left."""
    remaining = remaining_s()
    if remaining is None:
        return own_s
    left = remaining - margin_s
    return left if own_s is None else min(own_s, left)
