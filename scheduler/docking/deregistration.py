"""Entities that left the frame (注销 / 吊销 / 迁出): their open tasks closed, never replaced silently.

A task not yet begun, or begun with no result entered, is closed as 无法检查 with the reason
naming the result category of the national list that says why (已注销, 已吊销营业执照; 迁出 has
none and is named as such) and the inbound batch that brought the news; a reserve of such an
entity is voided (it can never be taken up). A task with results already entered is left to
its team, which enters the category (the change report lists it): the rules of result entry
(谁检查、谁录入) are not bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from db.models import ItemResult, Task, TaskEvent
from scheduler.access.context import Actor
from scheduler.audit import service as auditlog
from scheduler.results import lifecycle as lc

# The national result category that names each way of leaving (lifecycle.NATIONAL_CATEGORIES).
LEAVING = {"注销": "已注销", "吊销": "已吊销营业执照", "迁出": "已迁出"}
OPEN_STATES = ("drawn", "assigned", "inspecting", "reserve")


@dataclass(frozen=True)
class Closing:
    task_id: int
    uscc: str
    from_status: str
    to_status: str  # cannot_inspect / voided / "" (left to the team: results entered)
    category: str


def plan_closings(s: Session, leaving: dict[str, str]) -> list[Closing]:
    """What happens to the open tasks of `leaving` (uscc -> new status), without changing anything."""
    if not leaving:
        return []
    out = []
    tasks = s.execute(select(Task.id, Task.uscc, Task.status).where(
        Task.uscc.in_(list(leaving)), Task.status.in_(OPEN_STATES)).order_by(Task.id)).all()
    entered = set(s.execute(select(ItemResult.task_id).where(
        ItemResult.task_id.in_([t for t, _, _ in tasks] or [-1]), ItemResult.status != lc.NOT_ENTERED)
        .group_by(ItemResult.task_id).having(func.count() > 0)).scalars())
    for tid, uscc, status in tasks:
        cat = LEAVING.get(leaving[uscc], leaving[uscc])
        if status == "reserve":
            out.append(Closing(tid, uscc, status, "voided", cat))
        elif tid in entered:
            out.append(Closing(tid, uscc, status, "", cat))
        else:
            out.append(Closing(tid, uscc, status, "cannot_inspect", cat))
    return out


def apply_closings(s: Session, closings: list[Closing], actor: Actor, evidence: str) -> None:
    """Move each task as planned, with its TaskEvent and audit event, inside the caller's transaction."""
    for c in closings:
        if not c.to_status:
            continue
        t = s.get(Task, c.task_id)
        lc.check_task_move(t.status, c.to_status)
        reason = f"主体{c.category}（登记状态变更，{evidence}）"
        if c.to_status == "voided":
            reason = f"备选对象{c.category}，不再递补（{evidence}）"
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=c.to_status, actor=actor.name, reason=reason))
        auditlog.record(s, actor, "task.status", f"task:{t.id}",
                        {"from": t.status, "to": c.to_status, "reason": reason}, bureau_id=t.bureau_id)
        label = "无法检查" if c.to_status == "cannot_inspect" else "作废"
        t.note = f"{t.note}；{label}：{reason}" if t.note else f"{label}：{reason}"
        t.status = c.to_status
        s.add(t)
