"""完成时限: the time a plan gives its tasks to be checked, and which tasks are near or past it.

Pure: no database, no clock; the caller passes the working-day calendar and today.
A plan's `task_days` is N > 0 (a task is due on the N-th working day after the day of its
draw, Asia/Shanghai) or 0 (due on the last day of the draw's period: the month, the
quarter or the year). A task is near its limit when at most 5 working days are left until it
(working days after today, up to and including the due day), and past it from the day after.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt

from scheduler.calendar import workdays as wd

NEAR_WORKING_DAYS = 5
DUE_SOON, OVERDUE = "due_soon", "overdue"
FLAG_LABELS = {DUE_SOON: "临近完成时限", OVERDUE: "已超过完成时限"}


def period_end(period: str) -> dt.date:
    """The last day of a draw period: YYYY-MM, YYYY-Qn or YYYY."""
    year = int(period[:4])
    rest = period[5:]
    if not rest:
        return dt.date(year, 12, 31)
    month = int(rest[1]) * 3 if rest.startswith("Q") else int(rest)
    return dt.date(year, month, _cal.monthrange(year, month)[1])


def due_on(cal: wd.WorkdayCalendar, drawn_on: dt.date, period: str, task_days: int) -> dt.date:
    """The day the tasks of a draw made on `drawn_on` for `period` are due (MissingYear propagates)."""
    if task_days > 0:
        return wd.add_working_days(cal, drawn_on, task_days)
    return period_end(period)


def horizon(cal: wd.WorkdayCalendar, today: dt.date) -> dt.date:
    """The last due day that counts as near today: at most 5 working days after today, so a limit on a
    weekend or holiday right after the fifth working day is near too."""
    return wd.add_working_days(cal, today, NEAR_WORKING_DAYS + 1) - dt.timedelta(days=1)


def flag(today: dt.date, near_until: dt.date, due: dt.date) -> str | None:
    """OVERDUE, DUE_SOON or None for an open task due on `due` (`near_until` = horizon(cal, today))."""
    if due < today:
        return OVERDUE
    if due <= near_until:
        return DUE_SOON
    return None


def describe(task_days: int) -> str:
    """The completion time window as the public plan states it (Chinese)."""
    if task_days > 0:
        return f"抽取后 {task_days} 个工作日内完成检查"
    return "抽查期间结束前完成检查"
