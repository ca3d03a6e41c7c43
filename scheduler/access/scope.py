"""Bureau scope: which bureaus' data an actor may see and change, enforced in the services.

The decision is pure (scheduler.access.permissions.visible_bureau_ids, given the bureau
tree); this module reads the tree and applies the decision to one object
(`require_bureau`, `require_task`) or to a query (`restrict`, `in_scope`).

    visible_bureaus(conn, actor)  -> None (every bureau) or a frozenset of bureau ids
    require_bureau(s, actor, id)  -> PermissionDenied("无权访问其他市场监管局的数据") outside it
    restrict(stmt, Task.bureau_id, visible) -> stmt limited to the visible bureaus

Services take an optional `actor`; `actor=None` means an internal, unrestricted
call (the worker, the demo, other services). The UI and the CLI pass their actor.

After `require_bureau`, call `scheduler.access.permissions.require(actor, action,
department_id=...)` without `bureau_id`: `require`'s own bureau check is strict
equality and would refuse a city-level account working on a district's object.

Inspectors: besides the bureau scope, their reads cover only the tasks of the
teams they are (actively) on — `own_team(actor)` as a condition on Task, and
`require_task` for one task.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from sqlalchemy import exists, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from db.models import Bureau, Inspector, Task, TeamMember
from scheduler.access.permissions import (
    OTHER_BUREAU,
    BureauNode,
    PermissionDenied,
    bureau_area,
    bureau_visible,
    sees_every_bureau,
    visible_bureau_ids,
)
from scheduler.access.context import Actor

__all__ = [
    "OTHER_BUREAU",
    "NOT_OWN_TEAM",
    "area",
    "Visible",
    "bureau_choices",
    "bureau_tree",
    "in_scope",
    "is_inspector",
    "own_team",
    "require_bureau",
    "require_task",
    "restrict",
    "visible_bureaus",
]

Visible = Optional[frozenset[int]]
ConnLike = Union[Connection, Session]
NOT_OWN_TEAM = "执法检查人员只能查看本人所在检查组的任务"


def bureau_tree(conn: ConnLike) -> list[BureauNode]:
    return [BureauNode(i, lvl or "district", parent) for i, lvl, parent in
            conn.execute(select(Bureau.id, Bureau.level, Bureau.parent_id).order_by(Bureau.id)).all()]


def visible_bureaus(conn: ConnLike, actor: Optional[Actor]) -> Visible:
    """The bureau ids `actor` may see (None: all). `actor=None` is an internal call: all."""
    if sees_every_bureau(actor):
        return None  # no need to read the tree
    return visible_bureau_ids(actor, bureau_tree(conn))


def area(conn: ConnLike, bureau_id: int) -> frozenset[int]:
    """The bureaus a page working on `bureau_id` covers: a city bureau's view takes in its
    districts (市抽县查 tasks and visits are carried by them); a district's is itself."""
    return bureau_area(bureau_id, bureau_tree(conn)) or frozenset({bureau_id})


def require_bureau(conn: ConnLike, actor: Optional[Actor], bureau_id: Optional[int]) -> Visible:
    """Raise PermissionDenied unless an object of `bureau_id` is inside the actor's scope.

    Returns the actor's visible set, for further filtering.
    """
    visible = visible_bureaus(conn, actor)
    if not bureau_visible(visible, bureau_id):
        raise PermissionDenied(OTHER_BUREAU, "bureau.scope", actor.role if actor else "")
    return visible


def in_scope(column: Any, visible: Visible) -> Optional[ColumnElement]:
    """`column IN (visible)`, or None when every bureau is visible (no condition at all)."""
    if visible is None:
        return None
    return column.in_(sorted(visible))


def restrict(stmt: Select, column: Any, visible: Visible) -> Select:
    """`stmt` limited to rows whose `column` (a bureau id) is visible."""
    cond = in_scope(column, visible)
    return stmt if cond is None else stmt.where(cond)


def is_inspector(actor: Optional[Actor]) -> bool:
    return actor is not None and actor.role == "inspector"


def own_team(actor: Actor, task_id: Any = Task.id) -> ColumnElement:
    """Condition on a task id column: the inspector `actor` is an active member of its team.

    Teams are recorded by roster id (Inspector.inspector_id, the inspector's actor name);
    roster ids are unique per bureau, so an actor with a bureau matches its own roster only.
    """
    q = (select(TeamMember.id).join(Inspector, Inspector.id == TeamMember.inspector_pk)
         .where(TeamMember.task_id == task_id, TeamMember.active.is_(True), Inspector.inspector_id == actor.name))
    if actor.bureau_id is not None:
        q = q.where(Inspector.bureau_id == actor.bureau_id)
    return exists(q)


def require_task(conn: ConnLike, actor: Optional[Actor], task_id: int) -> Optional[int]:
    """May `actor` read task `task_id`? Bureau scope, and for inspectors their own teams only.

    Returns the task's bureau id (None if there is no such task: the caller reports that).
    """
    bureau_id = conn.execute(select(Task.bureau_id).where(Task.id == task_id)).scalar_one_or_none()
    if actor is None or bureau_id is None:
        return bureau_id
    require_bureau(conn, actor, bureau_id)
    if is_inspector(actor) and not conn.execute(select(own_team(actor, task_id))).scalar():
        raise PermissionDenied(NOT_OWN_TEAM, "task.read", actor.role)
    return bureau_id


def bureau_choices(engine: Engine, actor: Optional[Actor]) -> list[dict[str, Any]]:
    """The bureaus the actor may work on ({id, code, name, level, parent_id}): the actor's own
    bureau first, then the others by level (city first) and code."""
    with engine.connect() as conn:
        visible = visible_bureaus(conn, actor)
        stmt = restrict(select(Bureau.id, Bureau.code, Bureau.name, Bureau.level, Bureau.parent_id), Bureau.id, visible)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    own = actor.bureau_id if actor is not None else None
    rows.sort(key=lambda r: (r["id"] != own, r["level"] != "city", r["code"]))
    return rows
