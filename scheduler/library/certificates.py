"""执法证 (enforcement certificates): when an inspector may be matched, and when to warn.

Pure rules: no database, no clock. A certificate is valid through its 有效期至 date
(inclusive); from the next day the inspector is not eligible for matching (行政处罚法 art. 42:
enforcement by officers holding enforcement credentials). A roster row without an expiry date is
treated as valid: the roster import does not require the column.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

WARN_DAYS = 30
VALID, EXPIRING, EXPIRED, UNKNOWN = "valid", "expiring", "expired", "unknown"
LABELS = {VALID: "有效", EXPIRING: "即将到期", EXPIRED: "已过期", UNKNOWN: "未登记有效期"}


def eligible(valid_until: Optional[dt.date], today: dt.date) -> bool:
    """May the holder be matched on `today`?"""
    return valid_until is None or today <= valid_until


def state(valid_until: Optional[dt.date], today: dt.date, warn_days: int = WARN_DAYS) -> str:
    if valid_until is None:
        return UNKNOWN
    if today > valid_until:
        return EXPIRED
    if (valid_until - today).days <= warn_days:
        return EXPIRING
    return VALID
