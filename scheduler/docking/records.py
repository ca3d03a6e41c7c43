"""The publicity system's records of a bureau's published results, read from the database.

One record per published check item result (检查结果 per item), in the fields of
scheduler/docking/formats.py: 检查实施机关 by its legal name (set per department, see
`legal_names`), 检查类型 as the publicity system lists it, 处置 from the result's follow-ups and
备注 from its corrections. The record's content digest decides whether it must be sent again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Optional

from sqlalchemy import distinct, func, select
from sqlalchemy.engine import Connection

from db.models import (
    Bureau, CheckItem, CityTask, Department, Draw, Enterprise, FollowUp, Inspector, ItemResult, Plan, ResultCategory, ResultCorrection,
    Setting, Task, TaskItem, TeamMember, split_list,
)
from scheduler.docking import formats as fm

LEGAL_NAME_KEY = "docking.legal_name.{}"  # Setting key per department id
PUBLISHED = "已公示"


def default_legal_name(bureau_name: str, department_name: str) -> str:
    """Until set: the bureau's place (its name before 市场监督管理局) + the department's name
    without its leading 区/市, e.g. 北京市平谷区 + 卫生健康委."""
    place = bureau_name.split("市场监督管理局")[0]
    if department_name[:1] in ("区", "市", "县") and place:
        return place + department_name[1:]
    return department_name


def legal_names(conn: Connection, bureau: Bureau) -> dict[int, str]:
    """department id -> 检查实施机关 as the publicity system knows it (法定名称)."""
    depts = conn.execute(select(Department.id, Department.name).where(Department.bureau_id == bureau.id)).all()
    keys = {LEGAL_NAME_KEY.format(i): i for i, _ in depts}
    set_ = {keys[k]: v for k, v in conn.execute(select(Setting.key, Setting.value).where(Setting.key.in_(list(keys))))}
    return {i: set_.get(i) or default_legal_name(bureau.name, n) for i, n in depts}


def _check_types(conn: Connection, bureau_id: int) -> dict[int, str]:
    pub = select(ItemResult.task_id).join(Task, Task.id == ItemResult.task_id).where(
        ItemResult.status == PUBLISHED, Task.bureau_id == bureau_id)
    out = {}
    for tid, kind, plan_kind, n in conn.execute(
        select(Task.id, Task.kind, Plan.kind, func.count(distinct(CheckItem.department_id)))
        .join(TaskItem, TaskItem.task_id == Task.id).join(CheckItem, CheckItem.id == TaskItem.item_id)
        .outerjoin(Draw, Draw.id == Task.draw_id).outerjoin(Plan, Plan.id == Draw.plan_id)
        .where(Task.id.in_(pub)).group_by(Task.id, Task.kind, Plan.kind)
    ):
        out[tid] = fm.check_type_label(kind, plan_kind, n)
    return out


def _by_result(conn: Connection, stmt) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for rid, *rest in conn.execute(stmt):
        out[rid].append(tuple(rest) if len(rest) > 1 else rest[0])
    return out


def current_records(conn: Connection, bureau: Bureau, kind: str = fm.GSXT,
                    result_ids: Optional[list[int]] = None) -> dict[int, dict[str, str]]:
    """result id -> the content fields of its record as they are now (published results only).

    For city-results only the results of tasks handed down by the city (市抽县查), with the city's
    task and plan numbers."""
    names = dict(conn.execute(select(ResultCategory.code, ResultCategory.name)).all())
    legal = legal_names(conn, bureau)
    types = _check_types(conn, bureau.id)
    mine = select(ItemResult.id).join(Task, Task.id == ItemResult.task_id).where(
        ItemResult.status == PUBLISHED, Task.bureau_id == bureau.id)
    fus = _by_result(conn, select(FollowUp.result_id, FollowUp.action, FollowUp.status, FollowUp.outcome)
                     .where(FollowUp.result_id.in_(mine)).order_by(FollowUp.id))
    cors = _by_result(conn, select(ResultCorrection.result_id, ResultCorrection.reason)
                      .where(ResultCorrection.result_id.in_(mine)).order_by(ResultCorrection.id))
    stmt = (select(ItemResult.id, ItemResult.task_id, Task.uscc, Enterprise.name, ItemResult.department_id,
                   ItemResult.inspected_on, Task.completed_on, CheckItem.name, ItemResult.categories,
                   ItemResult.published_on)
            .join(Task, Task.id == ItemResult.task_id).join(CheckItem, CheckItem.id == ItemResult.item_id)
            .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
            .where(ItemResult.status == PUBLISHED, Task.bureau_id == bureau.id).order_by(ItemResult.id))
    if result_ids is not None:
        stmt = stmt.where(ItemResult.id.in_(result_ids))
    city: dict[int, tuple[str, ...]] = {}
    if kind == fm.CITY_RESULTS:
        teams = city_teams(conn, bureau)
        city = {t: (no, plan, *teams.get(t, ("", ""))) for t, no, plan in conn.execute(
            select(CityTask.task_id, CityTask.city_task_no, CityTask.city_plan_code).where(CityTask.bureau_id == bureau.id))}
        stmt = stmt.where(ItemResult.task_id.in_(select(CityTask.task_id).where(CityTask.bureau_id == bureau.id)))
    out = {}
    for rid, tid, uscc, ename, dept, inspected, completed, item, cats, pub_on in conn.execute(stmt):
        day = inspected or completed
        out[rid] = {
            "检查编号": fm.task_no(bureau.code, tid), "统一社会信用代码": uscc, "企业名称": ename or "",
            "检查实施机关": legal.get(dept, ""), "检查类型": types.get(tid, ""),
            "检查日期": day.isoformat() if day else "", "检查事项": item,
            "检查结果": "、".join(names.get(c, c) for c in split_list(cats)),
            "处置": fm.disposal_text(fus.get(rid, [])), "备注": fm.remark_text(cors.get(rid, [])),
            "公示日期": pub_on.isoformat() if pub_on else "",
        }
        if tid in city:
            out[rid]["市级任务编号"], out[rid]["市级计划编号"], out[rid]["检查人员编号"], out[rid]["检查人员"] = city[tid]
    return out


def city_teams(conn: Connection, bureau: Bureau) -> dict[int, tuple[str, str]]:
    """task id -> (人员编号 leader first, names with 执法证号) of the active team of each handed-down task:
    the team the city handed down, or the one the district matched (scheduler/docking/rematch.py)."""
    teams: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for tid, iid, name, cert in conn.execute(
            select(TeamMember.task_id, Inspector.inspector_id, Inspector.name, Inspector.cert_no)
            .join(Inspector, Inspector.id == TeamMember.inspector_pk)
            .join(CityTask, CityTask.task_id == TeamMember.task_id)
            .where(CityTask.bureau_id == bureau.id, TeamMember.active).order_by(TeamMember.task_id, TeamMember.slot)):
        teams[tid].append((iid, name, cert))
    return {t: (fm.LIST_SEPARATOR.join(i for i, _, _ in ps), fm.LIST_SEPARATOR.join(f"{n}（执法证号 {c}）" for _, n, c in ps))
            for t, ps in teams.items()}
