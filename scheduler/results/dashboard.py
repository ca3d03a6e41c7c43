"""The 首页 dashboard's reads: this month's draws, publication deadlines, visits saved.

One grouped query each, scoped to the acting account's bureau (PermissionDenied outside it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.models import Department, Draw, ItemResult, Plan, Task
from scheduler.access.context import Actor
from scheduler.access.scope import area, require_bureau
from scheduler.calendar import service as cal_service
from scheduler.calendar import workdays as wd
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs


def periods_of_month(day: dt.date) -> list[str]:
    """The draw periods that cover `day`'s month: the month, its quarter, its year."""
    return [f"{day.year:04d}-{day.month:02d}", f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}", f"{day.year:04d}"]


def month_plans(engine: Engine, bureau_id: int, day: dt.date, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Draws whose period covers `day`'s month, with their task counts by state.

    Row: draw_id, plan_code, plan_name, period, draw_status, tasks, states {status: n}, short (drawn, i.e. short-staffed).
    PermissionDenied if `bureau_id` is outside the actor's scope.
    """
    periods = periods_of_month(day)
    with engine.connect() as conn:
        require_bureau(conn, actor, bureau_id)
        draws_ = [dict(r._mapping) for r in conn.execute(
            select(Draw.id.label("draw_id"), Plan.code.label("plan_code"), Plan.name.label("plan_name"), Draw.period,
                   Draw.status.label("draw_status"))
            .join(Plan, Plan.id == Draw.plan_id)
            .where(Plan.bureau_id == bureau_id, Draw.period.in_(periods), Draw.status != "voided")
            .order_by(Plan.code, Draw.period))]
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        ids = [d["draw_id"] for d in draws_]
        if ids:
            for did, status, n in conn.execute(select(Task.draw_id, Task.status, func.count())
                                               .where(Task.draw_id.in_(ids), Task.status.not_in(rs.INACTIVE))
                                               .group_by(Task.draw_id, Task.status)):
                counts[did][status] = n
    for d in draws_:
        st = counts.get(d["draw_id"], {})
        d["states"] = st
        d["tasks"] = sum(st.values())
        d["done"] = sum(n for s, n in st.items() if s in rs.DONE)
        d["short"] = st.get("drawn", 0)
    return draws_


def deadline_overview(engine: Engine, bureau_id: int, today: dt.date, soon: int = 3,
                      actor: Actor | None = None) -> dict[str, Any]:
    """Publication deadlines of tasks completed but not yet published, bureau-wide.

    Keys: overdue, due_soon (within `soon` working days, today included), later, no_deadline
    (counts of tasks), by_department {department name: {overdue, due_soon}} (a joint task
    counts for each department with unpublished results), limit (the last date counted as due soon).
    PermissionDenied if `bureau_id` is outside the actor's scope.
    """
    with engine.connect() as conn:
        require_bureau(conn, actor, bureau_id)
        ids = sorted(area(conn, bureau_id))  # a city: its districts carry its 市抽县查 tasks
    cal = cal_service.calendar(engine)
    try:
        limit = wd.add_working_days(cal, today, soon)
    except wd.MissingYear:
        limit = today + dt.timedelta(days=soon + 2 * (soon // 5 + 1))  # a year not in the calendar: approximate
    waiting = ("completed", "reviewed")
    out: dict[str, Any] = {"overdue": 0, "due_soon": 0, "later": 0, "no_deadline": 0, "by_department": {},
                           "limit": limit}
    with engine.connect() as conn:
        for deadline, n in conn.execute(select(Task.deadline, func.count()).where(
                Task.bureau_id.in_(ids), Task.status.in_(waiting)).group_by(Task.deadline)):
            if deadline is None:
                out["no_deadline"] += n
            elif deadline < today:
                out["overdue"] += n
            elif deadline <= limit:
                out["due_soon"] += n
            else:
                out["later"] += n
        rows = conn.execute(
            select(Department.name, Task.deadline, func.count(func.distinct(Task.id)))
            .select_from(ItemResult).join(Task, Task.id == ItemResult.task_id)
            .join(Department, Department.id == ItemResult.department_id)
            .where(Task.bureau_id.in_(ids), Task.status.in_(waiting), ItemResult.status != lc.PUBLISHED,
                   Task.deadline.is_not(None), Task.deadline <= limit)
            .group_by(Department.name, Task.deadline))
        for name, deadline, n in rows:
            d = out["by_department"].setdefault(name, {"overdue": 0, "due_soon": 0})
            d["overdue" if deadline < today else "due_soon"] += n
    return out


def visits_saved(engine: Engine, bureau_id: int, year: int, actor: Actor | None = None) -> dict[str, int]:
    """进一次门、查多项事: visits a joint check saves (departments − 1 per task), over the random
    tasks of `year`'s draws. Keys: planned (all live tasks but those that cannot be inspected),
    done (completed or further)."""
    with engine.connect() as conn:
        require_bureau(conn, actor, bureau_id)
        _, planned, done = rs.joint_tasks(conn, rs.random_tasks_of_year(area(conn, bureau_id), year))
    return {"planned": planned, "done": done}


def working_days_left(engine: Engine, today: dt.date, deadline: dt.date | None) -> int | None:
    """Working days from `today` to `deadline` (negative once overdue); None without a deadline or calendar year."""
    if deadline is None:
        return None
    try:
        return wd.working_days_between(cal_service.calendar(engine), today, deadline)
    except wd.MissingYear:
        return None


def annual_quotas(engine: Engine, bureau_id: int, year: int, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Per plan of the bureau's year and stratum: the annual quota, drawn, checked so far and remaining
    (scheduler/plans/quota.py). Rows: plan_code, plan_name, stratum, quota, drawn, checked, remaining."""
    from sqlmodel import Session

    from scheduler.plans.quota_rows import year_quotas

    with Session(engine) as s:
        require_bureau(s, actor, bureau_id)
        plans = dict((r[0], (r[1], r[2])) for r in s.execute(
            select(Plan.id, Plan.code, Plan.name).where(Plan.bureau_id == bureau_id, Plan.year == year,
                                                        Plan.kind == "random").order_by(Plan.code)).all())
        quotas = year_quotas(s, list(plans)) if plans else {}
        checked: dict[tuple[int, str], int] = {}
        if plans:
            for pid, stratum, n in s.execute(
                    select(Draw.plan_id, Task.stratum, func.count()).join(Draw, Draw.id == Task.draw_id)
                    .where(Draw.plan_id.in_(list(plans)), Draw.status == "drawn", Draw.period.like(f"{year}%"),
                           Task.rank.is_not(None), Task.status.in_(rs.DONE))
                    .group_by(Draw.plan_id, Task.stratum)).all():
                checked[(pid, stratum)] = int(n)
    out = []
    for pid, (code, name) in plans.items():
        for r in quotas.get(pid, []):
            out.append({"plan_code": code, "plan_name": name, "stratum": r["stratum"], "quota": r["quota"],
                        "drawn": r["drawn"], "checked": checked.get((pid, r["stratum"]), 0), "remaining": r["remaining"]})
    return out


def department_caps(engine: Engine, bureau_id: int, year: int, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Per department and general item with a ratio cap: the entities of the bureau's registry (存续,
    its area) checked this year for that item in draws (selected, not voided or replaced), their
    share of the registry, and the cap. Rows: department, item, cap, checked, entities, share, over."""
    from fractions import Fraction

    from db.models import CheckItem, Enterprise, TaskItem, Town

    with engine.connect() as conn:
        require_bureau(conn, actor, bureau_id)
        towns = select(Town.code).where(Town.bureau_id.in_(sorted(area(conn, bureau_id))))
        entities = conn.execute(select(func.count()).select_from(Enterprise)
                                .where(Enterprise.status == "存续", Enterprise.town_code.in_(towns))).scalar_one()
        items = conn.execute(select(CheckItem.id, CheckItem.name, CheckItem.ratio_cap, Department.name)
                             .join(Department, Department.id == CheckItem.department_id)
                             .where(CheckItem.bureau_id == bureau_id, CheckItem.kind == "general",
                                    CheckItem.ratio_cap.is_not(None))
                             .order_by(Department.name, CheckItem.code)).all()
        ids = [i[0] for i in items]
        counts = dict(conn.execute(
            select(TaskItem.item_id, func.count(Task.uscc.distinct())).join(Task, Task.id == TaskItem.task_id)
            .join(Draw, Draw.id == Task.draw_id)
            .where(TaskItem.item_id.in_(ids), Draw.status == "drawn", Draw.period.like(f"{year}%"),
                   Task.status.not_in(rs.INACTIVE))
            .group_by(TaskItem.item_id)).all()) if ids else {}
    out = []
    for iid, name, cap, dept in items:
        n = int(counts.get(iid, 0))
        share = Fraction(n, entities) if entities else Fraction(0)
        out.append({"department": dept, "item": name, "cap": float(Fraction(cap)), "checked": n, "entities": int(entities),
                    "share": float(share), "over": share > Fraction(cap)})
    return out
