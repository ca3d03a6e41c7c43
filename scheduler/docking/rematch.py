"""市抽县查 at the district: the district matches its own inspectors to the tasks a city plan handed down.

A city-tasks batch may hand a task down without a team (or the district may prefer its own
matching to the team handed down). `rematch` takes every handed-down task of one city plan in
the district that has no result yet, and matches teams from the district's roster by DSR-1
matching (scheduler/matching), exactly as a draw's matching, with:

- the seed given by the district (announced like a draw's seed), the city plan's code and period;
- each task's ticket SHA-256("DSR1-CITY|seed|city plan|city task number|USCC") (hex), its rank
  the order of the city task numbers; the departments are the owners of the task's items by
  code, with the items' qualifications and expert fields.

The matching package (`<bureau>-REMATCH-<plan>-<n>/`: certificate.json of package kind
`matching` and the five canonical input files) is written to the output folder, and `dsr verify`
recomputes the teams and the tickets from it alone. The teams replace the earlier ones
(those stay, inactive); each task gets a task event, the whole re-matching one audit event with the
certificate's digest and the teams. The results going back up (city-results) name the team.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, CheckItem, CityTask, Department, ItemResult, Plan, Task, TaskEvent, TaskItem, TeamMember
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.docking.formats import DockingError
from scheduler.docking.outbound import _bureau as acting_bureau
from scheduler.matching import fast as m
from scheduler.matching import package as mp
from scheduler.matching import service as teams
from scheduler.plans.service import LoadedPlan

OPEN = ("drawn", "assigned")
PACKAGE_KIND = "matching"


def city_ticket(seed: str, plan_code: str, city_task_no: str, uscc: str) -> str:
    """The ticket of a handed-down task in the district's matching (the verifier recomputes it)."""
    return hashlib.sha256(f"DSR1-CITY|{seed}|{plan_code}|{city_task_no}|{uscc}".encode("utf-8")).hexdigest()


@dataclass
class Rematched:
    folder: Path
    certificate_sha256: str
    tasks: list[dict[str, Any]]
    left: list[str]  # city task numbers not re-matched (results already entered)


def _open_tasks(s: Session, bureau: Bureau, plan_code: str) -> tuple[list[tuple[CityTask, Task]], list[str]]:
    rows = s.execute(select(CityTask, Task).join(Task, Task.id == CityTask.task_id)
                     .where(CityTask.bureau_id == bureau.id, CityTask.city_plan_code == plan_code)
                     .order_by(CityTask.city_task_no)).all()
    if not rows:
        raise DockingError(f"本局没有市级计划 {plan_code} 下发的任务")
    begun = set(s.execute(select(ItemResult.task_id).where(ItemResult.task_id.in_([t.id for _, t in rows]))).scalars())
    todo = [(c, t) for c, t in rows if t.status in OPEN and t.id not in begun]
    left = [c.city_task_no for c, t in rows if (c, t) not in todo]
    if not todo:
        raise DockingError(f"市级计划 {plan_code} 下发的任务均已开始检查或已结束，无可重新匹配的任务")
    periods = {c.period for c, _ in todo}
    if len(periods) != 1:
        raise DockingError(f"市级计划 {plan_code} 的任务属于多个抽查期间（{'、'.join(sorted(periods))}），无法一次匹配")
    usccs = [t.uscc for _, t in todo]
    if len(set(usccs)) != len(usccs):
        raise DockingError(f"市级计划 {plan_code} 中同一检查对象有多个待匹配任务，无法一次匹配")
    return todo, left


def _specs(s: Session, depts: dict[int, Department], seed: str, plan_code: str,
           todo: list[tuple[CityTask, Task]]) -> list[m.TaskSpec]:
    items: dict[int, list[CheckItem]] = defaultdict(list)
    for tid, item in s.execute(select(TaskItem.task_id, CheckItem).join(CheckItem, CheckItem.id == TaskItem.item_id)
                               .where(TaskItem.task_id.in_([t.id for _, t in todo])).order_by(CheckItem.code)):
        items[tid].append(item)
    specs = []
    for rank, (c, t) in enumerate(todo, start=1):
        required: dict[str, set[str]] = defaultdict(set)
        fields: set[str] = set()
        for it in items[t.id]:
            required[depts[it.department_id].code].update(q for q in (it.required_qualifications or "").split(";") if q)
            if it.expert_field:
                fields.add(it.expert_field)
        order = tuple(sorted(required))
        specs.append(m.TaskSpec(t.uscc, city_ticket(seed, plan_code, c.city_task_no, t.uscc), rank, order,
                                {d: frozenset(required[d]) for d in order}, tuple(sorted(fields))))
    return specs


def _certificate(bureau: Bureau, seed: str, plan_code: str, period: str, todo, specs, result, policy, files) -> dict:
    return {"package_kind": PACKAGE_KIND, "format": "dsr-city-rematch", "bureau": bureau.code, "seed": seed,
            "plan_code": plan_code, "period": period,
            "ticket_rule": "SHA-256(\"DSR1-CITY|seed|plan_code|city_task|entity_id\")",
            "selected": [{"entity_id": t.uscc, "city_task": c.city_task_no, "ticket": sp.ticket, "rank": sp.rank}
                         for (c, t), sp in zip(todo, specs)],
            "matching": mp.certificate_section(result, policy, specs, files)}


def _next_folder(out_dir: Path, bureau: Bureau, plan_code: str) -> Path:
    n = 1
    while (out_dir / f"{bureau.code}-REMATCH-{plan_code}-{n:03d}").exists():
        n += 1
    return out_dir / f"{bureau.code}-REMATCH-{plan_code}-{n:03d}"


def _store(s: Session, inputs: teams.MatchingInputs, result: m.MatchResult, todo, actor: Actor) -> None:
    task_ids = {t.uscc: t.id for _, t in todo}
    s.execute(update(TeamMember).where(TeamMember.task_id.in_(list(task_ids.values()))).values(active=False))
    teams.insert_members(s, teams.member_rows(inputs, result.teams), task_ids)
    short = teams.short_reasons(result)
    for c, t in todo:
        status, note = teams.task_status(t.uscc, short)
        base = t.note.split("；待区级匹配检查组")[0].split("；缺员：")[0]
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=status, actor=actor.name,
                        reason=f"区级重新匹配检查组（市级任务 {c.city_task_no}）" + (f"；{note}" if note else "")))
        t.status, t.note = status, base + (f"；{note}" if note else "")


def rematch(engine: Engine, plan_code: str, seed: str, out_dir: Path, actor: Actor,
            bureau_code: str | None = None) -> Rematched:
    """Match the district's inspectors to the open handed-down tasks of city plan `plan_code`."""
    require(actor, "exchange.rematch")
    if not seed.strip():
        raise DockingError("请给出匹配种子（--seed），例如公开摇号结果")
    seed = seed.strip()
    with Session(engine) as s:
        bureau = acting_bureau(s, actor, bureau_code, "exchange.rematch")
        todo, left = _open_tasks(s, bureau, plan_code)
        period = todo[0][0].period
        depts = {d.id: d for d in s.execute(select(Department).where(Department.bureau_id == bureau.id)).scalars()}
        specs = _specs(s, depts, seed, plan_code, todo)
        lp = LoadedPlan(Plan(bureau_id=bureau.id, code=plan_code), [], depts, None, {bureau.id: bureau.code})
        inputs = teams.gather(s, lp, 0, period, specs)
        policy = m.MatchPolicy()
        result = m.match(seed, plan_code, period, specs, inputs.roster, inputs.experts, inputs.conflicts,
                         inputs.last, inputs.prior_loads, policy)
        files = inputs.files()
        cert = _certificate(bureau, seed, plan_code, period, todo, specs, result, policy, files)
        text = json.dumps(cert, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        digest = hashlib.sha256(text).hexdigest()
        chosen = {eid: [mem.person_id for mem in team] for eid, team in result.teams.items()}
        tasks = [{"city_task": c.city_task_no, "task_id": t.id, "uscc": t.uscc, "team": chosen.get(t.uscc, [])}
                 for c, t in todo]
        _store(s, inputs, result, todo, actor)
        auditlog.record(s, actor, "task.city_rematch", f"cityplan:{plan_code}",
                        {"seed": seed, "period": period, "certificate_sha256": digest, "tasks": tasks, "left": left},
                        bureau_id=bureau.id)
        folder = _next_folder(Path(out_dir), bureau, plan_code)
        folder.mkdir(parents=True)
        (folder / "certificate.json").write_bytes(text)
        mp.write_files(folder, files)
        s.commit()
    return Rematched(folder, digest, tasks, left)


def open_city_plans(engine: Engine, actor: Actor, bureau_code: str | None = None) -> list[dict[str, Any]]:
    """The city plans with handed-down tasks of the bureau not begun yet (what `rematch` would take)."""
    with Session(engine) as s:
        bureau = acting_bureau(s, actor, bureau_code, "exchange.view")
        begun = select(ItemResult.task_id)
        rows = s.execute(select(CityTask.city_plan_code, CityTask.city_plan_name, Task.status)
                         .join(Task, Task.id == CityTask.task_id)
                         .where(CityTask.bureau_id == bureau.id, Task.status.in_(OPEN), Task.id.not_in(begun))).all()
    plans: dict[str, dict[str, Any]] = {}
    for code, name, status in rows:
        p = plans.setdefault(code, {"plan": code, "name": name, "open": 0, "unmatched": 0})
        p["open"] += 1
        p["unmatched"] += status == "drawn"
    return [plans[c] for c in sorted(plans)]
