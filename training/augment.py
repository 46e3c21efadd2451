"""Synthetic dialogs for distillation: the labelled dialogs with their products and brands swapped.

A char n-gram model only knows the product and brand words it was trained on; the embedding model knows
far more. Swapping every category term and brand in a labelled dialog for another one from the taxonomy
(same script, so a Chinese sentence stays Chinese) gives the fast model the taxonomy's whole vocabulary in
the contexts the annotator wrote. The teacher then labels these variants (see ``eval_intent``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from shared.engines.terms import Mention, TermLexicon, category_terms, taxonomy_brand_terms
from shared.schemas import Message
from shared.taxonomy import Taxonomy


def _same_script_pools(terms: Iterable[str]) -> tuple[list[str], list[str]]:
    ordered = sorted(set(terms))
    return [t for t in ordered if t.isascii()], [t for t in ordered if not t.isascii()]


def _replace(text: str, mentions: Sequence[Mention], new: Callable[[Mention], str]) -> str:
    out, cursor = [], 0
    for mention in mentions:
        out += [text[cursor : mention.start], new(mention)]
        cursor = mention.end
    return "".join(out) + text[cursor:]


def _pick(mention: Mention, pools: tuple[list[str], list[str]], mapping: dict[str, str], rng: random.Random) -> str:
    """The stand-in for a term, the same one wherever the term recurs in the dialog."""
    key = mention.surface.lower()
    if key not in mapping:
        mapping[key] = rng.choice(pools[0] if mention.surface.isascii() else pools[1])
    return mapping[key]


class Augmenter:
    def __init__(self, taxonomy: Taxonomy, seed: int = 0) -> None:
        # Swap in the taxonomy's own names only: the catalog's model codes would read as noise.
        brands, categories = taxonomy_brand_terms(taxonomy), category_terms(taxonomy)
        self.lexicons = (
            (TermLexicon(categories), _same_script_pools(categories)),
            (TermLexicon(brands), _same_script_pools(brands)),
        )
        self.seed = seed

    def variants(self, dialogs: Sequence[Sequence[Message]], per_dialog: int) -> list[tuple[int, list[Message]]]:
        """Up to ``per_dialog`` variants of each dialog that names a product or a brand, with the dialog's index.

        The whole dialog is rewritten with one mapping, so a brand the bot offered and the user then picks
        stays the same name in both turns: that cue decides between "specific brand" and "specific needs".
        """
        rng = random.Random(self.seed)
        out: list[tuple[int, list[Message]]] = []
        for index, dialog in enumerate(dialogs):
            if not any(lexicon.find(m.content) for m in dialog for lexicon, _ in self.lexicons):
                continue
            for _ in range(per_dialog):
                mapping: dict[str, str] = {}
                rewritten = [
                    Message.model_construct(role=m.role, content=self._rewrite(m.content, mapping, rng)) for m in dialog
                ]
                out.append((index, rewritten))
        return out

    def _rewrite(self, text: str, mapping: dict[str, str], rng: random.Random) -> str:
        for lexicon, pools in self.lexicons:
            text = _replace(text, lexicon.find(text), partial(_pick, pools=pools, mapping=mapping, rng=rng))
        return text
