"""检查表 on the database: an item's checklist, an inspector's marks on a task, and the reads the
field pages show. The rules are in scheduler.results.checklist; results.service checks the
consistency of a category with the marks when a result is entered or corrected.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Optional, Sequence

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import CheckItem, ChecklistMark, ChecklistPoint, ItemResult, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau, require_task
from scheduler.audit import service as auditlog
from scheduler.results import checklist as cl
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs


def _item(s: Session, item_id: int) -> CheckItem:
    it = s.get(CheckItem, item_id)
    if it is None:
        raise lc.Refused(f"检查事项 #{item_id} 不存在")
    return it


def _points(s: Session, it: CheckItem) -> list[ChecklistPoint]:
    """The item's stored checklist; derived from its basis and stored on first use."""
    rows = list(s.execute(select(ChecklistPoint).where(ChecklistPoint.item_id == it.id)
                          .order_by(ChecklistPoint.seq)).scalars())
    if rows:
        return rows
    rows = [ChecklistPoint(item_id=it.id, seq=k, text=t)
            for k, t in enumerate(cl.points_from_basis(it.name, it.legal_basis), start=1)]
    s.add_all(rows)
    s.flush()
    return rows


def set_checklist(engine: Engine, bureau_id: int, item_code: str, points: Sequence[str], actor: Actor) -> list[str]:
    """Replace an item's checklist (its department's planner or an administrator); refused once marked."""
    pts = cl.clean_points(points)
    with Session(engine) as s:
        require_bureau(s, actor, bureau_id)
        it = s.execute(select(CheckItem).where(CheckItem.bureau_id == bureau_id, CheckItem.code == item_code)).scalar()
        if it is None:
            raise lc.Refused(f"检查事项“{item_code}”不存在")
        require(actor, "result.checklist", bureau_id=bureau_id, department_id=it.department_id)
        if s.execute(select(ChecklistMark.id).where(ChecklistMark.item_id == it.id).limit(1)).first():
            raise lc.Refused(f"检查事项“{item_code}”的检查表已有检查记录，不能修改（修改会让已有记录失去依据）")
        s.execute(delete(ChecklistPoint).where(ChecklistPoint.item_id == it.id))
        s.add_all([ChecklistPoint(item_id=it.id, seq=k, text=t) for k, t in enumerate(pts, start=1)])
        auditlog.record(s, actor, "checklist.set", f"item:{it.code}", {"points": pts}, bureau_id=bureau_id)
        s.commit()
    return pts


def mark(engine: Engine, task_id: int, item: str, seq: int, value: str, actor: Actor, note: str = "") -> ChecklistMark:
    """An inspector of the team marks one point of an item's checklist (符合 / 不符合 / 不适用)."""
    cl.check_mark(value, note)
    with Session(engine) as s:
        require(actor, "result.enter")
        t = rs._lock_task(s, task_id, actor)
        if t.status not in lc.WORKING_STATES:
            raise lc.Refused(f"任务状态为“{lc.TASK_LABELS.get(t.status, t.status)}”，不能填写检查表")
        it = rs._item_of(s, t.id, item)
        lc.may_enter(rs._who(actor), rs._team(s, t.id), it.department_id)
        pts = {p.seq: p for p in _points(s, it)}
        if seq not in pts:
            raise lc.Refused(f"检查事项“{it.code}”的检查表没有第 {seq} 项（共 {len(pts)} 项）")
        r = s.execute(select(ItemResult).where(ItemResult.task_id == t.id, ItemResult.item_id == it.id)).scalar()
        if r is not None and r.status in (lc.APPROVED, lc.PUBLISHED):
            raise lc.Refused("结果已审核或已公示，检查表不能再修改")
        row = s.execute(select(ChecklistMark).where(ChecklistMark.task_id == t.id,
                                                    ChecklistMark.point_id == pts[seq].id)).scalar()
        if row is None:
            row = ChecklistMark(task_id=t.id, item_id=it.id, point_id=pts[seq].id, mark=value, marked_by=actor.name)
        row.mark, row.note, row.marked_by, row.marked_at = value, (note or "").strip(), actor.name, utcnow()
        if r is not None and r.status != lc.NOT_ENTERED:
            marks = rs.checklist_marks(s, t.id, it.id)
            marks[seq] = value
            cl.check_consistency(marks, {k: p.text for k, p in pts.items()},
                                 [c for c in rs._categories(s).values() if c.code in r.categories.split(";")])
        s.add(row)
        s.flush()
        auditlog.record(s, actor, "checklist.mark", f"task:{t.id}/item:{it.code}/point:{seq}",
                        {"mark": value, "note": row.note}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(row)
        return row


def task_checklist(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """Each item of a task with its checklist points and their marks (unmarked points have mark "")."""
    with Session(engine) as s:
        require_task(s, actor, task_id)
        out = []
        for it in rs._task_items(s, task_id):
            marks = {m.point_id: m for m in s.execute(select(ChecklistMark).where(
                ChecklistMark.task_id == task_id, ChecklistMark.item_id == it.id)).scalars()}
            pts = list(s.execute(select(ChecklistPoint).where(ChecklistPoint.item_id == it.id)
                                 .order_by(ChecklistPoint.seq)).scalars())
            texts = [(p.seq, p.text, marks.get(p.id)) for p in pts] or [
                (k, t, None) for k, t in enumerate(cl.points_from_basis(it.name, it.legal_basis), start=1)]
            out.append({"item_code": it.code, "item_name": it.name, "basis": it.legal_basis,
                        "points": [{"seq": k, "text": t, "mark": m.mark if m else "", "note": m.note if m else "",
                                    "marked_by": m.marked_by if m else ""} for k, t, m in texts]})
        return out


def my_tasks(engine: Engine, actor: Actor, today: date) -> dict[str, list[dict[str, Any]]]:
    """An inspector's open tasks for the phone page (我的任务): "today" (visit planned today), "month"
    (planned later this month), "other" (not yet scheduled or another month), each task with its
    address and planned date. Results already published are left out."""
    from db.models import Enterprise, Visit, VisitTask

    require(actor, "result.enter")  # the phone page is the inspector's own; other roles use 检查任务
    rows = [r for r in rs.inspector_tasks(engine, actor.name, page_size=rs.MAX_PAGE_SIZE, actor=actor).rows
            if r["status"] in ("assigned", "inspecting", "completed")]
    ids = [r["id"] for r in rows]
    with engine.connect() as conn:
        planned = dict(conn.execute(select(VisitTask.task_id, Visit.planned_on).join(Visit, Visit.id == VisitTask.visit_id)
                                    .where(VisitTask.task_id.in_(ids))).all()) if ids else {}
        addr = dict(conn.execute(select(Enterprise.uscc, Enterprise.address)
                                 .where(Enterprise.uscc.in_(sorted({r["uscc"] for r in rows})))).all()) if rows else {}
    out: dict[str, list[dict[str, Any]]] = {"today": [], "month": [], "other": []}
    for r in rows:
        day = planned.get(r["id"])
        r["planned_on"], r["address"] = day, addr.get(r["uscc"], "")
        key = "today" if day == today else "month" if day and (day.year, day.month) == (today.year, today.month) \
            and day > today else "other"
        out[key].append(r)
    for v in out.values():
        v.sort(key=lambda r: (r["planned_on"] or date.max, r["id"]))
    return out
