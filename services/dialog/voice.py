"""How the local guide words things: several openers, transitions and questions per language, one chosen
per request by a hash of the dialog so far. The same request always gets the same reply (tests, caches and
retries stay reproducible); the next turn, or another dialog, gets other words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from shared.schemas import Message

# name -> (Chinese options, English options); fields in braces are filled by the engine.
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Presenting products that meet what the user asked. {desc}: "700元以内的华为手机" / "phones under ¥700".
    "present": (
        ("{desc}里，这{n}款比较合适：", "按您的要求，挑了{n}款{desc}：", "看了一圈{desc}，这{n}款值得考虑：",
         "{desc}的话，推荐您看看这{n}款："),
        ("Here {are} {n} {desc} worth a look:", "I've shortlisted {n} {desc}:", "Looking at {desc}, {these} stand out:",
         "For {desc}, I'd start with {these}:"),
    ),
    # The products miss what the user asked for (the recommender relaxed a filter): say so first.
    "closest": (
        ("{desc}暂时没有找到，最接近的是这{n}款{cheapest}：", "说实话，目前没有{desc}；下面这{n}款是最接近的{cheapest}："),
        ("I couldn't find any {desc}, I'm afraid; {closest}:", "Honestly, there are no {desc} right now; {closest}:"),
    ),
    "related": (
        ("暂时没找到合适的{desc}，先看看这些相关的：", "目前没有合适的{desc}，这几款相关的可以参考："),
        ("I couldn't find {desc} that match; here are related picks:", "No {desc} matched, so here is what comes closest:"),
    ),
    "all_excluded": (
        ("找到的都是{brand}的，和您说的不要{brand}不符，先列出来供参考：",),
        ("Everything I found is from {brand}, which you wanted to avoid; here it is for reference:",),
    ),
    "review": (
        ("买家评价：“{quote}”", "有买家说“{quote}”", "用过的人说“{quote}”"),
        ('a buyer says: "{quote}"', 'one reviewer writes: "{quote}"', 'buyers mention: "{quote}"'),
    ),
    # Questions. Each keeps the attribute's name in the sentence with the question mark: that is how the
    # slot policy sees, next turn, that it was asked.
    "ask": (
        ("{lead}{label}方面您有偏好吗？比如{examples}。", "{lead}您对{label}有什么要求，比如{examples}？",
         "{lead}{label}您更倾向哪种，{examples}？"),
        ("{lead}any preference on {label}, for example {examples}?",
         "{lead}what are you looking for in terms of {label}: {examples}?",
         "{lead}which {label} would suit you best: {examples}?"),
    ),
    "ask_plain": (
        ("{lead}{label}方面您有什么要求？", "{lead}您对{label}有偏好吗？"),
        ("{lead}any preference on {label}?", "{lead}what are you looking for in terms of {label}?"),
    ),
    "ask_budget": (
        ("{lead}您的预算大概是多少？", "{lead}预算方面，您打算花多少？", "{lead}心里的预算大概在什么范围？"),
        ("{lead}what budget do you have in mind?", "{lead}roughly what budget are you working with?",
         "{lead}what price range works for you?"),
    ),
    "narrow": (
        ("为了推荐得更精准，", "想挑得更准一点的话，", "再确认一下，"),
        ("To narrow it down, ", "To pick the right one, ", "One more thing: "),
    ),
    "choose": (
        ("这几款主要差在{label}（{values}），您更倾向哪种{label}？", "要在这几款里选，关键看{label}：{values}，哪种{label}更适合您？",
         "它们的{label}不太一样（{values}），您更喜欢哪种{label}？"),
        ("They differ mainly in {label} ({values}): which {label} suits you better?",
         "To choose between them, look at {label}: {values}. Which {label} would you prefer?",
         "The main difference is {label} ({values}); which {label} works best for you?"),
    ),
    "choose_price": (
        ("价格上，{values}，您的预算大概在哪个范围？", "这几款价格从¥{low}到¥{high}不等，您的预算大概多少？"),
        ("Prices run from ¥{low} to ¥{high}: what budget do you have in mind?",
         "They range from ¥{low} to ¥{high}; roughly what budget are you working with?"),
    ),
    "one_product": (
        ("这款合您心意吗？想多比较几款的话，我再帮您找找。", "您觉得这款怎么样？也可以告诉我还想要什么，我再挑几款对比。"),
        ("Does this one feel right? I can line up a few alternatives to compare.",
         "How does this one sound? Tell me what else matters and I'll find a few to compare."),
    ),
    "which_one": (
        ("您更喜欢哪一款？我可以帮您进一步对比。", "哪一款更合您心意？需要的话我把它们放在一起细比。"),
        ("Which one appeals to you most? I can compare them in more detail.",
         "Which of these feels closest? I can put them side by side for you."),
    ),
    "relax_price": (
        ("价格上能不能再放宽一些？", "价格可以再放宽一点吗？还是我换个方向再找找。"),
        ("Could you stretch the price a little, or shall I look in another direction?",
         "Is there some room on the price? Otherwise I can look for something different."),
    ),
    "relax_brand": (
        ("其他品牌也可以考虑吗？", "换个品牌也可以接受吗？"),
        ("Would other brands work for you?", "Are you open to other brands?"),
    ),
    "relax_excluded": (
        ("{brand}的也可以看看吗，还是换个条件再找找？", "要不要换个条件再找，或者{brand}的也能接受吗？"),
        ("Would {brand} be acceptable after all, or shall I try different requirements?",
         "Shall I look with different requirements, or could {brand} work for you?"),
    ),
    "relax_attribute": (
        ("{label}方面可以放宽一些吗？", "{label}上能不能灵活一点？还是我换个方向再找找。"),
        ("Is there some room on the {label}?", "Could the {label} be a little different, or shall I look elsewhere?"),
    ),
    "relax_other": (
        ("要不要换个条件，我再帮您找找？", "这些里有您感兴趣的吗？"),
        ("Shall I try with different requirements?", "Does any of these interest you?"),
    ),
    "nothing": (
        ("暂时没有找到{desc}，要不要放宽一些条件，比如品牌或预算？", "目前没有{desc}，可以放宽一下品牌或预算吗？"),
        ("I couldn't find {desc} yet. Shall we relax a requirement, such as the brand or budget?",
         "Nothing matches {desc} yet; could we relax the brand or the budget?"),
    ),
    # A kind the catalog has no category for: an honest no, never another kind's products in its place.
    "not_carried": (
        ("抱歉，我们店里没有{wanted}，不想拿别的商品凑数。我们有{kinds}等，需要的话我帮您挑。",
         "说实话，{wanted}我们这里暂时没有卖的。店里主要有{kinds}等，有需要随时告诉我。"),
        ("Sorry, we don't carry {wanted}, and I'd rather not pass something else off as one. We do have {kinds}: "
         "shall I help you with one of those?",
         "Honestly, we don't stock {wanted}. What we do carry includes {kinds}; anything there I can help with?"),
    ),
    "not_carried_any": (
        ("抱歉，您要找的这类商品我们店里暂时没有，不想拿别的商品凑数。我们有{kinds}等，需要的话我帮您挑。",),
        ("Sorry, that isn't something we carry, and I'd rather not pass something else off as it. We do have {kinds}: "
         "shall I help you with one of those?",),
    ),
    "what_kind": (
        ("请问您想买哪一类商品呢？告诉我用途和预算，我来帮您挑选。", "您想看看哪一类商品？说说用途和预算就行，我来帮您缩小范围。",
         "想买点什么呢？告诉我品类、用途或预算，我来帮您挑。"),
        ("What kind of product are you looking for? Tell me how you'll use it and your budget, and I'll help you choose.",
         "Which kind of product can I help you find? A use and a budget are enough to start.",
         "What kind of thing are you shopping for today? Tell me, and I'll narrow it down."),
    ),
    "what_kind_short": (
        ("您想买哪一类商品呢？", "您想看看哪一类商品？比如手机、耳机或者护肤品。"),
        ("What kind of product are you looking for?", "Which kind of product should I look at: a phone, headphones, skincare?"),
    ),
    "lead": (
        ("好的，", "明白，", "没问题，"),
        ("Sure. ", "Got it. ", "Happy to help. "),
    ),
    "noted": (
        ("好的，{desc}，记下了。", "明白，您要的是{desc}。", "没问题，就按{desc}来找。"),
        ("Got it: {desc}.", "Sure, {desc} it is.", "Noted: {desc}."),
    ),
    # Gifts without a product kind.
    "gift_open": (
        ("给{who}挑礼物，好主意！", "想送{who}礼物呀，真贴心。", "给{who}选礼物，我来帮您参谋。"),
        ("A gift for {who}, lovely idea!", "Choosing something for {who}, how thoughtful.", "Happy to help with a gift for {who}."),
    ),
    "gift_open_anyone": (
        ("想挑礼物呀，我来帮您参谋。", "挑礼物这事交给我吧。"),
        ("Happy to help you find a gift.", "A gift, lovely! Let's find something good."),
    ),
    "gift_kinds_anyone": (
        ("{kinds}都是很受欢迎的礼物。", "比较受欢迎的礼物有{kinds}。"),
        ("{kinds} are popular gifts.", "Popular gifts include {kinds}."),
    ),
    "gift_open_budget": (
        ("预算{budget}给{who}挑礼物：", "{budget}送{who}的话，", "按{budget}给{who}挑，"),
        ("For {who}, {budget}: ", "Keeping it {budget} for {who}: ", "A gift for {who} {budget}: "),
    ),
    "gift_interest": (
        ("{pron}喜欢{interest}，可以看看{kinds}", "{pron}爱{interest}，{kinds}{all}很实用"),
        ("since {pron} {enjoys} {interest}, {kinds} would get plenty of use", "{kinds} suit someone who {enjoys_s} {interest}"),
    ),
    "gift_others": (
        ("；{kinds}也是送{who}的常见选择。", "；另外{kinds}也可以考虑。"),
        ("; {kinds} are popular picks for {who} too.", "; {kinds} are worth a look as well."),
    ),
    "gift_kinds": (
        ("{kinds}都是送{who}的常见选择。", "可以看看{kinds}，送{who}都很合适。"),
        ("{kinds} are popular picks for {who}.", "{kinds} make good gifts for {who}."),
    ),
    "gift_kinds_budget": (
        ("可以看看{kinds}。", "{kinds}都可以考虑。"),
        ("{kinds} are worth a look.", "consider {kinds}."),
    ),
    "gift_too_tight": (
        ("{budget}的礼物选择不多，预算能再放宽一点吗？",),
        ("There isn't much to choose from {budget}, I'm afraid. Could you stretch the budget a little?",),
    ),
    "gift_who": (
        ("是送给谁的呢？告诉我对方的身份和喜好，我来推荐合适的品类。", "这份礼物是送给谁的？"),
        ("Who is the gift for? Tell me a little about them and I'll suggest what fits.", "Who are you buying it for?"),
    ),
    "gift_interest_ask": (
        ("{pron}平时有什么爱好吗，比如{examples}？", "{pron}平时喜欢做些什么，{examples}？"),
        ("What {does} {pron} enjoy, for example {examples}?", "What {does} {pron} like doing in {possessive} free time: {examples}?"),
    ),
    "gift_budget_ask": (
        ("您打算花多少预算？", "预算大概多少呢？"),
        ("What budget do you have in mind?", "Roughly what budget are you working with?"),
    ),
    "gift_pick": (
        ("您想先看哪一类？告诉我，我直接挑几款{first}给您比较。", "想先从哪一类看起？比如{first}，我马上帮您挑几款。"),
        ("Which kind shall I show you first? Say the word and I'll pick a few {first} to compare.",
         "Where shall we start, {first} perhaps? I'll pick a few for you to compare."),
    ),
}


class Voice:
    """The phrasing for one request, chosen by a hash of its dialog."""

    def __init__(self, messages: Sequence[Message], zh: bool) -> None:
        dialog = "\n".join(f"{m.role}:{m.content}" for m in messages)
        self.seed = hashlib.sha256(dialog.encode("utf-8")).hexdigest()
        self.zh = zh

    def choice(self, options: Sequence[str], salt: str) -> str:
        digest = hashlib.sha256(f"{self.seed}|{salt}".encode()).digest()
        return options[int.from_bytes(digest[:4], "big") % len(options)]

    def say(self, name: str, salt: str = "", **fields: str | int) -> str:
        """The phrase ``name`` in the reply's language, filled in; ``salt`` varies it within one reply."""
        zh_options, en_options = PHRASES[name]
        return self.choice(zh_options if self.zh else en_options, f"{name}|{salt}").format(**fields)

    def sentence(self, name: str, salt: str = "", **fields: str | int) -> str:
        return capitalised(self.say(name, salt, **fields))


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def number_word(n: int, zh: bool) -> str:
    words = ("一", "两", "三", "四", "五") if zh else ("one", "two", "three", "four", "five")
    return words[n - 1] if 1 <= n <= len(words) else str(n)


def joined(items: Sequence[str], zh: bool, last: str = "") -> str:
    """"A、B" / "A, B and C" (``last`` replaces "and")."""
    if zh:
        return "、".join(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last or 'and'} {items[-1]}"
