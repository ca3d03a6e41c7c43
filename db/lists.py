"""Multi-valued text fields (tags, qualifications, scopes, result categories) as stored: sorted,
de-duplicated, ';'-joined text (db/models.py). Apart from the models so that the listings that read
without them (db/tables.py) split the same way."""

from __future__ import annotations

from typing import Iterable, Optional


def join_list(values: Iterable[Optional[str]]) -> str:
    """Canonical storage of a multi-valued field: sorted, unique, ';'-joined."""
    return ";".join(sorted({v.strip() for v in values if v and v.strip()}))


def split_list(value: Optional[str]) -> list[str]:
    return [v for v in (value or "").split(";") if v]
