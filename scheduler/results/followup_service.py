"""Follow-up supervision on the database: steps recorded with their documents and deadlines,
the re-check task of a rectification order, the checked closing, and the reads of the
dashboard and of the public export.

The rules (which steps a category calls for, the time limits, when a follow-up closes) are in
scheduler.results.followup_rules; who may act is lifecycle.may_follow_up, as for the other
follow-up operations of scheduler.results.service. Every write records a TaskEvent and an
audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import (
    Department, Enterprise, FollowUp, FollowUpStep, ItemResult, ResultCategory, Task, TaskEvent, TaskItem,
    TeamMember, split_list, utcnow,
)
from scheduler.access.context import Actor
from scheduler.access.scope import area, is_inspector, own_team, require_bureau
from scheduler.audit import service as auditlog
from scheduler.results import followup_rules as fr
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs

FollowUpRefused = fr.FollowUpRefused
RECHECK_KIND = "recheck"


def _add_wd(s: Session) -> Callable[[dt.date, int], Optional[dt.date]]:
    """Working days by the bureau's calendar; a year the calendar lacks gives no date (never a refusal)."""
    from scheduler.calendar import service as cal_service
    from scheduler.calendar import workdays

    cal = cal_service.load_calendar(s)

    def add(d: dt.date, n: int) -> Optional[dt.date]:
        try:
            return workdays.add_working_days(cal, d, n)
        except workdays.MissingYear:
            return None

    return add


def _steps(s: Session, follow_up_id: int) -> list[FollowUpStep]:
    return list(s.execute(select(FollowUpStep).where(FollowUpStep.follow_up_id == follow_up_id)
                          .order_by(FollowUpStep.id)).scalars())


def _rule_steps(s: Session, rows: list[FollowUpStep]) -> list[fr.Step]:
    out = []
    for r in rows:
        published = False
        if r.kind == "rectify" and r.recheck_task_id is not None:
            published = s.get(Task, r.recheck_task_id).status == "published"
        out.append(fr.Step(r.kind, r.decided_on, r.due_on, published))
    return out


def _load(s: Session, follow_up_id: int, actor: Actor) -> tuple[FollowUp, ItemResult, Task]:
    f = s.get(FollowUp, follow_up_id)
    if f is None:
        raise FollowUpRefused(f"后续处置 #{follow_up_id} 不存在")
    t = rs._lock_task(s, f.task_id, actor)
    lc.may_follow_up(rs._who(actor), f.department_id, rs._team(s, t.id))
    return f, s.get(ItemResult, f.result_id), t


def _recheck_task(s: Session, t: Task, f: FollowUp, deadline: dt.date, actor: Actor) -> Task:
    """复查: the same entity and item, the same team, due on the rectification deadline."""
    re = Task(bureau_id=t.bureau_id, kind=RECHECK_KIND, draw_id=None, uscc=t.uscc, status="assigned",
              note=f"复查：责令整改期限 {deadline.isoformat()}（任务 #{t.id}，后续处置 #{f.id}）")
    s.add(re)
    s.flush()
    s.add(TaskItem(task_id=re.id, item_id=f.item_id))
    for m in s.execute(select(TeamMember).where(TeamMember.task_id == t.id, TeamMember.active.is_(True))
                       .order_by(TeamMember.slot)).scalars():
        s.add(TeamMember(task_id=re.id, inspector_pk=m.inspector_pk, expert_pk=m.expert_pk, role=m.role,
                         department_id=m.department_id, slot=m.slot, pair_ticket=m.pair_ticket, active=True))
    s.add(TaskEvent(task_id=re.id, from_status="", to_status="assigned", actor=actor.name,
                    reason=f"责令整改后复查（原任务 #{t.id}），由原检查组实施"))
    return re


def record_step(engine: Engine, follow_up_id: int, kind: str, actor: Actor, *, doc_no: str = "",
                decided_on: Optional[dt.date] = None, due_on: Optional[dt.date] = None, target: str = "",
                decision: str = "", penalty: str = "", procedure: str = "",
                applied_on: Optional[dt.date] = None) -> FollowUpStep:
    """Record one step of a follow-up (kinds in followup_rules.STEP_LABELS) with its document.

    责令整改 (`rectify`) takes the deadline as `due_on` and creates the re-check task (复查) for
    the same team; 移送司法机关 (`judicial`) records the judicial organs as the receiver."""
    today = rs.local_today()
    if kind == "judicial":
        target = target.strip() or fr.JUDICIAL_TARGET
    fr.check_fields(kind, doc_no or "", decided_on, today, due_on=due_on, target=target, decision=decision,
                    penalty=penalty, procedure=procedure, applied_on=applied_on)
    with Session(engine) as s:
        f, r, t = _load(s, follow_up_id, actor)
        rows = _steps(s, f.id)
        fr.check_step(kind, split_list(r.categories), _rule_steps(s, rows), f.status != "open")
        add = _add_wd(s)
        st = FollowUpStep(follow_up_id=f.id, task_id=t.id, kind=kind, status="done", decided_on=decided_on,
                          applied_on=applied_on, doc_no=(doc_no or "").strip(), target=target.strip(),
                          decision=decision.strip(), penalty=penalty.strip(), procedure=procedure,
                          public=fr.is_public(kind, procedure), created_by=actor.name,
                          due_on=fr.due_of(kind, decided_on, add, applied_on=applied_on, given=due_on))
        if kind == "rectify":
            st.status = "open"
            st.recheck_task_id = _recheck_task(s, t, f, due_on, actor).id
        s.add(st)
        s.flush()
        label = fr.STEP_LABELS[kind]
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"后续处置 #{f.id}：{label}（{st.doc_no or '无文号'}，{decided_on.isoformat()}）"))
        auditlog.record(s, actor, "followup.step", f"followup:{f.id}",
                        {"step": st.id, "kind": kind, "doc_no": st.doc_no, "decided_on": decided_on.isoformat(),
                         "due_on": st.due_on.isoformat() if st.due_on else None, "target": st.target,
                         "decision": st.decision, "penalty": st.penalty, "procedure": procedure,
                         "applied_on": applied_on.isoformat() if applied_on else None,
                         "recheck_task": st.recheck_task_id}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(st)
        return st


def close(engine: Engine, follow_up_id: int, actor: Actor, outcome: str = "", action: Optional[str] = None) -> FollowUp:
    """Close a follow-up once the records its categories call for are there (followup_rules.check_close).

    Without `outcome`, it closes with the outcome its record implies (re-check, penalty, transfer,
    listing). `action`: the follow-up's action as finally taken (lifecycle.FOLLOW_UP_ACTIONS)."""
    if action is not None and action not in lc.FOLLOW_UP_ACTIONS:
        raise FollowUpRefused(f"后续处置方式应为：{'、'.join(lc.FOLLOW_UP_ACTIONS)}")
    with Session(engine) as s:
        f, r, t = _load(s, follow_up_id, actor)
        if f.status != "open":
            raise FollowUpRefused("该后续处置已办结")
        rows = _steps(s, f.id)
        steps = _rule_steps(s, rows)
        fr.check_close(split_list(r.categories), steps, r.inspected_on, _add_wd(s))
        text = (outcome or "").strip() or _default_outcome(s, rows)
        if not text:
            raise FollowUpRefused("办结后续处置必须填写处置结果")
        for st in rows:
            if st.kind == "rectify" and st.status == "open":
                st.status = "done"
                s.add(st)
        f.status, f.closed_by, f.closed_at, f.outcome = "closed", actor.name, utcnow(), text
        f.action = action or f.action
        s.add(f)
        s.add(TaskEvent(task_id=f.task_id, from_status="", to_status="", actor=actor.name,
                        reason=f"后续处置 #{f.id}（{f.action}）办结：{text}"))
        auditlog.record(s, actor, "followup.close", f"followup:{f.id}",
                        {"action": f.action, "outcome": text, "steps": [st.id for st in rows]}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(f)
        return f


def _default_outcome(s: Session, rows: list[FollowUpStep]) -> str:
    """The outcome the record implies: the re-check's result, the penalty, the transfer, the listing."""
    rect = [st for st in rows if st.kind == "rectify" and st.recheck_task_id]
    parts = []
    if rect:
        cats = [c for r in s.execute(select(ItemResult.categories).where(
            ItemResult.task_id == rect[-1].recheck_task_id)).scalars() for c in split_list(r)]
        clean = s.execute(select(ResultCategory.code).where(ResultCategory.no_problem.is_(True))).scalars().all()
        parts.append(fr.recheck_outcome(cats, clean))
    for st in rows:
        if st.kind == "penalty":
            parts.append(f"行政处罚（{st.doc_no}）：{st.penalty}")
        elif st.kind == "no_case":
            parts.append(f"不予立案或结案：{st.decision}")
        elif st.kind in ("transfer", "judicial"):
            parts.append(f"移送{st.target}（{st.doc_no}，{st.decided_on.isoformat()}）")
        elif st.kind == "abnormal_list":
            parts.append(f"列入经营异常名录（{st.doc_no}，{st.decided_on.isoformat()}）")
    return "；".join(parts)


# --- reads --------------------------------------------------------------------------------------


def _step_dict(st: FollowUpStep) -> dict[str, Any]:
    return {"id": st.id, "kind": st.kind, "label": fr.STEP_LABELS.get(st.kind, st.kind), "status": st.status,
            "doc_no": st.doc_no, "decided_on": st.decided_on, "due_on": st.due_on, "applied_on": st.applied_on,
            "target": st.target, "decision": st.decision, "penalty": st.penalty, "procedure": st.procedure,
            "public": st.public, "recheck_task_id": st.recheck_task_id}


def _records(s: Session, ids) -> list[dict[str, Any]]:
    """The follow-ups selected by `ids` (a subquery of FollowUp ids, or a list) with their steps, what is
    still missing and the next deadline: five queries whatever their number (the dashboard reads them all)."""
    follows = list(s.execute(select(FollowUp).where(FollowUp.id.in_(ids)).order_by(FollowUp.id)).scalars())
    results = {r.id: r for r in s.execute(select(ItemResult).where(ItemResult.id.in_(
        select(FollowUp.result_id).where(FollowUp.id.in_(ids))))).scalars()}
    uscc = dict(s.execute(select(Task.id, Task.uscc).where(Task.id.in_(
        select(FollowUp.task_id).where(FollowUp.id.in_(ids))))).all())
    steps: dict[int, list[FollowUpStep]] = {}
    for st in s.execute(select(FollowUpStep).where(FollowUpStep.follow_up_id.in_(ids)).order_by(FollowUpStep.id)).scalars():
        steps.setdefault(st.follow_up_id, []).append(st)
    recheck = dict(s.execute(select(Task.id, Task.status).where(Task.id.in_(
        select(FollowUpStep.recheck_task_id).where(FollowUpStep.follow_up_id.in_(ids))))).all())
    add = _add_wd(s)
    out = []
    for f in follows:
        r, rows = results[f.result_id], steps.get(f.id, [])
        rule_steps = [fr.Step(st.kind, st.decided_on, st.due_on, recheck.get(st.recheck_task_id) == "published")
                      for st in rows]
        codes = split_list(r.categories)
        missing = fr.outstanding(codes, rule_steps, r.inspected_on, add) if f.status == "open" else []
        out.append({"id": f.id, "task_id": f.task_id, "result_id": f.result_id, "action": f.action, "status": f.status,
                    "uscc": uscc.get(f.task_id, ""), "categories": codes, "needs": list(fr.needs(codes)),
                    "outcome": f.outcome, "steps": [_step_dict(st) for st in rows],
                    "missing": [{"what": m, "due_on": d} for m, d in missing],
                    "next_deadline": min((d for _, d in missing if d), default=None)})
    return out


def record(engine: Engine, follow_up_id: int, actor: Optional[Actor] = None) -> dict[str, Any]:
    """One follow-up with its steps, what is still missing and the next deadline."""
    with Session(engine) as s:
        f = s.get(FollowUp, follow_up_id)
        if f is None:
            raise FollowUpRefused(f"后续处置 #{follow_up_id} 不存在")
        require_bureau(s, actor, s.get(Task, f.task_id).bureau_id)
        return _records(s, [follow_up_id])[0]


def board(engine: Engine, bureau_id: int, today: dt.date, actor: Optional[Actor] = None,
          soon_days: int = 5) -> dict[str, Any]:
    """The follow-ups of a bureau's area for the dashboard: open ones with their next deadline,
    overdue and due soon, re-checks waiting, entities on the abnormal list by its decisions."""
    with Session(engine) as s:
        require_bureau(s, actor, bureau_id)
        bureaus = sorted(area(s, bureau_id))
        ids = select(FollowUp.id).join(Task, Task.id == FollowUp.task_id).where(
            Task.bureau_id.in_(bureaus), FollowUp.status == "open")
        if is_inspector(actor):
            ids = ids.where(own_team(actor, FollowUp.task_id))
        rows = _records(s, ids)
    overdue = [r for r in rows if r["next_deadline"] and r["next_deadline"] < today]
    soon = [r for r in rows if r["next_deadline"] and today <= r["next_deadline"] <= today + dt.timedelta(days=soon_days)]
    rechecks = sum(1 for r in rows for st in r["steps"] if st["kind"] == "rectify" and st["status"] == "open")
    listed = [r for r in abnormal_list(engine, bureaus) if r["状态"] == "列入"]
    return {"open": rows, "overdue": overdue, "due_soon": soon, "rechecks_open": rechecks,
            "abnormal_listed": len(listed)}


def _public_steps(engine: Engine, kinds: tuple[str, ...], bureaus: Optional[list[int]] = None):
    """(step, credit code, entity name, department, the result's categories) of the public steps."""
    stmt = (select(FollowUpStep, Task.uscc, Enterprise.name, Department.name.label("dept"), ItemResult.categories)
            .join(FollowUp, FollowUp.id == FollowUpStep.follow_up_id)
            .join(ItemResult, ItemResult.id == FollowUp.result_id)
            .join(Task, Task.id == FollowUpStep.task_id)
            .join(Department, Department.id == FollowUp.department_id)
            .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
            .where(FollowUpStep.kind.in_(kinds), FollowUpStep.public.is_(True))
            .order_by(FollowUpStep.follow_up_id, FollowUpStep.id))
    if bureaus is not None:
        stmt = stmt.where(Task.bureau_id.in_(bureaus))
    with Session(engine) as s:
        return [(st, uscc, name or "", dept, cats) for st, uscc, name, dept, cats in s.execute(stmt).all()]


def abnormal_list(engine: Engine, bureaus: Optional[list[int]] = None) -> list[dict[str, str]]:
    """经营异常名录 as made public: one row per listing decision, with its removal when there is one."""
    with engine.connect() as conn:
        names = dict(conn.execute(select(ResultCategory.code, ResultCategory.name)).all())
    out: list[dict[str, str]] = []
    open_: dict[int, dict[str, str]] = {}
    for st, uscc, name, dept, cats in _public_steps(engine, ("abnormal_list", "abnormal_remove"), bureaus):
        if st.kind == "abnormal_list":
            reason = "、".join(names.get(c, c) for c in split_list(cats) if c in fr.ABNORMAL_CODES)
            row = {"统一社会信用代码": uscc, "企业名称": name, "列入经营异常名录原因": reason,
                   "列入日期": st.decided_on.isoformat(), "列入决定书文号": st.doc_no, "作出决定机关": dept,
                   "移出经营异常名录原因": "", "移出日期": "", "移出决定书文号": "", "状态": "列入"}
            out.append(row)
            open_[st.follow_up_id] = row
        elif st.follow_up_id in open_:
            row = open_.pop(st.follow_up_id)
            row.update({"移出经营异常名录原因": st.decision, "移出日期": st.decided_on.isoformat(),
                        "移出决定书文号": st.doc_no, "状态": "移出"})
    return out


def public_penalties(engine: Engine) -> list[dict[str, str]]:
    """行政处罚信息 decided under the ordinary procedure, which the law makes public."""
    return [{"统一社会信用代码": uscc, "企业名称": name, "行政处罚决定书文号": st.doc_no, "处罚内容": st.penalty,
             "作出处罚决定日期": st.decided_on.isoformat(), "作出处罚决定机关": dept}
            for st, uscc, name, dept, _ in _public_steps(engine, ("penalty",))]


def rechecks_of(engine: Engine, task_id: int) -> list[int]:
    """The re-check tasks opened for a task's follow-ups."""
    with engine.connect() as conn:
        return list(conn.execute(select(FollowUpStep.recheck_task_id).where(
            FollowUpStep.task_id == task_id, FollowUpStep.recheck_task_id.is_not(None))
            .order_by(FollowUpStep.id)).scalars())
