"""One page of a listing, and LIKE patterns that match the user's text literally.

Every listing is one COUNT plus one LIMIT/OFFSET query, so no page holds more than
`MAX_PAGE_SIZE` rows; search text is always a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

MAX_PAGE_SIZE = 500
LIKE_ESCAPE = "\\"


@dataclass
class Page:
    """One page of a listing; `page` is 1-based and already clamped to the data."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_row(self) -> int:
        """1-based number of the first row shown (0 when empty)."""
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)


def escape_like(q: str) -> str:
    """Make `q` match literally inside a LIKE pattern (escape char: backslash)."""
    return q.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def contains(col, q: str) -> ColumnElement:
    """`col` contains `q` literally (LIKE with its wildcards escaped)."""
    return col.like(f"%{escape_like(q)}%", escape=LIKE_ESCAPE)
