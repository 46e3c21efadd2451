"""Scale the sample catalog to N products for benchmarks, deterministically.

    python services/catalog/sample_data/scale.py --count 10000 --out var/bench/products-10k.jsonl

The first 635 are the sample as it is; the rest are later "generations" of its products: a new skuId,
"Gen N" / "第N代" in the names, a price moved by up to +/-20 %, another colour and a different subset of the
reviews. Names change, so every scaled product embeds to a new vector, as a real catalog would.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLOURS = ("black", "white", "silver", "grey", "blue", "navy", "red", "pink", "green", "beige", "brown", "purple")


def read_sample(path: Path = HERE / "products.jsonl") -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def scale(products: list[dict[str, Any]], count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(count):
        base = products[i % len(products)]
        generation = i // len(products)
        if generation == 0:
            yield base
            continue
        reviews = base["skuCommentList"]
        attributes = dict(base["attributes"])
        if "colour" in attributes:
            attributes["colour"] = rng.choice(COLOURS)
        yield {
            **base,
            "skuId": f"{base['skuId']}-g{generation + 1}",
            "skuName": f"{base['skuName']} 第{generation + 1}代",
            "skuNameEn": f"{base.get('skuNameEn', base['skuName'])} Gen {generation + 1}",
            "price": float(round(base["price"] * rng.uniform(0.8, 1.2))),
            "attributes": attributes,
            "skuCommentList": rng.sample(reviews, k=rng.randint(1, len(reviews))) if reviews else [],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for product in scale(read_sample(), args.count, args.seed):
            out.write(json.dumps(product, ensure_ascii=False) + "\n")
    print(f"wrote {args.count} products to {args.out}")


if __name__ == "__main__":
    main()
