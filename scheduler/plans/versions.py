"""Plans as published documents: approve, publish, copy into a new year, and every version on record.

The rules are in scheduler/plans/lifecycle.py; here the transactions, the role checks and the
audit events. Each approved version is kept as a PlanVersion row holding the public text of
the plan as approved (`document`), so the public page shows the current version and the earlier
ones with the reasons they changed. The document carries no risk class: the ratios appear as
their range and the counts as their total.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Plan, PlanItem, PlanVersion, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.plans import lifecycle
from scheduler.plans.documents import document, plan_year
from scheduler.plans.listing import PlanNotFound, version_row
from scheduler.plans.listing import plan_versions as versions  # noqa: F401 — ui/plan_documents.py reads them here
from scheduler.plans.service import load_plan


def _locked(s: Session, code: str) -> Plan:
    stmt = select(Plan).where(Plan.code == code)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    plan = s.execute(stmt).scalar_one_or_none()
    if plan is None:
        raise PlanNotFound(code)
    return plan


def approve_plan(engine: Engine, code: str, actor: Actor) -> Plan:
    """A second person approves the plan's current draft; its text is kept as a PlanVersion."""
    with Session(engine) as s:
        plan = _locked(s, code)
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "plan.approve", department_id=plan.lead_department_id)
        lifecycle.require_approvable(code, plan.status, plan.version, actor.name, plan.created_by, plan.updated_by)
        now = utcnow()
        plan.status, plan.approved_by, plan.approved_at = lifecycle.APPROVED, actor.name, now
        doc = document(load_plan(s, code))
        s.add(PlanVersion(plan_id=plan.id, version=plan.version, document=json.dumps(doc, ensure_ascii=False, sort_keys=True),
                          reason=plan.change_reason, changed_by=plan.updated_by, approved_by=actor.name, approved_at=now))
        auditlog.record(s, actor, "plan.approve", f"plan:{code}",
                        {"plan": code, "version": plan.version, "reason": plan.change_reason, "document": doc},
                        bureau_id=plan.bureau_id)
        s.commit()
        s.refresh(plan)
        return plan


def publish_plan(engine: Engine, code: str, actor: Actor) -> Plan:
    """Publish the approved current version: from now on the public page shows it."""
    with Session(engine) as s:
        plan = _locked(s, code)
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "plan.publish", department_id=plan.lead_department_id)
        lifecycle.require_publishable(code, plan.status, plan.version)
        now = utcnow()
        plan.status, plan.published_by, plan.published_at = lifecycle.PUBLISHED, actor.name, now
        row = s.execute(select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.version == plan.version)
                        ).scalar_one()
        row.published_by, row.published_at = actor.name, now
        auditlog.record(s, actor, "plan.publish", f"plan:{code}", {"plan": code, "version": plan.version},
                        bureau_id=plan.bureau_id)
        s.commit()
        s.refresh(plan)
        return plan


def copy_plan(engine: Engine, code: str, year: int, new_code: str, actor: Actor) -> Plan:
    """复制为下一年度计划: the plan's settings and items under `new_code` for `year`, as a draft (version 1)."""
    new_code = (new_code or "").strip()
    if not new_code:
        raise lifecycle.PlanStateError("请填写新计划编号")
    if not 2000 <= year <= 2100:
        raise lifecycle.PlanStateError(f"计划年度“{year}”不正确")
    with Session(engine) as s:
        src = load_plan(s, code)
        require_bureau(s, actor, src.plan.bureau_id)
        require(actor, "plan.save", department_id=src.plan.lead_department_id)
        if s.execute(select(Plan.id).where(Plan.code == new_code)).first():
            raise lifecycle.PlanStateError(f"计划编号“{new_code}”已被使用")
        keep = {k: v for k, v in src.plan.model_dump().items() if k not in _NOT_COPIED}
        new = Plan(**keep, code=new_code, name=lifecycle.copy_name(src.plan.name, plan_year(src.plan), year))
        if "year" in Plan.model_fields:  # plans that store their year get the new one
            new.year = year
        lifecycle.on_save(new, actor.name, f"由 {code} 复制为 {year} 年度计划", created=True)
        s.add(new)
        s.flush()
        s.add_all(PlanItem(plan_id=new.id, item_id=i.id) for i in src.items)
        auditlog.record(s, actor, "plan.copy", f"plan:{new_code}",
                        {"from": code, "plan": new_code, "year": year, "items": [i.code for i in src.items]},
                        bureau_id=new.bureau_id)
        s.commit()
        s.refresh(new)
        return new


# Columns a copy does not take over: identity, the year, and the lifecycle of the source.
_NOT_COPIED = frozenset({"id", "code", "name", "year", "created_at", "updated_at", "status", "version", "created_by",
                         "updated_by", "change_reason", "approved_by", "approved_at", "published_by", "published_at"})


def public_plans(engine: Engine) -> list[dict[str, Any]]:
    """Every published version of every plan (by code, newest version first): what the public page shows.

    A plan published before versions were kept (an older database, the demo) shows its current text."""
    out: list[dict[str, Any]] = []
    with Session(engine) as s:
        plans = list(s.execute(select(Plan).order_by(Plan.code)).scalars())
        kept: dict[int, list[PlanVersion]] = {}
        for v in s.execute(select(PlanVersion).where(PlanVersion.published_at.is_not(None))
                           .order_by(PlanVersion.version.desc())).scalars():
            kept.setdefault(v.plan_id, []).append(v)
        for p in plans:
            rows = [version_row(v, p.version, p.status) for v in kept.get(p.id, [])]
            if p.status == lifecycle.PUBLISHED and not any(r["version"] == p.version for r in rows):
                rows.insert(0, {"version": p.version, "reason": p.change_reason, "changed_by": p.updated_by,
                                "approved_by": p.approved_by, "approved_at": p.approved_at,
                                "published_by": p.published_by, "published_at": p.published_at, "current": True,
                                "document": document(load_plan(s, p.code))})
            # The newest published text is the one in force for the public, even while a change is a draft.
            out.extend({"code": p.code, **r, "current": k == 0} for k, r in enumerate(rows))
    return out
