"""Read side of 更正已公示结果: find a published result, and its correction history.

The correction itself is `scheduler.results.service.correct` (谁公开、谁更正:
the item's department or an administrator, with a written reason; old and new
values stay on record and in the public history). Each listing here is one
COUNT plus one page of ids over an index, then the joins for that page only.

Bureau scope (scheduler/access/scope.py): with an `actor`, `published` lists only
results of tasks whose bureau (the bureau carrying out the task) is in the actor's
scope, and `history` refuses a result whose task is outside it. `actor=None` is an
internal, unrestricted call.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.models import CheckItem, Department, Enterprise, ItemResult, ResultCategory, ResultCorrection, Task
from db.models import split_list
from scheduler.results import lifecycle as lc
from scheduler.library import uscc as uscc_mod
from db.paging import MAX_PAGE_SIZE, Page, escape_like
from scheduler.access.context import Actor
from scheduler.access.scope import in_scope, require_task, visible_bureaus


def _names(conn) -> dict[str, str]:
    return dict(conn.execute(select(ResultCategory.code, ResultCategory.name)).all())


def _label(codes: str, names: dict[str, str]) -> list[str]:
    return [names.get(c, c) for c in split_list(codes)]


def published(engine: Engine, q: str = "", department_id: Optional[int] = None, page: int = 1,
              page_size: int = 20, actor: Optional[Actor] = None) -> Page:
    """Published item results, newest publication first; `q`: a USCC (or its start) or part of a name.
    With `actor`: only results of tasks of the bureaus in its scope.

    Row: result_id, task_id, uscc, name, item_code, item_name, department_id, department,
    categories, category_names, note, published_on, version.
    """
    flt = select(ItemResult.id).where(ItemResult.status == lc.PUBLISHED)
    if department_id is not None:
        flt = flt.where(ItemResult.department_id == department_id)
    q = (q or "").strip()
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    with engine.connect() as conn:
        scoped = in_scope(Task.bureau_id, visible_bureaus(conn, actor))
    if q or scoped is not None:
        flt = flt.join(Task, Task.id == ItemResult.task_id)
    if scoped is not None:
        flt = flt.where(scoped)
    if q:
        code = q.upper()
        if uscc_mod.is_valid(code):
            flt = flt.where(Task.uscc == code)
        else:
            like = f"%{escape_like(q)}%"
            by_name = select(Enterprise.id).where(Enterprise.uscc == Task.uscc,
                                                  Enterprise.name.like(like, escape="\\")).exists()
            if code.isalnum() and code.isascii():
                flt = flt.where(Task.uscc.like(f"{escape_like(code)}%", escape="\\") | by_name)
            else:
                flt = flt.where(by_name)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(flt.subquery())).scalar_one()
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        ids = list(conn.execute(flt.order_by(ItemResult.published_at.desc(), ItemResult.id.desc())
                                .limit(page_size).offset((page - 1) * page_size)).scalars())
        raw = conn.execute(
            select(ItemResult.id.label("result_id"), ItemResult.task_id, Task.uscc, Enterprise.name,
                   CheckItem.code.label("item_code"), CheckItem.name.label("item_name"), ItemResult.department_id,
                   Department.name.label("department"), ItemResult.categories, ItemResult.note,
                   ItemResult.published_on, ItemResult.version)
            .join(Task, Task.id == ItemResult.task_id)
            .join(CheckItem, CheckItem.id == ItemResult.item_id)
            .join(Department, Department.id == ItemResult.department_id)
            .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
            .where(ItemResult.id.in_(ids))
        ).all() if ids else []
        names = _names(conn)
    order = {rid: k for k, rid in enumerate(ids)}
    rows = [dict(r._mapping) for r in sorted(raw, key=lambda r: order[r.result_id])]
    for r in rows:
        r["category_names"] = _label(r["categories"], names)
    return Page(rows=rows, total=total, page=page, page_size=page_size,
                filters={"q": q, "department_id": department_id})


def history(engine: Engine, result_id: int, actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """The corrections of one result, oldest first (internal: with who corrected it).
    PermissionDenied if the result's task is outside the actor's scope.

    Row: version, corrected_at, corrected_by, old (names), new (names), old_note, new_note, reason.
    """
    with engine.connect() as conn:
        if actor is not None:
            task_id = conn.execute(select(ItemResult.task_id).where(ItemResult.id == result_id)).scalar_one_or_none()
            if task_id is not None:
                require_task(conn, actor, task_id)
        names = _names(conn)
        rows = conn.execute(select(ResultCorrection).where(ResultCorrection.result_id == result_id)
                            .order_by(ResultCorrection.id)).all()
    return [{"version": c.version, "corrected_at": c.corrected_at, "corrected_by": c.corrected_by,
             "old": _label(c.old_categories, names), "new": _label(c.new_categories, names),
             "old_note": c.old_note, "new_note": c.new_note, "reason": c.reason} for c in rows]
