"""Read-side services over the two rosters and one list.

Plain counts over db/tables.py, no ORM models: `dsr stats` answers without importing db/models.py."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db import tables as t
from scheduler.access.context import Actor

COUNTED = {
    "enterprises": t.enterprise,
    "inspectors": t.inspector,
    "experts": t.expert,
    "items": t.checkitem,
    "conflicts": t.conflict,
    "departments": t.department,
    "towns": t.town,
    "bureaus": t.bureau,
    "plans": t.plan,
    "draws": t.draw,
    "tasks": t.task,
}


def library_counts(engine: Engine, bureau_id: Optional[int] = None, actor: Optional[Actor] = None) -> dict[str, int]:
    """Row counts of each library; with `bureau_id` (PermissionDenied outside the actor's scope), that
    bureau's rows: its roster, items, plans, tasks, towns, and the entities and draws of its area."""
    with engine.connect() as conn:
        if bureau_id is None:
            return {k: conn.execute(select(func.count()).select_from(m)).scalar_one() for k, m in COUNTED.items()}
        from scheduler.access.scope import require_bureau  # reads the bureau tree through db/models.py

        require_bureau(conn, actor, bureau_id)
        towns = conn.execute(select(t.town.c.bureau_id)).scalars().all()
        area = select(func.count()).select_from(t.enterprise)
        if any(b != bureau_id for b in towns):  # a single-bureau registry: no IN filter (a full scan on 1M rows)
            area = area.where(t.enterprise.c.town_code.in_(select(t.town.c.code).where(t.town.c.bureau_id == bureau_id)))
        own = {
            "enterprises": area,
            "bureaus": select(func.count()).select_from(t.bureau).where(t.bureau.c.id == bureau_id),
            "draws": select(func.count()).select_from(t.draw).join(t.plan, t.plan.c.id == t.draw.c.plan_id)
            .where(t.plan.c.bureau_id == bureau_id),
        }
        return {k: conn.execute(own[k] if k in own else
                                select(func.count()).select_from(m).where(m.c.bureau_id == bureau_id)).scalar_one()
                for k, m in COUNTED.items()}
