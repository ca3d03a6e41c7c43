"""The calendar's years and days as listed (`dsr calendar show`, the calendar page), in plain SELECTs
over db/tables.py: no ORM models, so a listing answers without importing db/models.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db import tables as t
from scheduler.calendar import workdays as wd

PACKAGE = "package"
ENTERED = "entered"
CONFIRMED = "confirmed"
STATUS_LABELS = {PACKAGE: "内置（随软件提供）", ENTERED: "已录入待确认", CONFIRMED: "已确认"}
KIND_LABELS = {wd.HOLIDAY: "放假", wd.WORKDAY: "调休上班"}
PACKAGE_YEARS = range(2004, 2027)


@dataclass(frozen=True)
class YearInfo:
    year: int
    status: str
    status_label: str
    notice: str
    entered_by: str
    entered_at: Optional[dt.datetime]
    confirmed_by: str
    confirmed_at: Optional[dt.datetime]
    holidays: int
    workdays: int


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    kind: str
    kind_label: str
    name: str
    notice: str


def list_years(engine: Engine) -> list[YearInfo]:
    y, d = t.calendaryear.c, t.calendarday.c
    with engine.connect() as conn:
        counts: dict[tuple[int, str], int] = {
            (year, k): n for year, k, n in conn.execute(select(d.year, d.kind, func.count()).group_by(d.year, d.kind)).all()
        }
        rows = conn.execute(select(y.year, y.status, y.notice, y.entered_by, y.entered_at, y.confirmed_by, y.confirmed_at)
                            .order_by(y.year.desc())).all()
    return [YearInfo(r.year, r.status, STATUS_LABELS.get(r.status, r.status), r.notice, r.entered_by, r.entered_at,
                     r.confirmed_by, r.confirmed_at, counts.get((r.year, wd.HOLIDAY), 0), counts.get((r.year, wd.WORKDAY), 0))
            for r in rows]


def year_info(engine: Engine, year: int) -> Optional[YearInfo]:
    return next((y for y in list_years(engine) if y.year == year), None)


def year_days(engine: Engine, year: int) -> list[DayInfo]:
    d = t.calendarday.c
    with engine.connect() as conn:
        rows = conn.execute(select(d.day, d.kind, d.name, d.notice).where(d.year == year).order_by(d.day)).all()
    return [DayInfo(r.day, r.kind, KIND_LABELS.get(r.kind, r.kind), r.name, r.notice) for r in rows]


def package_years_stored(engine: Engine) -> bool:
    """Whether every year of the package is in the database: then seeding it (scheduler/calendar/service.py
    `ensure_seeded`) has nothing to do, and a reader need not load the service to find that out."""
    y = t.calendaryear.c
    with engine.connect() as conn:
        have = set(conn.execute(select(y.year).where(y.year.in_(list(PACKAGE_YEARS)))).scalars())
    return have >= set(PACKAGE_YEARS)
