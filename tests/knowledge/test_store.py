"""The vector-store contract, run against Qdrant Edge and qdrant-client (local mode = the server's client API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.catalog.knowledge.documents import point_id
from services.catalog.knowledge.store import (
    AnyOf,
    Between,
    CollectionMismatch,
    CollectionSpec,
    Filter,
    Point,
    StoreLocked,
    VectorStore,
)
from tests.knowledge.conftest import make_store

SPEC = CollectionSpec("items", ("text", "reviews"), 3, "fake-hash", keyword_fields=("category", "doc"),
                      float_fields=("price",))


def _point(key: str, vector: list[float], category: str, price: float, reviews: bool = True) -> Point:
    vectors = {"text": vector, **({"reviews": vector} if reviews else {})}
    payload = {"category": category, "price": price, "doc": key, "hash": f"h-{key}"}
    return Point(point_id("items", key), vectors, payload)


POINTS = [
    _point("a", [1.0, 0.0, 0.0], "phone", 1000.0),
    _point("b", [0.9, 0.1, 0.0], "phone", 5000.0),
    _point("c", [0.0, 1.0, 0.0], "laptop", 3000.0, reviews=False),
]


async def _filled(store: VectorStore) -> VectorStore:
    await store.ensure(SPEC)
    await store.upsert("items", POINTS)
    return store


async def test_search_ranks_by_cosine_and_applies_filters(store: VectorStore) -> None:
    await _filled(store)
    assert await store.count("items") == 3
    hits = await store.search("items", "text", [1.0, 0.0, 0.0], None, 10)
    assert [h.payload["doc"] for h in hits] == ["a", "b", "c"]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    bare = await store.search("items", "text", [1.0, 0.0, 0.0], None, 10, payload=False)
    assert [(h.id, h.payload) for h in bare] == [(h.id, {}) for h in hits]

    phones_under_2k = Filter((AnyOf("category", ("phone",)), Between("price", None, 2000.0)))
    assert [h.payload["doc"] for h in await store.search("items", "text", [0, 1, 0], phones_under_2k, 10)] == ["a"]
    either = Filter((AnyOf("category", ("phone", "laptop")), Between("price", 2500.0, None)))
    assert {h.payload["doc"] for h in await store.search("items", "text", [0, 1, 0], either, 10)} == {"b", "c"}
    # A point without a named vector is simply not found through it.
    assert "c" not in {h.payload["doc"] for h in await store.search("items", "reviews", [0, 1, 0], None, 10)}


async def test_retrieve_fingerprints_delete(store: VectorStore) -> None:
    await _filled(store)
    [found] = await store.retrieve("items", [point_id("items", "b")])
    assert found.payload["price"] == 5000.0
    assert await store.retrieve("items", [point_id("items", "missing")]) == []
    assert await store.fingerprints("items") == {p.id: (f"h-{p.payload['doc']}", p.payload["doc"]) for p in POINTS}
    await store.delete("items", [point_id("items", "a")])
    assert await store.count("items") == 2


async def test_upsert_by_the_same_id_overwrites(store: VectorStore) -> None:
    await _filled(store)
    await store.upsert("items", [_point("a", [0.0, 0.0, 1.0], "phone", 999.0)])
    assert await store.count("items") == 3
    [hit] = await store.search("items", "text", [0.0, 0.0, 1.0], None, 1)
    assert hit.payload["price"] == 999.0


@pytest.mark.parametrize("engine", ["edge", "client-path"])
async def test_version_persists_and_a_different_embedder_is_refused(engine: str, tmp_path: Path) -> None:
    store = make_store(engine, tmp_path)
    await _filled(store)
    assert await store.version("items") == ""
    await store.set_version("items", "v1")
    await store.aclose()

    reopened = make_store(engine, tmp_path)
    await reopened.ensure(SPEC)
    assert await reopened.version("items") == "v1"
    assert await reopened.count("items") == 3
    await reopened.aclose()

    for other in (
        CollectionSpec("items", SPEC.vectors, 4, SPEC.model),
        CollectionSpec("items", SPEC.vectors, 3, "another-model"),
    ):
        again = make_store(engine, tmp_path)
        with pytest.raises(CollectionMismatch, match=r"built with embedding model 'fake-hash' \(3 dimensions\)"):
            await again.ensure(other)
        await again.aclose()


async def test_one_process_at_a_time_opens_the_embedded_store(tmp_path: Path) -> None:
    first = make_store("edge", tmp_path)
    await first.ensure(SPEC)
    second = make_store("edge", tmp_path)
    with pytest.raises(StoreLocked, match="open in another process"):
        await second.ensure(SPEC)
    await first.aclose()
    await second.ensure(SPEC)  # released on close
    await second.aclose()
