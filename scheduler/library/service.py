"""Read-side services over the two rosters and one list."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import (
    Bureau,
    CheckItem,
    Conflict,
    Department,
    Draw,
    Enterprise,
    Expert,
    Inspector,
    Plan,
    Task,
    Town,
)
from scheduler.access.context import Actor
from scheduler.access.scope import require_bureau

COUNTED = {
    "enterprises": Enterprise,
    "inspectors": Inspector,
    "experts": Expert,
    "items": CheckItem,
    "conflicts": Conflict,
    "departments": Department,
    "towns": Town,
    "bureaus": Bureau,
    "plans": Plan,
    "draws": Draw,
    "tasks": Task,
}


def library_counts(engine: Engine, bureau_id: Optional[int] = None, actor: Optional[Actor] = None) -> dict[str, int]:
    """Row counts of each library; with `bureau_id` (PermissionDenied outside the actor's scope), that
    bureau's rows: its roster, items, plans, tasks, towns, and the entities and draws of its area."""
    with Session(engine) as s:
        if bureau_id is None:
            return {k: s.execute(select(func.count()).select_from(m)).scalar_one() for k, m in COUNTED.items()}
        require_bureau(s, actor, bureau_id)
        towns = s.execute(select(Town.bureau_id)).scalars().all()
        area = select(func.count()).select_from(Enterprise)
        if any(b != bureau_id for b in towns):  # a single-bureau registry: no IN filter (a full scan on 1M rows)
            area = area.where(Enterprise.town_code.in_(select(Town.code).where(Town.bureau_id == bureau_id)))
        own = {
            "enterprises": area,
            "bureaus": select(func.count()).select_from(Bureau).where(Bureau.id == bureau_id),
            "draws": select(func.count()).select_from(Draw).join(Plan, Plan.id == Draw.plan_id)
            .where(Plan.bureau_id == bureau_id),
        }
        return {k: s.execute(own[k] if k in own else
                             select(func.count()).select_from(m).where(m.bureau_id == bureau_id)).scalar_one()
                for k, m in COUNTED.items()}
