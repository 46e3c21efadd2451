#!/usr/bin/env python3
"""Deterministic generator for the shipped sample catalog.

Reads the category taxonomy (shared/taxonomy/categories.yaml) and writes
services/catalog/sample_data/products.jsonl: one JSON product per line.

    python services/catalog/sample_data/generate.py [--out PATH] [--taxonomy PATH]

The output is byte-identical between runs (fixed seed, no clock, sorted
iteration).  Products are synthetic: brands and model lines are real-world
names, but specs, prices and reviews are generated from per-category rules so
that name, attributes, price tier, intro and reviews agree with each other.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

try:
    import yaml  # PyYAML
except ImportError:  # pragma: no cover
    sys.exit("PyYAML is required: pip install pyyaml")

SEED = 20240607
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_TAXONOMY = REPO / "shared" / "taxonomy" / "categories.yaml"
DEFAULT_OUT = HERE / "products.jsonl"

TIERS = ("budget", "mid", "premium")
TIER_ZH = {"budget": "入门级", "mid": "中端", "premium": "高端旗舰"}
TIER_EN = {"budget": "entry-level", "mid": "mid-range", "premium": "premium"}

# Brand display names when the canonical brand is awkward inside a product name.
BRAND_DISPLAY = {
    "Google Pixel": ("Google", "谷歌"),
    "Wyeth Illuma": ("Wyeth", "惠氏"),
    "Anker Soundcore": ("Soundcore", "声阔"),
    "The Gro Company": ("Gro", "Gro"),
}


def M(spec: str):
    """Parse a compact model spec: 'EnName~ZhName|tier|key=value;key=value'."""
    parts = spec.split("|")
    names = parts[0].split("~")
    en = names[0].strip()
    zh = names[1].strip() if len(names) > 1 else en
    tier = parts[1].strip()
    assert tier in TIERS, spec
    pins = {}
    if len(parts) > 2 and parts[2].strip():
        for kv in parts[2].split(";"):
            k, v = kv.split("=", 1)
            pins[k.strip()] = v.strip()
    return {"en": en, "zh": zh, "tier": tier, "pins": pins}


def models(**by_brand):
    return {b.replace("_", " "): [M(s) for s in specs] for b, specs in by_brand.items()}


# ---------------------------------------------------------------------------
# Cross-attribute consistency fix-ups.  Each receives (attrs, rng, model) and
# mutates attrs (English taxonomy values).
# ---------------------------------------------------------------------------

def fix_laptop(a, rng, m):
    by_size = {"13.3 inch": ["1.2 kg", "1.4 kg"], "14 inch": ["1.2 kg", "1.4 kg", "1.6 kg"],
               "15.6 inch": ["1.6 kg", "1.9 kg"], "16 inch": ["1.9 kg", "2.3 kg"]}
    if "weight" not in m["pins"]:
        a["weight"] = rng.choice(by_size[a["screen size"]])


def fix_headphones(a, rng, m):
    if a["type"] == "in-ear true wireless":
        a["battery"] = rng.choice(["20 hours", "30 hours"])
    elif a["type"] == "open-ear":
        a["battery"] = rng.choice(["20 hours", "30 hours"])
        a["noise cancelling"] = "no ANC"
    else:
        a["battery"] = rng.choice(["30 hours", "40 hours", "60 hours"])
        if a["type"] == "over-ear":
            a["water resistance"] = "no water resistance"


def fix_camera(a, rng, m):
    if a["type"] == "action camera":
        a["stabilization"] = "digital stabilization"
        a["weight"] = "150 g"
        a["sensor resolution"] = rng.choice(["20MP", "24MP"])
    elif a["type"] == "compact":
        a["weight"] = rng.choice(["300 g", "450 g"])
        a["stabilization"] = rng.choice(["digital stabilization", "optical stabilization"])
    elif a["type"] == "APS-C mirrorless":
        a["weight"] = rng.choice(["450 g", "650 g"])
        if a["sensor resolution"] in ("45MP", "61MP"):
            a["sensor resolution"] = rng.choice(["24MP", "33MP"])
    else:
        a["weight"] = rng.choice(["650 g", "900 g"])
        a["stabilization"] = "5-axis in-body stabilization"


def fix_fridge(a, rng, m):
    if a["capacity"] in ("200L", "300L"):
        a["door type"] = "double door"
    elif a["door type"] == "double door":
        a["door type"] = rng.choice(["French door", "cross door"])


def fix_washer(a, rng, m):
    if a["type"] == "top load":
        a["drying"] = rng.choice(["no drying", "steam refresh"])
    elif a["type"] == "washer-dryer combo":
        if a["drying"] in ("no drying", "steam refresh"):
            a["drying"] = rng.choice(["condenser drying", "heat pump drying"])
    else:
        if a["drying"] in ("condenser drying", "heat pump drying"):
            a["drying"] = "steam refresh"


def fix_ac(a, rng, m):
    if a["type"] == "portable":
        a["cooling capacity"] = rng.choice(["1 HP", "1.5 HP"])
        a["inverter"] = "fixed speed"
        a["noise level"] = "32 dB"
        a["energy rating"] = "grade 3"
    elif a["type"] == "floor-standing":
        a["cooling capacity"] = rng.choice(["2 HP", "3 HP"])
    else:
        a["cooling capacity"] = rng.choice(["1 HP", "1.5 HP", "2 HP"])
    if a["energy rating"] in ("grade 1", "grade 2"):
        a["inverter"] = "inverter"


def fix_vacuum(a, rng, m):
    t = a["type"]
    if t == "corded canister":
        a["battery"] = "corded"
    elif t in ("robot vacuum", "robot vacuum and mop"):
        a["battery"] = "180 minutes"
        if a["noise level"] == "78 dB":
            a["noise level"] = "65 dB"
    else:
        if a["battery"] in ("corded", "180 minutes"):
            a["battery"] = rng.choice(["40 minutes", "60 minutes"])


def fix_purifier(a, rng, m):
    order = ["200 m³/h", "300 m³/h", "400 m³/h", "500 m³/h", "600 m³/h"]
    rooms = ["10-20 m²", "20-35 m²", "20-35 m²", "35-50 m²", "50-70 m²"]
    a["room size"] = rooms[order.index(a["cadr"])]


def fix_rice(a, rng, m):
    if a["heating"] in ("bottom heating plate", "3D surround heating") and a["inner pot"] == "forged iron":
        a["inner pot"] = "ceramic coated"


def fix_coffee(a, rng, m):
    t = a["type"]
    if t in ("drip", "capsule"):
        a["grinder"] = "no grinder"
        if t == "drip":
            a["milk frothing"] = "no milk frother"
    elif t == "semi-automatic espresso":
        if a["milk frothing"] == "automatic milk system":
            a["milk frothing"] = "manual steam wand"
    else:
        if a["grinder"] == "no grinder":
            a["grinder"] = rng.choice(["built-in steel conical grinder", "built-in ceramic grinder"])


def fix_hairdryer(a, rng, m):
    if a["motor"] == "brushed motor":
        a["weight"] = rng.choice(["600 g", "450 g"])
    else:
        a["weight"] = rng.choice(["380 g", "320 g"])


def fix_sunscreen(a, rng, m):
    if a["spf"] == "SPF30":
        a["pa"] = rng.choice(["PA++", "PA+++"])
    elif a["pa"] == "PA++":
        a["pa"] = "PA+++"


def fix_shampoo(a, rng, m):
    concern = a["hair concern"]
    ing = {"dandruff": ["zinc pyrithione", "salicylic acid", "tea tree oil"],
           "oily scalp": ["salicylic acid", "tea tree oil", "amino acid surfactants"],
           "dry and damaged hair": ["argan oil", "amino acid surfactants"],
           "hair loss prevention": ["ginseng extract"],
           "normal hair": ["amino acid surfactants", "argan oil", "tea tree oil"]}[concern]
    if a["key ingredients"] not in ing:
        a["key ingredients"] = rng.choice(ing)


def fix_cleanser(a, rng, m):
    base = a["cleansing base"]
    a["ph"] = {"soap-based": "alkaline pH 9", "foaming gel": rng.choice(["neutral pH 7", "mildly acidic pH 5.5"]),
               "amino acid": "mildly acidic pH 5.5", "cream": "mildly acidic pH 5.5",
               "micellar water-based": "neutral pH 7"}[base]
    if a["skin type"] == "sensitive skin" and base == "soap-based":
        a["cleansing base"] = "amino acid"
        a["ph"] = "mildly acidic pH 5.5"


def fix_running(a, rng, m):
    if a["terrain"] == "track and race":
        a["weight"] = rng.choice(["210 g", "240 g"])
        a["support"] = "neutral"
    if a["cushioning"] == "max cushioning" and a["weight"] == "210 g":
        a["weight"] = "240 g"


def fix_down(a, rng, m):
    fp = a["fill power"]
    a["down type"] = {"550 FP": "80% white duck down", "600 FP": "90% white duck down",
                      "700 FP": rng.choice(["90% white duck down", "90% white goose down"]),
                      "800 FP": rng.choice(["90% white goose down", "95% white goose down"])}[fp]


def fix_sleepbag(a, rng, m):
    a["season"] = {"0.5 TOG": "summer", "1.0 TOG": "spring and autumn", "2.5 TOG": "spring and autumn",
                   "3.5 TOG": "winter"}[a["tog"]]
    if a["style"] == "swaddle sack":
        a["age range"] = "0-6 months"
    if a["tog"] == "3.5 TOG" and a["fabric"] == "muslin cotton":
        a["fabric"] = "cotton jersey"


def fix_stroller(a, rng, m):
    t = a["type"]
    if t == "lightweight travel":
        a["weight"] = rng.choice(["5.8 kg", "7.2 kg"])
        if a["fold"] == "two-hand fold":
            a["fold"] = "one-hand fold"
    elif t == "high-view pram":
        a["weight"] = rng.choice(["9.5 kg", "12 kg"])
        a["recline"] = "lie-flat recline"
        if a["fold"] == "compact cabin-size fold":
            a["fold"] = "one-hand fold"
    elif t == "jogging":
        a["weight"] = "12 kg"
        a["suspension"] = "all-wheel suspension"
        a["fold"] = "two-hand fold"
    else:
        if a["weight"] == "5.8 kg":
            a["weight"] = "7.2 kg"
        if a["fold"] == "compact cabin-size fold":
            a["fold"] = "one-hand fold"


def fix_diapers(a, rng, m):
    if m["pins"].get("type") == "pull-up pants" and a["diaper size"] in ("NB", "S"):
        a["diaper size"] = rng.choice(["M", "L", "XL", "XXL"])
    size = a["diaper size"]
    if size in ("NB", "S"):
        a["type"] = "tape diapers"
    count = {"NB": "84 pieces", "S": "84 pieces", "M": rng.choice(["60 pieces", "84 pieces"]),
             "L": rng.choice(["40 pieces", "60 pieces"]), "XL": "40 pieces", "XXL": "40 pieces"}[size]
    if a["pack count"] != "120 pieces" or size in ("XL", "XXL"):
        a["pack count"] = count


def fix_formula(a, rng, m):
    if a["stage"] == "stage 1 (0-6 months)" and a["can size"] == "400 g":
        a["can size"] = "800 g"


def fix_carseat(a, rng, m):
    g = a["age group"]
    if g == "0-15 months (infant carrier)":
        a["rotation"] = "fixed"
    if g == "3-12 years (booster)":
        a["rotation"] = "fixed"
        if a["installation"] == "ISOFIX + support leg":
            a["installation"] = "ISOFIX"
    if a["safety standard"] == "i-Size (ECE R129)" and a["installation"] == "seat belt":
        a["installation"] = "ISOFIX"


def fix_tent(a, rng, m):
    if m["tier"] == "budget" and a["season"] == "4-season" and "season" not in m["pins"]:
        a["season"] = rng.choice(["summer", "3-season"])
    cap = a["capacity"]
    a["weight"] = {"1 person": rng.choice(["1.2 kg", "2.0 kg"]), "2 person": rng.choice(["1.2 kg", "2.0 kg", "3.5 kg"]),
                   "3-4 person": rng.choice(["3.5 kg", "6.0 kg"]), "6 person": "6.0 kg"}[cap]
    if a["setup"] == "trekking-pole supported":
        a["weight"] = "1.2 kg"
        if cap in ("3-4 person", "6 person"):
            a["capacity"] = "2 person"
    if a["season"] == "summer":
        a["waterproof rating"] = "1500 mm"
    elif a["season"] == "4-season":
        a["waterproof rating"] = "5000 mm"
        if a["setup"] == "pop-up automatic":
            a["setup"] = "freestanding dome"


def fix_backpack(a, rng, m):
    a["weight"] = {"20L": "0.8 kg", "30L": rng.choice(["0.8 kg", "1.2 kg"]), "40L": rng.choice(["1.2 kg", "1.6 kg"]),
                   "55L": rng.choice(["1.6 kg", "2.2 kg"]), "65L": "2.2 kg"}[a["capacity"]]
    if a["capacity"] in ("55L", "65L"):
        a["back system"] = "adjustable torso suspension"


def fix_bicycle(a, rng, m):
    t = a["type"]
    if t == "folding":
        a["wheel size"] = rng.choice(["16 inch", "20 inch"])
        if a["frame"] == "carbon fibre":
            a["frame"] = "aluminium alloy"
        if a["gears"] in ("22-speed", "24-speed"):
            a["gears"] = "7-speed"
    elif t == "road":
        a["wheel size"] = "700C"
        if a["gears"] in ("single speed", "7-speed"):
            a["gears"] = "22-speed"
    elif t == "gravel":
        a["wheel size"] = "700C"
        if a["gears"] in ("single speed", "7-speed"):
            a["gears"] = "16-speed"
    elif t == "mountain":
        a["wheel size"] = rng.choice(["27.5 inch", "29 inch"])
        if a["brakes"] == "rim brakes":
            a["brakes"] = "mechanical disc brakes"
        if a["gears"] in ("single speed", "7-speed"):
            a["gears"] = "24-speed"
    else:
        a["wheel size"] = rng.choice(["26 inch", "700C"])
        if a["frame"] == "carbon fibre":
            a["frame"] = "aluminium alloy"
        if a["gears"] in ("22-speed", "24-speed", "16-speed"):
            a["gears"] = rng.choice(["single speed", "7-speed"])


def fix_treadmill(a, rng, m):
    if a["folding"] == "flat-fold walking pad":
        a["max speed"] = rng.choice(["6 km/h", "12 km/h"])
        a["incline"] = "no incline"
        a["running belt"] = "40 x 110 cm"
        a["motor"] = "1.5 HP"
    elif a["max speed"] == "6 km/h":
        a["max speed"] = "12 km/h"


def fix_mattress(a, rng, m):
    if a["type"] == "coir and palm":
        a["firmness"] = rng.choice(["medium-firm", "firm"])
        a["thickness"] = rng.choice(["15 cm", "20 cm"])
    elif a["type"] == "memory foam" and a["firmness"] == "firm":
        a["firmness"] = "medium"


def fix_sofa(a, rng, m):
    if a["features"] == "sofa bed" and a["upholstery"] == "full-grain leather":
        a["upholstery"] = "fabric"


def fix_lamp(a, rng, m):
    if a["eye care grade"].startswith("grade AA") and a["cri"] == "Ra 80":
        a["cri"] = "Ra 90"


def fix_bedding(a, rng, m):
    if a["fabric"] in ("linen", "polyester microfiber"):
        a["thread count"] = "40s 200TC"
        if a["weave"] == "sateen":
            a["weave"] = "plain"
    elif a["fabric"] == "mulberry silk":
        a["weave"] = rng.choice(["sateen", "jacquard"])


def fix_chair(a, rng, m):
    if a["lumbar"] == "fixed lumbar support" and a["armrests"] == "4D armrests":
        a["armrests"] = "3D armrests"


# ---------------------------------------------------------------------------
# Per-category generation specs.
#   noun_zh / noun_en : product noun used in names
#   price             : CNY range per tier
#   count             : number of products
#   graded            : attributes whose taxonomy value order follows the price
#                       tier (entry-level values for budget, top values for premium)
#   name_attrs        : attribute values appended to the product name
#   rules             : per-brand allowed values ("*" = every other brand)
#   models            : per-brand model lines, "En~Zh|tier|pinned=attr;..."
#   colours           : colour choices (adds the common `colour` attribute)
# ---------------------------------------------------------------------------

SPECS = {
    "smartphone": dict(
        noun_zh="5G手机", noun_en="5G Smartphone", count=20,
        price={"budget": (799, 1799), "mid": (1800, 3999), "premium": (4000, 9999)},
        graded=["screen panel", "camera", "battery"], name_attrs=["screen size", "screen panel"],
        rules={"Apple": {"operating system": ["iOS"], "battery": ["3500mAh", "4000mAh", "4500mAh"], "camera": ["48MP dual camera"]},
               "Huawei": {"operating system": ["HarmonyOS"]}, "*": {"operating system": ["Android"]}},
        colours=["black", "white", "blue", "green", "purple", "silver"],
        models=models(
            Apple=["iPhone 15 Pro Max|premium|screen size=6.7 inch;screen panel=LTPO OLED",
                   "iPhone 16 Pro|premium|screen size=6.3 inch;screen panel=LTPO OLED",
                   "iPhone 16|premium|screen size=6.1 inch;screen panel=OLED", "iPhone 15|mid|screen size=6.1 inch;screen panel=OLED"],
            Samsung=["Galaxy S24 Ultra|premium|screen size=6.8 inch;camera=200MP quad camera with 5x periscope",
                     "Galaxy S24|premium|screen size=6.1 inch", "Galaxy A55|mid|screen size=6.5 inch;screen panel=AMOLED",
                     "Galaxy A15|budget|screen size=6.5 inch;screen panel=AMOLED"],
            Google_Pixel=["Pixel 9 Pro|premium|screen size=6.3 inch", "Pixel 8a|mid|screen size=6.1 inch"],
            Xiaomi=["Xiaomi 14 Ultra|premium|screen size=6.7 inch", "Xiaomi 14|premium|screen size=6.3 inch",
                    "Redmi Note 13 Pro|mid|screen size=6.7 inch", "Redmi 13C|budget|screen size=6.7 inch;screen panel=LCD"],
            Huawei=["Mate 60 Pro|premium|screen size=6.8 inch", "Pura 70|premium|screen size=6.7 inch",
                    "nova 12|mid|screen size=6.7 inch", "Enjoy 70~畅享70|budget|screen size=6.7 inch;screen panel=LCD"],
            OPPO=["Find X7 Ultra|premium|screen size=6.8 inch", "Reno12|mid|screen size=6.7 inch", "A3|budget|screen size=6.7 inch"],
            vivo=["X100 Pro|premium|screen size=6.8 inch", "S19|mid|screen size=6.8 inch", "Y200|budget|screen size=6.7 inch"],
            OnePlus=["OnePlus 12|premium|screen size=6.8 inch", "Ace 3|mid|screen size=6.8 inch"],
            Honor=["Magic6 Pro|premium|screen size=6.8 inch", "Honor 200|mid|screen size=6.7 inch", "X50|budget|screen size=6.8 inch"],
        )),
    "laptop": dict(
        noun_zh="笔记本电脑", noun_en="Laptop", count=18,
        price={"budget": (2999, 4499), "mid": (4500, 7999), "premium": (8000, 16999)},
        graded=["processor", "memory", "storage"], name_attrs=["screen size", "processor"],
        rules={"Apple": {"processor": ["Apple M3", "Apple M3 Pro"]},
               "*": {"processor": ["Intel Core i5", "AMD Ryzen 5", "Intel Core i7", "AMD Ryzen 7", "Intel Core Ultra 7"]}},
        fix=fix_laptop, colours=["silver", "grey", "black"],
        models=models(
            Apple=["MacBook Air 13|premium|screen size=13.3 inch;processor=Apple M3", "MacBook Pro 14|premium|screen size=14 inch;processor=Apple M3 Pro"],
            Lenovo=["ThinkPad X1 Carbon|premium|screen size=14 inch", "Xiaoxin Pro 14~小新Pro 14|mid|screen size=14 inch",
                    "Legion Y7000P~拯救者Y7000P|mid|screen size=16 inch", "IdeaPad Slim 3|budget|screen size=15.6 inch"],
            Dell=["XPS 13|premium|screen size=13.3 inch", "Inspiron 14~灵越14|budget|screen size=14 inch"],
            HP=["Spectre x360 14|premium|screen size=14 inch", "Pavilion 15~星15|budget|screen size=15.6 inch"],
            ASUS=["Zenbook 14 OLED~灵耀14 OLED|mid|screen size=14 inch", "ROG Zephyrus G16~ROG幻16|premium|screen size=16 inch",
                  "Vivobook 15~无畏15|budget|screen size=15.6 inch"],
            Huawei=["MateBook X Pro|premium|screen size=14 inch", "MateBook D 14|mid|screen size=14 inch"],
            Xiaomi=["Redmi Book 14|budget|screen size=14 inch", "Xiaomi Book Pro 14|mid|screen size=14 inch"],
            Acer=["Swift Go 14~传奇Go 14|mid|screen size=14 inch", "Aspire 5~新蜂鸟5|budget|screen size=15.6 inch"],
        )),
    "tablet": dict(
        noun_zh="平板电脑", noun_en="Tablet", count=16,
        price={"budget": (999, 1999), "mid": (2000, 4499), "premium": (4500, 11999)},
        graded=["storage", "stylus", "battery"], name_attrs=["screen size", "storage"],
        rules={"Apple": {"operating system": ["iPadOS"], "stylus": ["stylus supported (sold separately)"]},
               "Huawei": {"operating system": ["HarmonyOS"]}, "*": {"operating system": ["Android"]}},
        colours=["grey", "silver", "blue"],
        models=models(
            Apple=["iPad Pro 12.9|premium|screen size=12.9 inch", "iPad Air 11|premium|screen size=11 inch",
                   "iPad 10|mid|screen size=10.9 inch", "iPad mini|mid|screen size=8.3 inch"],
            Samsung=["Galaxy Tab S9|premium|screen size=11 inch;stylus=stylus included", "Galaxy Tab S9 FE|mid|screen size=10.9 inch;stylus=stylus included",
                     "Galaxy Tab A9+|budget|screen size=11 inch"],
            Huawei=["MatePad Pro 12.6|premium|screen size=12.4 inch", "MatePad 11.5|mid|screen size=11 inch"],
            Xiaomi=["Xiaomi Pad 6|mid|screen size=11 inch", "Redmi Pad SE|budget|screen size=11 inch"],
            Lenovo=["Xiaoxin Pad Pro 12.7~小新Pad Pro 12.7|mid|screen size=12.4 inch", "Legion Y700~拯救者Y700|mid|screen size=8.3 inch"],
            Honor=["MagicPad 2|mid|screen size=12.4 inch", "Honor Pad X9~荣耀平板X9|budget|screen size=11 inch"],
            OPPO=["OPPO Pad 2|mid|screen size=11 inch", "OPPO Pad Air|budget|screen size=10.9 inch"],
        )),
    "headphones": dict(
        noun_zh="耳机", noun_en="Headphones", count=18,
        price={"budget": (99, 399), "mid": (400, 1299), "premium": (1300, 3499)},
        graded=["noise cancelling", "connectivity"], name_attrs=["type", "noise cancelling"],
        rules={"Apple": {"connectivity": ["Bluetooth 5.3"]}, "Beats": {"connectivity": ["Bluetooth 5.3"]}},
        fix=fix_headphones, colours=["black", "white", "silver", "blue"],
        models=models(
            Sony=["WH-1000XM5|premium|type=over-ear", "WF-1000XM5|premium|type=in-ear true wireless", "WH-CH720N|mid|type=over-ear"],
            Apple=["AirPods Pro 2|premium|type=in-ear true wireless;noise cancelling=adaptive ANC", "AirPods Max|premium|type=over-ear;noise cancelling=adaptive ANC",
                   "AirPods 4|mid|type=in-ear true wireless"],
            Bose=["QuietComfort Ultra Headphones|premium|type=over-ear", "QuietComfort Ultra Earbuds|premium|type=in-ear true wireless"],
            Sennheiser=["Momentum 4 Wireless|premium|type=over-ear", "Accentum Plus|mid|type=over-ear"],
            Huawei=["FreeBuds Pro 3|mid|type=in-ear true wireless", "FreeClip|mid|type=open-ear"],
            Xiaomi=["Redmi Buds 5|budget|type=in-ear true wireless", "Xiaomi Buds 4 Pro|mid|type=in-ear true wireless"],
            Edifier=["W820NB|budget|type=over-ear", "NeoBuds Pro 2|mid|type=in-ear true wireless", "Comfo Run~Comfo Run 开放式|budget|type=open-ear"],
            Beats=["Studio Pro|premium|type=over-ear", "Solo 4|mid|type=on-ear;noise cancelling=no ANC", "Beats Fit Pro|mid|type=in-ear true wireless"],
        )),
    "smartwatch": dict(
        noun_zh="智能手表", noun_en="Smartwatch", count=16,
        price={"budget": (299, 999), "mid": (1000, 2499), "premium": (2500, 6999)},
        graded=["health sensors", "gps", "water resistance"], name_attrs=["case size", "gps"],
        rules={"Apple": {"battery": ["18 hours"]}, "Samsung": {"battery": ["2 days"]}, "Garmin": {"battery": ["7 days", "14 days"]},
               "*": {"battery": ["2 days", "7 days", "14 days"]}},
        colours=["black", "silver", "green", "pink"],
        models=models(
            Apple=["Apple Watch Series 9|premium|case size=41mm", "Apple Watch Ultra 2|premium|case size=49mm;gps=dual-band GPS",
                   "Apple Watch SE|mid|case size=44mm;health sensors=heart rate"],
            Huawei=["WATCH GT 4|mid|case size=46mm;battery=14 days", "WATCH 4 Pro|premium|case size=47mm", "WATCH FIT 3|budget|case size=44mm"],
            Samsung=["Galaxy Watch6 Classic|mid|case size=47mm", "Galaxy Watch Ultra|premium|case size=47mm"],
            Garmin=["Forerunner 265|mid|case size=46mm", "fenix 7 Pro|premium|case size=47mm", "Venu 3|mid|case size=44mm"],
            Xiaomi=["Xiaomi Watch S3|budget|case size=47mm", "Redmi Watch 4|budget|case size=44mm"],
            Amazfit=["Balance|mid|case size=46mm", "GTR 4|budget|case size=46mm", "T-Rex 2|mid|case size=47mm"],
            Honor=["Honor Watch 4 Pro|mid|case size=46mm", "Honor Watch GS 3|budget|case size=46mm"],
        )),
    "camera": dict(
        noun_zh="相机", noun_en="Camera", count=16,
        price={"budget": (1999, 3999), "mid": (4000, 9999), "premium": (10000, 28999)},
        graded=["sensor resolution", "video"], name_attrs=["type", "sensor resolution"],
        fix=fix_camera,
        models=models(
            Canon=["EOS R5|premium|type=full-frame mirrorless;sensor resolution=45MP", "EOS R6 Mark II|premium|type=full-frame mirrorless;sensor resolution=24MP",
                   "EOS R50|mid|type=APS-C mirrorless", "PowerShot G7 X Mark III|mid|type=compact;sensor resolution=20MP"],
            Sony=["A7 IV|premium|type=full-frame mirrorless;sensor resolution=33MP", "A7R V|premium|type=full-frame mirrorless;sensor resolution=61MP",
                  "ZV-E10|mid|type=APS-C mirrorless;sensor resolution=24MP", "ZV-1 II|mid|type=compact;sensor resolution=20MP"],
            Nikon=["Z6 III|premium|type=full-frame mirrorless;sensor resolution=24MP", "Z fc|mid|type=APS-C mirrorless;sensor resolution=20MP"],
            Fujifilm=["X-T5|premium|type=APS-C mirrorless;sensor resolution=33MP", "X-S20|mid|type=APS-C mirrorless;sensor resolution=24MP",
                      "X100VI|premium|type=compact;sensor resolution=33MP"],
            Panasonic=["LUMIX S5 II|premium|type=full-frame mirrorless;sensor resolution=24MP", "LUMIX G100D|mid|type=APS-C mirrorless;sensor resolution=20MP"],
            DJI=["Osmo Action 4|budget|type=action camera", "Osmo Pocket 3|budget|type=compact;sensor resolution=20MP;stabilization=optical stabilization"],
            GoPro=["HERO12 Black|budget|type=action camera", "HERO11 Black Mini|budget|type=action camera"],
            Insta360=["Ace Pro|budget|type=action camera", "X4|budget|type=action camera"],
        )),
    "bluetooth_speaker": dict(
        noun_zh="蓝牙音箱", noun_en="Bluetooth Speaker", count=15,
        price={"budget": (99, 399), "mid": (400, 1199), "premium": (1200, 3999)},
        graded=["output power", "battery"], name_attrs=["output power", "water resistance"],
        colours=["black", "blue", "red", "grey"],
        models=models(
            JBL=["Charge 5|mid|water resistance=IP67", "Flip 6|mid|water resistance=IP67", "Go 4|budget|water resistance=IP67", "Boombox 3|premium|water resistance=IP67"],
            Bose=["SoundLink Flex|mid|water resistance=IP67", "SoundLink Max|premium|water resistance=IP67"],
            Sony=["SRS-XB100|budget|water resistance=IP67", "ULT Field 1|mid|water resistance=IP67"],
            Marshall=["Emberton II|mid|water resistance=IP67", "Stanmore III|premium|water resistance=no water resistance;connectivity=Wi-Fi + Bluetooth"],
            Xiaomi=["Xiaomi Sound Outdoor|budget|water resistance=IP67", "Xiaomi Bluetooth Speaker Mini|budget|water resistance=no water resistance"],
            Anker_Soundcore=["Motion 300|budget|water resistance=IPX7", "Boom 2|mid|water resistance=IPX7"],
            Edifier=["MP230|budget|water resistance=no water resistance", "M230|mid|water resistance=no water resistance"],
            Harman_Kardon=["Onyx Studio 8|premium|water resistance=no water resistance", "Aura Studio 4|premium|water resistance=no water resistance"],
        )),
    "refrigerator": dict(
        noun_zh="冰箱", noun_en="Refrigerator", count=16,
        price={"budget": (1299, 2999), "mid": (3000, 6999), "premium": (7000, 19999)},
        graded=["capacity", "cooling", "energy rating"], name_attrs=["capacity", "door type"],
        fix=fix_fridge,
        models=models(
            Haier=["BCD-510WGHTDD9~BCD-510WGHTDD9 十字门|premium|door type=cross door;capacity=500L", "BCD-406WDPD~BCD-406WDPD 法式|mid|door type=French door;capacity=400L", "BCD-218STPS|budget|capacity=200L"],
            Midea=["BCD-521WSPZM~BCD-521WSPZM 对开门|mid|door type=side-by-side;capacity=500L", "BCD-239WTM|budget|capacity=200L", "BCD-605WUGPZM~BCD-605WUGPZM 微晶|premium|capacity=600L"],
            Siemens=["KA98NV143C|premium", "KM46FA90TI|premium"],
            Panasonic=["NR-EW45TGA|premium", "NR-EB30S|mid"],
            Samsung=["RF50A5820B1|premium", "RT35K5538S8|mid"],
            Bosch=["KAN93VIFPC|premium"],
            Hisense=["BCD-508WMK1DPJ|mid|capacity=500L", "BCD-265WTD|budget|capacity=300L"],
            Ronshen=["BCD-502WD18HPA|mid|capacity=500L", "BCD-216D11D|budget|capacity=200L"],
        )),
    "washing_machine": dict(
        noun_zh="洗衣机", noun_en="Washing Machine", count=15,
        price={"budget": (999, 1999), "mid": (2000, 4499), "premium": (4500, 12999)},
        graded=["motor", "energy rating", "capacity"], name_attrs=["capacity", "type"],
        fix=fix_washer,
        models=models(
            Haier=["EG100HBD176L|mid", "EB80M30Mate1|budget|type=top load", "Jingliang XQG100-HBD14326L~精华洗 XQG100-HBD14326L|premium"],
            Midea=["MD100V11D|mid", "MB90V31|budget|type=top load"],
            Little_Swan=["TG100V88WMUIADY5|premium", "TB80V23H|budget|type=top load", "TD100V86WMADT|premium|type=washer-dryer combo"],
            Siemens=["WG54C3B0HW|premium", "XQG100-WN54A1X40W|premium|type=washer-dryer combo"],
            Panasonic=["XQG100-ND139|mid", "XQB80-T8TRW|budget|type=top load"],
            LG=["FCY10Y4PA|mid", "FG10TW4|premium|type=washer-dryer combo"],
            Bosch=["WGA254X00W|mid"],
        )),
    "air_conditioner": dict(
        noun_zh="空调", noun_en="Air Conditioner", count=16,
        price={"budget": (1799, 2999), "mid": (3000, 5999), "premium": (6000, 15999)},
        graded=["energy rating", "noise level"], name_attrs=["cooling capacity", "type"],
        fix=fix_ac,
        models=models(
            Gree=["Yunjia~云佳|budget|type=wall-mounted split", "Yunyou~云锦|mid|type=wall-mounted split", "Fengya~风雅|premium|type=floor-standing"],
            Midea=["Fengzun~风尊|mid|type=wall-mounted split", "Kuyue~酷省电|budget|type=wall-mounted split", "KYR-35/N1Y-PD2~移动空调|budget|type=portable"],
            Haier=["Jingchun~净畅|mid|type=wall-mounted split", "Leiyu~雷神者|premium|type=floor-standing"],
            Daikin=["FTXR236WC~FTXR236WC 变频挂机|premium|type=wall-mounted split;inverter=inverter", "FVXG272WC~FVXG272WC 立柜|premium|type=floor-standing"],
            Mitsubishi_Electric=["MSZ-ZFJ09VA|premium|type=wall-mounted split"],
            Hisense=["KFR-35GW/E290-X1~E290 挂机|budget|type=wall-mounted split", "KFR-72LW/E500-A1~E500 柜机|mid|type=floor-standing"],
            AUX=["KFR-35GW/BpR3AQE1~京裕|budget|type=wall-mounted split", "YPH-25~移动空调|budget|type=portable"],
            TCL=["Xiaolanjing~小蓝翼|mid|type=wall-mounted split"],
        )),
    "vacuum_cleaner": dict(
        noun_zh="吸尘器", noun_en="Vacuum Cleaner", count=17,
        price={"budget": (399, 1299), "mid": (1300, 2999), "premium": (3000, 6499)},
        graded=["suction", "filtration", "noise level"], name_attrs=["type", "suction"],
        fix=fix_vacuum,
        models=models(
            Dyson=["V15 Detect|premium|type=cordless stick", "V12 Detect Slim|premium|type=cordless stick", "Gen5detect|premium|type=cordless stick"],
            Xiaomi=["Mijia G10~米家G10|mid|type=cordless stick", "Mijia Robot Vacuum X20~米家扫拖机器人X20|mid|type=robot vacuum and mop",
                    "Mijia Handheld Vacuum 2~米家无线吸尘器2|budget|type=cordless stick"],
            Roborock=["S8 MaxV Ultra|premium|type=robot vacuum and mop", "Q7 Max|mid|type=robot vacuum"],
            Ecovacs=["DEEBOT X2 Pro~地宝X2 Pro|premium|type=robot vacuum and mop", "DEEBOT N20~地宝N20|budget|type=robot vacuum"],
            Dreame=["X40 Ultra|premium|type=robot vacuum and mop", "V12|mid|type=cordless stick", "H13 Pro~H13 Pro 洗地机|mid|type=wet-dry floor washer"],
            Tineco=["FLOOR ONE S5~芙万S5|mid|type=wet-dry floor washer", "Pure ONE S15~飘万S15|mid|type=cordless stick"],
            Philips=["XB2140~XB2140 卧式|budget|type=corded canister", "SpeedPro Max~SpeedPro Max|mid|type=cordless stick"],
            Midea=["VC13A1~VC13A1 卧式|budget|type=corded canister", "Q3~Q3 无线|budget|type=cordless stick"],
        )),
    "air_purifier": dict(
        noun_zh="空气净化器", noun_en="Air Purifier", count=15,
        price={"budget": (499, 1199), "mid": (1200, 2999), "premium": (3000, 6999)},
        graded=["cadr", "filter", "noise level", "smart control"], name_attrs=["cadr"],
        fix=fix_purifier,
        models=models(
            Xiaomi=["Mijia Air Purifier 4 Pro~米家空气净化器4 Pro|budget", "Mijia Air Purifier 4 Lite~米家空气净化器4 Lite|budget", "Xiaomi Air Purifier Elite~小米空气净化器Elite|mid"],
            Philips=["AC4076|mid", "AC3858|mid", "AC1715|budget"],
            Blueair=["Classic 680i|premium", "Blue Pure 211+|mid"],
            Sharp=["KI-FX100-W|premium", "FP-CM30-W|budget"],
            Panasonic=["F-PXT55C|mid"],
            Dyson=["Purifier Big+Quiet Formaldehyde~Big+Quiet 除甲醛|premium|filter=HEPA H13 + formaldehyde catalyst", "Purifier Cool TP07|premium"],
            Midea=["KJ500G-L1|mid"],
            Coway=["AP-1019C|mid"],
        )),
    "rice_cooker": dict(
        noun_zh="电饭煲", noun_en="Rice Cooker", count=15,
        price={"budget": (149, 399), "mid": (400, 999), "premium": (1000, 3999)},
        graded=["heating", "inner pot", "functions"], name_attrs=["capacity", "heating"],
        fix=fix_rice,
        models=models(
            Midea=["MB-FB40E511~FB40E511|budget", "MB-HS4076~鲜滤HS4076|mid"],
            Supor=["SF40FC875~远红外球釜|mid", "SF30FC15~智能小电饭煲|budget|capacity=2L"],
            Zojirushi=["NW-QAH10C~NW-QAH10C 压力IH|premium|heating=IH pressure", "NP-XBH10C|premium"],
            Panasonic=["SR-AC101|mid", "SR-PE401|premium"],
            Toshiba=["RC-10HPC|premium", "RC-15RH|mid"],
            Tiger=["JPW-H10C|premium", "JBV-A10C|budget"],
            Joyoung=["40N1S|budget", "F-40FY5~铁釜IH|mid|heating=IH induction;inner pot=forged iron"],
            Xiaomi=["Mijia Rice Cooker C1~米家电饭煲C1|budget", "Mijia IH Rice Cooker~米家IH电饭煲|mid|heating=IH induction"],
        )),
    "coffee_machine": dict(
        noun_zh="咖啡机", noun_en="Coffee Machine", count=15,
        price={"budget": (299, 999), "mid": (1000, 3999), "premium": (4000, 14999)},
        graded=["milk frothing", "water tank"], name_attrs=["type"],
        fix=fix_coffee, rules={"Nespresso": {"type": ["capsule"]}, "Jura": {"type": ["fully automatic bean-to-cup"]}},
        models=models(
            De_Longhi=["Dinamica Plus ECAM370.85|premium|type=fully automatic bean-to-cup", "Dedica EC685|mid|type=semi-automatic espresso",
                       "La Specialista Arte EC9155|mid|type=semi-automatic espresso"],
            Nespresso=["Vertuo Next|budget|milk frothing=no milk frother", "Lattissima One|mid|milk frothing=automatic milk system", "Essenza Mini|budget|milk frothing=no milk frother"],
            Philips=["EP3246~3200系列全自动|mid|type=fully automatic bean-to-cup", "HD7431~滴漏式美式|budget|type=drip"],
            Breville=["Barista Express BES870|mid|type=semi-automatic espresso", "Oracle Touch BES990|premium|type=semi-automatic espresso"],
            Jura=["E8|premium", "ENA 8|premium"],
            Siemens=["EQ.500 TP503H02|premium|type=fully automatic bean-to-cup"],
            Melitta=["Look V Perfection~Look V 滴漏式|budget|type=drip", "Barista TS Smart|premium|type=fully automatic bean-to-cup"],
        )),
    "hair_dryer": dict(
        noun_zh="吹风机", noun_en="Hair Dryer", count=15,
        price={"budget": (99, 299), "mid": (300, 899), "premium": (900, 3599)},
        graded=["motor", "ions", "heat control"], name_attrs=["motor", "ions"],
        fix=fix_hairdryer, colours=["white", "pink", "grey", "purple"],
        models=models(
            Dyson=["Supersonic HD15|premium|motor=brushless motor 110000 rpm", "Supersonic Nural|premium|motor=brushless motor 110000 rpm"],
            Panasonic=["EH-NA0J|mid", "EH-NE4J|budget", "EH-NA9G|mid"],
            Philips=["BHD628|mid", "BHC010|budget"],
            Xiaomi=["Mijia H501 SE~米家高速吹风机H501 SE|budget|motor=brushless motor 110000 rpm", "Mijia H300~米家负离子吹风机H300|budget|ions=negative ions"],
            Laifen=["SE|mid|motor=brushless motor 110000 rpm", "Swift Special~Swift 特别版|mid|motor=brushless motor 110000 rpm"],
            Dreame=["Glory Pocket~Glory口袋吹风机|mid|motor=brushless motor 110000 rpm"],
            Braun=["HD785|mid", "HD385|budget"],
        )),
    "moisturizer": dict(
        noun_zh="面霜", noun_en="Moisturizer", count=17,
        price={"budget": (59, 149), "mid": (150, 399), "premium": (400, 1899)},
        graded=[], name_attrs=["volume"],
        models=models(
            La_Roche_Posay=["Cicaplast Baume B5~B5修复霜|mid|skin type=sensitive skin;key ingredients=ceramides;texture=cream",
                            "Toleriane Double Repair~特安修护乳|mid|skin type=sensitive skin;key ingredients=niacinamide;texture=lotion"],
            Kiehl_s=["Ultra Facial Cream~高保湿面霜|mid|key ingredients=squalane;texture=cream", "Midnight Recovery~夜间修护|mid|key ingredients=squalane"],
            Estee_Lauder=["Revitalizing Supreme+~多效智妍面霜|premium|key ingredients=peptides;texture=rich cream", "DayWear~日间防护乳|mid|texture=lotion"],
            Lancome=["Absolue Soft Cream~菁纯面霜|premium|key ingredients=peptides;texture=rich cream", "Hydra Zen~水份缘面霜|mid|key ingredients=hyaluronic acid;texture=cream"],
            CeraVe=["Moisturizing Cream~保湿修护霜|budget|key ingredients=ceramides;texture=cream", "PM Facial Moisturizing Lotion~PM乳液|budget|key ingredients=niacinamide;texture=lotion"],
            Clinique=["Moisture Surge 100H~水磁场|mid|key ingredients=hyaluronic acid;texture=gel", "Dramatically Different~黄油|mid|texture=lotion"],
            Shiseido=["Benefiance Wrinkle Smoothing~盼丽风姿抗皱霜|premium|key ingredients=retinol;texture=cream", "Vital Perfection~悦薇面霜|premium|key ingredients=peptides;texture=cream"],
            Winona=["Soothing Repair Cream~舒敏保湿特护霜|budget|skin type=sensitive skin;fragrance=fragrance-free;texture=cream"],
            Proya=["Ruby Cream~红宝石面霜|mid|key ingredients=peptides;texture=cream", "Double Anti Cream~双抗面霜|budget|key ingredients=niacinamide;texture=cream"],
        )),
    "lipstick": dict(
        noun_zh="口红", noun_en="Lipstick", count=16,
        price={"budget": (49, 129), "mid": (130, 299), "premium": (300, 499)},
        graded=["long wear"], name_attrs=["shade", "finish"],
        fix=lambda a, rng, m: a.update({"moisture": "slightly drying"}) if a["finish"] == "matte" and a["moisture"] == "moisturizing" else None,
        models=models(
            YSL=["Rouge Pur Couture~方管|premium|finish=satin", "The Slim~小金条|premium|finish=matte"],
            Dior=["Rouge Dior 999~烈艳蓝金999|premium|shade=classic red;finish=satin", "Addict Lip Glow~魅惑润唇膏|mid|finish=sheer balm;moisture=moisturizing"],
            MAC=["Matte Lipstick Chili~子弹头Chili|mid|finish=matte;shade=brick red", "Powder Kiss~柔雾唇膏|mid|finish=velvet"],
            Chanel=["Rouge Allure Velvet~丝绒|premium|finish=velvet", "Rouge Coco Flash~可可小姐|premium|finish=glossy"],
            Armani_Beauty=["Lip Power~红管|premium|finish=satin", "Lip Maestro~红管唇釉|premium|finish=velvet"],
            Estee_Lauder=["Pure Color Envy~倾慕唇膏|mid|finish=satin"],
            Perfect_Diary=["Rouge Velvet~小细跟|budget|finish=velvet", "Mirror Lip Glaze~镜面唇釉|budget|finish=glossy"],
            Florasis=["Carved Lipstick~雕花口红|budget|finish=satin", "Jade Lip Glaze~玉女桃花唇釉|budget|finish=matte"],
        )),
    "sunscreen": dict(
        noun_zh="防晒霜", noun_en="Sunscreen", count=15,
        price={"budget": (39, 99), "mid": (100, 199), "premium": (200, 399)},
        graded=["water resistance"], name_attrs=["spf", "pa"],
        fix=fix_sunscreen,
        models=models(
            Anessa=["Perfect UV Skincare Milk~小金瓶|premium|spf=SPF50+;pa=PA++++;texture=milk;water resistance=water resistant 80 min",
                    "Perfect UV Gel~金灿倍护防晒啫喱|mid|spf=SPF50+;texture=gel"],
            La_Roche_Posay=["Anthelios UVMune 400~大哥大防晒|premium|spf=SPF50+;texture=milk", "Anthelios Kids Lotion~儿童防晒乳|mid|filter type=physical (mineral);texture=lotion"],
            Biore=["UV Aqua Rich Watery Essence~水活防晒|budget|spf=SPF50+;pa=PA++++;texture=gel", "UV Perfect Spray~清透防晒喷雾|budget|texture=spray"],
            Shiseido=["Clear Suncare Stick~防晒棒|mid|texture=stick", "Blue Fat Sunscreen~蓝胖子|premium|spf=SPF50+;texture=milk"],
            Skin_Aqua=["Super Moisture Gel~新碧水感防晒啫喱|budget|texture=gel", "Tone Up UV Essence~新碧妆前防晒|budget|texture=lotion"],
            Neutrogena=["Ultra Sheer Dry-Touch~轻透防晒乳|budget|texture=lotion", "Hydro Boost Water Gel~水活防晒啫喱|mid|texture=gel"],
            Avene=["Very High Protection Fluid~清爽倍护防晒乳|mid|texture=lotion", "Mineral Sunscreen~物理防晒霜|mid|filter type=physical (mineral);texture=lotion"],
        )),
    "shampoo": dict(
        noun_zh="洗发水", noun_en="Shampoo", count=16,
        price={"budget": (29, 69), "mid": (70, 149), "premium": (150, 499)},
        graded=[], name_attrs=["volume"],
        fix=fix_shampoo,
        models=models(
            Head___Shoulders=["Anti-Dandruff Clean~去屑洁净型|budget|hair concern=dandruff", "Scalp Oil Control~控油去屑型|budget|hair concern=oily scalp"],
            Pantene=["Repair & Protect~乳液修护|budget|hair concern=dry and damaged hair", "Miracles Bond Repair~三分钟奇迹|mid|hair concern=dry and damaged hair"],
            L_Oreal_Paris=["Elvive Extraordinary Oil~奇焕润发|budget|hair concern=dry and damaged hair", "Hyaluronic Moisture~玻尿酸水润|budget|hair concern=normal hair"],
            Schwarzkopf=["Gliss Oil Nutritive~怡然盈润|budget|hair concern=dry and damaged hair", "Fresh Scalp~头皮清爽|mid|hair concern=oily scalp"],
            Kerastase=["Bain Therapiste~黑钻|premium|hair concern=dry and damaged hair", "Specifique Bain Divalent~双重功能|premium|hair concern=oily scalp"],
            Aveda=["Scalp Solutions~头皮平衡|premium|hair concern=oily scalp", "Invati Advanced~丰盈强韧|premium|hair concern=hair loss prevention"],
            Clear=["Men Cool Sport~男士运动|budget|hair concern=dandruff", "Complete Scalp Care~净爽去屑|budget|hair concern=dandruff"],
            Seeyoung=["Ginseng Anti Hair-Loss~人参防脱|mid|hair concern=hair loss prevention;silicone=silicone-free", "Tea Tree Oil Control~茶树控油|mid|hair concern=oily scalp;silicone=silicone-free"],
        )),
    "facial_cleanser": dict(
        noun_zh="洗面奶", noun_en="Facial Cleanser", count=15,
        price={"budget": (29, 79), "mid": (80, 149), "premium": (150, 299)},
        graded=[], name_attrs=["cleansing base", "volume"],
        fix=fix_cleanser,
        models=models(
            CeraVe=["Foaming Cleanser~氨基酸泡沫洁面|budget|cleansing base=amino acid;skin type=oily skin", "Hydrating Cleanser~保湿洁面乳|budget|cleansing base=cream;skin type=dry skin"],
            Cetaphil=["Gentle Skin Cleanser~温和洁面乳|budget|skin type=sensitive skin;cleansing base=cream"],
            Freeplus=["Mild Soap Foam~净润洗面霜|mid|cleansing base=amino acid;skin type=sensitive skin"],
            Kiehl_s=["Calendula Foaming Cleanser~金盏花洁面|mid|cleansing base=foaming gel", "Ultra Facial Cleanser~高保湿洁面|mid|cleansing base=cream"],
            La_Roche_Posay=["Effaclar Purifying Gel~清痘净肤洁面|mid|cleansing base=foaming gel;skin type=oily skin", "Toleriane Cleanser~特安洁面乳|mid|skin type=sensitive skin;cleansing base=cream"],
            Senka=["Perfect Whip~洗颜专科超微米洁面|budget|cleansing base=soap-based;skin type=oily skin"],
            Curel=["Foaming Wash~润浸保湿洁颜泡沫|mid|cleansing base=amino acid;skin type=sensitive skin"],
            FANCL=["Washing Powder~无添加洁面粉|premium|cleansing base=soap-based;skin type=combination skin", "Moist Cleansing Foam~保湿洁面乳|premium|cleansing base=cream;skin type=dry skin"],
        )),
    "running_shoes": dict(
        noun_zh="跑鞋", noun_en="Running Shoes", count=18,
        price={"budget": (199, 499), "mid": (500, 999), "premium": (1000, 1999)},
        graded=["weight"], name_attrs=["cushioning"],
        fix=fix_running, colours=["black", "white", "blue", "grey", "red"],
        models=models(
            Nike=["Pegasus 41|mid|support=neutral;cushioning=medium cushioning;terrain=road", "Vaporfly 3|premium|terrain=track and race;cushioning=max cushioning",
                  "Invincible 3|premium|cushioning=max cushioning;terrain=road"],
            Adidas=["Ultraboost Light|mid|terrain=road;cushioning=max cushioning", "Adizero Adios Pro 3|premium|terrain=track and race"],
            ASICS=["Gel-Kayano 31|premium|support=stability;terrain=road", "Gel-Nimbus 26|premium|support=neutral;cushioning=max cushioning;terrain=road",
                   "GT-2000 12|mid|support=stability;terrain=road", "Gel-Trabuco 12|mid|terrain=trail"],
            Brooks=["Adrenaline GTS 23|mid|support=stability;terrain=road", "Ghost 16|mid|support=neutral;terrain=road", "Beast GTS 23|premium|support=motion control;terrain=road"],
            New_Balance=["Fresh Foam X 1080v13|premium|support=neutral;cushioning=max cushioning;terrain=road", "FuelCell Rebel v4|mid|terrain=road;cushioning=light cushioning"],
            HOKA=["Clifton 9|mid|support=neutral;cushioning=max cushioning;terrain=road", "Speedgoat 6|premium|terrain=trail", "Arahi 7|mid|support=stability;terrain=road"],
            Li_Ning=["Feidian 4 Elite~飞电4 Elite|mid|terrain=track and race", "Chitu 7~赤兔7|budget|terrain=road"],
            Anta=["C202 GT~C202 GT|mid|terrain=track and race", "Mach 4~马赫4|budget|terrain=road"],
            Saucony=["Endorphin Speed 4~啡速4|mid|terrain=road;support=neutral", "Guide 17~向导17|mid|support=stability;terrain=road"],
            Xtep=["160X 6.0~160X 6.0|mid|terrain=track and race", "Dynamic Foam~动力巢|budget|terrain=road"],
        )),
    "down_jacket": dict(
        noun_zh="羽绒服", noun_en="Down Jacket", count=16,
        price={"budget": (399, 899), "mid": (900, 2499), "premium": (2500, 12999)},
        graded=["fill power", "shell fabric"], name_attrs=["length", "down type"],
        fix=fix_down, colours=["black", "navy", "beige", "grey", "red", "white"],
        models=models(
            Bosideng=["Extreme Cold Series~极寒系列|premium|length=long;fill weight=320 g", "Classic Hooded~经典连帽|mid", "Light Down~轻薄羽绒|budget|fill weight=120 g"],
            Canada_Goose=["Expedition Parka~远征派克|premium|length=long;fill power=700 FP", "Crofton Puffer|premium|length=short"],
            Moncler=["Maya|premium|length=short;fill power=800 FP", "Maire Long~Maire长款|premium|length=long"],
            Uniqlo=["Ultra Light Down~高级轻型羽绒|budget|fill weight=120 g;length=short", "Seamless Down Parka~无缝羽绒派克|mid"],
            The_North_Face=["1996 Retro Nuptse|mid|length=short;fill power=700 FP", "McMurdo Parka|premium|length=mid-length"],
            Arc_teryx=["Cerium Hoody|premium|fill power=800 FP;length=short;fill weight=120 g", "Thorium Parka|premium|length=mid-length"],
            Yaya=["Winter Puffer~冬季面包服|budget", "Long Hooded~长款连帽|budget|length=long"],
            Columbia=["Omni-Heat Puffer~奥米热能羽绒|mid"],
        )),
    "jeans": dict(
        noun_zh="牛仔裤", noun_en="Jeans", count=15,
        price={"budget": (99, 299), "mid": (300, 799), "premium": (800, 1999)},
        graded=["fabric"], name_attrs=["fit", "rise"],
        colours=None,
        models=models(
            Levi_s=["501 Original|mid|fit=straight;fabric=100% cotton rigid denim", "511 Slim|mid|fit=slim", "Made & Crafted Selvedge~匠心赤耳|premium|fabric=selvedge denim"],
            Lee=["Rider 101|mid|fit=straight", "Slim Fit~修身款|mid|fit=slim"],
            Wrangler=["Texas Stretch~德州弹力|mid|fit=straight;fabric=cotton with 2% elastane"],
            Uniqlo=["Ultra Stretch~超弹力|budget|fit=skinny;fabric=cotton with 2% elastane", "Wide Straight~宽直筒|budget|fit=wide-leg"],
            Zara=["TRF Wide Leg~TRF阔腿|budget|fit=wide-leg;rise=high rise", "Mom Fit~妈咪裤|budget|fit=relaxed;rise=high rise"],
            Calvin_Klein=["90s Straight~90年代直筒|premium|fit=straight", "Body Skinny~紧身|mid|fit=skinny"],
            G_Star_RAW=["3301 Slim|premium|fit=slim", "Arc 3D~立体裁剪|premium|fit=relaxed"],
            Semir=["Stretch Slim~弹力修身|budget|fit=slim;fabric=cotton with 2% elastane", "Loose Straight~宽松直筒|budget|fit=relaxed"],
        )),
    "dress": dict(
        noun_zh="连衣裙", noun_en="Dress", count=15,
        price={"budget": (99, 299), "mid": (300, 799), "premium": (800, 2999)},
        graded=["fabric"], name_attrs=["silhouette", "length"],
        colours=["black", "white", "beige", "navy", "pink", "green", "red"],
        models=models(
            Zara=["Satin Slip~缎面吊带|budget|silhouette=slip;sleeve=sleeveless;fabric=polyester", "Linen Blend Midi~亚麻混纺中长|mid|fabric=linen;length=midi"],
            H_M=["Floral Wrap~碎花裹身|budget|silhouette=wrap", "Knit Bodycon~针织包臀|budget|silhouette=bodycon;fabric=knit"],
            Uniqlo=["Cotton Shirt Dress~纯棉衬衫裙|budget|silhouette=shirt dress;fabric=cotton"],
            UR=["Tiered Maxi~层叠长裙|mid|length=maxi", "A-Line Midi~A字中长|mid|silhouette=A-line;length=midi"],
            Peacebird=["French Tea Dress~法式茶歇裙|mid|silhouette=wrap;length=midi", "Knit Shift~针织直筒|mid|silhouette=shift;fabric=knit"],
            ONLY=["Denim-Look Shirt Dress~衬衫裙|budget|silhouette=shirt dress", "Chiffon A-Line~雪纺A字|budget|fabric=chiffon;silhouette=A-line"],
            Vero_Moda=["Printed Midi~印花中长|mid|length=midi"],
            Massimo_Dutti=["Silk Slip~真丝吊带|premium|fabric=mulberry silk;silhouette=slip", "Linen Shirt Dress~亚麻衬衫裙|premium|fabric=linen;silhouette=shirt dress"],
        )),
    "t_shirt": dict(
        noun_zh="T恤", noun_en="T-Shirt", count=15,
        price={"budget": (39, 99), "mid": (100, 299), "premium": (300, 999)},
        graded=["fabric"], name_attrs=["fabric", "neckline"],
        colours=["white", "black", "grey", "navy", "beige", "green"],
        models=models(
            Uniqlo=["U Crew Neck~U系列圆领|budget|neckline=crew neck;fabric=100% cotton", "AIRism Cotton~AIRism棉混纺|budget|fabric=cotton-polyester blend"],
            Nike=["Dri-FIT Miler~Dri-FIT速干|mid|fabric=quick-dry polyester;fit=regular", "Sportswear Club~经典款|budget|fabric=100% cotton"],
            Adidas=["Trefoil Tee~三叶草|mid|fabric=100% cotton", "Own The Run~跑步速干|mid|fabric=quick-dry polyester"],
            Lacoste=["Classic Pique Polo~经典珠地POLO|premium|neckline=polo collar;fabric=pima cotton"],
            MUJI=["Organic Cotton Crew~有机棉圆领|budget|fabric=combed cotton;neckline=crew neck"],
            Champion=["Reverse Weave Tee~重磅|mid|fabric weight=280 gsm;fit=oversized;fabric=100% cotton"],
            Bananain=["Heavyweight Tee~重磅T恤|mid|fabric weight=240 gsm;fabric=combed cotton", "Merino Tee~美丽奴羊毛T恤|premium|fabric=merino wool"],
            Ralph_Lauren=["Custom Slim Fit Tee~定制修身T恤|premium|fit=slim;fabric=pima cotton"],
        )),
    "baby_sleeping_bag": dict(
        noun_zh="婴儿睡袋", noun_en="Baby Sleeping Bag", count=16,
        price={"budget": (89, 199), "mid": (200, 399), "premium": (400, 899)},
        graded=["fabric"], name_attrs=["tog", "style"],
        fix=fix_sleepbag, colours=["white", "beige", "grey", "pink", "blue"],
        models=models(
            The_Gro_Company=["Grobag Classic|premium|style=sleeveless", "Grobag Travel|premium|style=sleeveless"],
            Love_To_Dream=["Swaddle UP~Swaddle UP蝴蝶襁褓|mid|style=swaddle sack", "Sleep Bag Transition~过渡睡袋|mid|style=detachable sleeves"],
            ergoPouch=["Sleep Suit Bag~分腿睡袋|premium|style=split-leg;fabric=organic cotton", "Cocoon Swaddle~茧型襁褓|mid|style=swaddle sack"],
            HALO=["SleepSack~SleepSack背心睡袋|mid|style=sleeveless"],
            aden___anais=["Muslin Sleeping Bag~纱布睡袋|mid|fabric=muslin cotton;tog=1.0 TOG"],
            Purflo=["Sleep Bag~恒温睡袋|premium|style=detachable sleeves"],
            Goodbaby=["Split-Leg Sleeping Bag~分腿防踢被|budget|style=split-leg", "Vest Sleeping Bag~背心睡袋|budget|style=sleeveless"],
            Balabala=["Cotton Sleeping Bag~纯棉睡袋|budget|fabric=cotton jersey"],
        )),
    "stroller": dict(
        noun_zh="婴儿推车", noun_en="Stroller", count=16,
        price={"budget": (499, 1499), "mid": (1500, 3999), "premium": (4000, 9999)},
        graded=["suspension", "recline"], name_attrs=["type", "fold"],
        fix=fix_stroller, colours=["black", "grey", "beige", "navy"],
        models=models(
            Goodbaby=["Pockit~口袋车|budget|type=lightweight travel;fold=compact cabin-size fold", "GB Qbit+|mid|type=lightweight travel", "Pramette~高景观推车|budget|type=high-view pram"],
            Bugaboo=["Fox 5|premium|type=full-size", "Butterfly|premium|type=lightweight travel;fold=compact cabin-size fold", "Dragonfly|premium|type=full-size"],
            Cybex=["Priam|premium|type=high-view pram", "Eezy S Twist+ 2|mid|type=lightweight travel"],
            Babyzen=["YOYO2|premium|type=lightweight travel;fold=compact cabin-size fold"],
            Joie=["Aire Twin~双胞胎推车|mid|type=full-size", "Pact~轻便伞车|budget|type=lightweight travel"],
            Stokke=["Xplory X|premium|type=high-view pram"],
            Pouch=["A18~轻便推车|budget|type=lightweight travel", "P860~高景观推车|budget|type=high-view pram"],
            UPPAbaby=["Vista V2|premium|type=full-size", "Minu V2|mid|type=lightweight travel"],
        )),
    "diapers": dict(
        noun_zh="纸尿裤", noun_en="Diapers", count=17,
        price={"budget": (59, 99), "mid": (100, 169), "premium": (170, 299)},
        graded=["thickness"], name_attrs=["diaper size", "pack count"],
        fix=fix_diapers,
        models=models(
            Pampers=["Ichiban~一级帮|premium", "Baby-Dry~超薄干爽|mid|thickness=ultra-thin", "Easy Ups~拉拉裤|mid|type=pull-up pants"],
            Huggies=["Platinum~铂金装|premium", "Little Movers~小森林|mid", "Gold Pull-Ups~金装成长裤|mid|type=pull-up pants"],
            Merries=["Merries Tape~妙而舒腰贴|mid|type=tape diapers", "Merries Pants~妙而舒拉拉裤|mid|type=pull-up pants"],
            MamyPoko=["Air Fit~瞬吸干爽|budget"],
            Moony=["Natural Moony~皇家系列|premium"],
            Babycare=["Airpro~Air pro日用|mid", "Royal Night~皇室夜用|premium|absorbency=overnight 12 hours"],
            Goo_N=["Aurora~奢华肌|premium", "Everyday~短裤式|budget|type=pull-up pants"],
        )),
    "infant_formula": dict(
        noun_zh="婴儿配方奶粉", noun_en="Infant Formula", count=16,
        price={"budget": (159, 249), "mid": (250, 369), "premium": (370, 599)},
        graded=["key nutrients"], name_attrs=["stage", "can size"],
        fix=fix_formula,
        rules={"a2": {"milk source": ["A2 cow milk"], "origin": ["New Zealand", "Australia"]},
               "Kabrita": {"milk source": ["goat milk"], "origin": ["Netherlands"]},
               "Feihe": {"milk source": ["cow milk"], "origin": ["China"]},
               "Junlebao": {"milk source": ["cow milk"], "origin": ["China"]},
               "Aptamil": {"milk source": ["cow milk"], "origin": ["Ireland", "Germany", "New Zealand"]},
               "Friso": {"milk source": ["cow milk", "A2 cow milk"], "origin": ["Netherlands"]},
               "Wyeth Illuma": {"milk source": ["cow milk", "A2 cow milk"], "origin": ["Ireland"]},
               "Abbott": {"milk source": ["cow milk"], "origin": ["Ireland", "New Zealand"]}},
        models=models(
            Feihe=["Astrobaby~星飞帆|mid|key nutrients=OPO structured lipids", "Zhenzhi~臻稚|premium|key nutrients=lactoferrin"],
            a2=["Platinum~至初|premium", "Zhichu~紫白金|mid"],
            Aptamil=["Profutura~爱他美卓萃|premium|key nutrients=HMO", "Pronutra~经典|mid"],
            Wyeth_Illuma=["Illuma Blue Diamond~启赋蓝钻|premium|key nutrients=HMO", "Illuma Atwo~启赋未来|premium"],
            Friso=["Friso Prestige~皇家美素佳儿|premium", "Friso Gold~美素佳儿金装|mid"],
            Junlebao=["Leshi~乐臻|budget", "Zhizhen~旗帜|budget"],
            Abbott=["Similac Eleva~菁智|premium|key nutrients=HMO", "Similac Gain~亲护|mid|key nutrients=partially hydrolysed protein"],
            Kabrita=["Kabrita Gold~悦白|premium|key nutrients=OPO structured lipids", "Kabrita Classic~经典|mid"],
        )),
    "baby_car_seat": dict(
        noun_zh="儿童安全座椅", noun_en="Child Car Seat", count=15,
        price={"budget": (499, 1499), "mid": (1500, 3499), "premium": (3500, 7999)},
        graded=["installation", "side impact protection", "safety standard"], name_attrs=["age group", "installation"],
        fix=fix_carseat, colours=["black", "grey", "navy"],
        models=models(
            Britax=["Dualfix Pro~双面骑士Pro|premium|age group=0-4 years;rotation=360° rotation", "Kidfix i-Size~凯迪成长|mid|age group=3-12 years (booster)"],
            Cybex=["Sirona T i-Size|premium|age group=0-4 years;rotation=360° rotation", "Solution T i-Fix|mid|age group=3-12 years (booster)", "Cloud T i-Size~提篮|premium|age group=0-15 months (infant carrier)"],
            Maxi_Cosi=["Pebble 360~提篮|mid|age group=0-15 months (infant carrier)", "Titan Pro i-Size|mid|age group=9 months-12 years"],
            Joie=["i-Spin 360~巧儿宜旋转|mid|age group=0-4 years;rotation=360° rotation", "Trillo Shield~增高座椅|budget|age group=9 months-12 years"],
            Goodbaby=["CS768~CS768 360旋转|mid|age group=0-4 years;rotation=360° rotation", "CS619~CS619 成长型|budget|age group=9 months-12 years"],
            Recaro=["Salia Elite|premium|age group=0-4 years;rotation=360° rotation", "Monza Nova~莫扎特|mid|age group=3-12 years (booster)"],
            BeSafe=["iZi Turn i-Size|premium|age group=0-4 years;rotation=360° rotation"],
            Welldon=["Jieya~酷睿宝|budget|age group=9 months-12 years", "Smart Turn~智转|mid|age group=0-4 years;rotation=360° rotation"],
        )),
    "tent": dict(
        noun_zh="帐篷", noun_en="Tent", count=16,
        price={"budget": (199, 699), "mid": (700, 2499), "premium": (2500, 8999)},
        graded=["waterproof rating"], name_attrs=["capacity", "season"],
        fix=fix_tent,
        models=models(
            Naturehike=["Cloud Up 2~云尚2|budget|capacity=2 person;setup=freestanding dome", "Mongar 2~蒙加2|mid|capacity=2 person", "Village 5.0~村落5.0|mid|capacity=3-4 person;setup=tunnel"],
            MSR=["Hubba Hubba 2|premium|capacity=2 person;setup=freestanding dome;season=3-season", "Access 2|premium|capacity=2 person;season=4-season"],
            Big_Agnes=["Copper Spur HV UL2|premium|capacity=2 person;season=3-season;setup=freestanding dome"],
            Coleman=["Sundome 4~圆顶4人帐|budget|capacity=3-4 person;setup=freestanding dome", "Instant Cabin 6~速开6人帐|mid|capacity=6 person;setup=pop-up automatic"],
            Decathlon=["2 Seconds Easy~2秒速开|budget|setup=pop-up automatic", "MH100 Fresh~MH100|budget|capacity=3-4 person"],
            Mobi_Garden=["Cold Mountain 2~冷山2|mid|capacity=2 person", "Lingfeng 3~领峰3|mid|capacity=3-4 person;season=3-season"],
            The_North_Face=["Stormbreak 2|mid|capacity=2 person;season=3-season", "VE 25|premium|capacity=2 person;season=4-season"],
            Hilleberg=["Nallo 2|premium|capacity=2 person;season=4-season;setup=tunnel", "Enan|premium|capacity=1 person;setup=tunnel;season=3-season"],
        )),
    "hiking_backpack": dict(
        noun_zh="登山包", noun_en="Hiking Backpack", count=16,
        price={"budget": (199, 599), "mid": (600, 1499), "premium": (1500, 4999)},
        graded=["fabric", "rain cover"], name_attrs=["capacity"],
        fix=fix_backpack, colours=["black", "grey", "blue", "green", "red"],
        models=models(
            Osprey=["Atmos AG 65|premium|capacity=65L", "Talon 33|mid|capacity=30L", "Exos 48|premium|capacity=40L"],
            Deuter=["Aircontact Core 50+10|mid|capacity=55L", "Futura 32|mid|capacity=30L", "Speed Lite 21|budget|capacity=20L"],
            Gregory=["Baltoro 65|premium|capacity=65L", "Zulu 30|mid|capacity=30L"],
            The_North_Face=["Terra 55|mid|capacity=55L"],
            Kailas=["Windrunner 40~风语40|mid|capacity=40L", "Climbing 30~攀登30|mid|capacity=30L"],
            Mammut=["Lithium 30|mid|capacity=30L"],
            Decathlon=["MH500 20L|budget|capacity=20L", "Trek 100 50L|budget|capacity=55L"],
            Arc_teryx=["Bora 65|premium|capacity=65L", "Brize 32|premium|capacity=30L"],
        )),
    "yoga_mat": dict(
        noun_zh="瑜伽垫", noun_en="Yoga Mat", count=15,
        price={"budget": (59, 149), "mid": (150, 399), "premium": (400, 999)},
        graded=["material", "grip"], name_attrs=["thickness", "material"],
        colours=["purple", "pink", "blue", "grey", "green", "black"],
        models=models(
            Lululemon=["The Mat 5mm|premium|thickness=4mm;material=PU + natural rubber;grip=wet-grip PU surface"],
            Manduka=["PRO Yoga Mat|premium|thickness=6mm", "PROlite|premium|thickness=4mm"],
            Liforme=["Liforme Yoga Mat|premium|thickness=4mm;material=PU + natural rubber"],
            Keep=["TPE Yoga Mat~TPE瑜伽垫|budget|material=TPE", "Rubber Pro Mat~天然橡胶专业垫|mid|material=natural rubber"],
            Decathlon=["Essential Mat~基础款|budget", "Grip+ Mat~防滑款|mid"],
            Gaiam=["Premium Print Mat~印花垫|budget|material=PVC", "Performance Dry-Grip~速干防滑|mid"],
            JOINFIT=["NBR Fitness Mat~加厚健身垫|budget|material=NBR;thickness=10mm", "Natural Rubber Mat~天然橡胶垫|mid|material=natural rubber"],
        )),
    "bicycle": dict(
        noun_zh="自行车", noun_en="Bicycle", count=16,
        price={"budget": (599, 1999), "mid": (2000, 6999), "premium": (7000, 29999)},
        graded=["frame", "brakes"], name_attrs=["type", "gears"],
        fix=fix_bicycle, colours=["black", "white", "grey", "blue", "red"],
        models=models(
            Giant=["TCR Advanced~TCR Advanced|premium|type=road;frame=carbon fibre", "ATX 860|mid|type=mountain", "Escape 3|budget|type=city commuter"],
            Merida=["Reacto 4000|premium|type=road", "Duke 600~公爵600|mid|type=mountain"],
            Trek=["Domane AL 2|mid|type=road;frame=aluminium alloy", "Marlin 7|mid|type=mountain", "Checkpoint ALR 5|premium|type=gravel"],
            Specialized=["Tarmac SL7|premium|type=road;frame=carbon fibre", "Rockhopper|mid|type=mountain"],
            Phoenix=["City Classic~城市经典|budget|type=city commuter;frame=steel", "Folding 20~折叠20寸|budget|type=folding;wheel size=20 inch"],
            Forever=["Retro Commuter~复古通勤|budget|type=city commuter", "Youth MTB~青少年山地|budget|type=mountain"],
            Brompton=["C Line Explore|premium|type=folding;frame=steel", "P Line|premium|type=folding;frame=steel"],
            Decathlon=["Riverside 120~Riverside 120|budget|type=gravel", "Rockrider ST 530|mid|type=mountain"],
        )),
    "treadmill": dict(
        noun_zh="跑步机", noun_en="Treadmill", count=15,
        price={"budget": (1199, 2499), "mid": (2500, 5999), "premium": (6000, 39999)},
        graded=["motor", "running belt", "incline"], name_attrs=["folding", "max speed"],
        fix=fix_treadmill,
        models=models(
            KingSmith=["WalkingPad C2~走步机C2|budget|folding=flat-fold walking pad", "K15|mid|folding=foldable"],
            Shuhua=["E7|mid|folding=foldable", "X9~X9 商用|premium|folding=non-folding"],
            NordicTrack=["Commercial 1750|premium|folding=foldable", "T 6.5 S|mid|folding=foldable"],
            Life_Fitness=["Club Series+|premium|folding=non-folding"],
            Yesoul=["P30~P30|mid|folding=foldable", "Walking Pad P1~平板走步机|budget|folding=flat-fold walking pad"],
            Merach=["Mini Pro~小金刚|budget|folding=foldable", "Magic Cube~魔方|mid|folding=foldable"],
            Technogym=["MyRun|premium|folding=non-folding"],
            Xiaomi=["Mijia Treadmill~米家跑步机|budget|folding=foldable", "Mijia Walking Pad~米家走步机|budget|folding=flat-fold walking pad"],
        )),
    "mattress": dict(
        noun_zh="床垫", noun_en="Mattress", count=16,
        price={"budget": (999, 2999), "mid": (3000, 7999), "premium": (8000, 29999)},
        graded=["type", "thickness"], name_attrs=["type", "bed size"],
        fix=fix_mattress,
        models=models(
            Simmons=["Beautyrest~Beautyrest 金刚|premium|type=pocket spring", "Sleep Club~睡眠俱乐部|mid"],
            Sealy=["Posturepedic~护脊|premium|type=hybrid spring and latex", "Response~悦享|mid"],
            Serta=["iComfort~iComfort|premium|type=memory foam", "Perfect Sleeper~完美睡眠|mid"],
            Tempur=["Pro Plus~感温系列|premium|type=memory foam", "One Firm~One硬感|premium|type=memory foam;firmness=medium-firm"],
            Mlily=["Tornado~龙卷风|mid|type=memory foam", "Mini~小蓝|budget|type=memory foam"],
            De_Rucci=["3D Series~3D系列|premium|type=hybrid spring and latex", "Ruci Basic~基础款|mid"],
            Airland=["Natural Latex~天然乳胶|mid|type=latex", "Palm Firm~椰棕护脊|budget|type=coir and palm"],
            Xilinmen=["Spine Care~护脊床垫|budget", "Latex Comfort~乳胶舒适|mid|type=latex"],
        )),
    "sofa": dict(
        noun_zh="沙发", noun_en="Sofa", count=15,
        price={"budget": (1499, 3999), "mid": (4000, 9999), "premium": (10000, 49999)},
        graded=["upholstery", "frame", "fill"], name_attrs=["seats", "upholstery"],
        fix=fix_sofa, colours=["grey", "beige", "brown", "green", "white"],
        models=models(
            IKEA=["KIVIK|budget|upholstery=fabric", "FRIHETEN~FRIHETEN 转角沙发床|budget|features=sofa bed;seats=L-shaped sectional", "VIMLE|mid"],
            Kuka=["Modern Leather~现代真皮|mid|upholstery=top-grain leather", "Cloud Fabric~云朵布艺|mid|upholstery=fabric"],
            Natuzzi=["Re-vive~Re-vive功能沙发|premium|features=electric recliner", "Editions Leather~真皮|premium|upholstery=full-grain leather"],
            MUJI=["Feather Sofa~羽绒沙发|mid|fill=feather + foam;upholstery=fabric"],
            Linshi=["Cream Style~奶油风|budget", "Tech Fabric~科技布|budget|upholstery=tech fabric (scratch-resistant)"],
            Zuoyou=["Italian Minimal~意式极简|mid", "Leather Recliner~真皮功能|premium|features=manual recliner;upholstery=top-grain leather"],
            Cheers=["Electric Recliner~头等舱电动|mid|features=electric recliner", "Chaise Fabric~布艺贵妃|budget|seats=4-seater with chaise;upholstery=fabric"],
        )),
    "desk_lamp": dict(
        noun_zh="护眼台灯", noun_en="Desk Lamp", count=15,
        price={"budget": (99, 249), "mid": (250, 599), "premium": (600, 1999)},
        graded=["eye care grade", "cri", "colour temperature"], name_attrs=["eye care grade", "cri"],
        fix=fix_lamp, colours=["white", "black", "grey"],
        models=models(
            Philips=["Xuanbo~轩博|mid|power=mains plug-in", "Jiayi~晶逸|budget"],
            Xiaomi=["Mijia Desk Lamp 1S~米家台灯1S|budget|power=mains plug-in", "Mijia Desk Lamp Pro~米家台灯Pro|mid|power=mains plug-in"],
            BenQ=["MindDuo 2~MindDuo 2 儿童|premium|power=mains plug-in", "WiT~WiT屏幕挂灯|premium|power=USB powered"],
            Opple=["Zhiyuan~智远|budget", "Learning Pro~学习Pro|mid|power=mains plug-in"],
            Panasonic=["HHLT0663~致稳|mid|power=mains plug-in"],
            Yeelight=["Pro Desk Lamp~Pro台灯|mid|power=mains plug-in", "Rechargeable Lamp~充电台灯|budget|power=rechargeable battery"],
            NVC=["Hujing~护睛|budget"],
            Midea=["Smart Eye Care~智能护眼|budget|power=USB powered"],
        )),
    "bedding": dict(
        noun_zh="床上四件套", noun_en="Bedding Set", count=15,
        price={"budget": (129, 399), "mid": (400, 999), "premium": (1000, 3999)},
        graded=["thread count"], name_attrs=["fabric", "bed size"],
        fix=fix_bedding, colours=["white", "grey", "beige", "blue", "green", "pink"],
        models=models(
            Luolai=["Egyptian Cotton Sateen~埃及棉贡缎|premium|fabric=long-staple cotton;weave=sateen", "Tencel Summer~天丝凉感|mid|fabric=Tencel lyocell"],
            Mercury=["Pure Cotton Basic~纯棉基础款|budget|fabric=100% cotton", "Long-Staple Cotton~长绒棉|mid|fabric=long-staple cotton"],
            Fuanna=["Silk Luxe~桑蚕丝|premium|fabric=mulberry silk", "Jacquard Classic~经典提花|mid|weave=jacquard"],
            MUJI=["Washed Cotton~水洗棉|mid|fabric=100% cotton;weave=plain", "French Linen~法国亚麻|premium|fabric=linen"],
            IKEA=["DVALA~DVALA|budget|fabric=100% cotton;weave=plain", "NATTJASMIN|mid|fabric=long-staple cotton;weave=sateen"],
            Dohia=["Brushed Warm~磨毛保暖|budget|fabric=polyester microfiber"],
            Mendale=["Tencel Jacquard~天丝提花|premium|fabric=Tencel lyocell;weave=jacquard"],
        )),
    "office_chair": dict(
        noun_zh="人体工学椅", noun_en="Ergonomic Office Chair", count=15,
        price={"budget": (399, 999), "mid": (1000, 2999), "premium": (3000, 15999)},
        graded=["lumbar", "armrests", "recline"], name_attrs=["backrest material", "armrests"],
        fix=fix_chair, colours=["black", "grey", "white"],
        models=models(
            Herman_Miller=["Aeron|premium|backrest material=elastomer mesh;headrest=no headrest", "Embody|premium|headrest=no headrest"],
            Steelcase=["Leap V2|premium|backrest material=fabric", "Gesture|premium|backrest material=fabric"],
            Sihoo=["M57|budget|backrest material=breathable mesh", "Doro C300|mid|backrest material=breathable mesh"],
            Ergonor=["Jinyi~金豚骑士|mid|backrest material=elastomer mesh", "Xiaoyu~小鱼|budget"],
            Hbada=["E3 Pro|mid|backrest material=breathable mesh", "P5|budget"],
            IKEA=["MARKUS|budget|backrest material=breathable mesh;armrests=fixed armrests"],
            Humanscale=["Freedom|premium|backrest material=PU leather"],
            GTRACING=["Gaming Chair GT099~电竞椅|budget|backrest material=PU leather"],
        )),
}


# ---------------------------------------------------------------------------
# Review templates.
#
# Keyed by "category.attribute" (preferred) or "attribute" (shared).  List
# names: "+" positive, "-" negative; prefixes "hi"/"lo" restrict a template to
# products whose value sits in the upper/lower part of the taxonomy's ordered
# value list (so a big battery is never called weak).  "en:" = English.
# Placeholders: {v} value, {a} attribute name, {n} product noun.
# ---------------------------------------------------------------------------

T = {
    # ---- phones / tablets / laptops
    "smartphone.screen size": {
        "hi+": ["{v}大屏看视频、刷剧特别爽。", "屏幕有{v}，看电子书和地图都很舒服。"],
        "lo+": ["{v}的小屏很趁手，单手就能操作。", "{v}刚好一手握，揣兜里不占地方。"],
        "hi-": ["{v}的大屏单手操作有点吃力，手小的要考虑一下。"],
        "lo-": ["{v}的屏幕看视频还是小了点。"],
        "en:hi+": ["The {v} screen is great for videos and reading.", "Love the big {v} display for streaming."],
        "en:lo+": ["At {v} it is easy to use one-handed."],
        "en:hi-": ["At {v} it is a bit too big for one-handed use."],
    },
    "screen panel": {
        "hi+": ["{v}显示效果很细腻，色彩通透，户外也看得清。", "{v}的屏幕素质很好，黑色很纯。"],
        "lo+": ["{v}显示中规中矩，日常用够了。"],
        "lo-": ["{v}的屏幕在阳光下有点看不清，色彩也偏淡。"],
        "en:hi+": ["The {v} panel looks fantastic, deep blacks and vivid colours.", "Gorgeous {v} display, readable even outdoors."],
        "en:lo+": ["The {v} screen is fine for everyday use."],
        "en:lo-": ["The {v} screen washes out in direct sunlight."],
    },
    "camera": {
        "hi+": ["{v}拍照太强了，远处的招牌都能拍清楚，夜景也干净。", "拍照是亮点，{v}拍娃拍风景都很出片。", "{v}，旅游回来朋友都问我用什么拍的。"],
        "lo+": ["{v}白天拍照还可以，发朋友圈够用。"],
        "lo-": ["{v}夜拍噪点比较多，暗光下不太行。", "拍照一般，{v}在室内光线差的时候有点糊。"],
        "en:hi+": ["The {v} is superb, zoom shots are sharp and night photos are clean.", "Camera is the highlight: {v}, photos look great."],
        "en:lo+": ["The {v} does fine in daylight."],
        "en:lo-": ["Low-light photos from the {v} are noisy."],
    },
    "operating system": {
        "+": ["{v}系统用着很流畅，没什么广告。", "习惯了{v}，上手零成本，数据迁移也方便。"],
        "-": ["从别的系统换到{v}，还在适应中，有些操作不习惯。"],
        "en:+": ["{v} runs smoothly, no lag so far."],
        "en:-": ["Switching to {v} took some getting used to."],
    },
    "smartphone.battery": {
        "hi+": ["{v}大电池真顶，正常用一天半到两天一充。", "续航很给力，{v}刷一天视频晚上还剩不少电。", "电池{v}，出差一整天不用带充电宝。"],
        "lo+": ["电池{v}，轻度使用一天一充没问题。"],
        "lo-": ["电池只有{v}，玩游戏掉电很快，下午就得充电。", "续航一般，{v}的电池重度使用撑不到晚上。"],
        "en:hi+": ["The {v} battery easily lasts two days of normal use.", "Battery life is excellent, {v} gets me through heavy days."],
        "en:lo+": ["{v} battery gets me through a day of light use."],
        "en:lo-": ["With only {v}, I need to top up by late afternoon."],
    },
    "laptop.screen size": {
        "hi+": ["{v}的屏幕做表格、剪视频都很宽敞。"],
        "lo+": ["{v}机身小巧，塞进通勤包很方便。"],
        "hi-": ["{v}的机身有点大，普通电脑包装不下。"],
        "en:hi+": ["The {v} screen gives plenty of room for spreadsheets."],
        "en:lo+": ["The {v} size fits in any bag."],
    },
    "processor": {
        "hi+": ["{v}性能很强，剪4K视频、开一堆网页都不卡。", "{v}跑代码编译速度明显比旧电脑快。"],
        "lo+": ["{v}日常办公、上网课完全够用。"],
        "lo-": ["{v}跑大型软件有点吃力，风扇会转得比较响。"],
        "en:hi+": ["The {v} is fast, video exports are quick and nothing stutters."],
        "en:lo+": ["The {v} handles office work and browsing without issues."],
        "en:lo-": ["The {v} struggles with heavier editing work."],
    },
    "memory": {
        "hi+": ["{v}多开软件也不卡，虚拟机都能跑。"],
        "lo+": ["{v}办公够用。"],
        "lo-": ["只有{v}，浏览器开多了会卡，建议买大内存版本。"],
        "en:hi+": ["{v} means I can keep dozens of tabs and apps open."],
        "en:lo-": ["{v} feels tight with many tabs open."],
    },
    "storage": {
        "hi+": ["{v}存储空间很充裕，照片视频随便存。"],
        "lo+": ["{v}够装常用软件。"],
        "lo-": ["{v}的空间不太够用，没多久就满了。"],
        "en:hi+": ["{v} of storage is plenty for photos and videos."],
        "en:lo-": ["{v} fills up quickly."],
    },
    "weight": {
        "lo+": ["只有{v}，拿着很轻，带出门没负担。", "{v}的重量很友好，单手就能拎。"],
        "hi-": ["{v}还是有点沉，长时间拿着手酸。"],
        "hi+": ["{v}分量扎实，用料很足。"],
        "en:lo+": ["At {v} it is really light to carry around."],
        "en:hi-": ["{v} is on the heavy side."],
    },
    "laptop.weight": {
        "lo+": ["{v}的重量背一天也不累，出差首选。"],
        "hi-": ["{v}有点重，天天背着通勤肩膀酸。"],
        "en:lo+": ["At {v} I barely notice it in my backpack."],
        "en:hi-": ["{v} is heavy for daily commuting."],
    },
    "stylus": {
        "hi+": ["{v}，记笔记、画画很方便，不用另外花钱。"],
        "+": ["{v}，上网课记笔记挺实用。"],
        "lo-": ["{v}，想手写记笔记的要注意。"],
        "en:hi+": ["{v}, great for note-taking out of the box."],
    },
    "tablet.battery": {
        "hi+": ["续航很能打，官方{v}，实际追剧一整天没问题。"],
        "lo+": ["续航{v}左右，一天上网课够用。"],
        "lo-": ["{v}的续航偏短，打游戏掉电快。"],
        "en:hi+": ["Battery is rated for {v} and it really lasts all day."],
        "en:lo-": ["Battery ({v}) drains quickly when gaming."],
    },
    # ---- audio / wearables
    "headphones.type": {
        "+": ["{v}佩戴很稳，戴久了耳朵也不疼。", "选了{v}，跑步通勤都合适。"],
        "-": ["{v}戴久了耳朵有点不舒服。"],
        "en:+": ["The {v} design is comfortable for hours."],
        "en:-": ["The {v} fit gets a little warm after a couple of hours."],
    },
    "noise cancelling": {
        "hi+": ["降噪效果惊艳，{v}一开地铁里瞬间安静。", "{v}坐飞机太好用了，发动机的轰鸣基本听不见。"],
        "lo+": ["没有主动降噪，但被动隔音还行，价格实惠。"],
        "lo-": ["{v}，在地铁上还是挺吵的。"],
        "en:hi+": ["The {v} is amazing on flights, engine noise just disappears.", "Noise cancelling ({v}) makes my commute so much calmer."],
        "en:lo-": ["{v}, so it is noisy on the subway."],
    },
    "headphones.battery": {
        "hi+": ["续航{v}，一周充一次电就够了。"],
        "lo+": ["续航{v}，日常通勤够用，充电盒补电也快。"],
        "en:hi+": ["{v} of battery, I charge it once a week."],
        "en:lo+": ["{v} of battery is enough for daily commutes."],
    },
    "connectivity": {
        "hi+": ["{v}连接很稳，基本不断连。", "{v}，音质和连接稳定性都不错。"],
        "lo+": ["{v}连接稳定，配对很快。"],
        "en:+": ["{v} connection is stable, pairing is quick."],
    },
    "water resistance": {
        "hi+": ["{v}，出汗、下小雨都不用担心。", "带去海边玩也放心，{v}。"],
        "lo-": ["{v}，游泳的时候不敢带着。"],
        "en:hi+": ["{v} rating, sweat and rain are no problem."],
        "en:lo-": ["{v}, so I would not take it swimming."],
    },
    "smartwatch.battery": {
        "hi+": ["续航{v}真的省心，出去旅游都不用带充电器。", "标称{v}，开着心率监测实际也差不多。"],
        "lo+": ["续航{v}，每天睡前充一下，习惯了就好。"],
        "lo-": ["续航只有{v}，想监测睡眠就得白天找时间充电。"],
        "en:hi+": ["Battery lasts about {v}, I forget where the charger is.", "{v} of battery life even with heart-rate tracking on."],
        "en:lo-": ["Battery is only {v}, so sleep tracking means charging during the day."],
    },
    "health sensors": {
        "hi+": ["{v}功能很全，给爸妈买的，他们很喜欢。", "支持{v}，睡眠和心率数据挺准的。"],
        "lo+": ["{v}基础监测够用。"],
        "en:hi+": ["Sensors cover {v}, readings match my doctor's device closely."],
        "en:lo+": ["{v} tracking is all I need."],
    },
    "gps": {
        "hi+": ["{v}定位很准，跑步轨迹没有飘。", "户外徒步用{v}，山里信号也稳。"],
        "lo-": ["{v}，跑步必须带手机，有点不方便。"],
        "en:hi+": ["{v} tracks my runs accurately, even between tall buildings."],
        "en:lo-": ["{v} means I still have to carry my phone on runs."],
    },
    "case size": {
        "+": ["{v}表盘大小合适，戴着不突兀。"],
        "hi-": ["{v}表盘对女生手腕来说有点大。"],
        "en:+": ["The {v} case size suits my wrist well."],
    },
    # ---- camera / speaker
    "camera.type": {
        "+": ["{v}，出门带着不累赘，随手就能拍。", "入手{v}，拍视频和旅行记录都很方便。"],
        "en:+": ["As a {v} it is easy to take anywhere."],
    },
    "sensor resolution": {
        "hi+": ["{v}，裁切空间很大，风光照细节满满。"],
        "lo+": ["{v}对发朋友圈和冲印都够了，文件也不大。"],
        "en:hi+": ["{v} gives lots of room to crop landscapes."],
        "en:lo+": ["{v} is plenty for social media and prints."],
    },
    "video": {
        "hi+": ["{v}视频画质很清晰，做vlog够用了。"],
        "lo-": ["只有{v}，想拍更高规格视频的要考虑一下。"],
        "en:hi+": ["{v} video looks crisp, great for vlogging."],
    },
    "stabilization": {
        "hi+": ["{v}很稳，手持拍视频也不晃。"],
        "+": ["{v}效果不错，走路拍也还算稳。"],
        "en:+": ["{v} keeps handheld footage steady."],
    },
    "output power": {
        "hi+": ["{v}功率，开派对音量完全够，低音很足。", "{v}的声音很大，户外露营也撑得住场面。"],
        "lo+": ["{v}放在书桌上听歌刚好，小巧不占地方。"],
        "lo-": ["{v}在户外有点不够响。"],
        "en:hi+": ["{v} is loud enough for a backyard party, bass is punchy."],
        "en:lo+": ["{v} is just right for a desk or bedroom."],
        "en:lo-": ["{v} is not loud enough outdoors."],
    },
    "bluetooth_speaker.battery": {
        "hi+": ["续航{v}，周末露营两天都没充电。"],
        "lo+": ["续航{v}，在家用够了。"],
        "en:hi+": ["{v} of battery lasted a whole camping weekend."],
    },
    # ---- appliances
    "capacity": {
        "hi+": ["{v}容量很大，一家人用绰绰有余。"],
        "lo+": ["{v}的容量对小家庭刚刚好，不占地方。"],
        "lo-": ["{v}容量偏小，东西多了放不下。"],
        "en:hi+": ["{v} capacity is plenty for a family."],
        "en:lo+": ["{v} is right for a small household."],
        "en:lo-": ["{v} feels a little small."],
    },
    "refrigerator.capacity": {
        "hi+": ["{v}大容量，过年囤货都放得下。", "{v}的冰箱，一周的菜一次买齐也装得下。"],
        "lo+": ["{v}对两口之家够用，租房也合适。"],
        "lo-": ["{v}有点小，周末囤点菜就塞满了。"],
        "en:hi+": ["{v} is huge, holiday shopping fits easily."],
        "en:lo-": ["{v} fills up quickly after a big grocery run."],
    },
    "door type": {
        "+": ["{v}设计分区清晰，拿东西方便。"],
        "en:+": ["The {v} layout makes it easy to organise food."],
    },
    "cooling": {
        "hi+": ["{v}，不用除霜，保鲜效果也好，蔬菜放一周还很新鲜。"],
        "lo-": ["{v}冷冻室需要定期手动除霜，有点麻烦。"],
        "en:hi+": ["{v}, no defrosting needed and vegetables stay fresh."],
        "en:lo-": ["With {v} I have to defrost the freezer manually."],
    },
    "energy rating": {
        "hi+": ["{v}很省电，电费明显比旧的少了。", "{v}，一个月下来电表走得很慢。"],
        "lo+": ["能效{v}，不过价格便宜，总体划算。"],
        "lo-": ["{v}，耗电量比预期高一些。"],
        "en:hi+": ["{v} efficiency, my electricity bill went down noticeably."],
        "en:lo-": ["Only {v} efficiency, it uses more power than I hoped."],
    },
    "washing_machine.type": {
        "+": ["{v}洗得很干净，衣服不容易缠绕。"],
        "en:+": ["The {v} design cleans well without tangling clothes."],
    },
    "washing_machine.capacity": {
        "hi+": ["{v}能直接洗被套和冬天的厚外套。"],
        "lo+": ["{v}对两三口人够用了。"],
        "en:hi+": ["{v} drum handles duvet covers easily."],
    },
    "motor": {
        "hi+": ["{v}运行很安静，脱水时也不晃。"],
        "lo+": ["{v}，用着没什么问题。"],
        "lo-": ["{v}脱水时声音有点大。"],
        "en:hi+": ["The {v} is very quiet, even on spin."],
        "en:lo-": ["The {v} gets loud during the spin cycle."],
    },
    "drying": {
        "hi+": ["{v}烘出来的衣服蓬松不伤料，梅雨天救星。"],
        "lo-": ["{v}，阴雨天还是要靠晾。"],
        "en:hi+": ["{v} leaves clothes soft, a lifesaver in rainy season."],
    },
    "air_conditioner.type": {
        "+": ["{v}空调出风很均匀，外观也简洁。"],
        "en:+": ["The {v} unit looks neat and the airflow is even."],
    },
    "cooling capacity": {
        "+": ["{v}制冷很快，十分钟房间就凉下来了。", "{v}的空调用在卧室刚好，制热也给力。"],
        "en:+": ["{v} cools the room down within ten minutes."],
    },
    "noise level": {
        "hi+": ["{v}很安静，晚上开着睡觉完全不影响。", "噪音控制得好，{v}基本听不到声音。"],
        "lo-": ["噪音有{v}，晚上开着有点吵。"],
        "lo+": ["噪音{v}，白天用感觉不明显。"],
        "en:hi+": ["At {v} it is whisper quiet, I leave it on overnight."],
        "en:lo-": ["{v} is noticeable at night."],
    },
    "inverter": {
        "hi+": ["{v}温度很稳定，不会忽冷忽热。"],
        "lo-": ["{v}启停的时候温度波动有点明显。"],
        "en:hi+": ["The {v} compressor keeps the temperature steady."],
    },
    "vacuum_cleaner.type": {
        "+": ["{v}用起来很方便，打扫一次比以前快多了。", "买了{v}之后，家里的地板一直很干净。"],
        "en:+": ["The {v} makes cleaning so much faster."],
    },
    "suction": {
        "hi+": ["吸力很强，{v}，地毯里的猫毛都吸得干干净净。", "{v}大吸力，沙发缝里的饼干渣一下就吸走了。"],
        "lo+": ["{v}吸力对付硬地板的灰尘足够了。"],
        "lo-": ["{v}吸地毯有点吃力，宠物毛要多吸几遍。"],
        "en:hi+": ["Suction ({v}) pulls pet hair out of carpets easily."],
        "en:lo-": ["{v} struggles a bit on thick carpets."],
    },
    "vacuum_cleaner.battery": {
        "hi+": ["续航{v}，整个家一次打扫完不用中途充电。"],
        "val:corded+": ["有线款不用担心续航，想吸多久吸多久。"],
        "val:corded-": ["有线款拖着电线换房间有点麻烦。"],
        "val:40 minutes+": ["续航{v}，打扫两居室刚好。"],
        "val:40 minutes-": ["续航{v}，大房子要分两次打扫。"],
        "en:hi+": ["{v} of runtime covers the whole apartment."],
        "en:val:corded+": ["Corded, so runtime is never an issue."],
        "en:val:40 minutes-": ["{v} of runtime is not enough for a big house."],
    },
    "filtration": {
        "hi+": ["{v}，吸尘时闻不到灰尘味，过敏体质友好。"],
        "lo+": ["{v}，滤网清洗起来方便。"],
        "en:hi+": ["{v}, great for my allergies, no dusty smell."],
    },
    "cadr": {
        "hi+": ["CADR有{v}，开一会儿PM2.5就降到个位数了。"],
        "lo+": ["{v}的CADR用在小卧室够了。"],
        "lo-": ["CADR只有{v}，放在客厅净化得有点慢。"],
        "en:hi+": ["With {v} CADR the PM2.5 reading drops within minutes."],
        "en:lo-": ["{v} CADR is slow for a large living room."],
    },
    "room size": {
        "+": ["适用面积{v}，和我家房间大小匹配。"],
        "en:+": ["Rated for {v}, which matches my room."],
    },
    "filter": {
        "hi+": ["{v}滤网，新房装修后用它除味效果明显。"],
        "+": ["{v}滤网，更换也方便。"],
        "en:hi+": ["The {v} filter noticeably reduced the new-furniture smell."],
        "en:+": ["{v} filter is easy to replace."],
    },
    "smart control": {
        "hi+": ["{v}，在手机上就能看到空气质量，很直观。"],
        "lo+": ["{v}，操作简单，老人也会用。"],
        "en:hi+": ["{v} lets me check air quality from my phone."],
    },
    "heating": {
        "hi+": ["{v}煮出来的米饭软糯香甜，米粒很饱满。", "{v}确实不一样，饭的口感比以前好太多。"],
        "lo+": ["{v}煮饭没问题，日常够用。"],
        "lo-": ["{v}，煮出来的饭偶尔有点夹生。"],
        "en:hi+": ["{v} makes noticeably fluffier rice."],
        "en:lo+": ["{v} cooks rice just fine for daily meals."],
    },
    "inner pot": {
        "hi+": ["{v}很厚实，不粘锅也好清洗。"],
        "+": ["{v}好清洗，不粘。"],
        "en:+": ["The {v} pot cleans up easily."],
    },
    "functions": {
        "hi+": ["{v}很实用，煮粥煲汤都有专门模式。"],
        "+": ["{v}简单好上手。"],
        "en:+": ["{v}, simple to use."],
    },
    "coffee_machine.type": {
        "+": ["{v}咖啡机，每天早上做一杯很方便。"],
        "en:+": ["The {v} machine makes my morning coffee quick."],
    },
    "milk frothing": {
        "hi+": ["{v}打出来的奶泡很绵密，在家就能做拿铁。"],
        "lo-": ["{v}，想喝奶咖需要另买打奶器。"],
        "lo+": ["{v}，我主要喝美式，刚好。"],
        "en:hi+": ["The {v} makes silky foam, lattes at home are easy."],
        "en:lo-": ["{v}, so milk drinks need a separate frother."],
    },
    "grinder": {
        "hi+": ["{v}现磨现萃，咖啡香气很足。"],
        "lo+": ["{v}，用现成咖啡粉或胶囊，省事。"],
        "en:hi+": ["The {v} means fresh grounds every time, great aroma."],
    },
    "water tank": {
        "hi+": ["水箱{v}，一家人喝也不用频繁加水。"],
        "lo-": ["水箱只有{v}，做几杯就要加水。"],
        "en:hi+": ["The {v} water tank lasts days."],
    },
    "hair_dryer.motor": {
        "hi+": ["{v}风力很大，长头发五分钟就吹干了。", "{v}，吹头发的时间缩短了一半。"],
        "lo+": ["{v}，短发用完全够。"],
        "lo-": ["{v}的风力一般，头发多的要吹很久。"],
        "en:hi+": ["The {v} dries my long hair in about five minutes."],
        "en:lo-": ["The {v} is slow for thick hair."],
    },
    "ions": {
        "hi+": ["{v}吹完头发很顺，不毛躁。"],
        "lo-": ["{v}，吹完有点毛躁。"],
        "en:hi+": ["With {v} my hair is smooth, no frizz."],
    },
    "heat control": {
        "hi+": ["{v}，温度不会太烫，头皮很舒服。"],
        "+": ["{v}，冬天夏天都能调。"],
        "en:+": ["{v} is handy across seasons."],
    },
    # ---- beauty
    "skin type": {
        "+": ["标注适合{v}，我用着很合适，没有闷痘。", "适合{v}，这一点很准确。"],
        "en:+": ["Suits {v} as claimed, no breakouts for me."],
    },
    "shampoo.key ingredients": {
        "+": ["含{v}，用了两周头皮清爽多了。", "冲着{v}买的，洗完头发状态不错。"],
        "-": ["含{v}，但我用了一瓶变化不大。"],
        "en:+": ["The {v} formula leaves my scalp feeling clean."],
    },
    "hiking_backpack.fabric": {
        "hi+": ["{v}面料很耐磨，钻树林也没刮破。"],
        "lo+": ["{v}面料轻便，日常徒步够用。"],
        "en:hi+": ["The {v} fabric is tough, no scuffs after bushwhacking."],
    },
    "hair_dryer.weight": {
        "hi+": ["只有{v}，举着吹头发手不酸。"],
        "lo-": ["{v}拿久了手腕有点累。"],
        "en:hi+": ["At {v} my arm does not get tired."],
        "en:lo-": ["At {v} it gets tiring to hold."],
    },
    "key ingredients": {
        "+": ["含{v}，用了两周皮肤稳定多了。", "冲着{v}成分买的，保湿效果挺明显。"],
        "-": ["含{v}，但我用了没看到太大变化。"],
        "en:+": ["The {v} really works, my skin feels calmer."],
        "en:-": ["Contains {v}, but I did not notice much difference."],
    },
    "texture": {
        "+": ["{v}质地，好推开，吸收快。", "{v}的质地很舒服，不黏腻。"],
        "-": ["{v}质地对我来说稍微有点厚重。"],
        "en:+": ["The {v} texture absorbs quickly, not sticky."],
    },
    "moisturizer.texture": {
        "hi+": ["{v}很滋润，秋冬用刚好，第二天起来脸还是软的。"],
        "lo+": ["{v}很清爽，夏天用不油腻。"],
        "hi-": ["{v}夏天用有点闷。"],
        "lo-": ["{v}对干皮来说冬天不太够。"],
        "en:hi+": ["The {v} keeps my skin soft through winter."],
        "en:lo+": ["The light {v} is perfect for summer."],
    },
    "volume": {
        "hi+": ["{v}大容量，能用好久。"],
        "lo+": ["{v}的小包装，出差带着方便。"],
        "lo-": ["{v}有点少，用得快。"],
        "en:hi+": ["The {v} bottle lasts ages."],
        "en:lo-": ["{v} runs out quickly."],
    },
    "fragrance": {
        "val:fragrance-free+": ["{v}，敏感肌也放心。"],
        "val:lightly scented+": ["淡淡的香味，闻着很舒服。"],
        "en:val:fragrance-free+": ["{v}, no irritation at all."],
        "en:val:lightly scented+": ["Lightly scented, very pleasant."],
    },
    "shade": {
        "+": ["{v}显白，黄皮也能驾驭。", "{v}很日常，上班涂也不夸张。"],
        "-": ["{v}上嘴和试色图有点色差。"],
        "en:+": ["The {v} shade is so flattering.", "{v} is perfect for everyday wear."],
        "en:-": ["The {v} shade looks different from the swatch."],
    },
    "finish": {
        "+": ["{v}妆效很高级，质感好。"],
        "en:+": ["The {v} finish looks expensive."],
    },
    "long wear": {
        "hi+": ["持妆{v}，吃饭后还有颜色。"],
        "lo-": ["持妆只有{v}左右，喝水就掉，需要补涂。"],
        "lo+": ["持妆{v}，补涂一下就好，不拔干。"],
        "en:hi+": ["Lasts about {v}, survives lunch."],
        "en:lo-": ["Only lasts around {v}, needs reapplying."],
    },
    "moisture": {
        "hi+": ["{v}不拔干，冬天嘴唇不起皮。"],
        "lo-": ["{v}，需要先打一层润唇膏。"],
        "en:hi+": ["{v} formula, no dry lips."],
        "en:lo-": ["{v}, I need a balm underneath."],
    },
    "spf": {
        "hi+": ["{v}，海边玩了一天也没晒黑。", "防晒力很强，{v}，户外跑步也放心。"],
        "lo+": ["{v}日常通勤够用。"],
        "en:hi+": ["{v}, spent a day at the beach and did not burn."],
        "en:lo+": ["{v} is enough for the daily commute."],
    },
    "pa": {
        "+": ["{v}防晒黑效果不错。"],
        "en:+": ["{v} protection against tanning works well."],
    },
    "filter type": {
        "+": ["{v}防晒，用着不刺激。"],
        "val:physical (mineral)-": ["{v}防晒，涂完有一点点泛白。"],
        "en:val:physical (mineral)-": ["The mineral filters leave a slight white cast."],
        "en:+": ["The {v} formula does not irritate my skin."],
    },
    "sunscreen.water resistance": {
        "hi+": ["{v}，游泳出汗都不太掉。"],
        "lo-": ["{v}，出汗后需要补涂。"],
        "en:hi+": ["{v}, stays put while swimming."],
    },
    "hair concern": {
        "+": ["针对{v}的效果挺明显，用了一周感觉好多了。"],
        "-": ["说是针对{v}，但我用了一瓶变化不大。"],
        "en:+": ["Works well for {v}."],
        "en:-": ["Supposedly for {v}, but not much change for me."],
    },
    "silicone": {
        "val:silicone-free+": ["{v}，洗完头发蓬松不塌。"],
        "val:with silicone+": ["{v}，洗完很顺滑，不打结。"],
        "en:val:silicone-free+": ["{v}, hair feels light and clean."],
        "en:val:with silicone+": ["Contains silicone, so hair feels very smooth."],
    },
    "scent": {
        "+": ["{v}味道很好闻，不刺鼻。"],
        "val:unscented+": ["无香型，对味道敏感的人很友好。"],
        "en:+": ["The {v} scent is nice and not overpowering."],
        "en:val:unscented+": ["Unscented, great if you dislike perfume."],
    },
    "cleansing base": {
        "+": ["{v}洁面，洗完干净不紧绷。", "{v}体系很温和，泡沫也绵密。"],
        "-": ["{v}，洗完脸有点紧绷。"],
        "en:+": ["The {v} cleanser leaves skin clean but not tight."],
        "en:-": ["The {v} formula leaves my skin a little tight."],
    },
    "ph": {
        "hi+": ["{v}，对敏感肌很友好。"],
        "lo+": ["{v}，清洁力强，油皮夏天用着爽。"],
        "lo-": ["{v}，干皮冬天用有点干。"],
        "en:hi+": ["{v}, gentle on sensitive skin."],
    },
    # ---- apparel & shoes
    "running_shoes.support": {
        "+": ["{v}类型很适合我，跑完膝盖没有不适。"],
        "en:+": ["The {v} support suits my feet, no knee pain after runs."],
    },
    "cushioning": {
        "hi+": ["{v}脚感很软，跑长距离也不累。", "{v}，落地很舒服，膝盖压力小。"],
        "lo+": ["{v}，脚感偏硬偏快，跑间歇很合适。"],
        "lo-": ["{v}，跑长距离脚底会有点累。"],
        "en:hi+": ["{v} feels plush, great for long runs."],
        "en:lo+": ["{v}, feels fast and responsive for intervals."],
    },
    "terrain": {
        "+": ["{v}跑鞋，抓地很好。"],
        "en:+": ["Great grip for {v} running."],
    },
    "running_shoes.weight": {
        "hi+": ["单只只有{v}，穿上很轻快。"],
        "lo+": ["{v}分量稍重，但很稳。"],
        "en:hi+": ["Just {v} per shoe, feels light and fast."],
    },
    "fill power": {
        "hi+": ["{v}的蓬松度，穿上很暖又轻。", "{v}，零下十度穿着也不冷。"],
        "lo+": ["{v}，南方冬天穿够了。"],
        "lo-": ["{v}，北方零下的天气有点扛不住。"],
        "en:hi+": ["{v} down, warm yet light."],
        "en:lo-": ["{v} is not warm enough for serious cold."],
    },
    "down type": {
        "+": ["{v}填充，不跑绒，很蓬松。"],
        "en:+": ["{v} fill, no feathers poking out."],
    },
    "fill weight": {
        "hi+": ["充绒量{v}，很厚实，东北过冬没问题。"],
        "lo+": ["充绒量{v}，轻薄好收纳，秋冬叠穿方便。"],
        "en:hi+": ["{v} of fill, very warm."],
        "en:lo+": ["{v} of fill, packable and great for layering."],
    },
    "length": {
        "+": ["{v}的长度很显比例，日常很好搭。"],
        "en:+": ["The {v} length is flattering and easy to style."],
    },
    "shell fabric": {
        "hi+": ["{v}面料挡风效果好，下雪天也不怕。"],
        "+": ["{v}面料手感不错。"],
        "en:hi+": ["The {v} keeps wind and snow out."],
    },
    "fit": {
        "+": ["{v}版型很好看，上身效果好。", "{v}的剪裁很合身，按平时尺码买就行。"],
        "-": ["{v}版型对我来说不太合适，建议试穿。"],
        "en:+": ["The {v} fit is spot on, true to size."],
        "en:-": ["The {v} cut did not suit my body shape."],
    },
    "rise": {
        "+": ["{v}设计，坐下也不勒。"],
        "en:+": ["The {v} is comfortable when sitting."],
    },
    "fabric": {
        "hi+": ["{v}面料手感很好，质感高级。"],
        "+": ["{v}面料穿着舒服。"],
        "lo-": ["{v}面料洗了几次有点起球。"],
        "en:hi+": ["The {v} fabric feels premium."],
        "en:+": ["{v} fabric is comfortable."],
        "en:lo-": ["The {v} fabric pilled after a few washes."],
    },
    "wash": {
        "+": ["{v}的颜色很正，百搭。"],
        "en:+": ["The {v} wash goes with everything."],
    },
    "silhouette": {
        "+": ["{v}的款式很显瘦，穿上很有气质。"],
        "en:+": ["The {v} silhouette is very flattering."],
    },
    "dress.length": {
        "+": ["{v}的长度正合适，通勤约会都能穿。"],
        "en:+": ["The {v} length works for office and dates."],
    },
    "sleeve": {
        "+": ["{v}设计，这个季节穿刚好。"],
        "en:+": ["{v}, just right for the season."],
    },
    "neckline": {
        "+": ["{v}不变形，洗了好多次还是很挺。"],
        "en:+": ["The {v} holds its shape after many washes."],
    },
    "fabric weight": {
        "hi+": ["{v}克重很厚实，单穿不透。"],
        "lo+": ["{v}很轻薄，夏天穿凉快。"],
        "lo-": ["{v}有点薄，浅色单穿会透。"],
        "en:hi+": ["At {v} it is thick and not see-through."],
        "en:lo+": ["{v} is light and cool for summer."],
    },
    # ---- baby
    "tog": {
        "+": ["{v}的厚度，按说明配合室温穿，宝宝一晚上都没踢被。"],
        "hi+": ["{v}冬天很保暖，宝宝后背摸着暖暖的不出汗。"],
        "lo+": ["{v}很薄，夏天开空调盖着刚好。"],
        "en:+": ["{v} was right for our nursery temperature, baby slept through."],
        "en:hi+": ["{v} keeps our baby warm on winter nights."],
        "en:lo+": ["{v} is perfect for summer nights with the AC on."],
    },
    "season": {
        "+": ["{v}用的，厚薄合适。"],
        "en:+": ["Good for {v}."],
    },
    "baby_sleeping_bag.style": {
        "+": ["{v}设计，宝宝睡得很安稳。", "{v}款，穿脱方便。"],
        "en:+": ["The {v} design makes night-time nappy changes easy."],
    },
    "baby_sleeping_bag.fabric": {
        "hi+": ["{v}面料很柔软，宝宝皮肤没有红疹。"],
        "+": ["{v}面料洗了几次没变形。"],
        "en:+": ["The {v} fabric is soft on baby's skin."],
    },
    "stroller.type": {
        "+": ["{v}推车，推起来很轻松。"],
        "en:+": ["The {v} stroller is easy to push."],
    },
    "stroller.weight": {
        "lo+": ["车重只有{v}，我一个人也能拎上楼。"],
        "hi-": ["车重{v}，没电梯的话搬上楼很累。"],
        "hi+": ["{v}的车身很稳，推起来不晃。"],
        "en:lo+": ["At {v} I can carry it upstairs alone."],
        "en:hi-": ["At {v} it is heavy to carry up stairs."],
    },
    "fold": {
        "hi+": ["{v}，收车很快，放后备箱很省地方。"],
        "lo-": ["{v}，抱着娃的时候收车不太方便。"],
        "en:hi+": ["{v}, fits easily in the car boot."],
        "en:lo-": ["{v} is awkward while holding a baby."],
    },
    "stroller.recline": {
        "hi+": ["{v}，宝宝路上睡着了可以直接放平。"],
        "lo-": ["{v}，宝宝睡着后头会歪。"],
        "en:hi+": ["{v}, baby naps comfortably on walks."],
    },
    "suspension": {
        "hi+": ["{v}，走石子路宝宝也不颠。"],
        "lo-": ["{v}，路面不平的时候有点颠。"],
        "en:hi+": ["{v} smooths out bumpy pavements."],
    },
    "diaper size": {
        "+": ["{v}尺码正合适，不勒腿。"],
        "en:+": ["Size {v} fits well, no red marks."],
    },
    "diapers.type": {
        "+": ["{v}穿脱方便，宝宝爬来爬去也不漏。"],
        "en:+": ["{v} are easy to put on a wriggly baby."],
    },
    "absorbency": {
        "hi+": ["{v}，一整夜不用换也不侧漏，宝宝睡得踏实。"],
        "lo+": ["{v}，白天两三个小时换一次，没漏过。"],
        "en:hi+": ["{v}, no leaks overnight."],
    },
    "thickness": {
        "hi+": ["{v}，夏天用屁屁也不红。"],
        "+": ["厚度{v}，吸收挺好。"],
        "en:+": ["{v} and breathable, no rash."],
    },
    "yoga_mat.thickness": {
        "hi+": ["{v}厚，跪姿动作膝盖不疼。"],
        "lo+": ["{v}的厚度站姿很稳，平衡体式不晃。"],
        "lo-": ["{v}有点薄，跪着的时候膝盖有点硌。"],
        "en:hi+": ["At {v} my knees are comfortable on the floor."],
        "en:lo+": ["{v} keeps standing poses stable."],
    },
    "pack count": {
        "+": ["一包{v}，囤货很划算。"],
        "en:+": ["{v} per pack is good value."],
    },
    "stage": {
        "+": ["宝宝现在喝{v}，很爱喝。", "{v}，宝宝喝了不上火，便便正常。"],
        "en:+": ["Our baby is on {v} and drinks it happily."],
    },
    "milk source": {
        "+": ["{v}奶源，宝宝喝了消化好。"],
        "en:+": ["{v} formula, our baby digests it well."],
    },
    "key nutrients": {
        "+": ["配方里有{v}，买着放心。"],
        "en:+": ["Contains {v}, which was on our paediatrician's list."],
    },
    "can size": {
        "+": ["{v}装，刚好喝一段时间。"],
        "en:+": ["The {v} can lasts us about a week and a half."],
    },
    "origin": {
        "+": ["产地{v}，生产日期很新鲜。"],
        "en:+": ["Made in {v}, fresh production date."],
    },
    "age group": {
        "+": ["适用{v}，能用很多年，很值。"],
        "en:+": ["Covers {v}, good long-term value."],
    },
    "installation": {
        "hi+": ["{v}安装很牢固，有指示器提示装没装好。", "{v}，装好之后一点都不晃。"],
        "lo+": ["{v}安装，老车没有ISOFIX接口也能用。"],
        "en:hi+": ["{v} installation is rock solid, with indicators."],
        "en:lo+": ["{v} install works in our older car."],
    },
    "rotation": {
        "hi+": ["{v}太方便了，抱娃上下车不用弯腰。"],
        "en:hi+": ["The {v} makes getting baby in and out so easy."],
    },
    "safety standard": {
        "+": ["有{v}认证，买着安心。"],
        "en:+": ["{v} certified, gives peace of mind."],
    },
    "side impact protection": {
        "hi+": ["{v}，侧翼包裹性很好。"],
        "+": ["{v}，宝宝坐着很稳。"],
        "en:+": ["{v} wraps well around our toddler."],
    },
    # ---- sports & outdoor
    "tent.capacity": {
        "+": ["{v}帐篷空间刚好，装备也能放进去。"],
        "en:+": ["The {v} space fits us plus gear."],
    },
    "tent.season": {
        "hi+": ["{v}帐，山上大风夜也很稳。"],
        "lo+": ["{v}帐，通风好，夏天不闷。"],
        "en:hi+": ["{v} tent stayed solid through a windy night."],
        "en:lo+": ["{v} tent, great ventilation on hot nights."],
    },
    "tent.weight": {
        "lo+": ["只有{v}，徒步背着没压力。"],
        "hi-": ["{v}有点重，只适合开车露营。"],
        "hi+": ["{v}，用料扎实，开车露营很合适。"],
        "en:lo+": ["Only {v}, easy to carry on treks."],
        "en:hi-": ["{v} is heavy, car camping only."],
    },
    "setup": {
        "+": ["{v}，一个人十分钟就搭好了。"],
        "en:+": ["{v} setup, pitched alone in ten minutes."],
    },
    "waterproof rating": {
        "hi+": ["防水{v}，下了一夜大雨帐篷里一点没湿。"],
        "lo+": ["防水{v}，小雨没问题。"],
        "lo-": ["防水只有{v}，大雨时接缝处有点渗。"],
        "en:hi+": ["{v} waterproofing, bone dry after a night of heavy rain."],
        "en:lo-": ["Only {v}, seams leaked a bit in heavy rain."],
    },
    "hiking_backpack.capacity": {
        "hi+": ["{v}容量，三天两夜的装备都装得下。"],
        "lo+": ["{v}的包做一日徒步刚好。"],
        "en:hi+": ["{v} fits gear for a three-day trip."],
        "en:lo+": ["{v} is ideal for day hikes."],
    },
    "back system": {
        "hi+": ["{v}很舒服，负重走一天肩膀不疼。"],
        "+": ["{v}背着不闷汗。"],
        "en:hi+": ["The {v} spreads the load well, no sore shoulders."],
    },
    "rain cover": {
        "hi+": ["{v}，下雨天很实用。"],
        "lo-": ["防雨罩{v}，还得另买。"],
        "en:hi+": ["Rain cover {v}, handy in showers."],
    },
    "material": {
        "hi+": ["{v}材质，防滑效果好，出汗也不打滑。"],
        "+": ["{v}材质，没什么异味。"],
        "lo-": ["{v}材质刚拆开有点味道，晾了两天才散。"],
        "en:hi+": ["{v} material grips even when sweaty."],
        "en:lo-": ["The {v} smelled a bit at first."],
    },
    "grip": {
        "hi+": ["{v}，热瑜伽也不打滑。"],
        "lo-": ["{v}，出汗多了会有点滑。"],
        "en:hi+": ["{v}, no slipping even in hot yoga."],
    },
    "dimensions": {
        "+": ["尺寸{v}，个子高也够用。"],
        "en:+": ["At {v} there is enough room for me."],
    },
    "bicycle.type": {
        "+": ["{v}骑起来很顺，周末骑行很开心。"],
        "en:+": ["This {v} rides smoothly, great for weekend rides."],
    },
    "frame": {
        "hi+": ["{v}车架很轻，爬坡轻松不少。"],
        "lo+": ["{v}车架很结实，骑着稳。"],
        "en:hi+": ["The {v} frame is light, climbs feel easier."],
        "en:lo+": ["The {v} frame feels sturdy."],
    },
    "gears": {
        "+": ["{v}，骑起来很顺手。"],
        "en:+": ["The {v} drivetrain shifts smoothly."],
    },
    "brakes": {
        "hi+": ["{v}刹车很灵敏，下雨天也刹得住。"],
        "lo+": ["{v}平路骑够用，维护也简单。"],
        "lo-": ["{v}下雨天刹车距离有点长。"],
        "en:hi+": ["{v} stop confidently even in the wet."],
        "en:lo-": ["{v} feel weak in the rain."],
    },
    "wheel size": {
        "+": ["{v}轮径骑起来很稳。"],
        "en:+": ["{v} wheels roll nicely."],
    },
    "treadmill.motor": {
        "hi+": ["{v}电机很有劲，快跑时也不卡顿。"],
        "lo+": ["{v}电机快走慢跑够用，声音不大。"],
        "en:hi+": ["The {v} motor handles fast runs without strain."],
        "en:lo+": ["The {v} motor is fine for walking and jogging."],
    },
    "max speed": {
        "hi+": ["最高{v}，间歇跑完全够。"],
        "lo+": ["最高{v}，在家快走刚好。"],
        "lo-": ["最高只有{v}，想跑步的要注意。"],
        "en:hi+": ["Top speed of {v} is enough for intervals."],
        "en:lo-": ["Top speed is only {v}, not for real running."],
    },
    "running belt": {
        "hi+": ["跑带{v}很宽，跑起来不怕踩边。"],
        "lo-": ["跑带{v}有点窄，跑快了需要注意脚下。"],
        "en:hi+": ["The {v} belt is roomy."],
        "en:lo-": ["The {v} belt feels narrow at speed."],
    },
    "incline": {
        "hi+": ["{v}，爬坡模式燃脂效果很明显。"],
        "lo+": ["{v}，平路跑够用了。"],
        "en:hi+": ["{v}, incline walking is a great workout."],
    },
    "folding": {
        "+": ["{v}，不用的时候收起来不占地方。"],
        "en:+": ["{v}, tucks away when not in use."],
    },
    "treadmill.folding": {
        "+": ["{v}，小户型也放得下。"],
        "en:+": ["{v}, works in a small flat."],
    },
    # ---- home
    "firmness": {
        "+": ["{v}的软硬度，躺上去腰部有支撑，早上起来不腰酸。", "选了{v}，睡了一个月很适应。"],
        "-": ["{v}的软硬度对我来说不太习惯，建议先去线下试躺。"],
        "en:+": ["The {v} feel supports my back, no morning aches."],
        "en:-": ["{v} did not suit me, try one in store first."],
    },
    "mattress.type": {
        "hi+": ["{v}床垫，翻身互不打扰。"],
        "+": ["{v}的床垫，睡着很舒服。"],
        "en:+": ["The {v} mattress sleeps well."],
    },
    "bed size": {
        "+": ["{v}尺寸刚好，和床架严丝合缝。"],
        "en:+": ["The {v} size fits our frame perfectly."],
    },
    "mattress.thickness": {
        "hi+": ["{v}厚，躺着很有包裹感。"],
        "lo+": ["{v}厚，放在儿童床上刚好。"],
        "en:hi+": ["At {v} it feels plush and substantial."],
    },
    "seats": {
        "+": ["{v}，坐着很宽敞。"],
        "en:+": ["The {v} is roomy."],
    },
    "upholstery": {
        "hi+": ["{v}的手感很好，做工精细。"],
        "lo+": ["{v}坐着透气，冬天也不冰。"],
        "lo-": ["{v}容易沾毛，需要经常清理。"],
        "en:hi+": ["The {v} feels luxurious."],
        "en:lo+": ["The {v} is breathable and not cold in winter."],
    },
    "fill": {
        "hi+": ["{v}坐着很软很舒服，回弹也好。"],
        "lo+": ["{v}坐感偏硬，腰部有支撑。"],
        "en:hi+": ["The {v} seat is soft with good rebound."],
    },
    "features": {
        "hi+": ["{v}很实用，周末躺着看电影很舒服。"],
        "lo+": ["{v}，结构简单耐用。"],
        "en:hi+": ["The {v} is great for movie nights."],
    },
    "eye care grade": {
        "hi+": ["{v}，孩子写作业一晚上眼睛不累。"],
        "lo+": ["{v}，看书用够了。"],
        "en:hi+": ["{v} rated, my kid's eyes do not tire during homework."],
    },
    "cri": {
        "hi+": ["显色指数{v}，看书画画颜色很真实。"],
        "lo+": ["显色{v}，日常阅读没问题。"],
        "en:hi+": ["With {v} colours look true to life."],
    },
    "colour temperature": {
        "hi+": ["{v}，白天晚上都能调到舒服的光。"],
        "+": ["{v}，光线柔和。"],
        "en:+": ["{v}, comfortable light day and night."],
    },
    "flicker": {
        "hi+": ["{v}，用手机拍也看不到频闪。"],
        "en:hi+": ["{v}, no visible flicker on camera."],
    },
    "power": {
        "+": ["{v}，用起来很方便。"],
        "en:+": ["{v}, convenient to use."],
    },
    "bedding.fabric": {
        "hi+": ["{v}摸着很顺滑，睡着很舒服。"],
        "+": ["{v}面料亲肤透气，洗了不掉色。"],
        "lo-": ["{v}洗了两次有点起球。"],
        "en:hi+": ["The {v} feels silky and breathable."],
        "en:+": ["{v} is soft and did not fade after washing."],
    },
    "thread count": {
        "hi+": ["{v}，很细腻，越洗越软。"],
        "lo+": ["{v}，厚实耐用。"],
        "en:hi+": ["{v}, fine and soft, gets better with each wash."],
    },
    "weave": {
        "+": ["{v}工艺，看着很有质感。"],
        "en:+": ["The {v} weave looks classy."],
    },
    "lumbar": {
        "hi+": ["{v}贴合腰部，久坐一天腰不酸了。"],
        "lo+": ["{v}，对我来说位置刚好。"],
        "lo-": ["{v}位置不能调，身高不合适会顶腰。"],
        "en:hi+": ["The {v} fixed my lower back pain from long workdays."],
        "en:lo-": ["{v} sits at the wrong height for me."],
    },
    "armrests": {
        "hi+": ["{v}调节很灵活，打字手肘有支撑。"],
        "lo-": ["{v}调节范围有限，桌子矮的话会卡住。"],
        "en:hi+": ["The {v} adjust to exactly the right position."],
    },
    "backrest material": {
        "hi+": ["{v}椅背，夏天坐着不闷汗。"],
        "lo+": ["{v}椅背包裹感好，冬天坐着暖和。"],
        "en:hi+": ["The {v} back stays cool in summer."],
    },
    "headrest": {
        "hi+": ["{v}，午休靠着很舒服。"],
        "en:hi+": ["The {v} is great for a quick nap."],
    },
    "office_chair.recline": {
        "hi+": ["{v}，累了往后一靠很放松。"],
        "lo-": ["{v}，想午休的话不太方便。"],
        "en:hi+": ["{v}, nice for leaning back between meetings."],
    },
}

GEN_ZH = {
    "+": ["物流很快，第二天就到了。", "包装很严实，没有任何磕碰。", "客服回复很及时，问题都解答清楚了。", "做工扎实，细节处理得很好。",
          "已经推荐给同事了。", "第二次回购了，品质稳定。", "和描述一致，没有色差。", "整体很满意，五星好评。", "用了一段时间没出任何问题。"],
    "-": ["物流有点慢，等了五天才到。", "外包装有压痕，还好东西没坏。", "客服回复比较慢。", "刚买完就降价了，有点郁闷。",
          "说明书写得不够清楚，摸索了半天。", "到货有点小瑕疵，联系客服后补偿了。"],
    "budget+": ["这个价位很能打，性价比高。", "便宜又好用，超出预期。"],
    "premium+": ["贵是贵了点，但一分钱一分货。", "高端款就是不一样，细节很到位。"],
    "premium-": ["价格确实偏高，等活动买更划算。"],
    "budget-": ["便宜货，做工细节有点粗糙。"],
}
GEN_EN = {
    "+": ["Fast delivery and solid packaging.", "Build quality feels solid.", "Exactly as described.", "Would buy again.",
          "No issues after several weeks of use.", "Customer service answered all my questions quickly."],
    "-": ["Shipping took longer than expected.", "The box arrived a bit dented.", "Price dropped right after I bought it.",
          "The manual is not very clear."],
    "budget+": ["Great value for the money."],
    "premium+": ["Expensive, but you get what you pay for."],
    "premium-": ["A bit overpriced, wait for a sale."],
    "budget-": ["Finishing feels a bit cheap."],
}
OPEN_ZH = ["", "", "", "用了两周，", "到手一个月了，", "给家里人买的，", "入手半个月，", "对比了好几款才下单，", "第一次买这个牌子，", "用了一段时间来评价，"]
OPEN_EN = ["", "", "Been using it for two weeks. ", "After a month: ", "Bought this as a gift. ", "Compared several options first. "]
MIX_JOIN_ZH = ["不过", "但是", "唯一的缺点是", "美中不足的是"]
MIX_JOIN_EN = ["However, ", "That said, ", "One downside: ", "But "]
T["colour"] = {"+": ["{v}很好看，和图片一致，没有色差。"], "en:+": ["The {v} colour looks just like the photos."]}

GENERIC = {
    "zh+": ["{a}是{v}，和详情页描述一致，很满意。", "看中的就是{a}{v}这一点，实际用下来确实不错。",
            "{a}选了{v}，挺适合我的需求。", "冲着{a}（{v}）买的，没有失望。"],
    "en+": ["The {a} ({v}) is exactly as described.", "Chose it for the {a}: {v}. No regrets.",
            "{v} {a} works well for me."],
}

SCORE_WEIGHTS = [(5, 46), (4, 30), (3, 13), (2, 6), (1, 5)]
LEVEL_HI, LEVEL_LO = 0.6, 0.3


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def norm(s: str) -> str:
    return re.sub(r"[^0-9a-z]", "", s.lower())


def round_price(p: float) -> float:
    if p < 100:
        return float(max(9.9, round(p) - 0.1))
    if p < 1000:
        return float(round(p / 10) * 10 - 1)
    return float(round(p / 100) * 100 - 1)


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


class Category:
    def __init__(self, raw: dict, common: list):
        self.raw = raw
        self.id = raw["id"]
        self.name_en = raw["name_en"]
        self.name_zh = raw["name_zh"]
        self.brands = list(raw["brands"])
        self.attrs = raw["attributes"]
        self.by_key = {a["key"]: a for a in raw["attributes"]}
        for a in common:
            self.by_key.setdefault(a["key"], a)
        self.zh_brand = {}
        for alias, brand in (raw.get("brand_aliases") or {}).items():
            if re.search(r"[\u4e00-\u9fff]", alias) and brand not in self.zh_brand:
                self.zh_brand[brand] = alias

    def zh(self, key, value_en):
        a = self.by_key[key]
        return a["values_zh"][a["values_en"].index(value_en)]

    def attr_zh(self, key):
        return self.by_key[key]["zh"]

    def level(self, key, value_en):
        a = self.by_key[key]
        vals = a["values_en"]
        if len(vals) < 2 or key == "colour":
            return None
        r = vals.index(value_en) / (len(vals) - 1)
        return "hi" if r >= LEVEL_HI else ("lo" if r <= LEVEL_LO else None)

    def brand_names(self, brand):
        en, zh = BRAND_DISPLAY.get(brand, (brand, None))
        if zh is None:
            zh = self.zh_brand.get(brand, brand)
        return en, zh


def tier_window(values, tier):
    n = len(values)
    if n == 1:
        return [(values[0], 1.0)]
    target = {"budget": 0.0, "mid": 0.5, "premium": 1.0}[tier]
    thr = 0.5 if n <= 3 else 0.34
    out = []
    for i, v in enumerate(values):
        d = abs(i / (n - 1) - target)
        if d <= thr + 1e-9:
            out.append((v, (1.0 - d) ** 2))
    return out


def pick_attributes(cat: Category, spec: dict, brand: str, model: dict, rng: random.Random) -> dict:
    rules = spec.get("rules", {})
    rule = rules.get(brand, rules.get("*", {})) if brand in rules else rules.get("*", {})
    attrs = {}
    for a in cat.attrs:
        key = a["key"]
        allowed = [v for v in a["values_en"] if key not in rule or v in rule[key]] or list(a["values_en"])
        if key in model["pins"]:
            attrs[key] = model["pins"][key]
            continue
        if key in spec.get("graded", []):
            attrs[key] = weighted(rng, tier_window(allowed, model["tier"]))
        else:
            attrs[key] = rng.choice(allowed)
    fix = spec.get("fix")
    if fix:
        fix(attrs, rng, model)
    attrs.update(model["pins"])
    if spec.get("colours"):
        attrs["colour"] = rng.choice(spec["colours"])
    return attrs


# ---------------------------------------------------------------------------
# Names and intros
# ---------------------------------------------------------------------------

def make_names(cat, spec, brand, model, attrs):
    b_en, b_zh = cat.brand_names(brand)
    # "Xiaomi 14", not "Xiaomi Xiaomi 14": a model name may already carry its brand.
    zh_parts = [model["zh"]] if model["zh"].lower().startswith(b_zh.lower()) else [b_zh, model["zh"]]
    en_parts = [model["en"]] if model["en"].lower().startswith(b_en.lower()) else [b_en, model["en"]]
    if spec["noun_zh"] not in model["zh"] and not (spec["noun_zh"] == "T恤" and "T恤" in model["zh"]):
        zh_parts.append(spec["noun_zh"])
    if spec["noun_en"].lower() not in model["en"].lower():
        en_parts.append(spec["noun_en"])
    for key in spec.get("name_attrs", []):
        vz, ve = cat.zh(key, attrs[key]), attrs[key]
        if vz not in model["zh"]:
            zh_parts.append(vz)
        if ve.lower() not in model["en"].lower():
            en_parts.append(ve)
    if "colour" in attrs and cat.id in ("running_shoes", "down_jacket", "dress", "t_shirt", "jeans"):
        zh_parts.append(cat.zh("colour", attrs["colour"]))
        en_parts.append(attrs["colour"].capitalize())
    zh = " ".join(zh_parts)
    zh = re.sub(r"(\S) (5G手机|笔记本电脑|平板电脑|耳机|智能手表|相机)", r"\1 \2", zh)
    return zh, " ".join(en_parts)


INTRO_ZH_1 = [
    "{title}，{a1}为{v1}，{a2}为{v2}。",
    "这款{brand}{noun}的{a1}为{v1}，{a2}为{v2}。",
    "{brand} {model}：{a1}{v1}，{a2}{v2}。",
    "{brand}{noun} {model}，{a1}：{v1}；{a2}：{v2}。",
]
INTRO_ZH_2 = ["{a3}为{v3}，{a4}为{v4}。", "此外，{a3}为{v3}，{a4}为{v4}。", "另有{a3}（{v3}）和{a4}（{v4}）。"]
INTRO_ZH_2S = ["{a3}为{v3}。", "此外，{a3}为{v3}。"]
INTRO_ZH_3 = ["{tier}定位，适合看重{focus}的用户。", "作为一款{tier}{noun}，{focus}是它的亮点。"]
INTRO_EN_1 = [
    "{title} {noun}: {a1} {v1}, {a2} {v2}.",
    "This {brand} {noun} comes with {v1} ({a1}) and {v2} ({a2}).",
    "The {brand} {model} is a {tier} {noun} with {v1} ({a1}) and {v2} ({a2}).",
    "Key specs of the {brand} {model}: {a1} {v1}; {a2} {v2}.",
]
INTRO_EN_2 = ["It also offers {v3} ({a3}) and {v4} ({a4}).", "Other specs: {a3} {v3}, {a4} {v4}.", "Also: {v3} ({a3}), {v4} ({a4})."]
INTRO_EN_2S = ["It also offers {v3} ({a3}).", "Also: {a3} {v3}."]
INTRO_EN_3 = ["{A_tier} pick for shoppers who care about {focus}.", "As {a_tier} {noun}, its {focus} stands out."]


def make_intro(cat, spec, brand, model, attrs, rng):
    b_en, b_zh = cat.brand_names(brand)
    keys = [a["key"] for a in cat.attrs]
    first, rest = keys[:2], keys[2:]
    rng.shuffle(rest)
    order = first + rest
    hi_keys = [k for k in spec.get("graded", []) if cat.level(k, attrs[k]) == "hi"]
    focus_key = hi_keys[0] if hi_keys else keys[0]
    fz = {"title": f"{b_zh} {model['zh']}", "brand": b_zh, "model": model["zh"], "noun": spec["noun_zh"],
          "tier": TIER_ZH[model["tier"]], "focus": cat.attr_zh(focus_key)}
    fe = {"title": f"{b_en} {model['en']}", "brand": b_en, "model": model["en"], "noun": cat.name_en,
          "tier": TIER_EN[model["tier"]], "focus": focus_key}
    fe["a_tier"] = ("an " if fe["tier"][0] in "aeiou" else "a ") + fe["tier"]
    fe["A_tier"] = fe["a_tier"][0].upper() + fe["a_tier"][1:]
    for i, k in enumerate(order[:4], 1):
        fz[f"a{i}"], fz[f"v{i}"] = cat.attr_zh(k), cat.zh(k, attrs[k])
        fe[f"a{i}"], fe[f"v{i}"] = k, attrs[k]
    zh = [rng.choice(INTRO_ZH_1).format(**fz)]
    en = [rng.choice(INTRO_EN_1).format(**fe)]
    if len(order) >= 4:
        j = rng.randrange(len(INTRO_ZH_2))
        zh.append(INTRO_ZH_2[j].format(**fz))
        en.append(INTRO_EN_2[j % len(INTRO_EN_2)].format(**fe))
    elif len(order) == 3:
        j = rng.randrange(len(INTRO_ZH_2S))
        zh.append(INTRO_ZH_2S[j].format(**fz))
        en.append(INTRO_EN_2S[j].format(**fe))
    if hi_keys and rng.random() < 0.6:
        j = rng.randrange(len(INTRO_ZH_3))
        zh.append(INTRO_ZH_3[j].format(**fz))
        en.append(INTRO_EN_3[j].format(**fe))
    return "".join(zh), " ".join(en)


# ---------------------------------------------------------------------------
# Reviews
# ---------------------------------------------------------------------------

def templates_for(cat, key, value_en, pol, lang):
    """Templates for (attribute, value, polarity). Category-specific entries
    replace shared ones entirely; value-specific lists replace level lists."""
    pre = "en:" if lang == "en" else ""
    entry = T.get(f"{cat.id}.{key}") or T.get(key)
    if not entry:
        return []
    val_lists = [k for k in entry if k.startswith(f"{pre}val:{value_en}") and k[len(pre) + 4 + len(value_en):] in "+-"]
    if val_lists:
        return list(entry.get(f"{pre}val:{value_en}{pol}", []))
    lvl = cat.level(key, value_en)
    out = []
    if lvl:
        out += entry.get(f"{pre}{lvl}{pol}", [])
    out += entry.get(f"{pre}{pol}", [])
    return out


def fill(tpl, cat, key, value_en, lang):
    if lang == "en":
        return tpl.format(v=value_en, a=key, n=cat.name_en)
    return tpl.format(v=cat.zh(key, value_en), a=cat.attr_zh(key), n=cat.name_zh)


def attr_segment(cat, attrs, pol, lang, rng, exclude=()):
    keys = [k for k in attrs if k not in exclude]
    rng.shuffle(keys)
    if "colour" in keys and rng.random() < 0.75:  # colour remarks are the least informative
        keys.remove("colour")
        keys.append("colour")
    # prefer specific templates; fall back to generic positives
    for k in keys:
        c = templates_for(cat, k, attrs[k], pol, lang)
        if c:
            return k, fill(rng.choice(c), cat, k, attrs[k], lang)
    if pol == "+" and keys:
        k = keys[0]
        return k, fill(rng.choice(GENERIC[lang + "+"]), cat, k, attrs[k], lang)
    return None, None


def general(lang, pol, tier, rng):
    g = GEN_EN if lang == "en" else GEN_ZH
    pool = list(g[pol])
    if rng.random() < 0.35 and f"{tier}{pol}" in g:
        pool = g[f"{tier}{pol}"]
    return rng.choice(pool)


def make_review(cat, attrs, tier, score, rng, used_keys):
    lang = "en" if rng.random() < 0.2 else "zh"
    sep = " " if lang == "en" else ""
    opener = rng.choice(OPEN_EN if lang == "en" else OPEN_ZH)
    parts = []
    if score >= 4:
        k, seg = attr_segment(cat, attrs, "+", lang, rng, exclude=used_keys)
        if seg is None:
            k, seg = attr_segment(cat, attrs, "+", lang, rng)
        parts.append(seg)
        used_keys.add(k)
        r = rng.random()
        if r < 0.35:
            k2, seg2 = attr_segment(cat, attrs, "+", lang, rng, exclude=used_keys | {k})
            if seg2:
                parts.append(seg2)
                used_keys.add(k2)
        elif r < 0.75:
            parts.append(general(lang, "+", tier, rng))
        if score == 4 and rng.random() < 0.3:
            parts.append("Minor nitpicks aside, happy with it." if lang == "en" else "小缺点可以忽略，总体满意。")
    elif score == 3:
        k, seg = attr_segment(cat, attrs, "+", lang, rng, exclude=used_keys)
        if seg is None:
            k, seg = attr_segment(cat, attrs, "+", lang, rng)
        used_keys.add(k)
        k2, neg = attr_segment(cat, attrs, "-", lang, rng, exclude={k})
        if neg is None:
            neg = general(lang, "-", tier, rng)
        joiner = rng.choice(MIX_JOIN_EN if lang == "en" else MIX_JOIN_ZH)
        parts += [seg, joiner + (neg[0].lower() + neg[1:] if lang == "en" and joiner.endswith(" ") and joiner != "One downside: " else neg)]
        parts.append("Three stars." if lang == "en" else rng.choice(["总体中规中矩。", "给三星吧。", "还行吧。"]))
    else:
        k, neg = attr_segment(cat, attrs, "-", lang, rng)
        if neg:
            parts.append(neg)
        parts.append(general(lang, "-", tier, rng))
        if not neg:
            parts.append(general(lang, "-", tier, rng))
        if score == 1:
            parts.append("Not what I expected." if lang == "en" else rng.choice(["不太推荐。", "有点失望。", "已经申请退货了。"]))
        else:
            parts.append("Just okay." if lang == "en" else rng.choice(["一般般吧。", "没有达到预期。"]))
    # de-duplicate while preserving order
    seen, clean = set(), []
    for p in parts:
        if p and p not in seen:
            seen.add(p)
            clean.append(p)
    text = sep.join(clean)
    if opener:
        text = opener + (text if lang == "zh" else text)
    return {"commentContent": text, "score": score}


def make_reviews(cat, attrs, tier, rng):
    n = rng.choice([2, 3, 3, 4, 4, 5])
    scores = [weighted(rng, SCORE_WEIGHTS) for _ in range(n)]
    if all(s <= 3 for s in scores):  # keep products mostly positive
        scores[0] = 5
    used, out, texts = set(), [], set()
    for s in scores:
        for _ in range(4):
            r = make_review(cat, attrs, tier, s, rng, used)
            if r["commentContent"] not in texts:
                break
        texts.add(r["commentContent"])
        out.append(r)
    return out


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def resolve_models(cat: Category, spec: dict) -> dict:
    by_norm = {norm(b): b for b in cat.brands}
    out = {}
    for raw_brand, ms in spec["models"].items():
        b = by_norm.get(norm(raw_brand))
        if b is None:
            raise SystemExit(f"{cat.id}: model brand {raw_brand!r} not in taxonomy brands {cat.brands}")
        out[b] = ms
    for rb in spec.get("rules", {}):
        if rb != "*" and rb not in cat.brands:
            raise SystemExit(f"{cat.id}: rule brand {rb!r} not in taxonomy")
    return out


def generate(taxonomy_path: Path):
    tax = yaml.safe_load(taxonomy_path.read_text(encoding="utf-8"))
    common = tax.get("common_attributes", [])
    products = []
    for raw in tax["categories"]:
        cat = Category(raw, common)
        spec = SPECS.get(cat.id)
        if spec is None:
            raise SystemExit(f"no generation spec for category {cat.id!r}")
        rng = random.Random(f"{SEED}:{cat.id}")
        brand_models = resolve_models(cat, spec)
        for b in sorted(brand_models):
            brand_models[b] = list(brand_models[b])
            rng.shuffle(brand_models[b])
        # round-robin over brands (taxonomy order), then over each brand's models
        queue, depth = [], 0
        while True:
            added = False
            for b in cat.brands:
                ms = brand_models.get(b, [])
                if depth < len(ms):
                    queue.append((b, ms[depth]))
                    added = True
            if not added:
                break
            depth += 1
        count = spec["count"]
        picks = queue[:count]
        while len(picks) < count:
            picks.append(rng.choice(queue))
        names = set()
        for i, (brand, model) in enumerate(picks, 1):
            for _ in range(8):
                attrs = pick_attributes(cat, spec, brand, model, rng)
                zh, en = make_names(cat, spec, brand, model, attrs)
                if zh not in names:
                    break
            if zh in names and "colour" in attrs:
                zh += " " + cat.zh("colour", attrs["colour"])
                en += " " + attrs["colour"]
            names.add(zh)
            lo, hi = spec["price"][model["tier"]]
            price = round_price(rng.uniform(lo, hi))
            intro, intro_en = make_intro(cat, spec, brand, model, attrs, rng)
            products.append({
                "skuId": f"SKU-{cat.id}-{i:04d}",
                "skuName": zh,
                "skuNameEn": en,
                "brand": brand,
                "category": cat.id,
                "price": price,
                "attributes": attrs,
                "intro": intro,
                "introEn": intro_en,
                "skuCommentList": make_reviews(cat, attrs, model["tier"], rng),
            })
    return products


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    products = generate(args.taxonomy)
    lines = [json.dumps(p, ensure_ascii=False, sort_keys=False) for p in products]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(products)} products to {args.out}")


if __name__ == "__main__":
    main()
