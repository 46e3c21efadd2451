"""Tokens counted as the serving model counts them: prompt budgets, the gateway's token limits, and usage where
no server reported it.

Three ways, the first that works: the serving pool's tokenize endpoint (vLLM and llama.cpp answer
``POST /tokenize {"content"}`` with ``{"tokens"}``; ``PoolSettings.tokenize_path``), its counts kept in process;
a tokenizer read from a local ``tokenizer.json`` (``SG_TOKENIZER_PATH``, the Hugging Face ``tokenizers``
format, nothing downloaded); the word estimate (``shared.llm.chunking.count_tokens``). An endpoint that fails
is left alone for a while and the next way counts instead. ``sg_tokens_counted_total{method}`` says which way
counted each text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import httpx
from prometheus_client import Counter
from tokenizers import Tokenizer

from shared.llm.chunking import clip_tokens, count_tokens, split_chunks
from shared.settings import Settings, Task

log = logging.getLogger(__name__)

Method = Literal["endpoint", "local", "estimate"]
# Counts a text's tokens at the serving model; raises TokenizeError when it cannot.
Tokenize = Callable[[str], Awaitable[int]]

TOKENS_COUNTED = Counter(
    "sg_tokens_counted_total",
    "Texts whose tokens were counted, by method: the serving model's tokenize endpoint, a local tokenizer "
    "(SG_TOKENIZER_PATH), or the word estimate",
    ["method"],
)
# How long an endpoint that failed is left alone before it is asked again.
ENDPOINT_RETRY_S = 30.0


# ... and one that answered 404 (a server without the endpoint: TGI, Ollama).
ENDPOINT_ABSENT_RETRY_S = 600.0


class TokenizeError(Exception):
    """The tokenize endpoint did not count (absent, down, or an answer without tokens)."""

    def __init__(self, message: str, absent: bool = False) -> None:
        super().__init__(message)
        self.absent = absent


@lru_cache(maxsize=4)
def load_tokenizer(path: Path) -> Tokenizer:
    """A ``tokenizer.json`` from disk, read once per process."""
    return Tokenizer.from_file(str(path))


def endpoint_tokenize(
    http: httpx.AsyncClient,
    base_urls: Sequence[str],
    path: str,
    *,
    model: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 2.0,
) -> Tokenize:
    """Counting at the servers of a pool: each replica serves the same model, so the first that answers counts.
    The body suits both vLLM (``prompt``, ``model``) and llama.cpp (``content``); each ignores the other's."""
    body: dict[str, Any] = {"add_special_tokens": False, "add_special": False}
    if model:
        body["model"] = model

    async def tokenize(text: str) -> int:
        last: Exception | None = None
        absent = True
        for base in base_urls:
            try:
                response = await http.post(
                    base + path, json={**body, "content": text, "prompt": text}, headers=headers, timeout=timeout_s
                )
                absent = absent and response.status_code in (404, 405)
                response.raise_for_status()
                return _token_count(response.json())
            except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
                absent = absent and isinstance(exc, httpx.HTTPStatusError)
                last = exc
        raise TokenizeError(f"no tokenize endpoint counted: {last!r}", absent=absent)

    return tokenize


def _token_count(data: Any) -> int:
    if isinstance(data, dict):
        if isinstance(data.get("count"), int):
            return int(data["count"])
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
    raise ValueError(f"no tokens in the answer: {str(data)[:100]!r}")


class TokenCounter:
    """Counts tokens with the serving model's tokenizer where one can be reached, else the word estimate."""

    def __init__(
        self, tokenize: Tokenize | None = None, tokenizer: Tokenizer | None = None, *, cache_size: int = 4096
    ) -> None:
        self._tokenize = tokenize
        self._tokenizer = tokenizer
        self._cache: OrderedDict[bytes, int] = OrderedDict()
        self._cache_size = cache_size
        self._endpoint_down_until = 0.0

    @property
    def method(self) -> Method:
        """How texts are counted while everything answers."""
        if self._tokenize is not None:
            return "endpoint"
        return "local" if self._tokenizer is not None else "estimate"

    async def count(self, text: str) -> int:
        if not text:
            return 0
        if self._tokenize is not None and time.monotonic() >= self._endpoint_down_until:
            key = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if (cached := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                TOKENS_COUNTED.labels("endpoint").inc()
                return cached
            try:
                counted = await self._tokenize(text)
            except TokenizeError as exc:
                pause = ENDPOINT_ABSENT_RETRY_S if exc.absent else ENDPOINT_RETRY_S
                log.warning("tokens counted in process for %.0fs: %s", pause, exc)
                self._endpoint_down_until = time.monotonic() + pause
            else:
                if self._cache_size:
                    self._cache[key] = counted
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
                TOKENS_COUNTED.labels("endpoint").inc()
                return counted
        return self.count_here(text)

    async def counts(self, texts: Sequence[str]) -> dict[str, int]:
        """Each distinct text's count, counted together."""
        distinct = list(dict.fromkeys(texts))
        return dict(zip(distinct, await asyncio.gather(*(self.count(t) for t in distinct)), strict=True))

    def count_here(self, text: str) -> int:
        """Counted in this process, without asking a server: the local tokenizer, or the estimate."""
        if self._tokenizer is not None:
            TOKENS_COUNTED.labels("local").inc()
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        TOKENS_COUNTED.labels("estimate").inc()
        return count_tokens(text)

    async def clip(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` within ``max_tokens`` tokens (all of it when it fits), cut between tokens with
        the local tokenizer, else between words, as many as the count allows."""
        if max_tokens <= 0:
            return ""
        if self._tokenizer is not None and self.method == "local":
            encoding = self._tokenizer.encode(text, add_special_tokens=False)
            TOKENS_COUNTED.labels("local").inc()
            if len(encoding.ids) <= max_tokens:
                return text
            return text[: encoding.offsets[max_tokens - 1][1]]
        total = await self.count(text)
        if total <= max_tokens:
            return text
        pieces = split_chunks(text)
        keep = max(1, len(pieces) * max_tokens // total)
        while keep > 1 and await self.count("".join(pieces[:keep])) > max_tokens:
            keep = keep * 9 // 10 if keep > 10 else keep - 1
        return "".join(pieces[:keep])

    def clip_here(self, text: str, max_tokens: int, counted: int) -> str:
        """``clip_tokens`` for a text ``counted`` tokens long by this counter: the estimate scaled to it."""
        estimated = count_tokens(text)
        return clip_tokens(text, max(1, max_tokens * estimated // max(counted, 1)))


def token_counter(settings: Settings, task: Task, http: httpx.AsyncClient | None = None) -> TokenCounter:
    """The counter for the model that serves ``task``: its pool's tokenize endpoint (given a client to ask it
    with), the local tokenizer, or the estimate."""
    tokenize: Tokenize | None = None
    route = settings.llm_tasks[task]
    pool = settings.llm_pools.get(route.pool or "") if route.backend == "openai" else None
    if http is not None and pool is not None and pool.tokenize_path:
        tokenize = endpoint_tokenize(
            http,
            # A discovered pool's name reaches one of its replicas, which all count alike.
            pool.endpoints or [f"http://{pool.dns}"],
            pool.tokenize_path,
            model=route.model or pool.model,
            headers={"Authorization": f"Bearer {pool.api_key}"} if pool.api_key else None,
            timeout_s=settings.tokenize_timeout_s,
        )
    tokenizer = load_tokenizer(settings.tokenizer_path) if settings.tokenizer_path else None
    return TokenCounter(tokenize, tokenizer, cache_size=settings.token_count_cache)
