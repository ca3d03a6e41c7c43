"""Plans (抽查计划): save with the rules checked, load for a draw; the listing is scheduler/plans/listing.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, CheckItem, Department, Plan, PlanItem, PlanVersion, utcnow
from scheduler.plans import lifecycle, rules
from scheduler.plans.documents import document
from scheduler.plans.frame import Scope
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.library.bureaus import risk_classes
from scheduler.access.context import CLI, Actor
from scheduler.access.scope import require_bureau
from scheduler.plans.listing import PlanNotFound, list_plans  # noqa: F401 — the pages and tests list plans through the service


@dataclass
class PlanInput:
    """What a planner fills in; departments and items by code."""

    code: str
    name: str
    lead_department: str
    item_codes: list[str]
    ratios: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = rules.DEFAULTS.kind
    strata_by: str = rules.DEFAULTS.strata_by
    batches: int = rules.DEFAULTS.batches
    reserve_ratio: str = rules.DEFAULTS.reserve_ratio
    frame_towns: list[str] = field(default_factory=list)
    team_size: int = rules.DEFAULTS.team_size
    matching_policy: str = rules.DEFAULTS.matching_policy
    workload_cap: int = rules.DEFAULTS.workload_cap
    expert_cap: int = rules.DEFAULTS.expert_cap
    frequency: dict[str, Any] = field(default_factory=dict)  # empty: rules.Frequency's defaults
    schedule: str = rules.DEFAULTS.schedule
    require_public_seed: bool = rules.DEFAULTS.require_public_seed
    description: str = ""
    bureau_code: str | None = None
    # 完成时限: working days after the draw (0: by the end of the period), scheduler/plans/task_limits.py.
    task_days: int = 0
    # 计划年度: None reads it from the code or name (PG-2026-GS, 2026年度…), else this year (Asia/Shanghai).
    year: int | None = None
    # Why an approved plan changes (it then becomes the next version, a draft): scheduler/plans/lifecycle.py.
    reason: str = ""


@dataclass
class LoadedPlan:
    """A plan with its items, ready for the frame builder and the draw."""

    plan: Plan
    items: list[CheckItem]
    departments: dict[int, Department]
    rules: rules.PlanRules
    # 市抽县查: the bureaus whose areas the plan draws from (id -> code). A district
    # plan draws from its own area; a city plan from its own and its districts'
    # areas, and each task is carried out by the bureau whose area holds the entity.
    area: dict[int, str] = field(default_factory=dict)

    @property
    def hands_over(self) -> bool:
        """A city plan hands each task to the district holding the entity."""
        return len(self.area) > 1

    def area_ids(self) -> list[int]:
        return sorted(self.area) or [self.plan.bureau_id]

    def scopes(self) -> list[tuple[CheckItem, Scope]]:
        """Each item with its parsed scope (parsed once; asked for every drawn entity)."""
        if not hasattr(self, "_scopes"):
            self._scopes = [(i, Scope.of(i)) for i in self.items]
        return self._scopes

    @property
    def lead(self) -> Department:
        return self.departments[self.plan.lead_department_id]

    def department_codes(self) -> list[str]:
        """Lead department first, then the other item owners by code."""
        codes = {self.departments[i.department_id].code for i in self.items}
        lead = self.lead.code
        return [lead] + sorted(codes - {lead})


def _rules_for(plan: Plan, items: list[CheckItem], departments: dict[int, Department], classes: list[str]) -> rules.PlanRules:
    return rules.PlanRules(
        code=plan.code,
        items=tuple(
            rules.ItemRule(
                code=i.code,
                name=i.name,
                kind=i.kind,
                department=departments[i.department_id].code,
                ratio_cap=i.ratio_cap,
                ratio_floor=i.ratio_floor,
            )
            for i in items
        ),
        risk_classes=tuple(classes),
        ratios=json.loads(plan.ratios or "{}"),
        counts=json.loads(plan.counts or "{}"),
        kind=plan.kind,
        strata_by=plan.strata_by,
        batches=plan.batches,
        reserve_ratio=plan.reserve_ratio,
        team_size=plan.team_size,
        matching_policy=plan.matching_policy,
        frequency=rules.Frequency.from_json(json.loads(plan.frequency or "{}")),
    )


def load_plan(session: Session, code: str, actor: Actor | None = None) -> LoadedPlan:
    """The plan `code` with its items; PermissionDenied if it belongs to a bureau outside the actor's scope."""
    plan = session.execute(select(Plan).where(Plan.code == code)).scalar_one_or_none()
    if plan is None:
        raise PlanNotFound(code)
    require_bureau(session, actor, plan.bureau_id)
    items = list(
        session.execute(
            select(CheckItem).join(PlanItem, PlanItem.item_id == CheckItem.id).where(PlanItem.plan_id == plan.id).order_by(CheckItem.code)
        ).scalars()
    )
    departments = {d.id: d for d in session.execute(select(Department).where(Department.bureau_id == plan.bureau_id)).scalars()}
    return LoadedPlan(plan, items, departments, _rules_for(plan, items, departments, risk_classes(session)),
                      plan_area(session, plan.bureau_id))


def plan_area(session: Session, bureau_id: int) -> dict[int, str]:
    """The bureaus a plan of `bureau_id` draws from: itself, and its districts when it is a city bureau."""
    b = session.get(Bureau, bureau_id)
    area = {b.id: b.code}
    if b.level == "city":
        area.update(session.execute(select(Bureau.id, Bureau.code).where(Bureau.parent_id == b.id)).all())
    return area


def _apply(plan: Plan, data: PlanInput, lead: Department) -> None:
    plan.name = data.name
    plan.kind = data.kind
    plan.lead_department_id = lead.id
    plan.strata_by = data.strata_by
    plan.ratios = json.dumps(data.ratios, ensure_ascii=False, sort_keys=True)
    plan.counts = json.dumps(data.counts, ensure_ascii=False, sort_keys=True)
    plan.batches = data.batches
    plan.reserve_ratio = data.reserve_ratio
    plan.frame_towns = ";".join(sorted(set(data.frame_towns)))
    plan.team_size = data.team_size
    plan.matching_policy = data.matching_policy
    plan.workload_cap = data.workload_cap
    plan.expert_cap = data.expert_cap
    plan.frequency = json.dumps(rules.Frequency.from_json(data.frequency).to_json(), ensure_ascii=False)
    plan.schedule = data.schedule
    plan.require_public_seed = data.require_public_seed
    plan.description = data.description
    plan.task_days = data.task_days
    plan.year = _year_of(plan, data)
    plan.updated_at = utcnow()


def _year_of(plan: Plan, data: PlanInput) -> int:
    """The plan year: as given; else the stored one; else read from the code or name; else this year."""
    if data.year is not None:
        if not 2000 <= int(data.year) <= 2100:
            raise rules.PlanRuleError([f"计划年度“{data.year}”不正确，应为 2000 至 2100 之间的年份"])
        return int(data.year)
    if plan.year:
        return plan.year
    from scheduler.plans import schedules

    try:
        sch = schedules.parse(data.schedule)
    except schedules.ScheduleError:
        sch = None
    if sch is not None and sch.at is not None:  # a one-off draw: the year of its time
        return sch.at.year
    return lifecycle.year_of(data.code, data.name) or utcnow().astimezone(schedules.TZ).year


def _resolve(s: Session, data: PlanInput, default_bureau_id: int | None = None,
             ) -> tuple[Bureau, Department, list[CheckItem], dict[int, Department]]:
    """The bureau, lead department and items a PlanInput names; PlanRuleError if any is missing.

    Without `bureau_code`: `default_bureau_id` (the actor's bureau), else the only bureau."""
    bq = select(Bureau)
    if data.bureau_code:
        bq = bq.where(Bureau.code == data.bureau_code)
    elif default_bureau_id is not None:
        bq = bq.where(Bureau.id == default_bureau_id)
    bureaus = list(s.execute(bq).scalars())
    if len(bureaus) != 1:
        raise rules.PlanRuleError(["请指定所属监管局（--bureau）" if bureaus else "数据库中没有监管局，请先运行 dsr demo 或导入基础数据"])
    bureau = bureaus[0]
    depts = {d.code: d for d in s.execute(select(Department).where(Department.bureau_id == bureau.id)).scalars()}
    by_name = {d.name: d for d in depts.values()}
    lead = depts.get(data.lead_department) or by_name.get(data.lead_department)
    errs: list[str] = []
    if lead is None:
        errs.append(f"牵头部门“{data.lead_department}”不存在")
    items = sorted(
        s.execute(select(CheckItem).where(CheckItem.bureau_id == bureau.id, CheckItem.code.in_(data.item_codes))).scalars(),
        key=lambda i: i.code,
    )
    missing = sorted(set(data.item_codes) - {i.code for i in items})
    if missing:
        errs.append(f"抽查事项不存在：{'、'.join(missing)}")
    if errs:
        raise rules.PlanRuleError(errs)
    return bureau, lead, items, {d.id: d for d in depts.values()}


def transient_plan(s: Session, data: PlanInput) -> LoadedPlan:
    """A LoadedPlan for a form that is not saved yet (for live checks and previews)."""
    bureau, lead, items, departments = _resolve(s, data)
    plan = Plan(code=data.code, bureau_id=bureau.id, name=data.name, lead_department_id=lead.id)
    _apply(plan, data, lead)
    return LoadedPlan(plan, items, departments, _rules_for(plan, items, departments, risk_classes(s)),
                      plan_area(s, bureau.id))


def check_input(engine: Engine, data: PlanInput) -> list[str]:
    """Every rule the form breaks (Chinese messages), without saving anything."""
    with Session(engine) as s:
        try:
            lp = transient_plan(s, data)
        except rules.PlanRuleError as e:
            return e.messages
        return rules.check_plan(lp.rules)


def _record_text_in_force(s: Session, plan: Plan) -> None:
    """Before a change opens the next version: the text in force is on record as a PlanVersion. A plan in
    use before versions were kept (an older database, the demo) has none yet; it is recorded now, as
    it stands, so it stays on record and public."""
    if s.execute(select(PlanVersion.id).where(PlanVersion.plan_id == plan.id, PlanVersion.version == plan.version)).first():
        return
    published = plan.status == lifecycle.PUBLISHED
    s.add(PlanVersion(plan_id=plan.id, version=plan.version,
                      document=json.dumps(document(load_plan(s, plan.code)), ensure_ascii=False, sort_keys=True),
                      reason=plan.change_reason, changed_by=plan.updated_by, approved_by=plan.approved_by,
                      approved_at=plan.approved_at or plan.updated_at, published_by=plan.published_by,
                      published_at=(plan.published_at or plan.updated_at) if published else None))


def save_plan(engine: Engine, data: PlanInput, actor: Actor = CLI) -> Plan:
    """Create or update a plan; refuses (PlanRuleError) if it breaks a rule.

    A plan that already has a draw keeps its code; its settings may change for
    later periods (each draw's certificate records the settings it used).
    The plan's bureau (and an existing plan's) must be in the actor's scope (PermissionDenied);
    a plan stays in its bureau.
    """
    with Session(engine) as s:
        bureau, lead, items, departments = _resolve(s, data, actor.bureau_id)
        require_bureau(s, actor, bureau.id)
        require(actor, "plan.save", department_id=lead.id)
        plan = s.execute(select(Plan).where(Plan.code == data.code)).scalar_one_or_none()
        if plan is not None:
            require_bureau(s, actor, plan.bureau_id)
            if plan.bureau_id != bureau.id:
                raise rules.PlanRuleError([f"计划编号“{data.code}”已被其他监管局的抽查计划使用"])
        if plan is not None and plan.lead_department_id != lead.id:
            # Moving a plan to another department needs the right on its current department too.
            require(actor, "plan.save", department_id=plan.lead_department_id)
        created = plan is None
        if plan is None:
            plan = Plan(code=data.code, bureau_id=bureau.id, name=data.name, lead_department_id=lead.id)
        if data.task_days < 0:
            raise rules.PlanRuleError(["完成时限的工作日数不能为负数"])
        if not created and plan.status != lifecycle.DRAFT:
            _record_text_in_force(s, plan)
        lifecycle.on_save(plan, actor.name, data.reason, created)
        _apply(plan, data, lead)
        rules.ensure_valid(_rules_for(plan, items, departments, risk_classes(s)))
        s.add(plan)
        s.flush()
        for pi in s.execute(select(PlanItem).where(PlanItem.plan_id == plan.id)).scalars():
            s.delete(pi)
        s.flush()
        for it in items:
            s.add(PlanItem(plan_id=plan.id, item_id=it.id))
        auditlog.record(
            s, actor, "plan.create" if created else "plan.update", f"plan:{plan.code}",
            {"plan": plan.model_dump(mode="json", exclude={"id", "created_at", "updated_at"}), "items": sorted(data.item_codes)},
            bureau_id=plan.bureau_id,
        )
        s.commit()
        s.refresh(plan)
        return plan
