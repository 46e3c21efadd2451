"""Stores for the knowledge-base tests: every engine behind the one interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.catalog.knowledge.edge import EdgeStore
from services.catalog.knowledge.server import ClientStore
from services.catalog.knowledge.store import VectorStore


def make_store(engine: str, path: Path) -> VectorStore:
    if engine == "edge":
        return EdgeStore(path / "edge")
    if engine == "client-path":
        return ClientStore.embedded(path / "local")
    return ClientStore.embedded(":memory:")


# edge: the embedded default. client-*: qdrant-client's API, which is what a server is driven through.
ENGINES = ["edge", "client-path", "client-memory"]


@pytest.fixture(params=ENGINES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    opened = make_store(request.param, tmp_path)
    yield opened
    await opened.aclose()
