"""What the CPU fine-tune (``training.finetune.cpu``) trains on, without torch: the samples
picked from the SFT builder's extraction datasets, and where each sample's loss is counted (the base model is the GGUF
``shared.llm.model_server.model_path`` finds, as the real-model tests use).

Every extraction sample opens with the same system message (the instruction and the whole category list, about
1,550 SmolLM2 tokens). The fine-tune reads that shared prefix once and trains on what follows it (the dialog and
the answer), so ``max_length`` bounds the part after the prefix.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from training.sft import DEFAULT_OUT as SFT_DIR

OUT_DIR = Path("var/finetune")
IGNORE = -100  # the label torch's cross-entropy skips: prompt tokens carry no loss


def load_samples(part: str, sft_dir: Path = SFT_DIR) -> list[dict[str, Any]]:
    """The builder's extraction samples of one split (``train`` or ``validation``)."""
    path = sft_dir / f"sg_extraction_{part}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make sft` first")
    rows: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return rows


def stratum(row: dict[str, Any]) -> tuple[str, bool]:
    """Language and whether the gold answer is a call: picked in equal turns, so a small pick keeps both
    languages and enough "no call" answers."""
    return row.get("lang", ""), '"call": null' not in row["conversations"][-1]["value"]


def pick(
    rows: Sequence[dict[str, Any]],
    n: int,
    fits: Callable[[dict[str, Any]], bool],
    seed: int,
    call_share: float = 0.5,
) -> list[dict[str, Any]]:
    """Up to ``n`` rows that ``fits`` accepts, shuffled by ``seed``: ``call_share`` of them with a call, the
    languages in equal turns; a stratum that runs out leaves its place to the others."""
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(stratum(row), []).append(row)
    rng = random.Random(seed)
    queues: dict[tuple[str, bool], Iterator[dict[str, Any]]] = {}
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        queues[key] = iter(group)
    kinds = {call: sum(1 for key in groups if key[1] == call) for call in (True, False)}
    share = {True: call_share, False: 1 - call_share}
    quota = {key: math.ceil(n * share[key[1]] / kinds[key[1]]) for key in groups}
    picked: list[dict[str, Any]] = []
    taken = dict.fromkeys(groups, 0)
    for bounded in (True, False):  # within the quotas first, then whatever is left up to n
        live = [key for key in queues if not bounded or taken[key] < quota[key]]
        while live and len(picked) < n:
            for key in live[:]:
                found = next((r for r in queues[key] if fits(r)), None)
                if found is None:
                    live.remove(key)
                    del queues[key]
                    continue
                picked.append(found)
                taken[key] += 1
                if (bounded and taken[key] >= quota[key]) or len(picked) >= n:
                    live.remove(key)
                    if len(picked) >= n:
                        break
    rng.shuffle(picked)
    return picked


def messages(row: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """A sharegpt sample as chat messages (system, then the human turns) and the gpt answer to learn."""
    roles = {"human": "user", "gpt": "assistant"}
    turns = row["conversations"]
    chat = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    chat += [{"role": roles[t["from"]], "content": t["value"]} for t in turns[:-1]]
    return chat, turns[-1]["value"]


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest prefix all sequences share."""
    if not sequences:
        return 0
    n = min(map(len, sequences))
    for i in range(n):
        token = sequences[0][i]
        if any(s[i] != token for s in sequences):
            return i
    return n


def labels(prompt_len: int, ids: Sequence[int]) -> list[int]:
    """The answer's tokens as labels, the prompt's ignored."""
    if not 0 <= prompt_len < len(ids):
        raise ValueError(f"the prompt ({prompt_len} tokens) leaves no answer in {len(ids)} tokens")
    return [IGNORE] * prompt_len + list(ids[prompt_len:])
