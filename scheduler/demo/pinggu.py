"""Reference data of the demo bureau: Pinggu district, Beijing (京平政办发〔2019〕7号).

Towns and streets: the district's 2 streets, 4 地区 (area offices), 10 towns and
2 townships, with GB/T 2260 county code 110117 plus the statistical township
code. Departments: the joint-meeting member units named in the policy text
(四、(一)); the OCR'd "统计开/税务开" are 统计局/税务局.
"""

from __future__ import annotations

AREA_CODE = "110117"
BUREAU_CODE = "110117"
BUREAU_NAME = "北京市平谷区市场监督管理局"

TOWNS: list[tuple[str, str]] = [
    ("110117001", "滨河街道"),
    ("110117002", "兴谷街道"),
    ("110117003", "渔阳地区"),
    ("110117004", "峪口地区"),
    ("110117005", "马坊地区"),
    ("110117006", "金海湖地区"),
    ("110117101", "东高村镇"),
    ("110117102", "山东庄镇"),
    ("110117104", "南独乐河镇"),
    ("110117105", "大华山镇"),
    ("110117106", "夏各庄镇"),
    ("110117108", "马昌营镇"),
    ("110117110", "王辛庄镇"),
    ("110117111", "大兴庄镇"),
    ("110117112", "刘家店镇"),
    ("110117114", "镇罗营镇"),
    ("110117213", "黄松峪乡"),
    ("110117214", "熊儿寨乡"),
]

# (code, name): the joint-meeting member departments, office at 区市场监管局.
DEPARTMENTS: list[tuple[str, str]] = [
    ("SCJGJ", "区市场监管局"),
    ("FGW", "区发展改革委"),
    ("JW", "区教委"),
    ("GAFJ", "区公安分局"),
    ("RLSBJ", "区人力社保局"),
    ("STHJJ", "区生态环境局"),
    ("ZJW", "区住房城乡建设委"),
    ("JTJ", "区交通局"),
    ("NYNCJ", "区农业农村局"),
    ("SWJ", "区商务局"),
    ("WHLYJ", "区文化和旅游局"),
    ("WJW", "区卫生健康委"),
    ("YJGLJ", "区应急管理局"),
    ("TJJ", "区统计局"),
    ("SWUJ", "区税务局"),
    ("HG", "平谷海关"),
]

# The departments' legal names (检查实施机关 on the public record), "{area}" = 北京市平谷区 or another district.
DEPARTMENT_LEGAL_NAMES: dict[str, str] = {
    "SCJGJ": "{area}市场监督管理局",
    "FGW": "{area}发展和改革委员会",
    "JW": "{area}教育委员会",
    "GAFJ": "北京市公安局{district}分局",
    "RLSBJ": "{area}人力资源和社会保障局",
    "STHJJ": "{area}生态环境局",
    "ZJW": "{area}住房和城乡建设委员会",
    "JTJ": "{area}交通局",
    "NYNCJ": "{area}农业农村局",
    "SWJ": "{area}商务局",
    "WHLYJ": "{area}文化和旅游局",
    "WJW": "{area}卫生健康委员会",
    "YJGLJ": "{area}应急管理局",
    "TJJ": "{area}统计局",
    "SWUJ": "国家税务总局{area}税务局",
    "HG": "中华人民共和国{district}海关",
}


def department_legal_names(district: str = "平谷") -> dict[str, str]:
    """Legal names of a district's departments ("平谷" -> 北京市平谷区…)."""
    return {c: n.format(area=f"北京市{district}区", district=district) for c, n in DEPARTMENT_LEGAL_NAMES.items()}


# --- several bureaus (issue: one door across plans and levels) --------------------
# A city bureau and its district bureaus share one database (`dsr demo --bureaus`).
# Beijing's municipal bureau with Pinggu and Miyun as its districts.

CITY_CODE = "110000"
CITY_NAME = "北京市市场监督管理局"
CITY_AREA_CODE = "110000"


def city_departments() -> list[tuple[str, str]]:
    """The city's joint-meeting member departments: the districts' codes, city names."""
    names = {"HG": "北京海关", "SWUJ": "市税务局", "GAFJ": "市公安局"}
    return [(c, names.get(c, "市" + n[1:] if n.startswith("区") else n)) for c, n in DEPARTMENTS]


MIYUN_CODE = "110118"
MIYUN_NAME = "北京市密云区市场监督管理局"
# Miyun: 18 of its streets, 地区 and towns (as many as Pinggu above); township codes follow the GB/T 2260 +
# statistical pattern of Pinggu above (demo data: check against the official list
# before using them for real).
MIYUN_TOWNS: list[tuple[str, str]] = [
    ("110118001", "鼓楼街道"),
    ("110118002", "果园街道"),
    ("110118003", "檀营地区"),
    ("110118100", "密云镇"),
    ("110118101", "溪翁庄镇"),
    ("110118102", "西田各庄镇"),
    ("110118103", "十里堡镇"),
    ("110118104", "河南寨镇"),
    ("110118105", "巨各庄镇"),
    ("110118106", "穆家峪镇"),
    ("110118107", "太师屯镇"),
    ("110118108", "高岭镇"),
    ("110118109", "不老屯镇"),
    ("110118110", "冯家峪镇"),
    ("110118111", "古北口镇"),
    ("110118112", "大城子镇"),
    ("110118113", "东邵渠镇"),
    ("110118114", "北庄镇"),
]
