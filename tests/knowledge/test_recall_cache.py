"""The KV cache in front of recall (real Redis): hit on repeat, invalidated when ingestion changes the collection."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from services.catalog.knowledge.base import KnowledgeBase
from services.catalog.knowledge.documents import KNOWLEDGE, guide_documents
from services.catalog.knowledge.ingest import ingest
from shared.cache import RedisCache
from tests.knowledge.conftest import make_store
from tests.knowledge.fakes import FakeEmbedder

GUIDE = "---\ntitle: Kettles\ncategory: kettle\nlang: en\n---\n## Pick one\n{body}\n"


def _count(result: str) -> float:
    return REGISTRY.get_sample_value("sg_recall_cache_total", {"collection": KNOWLEDGE, "result": result}) or 0.0


async def test_cache_hit_on_repeat_and_invalidated_by_ingest(redis_url: str, namespace: str, tmp_path: Path) -> None:
    cache = RedisCache.from_url(redis_url, namespace)
    store = make_store("edge", tmp_path)
    embedder = FakeEmbedder()
    kb = KnowledgeBase(store, embedder, cache, ttl_s=60)
    await kb.open()
    guide = tmp_path / "en_kettle.md"
    guide.write_text(GUIDE.format(body="Choose a steel kettle."))
    await ingest(kb, KNOWLEDGE, guide_documents(guide))
    hits, misses = _count("hit"), _count("miss")

    first = await kb.search("Which  KETTLE?", 3)
    repeat = await kb.search("which kettle?", 3)  # normalised: the same entry
    assert repeat == first and "steel" in first[0].text
    assert (_count("hit") - hits, _count("miss") - misses) == (1, 1)
    assert await kb.search("which kettle?", 3, category="kettle") is not None
    assert _count("miss") - misses == 2, "filters are part of the key"

    guide.write_text(GUIDE.format(body="Choose a glass kettle."))
    summary = await ingest(kb, KNOWLEDGE, guide_documents(guide))
    assert summary.updated == 1
    assert await cache.get(f"kb:{KNOWLEDGE}:version") == summary.version.encode()
    fresh = await kb.search("which kettle?", 3)
    assert "glass" in fresh[0].text, "the new version misses the old entry"
    assert _count("miss") - misses == 3

    unchanged = await ingest(kb, KNOWLEDGE, guide_documents(guide))
    assert unchanged.version == summary.version
    await kb.search("which kettle?", 3)
    assert _count("hit") - hits == 2, "a no-op ingest keeps the cache"
    await store.aclose()
    await cache.aclose()


async def test_version_survives_a_lost_kv_entry(redis_url: str, namespace: str, tmp_path: Path) -> None:
    cache = RedisCache.from_url(redis_url, namespace)
    store = make_store("edge", tmp_path)
    kb = KnowledgeBase(store, FakeEmbedder(), cache)
    await kb.open()
    guide = tmp_path / "en_kettle.md"
    guide.write_text(GUIDE.format(body="Steel."))
    summary = await ingest(kb, KNOWLEDGE, guide_documents(guide))
    await cache.delete(f"kb:{KNOWLEDGE}:version")
    assert await kb.version(KNOWLEDGE) == summary.version, "taken from the store and put back"
    assert await cache.get(f"kb:{KNOWLEDGE}:version") == summary.version.encode()
    await store.aclose()
    await cache.aclose()
