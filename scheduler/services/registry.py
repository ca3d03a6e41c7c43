"""Read-side search over the enterprise registry (检查对象名录库), for the UI's registry page."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from db.models import Enterprise, Town
from scheduler.importing import nfkc

COLUMNS = (
    "uscc",
    "name",
    "entity_type",
    "industry_code",
    "town_code",
    "address",
    "registered_on",
    "status",
    "risk_class",
    "tags",
)


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_enterprises(
    engine: Engine,
    q: str = "",
    town_code: str | None = None,
    risk_class: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict], int]:
    """One page of entities (ordered by USCC) and the total number that match.

    `q` matches a substring of the name or a prefix of the USCC. Every value is a
    bound parameter. Rows carry the town's name as `town_name`.
    """
    t = Enterprise.__table__
    conds = []
    q = nfkc(q or "")
    if q:
        pat = _escape_like(q)
        conds.append(or_(t.c.name.like(f"%{pat}%", escape="\\"), t.c.uscc.like(f"{_escape_like(q.upper())}%", escape="\\")))
    if town_code:
        conds.append(t.c.town_code == town_code)
    if risk_class:
        conds.append(t.c.risk_class == risk_class)
    if status:
        conds.append(t.c.status == status)
    page = max(1, int(page))
    page_size = max(1, min(int(page_size), 1000))
    tt = Town.__table__
    cols = [t.c[c] for c in COLUMNS] + [tt.c.name.label("town_name")]
    stmt = (
        select(*cols)
        .join(tt, tt.c.code == t.c.town_code)
        .where(*conds)
        .order_by(t.c.uscc)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    count = select(func.count()).select_from(t).where(*conds)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        total = conn.execute(count).scalar_one()
    return rows, total
