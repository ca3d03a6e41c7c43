"""How the app writes numbers, times, industries and empty values for people to read.

One place for it, so that every page says the same thing the same way: thousands separators,
percentages with one decimal, Beijing time, GB/T 4754 section names, "—" for an empty value
(never "None", "nan" or "empty"), and days left as "19" or "已超期 3 个工作日".
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Optional
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
EMPTY = "—"

# GB/T 4754-2017 国民经济行业分类: the 20 sections (门类).
INDUSTRY_SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}


def is_empty(value: Any) -> bool:
    """None, "", NaN/NaT (pandas' missing values) and the strings "None"/"nan"/"empty"."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip().lower() in ("", "none", "nan", "nat", "empty", "null"):
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict, set)) else False
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    """A value for a table cell or a sentence: "—" when empty."""
    return EMPTY if is_empty(value) else str(value)


def number(value: Any) -> str:
    """12345 -> "12,345"; 12345.6 -> "12,345.6"; empty -> "—"."""
    if is_empty(value):
        return EMPTY
    f = float(value)
    return f"{int(f):,}" if f.is_integer() else f"{f:,.1f}"


def percent(value: Any, *, fraction: bool = True) -> str:
    """0.1234 -> "12.3%" (fraction=False: 12.34 -> "12.3%"); empty -> "—"."""
    if is_empty(value):
        return EMPTY
    f = float(value) * (100 if fraction else 1)
    return f"{f:.1f}%"


def working_days_left(value: Any) -> str:
    """剩余工作日: 19 -> "19"; -3 -> "已超期 3 个工作日"; 0 -> "0（今日截止）"; empty -> "—"."""
    if is_empty(value):
        return EMPTY
    n = int(round(float(value)))
    if n < 0:
        return f"已超期 {-n} 个工作日"
    return "0（今日截止）" if n == 0 else str(n)


def beijing(value: Optional[dt.datetime], fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as Beijing time; naive times are taken as UTC; empty -> "—"."""
    if is_empty(value):
        return EMPTY
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(BEIJING).strftime(fmt)


def industry(code: Any) -> str:
    """"F" or "F5211" -> "F 批发和零售业" (the GB/T 4754 section named); empty -> "—"."""
    if is_empty(code):
        return EMPTY
    code = str(code).strip()
    name = INDUSTRY_SECTIONS.get(code[:1].upper())
    if name is None:
        return code
    return f"{code[:1].upper()} {name}" if len(code) == 1 else f"{code}（{name}）"


def whole_step_axis(max_value: Any) -> dict[str, Any]:
    """Vega-Lite axis settings for a count: whole-number ticks only (no 0.5 inspections)."""
    top = 0 if is_empty(max_value) else max(int(math.ceil(float(max_value))), 1)
    return {"format": "d", "tickMinStep": 1, "values": None if top > 10 else list(range(top + 1))}


def normalize_digits(text: Any) -> str:
    """A seed as read aloud and typed: full-width digits made half-width (NFKC), and the spaces,
    hyphens and commas people group digits with removed. Anything else stays, for the check to name."""
    import re
    import unicodedata

    return re.sub(r"[\s\-_,，、.·]+", "", unicodedata.normalize("NFKC", str(text or "")))


def period_of(day: dt.date, quarterly: bool = False) -> str:
    """The draw period a day falls in: YYYY-MM, or YYYY-Qn for a quarterly plan."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}" if quarterly else f"{day:%Y-%m}"


def plan_periods(code: str, name: str, today: dt.date, quarterly: bool = False) -> list[str]:
    """The periods a plan may be drawn for: the months (or quarters) of the plan's year, the year read
    from its code or name (PG-2026-SP, 2026年度…); without one, this year's and next year's."""
    import re

    m = re.search(r"(?<!\d)(20\d{2})(?!\d)", f"{code} {name}")
    years = [int(m.group(1))] if m else [today.year, today.year + 1]
    if quarterly:
        return [f"{y}-Q{q}" for y in years for q in range(1, 5)]
    return [f"{y}-{mo:02d}" for y in years for mo in range(1, 13)]
