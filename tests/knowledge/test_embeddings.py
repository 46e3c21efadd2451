"""The embedding interface: the packaged multilingual model, the OpenAI-compatible client, the query LRU."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY

from shared.embeddings import (
    USE_DIM,
    USE_MODEL,
    EmbeddingError,
    LocalEmbedder,
    OpenAIEmbedder,
    create_embedder,
)
from shared.settings import Settings


def _lru(result: str) -> float:
    return REGISTRY.get_sample_value("sg_embedding_query_cache_total", {"result": result}) or 0.0


async def test_local_model_is_multilingual_and_normalised() -> None:
    embedder = LocalEmbedder()
    await embedder.start()
    assert (embedder.model, embedder.dim) == (USE_MODEL, USE_DIM)
    docs = await embedder.embed_documents(
        ["This phone's battery lasts two days.", "这款帐篷防水性能很好。", "Lipstick shades for warm skin tones."]
    )
    assert docs.shape == (3, USE_DIM) and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    zh = await embedder.embed_query("手机电池续航时间长")
    en = await embedder.embed_query("a waterproof tent")
    assert int(np.argmax(docs @ zh)) == 0, "a Chinese query finds the English sentence"
    assert int(np.argmax(docs @ en)) == 1, "an English query finds the Chinese sentence"


async def test_repeated_queries_come_from_the_lru() -> None:
    embedder = LocalEmbedder(query_cache_size=2)
    hits, misses = _lru("hit"), _lru("miss")
    first = await embedder.embed_query("降噪耳机")
    again = await embedder.embed_query("降噪耳机")
    assert again is first
    assert (_lru("hit") - hits, _lru("miss") - misses) == (1, 1)


def _endpoint(seen: list[dict]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if body["model"] == "broken":
            return httpx.Response(503, json={"error": "overloaded"})
        rows = [{"index": i, "embedding": [float(len(text)), 1.0, 0.0]} for i, text in enumerate(body["input"])]
        return httpx.Response(200, json={"data": list(reversed(rows))})  # order restored by index

    return httpx.MockTransport(handler)


async def test_openai_compatible_endpoint() -> None:
    seen: list[dict] = []
    embedder = OpenAIEmbedder("http://emb:8000/", "bge-m3", api_key="k", transport=_endpoint(seen))
    await embedder.start()
    assert embedder.dim == 3, "the dimension is learnt from the endpoint"
    vectors = await embedder.embed_documents(["a", "bbbb"])
    assert vectors[0] @ vectors[1] < 1 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert seen[-1] == {"body": {"model": "bge-m3", "input": ["a", "bbbb"]}, "auth": "Bearer k"}
    await embedder.aclose()

    broken = OpenAIEmbedder("http://emb:8000", "broken", transport=_endpoint(seen))
    with pytest.raises(EmbeddingError, match="503"):
        await broken.start()
    await broken.aclose()


def test_openai_backend_needs_url_and_model() -> None:
    with pytest.raises(EmbeddingError, match="SG_EMBEDDING_URL"):
        create_embedder(Settings(_env_file=None, embedding_backend="openai"))
    assert isinstance(create_embedder(Settings(_env_file=None)), LocalEmbedder)
