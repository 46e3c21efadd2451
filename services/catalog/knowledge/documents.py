"""What goes into the knowledge base: products (JSONL) and guides (markdown or text), as documents.

A document has a deterministic id (uuid5 of its collection and key), so ingesting the same item again
overwrites it instead of adding a copy, and a content hash, so an unchanged item is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.schemas import SkuInfo
from shared.taxonomy import load_taxonomy

PRODUCTS = "products"
KNOWLEDGE = "knowledge"
# Products carry two vectors: what the product is, and what buyers praise in it (4-5 star reviews).
PRODUCT_VECTORS = ("text", "reviews")
KNOWLEDGE_VECTORS = ("text",)
PRAISE_MIN_SCORE = 4
MAX_CHUNK_CHARS = 1200

_NAMESPACE = uuid.UUID("6f1c2b9e-5d4a-4e0b-9a57-2f0d8c3b7a11")


def point_id(collection: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{collection}:{key}"))


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    doc: str  # the source unit it came from (a skuId, a guide file): re-ingesting it replaces all its chunks
    texts: dict[str, str]  # vector name -> text to embed; a missing name means no such vector
    payload: dict[str, Any]

    @property
    def hash(self) -> str:
        blob = json.dumps([self.texts, self.payload], sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def product_text(sku: SkuInfo) -> str:
    extra = sku.model_extra or {}
    category = load_taxonomy().categories.get(sku.category)
    # A kind the taxonomy does not know is named by the product itself (an open catalog), else by its id in words.
    own = (extra.get("categoryNameEn") or sku.category.replace("_", " "), extra.get("categoryName") or "")
    kind = f"{category.name_en} {category.name_zh}" if category else " ".join(str(n) for n in own if n)
    attributes = "; ".join(f"{key}: {value}" for key, value in sku.attributes.items())
    parts = (sku.skuName, extra.get("skuNameEn", ""), f"{sku.brand} {kind}", attributes, sku.intro, extra.get("introEn", ""))
    return "\n".join(str(part) for part in parts if part)


def product_document(sku: SkuInfo) -> Document:
    praise = [c.commentContent for c in sku.skuCommentList if (c.score or 0) >= PRAISE_MIN_SCORE]
    texts = {"text": product_text(sku)}
    if praise:
        texts["reviews"] = "\n".join(praise)
    return Document(point_id(PRODUCTS, sku.skuId), sku.skuId, texts, {**sku.model_dump(), "doc": sku.skuId})


def read_products(path: Path) -> Iterator[SkuInfo]:
    """Products from JSONL, one ``SkuInfo`` object a line; a bad line stops with its line number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield SkuInfo.model_validate_json(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a product: {exc}") from exc


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    header, _, body = text[3:].partition("\n---")
    meta = {k.strip(): v.split("#")[0].strip() for k, _, v in (line.partition(":") for line in header.splitlines()) if v}
    return meta, body


def _pack(paragraphs: list[str], limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Paragraphs joined into chunks of at most ``limit`` characters (a longer paragraph stays whole)."""
    chunks: list[str] = []
    for paragraph in paragraphs:
        if chunks and len(chunks[-1]) + len(paragraph) + 2 <= limit:
            chunks[-1] += "\n\n" + paragraph
        else:
            chunks.append(paragraph)
    return chunks


def chunk_guide(text: str, markdown: bool = True) -> list[str]:
    """Markdown by its ``##`` sections, a long section by paragraphs; plain text by paragraphs."""
    sections = re.split(r"\n(?=## )", text) if markdown else [text]
    chunks: list[str] = []
    for section in sections:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", section) if p.strip()]
        chunks.extend(_pack(paragraphs))
    return chunks


def guide_documents(path: Path) -> list[Document]:
    """A guide file's chunks, each prefixed with the guide's title so it reads (and embeds) on its own."""
    meta, body = _front_matter(path.read_text("utf-8"))
    title = meta.get("title", path.stem.replace("_", " "))
    category = meta.get("category", "general")
    documents = []
    for i, chunk in enumerate(chunk_guide(body, markdown=path.suffix.lower() in {".md", ".markdown"})):
        source = f"{path.name}#{i}"
        text = f"{title}\n{chunk}"
        payload = {"text": text, "source": source, "title": title, "category": category,
                   "lang": meta.get("lang", ""), "doc": path.name}
        documents.append(Document(point_id(KNOWLEDGE, source), path.name, {"text": text}, payload))
    return documents


def guide_files(paths: list[Path]) -> list[Path]:
    """Guide files from files and folders (``*.md``, ``*.markdown``, ``*.txt``), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix.lower() in {".md", ".markdown", ".txt"})
        else:
            found.append(path)
    return sorted(found)
