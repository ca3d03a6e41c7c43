"""The working-day calendar kept in the database (工作日历).

Years come from two sources: chinese-calendar (`seed_from_package`, status
`package`) and administrators, who enter a year's official schedule before the
package knows it (`enter_year`, status `entered`); a second, different
administrator confirms it (`confirm_year`, status `confirmed`). Only `package`
and `confirmed` years count. Every change writes an audit event in its own
transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.models import CalendarDay, CalendarYear, utcnow
from scheduler.calendar import workdays as wd
from scheduler.calendar.listing import (  # noqa: F401 — the calendar page and the services read them here
    CONFIRMED,
    ENTERED,
    KIND_LABELS,
    PACKAGE,
    PACKAGE_YEARS,
    STATUS_LABELS,
    DayInfo,
    YearInfo,
    list_years,
    year_days,
    year_info,
)
from scheduler.calendar.loading import load_calendar
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.access.context import SYSTEM, Actor
from scheduler.errors import DsrError

PACKAGE_NOTICE = "国务院办公厅节假日安排（软件内置，数据版本 {version}）"


class CalendarError(DsrError, ValueError):
    """A refused calendar change; the message is for the administrator (Chinese)."""

    code = "calendar.refused"


# --- reading -------------------------------------------------------------------------


def calendar(engine: Engine) -> wd.WorkdayCalendar:
    with Session(engine) as s:
        return load_calendar(s)


def missing_years(engine: Engine, today: dt.date) -> list[int]:
    """Years the deadlines will soon need (workdays.years_needed) whose schedule is neither in the
    package nor entered and confirmed: the administrators should enter them now."""
    known = calendar(engine).years
    return [y for y in wd.years_needed(today) if y not in known]


def deadline(engine: Engine, completed_on: dt.date, days: int = wd.PUBLICATION_DAYS) -> dt.date:
    """Publication deadline: the `days`-th working day after `completed_on`
    (the day of completion not counted). MissingYear names a year that is
    neither in the package nor confirmed."""
    return wd.add_working_days(calendar(engine), completed_on, days)


# --- writing -------------------------------------------------------------------------


def seed_from_package(engine: Engine, years: Iterable[int] = PACKAGE_YEARS, actor: Actor = SYSTEM) -> list[int]:
    """Store the years chinese-calendar knows that the database does not have yet.

    Idempotent: a year already present (from the package or entered by an
    administrator) is left alone. Returns the years added.
    """
    wanted = sorted(set(years))
    with Session(engine) as s:
        have = set(s.execute(select(CalendarYear.year).where(CalendarYear.year.in_(wanted))).scalars().all())
        missing = [y for y in wanted if y not in have]
        if not missing:
            return []
        notice = PACKAGE_NOTICE.format(version=wd.package_version())
        now = utcnow()
        added = []
        for y in missing:
            specs = wd.package_schedule(y)  # MissingYear if the package does not know it
            s.add(CalendarYear(year=y, status=PACKAGE, notice=notice, entered_by=actor.name, entered_at=now))
            s.flush()
            s.add_all(CalendarDay(day=d.day, year=y, kind=d.kind, name=d.name, notice=notice) for d in specs)
            added.append(y)
        s.flush()
        auditlog.record(s, actor, "calendar.seed", f"calendar:{added[0]}-{added[-1]}", {"years": added, "source": notice})
        try:
            s.commit()
        except IntegrityError:
            # Another process seeded the same years first.
            s.rollback()
            return []
        return added


def ensure_seeded(engine: Engine) -> None:
    """Seed the package years if they are missing (cheap when they are not)."""
    seed_from_package(engine)


def _refuse(msg: str) -> CalendarError:
    return CalendarError(msg)


def enter_year(
    engine: Engine,
    year: int,
    holidays: list[tuple[dt.date, dt.date, str]],
    workdays: list[dt.date],
    notice: str,
    actor: Actor,
) -> YearInfo:
    """An administrator enters a year's official schedule (status `entered`).

    It does not count until a different administrator confirms it. Re-entering
    a year that is entered but not yet confirmed replaces the entry.
    """
    require(actor, "calendar.enter")
    notice = (notice or "").strip()
    if not notice:
        raise _refuse("请填写国务院办公厅通知文号（如 国办发明电〔2026〕X号）")
    if not (actor.name or "").strip():
        raise _refuse("请填写录入人")
    with Session(engine) as s:
        stmt = select(CalendarYear).where(CalendarYear.year == year)
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = s.execute(stmt).scalar_one_or_none()
        now = utcnow()
        if row is not None and row.status == PACKAGE:
            raise _refuse(f"{year} 年的节假日安排已随软件内置，无需录入")
        if row is not None and row.status == CONFIRMED:
            raise _refuse(f"{year} 年的节假日安排已确认（{row.notice}），不能再修改")
        problems = wd.validate_schedule(year, holidays, workdays)
        if problems:
            raise _refuse("；".join(problems))
        specs = wd.expand_schedule(holidays, workdays)
        if row is None:
            row = CalendarYear(year=year, status=ENTERED, revision=1)
            s.add(row)
        else:
            row.revision += 1
            for d in s.execute(select(CalendarDay).where(CalendarDay.year == year)).scalars().all():
                s.delete(d)
        row.status = ENTERED
        row.notice = notice
        row.entered_by = actor.name
        row.entered_at = now
        row.confirmed_by = ""
        row.confirmed_at = None
        row.updated_at = now
        s.flush()
        s.add_all(CalendarDay(day=d.day, year=year, kind=d.kind, name=d.name, notice=notice) for d in specs)
        s.flush()
        auditlog.record(
            s,
            actor,
            "calendar.enter",
            f"calendar:{year}",
            {
                "year": year,
                "notice": notice,
                "holidays": [[a.isoformat(), b.isoformat(), n] for a, b, n in holidays],
                "workdays": sorted(w.isoformat() for w in workdays),
            },
        )
        s.commit()
    return year_info(engine, year)  # type: ignore[return-value]


def confirm_year(engine: Engine, year: int, actor: Actor) -> YearInfo:
    """A second administrator confirms an entered year; from then on it counts."""
    require(actor, "calendar.confirm")
    if not (actor.name or "").strip():
        raise _refuse("请填写确认人")
    with Session(engine) as s:
        stmt = select(CalendarYear).where(CalendarYear.year == year)
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = s.execute(stmt).scalar_one_or_none()
        if row is None:
            raise _refuse(f"{year} 年的节假日安排尚未录入")
        if row.status == PACKAGE:
            raise _refuse(f"{year} 年的节假日安排随软件内置，无需确认")
        if row.status == CONFIRMED:
            raise _refuse(f"{year} 年的节假日安排已由 {row.confirmed_by} 确认")
        if row.entered_by == actor.name:
            raise _refuse(f"录入人与确认人不能为同一人：{year} 年的安排由 {actor.name} 录入，须由另一名管理员确认")
        now = utcnow()
        row.status = CONFIRMED
        row.confirmed_by = actor.name
        row.confirmed_at = now
        row.updated_at = now
        row.revision += 1
        n_days = s.execute(select(func.count()).select_from(CalendarDay).where(CalendarDay.year == year)).scalar_one()
        auditlog.record(
            s,
            actor,
            "calendar.confirm",
            f"calendar:{year}",
            {"year": year, "notice": row.notice, "entered_by": row.entered_by, "days": n_days},
        )
        s.commit()
    return year_info(engine, year)  # type: ignore[return-value]


def parse_schedule(data: dict) -> tuple[list[tuple[dt.date, dt.date, str]], list[dt.date]]:
    """Holiday ranges and make-up days from the JSON an administrator supplies:

    {"holidays": [{"start": "2027-01-01", "end": "2027-01-01", "name": "元旦"}, ...]
                 (or ["2027-01-01", "2027-01-01", "元旦"]),
     "workdays": ["2027-02-06", ...]}
    """

    def day(v, what: str) -> dt.date:
        try:
            return dt.date.fromisoformat(str(v).strip())
        except ValueError:
            raise CalendarError(f"{what}日期格式应为 YYYY-MM-DD：{v}") from None

    if not isinstance(data, dict):
        raise CalendarError("文件应为 JSON 对象，含 holidays 与 workdays")
    holidays = []
    for h in data.get("holidays") or []:
        if isinstance(h, dict):
            start, end, name = h.get("start"), h.get("end", h.get("start")), h.get("name", "")
        elif isinstance(h, (list, tuple)) and len(h) == 3:
            start, end, name = h
        else:
            raise CalendarError(f"无法识别的放假安排：{h}")
        holidays.append((day(start, "放假"), day(end, "放假"), str(name)))
    workdays = [day(w, "调休上班") for w in data.get("workdays") or []]
    return holidays, workdays


def first_working_day(engine: Engine, year: int, month: int) -> dt.date:
    """The first working day of a month by the stored calendar (for scheduled draws)."""
    return wd.first_working_day(calendar(engine), year, month)
