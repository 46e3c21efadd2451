"""The vocabulary feed over real HTTP: a new catalog version is taken (and what depends on it rebuilt once), the same
version is not, and a catalog that stops answering leaves the last vocabulary in place."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fastapi import FastAPI

from shared.simulator import run_in_thread
from shared.vocabulary import VOCABULARY_PATH, Vocabulary, VocabularyFeed, sample_vocabulary, vocabulary_of

GROCERY = Path(__file__).parent / "data" / "grocery_products.jsonl"


async def test_a_new_version_is_taken_once_and_a_silent_catalog_changes_nothing() -> None:
    products = [json.loads(line) for line in GROCERY.read_text(encoding="utf-8").splitlines()]
    served = {"vocabulary": vocabulary_of(products[:6], "v1")}
    catalog = FastAPI()

    @catalog.get(VOCABULARY_PATH)
    async def vocabulary() -> Vocabulary:
        return served["vocabulary"]

    taken: list[str] = []

    async def adopt(found: Vocabulary) -> None:
        taken.append(found.version)

    async with httpx.AsyncClient() as http:
        with run_in_thread(catalog) as server:
            feed = VocabularyFeed(http, server.url, 60, adopt)
            assert feed.current == sample_vocabulary() and feed.source == "sample"
            assert await feed.refresh() and not await feed.refresh()
            served["vocabulary"] = vocabulary_of(products, "v2")
            assert await feed.refresh()
            assert taken == ["v1", "v2"] and {c.id for c in feed.current.categories} >= {"honey", "fresh_fruit"}
            assert feed.source == "catalog"
        assert not await feed.refresh(), "the catalog is gone"
        assert feed.current.version == "v2" and taken == ["v1", "v2"]
