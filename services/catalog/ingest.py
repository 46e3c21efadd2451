"""Load products and guides into the knowledge base.

    python -m services.catalog.ingest                      # the shipped sample data
    python -m services.catalog.ingest --products more.jsonl --guides guides/ --prune

Safe to repeat: unchanged items are skipped, changed ones updated (see ``services.catalog.knowledge.ingest``).

Any shop's goods: what the catalog carries (categories, attribute keys and values, brands) is read from the products
themselves and served as its vocabulary (``GET /v1/catalog/vocabulary``), which the services that read dialogs, the
copywriting service and the router fetch. A product of a kind the taxonomy file does not know may name it
(``categoryName`` in Chinese, ``categoryNameEn``, ``categoryAliases``), name its attributes (``attributeNames``: key ->
``{"zh": "产地", "en": "origin"}``) and give their values in Chinese (``attributesZh``: key -> value); a brand may list
its other names (``brandAliases``).
With the embedded store, stop the catalog service first (one process opens it); with SG_QDRANT_URL, ingest any
time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from services.catalog.knowledge import KnowledgeBase, open_knowledge_base, vector_cache
from services.catalog.knowledge.documents import (
    KNOWLEDGE,
    PRODUCTS,
    guide_documents,
    guide_files,
    product_document,
    read_products,
)
from services.catalog.knowledge.ingest import IngestSummary, embed_missing, ingest
from services.catalog.knowledge.vector_cache import VectorFileCache
from shared.cache import open_cache
from shared.embeddings import create_embedder
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

SAMPLE_DATA = Path(__file__).with_name("sample_data")
SAMPLE_PRODUCTS = SAMPLE_DATA / "products.jsonl"
SAMPLE_GUIDES = SAMPLE_DATA / "guides"
# The sample's document vectors, shipped so that a fresh clone starts without embedding it (~10 s on 2 cores).
# Regenerate after changing the sample data or the embedder: python -m services.catalog.ingest --export-sample-vectors
SAMPLE_VECTORS = Path(__file__).with_name("sample_vectors")


async def ingest_files(
    kb: KnowledgeBase,
    products: list[Path],
    guides: list[Path],
    *,
    vectors: VectorFileCache | None = None,
    batch_size: int = 256,
    prune: bool = False,
    progress: bool = False,
) -> list[IngestSummary]:
    summaries = []
    if products:
        documents = [product_document(sku) for path in products for sku in read_products(path)]
        summaries.append(await ingest(kb, PRODUCTS, documents, batch_size=batch_size, prune=prune,
                                      progress=progress, vector_cache=vectors))
    if guides:
        documents = [d for path in guide_files(guides) for d in guide_documents(path)]
        summaries.append(await ingest(kb, KNOWLEDGE, documents, batch_size=batch_size, prune=prune,
                                      progress=progress, vector_cache=vectors))
    return summaries


async def seed_if_empty(kb: KnowledgeBase, settings: Settings) -> list[IngestSummary]:
    """The sample catalog and guides, when no ingestion ever completed in either collection (a first
    ``make run``, or one stopped half-way: ingestion records a version only once it has finished)."""
    if await kb.store.version(PRODUCTS) or await kb.store.version(KNOWLEDGE):
        return []
    log.info("the knowledge base is empty: ingesting the sample data from %s", SAMPLE_DATA)
    vectors = vector_cache(settings, kb.embedder, seeds=[SAMPLE_VECTORS])
    return await ingest_files(kb, [SAMPLE_PRODUCTS], [SAMPLE_GUIDES], vectors=vectors)


def _sample_texts() -> list[str]:
    products = [product_document(sku) for sku in read_products(SAMPLE_PRODUCTS)]
    guides = [d for path in guide_files([SAMPLE_GUIDES]) for d in guide_documents(path)]
    return [text for d in (*products, *guides) for text in d.texts.values()]


async def _export_sample_vectors(settings: Settings) -> Path:
    embedder = create_embedder(settings)
    await embedder.start()
    try:
        texts = _sample_texts()
        vectors = vector_cache(settings, embedder, seeds=[SAMPLE_VECTORS])
        await embed_missing(embedder, texts, vectors)
        return vectors.export(SAMPLE_VECTORS, texts)
    finally:
        await embedder.aclose()


async def _main(args: argparse.Namespace) -> int:
    settings = get_settings()
    products = args.products if args.products or args.guides else [SAMPLE_PRODUCTS]
    guides = args.guides if args.products or args.guides else [SAMPLE_GUIDES]
    if args.export_sample_vectors:
        print(f"wrote {await _export_sample_vectors(settings)}")
        return 0
    cache = await open_cache(settings)
    try:
        async with open_knowledge_base(settings, cache) as kb:
            vectors = vector_cache(settings, kb.embedder, seeds=[SAMPLE_VECTORS])
            summaries = await ingest_files(
                kb, products, guides, vectors=vectors,
                batch_size=args.batch_size, prune=args.prune, progress=not args.quiet,
            )
    finally:
        await cache.aclose()
    for summary in summaries:
        print(json.dumps(summary.as_dict()) if args.json else summary.line())
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.catalog.ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=Path, action="append", default=[], help="products JSONL (repeatable)")
    parser.add_argument("--guides", type=Path, action="append", default=[],
                        help="a guide file or a folder of .md/.txt guides (repeatable)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--prune", action="store_true", help="delete every point this run did not produce")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="summaries as JSON lines")
    parser.add_argument("--export-sample-vectors", action="store_true",
                        help=f"write the sample data's vectors to {SAMPLE_VECTORS.name}/ and stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()
