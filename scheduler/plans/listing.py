"""The plan listings: every plan's summary (`dsr plans --json`, the plan and draw pages) and a plan's
approved versions (`dsr plans versions`).

A fixed number of plain SELECTs over db/tables.py, however many plans (no query per plan), and no
ORM models: the listings answer without importing db/models.py or the draw service. The keys and
their order are a public interface (scripts read `dsr plans --json`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine, Row

from db import tables as t
from scheduler.access.context import Actor
from scheduler.errors import DsrError
from scheduler.plans import lifecycle


class PlanNotFound(DsrError, LookupError):
    code = "plan.not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"抽查计划“{code}”不存在")


PLAN_COLUMNS = ("id", "bureau_id", "code", "name", "year", "kind", "lead_department_id", "strata_by", "ratios",
                "counts", "batches", "reserve_ratio", "team_size", "matching_policy", "workload_cap", "frequency",
                "schedule", "require_public_seed", "merge_visits", "version", "status", "task_days")


def list_plans(engine: Engine, bureau_id: int | None = None, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Every plan (of `bureau_id` if given; with an `actor`, of the bureaus in its scope), by code."""
    from scheduler.calendar.loading import load_calendar
    from scheduler.plans.quota_rows import year_quotas

    with engine.connect() as conn:
        cal, now = load_calendar(conn), dt.datetime.now(dt.timezone.utc)
        stmt = select(*(t.plan.c[c] for c in PLAN_COLUMNS)).order_by(t.plan.c.code)
        if bureau_id is not None or actor is not None:
            stmt = _scoped(conn, stmt, bureau_id, actor)
        plans = conn.execute(stmt).all()
        ids = [p.id for p in plans]
        items = _by_plan(conn.execute(
            select(t.planitem.c.plan_id, t.checkitem.c.code, t.checkitem.c.name, t.checkitem.c.kind,
                   t.checkitem.c.department_id, t.checkitem.c.ratio_cap, t.checkitem.c.ratio_floor)
            .join(t.checkitem, t.checkitem.c.id == t.planitem.c.item_id).where(t.planitem.c.plan_id.in_(ids))
            .order_by(t.planitem.c.plan_id, t.checkitem.c.code)))
        # Not the certificates: a listing needs none, and a 1M draw's is ~28 MB.
        draws = _by_plan(conn.execute(
            select(t.draw.c.plan_id, t.draw.c.period, t.draw.c.status, t.draw.c.frame_sha256, t.draw.c.plan_version)
            .where(t.draw.c.plan_id.in_(ids)).order_by(t.draw.c.plan_id, t.draw.c.period, t.draw.c.id)))
        departments: dict[int, dict[int, Row]] = {}
        for d in conn.execute(select(t.department.c.id, t.department.c.bureau_id, t.department.c.code, t.department.c.name)
                              .where(t.department.c.bureau_id.in_(sorted({p.bureau_id for p in plans})))):
            departments.setdefault(d.bureau_id, {})[d.id] = d
        quotas = year_quotas(conn)
    return [plan_summary(p, departments[p.bureau_id], items.get(p.id, []), draws.get(p.id, []), cal, now,
                         quotas.get(p.id, []))
            for p in plans]


def plan_versions(engine: Engine, code: str, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Every approved version of the plan, newest first (the current draft, if any, is not one)."""
    p, v = t.plan.c, t.planversion.c
    with engine.connect() as conn:
        plan = conn.execute(select(p.id, p.bureau_id, p.version, p.status).where(p.code == code)).first()
        if plan is None:
            raise PlanNotFound(code)
        if actor is not None:
            from scheduler.access.scope import require_bureau  # the bureau tree: db/models.py

            require_bureau(conn, actor, plan.bureau_id)
        rows = conn.execute(select(v.version, v.reason, v.changed_by, v.approved_by, v.approved_at, v.published_by,
                                   v.published_at, v.document).where(v.plan_id == plan.id).order_by(v.version.desc()))
        return [version_row(r, plan.version, plan.status) for r in rows]


def version_row(v: Any, current: int, status: str) -> dict[str, Any]:
    """One approved version (a PlanVersion or a row of its columns) as listed."""
    return {"version": v.version, "reason": v.reason, "changed_by": v.changed_by, "approved_by": v.approved_by,
            "approved_at": v.approved_at, "published_by": v.published_by, "published_at": v.published_at,
            "current": v.version == current and status != lifecycle.DRAFT,
            "document": json.loads(v.document)}


def _scoped(conn: Connection, stmt: Any, bureau_id: Optional[int], actor: Optional[Actor]) -> Any:
    """`stmt` limited to `bureau_id` (PermissionDenied outside the actor's scope), else to the actor's bureaus."""
    from scheduler.access.scope import in_scope, require_bureau, visible_bureaus  # the bureau tree: db/models.py

    if bureau_id is not None:
        require_bureau(conn, actor, bureau_id)
        return stmt.where(t.plan.c.bureau_id == bureau_id)
    cond = in_scope(t.plan.c.bureau_id, visible_bureaus(conn, actor))
    return stmt if cond is None else stmt.where(cond)


def _by_plan(rows: Iterable[Row]) -> dict[int, list[Row]]:
    out: dict[int, list[Row]] = {}
    for r in rows:
        out.setdefault(r.plan_id, []).append(r)
    return out


def department_codes(lead_code: str, items: list[Row], departments: dict[int, Row]) -> list[str]:
    """Lead department first, then the other item owners by code."""
    codes = {departments[i.department_id].code for i in items}
    return [lead_code] + sorted(codes - {lead_code})


def plan_summary(p: Row, departments: dict[int, Row], items: list[Row], draws: list[Row], cal=None,  # noqa: ANN001
                 now: dt.datetime | None = None, quota_rows: list[dict] | None = None) -> dict[str, Any]:
    """One plan as listed. `departments`: its bureau's, by id. `cal` (WorkdayCalendar) and `now` (aware)
    fill next_run; without `cal` a working-day schedule gives next_run None and an error. `quota_rows`:
    the year's figures per stratum (scheduler/plans/quota_rows.py)."""
    from scheduler.plans import quota
    from scheduler.plans.schedules import next_run_of

    year = p.year or lifecycle.year_of(p.code, p.name)
    next_run, next_run_error = next_run_of(p.schedule, now or dt.datetime.now(dt.timezone.utc), cal)
    lead = departments[p.lead_department_id]
    codes = department_codes(lead.code, items, departments)
    return {
        "code": p.code,
        "name": p.name,
        "kind": p.kind,
        "year": year,
        "periods": quota.periods(p.schedule, year),
        "quota": quota_rows if quota_rows is not None else [],
        "lead_department": lead.name,
        "departments": [next(d.name for d in departments.values() if d.code == c) for c in codes],
        "joint": len(codes) > 1,
        "items": [
            {"code": i.code, "name": i.name, "kind": i.kind, "department": departments[i.department_id].name,
             "ratio_cap": i.ratio_cap, "ratio_floor": i.ratio_floor}
            for i in items
        ],
        "strata_by": p.strata_by,
        "ratios": json.loads(p.ratios or "{}"),
        "counts": json.loads(p.counts or "{}"),
        "batches": p.batches,
        "reserve_ratio": p.reserve_ratio,
        "team_size": p.team_size,
        "matching_policy": p.matching_policy,
        "workload_cap": p.workload_cap,
        "frequency": json.loads(p.frequency or "{}"),
        "schedule": p.schedule,
        "next_run": next_run,
        "next_run_error": next_run_error,
        "require_public_seed": p.require_public_seed,
        "merge_visits": bool(p.merge_visits),
        "version": p.version,
        "status": p.status,
        "task_days": p.task_days,
        "draws": [{"period": d.period, "status": d.status, "frame_sha256": d.frame_sha256, "plan_version": d.plan_version}
                  for d in draws],
    }
