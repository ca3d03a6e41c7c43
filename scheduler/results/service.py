"""From inspection to public record: results, review, publication, corrections, follow-ups.

谁检查、谁录入、谁公开: every check item of a task is entered by a member of the
task's team (of the item's department), reviewed by a reviewer of that
department, and published by that department; a joint task is therefore
completed, reviewed and published department by department. The pure rules
(states, permissions, categories) are in scheduler.results.lifecycle; this module reads
the rows, asks the rules, and writes the change with its TaskEvent and audit
event in one transaction.

The read side (queues, the public list, the dashboard) is one SQL query per
figure or page, with aggregates in the database.

Bureau scope (scheduler/access/scope.py): every write checks that the task's
bureau is in the actor's scope (PermissionDenied otherwise) before the rules of
scheduler.results.lifecycle; the internal reads take an optional `actor` and then cover
only the bureaus in its scope, and for an inspector only their own teams' tasks.
The public reads (published_results, public_history) are not scoped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any, Optional, Sequence

from sqlalchemy import and_, case, distinct, extract, func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from db.models import (
    ChecklistMark, ChecklistPoint, CheckItem, Conflict, Department, Draw, Enterprise, FollowUp, Inspector, ItemResult, ResultCategory,
    ResultCorrection, Task, TaskEvent, TaskItem, TeamMember, Town, join_list, split_list, utcnow,
)
from scheduler.results import checklist as cl
from scheduler.results import lifecycle as lc
from scheduler.library import uscc as uscc_mod
from scheduler.results.lifecycle import Refused
from scheduler.audit import service as auditlog
from scheduler.access.permissions import PermissionDenied, require
from db.paging import MAX_PAGE_SIZE, Page  # noqa: F401 — MAX_PAGE_SIZE: the field records read it here
from scheduler.results.listing import (  # noqa: F401 — the pages and the CLI read the queues and the record here
    LOCAL_TZ,
    PUBLIC_KEYS,
    department_scope,
    local_today,
    publication_queue,
    published_results,
    review_queue,
)
from scheduler.results.listing import authority as _authority
from scheduler.results.listing import category_names as _cat_names
from scheduler.results.listing import names_of as _names
from scheduler.results.listing import page_args as _page_args
from scheduler.access.context import Actor
from scheduler.access.scope import (
    NOT_OWN_TEAM, OTHER_BUREAU, area, in_scope, is_inspector, own_team, require_bureau, require_task, restrict,
    visible_bureaus,
)

__all__ = ["Refused"]

PATH = ("drawn", "assigned", "inspecting", "completed", "reviewed", "published")
DONE = ("completed", "reviewed", "published")
INACTIVE = ("reserve", "replaced", "voided")


def _who(actor: Actor) -> lc.Who:
    return lc.Who(actor.name, actor.role, actor.department_id)


# --- categories ---------------------------------------------------------------------


def seed_categories(session: Session) -> int:
    """Add the national categories that are missing (idempotent); returns how many were added."""
    have = set(session.execute(select(ResultCategory.code)).scalars())
    n = 0
    for c in lc.NATIONAL_CATEGORIES:
        if c.code not in have:
            session.add(ResultCategory(code=c.code, name=c.name, problem=c.problem, no_problem=c.no_problem,
                                       opens_follow_up=c.opens_follow_up, follow_up_action=c.follow_up_action,
                                       sort_order=c.sort_order, active=True))
            n += 1
    session.flush()
    return n


def _categories(s: Session) -> dict[str, lc.Category]:
    rows = list(s.execute(select(ResultCategory)).scalars())
    if not rows:
        seed_categories(s)
        rows = list(s.execute(select(ResultCategory)).scalars())
    return {r.code: lc.Category(r.code, r.name, r.problem, r.no_problem, r.opens_follow_up, r.follow_up_action,
                                r.sort_order, r.active) for r in rows}


def list_categories(engine: Engine, include_inactive: bool = False) -> list[lc.Category]:
    """The categories in their order (scheduler/results/listing.py), the national list seeded first if none is stored."""
    from scheduler.results import listing

    with Session(engine) as s:
        _categories(s)
        s.commit()
    return listing.list_categories(engine, include_inactive)


def add_category(engine: Engine, code: str, name: str, actor: Actor, problem: bool = False,
                 opens_follow_up: bool = False, follow_up_action: str = "") -> lc.Category:
    """An administrator extends the list (e.g. 被撤销登记, 不合格)."""
    if actor.role != "admin":
        raise Refused("只有管理员可以增加检查结果类别")
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name or ";" in code:
        raise Refused("类别编码和名称不能为空，编码不能含分号")
    if follow_up_action and follow_up_action not in lc.FOLLOW_UP_ACTIONS:
        raise Refused(f"后续处置方式应为：{'、'.join(lc.FOLLOW_UP_ACTIONS)}")
    with Session(engine) as s:
        cats = _categories(s)
        if code in cats or any(c.name == name for c in cats.values()):
            raise Refused(f"检查结果类别“{code} {name}”已存在")
        order = max((c.sort_order for c in cats.values()), default=0) + 1
        s.add(ResultCategory(code=code, name=name, problem=problem, opens_follow_up=opens_follow_up,
                             follow_up_action=follow_up_action, sort_order=order))
        auditlog.record(s, actor, "category.add", f"category:{code}", {"name": name, "problem": problem,
                                                                      "opens_follow_up": opens_follow_up})
        s.commit()
    return lc.Category(code, name, problem, False, opens_follow_up, follow_up_action, order)


# --- helpers on one task ---------------------------------------------------------------


def _lock_task(s: Session, task_id: int, actor: Optional[Actor] = None) -> Task:
    """The task row, locked; PermissionDenied if its bureau is outside the actor's scope."""
    # Two departments may finish a joint task at the same moment: serialise on the task row.
    stmt = select(Task).where(Task.id == task_id)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    t = s.execute(stmt).scalar_one_or_none()
    if t is None:
        raise Refused(f"任务 #{task_id} 不存在")
    require_bureau(s, actor, t.bureau_id)
    return t


def _team(s: Session, task_id: int) -> dict[str, Optional[int]]:
    return dict(s.execute(
        select(Inspector.inspector_id, TeamMember.department_id)
        .join(Inspector, Inspector.id == TeamMember.inspector_pk)
        .where(TeamMember.task_id == task_id, TeamMember.active.is_(True))
    ).all())


def _task_items(s: Session, task_id: int) -> list[CheckItem]:
    return list(s.execute(select(CheckItem).join(TaskItem, TaskItem.item_id == CheckItem.id)
                          .where(TaskItem.task_id == task_id).order_by(CheckItem.code)).scalars())


def _results(s: Session, task: Task) -> dict[int, ItemResult]:
    """The task's result rows by item id; rows in state 未录入 are created on first use."""
    have = {r.item_id: r for r in s.execute(select(ItemResult).where(ItemResult.task_id == task.id)).scalars()}
    for it in _task_items(s, task.id):
        if it.id not in have:
            r = ItemResult(task_id=task.id, item_id=it.id, department_id=it.department_id, status=lc.NOT_ENTERED)
            s.add(r)
            have[it.id] = r
    s.flush()
    return have


def _move(s: Session, task: Task, dst: str, actor: Actor, reason: str) -> None:
    lc.check_task_move(task.status, dst)
    s.add(TaskEvent(task_id=task.id, from_status=task.status, to_status=dst, actor=actor.name, reason=reason))
    auditlog.record(s, actor, "task.status", f"task:{task.id}", {"from": task.status, "to": dst, "reason": reason},
                    bureau_id=task.bureau_id)
    task.status = dst
    s.add(task)


def _deadline(s: Session, completed_on: dt.date) -> tuple[Optional[dt.date], str]:
    """(deadline, note): a calendar that lacks the year gives no deadline and a note, never a refusal."""
    from scheduler.calendar import workdays
    from scheduler.calendar import service as cal_service

    try:
        # Same computation as calendar.deadline(engine, ...), read in this transaction.
        return workdays.add_working_days(cal_service.load_calendar(s), completed_on,
                                          workdays.PUBLICATION_DAYS), ""
    except workdays.MissingYear as exc:
        return None, f"公示期限未计算：{exc}（请在工作日历中补充该年度后重新计算）"


def _sync(s: Session, task: Task, actor: Actor, reason: str, rows: Optional[dict[int, ItemResult]] = None) -> None:
    """Walk the task to the state its results imply, one recorded step at a time."""
    rows = rows if rows is not None else _results(s, task)
    target = lc.task_status_for(task.status, [r.status for r in rows.values()])
    if target == task.status or target not in PATH or task.status not in PATH:
        return
    for step in PATH[PATH.index(task.status) + 1 : PATH.index(target) + 1]:
        if step == "completed":
            task.completed_on = max(r.inspected_on for r in rows.values() if r.inspected_on)
            task.deadline, note = _deadline(s, task.completed_on)
            if note:
                task.note = f"{task.note}；{note}" if task.note else note
        if step == "published":
            task.published_on = max(r.published_on for r in rows.values() if r.published_on)
        _move(s, task, step, actor, reason)


def _item_of(s: Session, task_id: int, item: int | str) -> CheckItem:
    for it in _task_items(s, task_id):
        if it.id == item or it.code == item:
            return it
    raise Refused(f"检查事项“{item}”不属于任务 #{task_id}")


def checklist_marks(s: Session, task_id: int, item_id: int) -> dict[int, str]:
    """The 检查表 marks of one item of a task: point seq → 符合 / 不符合 / 不适用."""
    return dict(s.execute(select(ChecklistPoint.seq, ChecklistMark.mark)
                          .join(ChecklistPoint, ChecklistPoint.id == ChecklistMark.point_id)
                          .where(ChecklistMark.task_id == task_id, ChecklistMark.item_id == item_id)).all())


def _check_checklist(s: Session, task_id: int, item_id: int, cats: Sequence[lc.Category]) -> None:
    """A category must agree with the item's checklist marks (scheduler.results.checklist)."""
    marks = checklist_marks(s, task_id, item_id)
    if marks:
        texts = dict(s.execute(select(ChecklistPoint.seq, ChecklistPoint.text).where(ChecklistPoint.item_id == item_id)).all())
        cl.check_consistency(marks, texts, cats)


def _result(s: Session, result_id: int, actor: Optional[Actor] = None) -> tuple[ItemResult, Task]:
    r = s.get(ItemResult, result_id)
    if r is None:
        raise Refused(f"检查结果 #{result_id} 不存在")
    t = _lock_task(s, r.task_id, actor)
    s.refresh(r)
    return r, t


# --- writes --------------------------------------------------------------------------------


def start_inspection(engine: Engine, task_id: int, actor: Actor) -> Task:
    """An inspector of the team records that the visit has begun (assigned → inspecting)."""
    with Session(engine) as s:
        t = _lock_task(s, task_id, actor)
        team = _team(s, t.id)
        if actor.role != "inspector" or actor.name not in team:
            raise Refused(f"执法检查人员 {actor.name} 不是本任务检查组成员")
        if t.status == "drawn":
            raise Refused("任务尚未匹配完整的检查组，不能开始检查")
        _move(s, t, "inspecting", actor, "开始检查")
        s.commit()
        s.refresh(t)
        return t


def enter_result(engine: Engine, task_id: int, item: int | str, categories: Sequence[str], actor: Actor,
                 note: str = "", inspected_on: Optional[dt.date] = None) -> ItemResult:
    """Enter (or revise before review, or re-enter after a send-back) one item's result.

    `item`: check item id or code; `categories`: codes or names. `inspected_on`
    is the inspection date (default: today, Beijing time), never in the future.
    """
    today = local_today()
    when = inspected_on or today
    if when > today:
        raise Refused(f"检查日期 {when} 不能晚于今天（{today}）")
    with Session(engine) as s:
        t = _lock_task(s, task_id, actor)
        if t.status == "drawn":
            raise Refused("任务尚未匹配完整的检查组，不能录入结果")
        if t.status not in lc.WORKING_STATES:
            raise Refused(f"任务状态为“{lc.TASK_LABELS.get(t.status, t.status)}”，不能录入结果")
        it = _item_of(s, t.id, item)
        lc.may_enter(_who(actor), _team(s, t.id), it.department_id)
        cats = lc.resolve_categories(categories, _categories(s))
        _check_checklist(s, t.id, it.id, cats)
        rows = _results(s, t)
        r = rows[it.id]
        if r.status == lc.PUBLISHED:
            raise Refused("结果已公示，只能通过更正（须填写更正理由）修改")
        if r.status == lc.APPROVED:
            raise Refused("结果已审核，等待公示，不能再修改")
        lc.check_result_move(r.status, lc.PENDING)
        old = r.status
        r.categories = join_list(c.code for c in cats)
        r.note = (note or "").strip()
        r.inspected_on = when
        r.entered_by, r.entered_at = actor.name, utcnow()
        r.status = lc.PENDING
        r.version += 1
        s.add(r)
        auditlog.record(s, actor, "result.enter", f"task:{t.id}/item:{it.code}",
                        {"from": old, "categories": r.categories, "note": r.note, "inspected_on": when.isoformat()},
                        bureau_id=t.bureau_id)
        if t.status == "assigned":
            _move(s, t, "inspecting", actor, "录入首个检查结果")
        _sync(s, t, actor, "全部检查事项已录入结果", rows)
        s.commit()
        s.refresh(r)
        return r


def approve(engine: Engine, result_id: int, actor: Actor) -> ItemResult:
    """A reviewer of the item's department approves; a problem category opens its follow-up."""
    with Session(engine) as s:
        r, t = _result(s, result_id, actor)
        lc.may_review(_who(actor), r.department_id, r.entered_by)
        lc.check_result_move(r.status, lc.APPROVED)
        r.status, r.reviewed_by, r.reviewed_at, r.review_note = lc.APPROVED, actor.name, utcnow(), ""
        s.add(r)
        auditlog.record(s, actor, "result.approve", f"result:{r.id}", {"task": t.id, "categories": r.categories},
                        bureau_id=t.bureau_id)
        _open_follow_up_if_needed(s, r, actor)
        _sync(s, t, actor, "全部检查结果已审核")
        s.commit()
        s.refresh(r)
        return r


def send_back(engine: Engine, result_id: int, reason: str, actor: Actor) -> ItemResult:
    """A reviewer of the item's department returns the result to the inspectors, with a reason."""
    if not (reason or "").strip():
        raise Refused("退回必须说明理由")
    with Session(engine) as s:
        r, t = _result(s, result_id, actor)
        lc.may_review(_who(actor), r.department_id, r.entered_by)
        lc.check_result_move(r.status, lc.RETURNED)
        r.status, r.reviewed_by, r.reviewed_at, r.review_note = lc.RETURNED, actor.name, utcnow(), reason.strip()
        s.add(r)
        auditlog.record(s, actor, "result.return", f"result:{r.id}", {"task": t.id, "reason": reason.strip()},
                        bureau_id=t.bureau_id)
        s.commit()
        s.refresh(r)
        return r


def publish(engine: Engine, task_id: int, actor: Actor, today: Optional[dt.date] = None) -> list[ItemResult]:
    """Publish the actor's department's results of one task (an administrator: every department's).

    Every item concerned must be reviewed (已审核) first; nothing is published otherwise.
    `today` (default: Beijing today) is the publication date compared with the deadline.
    """
    day = today or local_today()
    with Session(engine) as s:
        t = _lock_task(s, task_id, actor)
        rows = _results(s, t)
        mine = [r for r in rows.values() if actor.role == "admin" or r.department_id == actor.department_id]
        if not mine:
            lc.may_publish(_who(actor), -1)
            raise Refused("本任务没有本部门的检查事项")
        for r in mine:
            lc.may_publish(_who(actor), r.department_id)
        todo = [r for r in mine if r.status != lc.PUBLISHED]
        if not todo:
            raise Refused("本部门的检查结果均已公示")
        waiting = [r for r in todo if r.status != lc.APPROVED]
        if waiting:
            raise Refused(f"有 {len(waiting)} 个检查事项的结果尚未审核通过（{waiting[0].status}），不能公示")
        now = utcnow()
        for r in todo:
            lc.check_result_move(r.status, lc.PUBLISHED)
            r.status, r.published_by, r.published_at, r.published_on = lc.PUBLISHED, actor.name, now, day
            s.add(r)
        auditlog.record(s, actor, "result.publish", f"task:{t.id}",
                        {"results": sorted(r.id for r in todo), "published_on": day.isoformat()}, bureau_id=t.bureau_id)
        _sync(s, t, actor, "全部检查结果已公示", rows)
        s.commit()
        for r in todo:
            s.refresh(r)
        return todo


def correct(engine: Engine, result_id: int, categories: Sequence[str], reason: str, actor: Actor,
            note: Optional[str] = None) -> ResultCorrection:
    """Correct a published result; the old and new values and the reason stay on record (and in public)."""
    with Session(engine) as s:
        r, t = _result(s, result_id, actor)
        lc.may_correct(_who(actor), r.department_id, reason)
        if r.status != lc.PUBLISHED:
            raise Refused("只有已公示的结果需要更正；未公示的结果请退回后重新录入")
        cats = lc.resolve_categories(categories, _categories(s))
        _check_checklist(s, t.id, r.item_id, cats)
        new = join_list(c.code for c in cats)
        new_note = r.note if note is None else note.strip()
        if new == r.categories and new_note == r.note:
            raise Refused("更正内容与原结果相同")
        r.version += 1
        c = ResultCorrection(result_id=r.id, task_id=t.id, old_categories=r.categories, new_categories=new,
                             old_note=r.note, new_note=new_note, reason=reason.strip(), version=r.version,
                             corrected_by=actor.name)
        r.categories, r.note = new, new_note
        s.add_all([r, c])
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"更正检查结果 #{r.id}：{reason.strip()}"))
        auditlog.record(s, actor, "result.correct", f"result:{r.id}",
                        {"old": c.old_categories, "new": new, "reason": reason.strip(), "version": r.version},
                        bureau_id=t.bureau_id)
        _open_follow_up_if_needed(s, r, actor)
        s.commit()
        s.refresh(c)
        return c


def _open_follow_up_if_needed(s: Session, r: ItemResult, actor: Actor) -> Optional[FollowUp]:
    cats = _categories(s)
    action = lc.follow_up_action_for([cats[c] for c in split_list(r.categories) if c in cats])
    if action is None:
        return None
    exists = s.execute(select(FollowUp.id).where(FollowUp.result_id == r.id, FollowUp.status == "open")).first()
    if exists:
        return None
    f = FollowUp(task_id=r.task_id, item_id=r.item_id, result_id=r.id, department_id=r.department_id,
                 action=action, opened_by=actor.name)
    s.add(f)
    s.flush()
    auditlog.record(s, actor, "followup.open", f"followup:{f.id}", {"result": r.id, "action": action},
                    bureau_id=s.get(Task, r.task_id).bureau_id)
    return f


def open_follow_up(engine: Engine, result_id: int, action: str, actor: Actor) -> FollowUp:
    """Open a follow-up by hand (e.g. 移送司法机关 decided later)."""
    if action not in lc.FOLLOW_UP_ACTIONS:
        raise Refused(f"后续处置方式应为：{'、'.join(lc.FOLLOW_UP_ACTIONS)}")
    with Session(engine) as s:
        r, t = _result(s, result_id, actor)
        lc.may_follow_up(_who(actor), r.department_id, _team(s, t.id))
        if r.status in (lc.NOT_ENTERED,):
            raise Refused("结果尚未录入，不能开启后续处置")
        f = FollowUp(task_id=t.id, item_id=r.item_id, result_id=r.id, department_id=r.department_id,
                     action=action, opened_by=actor.name)
        s.add(f)
        s.flush()
        auditlog.record(s, actor, "followup.open", f"followup:{f.id}", {"result": r.id, "action": action},
                        bureau_id=t.bureau_id)
        s.commit()
        s.refresh(f)
        return f


def close_follow_up(engine: Engine, follow_up_id: int, outcome: str, actor: Actor,
                    action: Optional[str] = None) -> FollowUp:
    """Close a follow-up with its outcome; it appears in the public record with the item's result.

    No check of the follow-up's record: the app and the CLI close through
    scheduler.results.followup_service.close, which first requires the records the result's
    categories call for (责令整改 and its re-check, 经营异常名录, a disposal)."""
    if not (outcome or "").strip():
        raise Refused("办结后续处置必须填写处置结果")
    if action is not None and action not in lc.FOLLOW_UP_ACTIONS:
        raise Refused(f"后续处置方式应为：{'、'.join(lc.FOLLOW_UP_ACTIONS)}")
    with Session(engine) as s:
        f = s.get(FollowUp, follow_up_id)
        if f is None:
            raise Refused(f"后续处置 #{follow_up_id} 不存在")
        require_bureau(s, actor, s.get(Task, f.task_id).bureau_id)
        lc.may_follow_up(_who(actor), f.department_id, _team(s, f.task_id))
        if f.status != "open":
            raise Refused("该后续处置已办结")
        f.status, f.closed_by, f.closed_at, f.outcome = "closed", actor.name, utcnow(), outcome.strip()
        if action:
            f.action = action
        s.add(f)
        s.add(TaskEvent(task_id=f.task_id, from_status="", to_status="", actor=actor.name,
                        reason=f"后续处置 #{f.id}（{f.action}）办结：{outcome.strip()}"))
        auditlog.record(s, actor, "followup.close", f"followup:{f.id}", {"action": f.action, "outcome": f.outcome},
                        bureau_id=s.get(Task, f.task_id).bureau_id)
        s.commit()
        s.refresh(f)
        return f


def declare_cannot_inspect(engine: Engine, task_id: int, reason: str, actor: Actor) -> Task:
    """无法检查 (e.g. 经营场所无法联系而又不宜替换): a side state, with its reason."""
    with Session(engine) as s:
        t = _lock_task(s, task_id, actor)
        depts = {it.department_id for it in _task_items(s, t.id)}
        lc.may_declare_cannot_inspect(_who(actor), _team(s, t.id), depts, reason)
        entered = s.execute(select(func.count()).select_from(ItemResult).where(
            ItemResult.task_id == t.id, ItemResult.status != lc.NOT_ENTERED)).scalar_one()
        if entered:
            raise Refused("已有检查结果录入，请录入相应结果类别（如“通过登记的住所（经营场所）无法联系”），不能再标记无法检查")
        _move(s, t, "cannot_inspect", actor, reason.strip())
        t.note = f"{t.note}；无法检查：{reason.strip()}" if t.note else f"无法检查：{reason.strip()}"
        s.commit()
        s.refresh(t)
        return t


def record_case_task(engine: Engine, uscc: str, kind: str, items: Sequence[str], department: str, reason: str,
                     actor: Actor, inspectors: Sequence[str] = ()) -> Task:
    """A case-based (投诉举报 个案, kind "case") or special (专项检查, "special") check outside any draw.

    `items`: check item codes; `department`: the department code that orders the
    check; `inspectors`: inspector ids of the team (the first leads; at least two
    sworn inspectors, none in conflict with the entity). It follows the same
    result lifecycle, is labelled by kind in publication, and never counts in
    the random-draw statistics.
    """
    if kind not in lc.CASE_KINDS:
        raise Refused("检查种类应为 case（投诉举报个案）或 special（专项检查）")
    code = (uscc or "").strip().upper()
    if not uscc_mod.is_valid(code):
        raise Refused(f"统一社会信用代码“{uscc}”校验不通过")
    with Session(engine) as s:
        # Department codes repeat across bureaus: the actor's own bureau's first, then the others in scope.
        visible = visible_bureaus(s, actor)
        cands = [d for d in s.execute(select(Department).where(Department.code == department)
                                      .order_by(Department.id)).scalars()]
        dept = next((d for d in cands if d.bureau_id == actor.bureau_id), None) or next(
            (d for d in cands if visible is None or d.bureau_id in visible), None)
        if dept is None:
            if cands:
                raise PermissionDenied(OTHER_BUREAU, "result.case", actor.role)
            raise Refused(f"部门“{department}”不存在")
        lc.may_create_case(_who(actor), dept.id, reason)
        if s.execute(select(Enterprise.id).where(Enterprise.uscc == code)).first() is None:
            raise Refused(f"检查对象名录库中没有统一社会信用代码为 {code} 的市场主体")
        its = list(s.execute(select(CheckItem).where(CheckItem.bureau_id == dept.bureau_id,
                                                     CheckItem.code.in_(list(items)))).scalars())
        missing = sorted(set(items) - {i.code for i in its})
        if missing or not its:
            raise Refused(f"检查事项不存在：{'、'.join(missing) or '未选择'}")
        people = list(dict.fromkeys(inspectors))
        if len(people) < 2:
            raise Refused("检查组至少需要两名执法检查人员（行政处罚法第四十二条）")
        found = {i.inspector_id: i for i in s.execute(select(Inspector).where(
            Inspector.bureau_id == dept.bureau_id, Inspector.inspector_id.in_(people))).scalars()}
        for p in people:
            if p not in found or not found[p].active:
                raise Refused(f"执法检查人员 {p} 不存在或已停用")
        conflicted = s.execute(select(Inspector.inspector_id).join(Conflict, Conflict.inspector_pk == Inspector.id)
                               .where(Conflict.uscc == code, Inspector.inspector_id.in_(people))).scalars().first()
        if conflicted:
            raise Refused(f"执法检查人员 {conflicted} 与该市场主体存在回避关系")
        t = Task(bureau_id=dept.bureau_id, kind=kind, draw_id=None, uscc=code, status="assigned",
                 note=f"{lc.CASE_KINDS[kind]}：{reason.strip()}")
        s.add(t)
        s.flush()
        s.add_all([TaskItem(task_id=t.id, item_id=i.id) for i in its])
        s.add_all([TeamMember(task_id=t.id, inspector_pk=found[p].id, role="leader" if k == 0 else "member",
                              department_id=found[p].department_id, slot=k + 1) for k, p in enumerate(people)])
        s.add(TaskEvent(task_id=t.id, from_status="", to_status="assigned", actor=actor.name, reason=reason.strip()))
        auditlog.record(s, actor, f"task.{kind}", f"task:{t.id}",
                        {"uscc": code, "items": sorted(i.code for i in its), "department": dept.code,
                         "inspectors": people, "reason": reason.strip()}, bureau_id=t.bureau_id)
        s.commit()
        s.refresh(t)
        return t


def recompute_deadlines(engine: Engine, actor: Actor) -> int:
    """Fill deadlines left empty for a missing calendar year (after the year is added); returns how many.

    Who may confirm a year's calendar (administrators) fills them, for the tasks of their scope."""
    require(actor, "calendar.confirm")
    n = 0
    with Session(engine) as s:
        stmt = restrict(select(Task).where(Task.deadline.is_(None), Task.completed_on.is_not(None)), Task.bureau_id,
                        visible_bureaus(s.connection(), actor))
        for t in s.execute(stmt).scalars():
            d, note = _deadline(s, t.completed_on)
            if d is not None:
                t.deadline = d
                s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                                reason=f"补算公示期限：{d}"))
                n += 1
        if n:
            auditlog.record(s, actor, "task.deadlines", "tasks", {"filled": n})
        s.commit()
    return n


# --- read side ---------------------------------------------------------------------------------


def task_results(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """Internal view of one task's items: result state, categories, who entered/reviewed, follow-ups.

    PermissionDenied if the task is outside the actor's scope (for an inspector: not their team's)."""
    with engine.connect() as conn:
        require_task(conn, actor, task_id)
        names = _cat_names(conn)
        rows = conn.execute(
            select(CheckItem.id.label("item_id"), CheckItem.code, CheckItem.name, Department.name.label("department"),
                   CheckItem.department_id, ItemResult.id.label("result_id"), ItemResult.status, ItemResult.categories,
                   ItemResult.note, ItemResult.inspected_on, ItemResult.entered_by, ItemResult.entered_at,
                   ItemResult.reviewed_by, ItemResult.reviewed_at, ItemResult.review_note, ItemResult.published_on,
                   ItemResult.version)
            .join(TaskItem, TaskItem.item_id == CheckItem.id)
            .join(Department, Department.id == CheckItem.department_id)
            .outerjoin(ItemResult, and_(ItemResult.task_id == TaskItem.task_id, ItemResult.item_id == CheckItem.id))
            .where(TaskItem.task_id == task_id).order_by(CheckItem.code)
        ).all()
        fus = defaultdict(list)
        for f in conn.execute(select(FollowUp).where(FollowUp.task_id == task_id).order_by(FollowUp.id)).all():
            fus[f.item_id].append({"id": f.id, "action": f.action, "status": f.status, "outcome": f.outcome})
    out = []
    for r in rows:
        d = dict(r._mapping)
        d["status"] = d["status"] or lc.NOT_ENTERED
        d["category_names"] = _names(d["categories"] or "", names)
        d["follow_ups"] = fus.get(d["item_id"], [])
        out.append(d)
    return out


def inspector_tasks(engine: Engine, inspector_id: str, status: Optional[str] = None, page: int = 1,
                    page_size: int = 50, actor: Optional[Actor] = None) -> Page:
    """Tasks on which `inspector_id` is an active team member (newest first), with each item's result state.

    With an `actor`: tasks of the bureaus in its scope; an inspector may list only their own tasks
    (PermissionDenied for another inspector id), matched on their own bureau's roster.

    Row: id, kind, uscc, name, address, town_name, status, status_label, role, completed_on, deadline,
    items [{item_id, code, name, department, department_id, result_id, result_status}].
    """
    base = (
        select(Task.id, Task.kind, Task.uscc, Enterprise.name, Enterprise.address, Town.name.label("town_name"), Task.status,
               TeamMember.role, Task.completed_on, Task.deadline, Task.note)
        .join(TeamMember, TeamMember.task_id == Task.id)
        .join(Inspector, Inspector.id == TeamMember.inspector_pk)
        .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
        .outerjoin(Town, Town.code == Enterprise.town_code)
        .where(Inspector.inspector_id == inspector_id, TeamMember.active.is_(True), Task.status.not_in(INACTIVE))
    )
    if status is not None:
        base = base.where(Task.status == status)
    if is_inspector(actor):
        if inspector_id != actor.name:
            raise PermissionDenied(NOT_OWN_TEAM, "task.read", actor.role)
        if actor.bureau_id is not None:
            base = base.where(Inspector.bureau_id == actor.bureau_id)
    with engine.connect() as conn:
        cond = in_scope(Task.bureau_id, visible_bureaus(conn, actor))
        if cond is not None:
            base = base.where(cond)
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        page, page_size = _page_args(page, page_size, total)
        rows = [dict(r._mapping) for r in conn.execute(
            base.order_by(Task.id.desc()).limit(page_size).offset((page - 1) * page_size))]
        ids = [r["id"] for r in rows]
        items: dict[int, list] = defaultdict(list)
        if ids:
            for x in conn.execute(
                select(TaskItem.task_id, CheckItem.id, CheckItem.code, CheckItem.name, Department.name.label("dept"),
                       CheckItem.department_id, ItemResult.id.label("rid"), ItemResult.status)
                .join(CheckItem, CheckItem.id == TaskItem.item_id)
                .join(Department, Department.id == CheckItem.department_id)
                .outerjoin(ItemResult, and_(ItemResult.task_id == TaskItem.task_id, ItemResult.item_id == CheckItem.id))
                .where(TaskItem.task_id.in_(ids)).order_by(TaskItem.task_id, CheckItem.code)
            ):
                items[x.task_id].append({"item_id": x.id, "code": x.code, "name": x.name, "department": x.dept,
                                         "department_id": x.department_id, "result_id": x.rid,
                                         "result_status": x.status or lc.NOT_ENTERED})
    for r in rows:
        r["status_label"] = lc.TASK_LABELS.get(r["status"], r["status"])
        r["items"] = items.get(r["id"], [])
    return Page(rows=rows, total=total, page=page, page_size=page_size,
                filters={"inspector_id": inspector_id, "status": status})


def public_history(engine: Engine, task_id: int) -> list[dict[str, Any]]:
    """The public history of a task's published results, corrections included.

    One entry per published item: 检查事项, 检查实施机关, 检查结果 (current), and 历次公示:
    [{版本, 检查结果, 日期, 更正理由}] from the first publication to the latest correction.
    """
    with engine.connect() as conn:
        names = _cat_names(conn)
        res = conn.execute(
            select(ItemResult.id, CheckItem.name.label("item"), _authority(Department).label("dept"), ItemResult.categories,
                   ItemResult.published_on)
            .join(CheckItem, CheckItem.id == ItemResult.item_id)
            .join(Department, Department.id == ItemResult.department_id)
            .where(ItemResult.task_id == task_id, ItemResult.status == lc.PUBLISHED).order_by(CheckItem.code)
        ).all()
        corr: dict[int, list] = defaultdict(list)
        for c in conn.execute(select(ResultCorrection).where(ResultCorrection.task_id == task_id)
                              .order_by(ResultCorrection.id)).all():
            corr[c.result_id].append(c)
    out = []
    for r in res:
        cs = corr.get(r.id, [])
        first = cs[0].old_categories if cs else r.categories
        hist = [{"版本": 1, "检查结果": "、".join(_names(first, names)), "日期": r.published_on.isoformat(), "更正理由": ""}]
        for k, c in enumerate(cs, start=2):
            hist.append({"版本": k, "检查结果": "、".join(_names(c.new_categories, names)),
                         "日期": c.corrected_at.astimezone(LOCAL_TZ).date().isoformat(), "更正理由": c.reason})
        out.append({"检查事项": r.item, "检查实施机关": r.dept, "检查结果": "、".join(_names(r.categories, names)),
                    "历次公示": hist})
    return out


def follow_ups(engine: Engine, department_id: Optional[int] = None, status: Optional[str] = "open",
               actor: Optional[Actor] = None, bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    """Follow-ups (default: open ones) with their task, entity and item; of the tasks of `bureau_id`'s
    area if given (a city: its districts' too, which carry its 市抽县查 tasks).

    With an `actor`: of the bureaus in its scope; an inspector's, of their own teams' tasks only."""
    stmt = (
        select(FollowUp.id, FollowUp.task_id, FollowUp.result_id, FollowUp.department_id, FollowUp.action,
               FollowUp.status, FollowUp.opened_by, FollowUp.opened_at, FollowUp.closed_by, FollowUp.closed_at,
               FollowUp.outcome, Task.uscc, Enterprise.name, CheckItem.name.label("item_name"))
        .join(Task, Task.id == FollowUp.task_id)
        .join(CheckItem, CheckItem.id == FollowUp.item_id)
        .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
        .order_by(FollowUp.opened_at, FollowUp.id)
    )
    if department_id is not None:
        stmt = stmt.where(FollowUp.department_id == department_id)
    if status is not None:
        stmt = stmt.where(FollowUp.status == status)
    if is_inspector(actor):
        stmt = stmt.where(own_team(actor, FollowUp.task_id))
    with engine.connect() as conn:
        if bureau_id is not None:
            require_bureau(conn, actor, bureau_id)
            stmt = stmt.where(Task.bureau_id.in_(sorted(area(conn, bureau_id))))
        cond = department_scope(conn, actor, department_id, Task.bureau_id)
        if cond is not None:
            stmt = stmt.where(cond)
        return [dict(r._mapping) for r in conn.execute(stmt)]


# --- dashboard ------------------------------------------------------------------------------------


def _share(a: int, b: int) -> Optional[float]:
    return round(a / b, 4) if b else None


def random_tasks_of_year(bureau_ids: Collection[int], year: int):
    """The live random tasks carried by `bureau_ids` from the draws of `year` (periods "YYYY…")."""
    return (
        select(Task.id, Task.uscc, Task.status, Task.deadline)
        .join(Draw, Draw.id == Task.draw_id)
        .where(Task.bureau_id.in_(sorted(bureau_ids)), Task.kind == "random", Draw.status != "voided",
               Draw.period.like(f"{int(year)}%"), Task.status.not_in(INACTIVE))
    ).subquery("yt")


def joint_tasks(conn, year_tasks) -> tuple[int, int, int]:
    """Over `year_tasks`: tasks with items of ≥ 2 departments (joint checks), and the visits such
    tasks save (departments − 1 each: 进一次门、查多项事) over the tasks that can still be
    inspected and over the completed ones."""
    per_task = (select(year_tasks.c.status, func.count(distinct(CheckItem.department_id)).label("n"))
                .select_from(TaskItem).join(CheckItem, CheckItem.id == TaskItem.item_id)
                .join(year_tasks, year_tasks.c.id == TaskItem.task_id)
                .group_by(TaskItem.task_id, year_tasks.c.status)).subquery()
    saves = per_task.c.n - 1
    joint, planned, done = conn.execute(select(
        func.coalesce(func.sum(case((per_task.c.n > 1, 1), else_=0)), 0),
        func.coalesce(func.sum(case((per_task.c.status != "cannot_inspect", saves), else_=0)), 0),
        func.coalesce(func.sum(case((per_task.c.status.in_(DONE), saves), else_=0)), 0),
    )).one()
    return int(joint), int(planned), int(done)


def dashboard(engine: Engine, bureau_id: int, year: int, actor: Optional[Actor] = None) -> dict[str, Any]:
    """Figures of the random draws of `year` (draw periods "YYYY…"); case and special checks outside
    draws never count here, only in `outside_draws`.

    Keys: plan {tasks, done, cannot_inspect, completion_share}; joint {tasks, joint, share};
    visits_saved {planned, done} (as `history.visits_saved`);
    coverage {by_risk, by_town, by_industry: {key: {entities, inspected, share}}} (存续 entities of
    the bureau's towns; inspected = a completed random task of the year); publication {department:
    {results, published, on_time, publication_rate, on_time_rate}}; categories {name: count};
    outside_draws {case: n, special: n}. PermissionDenied if `bureau_id` is outside the actor's scope.
    """
    out: dict[str, Any] = {"year": int(year)}
    with engine.connect() as conn:
        require_bureau(conn, actor, bureau_id)
        # A city's figures cover its area: its 市抽县查 tasks are carried by the districts.
        ids = sorted(area(conn, bureau_id))
        year_tasks = random_tasks_of_year(ids, year)
        tasks, done, cannot = conn.execute(select(
            func.count(), func.coalesce(func.sum(case((year_tasks.c.status.in_(DONE), 1), else_=0)), 0),
            func.coalesce(func.sum(case((year_tasks.c.status == "cannot_inspect", 1), else_=0)), 0),
        ).select_from(year_tasks)).one()
        out["plan"] = {"tasks": tasks, "done": int(done), "cannot_inspect": int(cannot),
                       "completion_share": _share(int(done), tasks)}

        joint, planned, done_saved = joint_tasks(conn, year_tasks)
        out["joint"] = {"tasks": tasks, "joint": joint, "share": _share(joint, tasks)}
        out["visits_saved"] = {"planned": planned, "done": done_saved}

        out["coverage"] = _coverage(conn, ids, year_tasks)
        out["publication"] = _publication_by_department(conn, year_tasks)
        out["categories"] = _category_counts(conn, year_tasks)

        outside = dict(conn.execute(
            select(Task.kind, func.count()).where(Task.bureau_id.in_(ids), Task.draw_id.is_(None),
                                                  Task.kind.in_(list(lc.CASE_KINDS)),
                                                  extract("year", Task.created_at) == int(year))
            .group_by(Task.kind)
        ).all())
        out["outside_draws"] = {k: int(outside.get(k, 0)) for k in lc.CASE_KINDS}
    return out


def _coverage(conn: Connection, ids: list[int], year_tasks) -> dict[str, dict[str, dict[str, Any]]]:
    """{by_risk, by_town, by_industry: {key: {entities, inspected, share}}} of the 存续 entities of the towns of `ids`.

    Denominators: one pass over the covering index ix_enterprise_coverage, grouped by full
    industry code (index order, no sort); numerators: only the inspected entities. Folded below."""
    towns = dict(conn.execute(select(Town.code, Town.name).where(Town.bureau_id.in_(ids))).all())
    dims_of = (Enterprise.risk_class, Enterprise.town_code, Enterprise.industry_code)
    alive = and_(Enterprise.status == "存续", Enterprise.town_code.in_(select(Town.code).where(Town.bureau_id.in_(ids))))
    dims: dict[str, dict[str, list[int]]] = {"by_risk": {}, "by_town": {}, "by_industry": {}}
    inspected = select(year_tasks.c.uscc).where(year_tasks.c.status.in_(DONE)).distinct().subquery()
    for slot, stmt in (
        (0, select(*dims_of, func.count()).where(alive).group_by(*dims_of)),
        (1, select(*dims_of, func.count()).join(inspected, inspected.c.uscc == Enterprise.uscc)
            .where(alive).group_by(*dims_of)),
    ):
        for risk, town, ind, n in conn.execute(stmt):
            for dim, key in (("by_risk", risk), ("by_town", towns.get(town, town)), ("by_industry", (ind or "")[:1])):
                dims[dim].setdefault(key or "", [0, 0])[slot] += n
    return {dim: {key: {"entities": n, "inspected": k, "share": _share(k, n)}
                  for key, (n, k) in sorted(v.items())} for dim, v in dims.items()}


def _publication_by_department(conn: Connection, year_tasks) -> dict[str, dict[str, Any]]:
    """Per department (by name): results entered on done tasks, published, published by the deadline."""
    entered = ItemResult.status != lc.NOT_ENTERED
    pub = ItemResult.status == lc.PUBLISHED
    on_time = and_(pub, ItemResult.published_on <= year_tasks.c.deadline)
    out: dict[str, dict[str, Any]] = {}
    for name, n, p, ok in conn.execute(
        select(Department.name, func.count(), func.sum(case((pub, 1), else_=0)), func.sum(case((on_time, 1), else_=0)))
        .select_from(ItemResult)
        .join(year_tasks, year_tasks.c.id == ItemResult.task_id)
        .join(Department, Department.id == ItemResult.department_id)
        .where(entered, year_tasks.c.status.in_(DONE))
        .group_by(Department.name).order_by(Department.name)
    ):
        p, ok = int(p or 0), int(ok or 0)
        out[name] = {"results": n, "published": p, "on_time": ok,
                     "publication_rate": _share(p, n), "on_time_rate": _share(ok, p)}
    return out


def _category_counts(conn: Connection, year_tasks) -> dict[str, int]:
    """Entered results per result category (every category, in its sort order)."""
    entered = ItemResult.status != lc.NOT_ENTERED
    # Results carry a handful of distinct category combinations: count per combination in SQL.
    cats = list(conn.execute(select(ResultCategory.code, ResultCategory.name).order_by(ResultCategory.sort_order)))
    counts: dict[str, int] = defaultdict(int)
    for combo, n in conn.execute(
        select(ItemResult.categories, func.count()).select_from(ItemResult)
        .join(year_tasks, year_tasks.c.id == ItemResult.task_id).where(entered).group_by(ItemResult.categories)
    ):
        for code in split_list(combo):
            counts[code] += n
    return {name: counts.get(code, 0) for code, name in cats}
