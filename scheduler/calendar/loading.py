"""The counting calendar (package and confirmed years) read from the database, cached per process.

Plain SELECTs over db/tables.py, no ORM models: the plan listing needs the calendar for each
plan's next run and answers without importing db/models.py."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Union

from sqlalchemy import select
from sqlalchemy.engine import Connection

from db import tables as t

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the services pass theirs; importing the ORM costs a listing ~0.04 s
from scheduler.calendar import workdays as wd
from scheduler.calendar.listing import CONFIRMED, PACKAGE

# The years that count: built in and confirmed; an entered year waits for its confirmation.
COUNTING = (PACKAGE, CONFIRMED)

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple, wd.WorkdayCalendar]] = {}


def _stamp(conn: Union[Connection, "Session"]) -> tuple:
    # Every write adds a year or bumps its revision and updated_at; the time
    # also tells apart a database that was emptied and filled again.
    y = t.calendaryear.c
    return tuple(conn.execute(select(y.year, y.status, y.revision, y.updated_at).order_by(y.year)).all())


def load_calendar(conn: Union[Connection, "Session"]) -> wd.WorkdayCalendar:
    """The counting calendar (package and confirmed years), cached per process.

    The cache is keyed by database URL and checked against a version stamp on
    every call (one small query over the years), so an administrator's confirmation made
    by another process is picked up at the next call.
    """
    bind = conn.engine if isinstance(conn, Connection) else conn.get_bind()
    key = bind.url.render_as_string(hide_password=False)
    stamp = _stamp(conn)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
    y, d = t.calendaryear.c, t.calendarday.c
    years = [v for (v,) in conn.execute(select(y.year).where(y.status.in_(COUNTING))).all()]
    rows = conn.execute(select(d.day, d.kind).join(t.calendaryear, y.year == d.year).where(y.status.in_(COUNTING))).all()
    cal = wd.WorkdayCalendar(
        years,
        [day for day, k in rows if k == wd.HOLIDAY],
        [day for day, k in rows if k == wd.WORKDAY],
    )
    with _cache_lock:
        _cache[key] = (stamp, cal)
    return cal
