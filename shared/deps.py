"""Lifespan resources and the FastAPI dependencies that hand them to routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Request

from shared.cache import Cache, open_cache
from shared.http import create_http_client
from shared.llm import LLMClient
from shared.settings import Settings


@asynccontextmanager
async def llm_resources(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """The LLM client for a language service. A backend that does not answer degrades the service to its
    local engine, so it is reported under ``degraded`` by /readyz, not a reason to be taken out of service."""
    llm = LLMClient(settings)
    await llm.start()

    async def llm_ready() -> bool:
        return all((await llm.ready()).values())

    try:
        yield {"llm": llm, "degradable": {"llm": llm_ready}}
    finally:
        await llm.aclose()


@asynccontextmanager
async def http_resources(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    async with create_http_client(settings) as http:
        yield {"http": http}


@asynccontextmanager
async def cache_resources(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    cache = await open_cache(settings)
    try:
        yield {"cache": cache, "degradable": {"cache": cache.ping}}  # a dead Redis degrades; it never stops service
    finally:
        await cache.aclose()


def merge_states(*states: dict[str, Any]) -> dict[str, Any]:
    """Combine resource states, merging their readiness checks instead of overwriting them."""
    merged: dict[str, Any] = {}
    checks: dict[str, dict[str, Any]] = {"readiness": {}, "degradable": {}}
    for state in states:
        for kind, found in checks.items():
            found.update(state.get(kind, {}))
        merged.update({k: v for k, v in state.items() if k not in checks})
    return {**merged, **checks}


def get_settings_dep(request: Request) -> Settings:
    return request.state.settings


def get_llm(request: Request) -> LLMClient:
    return request.state.llm


def get_http(request: Request) -> httpx.AsyncClient:
    return request.state.http


def get_cache(request: Request) -> Cache:
    return request.state.cache
