"""实行垂直管理的部门: departments whose roster the city keeps, used by a district plan.

"由市级部门负责执法检查人员名录库的管理": a district department marked `vertical` (税务, 海关 ...)
keeps no roster of its own. A district plan with an item of such a department draws its
inspectors from the city bureau's department of the same code, by the same DSR-1 matching:
the city's people enter the matching inputs with their ids qualified by the city's code
(`110000/SW000012`), serving the district department's code, so the certificate names them
and `dsr verify` recomputes the teams from the packages as for any plan. The city sees which
district plans use its people (`roster_uses`) and approves each use (`approve_roster_use`);
a plan drawing on an unapproved use is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, CheckItem, Department, Plan, PlanItem, RosterUse
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau, restrict, visible_bureaus
from scheduler.audit import service as auditlog
from scheduler.errors import DsrError


class VerticalRefused(DsrError, RuntimeError):
    code = "roster.vertical_refused"


@dataclass
class Borrowed:
    """The city roster a district plan draws from: city department pk -> the district's code."""

    city_id: Optional[int] = None
    city_code: str = ""
    departments: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.departments)


def _plan_vertical(s: Session, plan: Plan) -> list[Department]:
    """The vertically managed departments owning items of `plan` (its own bureau's departments)."""
    return list(s.execute(
        select(Department).join(CheckItem, CheckItem.department_id == Department.id)
        .join(PlanItem, PlanItem.item_id == CheckItem.id)
        .where(PlanItem.plan_id == plan.id, Department.vertical).distinct().order_by(Department.code)).scalars())


def _city_of(s: Session, bureau_id: int) -> Optional[Bureau]:
    b = s.get(Bureau, bureau_id)
    if b is None or b.level != "district" or b.parent_id is None:
        return None
    return s.get(Bureau, b.parent_id)


def borrowed(s: Session, plan: Plan, check_approved: bool = True) -> Borrowed:
    """The city departments whose people a district plan's matching takes (empty for a city plan
    or a plan with no vertical department). Refused when a department has no city counterpart
    or (with `check_approved`) the city has not approved the use."""
    depts = _plan_vertical(s, plan)
    if not depts:
        return Borrowed()
    city = _city_of(s, plan.bureau_id)
    if city is None:
        raise VerticalRefused(f"计划 {plan.code} 含垂直管理部门（{'、'.join(d.name for d in depts)}），"
                              "但本局没有上级（市级）局，无法使用市级执法检查人员名录库")
    theirs = dict(s.execute(select(Department.code, Department.id).where(Department.bureau_id == city.id)).all())
    missing = [d.code for d in depts if d.code not in theirs]
    if missing:
        raise VerticalRefused(f"垂直管理部门 {'、'.join(missing)} 在{city.name}没有同代码部门，无法使用市级名录库")
    if check_approved:
        approved = set(s.execute(select(RosterUse.department_code).where(RosterUse.plan_id == plan.id)).scalars())
        pending = [d.code for d in depts if d.code not in approved]
        if pending:
            raise VerticalRefused(f"计划 {plan.code} 使用{city.name}执法检查人员名录库（部门 {'、'.join(pending)}）"
                                  "尚未经市级局审批，不能抽取")
    return Borrowed(city.id, city.code, {theirs[d.code]: d.code for d in depts})


def set_vertical(engine: Engine, bureau_code: str, department_code: str, vertical: bool, actor: Actor) -> Department:
    """Mark a district department as vertically managed (its roster kept by the city), or unmark it."""
    require(actor, "roster.vertical")
    with Session(engine) as s:
        d = s.execute(select(Department).join(Bureau, Bureau.id == Department.bureau_id)
                      .where(Bureau.code == bureau_code, Department.code == department_code)).scalar_one_or_none()
        if d is None:
            raise VerticalRefused(f"局 {bureau_code} 没有部门 {department_code}")
        require_bureau(s, actor, d.bureau_id)
        if vertical and _city_of(s, d.bureau_id) is None:
            raise VerticalRefused(f"局 {bureau_code} 不是区级局，没有上级名录库可用")
        d.vertical = vertical
        auditlog.record(s, actor, "department.vertical", f"department:{bureau_code}/{department_code}",
                        {"vertical": vertical}, bureau_id=d.bureau_id)
        s.commit()
        s.refresh(d)
        return d


def approve_roster_use(engine: Engine, plan_code: str, actor: Actor, note: str = "") -> list[str]:
    """The city approves a district plan's use of its roster; returns the department codes approved.
    Only an account of the city bureau (or the command line) may approve."""
    require(actor, "roster.approve")
    with Session(engine) as s:
        plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
        if plan is None:
            raise VerticalRefused(f"没有抽查计划 {plan_code}")
        depts = _plan_vertical(s, plan)
        city = _city_of(s, plan.bureau_id)
        if not depts or city is None:
            raise VerticalRefused(f"计划 {plan_code} 不使用市级执法检查人员名录库，无需审批")
        require_bureau(s, actor, city.id)
        if actor.bureau_id is not None and actor.bureau_id != city.id:
            raise VerticalRefused(f"使用市级名录库须由{city.name}审批")
        have = set(s.execute(select(RosterUse.department_code).where(RosterUse.plan_id == plan.id)).scalars())
        new = [d.code for d in depts if d.code not in have]
        s.add_all([RosterUse(plan_id=plan.id, city_bureau_id=city.id, department_code=c, approved_by=actor.name,
                             note=note) for c in new])
        auditlog.record(s, actor, "roster.approve", f"plan:{plan_code}",
                        {"departments": new, "city": city.code, "note": note}, bureau_id=city.id)
        s.commit()
        return new


def roster_uses(engine: Engine, actor: Actor) -> list[dict[str, Any]]:
    """District plans in the actor's scope that draw on a city roster, with each department's state
    (已审批 by whom, or 待审批): what the city sees of the use of its people."""
    require(actor, "roster.view")
    with Session(engine) as s:
        visible = visible_bureaus(s, actor)
        stmt = restrict(select(Plan, Department).join(PlanItem, PlanItem.plan_id == Plan.id)
                        .join(CheckItem, CheckItem.id == PlanItem.item_id)
                        .join(Department, Department.id == CheckItem.department_id)
                        .where(Department.vertical).distinct().order_by(Plan.code, Department.code),
                        Plan.bureau_id, visible)
        approved = {(u.plan_id, u.department_code): u for u in s.execute(select(RosterUse)).scalars()}
        out = []
        for plan, d in s.execute(stmt).all():
            u = approved.get((plan.id, d.code))
            out.append({"plan": plan.code, "name": plan.name, "department": d.code, "department_name": d.name,
                        "state": "已审批" if u else "待审批", "approved_by": u.approved_by if u else "",
                        "approved_at": u.approved_at if u else None})
        return out
