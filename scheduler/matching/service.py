"""Inspector matching on the database: gather DSR-1 matching inputs, store teams, replace members.

The pure rules live in scheduler.matching.fast; this module only reads the roster,
conflicts, prior loads and rotation history of the period, and writes the
teams (TeamMember rows) inside the draw's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo
from dataclasses import dataclass
from typing import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.bulk import insert_rows
from db.models import CheckItem, Conflict, Department, Draw, Expert, Inspector, Task, TaskEvent, TaskItem, TeamMember, utcnow
from scheduler.matching import fast as m
from scheduler.matching import package as mp
from scheduler.matching import vertical
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.access.context import CLI, Actor
from db.bulk import in_values
from scheduler.access.scope import require_bureau
from scheduler.plans.service import LoadedPlan, load_plan
from scheduler.errors import DsrError
from scheduler.library import certificates

INACTIVE_TASK = ("voided", "replaced", "reserve")


@dataclass
class MatchingInputs:
    tasks: list[m.TaskSpec]
    roster: list[m.InspectorRec]
    experts: list[m.ExpertRec]
    conflicts: set[tuple[str, str]]
    last: dict[str, set[str]]
    prior_loads: dict[str, int]
    inspector_pk: dict[str, int]
    expert_pk: dict[str, int]
    dept_pk: dict[str, int]  # (qualified) department code -> Department.id

    def files(self) -> dict[str, bytes]:
        return mp.build_files(self.roster, self.experts, self.conflicts, self.prior_loads, self.last)


def policy_of(lp: LoadedPlan) -> m.MatchPolicy:
    p = lp.plan
    return m.MatchPolicy(team_size=p.team_size, policy=p.matching_policy, cap=p.workload_cap, expert_cap=p.expert_cap)


def task_spec(lp: LoadedPlan, entity_id: str, ticket: str, rank: int, items: Sequence[CheckItem],
              bureau_code: str | None = None) -> m.TaskSpec:
    """Departments: owners of the task's items, lead first, then by code. For a city
    plan, `bureau_code` is the carrying district's and qualifies every name."""
    required: dict[str, set[str]] = defaultdict(set)
    fields: set[str] = set()
    for it in items:
        dept = m.qualified(bureau_code, lp.departments[it.department_id].code)
        required[dept].update(q for q in (it.required_qualifications or "").split(";") if q)
        if it.expert_field:
            fields.add(m.qualified(bureau_code, it.expert_field))
    lead = m.qualified(bureau_code, lp.lead.code)
    depts = ([lead] if lead in required else []) + sorted(set(required) - {lead})
    return m.TaskSpec(entity_id, ticket, rank, tuple(depts), {d: frozenset(required[d]) for d in depts}, tuple(sorted(fields)))


def task_specs(lp: LoadedPlan, rows: Sequence[tuple[str, str, int, Sequence[CheckItem], str | None]]) -> list[m.TaskSpec]:
    """`task_spec` for many (entity_id, ticket, rank, items, bureau_code) rows: tasks with
    the same items and carrying bureau share one departments/requirements computation
    (and the same `required` mapping, which nobody mutates)."""
    memo: dict[tuple, tuple] = {}
    out = []
    for entity_id, ticket, rank, items, bureau_code in rows:
        key = (tuple(map(id, items)), bureau_code)
        parts = memo.get(key)
        if parts is None:
            t = task_spec(lp, entity_id, ticket, rank, items, bureau_code)
            parts = memo[key] = (t.departments, t.required, t.expert_fields)
            out.append(t)
        else:
            out.append(m.TaskSpec(entity_id, ticket, rank, *parts))
    return out


def stored_items(s: Session, task_id: int) -> list[CheckItem]:
    """The items a task carries, as stored at the draw (the matching's task spec follows them)."""
    return list(s.execute(select(CheckItem).join(TaskItem, TaskItem.item_id == CheckItem.id)
                          .where(TaskItem.task_id == task_id).order_by(CheckItem.code)).scalars())


def carrier_code(lp: LoadedPlan, task_bureau_id: int) -> str | None:
    """The qualifying bureau code of a task (None for a district plan's own tasks)."""
    return lp.area[task_bureau_id] if lp.hands_over else None


def certificates_today() -> dt.date:
    """The day certificates are checked on: the Beijing date of the matching."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def roster_rows(s: Session, area):
    """(pk, bureau, roster id, department, qualifications, eligible) of the area's roster, by roster id.
    An expired 执法证 makes the inspector ineligible from the day after its last valid day."""
    today = certificates_today()
    for pk, b, iid, dept, q, active, valid_until in s.execute(
            select(Inspector.id, Inspector.bureau_id, Inspector.inspector_id, Inspector.department_id,
                   Inspector.qualifications, Inspector.active, Inspector.cert_valid_until)
            .where(Inspector.bureau_id.in_(area)).order_by(Inspector.inspector_id)):
        yield pk, b, iid, dept, q, bool(active) and certificates.eligible(valid_until, today)


def gather(s: Session, lp: LoadedPlan, draw_id: int, period: str, tasks: list[m.TaskSpec],
           loads_include_this_draw: bool = False) -> MatchingInputs:
    """Matching inputs for `tasks` of draw `draw_id`. Rotation looks at checks of
    other draws; prior loads count other draws of the period (and this one too
    when a member is replaced after matching: loads as they stand). A city plan
    takes the rosters of every bureau of its area, names qualified (m.qualified)."""
    area = lp.area_ids()
    code = {b: (lp.area[b] if lp.hands_over else None) for b in area}
    depts = {d.id: (d.bureau_id, d.code) for d in s.execute(select(Department).where(Department.bureau_id.in_(area))).scalars()}
    dept_code = {pk: m.qualified(code[b], c) for pk, (b, c) in depts.items()}
    # 垂直管理: a district plan's vertical departments take the city's people (ids qualified by its code).
    city = vertical.borrowed(s, lp.plan) if not lp.hands_over else vertical.Borrowed()
    own_vertical = {pk for pk, d in lp.departments.items() if d.vertical} if city else set()
    roster, inspector_pk = [], {}
    # Plain rows rather than ORM objects: a roster has thousands of people.
    quals: dict[str, frozenset[str]] = {}
    people = [(r, code[r[1]], dept_code[r[3]]) for r in roster_rows(s, area) if r[3] not in own_vertical]
    if city:
        people = sorted(people + [(r, city.city_code, city.departments[r[3]]) for r in roster_rows(s, [city.city_id])
                                  if r[3] in city.departments], key=lambda p: m.qualified(p[1], p[0][2]))
    for (pk, b, iid, dept, q, active), qual, dcode in people:
        pid = m.qualified(qual, iid)
        tags = quals.get(q)
        if tags is None:
            tags = quals[q] = frozenset(t for t in q.split(";") if t)
        roster.append(m.InspectorRec(pid, dcode, tags, bool(active)))
        inspector_pk[pid] = pk
    if city:
        code = {**code, city.city_id: city.city_code}
    experts, expert_pk = [], {}
    for pk, b, eid, fld, active in s.execute(
            select(Expert.id, Expert.bureau_id, Expert.expert_id, Expert.field, Expert.active)
            .where(Expert.bureau_id.in_(area)).order_by(Expert.expert_id)):
        pid = m.qualified(code[b], eid)
        experts.append(m.ExpertRec(pid, m.qualified(code[b], fld), bool(active)))
        expert_pk[pid] = pk
    pk_person = {pk: pid for pid, pk in inspector_pk.items()}
    entity_ids = [t.entity_id for t in tasks]
    conflicts: set[tuple[str, str]] = set()
    rows: list[tuple] = []
    one_c = in_values(s, Conflict.uscc, entity_ids) if entity_ids else None
    one_t = in_values(s, Task.uscc, entity_ids) if entity_ids else None
    # One query each (a JSON array / an array parameter) where the database allows, else chunks.
    wheres = [(one_c, one_t)] if one_c is not None else [(Conflict.uscc.in_(c), Task.uscc.in_(c)) for c in _chunks(entity_ids)]
    for in_conflict, in_task in wheres:
        conflicts.update(
            (m.qualified(code[b], pid), uscc) for pid, b, uscc in s.execute(
                select(Inspector.inspector_id, Inspector.bureau_id, Conflict.uscc)
                .join(Inspector, Inspector.id == Conflict.inspector_pk)
                .where(Conflict.bureau_id.in_(list(code)), in_conflict)).all()
            if m.qualified(code[b], pid) in inspector_pk
        )
        # Rotation: the inspectors of each entity's most recent earlier check.
        # Only people of the area's rosters can be recused; a district's inspectors who
        # served on a city plan's task count for the district's own next check too.
        # The area's roster is already here (pk -> qualified id): joining the inspector table
        # too let SQLite start from the whole roster (1M demo: 0.85 s instead of 0.02 s).
        rows += [(u, tid, at, pk_person[pk]) for u, tid, at, pk in s.execute(
            select(Task.uscc, Task.id, Task.created_at, TeamMember.inspector_pk)
            .join(TeamMember, TeamMember.task_id == Task.id)
            .where(in_task, Task.draw_id != draw_id, Task.status.not_in(INACTIVE_TASK), TeamMember.active,
                   TeamMember.inspector_pk.is_not(None))
        ).all() if pk in pk_person]
    last: dict[str, set[str]] = {}
    latest: dict[str, tuple] = {}
    for uscc, task_id, at, _ in rows:
        if uscc not in latest or (at, task_id) > latest[uscc]:
            latest[uscc] = (at, task_id)
    for uscc, task_id, at, person in rows:
        if latest[uscc][1] == task_id:
            last.setdefault(uscc, set()).add(person)
    prior_loads = _prior_loads(s, draw_id, period, loads_include_this_draw, pk_person,
                               {pk: pid for pid, pk in expert_pk.items()})
    dept_pk = {c: pk for pk, c in dept_code.items()}
    return MatchingInputs(tasks, roster, experts, conflicts, last, prior_loads, inspector_pk, expert_pk, dept_pk)


def _prior_loads(s: Session, draw_id: int, period: str, include_this_draw: bool, inspector_of: Mapping[int, str],
                 expert_of: Mapping[int, str]) -> dict[str, int]:
    """Tasks each person of the area's rosters (pk -> qualified id) carries in the period's other
    drawn draws (this one too with `include_this_draw`). Started from the period's draws, of
    which there are a few: a join that also filtered the people's bureaus let SQLite start from
    the whole roster and visit every team member of every period (1M demo: 0.7 s, now ~0)."""
    q = select(Draw.id).where(Draw.period == period, Draw.status == "drawn")
    draw_ids = list(s.execute(q if include_this_draw else q.where(Draw.id != draw_id)).scalars())
    if not draw_ids:
        return {}
    loads: dict[str, int] = {}
    for col, person_of in ((TeamMember.inspector_pk, inspector_of), (TeamMember.expert_pk, expert_of)):
        for pk, n in s.execute(
                select(col, func.count()).join(Task, Task.id == TeamMember.task_id)
                .where(Task.draw_id.in_(draw_ids), Task.status.not_in(INACTIVE_TASK), TeamMember.active,
                       col.is_not(None))
                .group_by(col)).all():
            if pk in person_of:
                loads[person_of[pk]] = int(n)
    return loads


def _chunks(ids: Sequence[str], size: int = 900):
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def short_reasons(result: m.MatchResult) -> dict[str, str]:
    """Entity -> the reasons of its empty slots ("；"-joined, in slot order), for short-staffed tasks."""
    out: dict[str, list[str]] = {}
    for sf in result.shortfalls:
        out.setdefault(sf.entity_id, []).append(sf.reason)
    return {eid: "；".join(rs) for eid, rs in out.items()}


def task_status(eid: str, short: Mapping[str, str]) -> tuple[str, str]:
    """(status, note) of a matched task: assigned, or still drawn with the missing slots noted."""
    reasons = short.get(eid)
    return ("assigned", "") if reasons is None else ("drawn", f"缺员：{reasons}")


def member_rows(inputs: MatchingInputs, teams: Mapping[str, Sequence[m.Member]]) -> list[tuple]:
    """The teams as TeamMember rows keyed by entity: (entity_id, inspector_pk, expert_pk, role,
    department_id, slot, pair_ticket). Plain tuples: a draw's matching may come back from a
    forked child (`draws.execute`), and tuples are what travels fast."""
    dept_id = inputs.dept_pk
    ins_pk, exp_pk = inputs.inspector_pk, inputs.expert_pk
    rows = []
    for eid, members in teams.items():
        for mem in members:
            if mem.kind == "expert":
                rows.append((eid, None, exp_pk[mem.person_id], mem.role, None, mem.slot, mem.pair_ticket))
            else:
                rows.append((eid, ins_pk[mem.person_id], None, mem.role, dept_id[mem.department], mem.slot,
                             mem.pair_ticket))
    return rows


def store_teams(s: Session, lp: LoadedPlan, inputs: MatchingInputs, result: m.MatchResult,
                task_ids: Mapping[str, int], actor: Actor) -> None:
    """Team members, each task's status and note, and the matching's task events."""
    short = short_reasons(result)
    insert_members(s, member_rows(inputs, result.teams), task_ids)
    full = [tid for eid, tid in task_ids.items() if eid not in short]
    for chunk in _chunks(full):
        s.execute(Task.__table__.update().where(Task.id.in_(chunk)).values(status="assigned"))
    for eid, reasons in short.items():
        s.execute(Task.__table__.update().where(Task.id == task_ids[eid]).values(note=task_status(eid, short)[1]))
    record_matching(s, short, task_ids, actor)


def insert_members(s: Session, rows: Sequence[tuple], task_ids: Mapping[str, int]) -> None:
    """TeamMember rows from `member_rows`, for the tasks `task_ids` (entity -> task id)."""
    insert_rows(s.connection(), "teammember",
                ["task_id", "inspector_pk", "expert_pk", "role", "department_id", "slot", "pair_ticket"],
                [(task_ids[r[0]], *r[1:]) for r in rows], const={"active": True})


def _matching_event(eid: str, short: Mapping[str, str]) -> tuple[str, str]:
    reasons = short.get(eid)
    return ("assigned", "随机匹配检查人员") if reasons is None else ("drawn", f"检查组缺员：{reasons}")


def record_matching(s: Session, short: Mapping[str, str], task_ids: Mapping[str, int], actor: Actor) -> None:
    """The matching's event on each task of `task_ids`: assigned, or still drawn with its empty slots."""
    insert_rows(s.connection(), "taskevent", ["task_id", "to_status", "reason"],
                [(tid, *_matching_event(eid, short)) for eid, tid in task_ids.items()],
                const={"from_status": "drawn", "actor": actor.name, "at": utcnow()})


def correct_short_staffed(s: Session, short: Mapping[str, str], task_ids: Mapping[str, int]) -> None:
    """A draw stores its tasks, statuses and events as assigned before its teams are known
    (`draws.execute`); the short-staffed ones then get their own status, note and event."""
    if not short:
        return
    # Tasks short of the same slots share one note: one UPDATE per distinct note, over the ids
    # of its tasks (1M demo: ~21k short-staffed tasks, a few dozen notes).
    by_reasons: dict[str, list[int]] = defaultdict(list)
    for eid, reasons in short.items():
        by_reasons[reasons].append(task_ids[eid])
    for reasons, ids in by_reasons.items():
        status, note = task_status("", {"": reasons})
        ev_status, ev_reason = _matching_event("", {"": reasons})
        for chunk in _chunks(ids):
            s.execute(Task.__table__.update().where(Task.id.in_(chunk)).values(status=status, note=note))
            s.execute(TaskEvent.__table__.update().where(TaskEvent.task_id.in_(chunk))
                      .values(to_status=ev_status, reason=ev_reason))


class ReplaceRefused(DsrError, RuntimeError):
    code = "team.replace_refused"


def replace_inspector(engine: Engine, task_id: int, person_id: str, reason: str, actor: Actor = CLI) -> TeamMember:
    """An inspector (or expert) became unavailable: re-fill only that slot by the
    same rule, with loads as they stand; the replacement and its reason are recorded."""
    import json

    if not reason.strip():
        raise ReplaceRefused("更换检查人员必须说明原因")
    with Session(engine) as s:
        t = s.get(Task, task_id)
        if t is None or t.draw_id is None:
            raise ReplaceRefused(f"任务 #{task_id} 不存在或不是双随机抽取任务")
        d = s.get(Draw, t.draw_id)
        cert = json.loads(d.certificate or "{}")
        lp = load_plan(s, cert["plan_code"])
        require_bureau(s, actor, t.bureau_id)  # the bureau carrying the task (a district, for a city plan)
        require(actor, "team.replace", department_id=lp.plan.lead_department_id)
        spec = task_spec(lp, t.uscc, t.ticket, t.rank or 0, stored_items(s, t.id), carrier_code(lp, t.bureau_id))
        inputs = gather(s, lp, d.id, d.period, [spec], loads_include_this_draw=True)
        if person_id not in inputs.inspector_pk and person_id not in inputs.expert_pk:
            person_id = m.qualified(carrier_code(lp, t.bureau_id), person_id)  # a local id on a city plan
        members = list(s.execute(select(TeamMember).where(TeamMember.task_id == t.id, TeamMember.active)).scalars())
        ins_by_pk = {v: k for k, v in inputs.inspector_pk.items()}
        exp_by_pk = {v: k for k, v in inputs.expert_pk.items()}
        dept_code = {pk: c for c, pk in inputs.dept_pk.items()}
        field_of = {e.expert_id: e.field for e in inputs.experts}
        team = []
        leaving_row = None
        for tm in members:
            pid = ins_by_pk.get(tm.inspector_pk) if tm.inspector_pk else exp_by_pk.get(tm.expert_pk)
            kind = "expert" if tm.expert_pk else "inspector"
            team.append(m.Member(t.uscc, pid, kind, dept_code.get(tm.department_id) if tm.department_id else None,
                                 field_of.get(pid) if kind == "expert" else None, tm.role, tm.slot, tm.pair_ticket))
            if pid == person_id:
                leaving_row = tm
        if leaving_row is None:
            raise ReplaceRefused(f"{person_id} 不在任务 #{task_id} 的检查组中")
        new = m.replace_member(cert["seed"], cert["plan_code"], d.period, spec, team, person_id, inputs.roster,
                               inputs.experts, inputs.conflicts, inputs.last, inputs.prior_loads, policy_of(lp))
        if isinstance(new, m.Shortfall):
            raise ReplaceRefused(f"无人可替换：{new.reason}")
        leaving_row.active = False
        s.add(leaving_row)
        is_exp = new.kind == "expert"
        row = TeamMember(task_id=t.id, inspector_pk=None if is_exp else inputs.inspector_pk[new.person_id],
                         expert_pk=inputs.expert_pk[new.person_id] if is_exp else None, role=new.role,
                         department_id=None if is_exp else inputs.dept_pk[new.department],
                         slot=new.slot, pair_ticket=new.pair_ticket, active=True)
        s.add(row)
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"更换检查人员 {person_id} → {new.person_id}：{reason.strip()}"))
        auditlog.record(s, actor, "team.replace", f"task:{t.id}",
                        {"leaving": person_id, "new": new.person_id, "slot": new.slot, "reason": reason.strip()},
                        bureau_id=t.bureau_id)
        s.commit()
        s.refresh(row)
        return row


# --- read side: the active teams (任务与匹配, joint visits) ----------------------------------


@dataclass(frozen=True)
class TeamSeat:
    """One active member of a task's team, for display and replacement."""

    person_id: str
    name: str
    kind: str  # inspector / expert
    role: str  # leader / member / expert
    department: str
    slot: int


def task_seats(conn, task_ids: list[int]) -> list[tuple[int, TeamSeat]]:
    """(task id, seat) of the active team members of `task_ids`, by task and slot."""
    stmt = (
        select(TeamMember.task_id, TeamMember.role, TeamMember.slot, Inspector.inspector_id, Inspector.name,
               Department.name.label("dept"), Expert.expert_id, Expert.name.label("expert_name"), Expert.field)
        .outerjoin(Inspector, Inspector.id == TeamMember.inspector_pk)
        .outerjoin(Department, Department.id == TeamMember.department_id)
        .outerjoin(Expert, Expert.id == TeamMember.expert_pk)
        .where(TeamMember.task_id.in_(task_ids), TeamMember.active.is_(True))
        .order_by(TeamMember.task_id, TeamMember.slot, TeamMember.id)
    )
    out = []
    for r in conn.execute(stmt):
        if r.expert_id is not None:
            out.append((r.task_id, TeamSeat(r.expert_id, r.expert_name, "expert", r.role, r.field or "", r.slot)))
        else:
            out.append((r.task_id, TeamSeat(r.inspector_id or "", r.name or "", "inspector", r.role, r.dept or "", r.slot)))
    return out
