"""The SFT data builder: LLaMA-Factory sharegpt files, dedup, length filter, split, generator, session export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.cache import RedisCache
from shared.schemas import DialogState, FunctionCall, SkuInfo
from shared.sessions import Exchange, SessionStore, tenant_var
from shared.taxonomy import load_taxonomy
from training import sft

TAXONOMY = load_taxonomy()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, sft.Built]:
    out = tmp_path_factory.mktemp("sft")
    result, stats = sft.build(out, generated=40, seed=3)
    assert "tokenizer: estimate" in stats and "guide" in stats
    return out, result


def _load(out: Path) -> dict[str, list[dict[str, Any]]]:
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    loaded = {}
    for name, entry in info.items():
        assert entry["formatting"] == "sharegpt"
        assert entry["columns"] == {"messages": "conversations", "system": "system"}
        loaded[name] = json.loads((out / entry["file_name"]).read_text(encoding="utf-8"))
    return loaded


def test_the_build_writes_valid_sharegpt_datasets_for_every_task(built: tuple[Path, sft.Built]) -> None:
    out, _ = built
    loaded = _load(out)
    assert {f"sg_{task}_train" for task in sft.TASKS} <= set(loaded)
    for rows in loaded.values():
        for row in rows:
            assert sft.sharegpt_problems(row) == [], row["id"]
    guide = loaded["sg_guide_train"][0]
    assert guide["system"].startswith("You are an intelligent shopping guide")
    assert all(
        t["value"].startswith("User: ") and "\n[API Return]:\n" in t["value"] for t in guide["conversations"][::2]
    )
    assert all(t["value"].startswith("Shopping Guide: ") for t in guide["conversations"][1::2])
    for row in loaded["sg_extraction_train"]:
        answer = json.loads(row["conversations"][1]["value"].removeprefix("<response>").removesuffix("</response>"))
        assert answer["call"] is None or answer["call"]["name"] == "get_recommds_by_sku"
    for row in loaded["sg_intent_train"]:
        body = row["conversations"][1]["value"].split("<response>")[1].removesuffix("</response>")
        assert set(json.loads(body)) == {"category", "reason", "aim", "scene"}
    summary = json.loads(loaded["sg_summary_train"][0]["conversations"][1]["value"])
    assert set(summary) == {"用户问题", "客服方案", "是否接受", "是否负面情绪"}
    sources = {row["source"] for rows in loaded.values() for row in rows}
    assert sources == {"labelled", "generated"}


def test_the_schema_check_rejects_what_llama_factory_would() -> None:
    def record(*turns: tuple[str, str]) -> dict[str, Any]:
        return {"conversations": [{"from": f, "value": v} for f, v in turns], "system": ""}

    assert (
        sft.sharegpt_problems(record(("human", "q"), ("function_call", "{}"), ("observation", "[]"), ("gpt", "a")))
        == []
    )
    assert sft.sharegpt_problems(record(("human", "q")))  # ends with the user
    assert sft.sharegpt_problems(record(("gpt", "a"), ("human", "q")))  # model first
    assert sft.sharegpt_problems(record(("human", "q"), ("gpt", "a"), ("observation", "[]"), ("gpt", "b")))
    assert sft.sharegpt_problems(record(("human", ""), ("gpt", "a")))


def _sample(i: int, text: str) -> sft.Sample:
    return sft.Sample("summary", "labelled", "zh", f"s{i}", (("human", text), ("gpt", "{}")))


def test_dedup_goes_by_normalised_content_and_long_samples_are_dropped() -> None:
    samples = [
        _sample(1, "你好  世界"),
        _sample(2, "你好 世界"),
        _sample(3, "Hello"),
        _sample(4, "hello "),
        _sample(5, "word " * 50),
    ]
    counter = sft.TokenCounter("words", lambda text: len(text.split()))
    result = sft.select(samples, counter, max_tokens=20, validation_percent=50)
    assert [s.id for s in result.kept] == ["s1", "s3"]
    assert result.dropped_duplicate["summary"] == 2 and result.dropped_long["summary"] == 1


def test_the_split_is_deterministic_by_content_not_position() -> None:
    samples = [_sample(i, f"dialog number {i}") for i in range(200)]
    counter = sft.TokenCounter("chars", len)
    first = sft.select(samples, counter, 10_000, 10).split
    again = sft.select(list(reversed(samples)) + [_sample(999, "another")], counter, 10_000, 10).split
    assert all(again[key] == part for key, part in first.items())
    assert 5 <= sum(part == "validation" for part in first.values()) <= 40


def _records(seed: int, n: int) -> list[dict[str, Any]]:
    generator = sft.Generator(TAXONOMY, sft.load_catalog(), seed)
    return [s.record() for s in sft.from_dialogs(generator.generate(n), TAXONOMY)]


def test_the_generator_is_reproducible_and_covers_every_kind_in_both_languages() -> None:
    assert _records(7, 30) == _records(7, 30)
    assert _records(7, 30) != _records(8, 30)
    dialogs = sft.Generator(TAXONOMY, sft.load_catalog(), 7).generate(2 * len(sft.KINDS))
    assert {(d.kind, d.lang) for d in dialogs} == {(k, lang) for k in sft.KINDS for lang in ("en", "zh")}
    outside = next(d for d in dialogs if d.kind == "out_of_catalog")
    assert outside.turns[-1].arguments == {"category": None} and not outside.turns[-1].products
    for d in dialogs:
        for turn in d.turns:
            assert turn.reply and (turn.arguments is None or "category" in turn.arguments)
            assert turn.arguments is not None or turn.intent in ("random chat", "random shopping", "intended shopping")


def test_a_tokenizer_file_is_used_when_given(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(WordLevel({"[UNK]": 0, "hello": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = sft.token_counter(str(tmp_path))
    assert counter.name.startswith("tokenizers:") and counter.count("hello big world") == 3
    assert sft.token_counter(None).name.startswith("estimate")


async def test_export_reads_the_sessions_session_store_wrote(redis_url: str, tmp_path: Path) -> None:
    cache = RedisCache.from_url(redis_url, "sg")
    store = SessionStore(cache, max_turns=20)
    product = SkuInfo(skuId="SKU-1", skuName="Phone X", brand="Apple", category="smartphone", price=999.0)
    call = FunctionCall(arguments={"category": "smartphone", "brand": "Apple"})
    try:
        for tenant, sid in (("acme", "s-1"), ("acme", "s:2"), ("other", "s-3")):
            token = tenant_var.set(tenant)
            try:
                await store.append(
                    sid, Exchange(user="hi", assistant="Hello!", intent="random chat"), preferences=None, products=[]
                )
                await store.append(
                    sid,
                    Exchange(user="an Apple phone", assistant="Here is Phone X.", intent="specific brand"),
                    preferences=call.arguments,
                    products=[product],
                    state=DialogState(call=call),
                )
            finally:
                tenant_var.reset(token)
    finally:
        await cache.aclose()
    out = tmp_path / "sessions.jsonl"
    assert await sft.export_sessions(redis_url, "acme", out) == 2
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == ["s-1", "s:2"]
    row = rows[0]
    assert [m["content"] for m in row["messages"]] == ["hi", "Hello!", "an Apple phone", "Here is Phone X."]
    assert row["intents"] == ["random chat", "specific brand"]
    assert row["last_products"][0]["skuId"] == "SKU-1"
    samples = sft.from_sessions(out, TAXONOMY)
    assert {s.task for s in samples} == {"guide", "intent", "extraction"}
    assert all(sft.sharegpt_problems(s.record()) == [] for s in samples)
    guide = next(s for s in samples if s.task == "guide")
    assert "SKU-1" in guide.conversations[-2][1] and "(not recorded)" in guide.conversations[0][1]
