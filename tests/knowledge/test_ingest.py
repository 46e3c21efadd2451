"""Ingestion: deterministic ids, idempotent re-runs, updates, stale chunks, the on-disk vector cache."""

from __future__ import annotations

from pathlib import Path

from services.catalog.ingest import SAMPLE_GUIDES, SAMPLE_PRODUCTS
from services.catalog.knowledge.base import KnowledgeBase
from services.catalog.knowledge.documents import (
    KNOWLEDGE,
    PRODUCTS,
    chunk_guide,
    guide_documents,
    product_document,
    read_products,
)
from services.catalog.knowledge.ingest import ingest
from services.catalog.knowledge.store import VectorStore
from services.catalog.knowledge.vector_cache import VectorFileCache
from tests.knowledge.conftest import make_store
from tests.knowledge.fakes import FakeEmbedder

PRODUCTS_SAMPLE = [product_document(sku) for sku in list(read_products(SAMPLE_PRODUCTS))[:40]]


def _kb(store: VectorStore, embedder: FakeEmbedder | None = None) -> KnowledgeBase:
    return KnowledgeBase(store, embedder or FakeEmbedder(), cache=None)


async def test_reingesting_changes_nothing(store: VectorStore) -> None:
    embedder = FakeEmbedder()
    kb = _kb(store, embedder)
    first = await ingest(kb, PRODUCTS, PRODUCTS_SAMPLE, batch_size=16)
    assert (first.added, first.updated, first.unchanged, first.deleted) == (40, 0, 0, 0)
    assert await store.count(PRODUCTS) == 40
    calls = embedder.embedded

    again = await ingest(kb, PRODUCTS, PRODUCTS_SAMPLE, batch_size=16)
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 40, 0)
    assert again.version == first.version == await store.version(PRODUCTS)
    assert embedder.embedded == calls, "unchanged items are not embedded again"
    assert await store.count(PRODUCTS) == 40


async def test_a_changed_item_is_updated_in_place(store: VectorStore) -> None:
    kb = _kb(store)
    first = await ingest(kb, PRODUCTS, PRODUCTS_SAMPLE)
    sku = next(read_products(SAMPLE_PRODUCTS))
    cheaper = product_document(sku.model_copy(update={"price": 1.0}))
    summary = await ingest(kb, PRODUCTS, [cheaper])
    assert (summary.added, summary.updated, summary.deleted) == (0, 1, 0)
    assert summary.version != first.version
    assert await store.count(PRODUCTS) == 40
    [hit] = await store.retrieve(PRODUCTS, [cheaper.id])
    assert hit.payload["price"] == 1.0


async def test_chunks_a_guide_no_longer_has_are_deleted_and_prune_removes_the_rest(
    store: VectorStore, tmp_path: Path
) -> None:
    kb = _kb(store)
    guide = tmp_path / "en_kettle.md"
    guide.write_text("---\ntitle: Kettles\ncategory: general\nlang: en\n---\n## One\nfirst\n## Two\nsecond\n")
    other = guide_documents(SAMPLE_GUIDES / "en_tent.md")
    await ingest(kb, KNOWLEDGE, [*guide_documents(guide), *other])
    guide.write_text("---\ntitle: Kettles\ncategory: general\nlang: en\n---\n## One\nfirst, revised\n")
    summary = await ingest(kb, KNOWLEDGE, guide_documents(guide))
    assert (summary.updated, summary.deleted) == (1, 1)
    assert await store.count(KNOWLEDGE) == 1 + len(other), "other guides are untouched"
    pruned = await ingest(kb, KNOWLEDGE, guide_documents(guide), prune=True)
    assert pruned.deleted == len(other) and await store.count(KNOWLEDGE) == 1


async def test_vector_cache_spares_embedding_a_fresh_store(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    cache = VectorFileCache(tmp_path / "vectors", embedder.model, embedder.dim)
    first_store = make_store("edge", tmp_path / "a")
    first = await ingest(_kb(first_store, embedder), PRODUCTS, PRODUCTS_SAMPLE, vector_cache=cache)
    await first_store.aclose()
    assert first.embedded > 0 and first.reused == 0
    reloaded = VectorFileCache(tmp_path / "vectors", embedder.model, embedder.dim)
    second_store = make_store("edge", tmp_path / "b")
    second = await ingest(_kb(second_store, embedder), PRODUCTS, PRODUCTS_SAMPLE, vector_cache=reloaded)
    assert second.embedded == 0 and second.reused == first.embedded
    assert second.version == first.version, "same contents, same version"
    await second_store.aclose()


def test_guides_are_chunked_by_sections_with_the_title_on_each() -> None:
    chunks = guide_documents(SAMPLE_GUIDES / "zh_stroller.md")
    assert len(chunks) > 3
    assert all(c.payload["text"].startswith("婴儿推车怎么选") for c in chunks)
    assert {c.payload["category"] for c in chunks} == {"stroller"}
    assert [c.payload["source"] for c in chunks][:2] == ["zh_stroller.md#0", "zh_stroller.md#1"]
    assert len({c.id for c in chunks}) == len(chunks)
    long_text = "\n\n".join(f"paragraph {i} " + "x" * 500 for i in range(5))
    assert len(chunk_guide(long_text, markdown=False)) == 3
