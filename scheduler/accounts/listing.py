"""The accounts as listed (`dsr user list`, the settings page): one plain SELECT over db/tables.py.

No ORM models and no password hasher: `dsr user list` answers without importing db/models.py or
argon2 (scheduler/accounts/service.py prepares a dummy hash when it is imported)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine

from db import tables as t
from scheduler.access.context import CLI, Actor
from scheduler.access.permissions import ROLES, require, sees_every_bureau


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    bureau_id: Optional[int]
    department_id: Optional[int]
    department: str  # name, "" if none
    inspector_id: str  # roster id of a linked inspector, "" if none
    active: bool
    locked_until: Optional[dt.datetime]
    last_login_at: Optional[dt.datetime]


def list_users(engine: Engine, actor: Actor = CLI) -> list[UserInfo]:
    """The accounts the actor may see: all for a deployment-wide administrator or auditor, else
    those of the bureaus in its scope (a city's: its districts' too)."""
    require(actor, "user.view")
    u, d, i = t.useraccount.c, t.department.c, t.inspector.c
    stmt = (select(u.id, u.username, u.display_name, u.role, u.bureau_id, u.department_id, d.name, i.inspector_id,
                   u.active, u.locked_until, u.last_login_at)
            .select_from(t.useraccount).outerjoin(t.department, d.id == u.department_id)
            .outerjoin(t.inspector, i.id == u.inspector_pk).order_by(u.username))
    with engine.connect() as conn:
        if not sees_every_bureau(actor):
            from scheduler.access.scope import in_scope, visible_bureaus  # the bureau tree: db/models.py

            cond = in_scope(u.bureau_id, visible_bureaus(conn, actor))
            stmt = stmt if cond is None else stmt.where(cond)
        return [UserInfo(r.id, r.username, r.display_name, r.role, ROLES.get(r.role, r.role), r.bureau_id,
                         r.department_id, r.name or "", r.inspector_id or "", r.active, r.locked_until, r.last_login_at)
                for r in conn.execute(stmt)]
