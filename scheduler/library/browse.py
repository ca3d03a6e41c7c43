"""Paginated, searchable listings of the two rosters and one list (两库一单).

Every listing is one COUNT plus one LIMIT/OFFSET query, so the UI never holds
more than a page, whatever the registry's size. Search text is always a bound
parameter, and LIKE wildcards in it are escaped, so `%`, `_`, `'` and `;`
match themselves.

Bureau scope (scheduler/access/scope.py): every listing takes an optional
`actor`; with one, rows of bureaus outside the actor's scope are left out, and
asking for such a bureau (`bureau_id`) raises PermissionDenied. The registry is
shared, but read by area: an actor sees the entities of the towns of the
bureaus in scope (a district its own area, a city its districts' areas).
"""

from __future__ import annotations

import datetime as dt

from typing import Any, Optional

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from db.models import Bureau, CheckItem, Conflict, Department, Enterprise, Expert, Inspector, Town
from db.paging import LIKE_ESCAPE, MAX_PAGE_SIZE, Page, contains, escape_like
from scheduler.access.context import Actor
from scheduler.access.scope import Visible, in_scope, require_bureau, visible_bureaus

def _starts(col, q: str) -> ColumnElement:
    return col.like(f"{escape_like(q)}%", escape=LIKE_ESCAPE)


def _search(q: str | None, *cols) -> Optional[ColumnElement]:
    q = (q or "").strip()
    if not q:
        return None
    return or_(*(contains(c, q) for c in cols))


def _scope(conn, actor: Optional[Actor], bureau_id: Optional[int]) -> Visible:
    """The bureaus a listing covers: `bureau_id` if given (and in the actor's scope), else the actor's scope."""
    if bureau_id is not None:
        require_bureau(conn, actor, bureau_id)
        return frozenset({bureau_id})
    return visible_bureaus(conn, actor)


def _paginate(engine: Engine, stmt: Select, where: list, order_by: list, page: int, page_size: int,
              scope: tuple[Any, Optional[Actor], Optional[int]] | None = None) -> Page:
    """`scope`: (bureau column, actor, bureau_id) — rows limited to `bureau_id` or the actor's bureaus."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    with engine.connect() as conn:
        conds = [w for w in where if w is not None]
        if scope is not None:
            col, actor, bureau_id = scope
            cond = in_scope(col, _scope(conn, actor, bureau_id))
            if cond is not None:
                conds.append(cond)
        if conds:
            stmt = stmt.where(and_(*conds))
        total = conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        result = conn.execute(stmt.order_by(*order_by).limit(page_size).offset((page - 1) * page_size))
        rows = [dict(r._mapping) for r in result]
    return Page(rows=rows, total=total, page=page, page_size=page_size)


# --- reference lists for filters ------------------------------------------------------


def default_bureau(engine: Engine) -> Optional[dict[str, Any]]:
    """The bureau the app works for: DSR_BUREAU (code) if set, else the first one."""
    import os

    code = os.environ.get("DSR_BUREAU")
    stmt = select(Bureau.id, Bureau.code, Bureau.name).order_by(Bureau.id).limit(1)
    if code:
        stmt = stmt.where(Bureau.code == code)
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def _scoped_list(engine: Engine, stmt: Select, col, actor: Optional[Actor], bureau_id: Optional[int]) -> list:
    with engine.connect() as conn:
        cond = in_scope(col, _scope(conn, actor, bureau_id))
        return list(conn.execute(stmt if cond is None else stmt.where(cond)))


def towns(engine: Engine, bureau_id: int | None = None, actor: Optional[Actor] = None) -> list[tuple[str, str]]:
    """(code, name) of the towns, in code order."""
    stmt = select(Town.code, Town.name).order_by(Town.code)
    return [(r.code, r.name) for r in _scoped_list(engine, stmt, Town.bureau_id, actor, bureau_id)]


def departments(engine: Engine, bureau_id: int | None = None, actor: Optional[Actor] = None) -> list[tuple[int, str]]:
    """(id, name) of the departments, in id order (the joint meeting's order)."""
    stmt = select(Department.id, Department.name).order_by(Department.id)
    return [(r.id, r.name) for r in _scoped_list(engine, stmt, Department.bureau_id, actor, bureau_id)]


def expert_fields(engine: Engine, bureau_id: int | None = None, actor: Optional[Actor] = None) -> list[str]:
    stmt = select(Expert.field).distinct().order_by(Expert.field)
    return [r[0] for r in _scoped_list(engine, stmt, Expert.bureau_id, actor, bureau_id) if r[0]]


# --- listings -----------------------------------------------------------------------------


def enterprise_filters(q: str = "", town_code: str | None = None, entity_type: str | None = None,
                       status: str | None = None, risk_class: str | None = None,
                       industry_prefix: str | None = None) -> list[ColumnElement]:
    """The registry's search (USCC prefix, or a part of the name or address) and filters, as
    conditions: the 检查对象名录库 page and its export select the same rows."""
    q = (q or "").strip()
    where = [
        or_(contains(Enterprise.name, q), contains(Enterprise.address, q), _starts(Enterprise.uscc, q.upper()))
        if q
        else None,
        Enterprise.town_code == town_code if town_code else None,
        Enterprise.entity_type == entity_type if entity_type else None,
        Enterprise.status == status if status else None,
        Enterprise.risk_class == risk_class if risk_class else None,
        _starts(Enterprise.industry_code, industry_prefix.strip().upper())
        if industry_prefix and industry_prefix.strip()
        else None,
    ]
    return [w for w in where if w is not None]


def browse_enterprises(
    engine: Engine,
    q: str = "",
    town_code: str | None = None,
    entity_type: str | None = None,
    status: str | None = None,
    risk_class: str | None = None,
    industry_prefix: str | None = None,
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """检查对象名录库: search by USCC, name or address; filter by the frame's fields.

    `bureau_id`: that bureau's area only; with an `actor` and no `bureau_id`, the areas in its scope."""
    where = enterprise_filters(q, town_code, entity_type, status, risk_class, industry_prefix)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    with engine.connect() as conn:
        scope = _scope(conn, actor, bureau_id)
        if scope is not None:
            where.append(_area_towns(conn, scope, town_code))
        conds = [w for w in where if w is not None]
        keys = select(Enterprise.uscc)
        if conds:
            keys = keys.where(and_(*conds))
        total = conn.execute(select(func.count()).select_from(keys.subquery())).scalar_one()
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        # Deferred join: walk the OFFSET over the USCC index alone, then fetch
        # and join only the page's rows (a deep page was ~30x slower otherwise).
        page_keys = keys.order_by(Enterprise.uscc).limit(page_size).offset((page - 1) * page_size).subquery()
        stmt = (
            select(
                Enterprise.uscc,
                Enterprise.name,
                Enterprise.entity_type,
                Enterprise.industry_code,
                Enterprise.town_code,
                Town.name.label("town_name"),
                Enterprise.address,
                Enterprise.registered_on,
                Enterprise.status,
                Enterprise.risk_class,
                Enterprise.tags,
            )
            .join(page_keys, page_keys.c.uscc == Enterprise.uscc)
            .join(Town, Town.code == Enterprise.town_code)
            .order_by(Enterprise.uscc)
        )
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def _area_towns(conn, bureaus: frozenset[int], town_code: str | None) -> Optional[ColumnElement]:
    """The condition "in these bureaus' area", or None when it selects every row.

    A district bureau usually owns every town of its database; an IN filter then
    changes nothing but makes SQLite sort the whole registry (9 s on 1M rows).
    """
    rows = conn.execute(select(Town.code, Town.bureau_id)).all()
    mine = [c for c, b in rows if b in bureaus]
    if town_code:
        return None if town_code in mine else Enterprise.town_code.in_(mine)
    if len(mine) == len(rows):
        return None
    return Enterprise.town_code.in_(mine)


def browse_inspectors(
    engine: Engine,
    q: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """执法检查人员名录库: search by name, roster id, 执法证号 or qualification."""
    stmt = select(
        Inspector.id,
        Inspector.inspector_id,
        Inspector.name,
        Department.name.label("department_name"),
        Inspector.cert_no,
        Inspector.cert_valid_until,
        Inspector.qualifications,
        Inspector.region,
        Inspector.active,
    ).join(Department, Department.id == Inspector.department_id)
    where = [
        _search(q, Inspector.name, Inspector.inspector_id, Inspector.cert_no, Inspector.qualifications),
        Inspector.department_id == department_id if department_id is not None else None,
        Inspector.active == active if active is not None else None,
    ]
    return _paginate(engine, stmt, where, [Inspector.department_id, Inspector.inspector_id], page, page_size,
                     scope=(Inspector.bureau_id, actor, bureau_id))


def browse_experts(
    engine: Engine,
    q: str = "",
    field: str | None = None,
    active: bool | None = None,
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """专家库 (experts and testing institutions)."""
    stmt = select(
        Expert.id, Expert.expert_id, Expert.name, Expert.field, Expert.organisation, Expert.active
    )
    where = [
        _search(q, Expert.name, Expert.expert_id, Expert.organisation, Expert.field),
        Expert.field == field if field else None,
        Expert.active == active if active is not None else None,
    ]
    return _paginate(engine, stmt, where, [Expert.field, Expert.expert_id], page, page_size,
                     scope=(Expert.bureau_id, actor, bureau_id))


def browse_items(
    engine: Engine,
    q: str = "",
    department_id: int | None = None,
    kind: str | None = None,
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """随机抽查事项清单: search by code, category, item name or legal basis."""
    stmt = select(
        CheckItem.id,
        CheckItem.code,
        CheckItem.category,
        CheckItem.name,
        CheckItem.kind,
        CheckItem.method,
        Department.name.label("department_name"),
        CheckItem.legal_basis,
        CheckItem.scope_entity_types,
        CheckItem.scope_industries,
        CheckItem.scope_tags,
        CheckItem.scope_towns,
        CheckItem.ratio_cap,
        CheckItem.ratio_floor,
        CheckItem.required_qualifications,
        CheckItem.expert_field,
        CheckItem.initiating_department,
        CheckItem.cooperating_departments,
    ).join(Department, Department.id == CheckItem.department_id)
    where = [
        _search(q, CheckItem.code, CheckItem.category, CheckItem.name, CheckItem.legal_basis),
        CheckItem.department_id == department_id if department_id is not None else None,
        CheckItem.kind == kind if kind else None,
    ]
    return _paginate(engine, stmt, where, [CheckItem.code], page, page_size,
                     scope=(CheckItem.bureau_id, actor, bureau_id))


def browse_conflicts(
    engine: Engine,
    q: str = "",
    reason: str | None = None,
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """回避申报: search by USCC, entity name, inspector name or roster id."""
    stmt = (
        select(
            Conflict.id,
            Inspector.inspector_id,
            Inspector.name.label("inspector_name"),
            Department.name.label("department_name"),
            Conflict.uscc,
            Enterprise.name.label("enterprise_name"),
            Conflict.reason,
            Conflict.declared_by,
            Conflict.note,
            Conflict.declared_at,
        )
        .join(Inspector, Inspector.id == Conflict.inspector_pk)
        .join(Department, Department.id == Inspector.department_id)
        # A declaration may name an entity not (yet) in the registry.
        .outerjoin(Enterprise, Enterprise.uscc == Conflict.uscc)
    )
    where = [
        _search(q, Conflict.uscc, Enterprise.name, Inspector.name, Inspector.inspector_id),
        Conflict.reason == reason if reason else None,
    ]
    return _paginate(engine, stmt, where, [Inspector.inspector_id, Conflict.uscc], page, page_size,
                     scope=(Conflict.bureau_id, actor, bureau_id))


def browse_departments(
    engine: Engine,
    q: str = "",
    bureau_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """联席会议成员单位 with the size of their roster and item list."""
    n_insp = (
        select(func.count())
        .where(Inspector.department_id == Department.id)
        .scalar_subquery()
    )
    n_active = (
        select(func.coalesce(func.sum(case((Inspector.active, 1), else_=0)), 0))
        .where(Inspector.department_id == Department.id)
        .scalar_subquery()
    )
    n_items = select(func.count()).where(CheckItem.department_id == Department.id).scalar_subquery()
    stmt = select(
        Department.id,
        Department.code,
        Department.name,
        n_insp.label("inspectors"),
        n_active.label("active_inspectors"),
        n_items.label("items"),
    )
    where = [
        _search(q, Department.code, Department.name),
    ]
    return _paginate(engine, stmt, where, [Department.id], page, page_size,
                     scope=(Department.bureau_id, actor, bureau_id))


def browse_audit(
    engine: Engine,
    who: str = "",
    obj: str = "",
    action: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    page: int = 1,
    page_size: int = 50,
    actor: Optional[Actor] = None,
) -> Page:
    """审计日志: the hash-chained events, newest first; filter by who acted (`who`, part of the
    name), object, action and day (UTC+8).

    Bureau scope: each event carries the acting account's bureau (auditlog.record); with an
    `actor` only the events of the bureaus in its scope are listed (events without a bureau —
    the CLI, deployment-wide accounts — only for unrestricted actors). The chain itself is
    verified globally (auditlog.verify): its digests and hashes reveal nothing.
    """
    from db.models import AuditEvent

    tz = dt.timezone(dt.timedelta(hours=8))
    stmt = select(AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.role, AuditEvent.action,
                  AuditEvent.object, AuditEvent.digest, AuditEvent.hash)
    where = [
        _search(who, AuditEvent.actor),
        _search(obj, AuditEvent.object),
        _search(action, AuditEvent.action),
        AuditEvent.at >= dt.datetime.combine(since, dt.time(), tz) if since else None,
        AuditEvent.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tz) if until else None,
    ]
    return _paginate(engine, stmt, where, [AuditEvent.id.desc()], page, page_size,
                     scope=(AuditEvent.bureau_id, actor, None))
