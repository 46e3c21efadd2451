"""Prometheus metrics of the LLM layer. ``backend`` is ``local``, ``bedrock`` or ``openai:<pool>``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.llm.base import Usage

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "llm_requests_total",
    "Completions by backend, task and outcome (ok, error, unavailable, timeout: the task's timeout or the "
    "caller's deadline passed, cut, cancelled: the caller left or gave up first)",
    ["backend", "task", "outcome"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "llm_time_to_first_token_seconds",
    "From request to the first token: the first delta of a stream (mode=stream), the whole reply of a "
    "completion (mode=complete, where the first token arrives with the last)",
    ["backend", "task", "mode"],
    buckets=_LATENCY_BUCKETS,
)
LATENCY = Histogram(
    "llm_request_duration_seconds",
    "From request to the last delta or the whole reply",
    ["backend", "task"],
    buckets=_LATENCY_BUCKETS,
)
TOKENS = Counter("llm_tokens_total", "Tokens reported by the upstream", ["backend", "task", "kind"])
RETRIES = Counter("llm_retries_total", "Upstream attempts after the first, per pool", ["pool"])
EJECTIONS = Counter("llm_endpoint_ejections_total", "Endpoints taken out of rotation", ["pool", "endpoint"])
ENDPOINT_UP = Gauge("llm_endpoint_up", "1 while the endpoint is in rotation", ["pool", "endpoint"])
ENDPOINT_IN_FLIGHT = Gauge("llm_endpoint_in_flight", "Outstanding requests per endpoint", ["pool", "endpoint"])


def record_usage(backend: str, task: str, usage: Usage) -> None:
    TOKENS.labels(backend, task, "prompt").inc(usage.prompt_tokens)
    TOKENS.labels(backend, task, "completion").inc(usage.completion_tokens)
