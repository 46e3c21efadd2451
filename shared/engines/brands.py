"""A general brand lexicon beyond the catalog: well-known brands of every department, with their Chinese names and
best-known product lines, so that a shopper naming a brand the shop does not carry ("makita", "耐克") is understood
as naming a brand, and nothing else is.

Only names that are not everyday words are listed: "Brother", "Coach", "Dove", "Gap", "Pilot" or "Switch" would turn
"my brother" or "a dove" into brands (the lexicon matches case-insensitively, as shoppers type). Chinese names that
are everyday words (好奇, 统一, 小熊) are left out for the same reason. The catalog's own brands come from its
vocabulary (``shared.vocabulary``); this list only adds to them.
"""

from __future__ import annotations

# One brand a line: the brand, then its other names, separated by "|".
_LINES = """
Nike|耐克|Air Force 1|AF1|Air Jordan|Air Max
Adidas|阿迪达斯|阿迪
Puma|彪马
New Balance|新百伦
Under Armour|安德玛
ASICS|亚瑟士
Skechers|斯凯奇
Converse|匡威
Reebok|锐步
Fila|斐乐
Li-Ning|Li Ning|李宁
Anta|安踏
Xtep|特步
Erke|鸿星尔克
Lululemon|露露乐蒙
The North Face|北面
Columbia|哥伦比亚
Patagonia
Salomon|萨洛蒙
Decathlon|迪卡侬
Makita|牧田
DeWalt|得伟
Bosch|博世
Black+Decker|Black & Decker|百得
Milwaukee
Ryobi
Stanley|史丹利
Dremel
Worx|威克士
TRESemmé|TRESemme|Tresemme
Pantene|潘婷
Head & Shoulders|海飞丝
L'Oréal|L'Oreal|Loreal|欧莱雅
Maybelline|美宝莲
Neutrogena|露得清
Olay|玉兰油
Nivea|妮维雅
Clinique|倩碧
Estée Lauder|Estee Lauder|雅诗兰黛
Lancôme|Lancome|兰蔻
Shiseido|资生堂
SK-II|SK2
Garnier|卡尼尔
Aveeno|艾惟诺
CeraVe|适乐肤
La Roche-Posay|理肤泉
Kiehl's|Kiehls|科颜氏
Chanel|香奈儿
Dior|迪奥
Gillette|吉列
Oral-B|欧乐B
Colgate|高露洁
Sensodyne|舒适达
Disney|迪士尼
LEGO|乐高
Barbie|芭比
Hasbro|孩之宝
Mattel|美泰
Nerf
Hot Wheels|风火轮
Fisher-Price|费雪
Marvel|漫威
Pokémon|Pokemon|宝可梦
Hello Kitty
Nintendo|任天堂
PlayStation|PS5
Xbox
Anker|安克
Logitech|罗技
Razer|雷蛇
Corsair|海盗船
SanDisk|闪迪
Kingston|金士顿
Western Digital|西部数据
Seagate|希捷
TP-Link|普联
Netgear|网件
Epson|爱普生
IKEA|宜家
Tupperware|特百惠
Pyrex
Le Creuset|酷彩
Zwilling|双立人
KitchenAid|凯膳怡
Cuisinart
Instant Pot
Keurig
Nespresso|奈斯派索
Brita|碧然德
Thermos|膳魔师
Zojirushi|象印
Lock&Lock|乐扣乐扣
Yankee Candle
Rubbermaid
Pampers|帮宝适
Huggies
Merries|花王
Graco
Chicco|智高
Similac|雅培
Enfamil|美赞臣
贝亲
Purina|普瑞纳
Royal Canin|皇家猫粮|皇家狗粮
Pedigree|宝路
Whiskas|伟嘉
Nestlé|Nestle|雀巢
Starbucks|星巴克
Lavazza|拉瓦萨
Lipton|立顿
Coca-Cola|可口可乐
Pepsi|百事
Ferrero|费列罗
Lindt|瑞士莲
Oreo|奥利奥
三只松鼠
良品铺子
蒙牛
伊利
农夫山泉
元气森林
老干妈
康师傅
娃哈哈
茅台
五粮液
Zara
H&M
Uniqlo|优衣库
Levi's|Levis|李维斯
Gucci|古驰
Prada|普拉达
Louis Vuitton|路易威登
Michael Kors
Ray-Ban|雷朋
Pandora|潘多拉
Swarovski|施华洛世奇
Casio|卡西欧
Seiko|精工
Rolex|劳力士
Tissot|天梭
Timex
Samsonite|新秀丽
Crocs|卡骆驰
Birkenstock|勃肯
Dr. Martens|Dr Martens
UGG
Timberland|添柏岚
Michelin|米其林
Bridgestone|普利司通
WD-40
Moleskine
百乐
Sharpie
Staedtler|施德楼
Faber-Castell|辉柏嘉
Crayola
Post-it
晨光
得力
Yamaha|雅马哈
Gibson
Roland
格力
海尔
九阳
苏泊尔
波司登
森马
太平鸟
百雀羚
自然堂
完美日记
花西子
珀莱雅
薇诺娜
好孩子
"""


def general_brand_terms() -> dict[str, str]:
    """Every name of a brand in the list -> the brand."""
    terms: dict[str, str] = {}
    for line in _LINES.strip().splitlines():
        brand, *aliases = line.split("|")
        terms.update({name: brand for name in (brand, *aliases)})
    return terms
