"""Permissions: the rule table (pure) and its enforcement in the services, per role,
on SQLite and PostgreSQL. Every refusal is PermissionDenied and writes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import (
    AuditEvent,
    CalendarYear,
    Department,
    Draw,
    ImportRun,
    Inspector,
    Plan,
    PlanItem,
    Task,
    TeamMember,
)
from scheduler.access import permissions as P
from scheduler.access.permissions import PermissionDenied
from scheduler.audit import service as auditlog
from scheduler.draw import service as draws
from scheduler.matching import service as teams
from scheduler.calendar import service as cal
from scheduler.access.context import CLI, SYSTEM, Actor
from scheduler.library.import_service import import_file
from scheduler.plans.service import PlanInput, save_plan
from scheduler.plans.lifecycle import PlanNotApproved
from scheduler.plans.versions import approve_plan
from tests.factories import save_approved
from tests.factories import world

SEED = "31415926535897932384626433"
PERIOD = "2026-12"
REQUIRED = ["plan.save", "draw.freeze", "draw.execute", "draw.void", "task.replace", "team.replace", "calendar.enter",
            "calendar.confirm", "audit.export", "user.manage", "result.enter", "result.review", "result.publish",
            "result.correct", "export.public"] + [f"import.{k}" for k in P.IMPORT_KINDS]


# --- the table (pure) ------------------------------------------------------------------------


def test_table_has_every_action_and_only_known_roles():
    assert set(REQUIRED) <= set(P.RULES)
    for action, r in P.RULES.items():
        assert r.roles <= set(P.ROLES), action
        assert r.own_department <= r.roles, action
        assert r.label, action
    assert P.actions_of("public") == ["export.public"]
    assert set(P.actions_of("auditor")) == {"audit.verify", "audit.export", "export.public", "user.view", "library.export",
                                            "exchange.view", "roster.view"}
    assert set(P.actions_of("system")) == {"draw.freeze", "draw.execute"}


def test_unknown_action_is_refused():
    with pytest.raises(PermissionDenied, match="未定义的操作"):
        P.require(CLI, "draw.everything")


@given(role=st.sampled_from(sorted(P.ROLES)), action=st.sampled_from(sorted(P.RULES)),
       mine=st.integers(1, 4), obj=st.one_of(st.none(), st.integers(1, 4)),
       bureau=st.one_of(st.none(), st.integers(1, 2)), obj_bureau=st.one_of(st.none(), st.integers(1, 2)))
def test_allowed_matches_the_table(role, action, mine, obj, bureau, obj_bureau):
    a = Actor("x", role, bureau, mine)
    r = P.RULES[action]
    expected = (role in r.roles
                and not (bureau is not None and obj_bureau is not None and bureau != obj_bureau)
                and (role not in r.own_department or obj == mine))
    assert P.allowed(a, action, bureau_id=obj_bureau, department_id=obj) is expected
    if not expected:
        with pytest.raises(PermissionDenied) as e:
            P.require(a, action, bureau_id=obj_bureau, department_id=obj)
        assert e.value.action == action and str(e.value)
    # The UI's role-level check never shows what no object could allow.
    if P.can(a, action):
        assert role in r.roles


def test_every_bureau_without_the_tree_only_for_internal_calls_and_deployment_wide_accounts():
    tree = [P.BureauNode(1, "city"), P.BureauNode(2, "district", 1), P.BureauNode(3, "district", 1)]
    actors = [None, SYSTEM, CLI, Actor("a", "admin"), Actor("u", "auditor"), Actor("a1", "admin", bureau_id=2),
              Actor("p", "planner", department_id=1), Actor("r", "reviewer", bureau_id=1, department_id=1)]
    assert [P.sees_every_bureau(a) for a in actors] == [True, True, True, True, True, False, False, False]
    # The shortcut never widens what the tree would give.
    assert all(P.visible_bureau_ids(a, tree) is None for a in actors if a is not None and P.sees_every_bureau(a))


def test_department_scoped_roles_fail_closed_without_a_department():
    assert not P.allowed(Actor("p", "planner", 1, None), "plan.save", department_id=3)
    assert not P.allowed(Actor("p", "planner", 1, 3), "plan.save")
    assert P.allowed(Actor("p", "planner", 1, 3), "plan.save", department_id=3)
    assert P.allowed(CLI, "plan.save", department_id=3) and P.allowed(CLI, "plan.save")


# --- the services --------------------------------------------------------------------------------


def gs_plan() -> PlanInput:
    return PlanInput(code="PG-GS", name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                     ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"})


def ws_plan() -> PlanInput:
    return PlanInput(code="PG-WS", name="餐饮场所卫生抽查", lead_department="WJW", item_codes=["WS-01"],
                     ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"})


TABLES = (AuditEvent, Plan, PlanItem, Draw, Task, TeamMember, ImportRun, CalendarYear, Inspector)


def counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.__name__: s.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


@pytest.fixture
def w(engine):
    """A small world with the SCJGJ plan drawn; actors by role and department."""
    bid = world(engine, 300)
    save_approved(engine, gs_plan())
    d = draws.execute(engine, "PG-GS", PERIOD, seed=SEED)
    with Session(engine) as s:
        dept = {c: i for c, i in s.execute(select(Department.code, Department.id).where(Department.bureau_id == bid))}
        task = s.execute(select(Task).where(Task.draw_id == d.id, Task.status == "assigned").order_by(Task.id)).scalars().first()
        member = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                           .where(TeamMember.task_id == task.id, TeamMember.active.is_(True))
                           .order_by(TeamMember.slot)).scalars().first()
    actors = {
        "admin": Actor("admin1", "admin", bid),
        "planner_scj": Actor("planner-scj", "planner", bid, dept["SCJGJ"]),
        "planner_wjw": Actor("planner-wjw", "planner", bid, dept["WJW"]),
        "reviewer_scj": Actor("reviewer-scj", "reviewer", bid, dept["SCJGJ"]),
        "inspector": Actor(member, "inspector", bid, dept["SCJGJ"]),
        "auditor": Actor("auditor1", "auditor", bid),
        "public": Actor("visitor", "public"),
    }
    return engine, d, task.id, member, actors


def _ops(engine, task_id: int, member: str, tmp_path):
    """Every state-changing service call, by action name."""
    csv = "统一社会信用代码,企业名称\n".encode()
    return {
        "import.enterprises": lambda a: import_file(engine, "enterprises", "a.csv", csv, actor=a),
        "plan.save": lambda a: save_plan(engine, dataclasses.replace(gs_plan(), reason="调整抽查比例说明"), a),
        "draw.freeze": lambda a: draws.freeze(engine, "PG-GS", "2026-11", a),
        "draw.execute": lambda a: draws.execute(engine, "PG-GS", "2026-11", SEED, a),
        "draw.void": lambda a: draws.void(engine, "PG-GS", PERIOD, "测试作废理由", a),
        "task.replace": lambda a: draws.replace_task(engine, task_id, "已注销", a),
        "team.replace": lambda a: teams.replace_inspector(engine, task_id, member, "病假", a),
        "calendar.enter": lambda a: cal.enter_year(engine, 2031, [(dt.date(2031, 1, 1), dt.date(2031, 1, 1), "元旦")], [],
                                                    "国办发明电〔2030〕1号", a),
        "calendar.confirm": lambda a: cal.confirm_year(engine, 2031, a),
        "audit.export": lambda a: auditlog.export(engine, tmp_path / "chain.jsonl", a),
    }


def _refused(engine, op, actor) -> None:
    before = counts(engine)
    with pytest.raises(PermissionDenied):
        op(actor)
    assert counts(engine) == before, "a refused operation must write nothing"


def test_public_can_change_nothing(w, tmp_path):
    engine, _d, task_id, member, a = w
    for op in _ops(engine, task_id, member, tmp_path).values():
        _refused(engine, op, a["public"])
    assert not (tmp_path / "chain.jsonl").exists()


def test_inspector_cannot_plan_draw_import_or_replace(w, tmp_path):
    engine, _d, task_id, member, a = w
    ops = _ops(engine, task_id, member, tmp_path)
    for action in ("plan.save", "draw.freeze", "draw.execute", "draw.void", "task.replace", "team.replace",
                   "import.enterprises", "calendar.enter", "audit.export"):
        _refused(engine, ops[action], a["inspector"])


def test_auditor_cannot_import_or_draw_but_can_export_the_chain(w, tmp_path):
    engine, _d, task_id, member, a = w
    ops = _ops(engine, task_id, member, tmp_path)
    for action in ("import.enterprises", "plan.save", "draw.execute", "draw.void", "calendar.enter"):
        _refused(engine, ops[action], a["auditor"])
    rep = ops["audit.export"](a["auditor"])
    assert rep.ok and (tmp_path / "chain.jsonl").read_text(encoding="utf-8").count("\n") == rep.events + 1


def test_planner_of_another_department_cannot_touch_the_plan(w, tmp_path):
    engine, _d, task_id, member, a = w
    ops = _ops(engine, task_id, member, tmp_path)
    wjw = a["planner_wjw"]
    for action in ("plan.save", "draw.freeze", "draw.execute", "task.replace", "team.replace"):
        _refused(engine, ops[action], wjw)
    with pytest.raises(PermissionDenied, match="只能对本部门的业务"):
        draws.execute(engine, "PG-GS", "2026-11", SEED, wjw)
    # Nor move a plan of another department into their own.
    moved = ws_plan()
    moved.code = "PG-GS"
    _refused(engine, lambda x: save_plan(engine, moved, x), wjw)
    # Their own department's plan: saved and drawn.
    p = save_approved(engine, ws_plan(), wjw)
    d = draws.execute(engine, "PG-WS", PERIOD, SEED, wjw)
    assert p.code == "PG-WS" and d.status == "drawn"
    with Session(engine) as s:
        ev = s.execute(select(AuditEvent).where(AuditEvent.action == "draw.execute").order_by(AuditEvent.id.desc())).scalars().first()
        assert (ev.actor, ev.role) == ("planner-wjw", "planner")


def test_planner_draws_and_replaces_for_own_department_but_cannot_void(w, tmp_path):
    engine, _d, task_id, member, a = w
    ops = _ops(engine, task_id, member, tmp_path)
    scj = a["planner_scj"]
    assert ops["plan.save"](scj).code == "PG-GS"
    # The change opened version 2, a draft: not drawn until a second person approves it.
    with pytest.raises(PlanNotApproved, match="第 2 版为草稿"):
        ops["draw.execute"](scj)
    with pytest.raises(PermissionDenied, match="计划人员无权审批抽查计划"):
        approve_plan(engine, "PG-GS", scj)
    assert approve_plan(engine, "PG-GS", a["reviewer_scj"]).version == 2
    assert ops["draw.execute"](scj).status == "drawn"
    _refused(engine, ops["draw.void"], scj)  # voiding is for administrators
    assert ops["team.replace"](scj).inspector_pk is not None
    assert ops["task.replace"](scj).replaces_task_id == task_id
    _refused(engine, ops["calendar.enter"], scj)
    _refused(engine, ops["audit.export"], scj)
    _refused(engine, ops["import.enterprises"], a["reviewer_scj"])
    _refused(engine, ops["draw.execute"], a["reviewer_scj"])
    assert draws.void(engine, "PG-GS", PERIOD, "测试作废理由", a["admin"]).status == "voided"


def test_system_draws_but_does_nothing_else(w, tmp_path):
    engine, _d, task_id, member, _a = w
    ops = _ops(engine, task_id, member, tmp_path)
    for action in ("plan.save", "draw.void", "task.replace", "team.replace", "import.enterprises", "calendar.enter",
                   "audit.export"):
        _refused(engine, ops[action], SYSTEM)
    assert draws.execute(engine, "PG-GS", "2026-11", SEED, SYSTEM).status == "drawn"


def test_calendar_needs_two_administrators(w, tmp_path):
    engine, _d, task_id, member, a = w
    ops = _ops(engine, task_id, member, tmp_path)
    assert ops["calendar.enter"](Actor("张管理", "admin")).status == "entered"
    _refused(engine, ops["calendar.confirm"], Actor("auditor1", "auditor"))
    _refused(engine, ops["calendar.confirm"], a["planner_scj"])
    assert ops["calendar.confirm"](Actor("李管理", "admin")).status == "confirmed"
