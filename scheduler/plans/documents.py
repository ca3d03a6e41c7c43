"""A plan's public text (the document a PlanVersion keeps): what the public reads of a plan.

Built from a loaded plan (scheduler/plans/service.py's LoadedPlan) without a database of its
own. It carries no risk class (internal: 国市监信发〔2022〕6号): the ratios appear as their
range and the fixed counts as their total.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from db.models import CheckItem, Plan, split_list
from scheduler.plans import lifecycle, schedules, task_limits

def plan_year(plan: Plan) -> int | None:
    """The plan year: the stored one when plans store it, else as read from the code or name."""
    year = getattr(plan, "year", None)
    return int(year) if year else lifecycle.year_of(plan.code, plan.name)


def periods_of(schedule_text: str, year: int | None) -> list[str]:
    """The periods a plan's schedule draws in its year (scheduler/plans/quota.py); [] when unknown."""
    from scheduler.plans import quota

    return quota.periods(schedule_text, year)


def _percent(ratio: str) -> str:
    return f"{(Decimal(ratio) * 100).normalize():f}%"


def _ratio_text(ratios: dict[str, str], counts: dict[str, int]) -> tuple[str, str]:
    """(抽查比例, 抽查数量) without naming a risk class (they are not public)."""
    values = sorted({Decimal(str(v)) for v in ratios.values()})
    if not values:
        ratio = ""
    elif len(values) == 1:
        ratio = _percent(str(values[0]))
    else:
        ratio = f"{_percent(str(values[0]))}～{_percent(str(values[-1]))}"
    return ratio, (f"{sum(int(c) for c in counts.values())} 户" if counts else "")


def _item_scope(i: CheckItem) -> str:
    parts = []
    for label, value in (("主体类型", i.scope_entity_types), ("行业", i.scope_industries), ("许可", i.scope_tags),
                         ("乡镇街道", i.scope_towns)):
        if split_list(value):
            parts.append(f"{label}：{'、'.join(split_list(value))}")
    return "；".join(parts) or "全部检查对象"


def document(lp) -> dict[str, Any]:  # noqa: ANN001 — a LoadedPlan
    """The plan as the public reads it (no risk class, no person but the approvers of record)."""
    p = lp.plan
    ratio, count = _ratio_text(json.loads(p.ratios or "{}"), json.loads(p.counts or "{}"))
    year = plan_year(p)
    towns = split_list(p.frame_towns)
    try:
        schedule = schedules.parse(p.schedule).describe()
    except schedules.ScheduleError:
        schedule = p.schedule
    return {
        "code": p.code, "name": p.name, "kind": p.kind, "year": year, "version": p.version,
        "lead_department": lp.lead.name,
        "departments": [next(d.name for d in lp.departments.values() if d.code == c) for c in lp.department_codes()],
        "items": [{"code": i.code, "name": i.name, "kind": i.kind, "department": lp.departments[i.department_id].name,
                   "legal_basis": i.legal_basis, "scope": _item_scope(i)} for i in lp.items],
        "scope": f"定向：乡镇街道 {'、'.join(towns)}" if towns else "不定向（本辖区全部检查对象）",
        "ratio": ratio, "count": count,
        "schedule": schedule, "periods": periods_of(p.schedule, year),
        "task_days": p.task_days, "time_limit": task_limits.describe(p.task_days),
        "description": p.description,
    }
