"""Scene of the user's current need, as the scene prompt defines it: ``aim`` (how the product will be used,
never the place) and ``scene`` (where or when). Lexicons and patterns over the user's turns, last first.

A cue word finds the clause; the clause, less its shopping phrases ("想买点东西", "what should I buy"),
is the value, so it keeps the user's words as the annotator did ("下周去三亚旅游", "business trip to London").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.schemas import NON_SHOPPING_INTENTS, Message, Scene

_CLAUSE = re.compile(r"[^，,。.!?！？;；\n]+")

_SCENE_CUE = re.compile(
    r"\b(?:trip|travel(?:l?ing)?|vacation|holiday|flight|cruise|camping|hik(?:e|ing)|backpacking|ski(?:ing)?|"
    r"safari|road trip|wedding|birthday|party|bbq|festival|graduation|anniversary|baby shower|christmas|"
    r"halloween|thanksgiving|valentine'?s day|mother'?s day|father'?s day|easter|new year|office|dorm|kitchen|"
    r"garage|nursery|the car|gym|beach|pool|classroom|hospital|hotel|conference|marathon|race day|"
    r"new (?:house|apartment|home|job)|moving|kindergarten|rv|winter in|balcony|bedroom|living room)\b|"
    r"去[\u4e00-\u9fff]{1,4}(?:玩|旅游|旅行|度假|出差|潜水|滑雪|露营|爬山)?|旅游|旅行|出差|度假|露营|爬山|徒步|滑雪|潜水|自驾游?|"
    r"婚礼|结婚|生日|派对|聚会|年会|团建|面试|开会|开学|幼儿园|留学|乔迁|搬家|新家|装修|过年|春节|中秋|情人节|母亲节|父亲节|"
    r"圣诞|国庆|毕业|满月|办公室|宿舍|卧室|客厅|厨房|阳台|车里|车上|健身房|游泳馆|实验室|出租屋|婴儿房|酒店|客房|海边|高原|"
    r"户外|通勤|地铁",
    re.I,
)
_AIM_CUE = re.compile(
    r"用来(?P<a>[^，,。.!?！？]{1,12})|(?P<b>[^，,。.!?！？]{1,8}?)用的|(?P<c>送[^，,。.!?！？的]{1,5})|"
    r"给(?P<d>[^，,。.!?！？]{1,6}?)(?P<dv>用|吃|玩|买)|主要是(?P<e>[^，,。.!?！？]{1,10})|"
    r"(?P<f>gift for (?:my |a |the )?[\w' -]{2,20}?)(?=[,.!?]|$| and )|"
    r"(?:get|buy) (?:my |a )?(?P<g>\w+) a (?:gift|present)|"
    r"\bfor (?P<h>(?:\w+ing)\b[\w' -]{0,24}?)(?=[,.!?]|$| and | with )|"
    r"\bwhile i'?m (?P<i>\w+ing)|\bi (?P<j>(?:take|shoot|watch|play) [\w' -]{2,30}?)(?=[,.!?]|$| and )|"
    r"拍照|拍娃|打游戏|看电影|剪视频|上网课|跑步|游泳|做饭|画画|写作业",
    re.I,
)
_SHOPPING_PHRASE = re.compile(
    r"(?:,?\s*(?:and )?(?:i )?(?:need|want|gotta|have) to (?:buy|get|shop).*|what (?:should|do) (?:i|we) "
    r"(?:buy|get|need).*|shopping for.*|looking for.*|need (?:some|a few)? ?(?:stuff|things|gear).*|"
    r"(?:我)?(?:想|要|得|需要|打算)?(?:买|准备|添置|备).*|(?:需要|要)?准备点.*|有什么.*推荐.*)$",
    re.I,
)
_LEADING = re.compile(
    r"^(?:(?:oh|hmm|yes|yeah|ok|so|well|right|actually|also|hi|hello|正好|对|嗯|好的|我们?|i'?m|i'?ve got|"
    r"we'?re|going|on|to|a|an|the|my|for|about|starting|planning|doing|having|heading)\b[\s,，]*)+",
    re.I,
)


def _trim(text: str) -> str:
    return _LEADING.sub("", _SHOPPING_PHRASE.sub("", text.strip())).strip(" ,，。.的")


def _scene(text: str) -> str:
    for clause in _CLAUSE.findall(text):
        if cue := _SCENE_CUE.search(clause):
            return _trim(clause) or cue.group(0)
    return ""


def _aim(text: str) -> str:
    if not (match := _AIM_CUE.search(text)):
        return ""
    if match.group("g"):
        return f"gift for my {match.group('g')}"
    if match.group("d"):  # 给女朋友买 -> a gift: 送女朋友; 给孩子用 -> 给孩子用
        return f"送{match.group('d')}" if match.group("dv") == "买" else f"给{match.group('d')}{match.group('dv')}"
    value = next((v for v in match.groupdict().values() if v), match.group(0))
    return value.strip(" ,，的")


def extract_scene(messages: Sequence[Message], intent: str) -> Scene:
    """The last user turn that names an aim or a scene wins; earlier turns fill in what it leaves out."""
    if intent in NON_SHOPPING_INTENTS:
        return Scene()
    aim = scene = ""
    for message in reversed(messages):
        if message.role != "user":
            continue
        aim = aim or _aim(message.content)
        scene = scene or _scene(message.content)
    return Scene(aim=aim, scene=scene)
