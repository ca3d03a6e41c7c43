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

# A drawn entity is replaced by a reserve only when it ceased to exist or moved out before the
# check; 无法联系 is a result to publish and follow up (列入经营异常名录), never a replacement.
GONE_STATUSES = ("注销", "吊销", "迁出")


def replacement_refusal(registry_status: str, reason: str) -> str | None:
    """Why a replacement is refused (Chinese), or None: the registry must show the entity gone,
    or the reason must record the evidence of its 注销、吊销 or 迁出."""
    text = (reason or "").strip()
    if "无法联系" in text:
        return ("“无法联系”不是替换理由：请录入检查结果“通过登记的住所（经营场所）无法联系”并公示，"
                "依法列入经营异常名录")
    if registry_status in GONE_STATUSES or any(g in text for g in GONE_STATUSES):
        return None
    return "只有检查前已注销、吊销或迁出的市场主体才能由备选对象替换，请在理由中写明其依据（如注销登记文书）"
