"""Customer-service summary: the user's problem, the agent's solution, acceptance, negative emotion.

Local engine: extractive, then reported in the third person. Clauses that state nothing are dropped first:
greetings, acknowledgements, asking for a person ("转人工", "在吗"), menu picks, links, order numbers and
placeholders on the user's side; courtesy, "one moment, checking", requests for a rating and questions back to
the user on the agent's. 用户问题 is what the user said before the agent first answered (the opening), plus
new questions asked later, best scored by problem cues first, as "用户询问…" / "用户…" / "用户表示…";
客服方案 is the agent's sentences best scored by solution cues, as "客服已…" / "客服表示…"; both within the
30 / 50 character targets. Acceptance is read from the user's final turns, negative emotion from a lexicon
and raised punctuation in the user's turns. LLM path: the instruction as the system message and the dialog,
JSON-encoded, as the user message; then the model's own JSON (not one copied from the dialog or the prompt),
schema-checked (pydantic), then checked against the dialog where it is clear (``consistency``): 是否负面情绪
"否" is rejected when the user's turns score NEGATIVE_CLEAR or more on the negative lexicon, 是否接受 when the
user's final turn plainly refuses or plainly accepts the other way; one repair round, then the local engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

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
from shared.lexicon import clip, han_count
from shared.live_prompts import PromptBook
from shared.llm import OutputSchema, TaskLLM, Unusable, run_cascade
from shared.llm.base import ChatMessage
from shared.llm.checks import Sources, pick_json, placeholder
from shared.prompts import Prompt, load_prompt, transcript_data
from shared.settings import Task
from shared.telemetry import request_id_var

PROMPT = load_prompt("services.summary", "summary")
SCHEMA = OutputSchema.of(Summary, "summary")
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
    (1.0, "无法 不支持 不能 仅限 超过 需要 规定 属于 说明 "
          # explaining why: a reason is part of the answer
          "由于 因为 导致 延迟 目前 暂时 缺货 一般 正常情况 规则"),
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
    r"^(?:(?:你好|您好|亲亲?|hi|hello|在吗|好的|嗯|哦|是的|那个|那么|那(?![边里些个天次时种样款家位])|请问|"
    r"(?:我)?想问(?:一?下)?|问一?下|麻烦(?:你|您)?|不好意思|"
    r"(?:非常|很|十分)?抱歉(?:给您带来(?:的)?不便)?|对不起|感谢(?:您的)?(?:耐心|理解|支持)|理解您的(?:心情|情况))"
    r"[，,、！!。\s]*)+",
    re.I,
)
_TRAIL = re.compile(r"[，,、\s]*(?:谢谢(?:你|您)?|麻烦(?:你|您)?了|辛苦了|请您耐心等待(?:一下)?|请耐心等待)[。！!~～]*$")
_ASKS_INFO = re.compile(r"(?:提供|告诉我|发一下|发给我).{0,6}(?:订单号|手机号|照片|图片|截图|地址|信息)|请问.{0,10}(?:吗|？|\?)")
# "订单号：123", "退货单号:RT2024": a label and an identifier, nothing else.
_INFO_ONLY = re.compile(
    r"^.{0,8}?(?:订单号|订单编号|单号|手机号|电话|号码|编号|id|邮箱|账号)\s*(?:是|为|：|:)?\s*(?:\[[^\]]*\]?|[a-z0-9@._-]*\d[a-z0-9@._-]*)$",
    re.I,
)

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
          "太久了 浪费 耽误 糟糕 坑爹 气人 郁闷 崩溃 急死 吓死 好几次 好几遍 多少次 还要等 怎么回事 "
          "也敢 早就该 就该 不敢用 别让我 以后别 别再 没意思 一定要 赶紧 快点 "
          # unreasonable, a hassle, a lesson learnt: the user leaves unhappy even without an insult
          "不合理 不讲理 没道理 什么道理 麻烦死 瞎折腾 慎重 长记性 吸取教训 追究 信不过 不相信 "
          "第一次遇到 头一次遇到 头一回 从没遇到 从来没遇到 不会再买 以后不买 下次不买 不敢买 "
          "什么服务 什么态度 算什么 有没有搞错 开玩笑 逗我 呵呵 无奈 心累 闹心 无良 霸王条款"),
    (1.5, "太慢 不满意 一直没人 打不通 这还差不多 "
          # the user gives up waiting or goes elsewhere
          "等不了 等不及 不信"),
    # each alone is mild (a hassle, in a hurry, buying elsewhere); two of them, or one with more, are not
    (1.0, "到底 究竟 急需 急用 着急 急着用 太麻烦 这么麻烦 好麻烦 真麻烦 "
          "去别家 别家买 别的店买 去实体店 自己去买 在别处买 去外面买 不在你们家"),
)
_CONTEMPT = re.compile(r"(?:这|你们的?|什么|卖的|这个)破")  # 这破系统, 你们卖的破榨汁机 (not 破损)
_THANKFUL = re.compile(r"谢|感谢|太好了|好的|辛苦|你好|您好|在吗|hi|hello|亲", re.I)
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


def _clauses_fit(text: str, limit: int, cues: Sequence[tuple[str, float]]) -> str:
    """Keep the text under ``limit`` characters by dropping its weakest clauses, then cutting."""
    if len(text) <= limit:
        return text
    clauses = [c for c in re.split(r"[，,；;]", text) if c.strip()]
    # Cues first, then how much a clause says; the first clause (what the sentence is about) gets a head start.
    ranked = sorted(
        range(len(clauses)), key=lambda i: (-(_score(clauses[i], cues) + 0.1 * len(clauses[i]) + (i == 0)), i)
    )
    kept: set[int] = set()
    for i in ranked:
        if len("，".join(clauses[j] for j in sorted(kept | {i}))) <= limit:
            kept.add(i)
    out = "，".join(clauses[j] for j in sorted(kept))
    return out if out else clip(text, limit)


# --------------------------------------------------------------------------- what states nothing
# Links, placeholders an export puts for what it hides or cannot show ([数字], [表情], [图片], one cut off at the
# end of a line), and words that only name an identifier: a clause of nothing else states no problem.
_URL = re.compile(r"(?:https?://|www\.)[\w./?=&%#:~+@-]*|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+/[\w./?=&%#~+@-]*", re.I)
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,12}\]|\[[^\[\]\n]{0,12}$")
_IDENTIFIER_WORDS = re.compile(
    r"咨询|查询|订单编号|订单号|服务单号|运单号|快递单号|单号|订单|商品编号|商品|编号|手机号码?|电话号码?|电话|号码|"
    r"邮箱|账号|这个|那个|这是|我的|是|的|为|[a-z_:：#-]*\d[\w:：#-]*|\b(?:id|no|order)\b",
    re.I,
)
# Asking for a person, checking someone is there, or a menu pick ("售后类咨询"): meta, not the problem.
_META = re.compile(
    r"^(?:(?:我|我们)?(?:要|想|需要|请)?(?:帮我)?(?:转|找|接|联系|呼叫)?(?:人工|真人)(?:客服|服务|服务台|坐席)?|"
    r"(?:你|您)?(?:是|是不是)(?:人工|真人|机器人|客服|自动回复)(?:客服)?(?:还是(?:人工|真人|机器人))?|"
    r"(?:有人|在|在不在|客服在)(?:吗|么|嘛|不|没|不在|在吗)?(?:亲|亲亲)?|"
    r"(?:请)?选择(?:咨询|要咨询)?的?(?:订单|商品|问题)|(?:订单|商品|售后|发票|物流|配送|退换货|退款|支付|账户|账号|活动|优惠|价格|会员|其他|其它|常见)(?:类|业务)?"
    r"(?:咨询|问题)|(?:还是|就是)?(?:之前|刚才|上次|同样|一样|新的|另一个|另外一个)的?问题|"
    r"(?:我|我们)?(?:想|要)?(?:咨询|问|请教)(?:一下|下|个|一个)?(?:问题|事情?)?)"
    r"(?:吗|么|嘛|呢|啊|呀|哈|哦|亲)*$",
    re.I,
)
# The agent's chatter around the answer: courtesy, "one moment, checking", asking for a rating, sign-offs.
_CHATTER = re.compile(
    r"客气|荣幸|分内|评价|满意度|好评|打分|感谢您?对.{0,10}(?:支持|信任|理解|耐心)|祝您|再见|拜拜|"
    r"有什么(?:问题|需要|可以|能|我能|我可以|小妹|妹子).{0,14}(?:帮|解决|处理|效劳|服务)|还有(?:什么|其他|别的)(?:问题|需要|可以|能|地方|事)|"
    r"^(?:还?请您?|麻烦您?|辛苦您?|您)?(?:稍等|稍候|等一下|等下)|"
    r"(?:正在|马上|立即|立刻|火速|这就|积极)(?:为您|帮您|给您)?(?:查询|核实|查看|确认)|"
    r"(?:现在|先)(?:为您|帮您|给您)(?:查询|核实|查看|确认|看)|"
    r"^(?:我|我这边|这边|小妹|妹子)?(?:帮您|为您|给您)(?:查询|查看|核实|看|确认|解释)(?:一下|下)?$|"
    r"理解您|久等|别着急|不要着急|放心|欢迎(?:您)?(?:再次|随时|下次)|随时(?:联系|咨询)|高兴|乐意|我一直在|"
    r"^(?:很|非常|十分|实在)?(?:抱歉|不好意思|对不起)|(?:给|向)(?:您|用户)道歉|深表歉意|^(?:非常|十分|很)?(?:谢谢|感谢|多谢)|带来(?:的)?不便?|祝福|继续为您|(?:联系|找)(?:我|小妹|妹子)$|"
    r"为了.{0,6}为您服务",
)
_RATING = re.compile(r"评价|好评|满意度|打分|五星")  # asking for a rating: the rest of the sentence is how to
# Ways an agent addresses the user or names themself, and softening particles; a summary drops them.
_ADDRESS = re.compile(
    r"^(?:亲爱的|亲亲|亲|陛下|客官|小主|主人|宝宝|美女|帅哥|姐姐|小姐姐|哥哥|您好|你好|您看|你看|辛苦您|辛苦|"
    r"嗯+|恩+|哦+|好的|是的|对的)+"
)
_SELF = re.compile(r"我们这边|我这边|小妹这边|妹子这边|这边|小妹|妹子|小编|本宝宝|^(?:我们|我)(?![们的])")
_PARTICLES = re.compile(
    r"(?<=[\u4e00-\u9fff])(?:的哦|的呢|的哈|的呀|的啦|哦|喔|噢|呢|哈|呀|啦|哟|哒|滴|嘛|亲亲|亲|恩|嗯|额|呐|~|～|】)+"
    r"(?=[，,。！!？?]|$)"
)
_OFFER_TAG = re.compile(r"[，,]?(?:可以吗|好吗|行吗|可以么|好么|行么|您看可以吗|您看行吗)$")
_CONJUNCTION = re.compile(r"^(?:但是|但|不过|而且|并且|所以|因此|然后|另外|也)")
_QUESTION_WORDS = re.compile(r"是否|能否|可否|怎么|怎样|为什么|为何|如何|什么|多久|多少|几|哪|谁")
_YES_NO_ANCHOR = re.compile(r"可以|能|会|需要|要|有|还")
_ADVERBS = ("只", "就", "也", "都", "又", "才", "还")
_QUESTION_END = re.compile(r"[吗么嘛呢啊呀吧]*[？?]*$")
_CLAUSES = re.compile(r"[，,、~～]")
# A placeholder pasted before or after the words ("[订单编号]这单…", "…吗[订单编号]"), not one inside them
# ("[数字]天内"): an identifier, not part of the problem.
_EDGE_PLACEHOLDER = re.compile(r"^(?:\[[^\[\]]{1,12}\])+(?=[这那我的是]|$)|(?<=[\u4e00-\u9fff])(?:\[[^\[\]]{0,12}\]?)+$")
_CONFIRMATION = re.compile(r"(?:是吗|对吗|是吧|对吧|是不是|对不对)$")  # "…这样就行了是吗": confirms a statement
_REQUEST_TAG = re.compile(r"(?:好吗|行吗|可以吗|好不好|行不行|可不可以)$")  # "帮我包起来好吗": a yes/no request
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])不\1")
_FIRST_PERSON = re.compile(r"^(?:我们|我|你们|你)(?:的)?")
# The summary reports in the third person: "用户询问…" for a question; "我买的…" becomes "用户买的…", another
# statement "用户表示…"; an agent's action "客服已为用户…", anything else "客服表示…". (Measured on real
# customer-service dialogs with gold summaries written this way, the subject is worth several ROUGE-L points.)
QUESTION_PREFIX, STATEMENT_PREFIX, SOLUTION_PREFIX = "用户询问", "用户表示", "客服表示"
_AGENT_ACTS = re.compile(
    r"^(?:已|已经|会(?!员)|将|马上|立即|正在|帮|为用户|给用户|联系|安排|提交|申请|反馈|补发|建议|核实|查询到|查到|确认|备注|催促|"
    r"登记|拦截|预约|升级|转交|可以(?:帮|为|给)用户)"
)


def _words(text: str) -> int:
    """Chinese characters plus Latin words: how much a text says, in either language."""
    return han_count(text) + len(re.findall(r"[A-Za-z]{2,}", text))


def _states_something(clause: str) -> bool:
    return _words(_IDENTIFIER_WORDS.sub("", _PLACEHOLDER.sub("", _URL.sub("", clause)))) >= 2


def _user_content(sentence: str) -> str:
    """The sentence without links and without clauses that only greet, acknowledge, ask for a person or give
    an identifier; empty when nothing is left."""
    kept = []
    for clause in _CLAUSES.split(_URL.sub("", sentence)):
        core = _clean(clause).strip(" ，,、。；;！!？?~～")
        bare = _PLACEHOLDER.sub("", core)
        if (
            not bare
            or _FILLER.match(bare)
            or _META.match(bare)
            or _INFO_ONLY.match(core)
            or not _states_something(core)
        ):
            continue
        kept.append(_EDGE_PLACEHOLDER.sub("", core))
    return "，".join(kept)


def _agent_content(sentence: str) -> str:
    """The sentence without chatter, questions back to the user, forms of address, self-references and
    softening particles; an offer put as a question ("…可以吗") counts as the offer."""
    kept = []
    for clause in _CLAUSES.split(_URL.sub("", sentence)):
        if _RATING.search(clause):
            break
        core = _ADDRESS.sub("", _clean(clause)).strip(" ，,、。；;！!？?")
        core = _OFFER_TAG.sub("", _ADDRESS.sub("", _clean(core)))
        if (
            not core
            or _FILLER.match(core)
            or _CHATTER.search(core)
            or _CONFIRMATION.search(core)
            or re.search(r"[吗么]$", core)
            or _words(_PLACEHOLDER.sub("", core)) < 2
        ):
            continue
        core = _PARTICLES.sub("", _SELF.sub("", core)).strip(" ，,、")
        if core:
            kept.append(core)
    return "，".join(kept)


def _is_question(sentence: str) -> bool:
    return bool(
        re.search(r"[？?]|[吗么嘛]\W*$", sentence) or _QUESTION_WORDS.search(sentence) or _A_NOT_A.search(sentence)
    )


def _as_reported_question(text: str) -> str:
    """"这款手机可以分期吗" -> "这款手机是否可以分期": the question as a summary reports it."""
    text = text.rstrip(" ，,。！!？?~～")
    head, _, last = text.rpartition("，")
    if _CONFIRMATION.search(last):  # reported as the statement it confirms
        last = _CONFIRMATION.sub("", last)
    else:
        if _REQUEST_TAG.search(last):
            last = _REQUEST_TAG.sub("", last) + "吗"
        head, last = _A_NOT_A.sub(r"是否\1", head), _A_NOT_A.sub(r"是否\1", last).replace("有没有", "是否有")
        if re.search(r"[吗么嘛]$", last) and not _QUESTION_WORDS.search(last):
            anchor = _YES_NO_ANCHOR.search(last)
            if anchor and not last[: anchor.start()].endswith(("不", "没")):
                at = anchor.start() - (last[: anchor.start()].endswith(_ADVERBS))  # "只能" -> "是否只能"
                last = last[:at] + "是否" + last[at:]
    text = head + "，" * bool(head and last) + last
    return _QUESTION_END.sub("", text.rstrip(" ，,。！!？?~～"))


# "请问您是…还是…呢": the agent asks what the problem is; the user's reply still belongs to the opening.
_AGENT_ASKS = re.compile(r"请问|还是.{1,20}呢\W*$|描述")


def _answers(sentence: str) -> bool:
    """An agent sentence of substance: not chatter, not a question or a request for details."""
    content = _agent_content(sentence)
    asks = _ASKS_INFO.search(sentence) or _is_question(sentence[-3:]) or _AGENT_ASKS.search(sentence)
    return bool(content) and not asks


def _reported(text: str, question: bool) -> tuple[str, str]:
    """A user's sentence in the third person, as (subject, rest): "用户询问" + …, "用户" + "买的…" (from
    "我买的…"), "用户表示" + …."""
    if question:
        return QUESTION_PREFIX, _FIRST_PERSON.sub("", text) or text
    if text.startswith("我") and not text.startswith("我们"):
        return USER, text[1:]
    return STATEMENT_PREFIX, _FIRST_PERSON.sub("", text) or text


def _agent_reported(text: str) -> tuple[str, str]:
    text = _CONJUNCTION.sub("", text) or text
    return (AGENT if _AGENT_ACTS.match(text) else SOLUTION_PREFIX), text


def _similar(a: str, b: str) -> bool:
    """Most of the shorter text's character pairs are in the longer: the same thing said twice."""
    shorter, longer = sorted((a, b), key=len)
    pairs = [shorter[i : i + 2] for i in range(len(shorter) - 1)]
    return bool(pairs) and sum(p in longer for p in pairs) >= 0.6 * len(pairs)


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
        """The problem the user opened with, and the questions they went on to ask that fit, as a report:
        "用户询问…" for a question, "用户表示…" for a statement."""
        candidates: list[Scored] = []
        leftovers: list[Scored] = []  # what the user said after the answer that is no new question
        questions: dict[int, bool] = {}
        opening, answered = 0, False
        for turn_no, turn in enumerate(turns):
            if turn.speaker == AGENT:
                # The opening lasts until the agent first says something of substance (not a greeting or a
                # request for the order number); what the user says before that states the problem.
                answered = answered or any(_answers(s) for s in sentences(turn.text))
                continue
            for sentence in sentences(turn.text):
                content = _user_content(sentence)
                if not content:
                    continue
                rank = len(candidates) + len(leftovers)
                question = _is_question(sentence)
                score = _score(content, PROBLEM_CUES) - (2.0 if _words(content) < 4 else 0.0)
                later = answered and not (question and score >= 1.0)  # a reaction to the answer, not a new question
                if not answered:
                    score += 3.0 if opening == 0 else 2.0
                    opening += 1
                questions[rank] = question
                text = _as_reported_question(content) if question else content
                (leftovers if later else candidates).append(Scored(text, score, turn_no, rank))
        candidates = candidates or leftovers
        if not candidates:
            user_turns = [t for t in turns if t.speaker == USER]
            first = _clean(user_turns[0].text) if user_turns else ""
            return _clauses_fit(first or user_turns[0].text.strip(), PROBLEM_CHARS, PROBLEM_CUES)
        chosen = self._choose(candidates, PROBLEM_CHARS - len(QUESTION_PREFIX), 2.5, PROBLEM_CUES)
        subject, text = _reported("，".join(c.text for c in chosen), questions[chosen[0].order])
        subject = subject if han_count(text) else ""  # an English dialog gets an English extract
        return subject + _clauses_fit(text, PROBLEM_CHARS - len(subject), PROBLEM_CUES)

    def solution(self, turns: Sequence[Turn]) -> str:
        """What the agent did, will do or explained, as a report: "客服表示…"."""
        candidates: list[Scored] = []
        for turn_no, turn in enumerate(t for t in turns if t.speaker == AGENT):
            for sentence in sentences(turn.text):
                content = _agent_content(sentence)
                if not content:
                    continue
                score = _score(content, SOLUTION_CUES) + 0.1 * turn_no
                if _ASKS_INFO.search(sentence) or _is_question(sentence.rstrip()[-3:]):
                    score -= 2.5
                if _words(content) < 4:
                    score -= 1.0
                candidates.append(Scored(content.replace("您", "用户"), score, turn_no, len(candidates)))
        if not candidates:
            return NO_SOLUTION
        chosen = self._choose(candidates, SOLUTION_CHARS - len(SOLUTION_PREFIX), 1.0, SOLUTION_CUES)
        subject, text = _agent_reported("，".join(c.text for c in chosen))
        subject = subject if han_count(text) else ""
        return subject + _clauses_fit(text, SOLUTION_CHARS - len(subject), SOLUTION_CUES)

    @staticmethod
    def _choose(
        candidates: list[Scored], budget: int, floor: float, cues: Sequence[tuple[str, float]]
    ) -> list[Scored]:
        """The best candidate, then the next best that say something else while the budget lasts (the best
        clauses of one that does not fit whole), in dialog order."""
        ranked = sorted(candidates, key=lambda c: (-c.score, c.order))
        chosen = [ranked[0]]
        used = len(ranked[0].text)
        for other in ranked[1:]:
            if other.score < floor or other.score < ranked[0].score * 0.3:
                break
            if any(_similar(other.text, c.text) for c in chosen):
                continue
            room = budget - used - 1
            text = other.text if len(other.text) <= room else _clauses_fit(other.text, room, cues)
            if len(text) > room or text.endswith("…") or _words(text) < 4:
                continue
            chosen.append(Scored(text, other.score, other.turn, other.order))
            used += 1 + len(text)
        return sorted(chosen, key=lambda c: c.order)

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
        return "是" if self.negative_score(turns) >= 1.5 else "否"

    @staticmethod
    def negative_score(turns: Sequence[Turn]) -> float:
        """How strongly the user's turns show anger, frustration or distrust: lexicon, contempt, raised voice."""
        score = 0.0
        for turn in turns:
            if turn.speaker != USER:
                continue
            score += _score(turn.text, NEGATIVE, negatable=True)
            score += 3.0 * len(_CONTEMPT.findall(turn.text))
            score += _raised_voice(turn.text)
        return score

    @staticmethod
    def clear_acceptance(turns: Sequence[Turn]) -> YesNo | None:
        """是 / 否 when the user's final turn (after the agent first answered) plainly accepts or refuses: a
        strong cue one way and none the other; None when it is not that clear."""
        agent_at = [i for i, t in enumerate(turns) if t.speaker == AGENT]
        last = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].speaker == USER), None)
        if not agent_at or last is None or last < agent_at[0]:
            return None
        agent_before = next(turns[j].text for j in range(last - 1, -1, -1) if turns[j].speaker == AGENT)
        refusal, acceptance, conditional = _verdict_scores(turns[last].text, agent_before)
        if refusal >= 3.0 and acceptance == 0:
            return "否"
        if acceptance >= 3.0 and refusal == 0 and conditional == 0:
            return "是"
        return None


def _raised_voice(text: str) -> float:
    """"！" in words is a raised voice, "！！" or "？！" shouting, "？？" impatience; not in a turn that thanks or
    greets ("谢谢！", "您好!") and not after an emoticon with no words ("⊙∀⊙!")."""
    if _THANKFUL.search(text):
        return 0.0
    score = 0.0
    for words, marks in re.findall(r"([^！!？?]*)([！!？?]+)", text):
        if not han_count(words) and words.strip():
            continue
        exclaims = sum(m in "！!" for m in marks)
        if exclaims and len(marks) > 1:
            score += 3.0
        elif exclaims:
            score += 1.5
        elif len(marks) > 1:
            score += 1.0
    return score


def _verdict(text: str, agent_before: str) -> YesNo | None:
    """是 / 否 from one user turn (given the agent turn it answers), or None when it says neither."""
    refusal, acceptance, _ = _verdict_scores(text, agent_before)
    if refusal > 0 and refusal >= acceptance:
        return "否"
    if acceptance > 0:
        return "是"
    return None


def _verdict_scores(text: str, agent_before: str) -> tuple[float, float, float]:
    """How much one user turn refuses and accepts (a threat for later counted as refusal only when nothing is
    accepted), and how much of the refusal was such a threat."""
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
    return refusal, acceptance, conditional


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


SUMMARY_KEYS = ("用户问题", "客服方案", "是否接受", "是否负面情绪")
# The user's turns score this much on the negative lexicon only when plainly angry: two strong cues ("太差了",
# "投诉"), or one with shouting ("！！"). A summary that says 否 then contradicts the dialog.
NEGATIVE_CLEAR = 6.0


def parse_summary(text: str, sources: Sources | None = None) -> tuple[Summary | None, str]:
    """The summary in an LLM reply, or None and what is wrong with it (for the repair round)."""
    summary = read_summary(text, sources or Sources.of())
    return (None, summary.reason) if isinstance(summary, Unusable) else (summary, "")


def read_summary(text: str, sources: Sources) -> Summary | Unusable:
    """The model's own summary: the first JSON object with a summary key that was not copied from the dialog
    or the prompt, schema-valid, its texts no template filler."""
    block = pick_json(text, sources, wanted=lambda b: any(key in b.value for key in SUMMARY_KEYS))
    if isinstance(block, Unusable):
        return block
    if block is None:
        return Unusable("no JSON object was found in your answer")
    data = block.value
    missing = [k for k in ("用户问题", "客服方案", "是否接受", "是否负面情绪") if k not in data]
    if missing:
        return Unusable(f"the JSON lacks the key(s) {', '.join(missing)}")
    try:
        summary = Summary.model_validate(normalise_summary(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        return Unusable(problems)
    filler = [key for key, value in (("用户问题", summary.problem), ("客服方案", summary.solution)) if placeholder(value)]
    if filler:
        return Unusable(f"{'、'.join(filler)}照抄了格式里的占位符，没有概括对话", "echoed")
    return summary


def consistency(summary: Summary, turns: Sequence[Turn]) -> Unusable | None:
    """What the dialog plainly contradicts in a summary, or None."""
    if summary.negative == "否" and LocalSummariser.negative_score(turns) >= NEGATIVE_CLEAR:
        return Unusable("用户在对话中明显表达了不满或生气（抱怨、投诉、差评等），\"是否负面情绪\"应为\"是\"", "inconsistent")
    clear = LocalSummariser.clear_acceptance(turns)
    if clear is not None and summary.accepted != clear:
        said = "明确拒绝或没有同意" if clear == "否" else "明确表示接受"
        return Unusable(f"用户最后一句{said}客服的方案，\"是否接受\"应为\"{clear}\"", "inconsistent")
    return None


def transcript(turns: Sequence[Turn]) -> str:
    """The dialog as the prompt carries it: JSON, each turn an object with its speaker (用户/客服) as role."""
    return transcript_data((t.speaker, t.text) for t in turns)


def build_prompt(turns: Sequence[Turn], prompt: Prompt = PROMPT) -> list[ChatMessage]:
    """The instruction as the system message; the dialog, JSON-encoded, as the user message."""
    return prompt.messages(conversation=transcript(turns))


class Summariser:
    """Summarises with the LLM when the summary task is routed to one, else (and on failure) locally."""

    def __init__(self, llm: TaskLLM, local: LocalSummariser, prompts: PromptBook | None = None) -> None:
        self.llm = llm
        self.local = local
        self.prompts = prompts or PromptBook("services.summary")

    async def summarise(self, request: SummaryRequest) -> SummaryResponse:
        turns = request.turns()
        live = self.prompts.get("summary")  # one version for the whole request, whatever reloads meanwhile
        prompt = cache(lambda: build_prompt(turns, live))
        sources = cache(lambda: Sources.of([t.text for t in turns], [m.content for m in prompt()]))

        def parse(text: str) -> Summary | Unusable:
            summary = read_summary(text, sources())
            return summary if isinstance(summary, Unusable) else consistency(summary, turns) or summary

        answer = await run_cascade(
            self.llm,
            Task.SUMMARY,
            request.engine,
            local=lambda: self.local.summarise(turns),
            prompt=prompt,
            parse=parse,
            repair=_repair,
            request_id=request_id_var.get(),
            schema=SCHEMA,
        )
        version = live.version if answer.engine == "llm" else None
        return SummaryResponse(summary=answer.value, engine=answer.engine, prompt_version=version)


def _repair(problem: Unusable) -> str:
    return (
        f"你的回答不符合要求：{problem.reason}。请重新回答，只输出一个JSON对象，恰好包含"
        '"用户问题"、"客服方案"、"是否接受"、"是否负面情绪"四个键；"是否接受"和"是否负面情绪"只能是"是"或"否"；'
        f"用户问题不超过{PROBLEM_CHARS}个字，客服方案不超过{SOLUTION_CHARS}个字。"
    )
