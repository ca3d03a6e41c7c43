"""Tasks and teams, read side (任务与匹配): paginated task lists with their teams.

Only one page of tasks is ever read: the page itself is one SQL query with
LIMIT/OFFSET; its items and team members come from two more queries bound to
the ids of that page. Every filter is a bound parameter.

Scope (scheduler/access/scope.py): with an `actor`, only tasks of the bureaus
in its scope are read (Task.bureau_id: the bureau that carries the task out, so
a district sees the tasks a city plan handed to it, and not those handed to
another district); an inspector reads only the tasks of the teams they are on.
Reading one task outside the scope raises PermissionDenied.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.engine import Connection, Engine

from db.models import CheckItem, Department, Draw, Enterprise, Plan, Task, TaskItem, Town
from scheduler.access.permissions import PermissionDenied
from db.paging import MAX_PAGE_SIZE, Page
from scheduler.matching.service import TeamSeat, task_seats
from scheduler.access.context import Actor
from scheduler.access.scope import (
    OTHER_BUREAU, Visible, in_scope, is_inspector, own_team, require_bureau, require_task, visible_bureaus,
)

STATUS_LABELS = {
    "drawn": "已抽取（待补足检查组）",
    "assigned": "已匹配检查组",
    "reserve": "备选",
    "replaced": "已被替换",
    "voided": "已作废",
}
DRAW_STATUS_LABELS = {"frozen": "名录已冻结", "drawn": "已抽取", "voided": "已作废"}
ROLE_LABELS = {"leader": "组长", "member": "组员", "expert": "专家"}


def status_label(status: Optional[str]) -> str:
    return STATUS_LABELS.get(status or "", status or "")


def _draws_of(bureaus: frozenset[int]):
    """Draws of these bureaus: their own plans' draws, and draws that handed them tasks (市抽县查)."""
    ids = sorted(bureaus)
    return or_(Plan.bureau_id.in_(ids),
               exists(select(Task.id).where(Task.draw_id == Draw.id, Task.bureau_id.in_(ids))))


def _scope(conn, actor: Optional[Actor], bureau_id: Optional[int]) -> Visible:
    if bureau_id is not None:
        require_bureau(conn, actor, bureau_id)
        return frozenset({bureau_id})
    return visible_bureaus(conn, actor)


def list_draws(
    engine: Engine,
    bureau_id: int | None = None,
    plan_code: str | None = None,
    period: str | None = None,
    include_voided: bool = True,
    actor: Optional[Actor] = None,
) -> list[dict[str, Any]]:
    """Draws (newest first): id, plan_code, plan_name, period, status, frame_size, seed_source, drawn_at, void_reason.

    `bureau_id` (or the actor's scope): the bureaus' own plans' draws and the draws of a city
    plan that handed them tasks."""
    stmt = (
        select(Draw.id, Plan.code.label("plan_code"), Plan.name.label("plan_name"), Draw.period, Draw.status,
               Draw.frame_size, Draw.frame_sha256, Draw.seed_source, Draw.frozen_at, Draw.drawn_at, Draw.void_reason)
        .join(Plan, Plan.id == Draw.plan_id)
        .order_by(Draw.id.desc())
    )
    with engine.connect() as conn:
        scope = _scope(conn, actor, bureau_id)
    if scope is not None:
        stmt = stmt.where(_draws_of(scope))
    if plan_code is not None:
        stmt = stmt.where(Plan.code == plan_code)
    if period is not None:
        stmt = stmt.where(Draw.period == period)
    if not include_voided:
        stmt = stmt.where(Draw.status != "voided")
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def periods(engine: Engine, bureau_id: int | None = None, actor: Optional[Actor] = None) -> list[str]:
    """Periods that have a draw (of `bureau_id`, or of the actor's scope, as in list_draws), newest first."""
    stmt = select(Draw.period).join(Plan, Plan.id == Draw.plan_id).distinct().order_by(Draw.period.desc())
    with engine.connect() as conn:
        scope = _scope(conn, actor, bureau_id)
        if scope is not None:
            stmt = stmt.where(_draws_of(scope))
        return [r[0] for r in conn.execute(stmt)]


def _chunks(ids: Sequence[Any], size: int = 900) -> Iterable[list[Any]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def list_tasks(
    engine: Engine,
    draw_id: int | None = None,
    period: str | None = None,
    department_id: int | None = None,
    town_code: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
    bureau_id: int | None = None,
    include_reserves: bool = True,
    task_id: int | None = None,
    actor: Optional[Actor] = None,
) -> Page:
    """Tasks of a draw (or of every draw of a period) with items and team.

    `department_id` keeps tasks carrying at least one item of that department
    (the department takes part in the visit). Rows are ordered by draw, then
    draw order (rank); reserves follow, by stratum and reserve order.
    Each row: id, draw_id, plan_code, period, rank, batch, uscc, name, town_code,
    town_name, stratum, reserve_rank, status, status_label, note, items,
    departments, leader, members, experts, short (True when the team is short).
    With an `actor`: tasks of the bureaus in its scope (PermissionDenied for a `bureau_id` outside
    it); an inspector's list holds only the tasks of their own teams.
    """
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    keys = _task_keys(draw_id, task_id, period, actor, town_code, status, include_reserves, department_id)
    order = [Task.draw_id, Task.rank.is_(None), Task.rank, Task.stratum, Task.reserve_rank, Task.id]
    with engine.connect() as conn:
        cond = in_scope(Task.bureau_id, _scope(conn, actor, bureau_id))
        if cond is not None:
            keys = keys.where(cond)
        total = conn.execute(select(func.count()).select_from(keys.subquery())).scalar_one()
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        page_ids = list(conn.execute(keys.order_by(*order).limit(page_size).offset((page - 1) * page_size)).scalars())
        rows = _page_rows(conn, page_ids) if page_ids else []
        items, depts, team = _items_and_teams(conn, [r["id"] for r in rows])
    for r in rows:
        seats = team.get(r["id"], [])
        r["status_label"] = status_label(r["status"])
        r["items"] = list(items.get(r["id"], []))
        r["departments"] = list(depts.get(r["id"], []))
        r["leader"] = "、".join(_who(s) for s in seats if s.role == "leader")
        r["members"] = "、".join(_who(s) for s in seats if s.role == "member")
        r["experts"] = "、".join(_who(s) for s in seats if s.role == "expert")
        r["team"] = seats
        r["short"] = (r["note"] or "").startswith("缺员")
    filters = {"draw_id": draw_id, "period": period, "department_id": department_id, "town_code": town_code,
               "status": status, "include_reserves": include_reserves}
    return Page(rows=rows, total=total, page=page, page_size=page_size, filters=filters)


def _task_keys(draw_id: int | None, task_id: int | None, period: str | None, actor: Optional[Actor],
               town_code: str | None, status: str | None, include_reserves: bool, department_id: int | None) -> Select:
    """The ids of the tasks the filters keep (bureau scope aside), as a SELECT.

    Count and page over the task ids alone (task, draw, plan), then join the entity and its town for
    the page's rows only: joining the registry first made the database look up every task's entity
    before counting and sorting (1.6 s for 86k tasks on a 1M registry; bench/bench_pages.py)."""
    keys = select(Task.id).join(Draw, Draw.id == Task.draw_id)
    where = []
    if draw_id is not None:
        where.append(Task.draw_id == draw_id)
    if task_id is not None:
        where.append(Task.id == task_id)
    if period is not None:
        where.append(Draw.period == period)
    if is_inspector(actor):
        where.append(own_team(actor))
    if town_code is not None:
        keys = keys.join(Enterprise, Enterprise.uscc == Task.uscc)
        where.append(Enterprise.town_code == town_code)
    if status is not None:
        where.append(Task.status == status)
    if not include_reserves:
        where.append(Task.status != "reserve")
    if department_id is not None:
        where.append(
            exists(
                select(TaskItem.task_id)
                .join(CheckItem, CheckItem.id == TaskItem.item_id)
                .where(TaskItem.task_id == Task.id, CheckItem.department_id == department_id)
            )
        )
    if where:
        keys = keys.where(and_(*where))
    return keys


def _page_rows(conn: Connection, page_ids: list[int]) -> list[dict[str, Any]]:
    """The page's tasks with their plan, period, entity and town, in the page's order."""
    stmt = (
        select(
            Task.id, Task.draw_id, Plan.code.label("plan_code"), Draw.period, Task.rank, Task.batch, Task.uscc,
            Enterprise.name, Enterprise.town_code, Town.name.label("town_name"), Task.stratum,
            Task.reserve_rank, Task.status, Task.note, Task.replaces_task_id,
        )
        .join(Draw, Draw.id == Task.draw_id)
        .join(Plan, Plan.id == Draw.plan_id)
        .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
        .outerjoin(Town, Town.code == Enterprise.town_code)
        .where(Task.id.in_(page_ids))
    )
    at = {tid: k for k, tid in enumerate(page_ids)}
    return sorted((dict(r._mapping) for r in conn.execute(stmt)), key=lambda r: at[r["id"]])


def _items_and_teams(
    conn: Connection, ids: list[int],
) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, list[TeamSeat]]]:
    """Per task: its items' names (by item code), their departments (first seen first), its team's seats."""
    items: dict[int, list[str]] = defaultdict(list)
    depts: dict[int, list[str]] = defaultdict(list)
    team: dict[int, list[TeamSeat]] = defaultdict(list)
    for chunk in _chunks(ids):
        for tid, iname, dname in conn.execute(
            select(TaskItem.task_id, CheckItem.name, Department.name)
            .join(CheckItem, CheckItem.id == TaskItem.item_id)
            .join(Department, Department.id == CheckItem.department_id)
            .where(TaskItem.task_id.in_(chunk))
            .order_by(TaskItem.task_id, CheckItem.code)
        ):
            items[tid].append(iname)
            if dname not in depts[tid]:
                depts[tid].append(dname)
        for tid, seat in task_seats(conn, chunk):
            team[tid].append(seat)
    return items, depts, team


def _who(s: TeamSeat) -> str:
    return f"{s.name}（{s.person_id}）"


def task_team(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> list[TeamSeat]:
    """The active team of one task, by slot (PermissionDenied outside the actor's scope)."""
    with engine.connect() as conn:
        require_task(conn, actor, task_id)
        return [s for _, s in task_seats(conn, [task_id])]


def get_task(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> Optional[dict[str, Any]]:
    """One task as a list_tasks row (None if there is no such draw task).

    PermissionDenied if the task is outside the actor's scope (another bureau's task, or for an
    inspector a task of a team they are not on)."""
    with engine.connect() as conn:
        require_task(conn, actor, task_id)
    rows = list_tasks(engine, task_id=task_id).rows
    return rows[0] if rows else None


def require_draw(conn, actor: Optional[Actor], draw_id: int) -> None:
    """PermissionDenied unless the draw's plan, or one of the tasks it handed out, is in the actor's scope."""
    visible = visible_bureaus(conn, actor)
    if visible is None:
        return
    hit = conn.execute(select(Draw.id).join(Plan, Plan.id == Draw.plan_id)
                       .where(Draw.id == draw_id, _draws_of(visible))).first()
    known = conn.execute(select(Draw.id).where(Draw.id == draw_id)).first()
    if known is not None and hit is None:
        raise PermissionDenied(OTHER_BUREAU, "draw.read", actor.role if actor else "")


def draw_matching(engine: Engine, draw_id: int, actor: Optional[Actor] = None) -> dict[str, Any]:
    """The matching figures of a draw's certificate: fairness, shortfall_report, policy (empty if none)."""
    with engine.connect() as conn:
        require_draw(conn, actor, draw_id)
        cert = conn.execute(select(Draw.certificate).where(Draw.id == draw_id)).scalar_one_or_none()
    if not cert:
        return {}
    m = json.loads(cert).get("matching") or {}
    return {k: m.get(k) for k in ("policy", "team_size", "cap", "expert_cap", "fairness", "shortfall_report")}


def entity_names(engine: Engine, usccs: Sequence[str]) -> dict[str, dict[str, str]]:
    """USCC -> {name, town_name} from the registry (chunked IN lists, bound parameters)."""
    out: dict[str, dict[str, str]] = {}
    ids = list(dict.fromkeys(usccs))
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            for u, n, t in conn.execute(
                select(Enterprise.uscc, Enterprise.name, Town.name)
                .outerjoin(Town, Town.code == Enterprise.town_code)
                .where(Enterprise.uscc.in_(chunk))
            ):
                out[u] = {"name": n, "town_name": t or ""}
    return out
