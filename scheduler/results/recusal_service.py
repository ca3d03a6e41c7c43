"""当事人申请回避 (行政处罚法 art. 43) on a task, its decision, and the inspectors' certificates as
the team and the dashboard show them.

An accepted request replaces the inspector by the matching's own replacement rule
(scheduler.matching.service.replace_inspector → matching.fast.replace_member: the slot is
re-filled from the draw's seed, the plan code, the period and the task's ticket, over the
roster and conflicts as they stand, so an auditor recomputes it from the package and the
recorded conflicts). The recused inspector is also recorded as a conflict (回避) with the entity,
so no later matching sends them there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, Conflict, Department, Inspector, RecusalRequest, Task, TaskEvent, TeamMember
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import area, require_bureau, require_task
from scheduler.audit import service as auditlog
from scheduler.library import certificates as certs
from scheduler.matching import service as matching
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs

CONFLICT_REASON = "其他"
CONFLICT_SOURCE = "当事人申请"


def _member(s: Session, task_id: int, inspector_id: str) -> tuple[Inspector, TeamMember]:
    row = s.execute(select(Inspector, TeamMember).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                    .where(TeamMember.task_id == task_id, TeamMember.active.is_(True),
                           Inspector.inspector_id == inspector_id)).first()
    if row is None:
        raise lc.Refused(f"{inspector_id} 不在任务 #{task_id} 的检查组中")
    return row[0], row[1]


def request(engine: Engine, task_id: int, inspector_id: str, applicant: str, reason: str, actor: Actor,
            requested_on: Optional[dt.date] = None) -> RecusalRequest:
    """Record a party's request that a team member recuse (the decision follows)."""
    if not (applicant or "").strip() or not (reason or "").strip():
        raise lc.Refused("回避申请须写明申请人和理由")
    day = requested_on or rs.local_today()
    if day > rs.local_today():
        raise lc.Refused(f"申请日期 {day} 不能晚于今天")
    with Session(engine) as s:
        t = rs._lock_task(s, task_id, actor)
        require(actor, "recusal.record", bureau_id=t.bureau_id)
        ins, _ = _member(s, t.id, inspector_id)
        if s.execute(select(RecusalRequest.id).where(RecusalRequest.task_id == t.id, RecusalRequest.inspector_pk == ins.id,
                                                     RecusalRequest.status == "pending")).first():
            raise lc.Refused(f"{inspector_id} 在本任务已有待决定的回避申请")
        r = RecusalRequest(task_id=t.id, inspector_pk=ins.id, applicant=applicant.strip(), reason=reason.strip(),
                           requested_on=day, created_by=actor.name)
        s.add(r)
        s.flush()
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"当事人 {r.applicant} 申请 {inspector_id} 回避：{r.reason}"))
        auditlog.record(s, actor, "recusal.request", f"task:{t.id}",
                        {"request": r.id, "inspector": inspector_id, "applicant": r.applicant, "reason": r.reason,
                         "requested_on": day.isoformat()}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(r)
        return r


def _pending(s: Session, request_id: int, actor: Actor) -> tuple[RecusalRequest, Task, Inspector]:
    r = s.get(RecusalRequest, request_id)
    if r is None:
        raise lc.Refused(f"回避申请 #{request_id} 不存在")
    t = rs._lock_task(s, r.task_id, actor)
    ins = s.get(Inspector, r.inspector_pk)
    require(actor, "recusal.decide", bureau_id=t.bureau_id, department_id=ins.department_id)
    if r.status != "pending":
        raise lc.Refused(f"回避申请 #{request_id} 已作出决定")
    return r, t, ins


def decide(engine: Engine, request_id: int, accept: bool, note: str, actor: Actor) -> RecusalRequest:
    """Accept (the inspector is replaced and recorded as in conflict with the entity) or reject, with reasons."""
    if not (note or "").strip():
        raise lc.Refused("回避决定须说明理由")
    with Session(engine) as s:
        r, t, ins = _pending(s, request_id, actor)
        person, task_id = ins.inspector_id, t.id
    replacement = None
    if accept:
        # The replacement commits first: if nobody can take the seat, the request stays pending.
        row = matching.replace_inspector(engine, task_id, person,
                                         f"当事人申请回避（申请 #{request_id}）经决定同意：{note.strip()}", actor)
        replacement = row.inspector_pk
    with Session(engine) as s:
        r, t, ins = _pending(s, request_id, actor)
        r.status = "accepted" if accept else "rejected"
        r.decided_by, r.decided_on, r.decision_note, r.replacement_pk = actor.name, rs.local_today(), note.strip(), replacement
        s.add(r)
        if accept and s.execute(select(Conflict.id).where(Conflict.inspector_pk == ins.id,
                                                          Conflict.uscc == t.uscc)).first() is None:
            s.add(Conflict(bureau_id=ins.bureau_id, inspector_pk=ins.id, uscc=t.uscc, reason=CONFLICT_REASON,
                           declared_by=CONFLICT_SOURCE, note=f"当事人申请回避 #{r.id}：{r.reason}"[:500]))
        new_id = s.get(Inspector, replacement).inspector_id if replacement else None
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"回避申请 #{r.id}（{ins.inspector_id}）：{'同意' if accept else '驳回'}，{r.decision_note}"))
        auditlog.record(s, actor, "recusal.decide", f"task:{t.id}",
                        {"request": r.id, "inspector": ins.inspector_id, "accepted": accept, "note": r.decision_note,
                         "replacement": new_id}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(r)
        return r


def requests_of(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    with Session(engine) as s:
        require_task(s, actor, task_id)
        rows = s.execute(select(RecusalRequest, Inspector.inspector_id, Inspector.name)
                         .join(Inspector, Inspector.id == RecusalRequest.inspector_pk)
                         .where(RecusalRequest.task_id == task_id).order_by(RecusalRequest.id)).all()
        return [{"id": r.id, "inspector_id": iid, "name": name, "applicant": r.applicant, "reason": r.reason,
                 "requested_on": r.requested_on, "status": r.status, "decided_by": r.decided_by,
                 "decided_on": r.decided_on, "decision_note": r.decision_note} for r, iid, name in rows]


def team_of(engine: Engine, task_id: int, actor: Optional[Actor] = None, today: Optional[dt.date] = None) -> list[dict]:
    """A task's active inspectors by name and 执法证号, with the certificate's expiry and state."""
    day = today or rs.local_today()
    with Session(engine) as s:
        require_task(s, actor, task_id)
        rows = s.execute(select(TeamMember.role, TeamMember.slot, Inspector.inspector_id, Inspector.name,
                                Inspector.cert_no, Inspector.cert_valid_until, Department.name)
                         .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                         .join(Department, Department.id == Inspector.department_id)
                         .where(TeamMember.task_id == task_id, TeamMember.active.is_(True))
                         .order_by(TeamMember.slot)).all()
    return [{"role": role, "inspector_id": iid, "name": name, "cert_no": cert, "cert_valid_until": until,
             "cert_state": certs.LABELS[certs.state(until, day)], "department": dept}
            for role, _, iid, name, cert, until, dept in rows]


def certificate_warnings(engine: Engine, bureau_code: str, today: Optional[dt.date] = None, days: int = certs.WARN_DAYS,
                         actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """Active inspectors of a bureau's area whose certificate expires within `days` or has expired."""
    day = today or rs.local_today()
    with Session(engine) as s:
        b = s.execute(select(Bureau).where(Bureau.code == bureau_code)).scalar()
        if b is None:
            raise lc.Refused(f"监管局“{bureau_code}”不存在")
        require_bureau(s, actor, b.id)
        rows = s.execute(select(Inspector.inspector_id, Inspector.name, Inspector.cert_no, Inspector.cert_valid_until,
                                Department.name)
                         .join(Department, Department.id == Inspector.department_id)
                         .where(Inspector.bureau_id.in_(sorted(area(s, b.id))), Inspector.active.is_(True),
                                Inspector.cert_valid_until.is_not(None),
                                Inspector.cert_valid_until <= day + dt.timedelta(days=days))
                         .order_by(Inspector.cert_valid_until, Inspector.inspector_id)).all()
    return [{"inspector_id": iid, "name": name, "cert_no": cert, "cert_valid_until": until,
             "days_left": (until - day).days, "state": certs.LABELS[certs.state(until, day, days)], "department": dept}
            for iid, name, cert, until, dept in rows]
