"""The results' queues and public record as listed (`dsr results queue|public|categories`, the
result pages), in plain SELECTs over db/tables.py: no ORM models, so a listing answers without
importing db/models.py."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.engine import Connection, Engine

from db import tables as t
from db.lists import split_list
from db.paging import MAX_PAGE_SIZE, Page
from scheduler.access.context import Actor
from scheduler.access.permissions import sees_every_bureau
from scheduler.library import uscc as uscc_mod
from scheduler.results import lifecycle as lc

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PUBLIC_KEYS = ("统一社会信用代码", "企业名称", "检查实施机关", "检查类型", "检查日期", "检查事项", "检查结果")

ir, tk, ci, dp, en = t.itemresult.c, t.task.c, t.checkitem.c, t.department.c, t.enterprise.c


def local_today() -> dt.date:
    """Dates of record are Beijing dates (a result published at 07:00 local is that day's)."""
    return dt.datetime.now(LOCAL_TZ).date()


def list_categories(engine: Engine, include_inactive: bool = False) -> list[lc.Category]:
    """The result categories in their order, the active ones unless `include_inactive`; [] before they
    are seeded (scheduler/results/service.py `list_categories` seeds them first)."""
    c = t.resultcategory.c
    with engine.connect() as conn:
        cats = [lc.Category(r.code, r.name, r.problem, r.no_problem, r.opens_follow_up, r.follow_up_action, r.sort_order,
                            r.active)
                for r in conn.execute(select(c.code, c.name, c.problem, c.no_problem, c.opens_follow_up,
                                             c.follow_up_action, c.sort_order, c.active))]
    out = sorted(cats, key=lambda x: (x.sort_order, x.code))
    return out if include_inactive else [x for x in out if x.active]


def page_args(page: int, page_size: int, total: int) -> tuple[int, int]:
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    pages = max(1, -(-total // page_size))
    return max(1, min(int(page), pages)), page_size


def category_names(conn: Any) -> dict[str, str]:
    return dict(conn.execute(select(t.resultcategory.c.code, t.resultcategory.c.name)).all())


def names_of(codes: str, names: dict[str, str]) -> list[str]:
    return [names.get(c, c) for c in split_list(codes)]


def department_scope(conn: Any, actor: Optional[Actor], department_id: Optional[int], bureau_id: Any = tk.bureau_id
                     ) -> Any:
    """The `bureau_id IN (...)` condition of the actor's scope (or None), on the task's bureau column of
    the query it joins (the light one here, the model's in the services); PermissionDenied when the
    department belongs to a bureau outside it."""
    if sees_every_bureau(actor):
        return None
    from scheduler.access.scope import in_scope, require_bureau, visible_bureaus  # the bureau tree: db/models.py

    visible = visible_bureaus(conn, actor)
    if visible is not None and department_id is not None:
        require_bureau(conn, actor, conn.execute(select(dp.bureau_id).where(dp.id == department_id)).scalar_one_or_none())
    return in_scope(bureau_id, visible)


def review_queue(engine: Engine, department_id: int, page: int = 1, page_size: int = 50,
                 actor: Optional[Actor] = None) -> Page:
    """Results of `department_id` waiting for review (待审核), oldest entry first.

    Row: result_id, task_id, kind, uscc, name, item_code, item_name, categories, category_names,
    note, inspected_on, entered_by, entered_at, version.
    """
    base = (
        select(ir.id.label("result_id"), ir.task_id, tk.kind, tk.uscc, en.name, ci.code.label("item_code"),
               ci.name.label("item_name"), ir.categories, ir.note, ir.inspected_on, ir.entered_by, ir.entered_at,
               ir.version)
        .select_from(t.itemresult)
        .join(t.task, tk.id == ir.task_id)
        .join(t.checkitem, ci.id == ir.item_id)
        .outerjoin(t.enterprise, en.uscc == tk.uscc)
        .where(ir.department_id == department_id, ir.status == lc.PENDING)
    )
    with engine.connect() as conn:
        cond = department_scope(conn, actor, department_id)
        if cond is not None:
            base = base.where(cond)
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        page, page_size = page_args(page, page_size, total)
        rows = [dict(r._mapping) for r in conn.execute(
            base.order_by(ir.entered_at, ir.id).limit(page_size).offset((page - 1) * page_size))]
        names = category_names(conn)
    for r in rows:
        r["category_names"] = names_of(r["categories"], names)
    return Page(rows=rows, total=total, page=page, page_size=page_size, filters={"department_id": department_id})


def publication_queue(engine: Engine, department_id: int, today: dt.date,
                      actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """Tasks with reviewed, unpublished results of `department_id`, most urgent first.

    Row: task_id, kind, uscc, name, results (count), result_ids, completed_on, deadline,
    days_left (calendar days to the deadline; None without a deadline), overdue, note.
    """
    stmt = (
        select(tk.id.label("task_id"), tk.kind, tk.uscc, en.name, tk.completed_on, tk.deadline, tk.note,
               func.count(ir.id).label("results"))
        .select_from(t.itemresult)
        .join(t.task, tk.id == ir.task_id)
        .outerjoin(t.enterprise, en.uscc == tk.uscc)
        .where(ir.department_id == department_id, ir.status == lc.APPROVED)
        .group_by(tk.id, tk.kind, tk.uscc, en.name, tk.completed_on, tk.deadline, tk.note)
        .order_by(tk.deadline.is_(None), tk.deadline, tk.id)
    )
    with engine.connect() as conn:
        cond = department_scope(conn, actor, department_id)
        if cond is not None:
            stmt = stmt.where(cond)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        ids: dict[int, list[int]] = defaultdict(list)
        for tid, rid in conn.execute(select(ir.task_id, ir.id).where(
                ir.department_id == department_id, ir.status == lc.APPROVED).order_by(ir.id)):
            ids[tid].append(rid)
    for r in rows:
        r["result_ids"] = ids.get(r["task_id"], [])
        r["days_left"] = (r["deadline"] - today).days if r["deadline"] else None
        r["overdue"] = bool(r["deadline"] and today > r["deadline"])
    return rows


def _type_labels(conn: Connection, task_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    if not task_ids:
        return out
    d, p, ti = t.draw.c, t.plan.c, t.taskitem.c
    for tid, kind, plan_kind, n in conn.execute(
        select(tk.id, tk.kind, p.kind, func.count(distinct(ci.department_id)))
        .select_from(t.task)
        .join(t.taskitem, ti.task_id == tk.id)
        .join(t.checkitem, ci.id == ti.item_id)
        .outerjoin(t.draw, d.id == tk.draw_id)
        .outerjoin(t.plan, p.id == d.plan_id)
        .where(tk.id.in_(list(task_ids)))
        .group_by(tk.id, tk.kind, p.kind)
    ):
        out[tid] = lc.check_type(kind, plan_kind, n)
    return out


def _closed_follow_ups(conn: Connection, result_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    f = t.followup.c
    if result_ids:
        for rid, action, outcome in conn.execute(
            select(f.result_id, f.action, f.outcome).where(f.result_id.in_(list(result_ids)), f.status == "closed")
            .order_by(f.id)
        ):
            out[rid].append(f"后续处置：{action}，{outcome}")
    return out


def authority(department: Any = dp) -> Any:
    """检查实施机关 on the public record: the department's legal name, else its short name (`department`:
    the light table's columns here, the model in the services)."""
    return func.coalesce(func.nullif(department.legal_name, ""), department.name)


def published_results(engine: Engine, q: str = "", page: int = 1, page_size: int = 50) -> Page:
    """The public record: one row per published item result, newest publication first.

    Keys, exactly: 统一社会信用代码, 企业名称, 检查实施机关, 检查类型, 检查日期, 检查事项, 检查结果
    (current value after corrections, plus closed follow-ups). Never risk class,
    inspectors, conflicts, notes or unpublished results. `q`: a USCC or part of a name.
    """
    # The page's ids first (index on status, published_at), then the joins for those rows only:
    # joining first would make the database join every published result before sorting.
    flt = select(ir.id).select_from(t.itemresult).where(ir.status == lc.PUBLISHED)
    q = (q or "").strip()
    if q and uscc_mod.is_valid(q.upper()):
        flt = flt.join(t.task, tk.id == ir.task_id).where(tk.uscc == q.upper())
    elif q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        flt = flt.join(t.task, tk.id == ir.task_id).where(
            select(en.id).where(en.uscc == tk.uscc, en.name.like(like, escape="\\")).exists())
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(flt.subquery())).scalar_one()
        page, page_size = page_args(page, page_size, total)
        ids = list(conn.execute(flt.order_by(ir.published_at.desc(), ir.id.desc())
                                .limit(page_size).offset((page - 1) * page_size)).scalars())
        raw = conn.execute(
            select(ir.id, ir.task_id, tk.uscc, en.name, authority().label("dept"), tk.completed_on,
                   ci.name.label("item"), ir.categories)
            .select_from(t.itemresult)
            .join(t.task, tk.id == ir.task_id)
            .join(t.checkitem, ci.id == ir.item_id)
            .join(t.department, dp.id == ir.department_id)
            .outerjoin(t.enterprise, en.uscc == tk.uscc)
            .where(ir.id.in_(ids))
        ).all() if ids else []
        order = {rid: k for k, rid in enumerate(ids)}
        raw.sort(key=lambda r: order[r.id])
        types = _type_labels(conn, sorted({r.task_id for r in raw}))
        fus = _closed_follow_ups(conn, [r.id for r in raw])
        names = category_names(conn)
    rows = []
    for r in raw:
        result = "、".join(names_of(r.categories, names))
        if fus.get(r.id):
            result += "；" + "；".join(fus[r.id])
        rows.append(dict(zip(PUBLIC_KEYS, (r.uscc, r.name or "", r.dept, types.get(r.task_id, ""),
                                           r.completed_on.isoformat() if r.completed_on else "", r.item, result))))
    return Page(rows=rows, total=total, page=page, page_size=page_size, filters={"q": q})
