"""Tasks near or past their plan's completion time limit (完成时限): flags and reminders.

A task is open while it is not checked yet (drawn, assigned, inspecting). Its due day follows
from its draw (the day it was drawn, Asia/Shanghai, and the period) and its plan's `task_days`
(scheduler/plans/task_limits.py); every task of one draw shares it, so it is computed per draw.
The dashboard and the inspector's task list show the flags; the worker (scheduler/jobs.py)
calls `remind`, which stores one notification per task and flag, once (the notification's
unique key), however often and on however many workers it runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Draw, Notification, Plan, Task, utcnow
from scheduler.calendar import workdays as wd
from scheduler.plans import task_limits as tl

TZ = ZoneInfo("Asia/Shanghai")
OPEN_STATES = ("drawn", "assigned", "inspecting")
KINDS = {tl.DUE_SOON: "task_due_soon", tl.OVERDUE: "task_overdue"}


@dataclass(frozen=True)
class DrawDue:
    draw_id: int
    plan_code: str
    period: str
    bureau_id: int
    due_on: dt.date
    flag: Optional[str]


@dataclass(frozen=True)
class DueTask:
    task_id: int
    uscc: str
    bureau_id: int
    plan_code: str
    period: str
    due_on: dt.date
    flag: str


def _local_day(t: dt.datetime) -> dt.date:
    if t.tzinfo is None:  # SQLite hands back naive UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(TZ).date()


def today_local(now: Optional[dt.datetime] = None) -> dt.date:
    return _local_day(now or utcnow())


def open_draws(s: Session, cal: wd.WorkdayCalendar, today: dt.date,
               bureau_ids: Optional[Iterable[int]] = None) -> list[DrawDue]:
    """Every drawn draw that still has open tasks, with its due day and today's flag.

    A draw whose due day needs a year the calendar does not know yet is left out (the app
    warns about missing years separately); without next year's calendar, "near" is the next 7 days."""
    open_task = select(Task.id).where(Task.draw_id == Draw.id, Task.status.in_(OPEN_STATES)).exists()
    stmt = (select(Draw.id, Plan.code, Draw.period, Plan.bureau_id, func.coalesce(Draw.drawn_at, Draw.frozen_at), Plan.task_days)
            .join(Plan, Plan.id == Draw.plan_id).where(Draw.status == "drawn", open_task).order_by(Draw.id))
    if bureau_ids is not None:
        stmt = stmt.where(Plan.bureau_id.in_(list(bureau_ids)))
    try:
        near = tl.horizon(cal, today)
    except wd.MissingYear:  # late December before next year's holidays are confirmed: a week ahead
        near = today + dt.timedelta(days=7)
    out = []
    for draw_id, code, period, bureau_id, drawn_at, task_days in s.execute(stmt).all():
        try:
            due = tl.due_on(cal, _local_day(drawn_at), period, task_days or 0)
        except wd.MissingYear:
            continue
        out.append(DrawDue(draw_id, code, period, bureau_id, due, tl.flag(today, near, due)))
    return out


def flagged_tasks(s: Session, cal: wd.WorkdayCalendar, today: dt.date,
                  bureau_ids: Optional[Iterable[int]] = None) -> list[DueTask]:
    """The open tasks near or past their limit, most urgent first."""
    draws = {d.draw_id: d for d in open_draws(s, cal, today, bureau_ids) if d.flag}
    if not draws:
        return []
    rows = s.execute(select(Task.id, Task.uscc, Task.bureau_id, Task.draw_id)
                     .where(Task.draw_id.in_(list(draws)), Task.status.in_(OPEN_STATES)).order_by(Task.id)).all()
    out = [DueTask(tid, uscc, bid, draws[did].plan_code, draws[did].period, draws[did].due_on, draws[did].flag)
           for tid, uscc, bid, did in rows]
    return sorted(out, key=lambda t: (t.due_on, t.task_id))


def task_flags(s: Session, cal: wd.WorkdayCalendar, today: dt.date, task_ids: Iterable[int]) -> dict[int, tuple[dt.date, Optional[str]]]:
    """(due day, flag) of each given task that is open and has a due day (the inspector's list)."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = s.execute(select(Task.id, Task.draw_id).where(Task.id.in_(ids), Task.status.in_(OPEN_STATES),
                                                         Task.draw_id.is_not(None))).all()
    draws = {d.draw_id: d for d in open_draws(s, cal, today) if d.draw_id in {did for _t, did in rows}}
    return {tid: (draws[did].due_on, draws[did].flag) for tid, did in rows if did in draws}


def counts(s: Session, cal: wd.WorkdayCalendar, today: dt.date, bureau_ids: Optional[Iterable[int]] = None) -> dict[str, int]:
    """How many open tasks are near (due_soon) and past (overdue) their limit."""
    out = {tl.DUE_SOON: 0, tl.OVERDUE: 0}
    for t in flagged_tasks(s, cal, today, bureau_ids):
        out[t.flag] += 1
    return out


def _message(t: DueTask) -> str:
    when = t.due_on.isoformat()
    if t.flag == tl.OVERDUE:
        return f"抽查任务 #{t.task_id}（{t.uscc}，计划 {t.plan_code} {t.period}）已超过完成时限 {when}，仍未完成检查。"
    return f"抽查任务 #{t.task_id}（{t.uscc}，计划 {t.plan_code} {t.period}）将于 {when} 到达完成时限，请及时完成检查。"


def remind(engine: Engine, now: Optional[dt.datetime] = None, cal: Optional[wd.WorkdayCalendar] = None) -> list[Notification]:
    """One notification per open task and flag (near, then past its limit), never twice."""
    from scheduler.calendar.service import calendar
    from scheduler.draw.runs import notify

    today = today_local(now)
    cal = cal if cal is not None else calendar(engine)
    with Session(engine) as s:
        tasks = flagged_tasks(s, cal, today)
        keys = {f"{KINDS[t.flag]}:{t.task_id}": t for t in tasks}
        sent = set()
        key_list = list(keys)
        for i in range(0, len(key_list), 500):
            sent |= set(s.execute(select(Notification.key).where(Notification.key.in_(key_list[i:i + 500]))).scalars())
    out = []
    for key, t in keys.items():
        if key in sent:
            continue
        n = notify(engine, t.bureau_id, KINDS[t.flag], _message(t), f"task:{t.task_id}", key=key)
        if n is not None:
            out.append(n)
    return out


def overview(engine: Engine, bureau_id: int, today: dt.date, actor=None) -> dict:  # noqa: ANN001 — Actor
    """The dashboard's figures: open tasks near and past their completion time limit in the bureau's
    area (a city: its districts too), and the most urgent of them (at most 50)."""
    from scheduler.access.scope import area, require_bureau
    from scheduler.calendar.service import load_calendar

    with Session(engine) as s:
        require_bureau(s, actor, bureau_id)
        ids = sorted(area(s, bureau_id))
        draws = {d.draw_id: d for d in open_draws(s, load_calendar(s), today, ids) if d.flag}
        return {**_flag_counts(s, draws), "tasks": _most_urgent(s, draws, URGENT_SHOWN)}


URGENT_SHOWN = 50


def _flag_counts(s: Session, draws: dict[int, DrawDue]) -> dict[str, int]:
    """Open tasks per flag, counted in SQL per draw (a draw's tasks share its due day and flag)."""
    out = {tl.DUE_SOON: 0, tl.OVERDUE: 0}
    if draws:
        for did, n in s.execute(select(Task.draw_id, func.count()).where(Task.draw_id.in_(list(draws)),
                                                                          Task.status.in_(OPEN_STATES))
                                .group_by(Task.draw_id)).all():
            out[draws[did].flag] += n
    return out


def _most_urgent(s: Session, draws: dict[int, DrawDue], limit: int) -> list[DueTask]:
    """The first `limit` of flagged_tasks' order (due day, then task id), reading only those rows:
    the draws are taken by due day, and of each day's draws the tasks with the lowest ids."""
    out: list[DueTask] = []
    for due in sorted({d.due_on for d in draws.values()}):
        if len(out) >= limit:
            break
        day = [did for did, d in draws.items() if d.due_on == due]
        rows = s.execute(select(Task.id, Task.uscc, Task.bureau_id, Task.draw_id)
                         .where(Task.draw_id.in_(day), Task.status.in_(OPEN_STATES))
                         .order_by(Task.id).limit(limit - len(out))).all()
        out += [DueTask(tid, uscc, bid, draws[did].plan_code, draws[did].period, due, draws[did].flag)
                for tid, uscc, bid, did in rows]
    return out


def annotate(engine: Engine, rows: list[dict], today: Optional[dt.date] = None) -> list[dict]:
    """Add `limit_on` (due day) and `limit_flag` (Chinese, or "") to task rows that have an `id`."""
    from scheduler.calendar.service import load_calendar

    with Session(engine) as s:
        flags = task_flags(s, load_calendar(s), today or today_local(), [r["id"] for r in rows])
    for r in rows:
        due, flag = flags.get(r["id"], (None, None))
        r["limit_on"], r["limit_flag"] = due, tl.FLAG_LABELS.get(flag or "", "")
    return rows
