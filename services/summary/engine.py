"""Customer-service summary: the user's problem, the agent's solution, acceptance, negative emotion.

Local engine: extractive. Sentences of the user's turns are scored by problem cues and those of the agent's
by solution cues; the best are trimmed of greetings and apologies. Acceptance is read from the user's final
turns, negative emotion from a lexicon. LLM path: the prompt, then schema-checked JSON (extract_json +
pydantic), one repair round, then the local engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from services.summary.schemas import (
    AGENT,
    USER,
    Summary,
    SummaryRequest,
    SummaryResponse,
    Turn,
    YesNo,
)
from shared.jsonblock import extract_json
from shared.lexicon import clip
from shared.llm import TaskLLM, Unusable, run_cascade
from shared.llm.base import ChatMessage
from shared.prompts import load_prompt
from shared.settings import Task
from shared.telemetry import request_id_var

PROMPT = load_prompt("services.summary", "summary")
PROBLEM_CHARS = 30
SOLUTION_CHARS = 50
NO_SOLUTION = "客服未提供具体方案"


def _cues(*groups: tuple[float, str]) -> list[tuple[str, float]]:
    """``(weight, "word word …")`` groups into (word, weight) pairs, longest words first."""
    pairs = [(word, weight) for weight, words in groups for word in words.split()]
    return sorted(pairs, key=lambda p: -len(p[0]))


# --------------------------------------------------------------------------- lexicons
PROBLEM_CUES = _cues(
    (3.0, "没有收到 没收到 还没收到 还没到 没到货 没送到 一直没 迟迟 坏了 破损 损坏 故障 用不了 不能用 打不开 "
          "开不了机 有问题 质量问题 瑕疵 发错 少发 漏发 错发 假货 退货 退款 换货 退换 退钱 过敏 掉色 漏水 不显示 充不进 "
          "没声音 不转 不亮 没反应 不工作 失灵 不制冷 不加热 异响 碎了 断了 裂了 少了 缺了 用不了 登不上 扣了"),
    (1.5, "问题 物流 快递 发货 配送 到货 送达 订单 优惠 优惠券 价格 降价 价保 发票 尺码 保修 售后 安装 使用 "
          "怎么用 维修 坏 退 换 取消 修改 地址 赠品 积分 会员 活动 补差 账号 登录 密码 支付 扣款"),
    (1.0, "查一下 查询 帮我 能不能 可不可以 可以吗 怎么 为什么 如何 多久 什么时候 是否 想问 请问 咨询 吗 ？ ?"),
    (0.5, "想 要 需要 购买 买的 买了"),
)
SOLUTION_CUES = _cues(
    (2.5, "预计 补发 重新发 重新发货 退款 退货 换货 赔偿 补偿 优惠券 返现 上门 维修 寄回 安排 加急 催促 "
          "已经 已为您 已帮您 核实 工作日 小时内 天内 送达 到账 原路 承担 运费 免费"),
    (1.5, "帮您 为您 给您 建议 申请 处理 可以 查询 查看 显示 正在 联系 提交 操作 步骤 点击 进入 选择 修改 "
          "登记 反馈 跟进 保修 补差 退还"),
    (1.0, "无法 不支持 不能 仅限 超过 需要 规定 属于 说明"),
    (0.5, "请您 您可以 会 将"),
)
# Sentences that carry no problem or solution: greetings, thanks, closings, bare apologies.
_FILLER = re.compile(
    r"^(?:你好|您好|在吗|在不在|hi|hello|亲|亲亲|哈喽|嗯+|哦+|好的?|好吧|行|可以|谢谢(?:你|您)?|感谢|多谢|麻烦(?:你|您)?了|"
    r"不客气|没事|没有了|没了|再见|拜拜|ok|收到|明白了?|知道了|了解了?|辛苦了?|稍等|请稍等|(?:非常|很|十分)?抱歉|"
    r"对不起|不好意思|给您带来(?:的)?不便(?:深表歉意|敬请谅解)?|祝您.*|欢迎.*|还有(?:什么|其他).*(?:吗|？|\?)?|"
    r"请问还有.*|如果.*(?:随时|欢迎).*|感谢(?:您的)?(?:耐心|理解|支持).*|请您耐心等待.*|耐心等待.*)$",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:你好|您好|亲亲?|hi|hello|在吗|好的|嗯|哦|是的|那个|请问|麻烦(?:你|您)?|不好意思|"
    r"(?:非常|很|十分)?抱歉(?:给您带来(?:的)?不便)?|对不起|感谢(?:您的)?(?:耐心|理解|支持)|理解您的(?:心情|情况))"
    r"[，,、！!。\s]*)+",
    re.I,
)
_TRAIL = re.compile(r"[，,、\s]*(?:谢谢(?:你|您)?|麻烦(?:你|您)?了|辛苦了|请您耐心等待(?:一下)?|请耐心等待)[。！!~～]*$")
_ASKS_INFO = re.compile(r"(?:提供|告诉我|发一下|发给我).{0,6}(?:订单号|手机号|照片|图片|截图|地址|信息)|请问.{0,10}(?:吗|？|\?)")
_INFO_ONLY = re.compile(r"^(?:我的)?(?:订单号|手机号|单号|电话)(?:是|为|：|:)?\s*[\w-]+[，,。]?\s*$")

# Turning the solution down, still deciding, or leaving with a threat instead of agreeing.
REFUSAL = _cues(
    (3.0, "不接受 不能接受 无法接受 接受不了 不同意 不认可 拒绝 不行 不可以 不要了 不想要了 不满意 我不要 "
          "我要投诉 投诉 差评 12315 消协 工商 曝光 举报 没用 不合理 凭什么 不想等 等不了 不等了 还是不 没解决 "
          "不解决 太慢了 不需要 不用了 先不 不办了 不买了 去别家 别家买 取消订单 找你们领导 坚持 "
          "考虑一下 考虑考虑 再考虑 再看看 想想 再说吧 回头再说"),
    (2.5, "算了"),
)
ACCEPTANCE = _cues(
    (3.0, "没注意 原来是 原来如此 懂了 明白了 我的问题 怪我 是我"),
    (2.0, "好的 好吧 好滴 好嘞 行吧 可以 没问题 谢谢 感谢 多谢 明白 知道了 了解 那就这样 那就好 太好了 满意 "
          "解决了 收到 辛苦 我试试 试一下 试试 那我等 我等 再等等 耐心等 已经申请 我去申请 麻烦了 麻烦你了 "
          "ok 嗯嗯 这还差不多 那行 就这样"),
    (1.0, "好 行 嗯 没有了 没了 没其他 发你了 发给你了"),
)
# Anger, frustration or distrust at any point (README: complaints, sarcasm, threats, 无语, 坑人).
NEGATIVE = _cues(
    (3.0, "生气 气死 愤怒 火大 失望 太差 很差 真差 这么差 垃圾 骗子 欺骗 骗人 坑人 被坑 投诉 差评 12315 消协 "
          "举报 无语 恶心 烦死 烦人 不满 退钱 忽悠 态度差 态度恶劣 受不了 太过分 过分 搞什么 什么玩意 离谱 敷衍 "
          "推卸 扯皮 再也不 黑店 不负责 不专业 怎么搞的 无法接受 不能接受 接受不了 凭什么 太慢了 这么慢 这么久 "
          "太久了 浪费 耽误 糟糕 坑爹 气人 郁闷 崩溃 急死 吓死 好几次 好几遍 多少次 还要等 到底 究竟 怎么回事 "
          "也敢 早就该 就该 不敢用 别让我 以后别 别再 没意思 一定要 赶紧 快点"),
    (1.5, "！！ ！？ ？！ !! ?! ？？ ?? 太慢 不满意 一直没人 打不通 这还差不多"),
)
_CONTEMPT = re.compile(r"(?:这|你们的?|什么|卖的|这个)破")  # 这破系统, 你们卖的破榨汁机 (not 破损)
_THANKFUL = re.compile(r"谢|感谢|太好了|好的|辛苦")
_NEGATORS = ("不", "没", "没有", "别", "并不", "不会")
# A clause with a threat that only applies later ("要是还驳回，我就去投诉").
_CONDITIONAL = re.compile(r"要是|如果|万一|再有|不然|否则|再.{1,6}就|还.{1,6}就")
_CLOSING_QUESTION = re.compile(r"还有(?:什么|其他|别的).{0,10}(?:吗|？|\?)|其他问题|其他需要")
# Solutions a user can pick ("退款吧", "直接换吧"): choosing one the agent offered is accepting.
_ACTIONS = ("退款", "退货", "退", "换新", "换货", "换", "维修", "修", "补发", "重发", "复检", "等")
_CLAUSE = re.compile(r"[，,。！？!?；;～~]")


def _score(text: str, cues: Sequence[tuple[str, float]], negatable: bool = False) -> float:
    """Sum of cue weights, longest match first; a negated cue (不生气) counts for nothing."""
    total, i = 0.0, 0
    lowered = text.lower()
    while i < len(lowered):
        for word, weight in cues:
            if lowered.startswith(word.lower(), i):
                if not (negatable and not word.startswith(("不", "没")) and lowered[:i].endswith(_NEGATORS)):
                    total += weight
                i += len(word)
                break
        else:
            i += 1
    return total


_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip(" \n。！？!?；;，,")]


def _clean(sentence: str) -> str:
    sentence = _LEAD.sub("", sentence.strip())
    sentence = _TRAIL.sub("", sentence)
    return sentence.strip(" ，,、。；;！!~～")


def _is_filler(sentence: str) -> bool:
    core = sentence.strip(" ，,、。；;！!？?~～")
    return not core or bool(_FILLER.match(core)) or not _clean(core)


def _clauses_fit(text: str, limit: int, cues: Sequence[tuple[str, float]]) -> str:
    """Keep the text under ``limit`` characters by dropping its weakest clauses, then cutting."""
    if len(text) <= limit:
        return text
    clauses = [c for c in re.split(r"[，,；;]", text) if c.strip()]
    ranked = sorted(range(len(clauses)), key=lambda i: (-_score(clauses[i], cues), i))
    kept: set[int] = set()
    for i in ranked:
        if len("，".join(clauses[j] for j in sorted(kept | {i}))) <= limit:
            kept.add(i)
    out = "，".join(clauses[j] for j in sorted(kept))
    return out if out else clip(text, limit)


# --------------------------------------------------------------------------- local engine
@dataclass(frozen=True, slots=True)
class Scored:
    text: str
    score: float
    turn: int
    order: int


class LocalSummariser:
    def summarise(self, turns: Sequence[Turn]) -> Summary:
        return Summary(
            problem=self.problem(turns),
            solution=self.solution(turns),
            accepted=self.accepted(turns),
            negative=self.negative(turns),
        )

    # ----------------------------------------------------------------- problem and solution
    def problem(self, turns: Sequence[Turn]) -> str:
        user_turns = [t for t in turns if t.speaker == USER]
        candidates: list[Scored] = []
        order = 0
        for n, turn in enumerate(user_turns):
            for sentence in sentences(turn.text):
                order += 1
                if _is_filler(sentence) or _INFO_ONLY.match(_clean(sentence)):
                    continue
                # The problem is nearly always stated first; later turns react to the agent.
                score = _score(sentence, PROBLEM_CUES) + (3.0 if n == 0 else 1.5 if n == 1 else 0.0)
                candidates.append(Scored(_clean(sentence), score, n, order))
        if not candidates:
            first = _clean(user_turns[0].text) if user_turns else ""
            return _clauses_fit(first or user_turns[0].text.strip(), PROBLEM_CHARS, PROBLEM_CUES)
        return self._compose(candidates, PROBLEM_CHARS, PROBLEM_CUES, second_from_other_turn=True)

    def solution(self, turns: Sequence[Turn]) -> str:
        agent_turns = [t for t in turns if t.speaker == AGENT]
        candidates: list[Scored] = []
        order = 0
        for n, turn in enumerate(agent_turns):
            for sentence in sentences(turn.text):
                order += 1
                if _is_filler(sentence):
                    continue
                score = _score(sentence, SOLUTION_CUES) + 0.2 * n
                if _ASKS_INFO.search(sentence) or sentence.rstrip().endswith(("？", "?", "呢")):
                    score -= 2.5
                candidates.append(Scored(_clean(sentence), score, n, order))
        if not candidates:
            return NO_SOLUTION
        return self._compose(candidates, SOLUTION_CHARS, SOLUTION_CUES, second_from_other_turn=False)

    @staticmethod
    def _compose(
        candidates: list[Scored], limit: int, cues: Sequence[tuple[str, float]], second_from_other_turn: bool
    ) -> str:
        ranked = sorted(candidates, key=lambda c: (-c.score, c.order))
        chosen = [ranked[0]]
        for other in ranked[1:]:
            if other.score < 2.0 or other.score < ranked[0].score * 0.6:
                break
            if second_from_other_turn and other.turn == ranked[0].turn and len(ranked[0].text) > 12:
                continue
            if len(ranked[0].text) + len(other.text) + 1 <= limit:
                chosen.append(other)
            break
        text = "，".join(c.text for c in sorted(chosen, key=lambda c: c.order))
        return _clauses_fit(text, limit, cues)

    # ----------------------------------------------------------------- acceptance and emotion
    def accepted(self, turns: Sequence[Turn]) -> YesNo:
        agent_at = [i for i, t in enumerate(turns) if t.speaker == AGENT]
        if not agent_at:
            return "否"
        user_at = [i for i, t in enumerate(turns) if t.speaker == USER]
        # The user's turns after the agent first answered, latest first: the final word decides.
        final = [i for i in reversed(user_at) if i > agent_at[0]][:2]
        for i in final:
            agent_before = next((turns[j].text for j in range(i - 1, -1, -1) if turns[j].speaker == AGENT), "")
            verdict = _verdict(turns[i].text, agent_before)
            if verdict is not None:
                return verdict
        # Silence after a solution, with no sign of refusal, reads as acceptance.
        return "是" if agent_at[-1] > user_at[0] else "否"

    def negative(self, turns: Sequence[Turn]) -> YesNo:
        score = 0.0
        for turn in turns:
            if turn.speaker != USER:
                continue
            score += _score(turn.text, NEGATIVE, negatable=True)
            score += 3.0 * len(_CONTEMPT.findall(turn.text))
            # A "！" outside thanks ("谢谢！") is a raised voice.
            score += sum(
                1.5 for clause in re.split(r"(?<=[！!])", turn.text)
                if clause.endswith(("！", "!")) and not _THANKFUL.search(clause)
            )
        return "是" if score >= 1.5 else "否"


def _verdict(text: str, agent_before: str) -> YesNo | None:
    """是 / 否 from one user turn (given the agent turn it answers), or None when it says neither."""
    refusal = acceptance = conditional = 0.0
    closing = bool(_CLOSING_QUESTION.search(agent_before))
    for clause in _CLAUSE.split(text):
        if not clause.strip():
            continue
        clause_refusal = _score(clause, REFUSAL)
        # "不用了 / 不需要了" to "还有其他问题吗？" closes the chat; it refuses nothing.
        if closing and re.search(r"不用|不需要|没有|没了", clause) and clause_refusal <= 3.0:
            clause_refusal = 0.0
        if _CONDITIONAL.search(clause):
            conditional += clause_refusal
        else:
            refusal += clause_refusal
        acceptance += _score(clause, ACCEPTANCE, negatable=True)
        if _picks_offered_action(clause, agent_before):
            acceptance += 4.0
    # A threat for later ("要是还驳回，我就去投诉") does not undo an agreement in the same turn,
    # but without one the user leaves with a threat: not accepted.
    if acceptance == 0:
        refusal += conditional
    if refusal > 0 and refusal >= acceptance:
        return "否"
    if acceptance > 0:
        return "是"
    return None


def _picks_offered_action(clause: str, agent_before: str) -> bool:
    for action in _ACTIONS:
        at = clause.find(action)
        if at < 0 or action not in agent_before or clause[:at].endswith(("不", "没", "别")):
            continue
        rest = clause[at:]
        if len(action) > 1 or "吧" in rest[:4] or clause.strip().startswith(("直接", "那就", "就")):
            return True
    return False


# --------------------------------------------------------------------------- LLM path
_YES = {"是", "yes", "true", "y", "接受", "有", "已接受", "是的"}
_NO = {"否", "no", "false", "n", "不接受", "没有", "无", "未接受", "不是"}


def normalise_summary(data: dict[str, object]) -> dict[str, object]:
    """Accept 是/否 with stray punctuation or as yes/no; leave anything else for the validator to reject."""
    out = dict(data)
    for key in ("是否接受", "是否负面情绪"):
        value = out.get(key)
        if isinstance(value, bool):
            out[key] = "是" if value else "否"
        elif isinstance(value, str):
            cleaned = value.strip().strip("。.！!\"'“”").lower()
            out[key] = "是" if cleaned in _YES else "否" if cleaned in _NO else value
    return out


def parse_summary(text: str) -> tuple[Summary | None, str]:
    """The summary in an LLM reply, or None and what is wrong with it (for the repair round)."""
    data = extract_json(text)
    if data is None:
        return None, "no JSON object was found in your answer"
    missing = [k for k in ("用户问题", "客服方案", "是否接受", "是否负面情绪") if k not in data]
    if missing:
        return None, f"the JSON lacks the key(s) {', '.join(missing)}"
    try:
        return Summary.model_validate(normalise_summary(data)), ""
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        return None, problems


def transcript(turns: Sequence[Turn]) -> str:
    return "\n".join(f"{t.speaker}：{t.text}" for t in turns)


class Summariser:
    """Summarises with the LLM when the summary task is routed to one, else (and on failure) locally."""

    def __init__(self, llm: TaskLLM, local: LocalSummariser) -> None:
        self.llm = llm
        self.local = local

    async def summarise(self, request: SummaryRequest) -> SummaryResponse:
        turns = request.turns()
        answer = await run_cascade(
            self.llm,
            Task.SUMMARY,
            request.engine,
            local=lambda: self.local.summarise(turns),
            prompt=lambda: [ChatMessage(role="user", content=PROMPT.render(conversation=transcript(turns)))],
            parse=_parsed,
            repair=_repair,
            request_id=request_id_var.get(),
        )
        return SummaryResponse(summary=answer.value, engine=answer.engine)


def _parsed(text: str) -> Summary | Unusable:
    summary, problem = parse_summary(text)
    return summary if summary is not None else Unusable(problem)


def _repair(problem: Unusable) -> str:
    return (
        f"你的回答不符合要求：{problem.reason}。请重新回答，只输出一个JSON对象，恰好包含"
        '"用户问题"、"客服方案"、"是否接受"、"是否负面情绪"四个键；"是否接受"和"是否负面情绪"只能是"是"或"否"；'
        f"用户问题不超过{PROBLEM_CHARS}个字，客服方案不超过{SOLUTION_CHARS}个字。"
    )
