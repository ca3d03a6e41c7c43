"""Read-side services over the two rosters and one list."""

from __future__ import annotations

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


def library_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {k: s.execute(select(func.count()).select_from(m)).scalar_one() for k, m in COUNTED.items()}
