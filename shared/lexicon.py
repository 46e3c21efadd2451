"""Text helpers for the product-facing services: a bilingual sentiment lexicon, review picking,
numbers in a text (copy must not invent one), clipping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.schemas import SkuComment

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def english_words(text: str) -> list[str]:
    return text.split()


# --------------------------------------------------------------------------- sentiment
# Polarity of each cue. Chinese cues are matched longest-first, so 不好 wins over 好 and 不错 over 错.
_ZH_POSITIVE = (
    "好", "很好", "非常好", "不错", "满意", "很满意", "喜欢", "推荐", "值得", "值", "划算", "超值", "流畅", "清晰",
    "舒服", "舒适", "好用", "耐用", "持久", "快", "很快", "漂亮", "好看", "惊艳", "给力", "完美", "质感", "细腻",
    "轻便", "轻巧", "安静", "静音", "保暖", "柔软", "方便", "实惠", "性价比高", "点赞", "回购", "稳", "棒", "赞",
    "清爽", "不油腻", "温和", "好闻", "亮", "准", "够用", "扎实", "结实", "透气", "贴合", "省心", "放心", "惊喜",
    "滋润", "到位", "趁手", "顺手", "实用", "百搭", "显白", "没问题",
)
_ZH_NEGATIVE = (
    "差", "很差", "太差", "不好", "不太好", "失望", "坏", "坏了", "卡", "卡顿", "慢", "垃圾", "发热", "发烫", "掉色",
    "起球", "噪音大", "异味", "难用", "不值", "后悔", "一般", "缺点", "破", "漏", "假货", "不满意", "不行", "不推荐",
    "退货", "闷", "油腻", "刺激", "过敏", "掉线", "断连", "磨脚", "偏小", "偏大", "虚标", "鸡肋", "翻车",
    "色差", "拔干", "起皮", "压痕",
)
_ZH_NEGATORS = ("不", "没", "没有", "无", "毫无", "并不", "一点也不", "一点都不", "不会")
_EN_POSITIVE = frozenset(
    "great excellent love loved loves amazing good perfect comfortable fast smooth clear bright crisp durable worth "
    "recommend recommended best quiet lightweight sturdy beautiful happy impressive solid long-lasting easy nice "
    "awesome fantastic superb reliable gorgeous soft warm stylish convenient fits".split()
)
_EN_NEGATIVE = frozenset(
    "bad poor broke broken slow terrible awful disappointed disappointing flimsy noisy worst hate hated issue issues "
    "problem problems defective overpriced laggy overheats returned refund cheaply leaks leaked faulty useless "
    "uncomfortable scratchy smelly".split()
)
_EN_NEGATORS = frozenset("not no never isn't wasn't doesn't don't didn't aren't hardly".split())
_ZH_CUES = sorted(
    [(w, 1) for w in _ZH_POSITIVE] + [(w, -1) for w in _ZH_NEGATIVE], key=lambda item: -len(item[0])
)


def sentiment(text: str) -> int:
    """Positive minus negative cue count, with simple negation (不卡 is not negative, not good is)."""
    return _zh_sentiment(text) + _en_sentiment(text)


def _zh_sentiment(text: str) -> int:
    total, i = 0, 0
    while i < len(text):
        for word, polarity in _ZH_CUES:
            if text.startswith(word, i):
                negated = not word.startswith(("不", "没")) and any(text[:i].endswith(n) for n in _ZH_NEGATORS)
                total += -polarity if negated else polarity
                i += len(word)
                break
        else:
            i += 1
    return total


def _en_sentiment(text: str) -> int:
    words = [w.lower() for w in _LATIN_WORD.findall(text.replace("’", "'"))]
    total = 0
    for i, word in enumerate(words):
        polarity = 1 if word in _EN_POSITIVE else -1 if word in _EN_NEGATIVE else 0
        if polarity and any(w in _EN_NEGATORS for w in words[max(0, i - 2) : i]):
            polarity = -polarity
        total += polarity
    return total


# --------------------------------------------------------------------------- reviews
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+")


def split_sentences(text: str) -> list[str]:
    return [s.strip(" \t\r\n，,") for s in _SENTENCE_END.split(text) if s and s.strip(" \t\r\n，,")]


@dataclass(frozen=True, slots=True)
class ReviewPick:
    sentence: str
    score: float


def best_review_sentence(
    comments: Sequence[SkuComment], keywords: Iterable[str] = (), max_chars: int = 60
) -> ReviewPick | None:
    """The most positive, most concrete review sentence; None when no review says anything good.

    Concrete means it names one of ``keywords`` (attribute names and values) or a number.
    """
    ranked = review_sentences(comments, keywords, max_chars)
    return ranked[0] if ranked else None


def review_sentences(
    comments: Sequence[SkuComment], keywords: Iterable[str] = (), max_chars: int = 60
) -> list[ReviewPick]:
    """Every positive review sentence, best first by ``best_review_sentence``'s score (ties: first written)."""
    keys = [k.lower() for k in keywords if k and len(k) >= 2]
    picks: list[ReviewPick] = []
    for comment in comments:
        rating_bonus = 0.0 if comment.score is None else (comment.score - 3) * 0.25
        for sentence in split_sentences(comment.commentContent):
            polarity = sentiment(sentence)
            if polarity <= 0:
                continue
            lowered = sentence.lower()
            concrete = sum(1 for k in keys if k in lowered) + (0.5 if _NUMBER.search(sentence) else 0)
            length = han_count(sentence) or len(sentence) // 2
            too_short = length < 4
            score = polarity + 0.8 * min(concrete, 2) + rating_bonus - (1.5 if too_short else 0)
            if len(sentence) > max_chars:
                score -= 1
            picks.append(ReviewPick(sentence, score))
    return sorted(picks, key=lambda pick: -pick.score)  # stable: equal scores keep the order written


def clip(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` at a clause boundary where possible, never inside a number."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    for sep in ("，", ",", "、", " "):
        at = cut.rfind(sep)
        if at >= max_chars // 2:
            return cut[:at].rstrip() + "…"
    while cut and cut[-1].isdigit() and text[len(cut)].isdigit():
        cut = cut[:-1]
    return cut.rstrip(" .") + "…"


# --------------------------------------------------------------------------- numbers
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(_THOUSANDS.sub("", text))


def numbers_in(text: str) -> set[float]:
    return {float(n) for n in _numbers(text)}


def invented_numbers(text: str, sources: Iterable[str]) -> list[str]:
    """Numbers in ``text`` that appear in none of ``sources`` (2999 and 2999.0 count as the same)."""
    known: set[float] = set()
    for source in sources:
        known |= numbers_in(source)
    return [n for n in _numbers(text) if float(n) not in known]


def format_number(value: float) -> str:
    """2999.0 -> '2999', 19.9 -> '19.9'."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
