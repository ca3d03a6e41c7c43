"""The registry's national vocabulary: entity types, registration statuses, credit risk classes.

Risk classes are the four of 企业信用风险分类 (国市监信发〔2022〕6号): A low to D high. They
are internal and never shown to the public.
"""

from __future__ import annotations

ENTITY_TYPES = ("企业", "个体工商户", "农民专业合作社")
STATUSES = ("存续", "注销", "吊销", "迁出")
DEFAULT_RISK_CLASSES = ("A", "B", "C", "D")
RISK_CLASS_NAMES = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}


# What an import file can hold (`dsr import KIND`, the import page), with the name of its list.
# Here rather than in `importing` so that the command line can name them without loading the
# importer (numpy): `dsr --help` lists them.
IMPORT_KINDS: tuple[str, ...] = ("enterprises", "inspectors", "experts", "items", "conflicts")

IMPORT_KIND_NAMES = {
    "enterprises": "检查对象名录库",
    "inspectors": "执法检查人员名录库",
    "experts": "专家库",
    "items": "随机抽查事项清单",
    "conflicts": "回避关系",
}
