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

ENTITY_TYPES = ("企业", "个体工商户", "农民专业合作社")
STATUSES = ("存续", "注销", "吊销", "迁出")
DEFAULT_RISK_CLASSES = ("A", "B", "C", "D")
RISK_CLASS_NAMES = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}
