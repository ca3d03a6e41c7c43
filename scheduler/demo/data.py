"""Realistic demo data for the Pinggu district bureau (pure: no DB, no clock).

Everything is a function of `(seed, n)`. Demo data is not an official draw, so
NumPy's `Generator(PCG64)` is fine here (its streams may change between NumPy
feature releases; an official draw must never depend on them).

Entities are generated in fixed blocks of `BLOCK` rows, each block from its own
`PCG64(SeedSequence(seed, spawn_key=(block,)))`, so a caller may consume the
blocks one by one and keep memory flat for millions of rows. Each entity's
USCC is a bijection of its global index (hence unique without bookkeeping).

The numbers (type mix, industries, town weights, statuses, risk classes,
licences) are plausible, not statistics of the real district.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import repeat
from typing import Iterator, Sequence

import numpy as np

from scheduler.demo import pinggu as reference

from scheduler.library import vocabulary
from scheduler.library.uscc import ALPHABET
from scheduler.plans.rules import DEFAULTS

BLOCK = 100_000
DEFAULT_SEED = 2026
DEFAULT_ENTITIES = 5000

ENTERPRISE, INDIVIDUAL, COOPERATIVE = vocabulary.ENTITY_TYPES  # 企业 / 个体工商户 / 农民专业合作社
TYPE_WEIGHTS = (0.37, 0.60, 0.03)
TYPE_CATEGORY = ("1", "2", "3")  # USCC 2nd character under authority 9 (工商)

STATUS_WEIGHTS = {"存续": 0.88, "注销": 0.07, "吊销": 0.03, "迁出": 0.02}
RISK_WEIGHTS = {"A": 0.55, "B": 0.33, "C": 0.10, "D": 0.02}

# Registration dates: the registry grows, so later years weigh more.
FIRST_DAY = dt.date(1995, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)

# --- towns ---------------------------------------------------------------------

# Relative population weight; the two streets (the town centre) are the largest.
TOWN_WEIGHTS: dict[str, float] = {
    "滨河街道": 14, "兴谷街道": 13, "渔阳地区": 8, "峪口地区": 7, "马坊地区": 8, "金海湖地区": 5,
    "东高村镇": 5, "山东庄镇": 4, "南独乐河镇": 4, "大华山镇": 4, "夏各庄镇": 5, "马昌营镇": 4,
    "王辛庄镇": 5, "大兴庄镇": 5, "刘家店镇": 3, "镇罗营镇": 2, "黄松峪乡": 1.5, "熊儿寨乡": 1.5,
}
URBAN = ("滨河街道", "兴谷街道")

ROADS = (
    "府前街", "新平北路", "新平东路", "新平西路", "建设街", "林荫北街", "林荫南街", "向阳北街",
    "文化北街", "迎宾街", "平翔路", "胜利街", "光明街", "承平路", "顺平路", "平关路", "平三路",
    "金谷东路", "兴谷西路", "滨河路", "洳河路", "乐政务路", "东寺渠路", "大旺务路",
)
VILLAGE_SUFFIX = ("东村", "西村", "南村", "北村", "中街", "大街", "村委会东", "工业区")


def _short_town(name: str) -> str:
    for suffix in ("街道", "地区", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# --- industries (GB/T 4754-2017 classes) ----------------------------------------------


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    weights: tuple[float, float, float]  # relative weight within 企业 / 个体工商户 / 合作社
    company_word: str  # 北京平谷{字号}{company_word}有限公司
    shop_word: str  # 平谷区{镇}{姓名}{shop_word}
    tags: tuple[tuple[str, float], ...] = ()  # (licence tag, probability)


FOOD_TRADE = "食品经营许可"
FOOD_PROD = "食品生产许可"
SPECIAL_EQUIPMENT = "特种设备使用单位"
DRUG = "药品经营许可"
HAZCHEM = "危险化学品经营许可"
ROAD = "道路运输经营许可"
PUBLIC_PLACE = "公共场所卫生许可"
MEDICAL = "医疗机构执业许可"
POLLUTION = "排污许可"
PESTICIDE = "农药经营许可"
CONSTRUCTION = "建筑业企业资质"
ENTERTAINMENT = "娱乐经营许可"
INTERNET_CAFE = "网络文化经营许可"
FUEL = "成品油零售经营批准"

INDUSTRIES: tuple[Industry, ...] = (
    Industry("A0151", "仁果类和核果类水果种植", (1.0, 3.0, 50.0), "果品", "大桃种植园", ()),
    Industry("A0141", "蔬菜种植", (0.5, 1.5, 20.0), "农业", "蔬菜种植园", ()),
    Industry("A0313", "猪的饲养", (0.4, 0.5, 10.0), "养殖", "养殖场", ((POLLUTION, 0.3),)),
    Industry("A0190", "其他农业", (0.3, 0.5, 12.0), "农业科技", "农场", ()),
    Industry("C1373", "水果和坚果加工", (1.2, 0.3, 6.0), "食品", "果品加工坊", ((FOOD_PROD, 0.9), (POLLUTION, 0.2))),
    Industry("C1391", "淀粉及淀粉制品制造", (0.8, 0.3, 0.5), "淀粉制品", "粉丝加工坊", ((FOOD_PROD, 0.9), (POLLUTION, 0.3))),
    Industry("C1411", "糕点、面包制造", (1.0, 0.6, 0.0), "食品", "糕点坊", ((FOOD_PROD, 0.9), (SPECIAL_EQUIPMENT, 0.2))),
    Industry("C1512", "白酒制造", (0.4, 0.0, 0.0), "酒业", "酒坊", ((FOOD_PROD, 0.95), (SPECIAL_EQUIPMENT, 0.5))),
    Industry("C2929", "塑料零件及其他塑料制品制造", (1.5, 0.1, 0.0), "塑料制品", "塑料加工部", ((SPECIAL_EQUIPMENT, 0.4), (POLLUTION, 0.4))),
    Industry("C3311", "金属结构制造", (1.5, 0.1, 0.0), "钢结构", "铁艺加工部", ((SPECIAL_EQUIPMENT, 0.6), (POLLUTION, 0.3))),
    Industry("C3899", "其他未列明电气机械及器材制造", (1.0, 0.0, 0.0), "电气设备", "电器维修部", ((SPECIAL_EQUIPMENT, 0.4), (POLLUTION, 0.2))),
    Industry("E4790", "其他房屋建筑业", (3.0, 0.0, 0.0), "建筑工程", "建筑队", ((CONSTRUCTION, 0.9), (SPECIAL_EQUIPMENT, 0.3))),
    Industry("E5012", "住宅装饰和装修", (2.5, 2.0, 0.0), "装饰工程", "装修队", ((CONSTRUCTION, 0.4),)),
    Industry("F5123", "果品、蔬菜批发", (4.0, 3.0, 3.0), "果蔬", "果蔬批发部", ((FOOD_TRADE, 0.9),)),
    Industry("F5169", "其他化学产品批发", (0.8, 0.0, 0.0), "化工", "化工商店", ((HAZCHEM, 0.8),)),
    Industry("F5167", "农药批发", (0.5, 0.4, 0.5), "农资", "农资店", ((PESTICIDE, 0.9),)),
    Industry("F5212", "超级市场零售", (3.0, 6.0, 0.0), "商贸", "超市", ((FOOD_TRADE, 0.97), (SPECIAL_EQUIPMENT, 0.08))),
    Industry("F5213", "便利店零售", (1.5, 12.0, 0.0), "便利店", "便利店", ((FOOD_TRADE, 0.95),)),
    Industry("F5223", "果品、蔬菜零售", (1.0, 8.0, 1.0), "果品", "果品店", ((FOOD_TRADE, 0.9),)),
    Industry("F5224", "肉、禽、蛋、奶及水产品零售", (0.6, 4.0, 0.0), "食品", "鲜肉店", ((FOOD_TRADE, 0.95),)),
    Industry("F5251", "西药零售", (1.2, 1.0, 0.0), "医药", "大药房", ((DRUG, 0.98),)),
    Industry("F5265", "机动车燃油零售", (0.5, 0.0, 0.0), "石油", "加油站", ((HAZCHEM, 0.95), (FUEL, 0.95), (SPECIAL_EQUIPMENT, 0.3))),
    Industry("F5271", "五金零售", (1.5, 6.0, 0.0), "五金", "五金店", ()),
    Industry("F5261", "汽车新车零售", (1.0, 0.0, 0.0), "汽车销售", "车行", ((SPECIAL_EQUIPMENT, 0.2),)),
    Industry("G5431", "普通货物道路运输", (3.0, 3.0, 0.0), "物流", "货运部", ((ROAD, 0.9),)),
    Industry("H6110", "旅游饭店", (1.0, 0.0, 0.0), "酒店管理", "宾馆", ((PUBLIC_PLACE, 0.95), (FOOD_TRADE, 0.6), (SPECIAL_EQUIPMENT, 0.7))),
    Industry("H6129", "其他一般旅馆", (0.5, 3.0, 0.0), "旅游服务", "民宿", ((PUBLIC_PLACE, 0.9),)),
    Industry("H6210", "正餐服务", (3.0, 9.0, 0.0), "餐饮管理", "饭店", ((FOOD_TRADE, 0.97), (SPECIAL_EQUIPMENT, 0.05))),
    Industry("H6220", "快餐服务", (1.0, 5.0, 0.0), "餐饮", "快餐店", ((FOOD_TRADE, 0.97),)),
    Industry("H6291", "小吃服务", (0.3, 6.0, 0.0), "餐饮", "小吃店", ((FOOD_TRADE, 0.95),)),
    Industry("I6513", "应用软件开发", (3.0, 0.0, 0.0), "科技", "电脑服务部", ()),
    Industry("K7010", "房地产开发经营", (1.5, 0.0, 0.0), "房地产开发", "房屋中介", ((SPECIAL_EQUIPMENT, 0.5),)),
    Industry("L7259", "其他广告服务", (2.0, 1.0, 0.0), "文化传媒", "广告部", ()),
    Industry("L7212", "企业管理咨询", (4.0, 0.0, 0.0), "企业管理咨询", "咨询服务部", ()),
    Industry("Q8425", "门诊部（所）", (0.5, 0.5, 0.0), "医疗", "诊所", ((MEDICAL, 0.98),)),
    Industry("O8040", "理发及美容服务", (1.0, 7.0, 0.0), "美容美发", "美发店", ((PUBLIC_PLACE, 0.7),)),
    Industry("O8051", "洗浴服务", (0.3, 0.8, 0.0), "洗浴", "浴池", ((PUBLIC_PLACE, 0.95), (SPECIAL_EQUIPMENT, 0.4))),
    Industry("O8111", "汽车修理与维护", (1.0, 4.0, 0.0), "汽车服务", "汽车修理部", ((POLLUTION, 0.1),)),
    Industry("R9011", "歌舞厅娱乐活动", (0.3, 0.3, 0.0), "文化娱乐", "歌厅", ((ENTERTAINMENT, 0.95), (PUBLIC_PLACE, 0.5))),
    Industry("R9013", "网吧活动", (0.2, 0.5, 0.0), "网络科技", "网吧", ((INTERNET_CAFE, 0.95),)),
    Industry("M7320", "工程和技术研究和试验发展", (1.5, 0.0, 0.0), "技术研究", "技术服务部", ()),
    Industry("P8399", "其他未列明教育", (0.8, 0.3, 0.0), "教育咨询", "培训部", ()),
)

# --- names ------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
# Weights roughly follow the frequency of the commonest surnames.
_SURNAME_W = np.array([7.2, 7.0, 6.8, 5.4, 4.5, 3.1, 2.3, 2.2, 2.1, 2.0] + [1.0] * 20 + [0.5] * (len(SURNAMES) - 30))
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志强海燕红梅建华文辉春燕立新晓东桂芝凤英淑珍振华国强永生宝山德明长青树林金凤玉梅学军"
# 字号: two characters, one from each list (about 3,000 combinations).
_TRADE_FIRST = "金兴渔泃桃瑞鑫恒华宏永德聚顺安博嘉富润长新东京盛天佳利同正鼎福祥海碧青明诚腾万汇益红曙绿丰仙甜春星凯旭晟昊峪"
_TRADE_SECOND = "谷平阳源泰丰达通盛昌润鑫远禾民泽华成和利德信图隆光园香康宇辉瑞祥邦诚峰茂"
TRADE_NAMES = tuple(a + b for a in _TRADE_FIRST for b in _TRADE_SECOND if a != b)
COOP_PRODUCTS = ("大桃", "大桃", "大桃", "果品", "蔬菜", "养殖", "鲜桃", "农机", "种植")

# --- rosters -------------------------------------------------------------------------------

# Qualification tags (执法资格/专业领域) per department, matching the items' requirements.
DEPT_QUALIFICATIONS: dict[str, tuple[str, ...]] = {
    "SCJGJ": ("公示信息", "食品安全", "特种设备", "药品", "计量", "价格", "广告", "产品质量", "网络交易"),
    "WJW": ("卫生监督",),
    "YJGLJ": ("安全生产", "消防"),
    "RLSBJ": ("劳动保障",),
    "TJJ": ("统计",),
    "SWUJ": ("税务",),
    "ZJW": ("建筑",),
    "JTJ": ("交通运输",),
    "WHLYJ": ("文化市场",),
    "STHJJ": ("环境",),
    "NYNCJ": ("农业",),
    "SWJ": ("商务",),
    "GAFJ": ("治安",),
    "FGW": ("价格",),
    "JW": ("教育",),
    "HG": ("进出口",),
}
SCJG_QUAL_P = {"食品安全": 0.45, "特种设备": 0.15, "药品": 0.12, "计量": 0.12, "价格": 0.15, "广告": 0.12, "产品质量": 0.2, "网络交易": 0.1}

EXPERT_FIELDS: tuple[tuple[str, str], ...] = (
    ("特种设备检验", "北京市平谷区特种设备检验所"),
    ("食品检测", "北京市平谷区食品检验检测中心"),
    ("计量检定", "北京市平谷区计量检测所"),
    ("产品检验", "北京京平产品质量检验中心"),
    ("安全评价", "北京京平安全技术咨询有限公司"),
    ("环境监测", "北京市平谷区环境监测站"),
    ("药品检验", "北京市药品检验研究院平谷工作站"),
)

CONFLICT_REASONS = {"亲属关系": 0.45, "曾任职": 0.25, "持股": 0.15, "其他": 0.15}
CONFLICT_NOTES = {
    "亲属关系": ("配偶经营", "兄弟姐妹为法定代表人", "父母为股东", "子女在该单位任职"),
    "曾任职": ("曾在该单位任职", "曾担任该单位顾问"),
    "持股": ("本人持有该企业股份", "近亲属持股"),
    "其他": ("存在经济往来", "本人申请回避"),
}
DECLARED_BY = {"本人申报": 0.8, "管理员录入": 0.2}

# --- check item list (随机抽查事项清单) ------------------------------------------------


@dataclass(frozen=True)
class DemoItem:
    code: str
    department: str  # Department.code
    category: str
    name: str
    kind: str  # key / general
    legal_basis: str
    method: str = "现场检查"
    entity_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    ratio_cap: str | None = None
    ratio_floor: str | None = None
    qualifications: tuple[str, ...] = ()
    expert_field: str = ""


KEY, GENERAL = "key", "general"

DEMO_ITEMS: tuple[DemoItem, ...] = (
    DemoItem("SC-01", "SCJGJ", "企业公示信息", "企业公示信息检查", GENERAL,
             "《企业信息公示暂行条例》第十四条；《企业公示信息抽查办法》", "书面检查、网络监测、实地核查",
             entity_types=(ENTERPRISE, COOPERATIVE), ratio_cap="0.05", ratio_floor="0.03", qualifications=("公示信息",)),
    DemoItem("SC-02", "SCJGJ", "个体工商户公示信息", "个体工商户年度报告公示信息检查", GENERAL,
             "《促进个体工商户发展条例》；《个体工商户年度报告办法》", "书面检查、实地核查",
             entity_types=(INDIVIDUAL,), ratio_cap="0.05", qualifications=("公示信息",)),
    DemoItem("SC-03", "SCJGJ", "食品安全", "食品生产许可条件检查", KEY,
             "《中华人民共和国食品安全法》第三十五条、第一百一十条；《食品生产许可管理办法》",
             tags=(FOOD_PROD,), qualifications=("食品安全",), expert_field="食品检测"),
    DemoItem("SC-04", "SCJGJ", "食品安全", "食品销售者经营行为检查", KEY,
             "《中华人民共和国食品安全法》第五十三条、第一百一十条；《食品经营许可和备案管理办法》",
             industries=("F51", "F52"), tags=(FOOD_TRADE,), qualifications=("食品安全",)),
    DemoItem("SC-05", "SCJGJ", "食品安全", "餐饮服务食品安全检查", KEY,
             "《中华人民共和国食品安全法》第五十五条、第一百一十条；《餐饮服务食品安全操作规范》",
             industries=("H61", "H62"), tags=(FOOD_TRADE,), qualifications=("食品安全",)),
    DemoItem("SC-06", "SCJGJ", "特种设备", "特种设备使用单位检查", KEY,
             "《中华人民共和国特种设备安全法》第三十二条、第五十七条；《特种设备使用管理规则》",
             tags=(SPECIAL_EQUIPMENT,), qualifications=("特种设备",), expert_field="特种设备检验"),
    DemoItem("SC-07", "SCJGJ", "药品", "药品零售企业经营行为检查", KEY,
             "《中华人民共和国药品管理法》第九十九条；《药品经营和使用质量监督管理办法》",
             tags=(DRUG,), qualifications=("药品",), expert_field="药品检验"),
    DemoItem("SC-08", "SCJGJ", "计量", "计量器具使用情况检查", GENERAL,
             "《中华人民共和国计量法》第九条；《北京市计量监督管理规定》",
             industries=("F52",), ratio_cap="0.05", qualifications=("计量",), expert_field="计量检定"),
    DemoItem("SC-09", "SCJGJ", "价格", "明码标价和价格行为检查", GENERAL,
             "《中华人民共和国价格法》第十三条、第三十四条；《明码标价和禁止价格欺诈规定》",
             industries=("F52", "H62", "O80"), ratio_cap="0.05", qualifications=("价格",)),
    DemoItem("SC-10", "SCJGJ", "广告", "广告发布行为检查", GENERAL,
             "《中华人民共和国广告法》第四十九条", "书面检查、网络监测",
             industries=("L72",), ratio_cap="0.05", qualifications=("广告",)),
    DemoItem("SC-11", "SCJGJ", "产品质量", "生产企业产品质量检查", KEY,
             "《中华人民共和国产品质量法》第十五条、第十八条", "现场检查、抽样检验",
             entity_types=(ENTERPRISE,), industries=("C",), qualifications=("产品质量",), expert_field="产品检验"),
    DemoItem("SC-12", "SCJGJ", "产品质量", "成品油质量检查", KEY,
             "《中华人民共和国产品质量法》第十五条；《成品油市场管理办法》", "现场检查、抽样检验",
             industries=("F5265",), tags=(FUEL,), qualifications=("产品质量",), expert_field="产品检验"),
    DemoItem("SC-13", "SCJGJ", "网络交易", "网络交易经营者信息公示检查", GENERAL,
             "《中华人民共和国电子商务法》第十五条；《网络交易监督管理办法》", "网络监测",
             entity_types=(ENTERPRISE,), industries=("F52", "I65"), ratio_cap="0.05", qualifications=("网络交易",)),
    DemoItem("WJ-01", "WJW", "公共场所卫生", "公共场所卫生检查", GENERAL,
             "《公共场所卫生管理条例》第十三条；《公共场所卫生管理条例实施细则》",
             tags=(PUBLIC_PLACE,), ratio_cap="0.1", qualifications=("卫生监督",)),
    DemoItem("WJ-02", "WJW", "食品安全", "餐饮服务单位餐饮具消毒卫生检查", KEY,
             "《中华人民共和国食品安全法》第五十六条、第五十八条；《餐饮具集中消毒单位卫生监督规范》",
             industries=("H62",), tags=(FOOD_TRADE,), qualifications=("卫生监督",)),
    DemoItem("WJ-03", "WJW", "医疗卫生", "医疗机构依法执业检查", KEY,
             "《医疗机构管理条例》第四十条；《中华人民共和国基本医疗卫生法》",
             tags=(MEDICAL,), qualifications=("卫生监督",)),
    DemoItem("YJ-01", "YJGLJ", "安全生产", "工贸企业安全生产检查", KEY,
             "《中华人民共和国安全生产法》第六十五条", entity_types=(ENTERPRISE,), industries=("C",),
             qualifications=("安全生产",), expert_field="安全评价"),
    DemoItem("YJ-02", "YJGLJ", "危险化学品", "危险化学品经营单位检查", KEY,
             "《危险化学品安全管理条例》第六条、第三十三条", tags=(HAZCHEM,),
             qualifications=("安全生产",), expert_field="安全评价"),
    DemoItem("YJ-03", "YJGLJ", "消防安全", "消防安全检查", KEY,
             "《中华人民共和国消防法》第五十三条；《消防监督检查规定》",
             industries=("F52", "H61", "H62", "O80", "R90"), qualifications=("消防",)),
    DemoItem("RS-01", "RLSBJ", "劳动保障", "劳动保障监察", GENERAL,
             "《劳动保障监察条例》第十一条", "书面检查、现场检查",
             entity_types=(ENTERPRISE,), ratio_cap="0.05", qualifications=("劳动保障",)),
    DemoItem("TJ-01", "TJJ", "统计", "统计执法检查", GENERAL,
             "《中华人民共和国统计法》第三十五条；《统计执法检查规定》", "书面检查、现场检查",
             entity_types=(ENTERPRISE,), ratio_cap="0.05", qualifications=("统计",)),
    DemoItem("SW-01", "SWUJ", "税务", "税务检查", GENERAL,
             "《中华人民共和国税收征收管理法》第五十四条；《税务稽查随机抽查对象名录库管理办法》", "书面检查、实地核查",
             entity_types=(ENTERPRISE,), ratio_cap="0.03", qualifications=("税务",)),
    DemoItem("ZJ-01", "ZJW", "建筑市场", "建筑市场行为检查", GENERAL,
             "《中华人民共和国建筑法》；《建筑市场信用管理暂行办法》", "书面检查、现场检查",
             industries=("E",), tags=(CONSTRUCTION,), ratio_cap="0.05", qualifications=("建筑",)),
    DemoItem("ZJ-02", "ZJW", "建筑施工安全", "建筑施工安全检查", KEY,
             "《建设工程安全生产管理条例》第四十条", industries=("E47",), tags=(CONSTRUCTION,),
             qualifications=("建筑",)),
    DemoItem("JT-01", "JTJ", "道路运输", "道路运输企业检查", KEY,
             "《中华人民共和国道路运输条例》第五十八条", industries=("G54",), tags=(ROAD,),
             qualifications=("交通运输",)),
    DemoItem("WL-01", "WHLYJ", "文化市场", "文化市场经营场所检查", GENERAL,
             "《娱乐场所管理条例》第三十五条；《互联网上网服务营业场所管理条例》", industries=("R90",),
             ratio_cap="0.05", qualifications=("文化市场",)),
    DemoItem("ST-01", "STHJJ", "生态环境", "排污单位检查", KEY,
             "《排污许可管理条例》第二十七条；《中华人民共和国环境保护法》第二十四条", "现场检查、监测",
             tags=(POLLUTION,), qualifications=("环境",), expert_field="环境监测"),
    DemoItem("NY-01", "NYNCJ", "农资", "农药经营单位检查", KEY,
             "《农药管理条例》第四十一条；《农药经营许可管理办法》", tags=(PESTICIDE,), qualifications=("农业",)),
    DemoItem("SWJ-01", "SWJ", "商务", "单用途商业预付卡检查", GENERAL,
             "《单用途商业预付卡管理办法（试行）》第三十二条", "书面检查、现场检查",
             entity_types=(ENTERPRISE,), industries=("F52", "H62", "O80"), ratio_cap="0.05", qualifications=("商务",)),
    DemoItem("GA-01", "GAFJ", "治安管理", "旅馆业治安管理检查", GENERAL,
             "《旅馆业治安管理办法》第十四条", industries=("H61",), ratio_cap="0.1", qualifications=("治安",)),
)

# --- plans (抽查计划) --------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPlan:
    code: str
    name: str
    lead_department: str  # Department.code
    item_codes: tuple[str, ...]
    ratios: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = DEFAULTS.kind
    strata_by: str = DEFAULTS.strata_by
    batches: int = DEFAULTS.batches
    reserve_ratio: str = DEFAULTS.reserve_ratio
    team_size: int = DEFAULTS.team_size
    matching_policy: str = DEFAULTS.matching_policy
    schedule: str = DEFAULTS.schedule
    description: str = ""


DEMO_PLANS: tuple[DemoPlan, ...] = (
    DemoPlan("PG-2026-GS", "2026年度企业公示信息抽查", "SCJGJ", ("SC-01",),
             ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"},
             description="按《企业公示信息抽查办法》，抽查比例不低于3%，按信用风险分类差异化确定。"),
    DemoPlan("PG-2026-SP", "2026年度食品安全部门联合抽查", "SCJGJ", ("SC-03", "SC-04", "SC-05", "WJ-02"),
             ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "0.6"}, batches=3,
             description="区市场监管局牵头，区卫生健康委参加；进一次门、查多项事。高风险对象比例高，按批次顺序分三批实施。"),
    DemoPlan("PG-2026-TS", "2026年度特种设备使用单位抽查", "SCJGJ", ("SC-06",),
             counts={"A": 5, "B": 10, "C": 10, "D": 5},
             description="重点检查事项，按风险分类确定抽查户数；可随机选派特种设备检验机构参加。"),
    DemoPlan("PG-2026-AQ", "2026年度安全生产部门联合抽查", "YJGLJ", ("YJ-01", "YJ-02", "YJ-03", "SC-06"),
             ratios={"A": "0.02", "B": "0.05", "C": "0.1", "D": "0.2"}, batches=2,
             description="区应急管理局牵头，区市场监管局参加。"),
    DemoPlan("PG-2026-JZ", "2026年度建筑市场行为抽查", "ZJW", ("ZJ-01",),
             ratios={"A": "0.02", "B": "0.03", "C": "0.05", "D": "0.05"},
             description="区住房城乡建设委组织的一般检查事项抽查，比例不超过5%。"),
)

# --- generated records ----------------------------------------------------------------------


@dataclass
class EntityBlock:
    """Column lists of the entities with global indexes `start .. start+len-1`,
    listed in USCC order (a sorted load keeps the unique index append-mostly)."""

    start: int
    uscc: list[str]
    name: list[str]
    entity_type: list[str]
    industry_code: list[str]
    town_code: list[str]
    address: list[str]
    registered_on: list[str]  # ISO dates "YYYY-MM-DD": both back-ends take the text as is
    status: list[str]
    risk_class: list[str]
    tags: list[str]

    def __len__(self) -> int:
        return len(self.uscc)

    def rows(self, *extra) -> Iterator[tuple]:
        """Tuples in ENTITY_COLUMNS order, followed by the constant values `extra`."""
        return zip(self.uscc, self.name, self.entity_type, self.industry_code, self.town_code,
                   self.address, self.registered_on, self.status, self.risk_class, self.tags,
                   *(repeat(x) for x in extra))


ENTITY_COLUMNS = ("uscc", "name", "entity_type", "industry_code", "town_code", "address",
                  "registered_on", "status", "risk_class", "tags")


@dataclass(frozen=True)
class DemoInspector:
    inspector_id: str
    name: str
    department: str  # Department.code
    cert_no: str
    qualifications: str  # join_list form
    region: str
    active: bool


@dataclass(frozen=True)
class DemoExpert:
    expert_id: str
    name: str
    field: str
    organisation: str
    active: bool


@dataclass(frozen=True)
class DemoConflict:
    inspector_id: str  # DemoInspector.inspector_id
    uscc: str
    reason: str
    declared_by: str
    note: str
    declared_at: dt.datetime


@dataclass
class Rosters:
    inspectors: list[DemoInspector]
    experts: list[DemoExpert]
    conflicts: list[DemoConflict]


def _p(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


# USCC pieces as lookup tables over ASCII bytes, so a million codes are a few array ops.
_USCC_VAL = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _USCC_VAL[ord(_c)] = _i
_ORG_VAL = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _ORG_VAL[ord(_c)] = _i
_ORG_W = np.array((3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_USCC_W = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), dtype=np.int64)
_ALPHA_BYTES = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_NEW_SPACE = 31**5  # "MA0" + 5 characters: codes issued since 2015
_OLD_SPACE = 10**8  # 8 digits: bodies of older organisation codes
MAX_ENTITIES = _NEW_SPACE


def _coprime_multiplier(rng: np.random.Generator, modulus: int, factors: Sequence[int]) -> int:
    while True:
        a = int(rng.integers(modulus // 3, modulus - 1))
        if all(a % f for f in factors):
            return a


@dataclass(frozen=True)
class _Keys:
    """Seed-wide bijections from entity index to organisation-code body."""

    new_a: int
    new_b: int
    old_a: int
    old_b: int


def _keys(seed: int) -> _Keys:
    rng = _rng(seed, 1_000_000_000)
    return _Keys(_coprime_multiplier(rng, _NEW_SPACE, (31,)), int(rng.integers(_NEW_SPACE)),
                 _coprime_multiplier(rng, _OLD_SPACE, (2, 5)), int(rng.integers(_OLD_SPACE)))


def make_usccs(index: np.ndarray, category: Sequence[str], old: np.ndarray, keys: _Keys) -> list[str]:
    """`uscc_bytes` as text; `category` holds one character per index."""
    cat = np.frombuffer("".join(category).encode(), dtype=np.uint8)
    return uscc_bytes(index, cat, old, keys).astype("U18").tolist()


def uscc_bytes(index: np.ndarray, category: np.ndarray, old: np.ndarray, keys: _Keys) -> np.ndarray:
    """Valid, unique USCCs for global entity indexes (same as `uscc.make`, vectorised).

    Authority 9 (market regulation), the type's category, area 110117, an
    organisation body that is a bijection of the index ("MA0"+5 characters for
    codes issued since 2015, 8 digits for older ones), its GB 11714 check and
    the GB 32100 check character.
    """
    n = len(index)
    idx = index.astype(np.int64)
    ch = np.empty((n, 18), dtype=np.uint8)
    ch[:, 0] = ord("9")
    ch[:, 1] = category
    ch[:, 2:8] = np.frombuffer(reference.AREA_CODE.encode(), dtype=np.uint8)
    # new style: M A 0 + base-31 digits of a permuted index
    v = (idx * keys.new_a + keys.new_b) % _NEW_SPACE
    new = np.empty((n, 8), dtype=np.uint8)
    new[:, 0], new[:, 1], new[:, 2] = ord("M"), ord("A"), ord("0")
    for pos in range(7, 2, -1):
        new[:, pos] = _ALPHA_BYTES[v % 31]
        v //= 31
    w = (idx * keys.old_a + keys.old_b) % _OLD_SPACE
    olds = np.empty((n, 8), dtype=np.uint8)
    for pos in range(7, -1, -1):
        olds[:, pos] = ord("0") + (w % 10)
        w //= 10
    ch[:, 8:16] = np.where(old[:, None], olds, new)
    r = 11 - (_ORG_VAL[ch[:, 8:16]] * _ORG_W).sum(axis=1) % 11
    ch[:, 16] = np.where(r == 10, ord("X"), np.where(r == 11, ord("0"), ord("0") + r % 10))
    total = (_USCC_VAL[ch[:, :17]] * _USCC_W).sum(axis=1)
    ch[:, 17] = _ALPHA_BYTES[(31 - total % 31) % 31]
    return ch.view("S18").ravel()


def _names(rng: np.random.Generator, n: int) -> list[str]:
    sur = rng.choice(len(SURNAMES), size=n, p=_p(_SURNAME_W))
    g1 = rng.integers(len(GIVEN), size=n)
    g2 = rng.integers(len(GIVEN), size=n)
    two = rng.random(n) < 0.6
    return [SURNAMES[s] + GIVEN[a] + (GIVEN[b] if t else "") for s, a, b, t in
            zip(sur.tolist(), g1.tolist(), g2.tolist(), two.tolist())]


def entity_blocks(n: int, seed: int = DEFAULT_SEED) -> Iterator[EntityBlock]:
    """The demo registry of `n` entities, in blocks of at most BLOCK rows."""
    if n < 0 or n > MAX_ENTITIES:
        raise ValueError(f"entities must be between 0 and {MAX_ENTITIES}")
    keys = _keys(seed)
    for b, start in enumerate(range(0, n, BLOCK)):
        yield _entity_block(_rng(seed, b), start, min(BLOCK, n - start), keys)


@dataclass
class _EntityDraws:
    """The random columns of one block of entities (indexes into the reference tables)."""

    etype: np.ndarray
    industry: np.ndarray
    town: np.ndarray
    reg: np.ndarray  # registration day
    old: np.ndarray  # registered before the USCC reform: old 8-digit organisation codes
    status: np.ndarray
    risk: np.ndarray
    bits: np.ndarray  # licence tags, one bit per tag of `_ALL_TAGS`
    sur: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    two: np.ndarray
    trade: np.ndarray
    prefix: np.ndarray
    suffix: np.ndarray
    product: np.ndarray
    road: np.ndarray
    village: np.ndarray
    vsuf: np.ndarray
    house: np.ndarray

    def take(self, o: np.ndarray) -> "_EntityDraws":
        """Every column reordered by `o`."""
        return _EntityDraws(*(getattr(self, f)[o] for f in self.__dataclass_fields__))


_ALL_TAGS = sorted({t for ind in INDUSTRIES for t, _ in ind.tags})


def _draw_entities(rng: np.random.Generator, n: int) -> _EntityDraws:
    """The block's random columns. The order of the draws from `rng` is what a seed
    means: a demo registry is the same for the same seed only while it stays as is."""
    town_names = [t[1] for t in reference.TOWNS]
    tw = np.array([TOWN_WEIGHTS[t] for t in town_names])
    rural_tw = np.array([w * (0.1 if t in URBAN else 1.0) for t, w in zip(town_names, tw)])

    etype = rng.choice(3, size=n, p=_p(TYPE_WEIGHTS))
    industry = np.empty(n, dtype=np.int64)
    town = np.empty(n, dtype=np.int64)
    for t in range(3):
        mask = etype == t
        k = int(mask.sum())
        industry[mask] = rng.choice(len(INDUSTRIES), size=k, p=_p([i.weights[t] for i in INDUSTRIES]))
        town[mask] = rng.choice(len(town_names), size=k, p=_p(rural_tw if t == 2 else tw))

    # Registration day: density growing ~8x from 1995 to 2026 (the registry grows).
    first, last = np.datetime64(FIRST_DAY), np.datetime64(LAST_DAY)
    span = int((last - first).astype(int)) + 1
    growth = 2.1
    day = np.floor(np.log1p(rng.random(n) * np.expm1(growth)) / growth * span).astype(np.int64)
    reg = first + np.minimum(day, span - 1).astype("timedelta64[D]")
    old = reg < np.datetime64("2015-10-01")  # before the USCC reform: old 8-digit organisation codes

    status = rng.choice(len(STATUS_WEIGHTS), size=n, p=_p(list(STATUS_WEIGHTS.values())))
    risk = rng.choice(len(RISK_WEIGHTS), size=n, p=_p(list(RISK_WEIGHTS.values())))

    # Licence tags: one bit per tag, drawn with the industry's probability.
    bits = np.zeros(n, dtype=np.int64)
    for j, tag in enumerate(_ALL_TAGS):
        prob = np.array([dict(ind.tags).get(tag, 0.0) for ind in INDUSTRIES])
        bits |= (rng.random(n) < prob[industry]).astype(np.int64) << j

    sur = rng.choice(len(SURNAMES), size=n, p=_p(_SURNAME_W))
    g1 = rng.integers(len(GIVEN), size=n)
    g2 = rng.integers(len(GIVEN), size=n)
    two = rng.random(n) < 0.6
    trade = rng.integers(len(TRADE_NAMES), size=n)
    prefix = (rng.random(n) < 0.7).astype(np.int64)
    suffix = rng.choice(3, size=n, p=[0.8, 0.18, 0.02])
    product = rng.integers(len(COOP_PRODUCTS), size=n)
    road = rng.integers(len(ROADS), size=n)
    village = (rng.random(n) < 0.5) & (town > 1)  # the two streets have roads, not villages
    vsuf = rng.integers(len(VILLAGE_SUFFIX), size=n)
    house = rng.integers(1, 300, size=n)
    return _EntityDraws(etype, industry, town, reg, old, status, risk, bits, sur, g1, g2, two, trade, prefix, suffix,
                        product, road, village, vsuf, house)


def _entity_names(d: _EntityDraws, short: list[str]) -> list[str]:
    """Names by entity type: a shop after its owner (个体工商户), a cooperative, a company."""
    n = d.etype.size
    given2 = [""] + list(GIVEN)
    persons = [SURNAMES[a] + GIVEN[b] + given2[c] for a, b, c in
               zip(d.sur.tolist(), d.g1.tolist(), ((d.g2 + 1) * d.two).tolist())]
    company_prefix = ("北京", "北京平谷")
    company_suffix = ("有限公司", "有限责任公司", "股份有限公司")
    shop = [i.shop_word for i in INDUSTRIES]
    word = [i.company_word for i in INDUSTRIES]
    names = np.empty(n, dtype=object)
    m = d.etype == 1
    names[m] = [f"平谷区{short[tn]}{p}{shop[i]}" for tn, p, i in
                zip(d.town[m].tolist(), [p for p, keep in zip(persons, m.tolist()) if keep], d.industry[m].tolist())]
    m = d.etype == 2
    names[m] = [f"北京平谷{TRADE_NAMES[tr]}{COOP_PRODUCTS[pr]}专业合作社"
                for tr, pr in zip(d.trade[m].tolist(), d.product[m].tolist())]
    m = d.etype == 0
    names[m] = [f"{company_prefix[pf]}{TRADE_NAMES[tr]}{word[i]}{company_suffix[sf]}" for pf, tr, i, sf in
                zip(d.prefix[m].tolist(), d.trade[m].tolist(), d.industry[m].tolist(), d.suffix[m].tolist())]
    return names.tolist()


def _entity_block(rng: np.random.Generator, start: int, n: int, keys: _Keys) -> EntityBlock:
    towns = reference.TOWNS
    town_names = [t[1] for t in towns]
    d = _draw_entities(rng, n)
    # Sort everything by USCC before building strings: the load then appends to the unique index.
    category = np.frombuffer("".join(TYPE_CATEGORY).encode(), dtype=np.uint8)[d.etype]
    codes = uscc_bytes(np.arange(start, start + n, dtype=np.int64), category, d.old, keys)
    o = np.argsort(codes, kind="stable")
    d = d.take(o)

    tag_text = {m: ";".join(t for j, t in enumerate(_ALL_TAGS) if m >> j & 1) for m in np.unique(d.bits).tolist()}
    short = [_short_town(t) for t in town_names]
    town_l = d.town.tolist()
    addresses = [
        f"北京市平谷区{town_names[tn]}{short[tn] + VILLAGE_SUFFIX[vs] if v else ROADS[r]}{h}号"
        for tn, v, vs, r, h in zip(town_l, d.village.tolist(), d.vsuf.tolist(), d.road.tolist(), d.house.tolist())
    ]
    types = vocabulary.ENTITY_TYPES
    statuses = list(STATUS_WEIGHTS)
    classes = list(RISK_WEIGHTS)
    return EntityBlock(
        start=start,
        uscc=codes[o].astype("U18").tolist(),
        name=_entity_names(d, short),
        entity_type=[types[t] for t in d.etype.tolist()],
        industry_code=[INDUSTRIES[i].code for i in d.industry.tolist()],
        town_code=[towns[t][0] for t in town_l],
        address=addresses,
        registered_on=d.reg.astype(str).tolist(),
        status=[statuses[x] for x in d.status.tolist()],
        risk_class=[classes[x] for x in d.risk.tolist()],
        tags=[tag_text[m] for m in d.bits.tolist()],
    )


def generate_entities(n: int, seed: int = DEFAULT_SEED) -> EntityBlock:
    """All `n` entities in one block (for tests and small demos)."""
    parts = list(entity_blocks(n, seed))
    out = EntityBlock(0, [], [], [], [], [], [], [], [], [], [])
    for p in parts:
        for col in ENTITY_COLUMNS:
            getattr(out, col).extend(getattr(p, col))
    return out


def inspector_count(n_entities: int) -> dict[str, int]:
    """Inspectors per department: ~n/100 (at least 40), a majority in 区市场监管局,
    at least 3 in each other department that owns items (so a team of two can
    always be found), 1–2 in the departments without items."""
    target = max(40, n_entities // 100)
    with_items = {it.department for it in DEMO_ITEMS}
    counts: dict[str, int] = {}
    for code, _ in reference.DEPARTMENTS:
        if code == "SCJGJ":
            continue
        counts[code] = max(3, round(target * 0.02)) if code in with_items else max(1, round(target * 0.003))
    others = sum(counts.values())
    counts["SCJGJ"] = max(target - others, round(target * 0.6), others + 1)  # always the majority
    return counts


def generate_rosters(n_entities: int, usccs: Sequence[str], seed: int = DEFAULT_SEED) -> Rosters:
    """Inspectors, experts and conflict declarations; `usccs` are the registry's
    codes the conflicts may name (the demo registry's, or any subset)."""
    rng = _rng(seed, 2_000_000_000)
    counts = inspector_count(n_entities)
    dept_order = [c for c, _ in reference.DEPARTMENTS]
    total = sum(counts.values())
    names = _names(rng, total)
    cert_space = max(100_000, 10 * total)
    width = len(str(cert_space - 1))
    certs = rng.choice(cert_space, size=total, replace=False).tolist()
    town_names = [t[1] for t in reference.TOWNS]
    region = rng.integers(len(town_names), size=total).tolist()
    inspectors: list[DemoInspector] = []
    k = 0
    for code in dept_order:
        quals = DEPT_QUALIFICATIONS[code]
        for j in range(counts[code]):
            if code == "SCJGJ":
                own = {q for q, p in SCJG_QUAL_P.items() if rng.random() < p}
                if rng.random() < 0.85:
                    own.add("公示信息")
                own.add(quals[j % len(quals)])  # every speciality is covered several times
            else:
                own = set(quals)
            # The first three of each department stay active so a team can always be formed.
            active = j < 3 or bool(rng.random() >= 0.05)
            inspectors.append(DemoInspector(
                inspector_id=f"JC{k + 1:06d}",
                name=names[k],
                department=code,
                cert_no=f"11011720{certs[k]:0{width}d}",
                qualifications=";".join(sorted(own)),
                region=town_names[region[k]],
                active=active,
            ))
            k += 1

    n_experts = max(len(EXPERT_FIELDS) * 2, total // 20)
    enames = _names(rng, n_experts)
    experts: list[DemoExpert] = []
    for j in range(n_experts):
        fieldname, org = EXPERT_FIELDS[j % len(EXPERT_FIELDS)]
        institution = j % 3 == 2  # every third is a testing institution rather than a person
        experts.append(DemoExpert(
            expert_id=f"ZJ{j + 1:05d}",
            name=org if institution else enames[j],
            field=fieldname,
            organisation=org,
            active=bool(rng.random() >= 0.05),
        ))

    conflicts: list[DemoConflict] = []
    n_conf = max(1, total // 20) if usccs else 0
    seen: set[tuple[int, int]] = set()
    reasons = list(CONFLICT_REASONS)
    who = list(DECLARED_BY)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    while len(conflicts) < n_conf:
        i = int(rng.integers(total))
        e = int(rng.integers(len(usccs)))
        if (i, e) in seen:
            continue
        seen.add((i, e))
        reason = reasons[int(rng.choice(len(reasons), p=_p(list(CONFLICT_REASONS.values()))))]
        notes = CONFLICT_NOTES[reason]
        conflicts.append(DemoConflict(
            inspector_id=inspectors[i].inspector_id,
            uscc=usccs[e],
            reason=reason,
            declared_by=who[int(rng.choice(len(who), p=_p(list(DECLARED_BY.values()))))],
            note=notes[int(rng.integers(len(notes)))],
            declared_at=base + dt.timedelta(minutes=int(rng.integers(0, 2 * 365 * 24 * 60))),
        ))
    return Rosters(inspectors, experts, conflicts)


# --- a second district (the several-bureau demo) -----------------------------------


def relocate(block: EntityBlock, area_code: str, district: str, towns: Sequence[tuple[str, str]]) -> EntityBlock:
    """`block` moved to another district of the same city, for the several-bureau demo:
    the USCC's area code (check character recomputed), the towns by position, and
    the district's name in names and addresses. Generated with another seed, the
    moved registry shares nothing but its shape with Pinggu's."""
    from scheduler.library import uscc

    own = reference.TOWNS
    if len(towns) != len(own):
        raise ValueError("relocate needs as many towns as the Pinggu reference")
    town_of = {c: towns[i][0] for i, (c, _) in enumerate(own)}
    words = [("北京市平谷区", f"北京市{district}"), ("北京平谷", f"北京{district[:-1]}"), ("平谷区", district)]
    words += [(name, towns[i][1]) for i, (_, name) in enumerate(own)]
    # Shop names carry the town's short form (平谷区王辛庄…饭店): move those too.
    words += [(_short_town(name), _short_town(towns[i][1])) for i, (_, name) in enumerate(own)]

    def move(text: str) -> str:
        for a, b in words:
            if a in text:
                text = text.replace(a, b)
        return text

    codes = []
    for u in block.uscc:
        head = u[:2] + area_code + u[8:17]
        codes.append(head + uscc.check_char(head))
    return EntityBlock(block.start, codes, [move(n) for n in block.name], block.entity_type, block.industry_code,
                       [town_of[t] for t in block.town_code], [move(a) for a in block.address], block.registered_on,
                       block.status, block.risk_class, block.tags)


def relocate_rosters(r: Rosters, area_code: str, towns: Sequence[tuple[str, str]]) -> Rosters:
    """Rosters of another district: certificate numbers carry its area code, regions its towns."""
    from dataclasses import replace

    region = {name: towns[i][1] for i, (_, name) in enumerate(reference.TOWNS)}
    inspectors = [replace(i, cert_no=area_code + i.cert_no[6:], region=region.get(i.region, i.region)) for i in r.inspectors]
    return Rosters(inspectors, r.experts, r.conflicts)
