"""What a shopper's message reads as beyond the catalog: kinds of product, after-sales talk, a search query.

The intent model's context cues (``intent_features``) need to know that "a ceramic planter", "狗绳" or
"a mystery novel" names a kind of product although none of the catalog's 40 categories covers it: without
that, a two- or three-word product search looks like small talk. ``PRODUCT_KINDS`` is a general shopping
vocabulary, department by department (home, kitchen, tools, garden, pets, toys, books, office, electronics
accessories, clothing, sports, beauty, health, food, baby, car, party, crafts, music). It only says "a
product is named"; the category of a call comes from the taxonomy's own terms (``terms.category_terms``),
so nothing here can send a call to a wrong category.

After-sales talk (an order's delivery, a return, a refund, a broken or missing item, a complaint) is no
shopping intent: ``AFTER_SALES`` finds its vocabulary. ``query_like`` tells a search-box query ("bamboo
cutting board 18 inch", "加厚保温杯") from a sentence.
"""

from __future__ import annotations

import re

from shared.engines.terms import TermLexicon, category_terms
from shared.taxonomy import load_taxonomy

# One department a line; English singular (``TermLexicon`` accepts the -s/-es plural), Chinese as written.
_EN = """
pan frying-pan skillet wok saucepan stockpot pot dutch-oven kettle teapot mug cup tumbler water-bottle thermos
flask lunch-box lunchbox bento-box food-container cutting-board chopping-board knife knife-set kitchen-knife
spatula ladle whisk tongs peeler grater colander mixing-bowl bowl plate dinnerware cutlery silverware flatware
chopsticks baking-sheet baking-pan cake-pan muffin-tin oven-mitt apron blender toaster microwave oven air-fryer
juicer hand-mixer stand-mixer food-processor slow-cooker pressure-cooker dishwasher dish-rack drying-rack
trash-can garbage-can bin storage-box storage-bin basket hanger towel bath-towel hand-towel bath-mat
shower-curtain shower-head soap-dispenser toilet-brush mirror laundry-basket hamper ironing-board iron
garment-steamer humidifier dehumidifier desk-fan standing-fan tower-fan ceiling-fan heater space-heater radiator lamp floor-lamp
pendant-light ceiling-light chandelier light-bulb bulb string-lights fairy-lights night-light flashlight torch
candle diffuser vase picture-frame photo-frame poster painting canvas-print clock wall-clock alarm-clock rug
carpet curtain blinds pillow throw-pillow cushion blanket duvet comforter quilt pillowcase
bookshelf bookcase shelf shelves cabinet dresser wardrobe closet nightstand bedside-table table dining-table
coffee-table side-table desk standing-desk chair armchair recliner stool bar-stool bench bed bed-frame bunk-bed
crib ottoman bean-bag coat-rack shoe-rack drawer-organizer organizer hook doormat houseplant plant planter
flower-pot artificial-flowers decoration ornament wreath christmas-tree tablecloth placemat coaster
drill cordless-drill impact-driver screwdriver wrench hammer saw circular-saw jigsaw tool-set toolbox tool-kit
tape-measure spirit-level ladder step-stool glue tape duct-tape paint paintbrush paint-roller sandpaper sander
angle-grinder nail-gun socket-set pliers multimeter extension-cord power-strip surge-protector smart-plug
doorbell video-doorbell door-lock smart-lock padlock smoke-detector security-camera
garden-hose hose lawn-mower mower hedge-trimmer leaf-blower shovel rake watering-can seeds fertilizer
bird-feeder grill bbq charcoal patio-umbrella hammock fire-pit outdoor-furniture
dog-food cat-food pet-food kibble cat-litter litter-box dog-bed cat-bed cat-tree scratching-post leash
harness collar pet-carrier crate aquarium fish-tank dog-toy cat-toy chew-toy pet-bowl pet-fountain
toy puzzle jigsaw-puzzle board-game card-game doll action-figure stuffed-animal plush teddy-bear
building-blocks toy-car rc-car remote-control-car drone kite video-game game-console controller
book novel paperback hardcover ebook audiobook comic comic-book manga magazine textbook cookbook
dictionary biography memoir thriller mystery-novel romance-novel picture-book calendar planner journal diary
pen pencil marker highlighter crayon eraser ruler stapler printer-paper sticky-notes folder binder envelope
school-bag whiteboard printer ink ink-cartridge toner scanner shredder label-maker calculator stationery
charger charging-cable cable usb-cable power-bank portable-charger adapter phone-case screen-protector
phone-holder phone-stand tripod selfie-stick gimbal microphone mic webcam monitor keyboard mouse mouse-pad
hard-drive external-hard-drive ssd usb-drive flash-drive memory-card sd-card router modem mesh-wifi
hdmi-cable projector tv television soundbar e-reader graphics-card motherboard cpu processor ram
shirt blouse sweater jumper hoodie sweatshirt cardigan jacket coat raincoat vest pants trousers shorts
leggings skirt suit blazer necktie pajamas pyjamas underwear bra socks swimsuit swimwear bikini uniform costume
scarf hat cap beanie gloves mittens belt wallet purse handbag tote tote-bag bag backpack suitcase luggage
sunglasses glasses eyeglasses jewelry jewellery necklace bracelet earrings umbrella shoe shoes boot
boots sandals slippers heels high-heels loafers flats flip-flops clogs outfit clothes clothing
ball football soccer-ball basketball volleyball tennis-racket badminton-racket racket golf-clubs golf-balls
dumbbell kettlebell barbell resistance-band jump-rope skateboard scooter helmet skates roller-skates skis
snowboard goggles swim-goggles fishing-rod fishing-reel sleeping-bag camping-chair cooler lantern headlamp
water-filter knee-pads sports-bra gym-gloves exercise-bike rowing-machine
perfume cologne lotion body-lotion body-wash shower-gel soap bar-soap conditioner hair-oil hair-mask serum
toner face-mask sheet-mask eye-cream foundation concealer mascara eyeliner eyeshadow blush makeup
makeup-brush nail-polish razor shaver electric-shaver trimmer beard-trimmer toothpaste toothbrush
electric-toothbrush floss mouthwash deodorant hair-straightener straightener curling-iron comb hairbrush
makeup-remover hand-cream lip-balm
vitamins vitamin supplement supplements protein-powder fish-oil probiotics multivitamin thermometer
blood-pressure-monitor face-masks first-aid-kit bandage massager massage-gun heating-pad bathroom-scale kitchen-scale
coffee-beans ground-coffee instant-coffee tea-bags loose-leaf-tea green-tea black-tea snacks chocolate candy cookies biscuits nuts
almonds dried-fruit rice noodles pasta olive-oil cooking-oil sauce honey wine juice milk-powder cereal oatmeal
spices seasoning
baby-bottle bottle pacifier teether baby-wipes wipes bib high-chair baby-carrier baby-monitor playpen
baby-clothes onesie baby-shoes
car-charger dash-cam dashcam car-mount tire tires seat-cover floor-mats wiper-blades motor-oil car-vacuum
jump-starter
balloons party-supplies gift-wrap wrapping-paper gift-card gift-basket gift gift-set
yarn sewing-machine fabric canvas sketchbook easel beads craft-kit
guitar ukulele piano digital-piano violin drum drums drum-kit amplifier guitar-strings
"""

_ZH = """
锅 炒锅 平底锅 不粘锅 汤锅 蒸锅 奶锅 电水壶 烧水壶 水壶 茶壶 水杯 杯子 马克杯 保温杯 玻璃杯 饭盒 便当盒 保鲜盒 菜板 砧板 菜刀 刀具
锅铲 汤勺 打蛋器 碗 盘子 餐具 筷子 勺子 烤盘 围裙 榨汁机 破壁机 料理机 豆浆机 面包机 微波炉 烤箱 空气炸锅 电压力锅 洗碗机 电磁炉
燃气灶 油烟机 热水器 净水器 饮水机 酸奶机 养生壶
垃圾桶 收纳盒 收纳箱 置物架 衣架 毛巾 浴巾 地垫 浴帘 花洒 镜子 脏衣篮 晾衣架 熨斗 挂烫机 加湿器 除湿机 电风扇 风扇 取暖器 暖风机
落地灯 壁灯 吊灯 吸顶灯 灯泡 灯带 小夜灯 手电筒 蜡烛 香薰 花瓶 相框 装饰画 挂画 海报 挂钟 闹钟 地毯 窗帘 抱枕 靠垫 枕头 毯子
被子 蚕丝被 羽绒被 枕套 书柜 柜子 衣柜 鞋柜 床头柜 桌子 餐桌 茶几 书桌 升降桌 椅子 凳子 床架 婴儿床 懒人沙发 衣帽架 鞋架 挂钩
门垫 绿植 花盆 假花 摆件 装饰品 圣诞树 桌布 餐垫 杯垫
电钻 螺丝刀 扳手 锤子 工具箱 工具套装 卷尺 梯子 胶水 胶带 油漆 刷子 砂纸 电锯 角磨机 插座 插线板 排插 开关 门锁 智能锁 门铃
监控 摄像头 保险箱 万用表
水管 割草机 铲子 喷壶 种子 肥料 烧烤架 烤炉 遮阳棚 吊床 花园椅
狗粮 猫粮 宠物粮 猫砂 猫砂盆 狗窝 猫窝 猫爬架 牵引绳 狗绳 项圈 宠物包 航空箱 鱼缸 宠物零食 磨牙棒 逗猫棒 宠物玩具 饮水机
玩具 拼图 积木 桌游 玩偶 娃娃 毛绒玩具 手办 遥控车 无人机 风筝 游戏机 手柄 游戏卡带 拼装模型
图书 书籍 小说 绘本 漫画 杂志 教材 教辅 练习册 词典 字典 日历 台历 挂历 手账 日记本 的书 本书 套书 推理小说 言情小说
钢笔 中性笔 圆珠笔 铅笔 马克笔 荧光笔 彩笔 水彩笔 橡皮 尺子 订书机 打印纸 便利贴 文件夹 信封 笔袋 文具盒 文具 书包 白板 打印机
墨盒 硒鼓 碳粉 扫描仪 碎纸机 计算器
充电器 充电线 数据线 充电宝 移动电源 转接头 手机壳 手机膜 钢化膜 手机支架 三脚架 自拍杆 稳定器 麦克风 话筒 显示器 键盘 鼠标
鼠标垫 硬盘 移动硬盘 固态硬盘 U盘 内存卡 存储卡 TF卡 SD卡 路由器 投影仪 电视 电视机 遥控器 电子书 阅读器 显卡 主板 内存条
机箱 网线 摄像机 录音笔
衬衫 卫衣 毛衣 针织衫 外套 夹克 大衣 风衣 雨衣 马甲 裤子 长裤 短裤 打底裤 运动裤 休闲裤 半身裙 西装 领带 睡衣 内衣 内裤 文胸
袜子 泳衣 泳裤 校服 帽子 围巾 手套 腰带 皮带 钱包 包包 手提包 单肩包 斜挎包 托特包 背包 行李箱 拉杆箱 墨镜 太阳镜 眼镜
项链 手链 耳环 耳钉 戒指 首饰 雨伞 鞋 鞋子 皮鞋 靴子 雪地靴 凉鞋 拖鞋 高跟鞋 帆布鞋 板鞋 童装 童鞋 衣服 女装 男装
篮球 足球 排球 羽毛球 羽毛球拍 网球拍 乒乓球拍 球拍 高尔夫球杆 哑铃 壶铃 杠铃 弹力带 跳绳 滑板 滑板车 平衡车 头盔 护具 护膝
轮滑鞋 溜冰鞋 冰鞋 滑雪板 雪镜 泳镜 鱼竿 渔具 睡袋 折叠椅 露营椅 保温箱 营地灯 头灯 动感单车 划船机 健身器材
香水 身体乳 沐浴露 香皂 肥皂 护发素 发膜 精华 精华液 爽肤水 化妆水 面膜 眼霜 粉底 粉底液 遮瑕 睫毛膏 眼线笔 眼影 腮红 化妆品
化妆刷 指甲油 剃须刀 电动剃须刀 牙膏 牙刷 电动牙刷 牙线 漱口水 止汗露 卷发棒 直发器 梳子 卸妆水 卸妆油 护手霜 润唇膏 洗衣液
洗衣粉 洗洁精 纸巾 卫生纸 湿巾 卫生巾
维生素 保健品 蛋白粉 鱼油 益生菌 钙片 体温计 血压计 血糖仪 口罩 药箱 创可贴 按摩仪 按摩器 筋膜枪 暖宝宝 体重秤 电子秤
咖啡 咖啡豆 茶叶 绿茶 红茶 零食 巧克力 糖果 饼干 坚果 核桃 果干 大米 面条 意面 橄榄油 食用油 酱油 蜂蜜 红酒 啤酒 白酒 果汁
牛奶 麦片 燕麦 调料
茶具 茶盘 茶针 茶刀 茶杯 公道杯 茶宠 茶饼 普洱 棉柔巾 洗脸巾 化妆棉
奶瓶 奶嘴 安抚奶嘴 牙胶 围兜 餐椅 背带 婴儿背带 婴儿监视器 游戏围栏 婴儿衣服 连体衣 学步鞋
车载充电器 行车记录仪 车载支架 轮胎 座套 脚垫 雨刮器 机油 车载吸尘器 应急启动电源
气球 派对用品 包装纸 礼品卡 购物卡 礼盒 礼物 礼品
毛线 缝纫机 布料 画布 素描本 画架 串珠 手工材料
吉他 尤克里里 钢琴 电钢琴 电子琴 小提琴 架子鼓 音箱功放 琴弦
"""


def _terms(block: str) -> list[str]:
    return [word.replace("-", " ") for word in block.split()]


PRODUCT_KINDS: tuple[str, ...] = tuple(dict.fromkeys(_terms(_EN) + _terms(_ZH)))


def product_kind_lexicon() -> TermLexicon:
    """Any kind of product, by the general vocabulary above and the taxonomy file's category names (kinds a shop
    with other goods does not carry); every term's value is "product"."""
    return TermLexicon(dict.fromkeys((*PRODUCT_KINDS, *category_terms(load_taxonomy())), "product"))


# After-sales: an order already placed, its delivery, a return or refund, a fault in what was bought, a complaint.
# A fault alone is no after-sales ("my fridge broke, I need a new one" is a reason to buy): it must be in
# something bought or received.
AFTER_SALES = re.compile(
    r"\b(?:refunds?|refunded|returns? (?:it|this|them|these|the|my)|return(?:ed)? (?:label|request)|"
    r"send (?:it|this|them) back|exchange (?:it|this|them|for)|my (?:order|package|parcel|delivery|refund|return)|"
    r"order (?:status|number|#)|tracking(?: number| info)?|(?:has ?n[o']t|never|did ?n[o']t|still not|not yet) "
    r"(?:arrived|shipped|come|been received|been delivered)|arrived (?:broken|damaged|late|cracked|faulty)|"
    r"wrong (?:item|size|colou?r|order)|missing (?:item|part|piece)s?|warranty claim|cancel (?:my|the) order|"
    r"charged twice|complain(?:t|ts|ed)?|customer service|money back|not as described|"
    r"(?:came|arrived) (?:with a (?:dent|crack|scratch|hole|stain)|dented|scratched|open|used)|"
    r"(?:i bought|i ordered|i got|i received|you sent|got from you).{0,40}(?:broke|broken|stopped working|"
    r"does ?n[o']t work|defective|faulty|damaged|cracked|leaks?))\b"
    r"|退货|退款|退钱|怎么退|能退吗|可以退吗|退掉|换货|退换|售后|物流|单号|运单|发货了吗|还没发货|没发货|没收到|还没到|没到货|到哪了|催一下|催催|破损|"
    r"漏发|少发|发错|错发|投诉|差评|补发|运费险|签收|拒收|取消订单|改地址|修改地址|报修|返修|退回|补开|补差价|退差价|"
    r"发票(?:还没|没有收到|开错|抬头错)|我的订单|订单号|订单状态|快递(?:怎么|还没|到哪|一直|显示|丢)|"
    r"(?:买|收到|寄来|发来)的.{0,10}(?:坏了|碎了|破了|漏水|开胶|不能用|用不了|有问题|是坏的|是碎的|缺口|划痕|裂)",
    re.I,
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = re.compile(
    r"[?？!！。]|\b(?:i|i'm|i'd|i'll|my|me|we|you|your|can|could|would|do|does|is|are|what|how|hi|hello|hey|"
    r"thanks|thank|please|want|need|looking|ok|okay|lol|bye|yes|no|yeah|sure|cool|nice|great)\b"
    r"|我|你|您|吗|呢|吧|么|啊|哦|嗯|哈|想|要|请|谢|好的|有没有|可以",
    re.I,
)


def query_like(text: str) -> bool:
    """A search-box query: a few words or characters, no sentence (no pronoun, question, greeting or ask)."""
    text = text.strip()
    if not text or _SENTENCE.search(text):
        return False
    if _CJK.search(text):
        return len(re.sub(r"\s", "", text)) <= 14
    return 1 <= len(text.split()) <= 7
