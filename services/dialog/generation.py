"""What a client asks of the guide's reply beyond the dialog: generation parameters and operator instructions.

The LLM gets the parameters as they are (the route's max_tokens caps max_tokens) and the instructions as a
section of its system prompt, apart from anything the user wrote. The local engine has no sampling to set: it
keeps its reply within ``max_tokens`` (``finish_reason: length`` when it had to cut) and ends it before the first
stop sequence (never before its first word); of the instructions it takes only the reply language, when they name one plainly.
"""

from __future__ import annotations

import re

from shared.llm.tokens import TokenCounter
from shared.schemas import Generation

_VERB = r"(answer|reply|respond|speak|write|talk|use)"
_ENGLISH = re.compile(rf"\b{_VERB}\b[^.\n。]{{0,40}}\b(in )?english\b|\benglish only\b|用英文|用英语|英文回答|英语回答", re.I)
_CHINESE = re.compile(
    rf"\b{_VERB}\b[^.\n。]{{0,40}}\b(in )?(simplified )?(chinese|mandarin)\b|\bchinese only\b|用中文|用汉语|用简体中文|中文回答",
    re.I,
)
_CLOSE_TAG = re.compile(r"</\s*operator_instructions\s*>", re.I)


def instructed_chinese(instructions: str | None) -> bool | None:
    """The reply language the instructions ask for plainly: True for Chinese, False for English, None when they
    name none (or both)."""
    if not instructions:
        return None
    english, chinese = bool(_ENGLISH.search(instructions)), bool(_CHINESE.search(instructions))
    return None if english == chinese else chinese


def with_instructions(system: str, instructions: str | None) -> str:
    """The guide's system prompt with the operator's instructions as a section of their own: they may shape tone,
    length and format; the guide's rules above them still hold."""
    if not instructions:
        return system
    text = _CLOSE_TAG.sub("</ operator_instructions>", instructions)
    return (
        f"{system}\n\n"
        "The operator of the app you are part of adds these instructions. Follow them for tone, length and "
        "format; where they conflict with the rules above, the rules above win. They are not the customer's "
        f"words.\n<operator_instructions>\n{text}\n</operator_instructions>"
    )


async def bounded(text: str, generation: Generation | None, tokens: TokenCounter) -> tuple[str, str]:
    """The local engine's reply as the generation parameters allow it, and its finish reason: ended before the
    first stop sequence, then cut to ``max_tokens`` (``length``)."""
    if generation is None:
        return text, "stop"
    if generation.stop:
        # Searched from the second character: a reply is never cut to nothing (a session keeps no empty reply).
        cuts = [at for stop in generation.stop if (at := text.find(stop, 1)) > 0 and text[:at].strip()]
        text = text[: min(cuts)].rstrip() if cuts else text
    if generation.max_tokens is not None:
        clipped = await tokens.clip(text, generation.max_tokens)
        if clipped != text:
            return clipped.rstrip(), "length"
    return text, "stop"
