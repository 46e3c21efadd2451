"""The lifespan resources several apps open the same way, and the states that carry them with their checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.cache import Cache, open_cache
from shared.live_prompts import PromptState
from shared.llm import LLMClient
from shared.service import ReadinessCheck, ServiceState
from shared.settings import Settings


@asynccontextmanager
async def llm_client(settings: Settings) -> AsyncIterator[LLMClient]:
    llm = LLMClient(settings)
    await llm.start()
    try:
        yield llm
    finally:
        await llm.aclose()


@asynccontextmanager
async def cache_client(settings: Settings) -> AsyncIterator[Cache]:
    cache = await open_cache(settings)
    try:
        yield cache
    finally:
        await cache.aclose()


@dataclass(frozen=True, kw_only=True)
class LanguageState(PromptState):
    """A language service's state: its LLM client and its live prompts. An LLM backend that does not answer
    degrades the service to its local engine, so it is reported under ``degraded`` by /readyz, not a reason to
    be taken out of service."""

    llm: LLMClient

    def degradable(self) -> dict[str, ReadinessCheck]:
        return {**super().degradable(), "llm": self._llm_ready}

    async def _llm_ready(self) -> bool:
        return all((await self.llm.ready()).values())


@dataclass(frozen=True, kw_only=True)
class CachedState(ServiceState):
    """The state of an app with the shared cache: a dead Redis degrades it, it never stops service."""

    cache: Cache

    def degradable(self) -> dict[str, ReadinessCheck]:
        return {"cache": self.cache.ping}
