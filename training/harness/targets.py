"""What the harness evaluates: the local engines in-process, a running stack over HTTP, or the services started
here with their LLM tasks routed to one configured backend.

A target answers one request at a time (the latency recorded is a request's alone, not a share of a batch)
and says which engine answered: a service whose LLM fails falls back to its local engine, and a score of the
LLM that is partly the local engine's must say so.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from shared.schemas import FunctionCall, Message
from shared.settings import Settings, Task, TaskRoute

T = TypeVar("T")
TASKS = ("intent", "extraction", "summary", "copywriting", "dialog")
PATHS = {
    "intent": "/v1/intent",
    "extraction": "/v1/extract",
    "summary": "/v1/summary",
    "copywriting": "/v1/copywriting",
    "dialog": "/v1/dialog",
}
MAX_FAILURES_KEPT = 5


class Unserved(Exception):
    """The target has no endpoint for a task (404 on its path): the task is skipped, not scored as zeros."""


class Target:
    """One request per call; ``probe`` times it and counts the engine that answered and any failure."""

    kind = "local"
    engine = "local"

    def __init__(self, description: str, models: Mapping[str, str] | None = None) -> None:
        self.description = description
        self.models = dict(models or {})
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.engines: dict[str, Counter[str]] = defaultdict(Counter)
        self.failures: dict[str, list[str]] = defaultdict(list)

    def probe(self, task: str, call: Callable[[], T]) -> T | None:
        """``call()`` timed under ``task``; None (a wrong answer) when it fails. ``Unserved`` propagates."""
        started = time.perf_counter()
        try:
            answer = call()
        except Unserved:
            raise
        except Exception as exc:  # a failed request is scored as a wrong answer and listed, never dropped
            self.failures[task].append(f"{type(exc).__name__}: {exc}"[:300])
            return None
        self.latency_ms[task].append((time.perf_counter() - started) * 1000)
        return answer

    def answered(self, task: str, engine: str) -> None:
        self.engines[task][engine] += 1

    def intent(self, messages: list[Message]) -> str:
        raise NotImplementedError

    def extract(self, messages: list[Message]) -> FunctionCall | None:
        raise NotImplementedError

    def summarise(self, conversation: str) -> Any:
        raise NotImplementedError

    def copy(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def dialog(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def forget(self) -> None:
        """Drop in-process caches before a pass: a request must not be answered from an earlier pass's work."""

    def close(self) -> None:
        """Nothing to release in-process; HTTP targets close their connections."""


class LocalTarget(Target):
    """The engines as the services run them with engine=local, on the given intent and extraction models."""

    def __init__(self, intent_model: Any, extraction_model: Any, description: str) -> None:
        from services.copywriting.engine import LocalCopywriter
        from services.dialog.engine import LocalDialogEngine
        from services.extraction.engine import LocalExtractor
        from services.intent.engine import LocalIntentEngine
        from services.summary.engine import LocalSummariser
        from shared.taxonomy import load_taxonomy
        from shared.taxonomy.index import TaxonomyIndex

        super().__init__(description)
        index = TaxonomyIndex(load_taxonomy())
        self.intent_engine = LocalIntentEngine(intent_model)
        self.extractor = LocalExtractor(intent_model, extraction_model)
        self.summariser, self.writer, self.guide = LocalSummariser(), LocalCopywriter(index), LocalDialogEngine(index)

    def forget(self) -> None:
        # The intent and extraction engines share the embedding cache: without this the extractor would be
        # timed on embeddings the intent pass computed (in the services they are separate processes).
        self.intent_engine.model.encoder.encode_one.cache_clear()

    def intent(self, messages: list[Message]) -> str:
        self.answered("intent", "local")
        return self.intent_engine.classify(messages).intent

    def extract(self, messages: list[Message]) -> FunctionCall | None:
        self.answered("extraction", "local")
        return self.extractor.read(messages)[0]

    def summarise(self, conversation: str) -> Any:
        from training.eval_summary import summarise

        self.answered("summary", "local")
        return summarise(self.summariser, conversation)

    def copy(self, body: dict[str, Any]) -> str:
        from services.copywriting.schemas import CopyRequest

        request = CopyRequest.model_validate(body)
        self.answered("copywriting", "local")
        return self.writer.write(request, self.writer.brief(request))

    def dialog(self, body: dict[str, Any]) -> str:
        from services.dialog.schemas import DialogRequest

        self.answered("dialog", "local")
        return self.guide.plan(DialogRequest.model_validate(body)).reply


class HttpTarget(Target):
    """The services' public API, at one base (a gateway answers every path; one service only its own) or one
    base per task. Each body carries ``engine`` (auto: as the stack's settings route the task)."""

    kind = "http"

    def __init__(
        self,
        bases: Mapping[str, str],
        engine: str = "auto",
        api_key: str | None = None,
        timeout_s: float = 120.0,
        description: str = "",
        models: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description or ", ".join(sorted(set(bases.values()))), models)
        self.bases = {task: url.rstrip("/") for task, url in bases.items()}
        self.engine = engine
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)

    def _post(self, task: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.bases[task] + PATHS[task]
        response = self.client.post(url, json={**body, "engine": self.engine})
        if response.status_code in (404, 405):
            raise Unserved(f"{url} answered {response.status_code}")
        if response.status_code >= 400:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
        answer: dict[str, Any] = response.json()
        # The gateway's response cache answers a repeated request itself (X-Cache: hit): its time is the cache's.
        cached = " (gateway cache)" if response.headers.get("x-cache") == "hit" else ""
        self.answered(task, f"{answer.get('engine', 'unstated')}{cached}")
        return answer

    @staticmethod
    def _messages(messages: list[Message]) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in messages]

    def intent(self, messages: list[Message]) -> str:
        return str(self._post("intent", {"messages": self._messages(messages)})["intent"])

    def extract(self, messages: list[Message]) -> FunctionCall | None:
        call = self._post("extraction", {"messages": self._messages(messages)})["call"]
        return None if call is None else FunctionCall.model_validate(call)

    def summarise(self, conversation: str) -> Any:
        return self._post("summary", {"conversation": conversation})["summary"]

    def copy(self, body: dict[str, Any]) -> str:
        return str(self._post("copywriting", body)["copy"])

    def dialog(self, body: dict[str, Any]) -> str:
        return str(self._post("dialog", body)["reply"])

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------- a named LLM backend
def routed_to(settings: Settings, backend: str) -> tuple[Settings, str]:
    """``settings`` with every LLM task routed to ``backend`` (a pool of ``llm_pools``, or "bedrock"), and the
    model it names (the server's default model where the pool names none)."""
    if backend == "bedrock":
        route, model = TaskRoute(backend="bedrock"), settings.bedrock_model_id
    elif backend in settings.llm_pools:
        route, model = TaskRoute(backend="openai", pool=backend), settings.llm_pools[backend].model or "server default"
    else:
        known = ", ".join([*sorted(settings.llm_pools), "bedrock"])
        raise ValueError(f"unknown backend {backend!r}: the configured ones are {known} (SG_LLM_POOLS)")
    tasks = {
        task: route.model_copy(update={"temperature": old.temperature, "max_tokens": old.max_tokens})
        for task, old in settings.llm_tasks.items()
    }
    return settings.model_copy(update={"llm_tasks": tasks}), model


@contextlib.contextmanager
def backend_target(settings: Settings, backend: str, timeout_s: float = 120.0) -> Iterator[HttpTarget]:
    """The language services started here (real HTTP, free ports) with their tasks routed to ``backend``; the
    requests ask for engine=llm, so what answers locally is a fallback, counted as such."""
    from services.copywriting.app import create_app as copywriting_app
    from services.dialog.app import create_app as dialog_app
    from services.extraction.app import create_app as extraction_app
    from services.intent.app import create_app as intent_app
    from services.summary.app import create_app as summary_app
    from shared.simulator import run_in_thread

    routed, model = routed_to(settings, backend)
    apps = {"intent": intent_app, "extraction": extraction_app, "summary": summary_app,
            "copywriting": copywriting_app, "dialog": dialog_app}
    with contextlib.ExitStack() as stack:
        bases = {task: stack.enter_context(run_in_thread(create(routed))).url for task, create in apps.items()}
        target = HttpTarget(bases, "llm", timeout_s=timeout_s, description=f"backend {backend} ({model}), services "
                            "started in this process", models={task.value: model for task in Task})
        target.kind = "backend"
        try:
            yield target
        finally:
            target.close()
