"""The registry's national vocabulary: entity types, registration statuses, credit risk classes.

Risk classes are the four of 企业信用风险分类 (国市监信发〔2022〕6号): A low to D high. They
are internal and never shown to the public.
"""

from __future__ import annotations

ENTITY_TYPES = ("企业", "个体工商户", "农民专业合作社")
STATUSES = ("存续", "注销", "吊销", "迁出")
DEFAULT_RISK_CLASSES = ("A", "B", "C", "D")
RISK_CLASS_NAMES = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}
