"""What the intent model reads beyond the catalog: product kinds, search-box queries, after-sales talk, n-grams."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from shared.engines.intent import default_featurizer
from shared.engines.intent_features import CUES, GRAM_BUCKETS, char_grams
from shared.engines.product_kinds import AFTER_SALES, product_kind_lexicon, query_like
from shared.schemas import Message


@pytest.mark.parametrize(
    "text",
    ["a ceramic planter for my desk", "two garden hoses", "想买个狗绳", "有没有好看的花瓶", "any good sci-fi novels?"],
)
def test_kinds_of_product_beyond_the_catalog(text: str) -> None:
    assert product_kind_lexicon().find(text)


@pytest.mark.parametrize("text", ["I'm a big fan of yours", "what a lovely day", "今天天气不错", "haha ok"])
def test_chat_names_no_product(text: str) -> None:
    assert not product_kind_lexicon().find(text)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("bamboo cutting board 18 inch", True),
        ("folding step stool", True),
        ("加厚保温杯 500ml", True),
        ("I need a cutting board", False),  # a sentence
        ("is it dishwasher safe?", False),  # a question
        ("ok thanks", False),  # chat
        ("好的谢谢", False),
        ("我想买个保温杯", False),
    ],
)
def test_query_like(text: str, query: bool) -> None:
    assert query_like(text) is query


@pytest.mark.parametrize(
    ("text", "after_sales"),
    [
        ("我上周买的台灯到现在还没发货", True),
        ("收到的碗有个缺口，怎么退", True),
        ("the kettle I ordered came with a dent", True),
        ("where is my order?", True),
        ("家里的冰箱坏了，想买个新的", False),  # a fault as the reason to buy
        ("my old phone stopped working, I need a new one", False),
        ("现在拍下明天能送到吗", False),  # delivery asked before the order
        ("shampoo for damaged hair", False),
    ],
)
def test_after_sales(text: str, after_sales: bool) -> None:
    assert bool(AFTER_SALES.search(text)) is after_sales


def test_cues_of_a_query_and_of_after_sales() -> None:
    featurizer = default_featurizer()

    def cues(*turns: str) -> set[str]:
        dialog = [Message(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(turns)]
        return {c for c, v in zip(CUES, featurizer.read(dialog).cues, strict=True) if v}

    assert {"product_kind", "product_query", "query"} <= cues("folding step stool")
    assert "after_sales" in cues("收到的碗有个缺口，怎么退")
    assert "product_kind_before" in cues("I want a teapot", "Any preferences?", "under 30 dollars")
    assert not cues("hello") & {"product_kind", "product_query", "after_sales"}


def test_char_grams_are_stable_unit_vectors() -> None:
    vector = char_grams("Wool Socks")
    assert vector.shape == (GRAM_BUCKETS,) and vector.dtype == np.float32
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0)
    assert np.array_equal(vector, char_grams("wool   socks"))  # case and spacing folded
    assert not char_grams("   ").any()
    # CRC-32 buckets: the same in every process (Python's str hash is not); word edges are marked by a space.
    grams = ("a", " a", "a ", " a ")
    assert set(np.flatnonzero(char_grams("a"))) == {zlib.crc32(g.encode()) % GRAM_BUCKETS for g in grams}
