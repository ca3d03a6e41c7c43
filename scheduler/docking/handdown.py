"""市抽县查: the city platform's tasks handed down to the district, as a city-tasks batch.

The city drew the entities and matched the teams from the district's roster (its platform keeps
the rosters); each row is one task: the city's task and plan numbers, the entity, the check items
(codes of the district's 随机抽查事项清单) and the team (人员编号 of the district's roster, the first
leads), or no team: then the task arrives as 已抽取（待补足检查组） and the district matches its own
inspectors (scheduler/docking/rematch.py). Every row is checked against the district's own lists and rules before anything is
written: the entity is in the registry and 存续, the items exist, at least two active sworn
inspectors (or none), none in conflict (回避) with the entity. A task with a team arrives as 已匹配检查组 and follows the
ordinary result lifecycle; its published results go back up with `dsr exchange export --to city`.
A task already handed down with the same row changes nothing; with another row it is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlmodel import Session

from db.models import Bureau, CheckItem, CityTask, Conflict, Enterprise, Inspector, Task, TaskEvent, TaskItem, TeamMember
from scheduler.access.context import Actor
from scheduler.audit import service as auditlog
from scheduler.docking import formats as fm
from scheduler.docking.manifest import refuse
from scheduler.library import uscc as uscc_mod

ACTIVE = "存续"


@dataclass
class HandedDown:
    """One valid row: what the task will be."""

    number: int
    city_task_no: str
    plan_code: str
    plan_name: str
    period: str
    uscc: str
    items: list[CheckItem]
    team: list[Inspector]
    deadline: Optional[dt.date]
    draw_ref: str
    sha256: str


def _split(v: str) -> list[str]:
    return list(dict.fromkeys(p.strip() for p in v.replace("；", ";").split(fm.LIST_SEPARATOR) if p.strip()))


class _Lists:
    """The district's lists the rows are checked against, read once."""

    def __init__(self, s: Session, bureau: Bureau, rows: list[tuple[int, dict[str, str]]]) -> None:
        codes = {r.get("统一社会信用代码", "").upper() for _, r in rows}
        self.status = dict(s.execute(select(Enterprise.uscc, Enterprise.status).where(Enterprise.uscc.in_(codes))).all())
        self.items = {i.code: i for i in s.execute(select(CheckItem).where(CheckItem.bureau_id == bureau.id)).scalars()}
        self.people = {i.inspector_id: i for i in s.execute(select(Inspector).where(Inspector.bureau_id == bureau.id)).scalars()}
        self.conflicts = set(s.execute(select(Inspector.inspector_id, Conflict.uscc).join(
            Conflict, Conflict.inspector_pk == Inspector.id).where(Inspector.bureau_id == bureau.id,
                                                                   Conflict.uscc.in_(codes))).all())


def _check_row(file: str, num: int, r: dict[str, str], lists: _Lists, errors: list[str]) -> Optional[HandedDown]:
    def bad(col: str, why: str) -> None:
        errors.append(f"文件 {file} 第 {num} 行 [{col}] 值“{r.get(col, '')}”：{why}")

    code = r.get("统一社会信用代码", "").upper()
    if not uscc_mod.is_valid(code):
        bad("统一社会信用代码", "校验不通过")
    elif code not in lists.status:
        bad("统一社会信用代码", "检查对象名录库中没有该主体")
    elif lists.status[code] != ACTIVE:
        bad("统一社会信用代码", f"该主体登记状态为{lists.status[code]}，不能下发检查任务")
    items = _split(r.get("检查事项编码", ""))
    missing = [c for c in items if c not in lists.items]
    if not items or missing:
        bad("检查事项编码", f"本局随机抽查事项清单中没有：{'、'.join(missing) or '（空）'}")
    people = _split(r.get("检查人员编号", ""))
    unknown = [p for p in people if p not in lists.people or not lists.people[p].active]
    if unknown:
        bad("检查人员编号", f"本局执法检查人员名录库中没有或已停用：{'、'.join(unknown)}")
    elif len(people) == 1:
        bad("检查人员编号", "检查组至少需要两名执法检查人员（行政处罚法第四十二条）")
    conflicted = [p for p in people if (p, code) in lists.conflicts]
    if conflicted:
        bad("检查人员编号", f"与该市场主体存在回避关系：{'、'.join(conflicted)}")
    deadline = None
    if r.get("完成期限"):
        try:
            deadline = dt.date.fromisoformat(r["完成期限"])
        except ValueError:
            bad("完成期限", "日期格式应为 YYYY-MM-DD")
    if not r.get("市级任务编号") or not r.get("市级计划编号"):
        bad("市级任务编号" if not r.get("市级任务编号") else "市级计划编号", "不能为空")
    return HandedDown(num, r.get("市级任务编号", ""), r.get("市级计划编号", ""), r.get("计划名称", ""), r.get("抽查期间", ""),
                      code, [lists.items[c] for c in items if c in lists.items],
                      [lists.people[p] for p in people if p in lists.people], deadline, r.get("抽取核验", ""),
                      fm.sha256_text(fm.canonical({k: r.get(k, "") for k in fm.INBOUND_COLUMNS[fm.CITY_TASKS]})))


def check_rows(s: Session, bureau: Bureau, sender: str, file: str,
               rows: list[tuple[int, dict[str, str]]]) -> tuple[list[HandedDown], int]:
    """(the new tasks, how many rows were handed down before unchanged); any error refuses all."""
    lists = _Lists(s, bureau, rows)
    errors: list[str] = []
    seen: set[str] = set()
    out = []
    for num, r in rows:
        h = _check_row(file, num, r, lists, errors)
        if h.city_task_no in seen:
            errors.append(f"文件 {file} 第 {num} 行 [市级任务编号] 值“{h.city_task_no}”：文件中重复")
        seen.add(h.city_task_no)
        out.append(h)
    before = dict(s.execute(select(CityTask.city_task_no, CityTask.content_sha256).where(
        CityTask.sender_code == sender, CityTask.city_task_no.in_(list(seen)))).all())
    new, unchanged = [], 0
    for h in out:
        if h.city_task_no not in before:
            new.append(h)
        elif before[h.city_task_no] == h.sha256:
            unchanged += 1
        else:
            errors.append(f"文件 {file} 第 {h.number} 行 [市级任务编号] 值“{h.city_task_no}”：该任务已下发，内容不同，不能更改")
    refuse(errors, "市抽县查任务文件有错误，未导入任何任务：")
    return new, unchanged


def create_tasks(s: Session, bureau: Bureau, sender: str, batch_no: str, new: list[HandedDown], actor: Actor) -> list[int]:
    """Write the tasks with their items, teams, events and audit events; returns their ids."""
    ids = []
    for h in new:
        note = f"市抽县查：{h.plan_code} {h.plan_name} {h.period}；市级任务 {h.city_task_no}"
        if h.draw_ref:
            note += f"；抽取核验 {h.draw_ref}"
        # No team handed down: the district matches its own (dsr exchange rematch, scheduler/docking/rematch.py).
        status = "assigned" if h.team else "drawn"
        if not h.team:
            note += "；待区级匹配检查组"
        t = Task(bureau_id=bureau.id, kind="city", draw_id=None, uscc=h.uscc, status=status, note=note)
        s.add(t)
        s.flush()
        s.add_all([TaskItem(task_id=t.id, item_id=i.id) for i in h.items])
        s.add_all([TeamMember(task_id=t.id, inspector_pk=p.id, role="leader" if k == 0 else "member",
                              department_id=p.department_id, slot=k + 1) for k, p in enumerate(h.team)])
        s.add(TaskEvent(task_id=t.id, from_status="", to_status=status, actor=actor.name,
                        reason=f"市级平台下发（批次 {batch_no}，市级任务 {h.city_task_no}）"))
        s.add(CityTask(task_id=t.id, bureau_id=bureau.id, sender_code=sender, city_task_no=h.city_task_no,
                       city_plan_code=h.plan_code, city_plan_name=h.plan_name, period=h.period, deadline=h.deadline,
                       batch_no=batch_no, content_sha256=h.sha256))
        auditlog.record(s, actor, "task.city", f"task:{t.id}",
                        {"city_task": h.city_task_no, "plan": h.plan_code, "uscc": h.uscc,
                         "items": [i.code for i in h.items], "inspectors": [p.inspector_id for p in h.team]},
                        bureau_id=bureau.id)
        ids.append(t.id)
    return ids


def summary(new: list[HandedDown]) -> list[dict[str, Any]]:
    return [{"city_task": h.city_task_no, "uscc": h.uscc, "items": [i.code for i in h.items],
             "inspectors": [p.inspector_id for p in h.team]} for h in new]
