"""Bureau scope: users see and change only their own bureau's data unless their bureau is
city-level (then also its districts'); inspectors read only their own teams' tasks.

The pure rule (scheduler.access.permissions.visible_bureau_ids) is tested on its own; the
services on SQLite and PostgreSQL with a small world of rows written directly: a city
bureau 北京 with two districts 平谷 (A) and 密云 (B), and a neighbouring district 顺义 (X)
outside the city. A city plan's draw handed one task to A and one to B (市抽县查); each
district has a plan of its own with one task. A's and B's rosters both have an inspector
"I-01" (roster ids are unique per bureau only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import given
from hypothesis import strategies as hst
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.models import (
    AuditEvent, Bureau, CheckItem, Department, Draw, Enterprise, Expert, Inspector, ItemResult, Plan, PlanItem, Task, TaskItem,
    TeamMember, Town,
)
from scheduler.results import lifecycle as lc
from scheduler.access import permissions as P
from scheduler.access.permissions import BureauNode, PermissionDenied, visible_bureau_ids
from scheduler.library import browse
from scheduler.results import dashboard as history
from scheduler.library import service as library
from scheduler.results import service as results
from scheduler.access import scope
from scheduler.results import tasks
from scheduler.accounts import service as users
from scheduler.access.context import CLI, SYSTEM, Actor
from scheduler.plans.service import PlanInput, list_plans, load_plan, save_plan
from tests.factories import make_uscc

PERIOD = "2026-12"


# --- the pure rule --------------------------------------------------------------------------------

TREE = [BureauNode(1, "city"), BureauNode(2, "district", 1), BureauNode(3, "district", 1), BureauNode(4, "district")]


@pytest.mark.parametrize("actor, expected", [
    (Actor("a", "admin", 1), {1, 2, 3}),
    (Actor("p", "planner", 1, 9), {1, 2, 3}),
    (Actor("i", "inspector", 1), {1, 2, 3}),
    (Actor("p", "planner", 2, 9), {2}),
    (Actor("a", "admin", 2), {2}),
    (Actor("u", "auditor", 3), {3}),
    (Actor("p", "planner", 4, 9), {4}),
    (Actor("p", "planner", 99, 9), set()),  # a bureau that does not exist: nothing
    (Actor("p", "planner"), set()),  # no bureau in a multi-bureau deployment: nothing (fail closed)
    (Actor("i", "inspector"), set()),
])
def test_visible_bureaus_by_level(actor, expected):
    assert visible_bureau_ids(actor, TREE) == frozenset(expected)


@pytest.mark.parametrize("actor", [CLI, SYSTEM, Actor("w", "system", 2), Actor("a", "admin"), Actor("u", "auditor")])
def test_system_and_deployment_wide_accounts_are_unrestricted(actor):
    assert visible_bureau_ids(actor, TREE) is None
    assert P.bureau_visible(None, 4)


def test_a_single_bureau_deployment_restricts_nobody():
    assert visible_bureau_ids(Actor("p", "planner"), [BureauNode(1)]) is None
    assert visible_bureau_ids(Actor("p", "planner"), []) is None
    assert visible_bureau_ids(Actor("p", "planner", 1), [BureauNode(1)]) == {1}


def test_an_object_without_a_bureau_is_visible_only_to_unrestricted_actors():
    assert not P.bureau_visible(frozenset({1}), None)
    assert P.bureau_visible(None, None)


@hst.composite
def trees(draw):
    """A forest of city bureaus with districts (some without a parent); ids 1..n."""
    n = draw(hst.integers(1, 12))
    levels = draw(hst.lists(hst.sampled_from(["city", "district"]), min_size=n, max_size=n))
    cities = [i + 1 for i, lvl in enumerate(levels) if lvl == "city"]
    nodes = []
    for i, lvl in enumerate(levels, start=1):
        parent = draw(hst.sampled_from([None, *cities])) if lvl == "district" and cities else None
        nodes.append(BureauNode(i, lvl, parent if parent != i else None))
    return nodes


ROLES = hst.sampled_from([r for r in P.ROLES if r != "system"])


@given(tree=trees(), role=ROLES, other_role=ROLES)
def test_a_district_sees_no_more_than_its_city(tree, role, other_role):
    ids = {b.id for b in tree}
    for b in tree:
        mine = visible_bureau_ids(Actor("x", role, b.id), tree)
        assert mine is not None and b.id in mine and mine <= ids
        if b.level != "city":
            assert mine == {b.id}
        if b.parent_id is not None:
            city = visible_bureau_ids(Actor("y", other_role, b.parent_id), tree)
            assert mine <= city
        # Scope depends on the bureau, never on the role (roles decide actions, not bureaus).
        assert visible_bureau_ids(Actor("z", other_role, b.id), tree) == mine


# --- a city with two districts, in the database --------------------------------------------------


@dataclass
class World:
    engine: object
    city: int
    a: int
    b: int
    x: int
    dept: dict[int, int]  # bureau -> its SCJGJ department
    city_draw: int
    t_city_a: int  # the city plan's task handed to A
    t_city_b: int  # ... to B
    t_a: int  # A's own plan's task
    t_b: int  # B's own plan's task
    t_x: int
    r_b: int  # a result of t_b waiting for review

    def planner(self, bureau: int) -> Actor:
        return Actor(f"planner-{bureau}", "planner", bureau, self.dept[bureau])

    def reviewer(self, bureau: int, dept_of: int | None = None) -> Actor:
        return Actor(f"reviewer-{bureau}", "reviewer", bureau, self.dept[dept_of or bureau])


def _bureau(s, code, name, level, parent=None) -> Bureau:
    b = Bureau(code=code, name=name, level=level, area_code=code, parent_id=parent)
    s.add(b)
    s.flush()
    return b


def make_world(engine) -> World:
    with Session(engine) as s:
        city = _bureau(s, "110000", "北京市市场监督管理局", "city")
        a = _bureau(s, "110117", "平谷区市场监督管理局", "district", city.id)
        b = _bureau(s, "110118", "密云区市场监督管理局", "district", city.id)
        x = _bureau(s, "110113", "顺义区市场监督管理局", "district")
        dept, item, ins, ent = {}, {}, {}, {}
        for k, bu in enumerate((city, a, b, x)):
            town = f"{bu.code}001"
            if bu is not city:
                s.add(Town(code=town, name=f"{bu.name[:3]}镇", bureau_id=bu.id))
            d = Department(bureau_id=bu.id, code="SCJGJ", name=f"{bu.name}")
            s.add(d)
            s.flush()
            dept[bu.id] = d.id
            it = CheckItem(bureau_id=bu.id, code="SP-01", category="食品安全", name="食品经营检查", kind="key",
                           department_id=d.id)
            s.add(it)
            s.add(Expert(bureau_id=bu.id, expert_id="ZJ-01", name=f"专家{k}", field="特种设备检验"))
            s.flush()
            item[bu.id] = it.id
            for j in (1, 2, 3):
                i = Inspector(bureau_id=bu.id, inspector_id=f"I-0{j}", name=f"{bu.code}检查员{j}", department_id=d.id,
                              cert_no=f"{bu.code}-{j}")
                s.add(i)
                s.flush()
                ins[bu.id, j] = i.id
            if bu is not city:
                e = Enterprise(uscc=make_uscc(k), name=f"{bu.code}测试企业", entity_type="企业", industry_code="F5211",
                               town_code=town, status="存续", risk_class="A")
                s.add(e)
                ent[bu.id] = e.uscc
        s.flush()
        plans = {}
        for bu in (city, a, b, x):
            p = Plan(bureau_id=bu.id, code=f"P-{bu.code}", name=f"{bu.name}计划", lead_department_id=dept[bu.id],
                     ratios='{"A": "0.1", "B": "0.1", "C": "0.1", "D": "0.1"}')
            s.add(p)
            s.flush()
            s.add(PlanItem(plan_id=p.id, item_id=item[bu.id]))
            d = Draw(plan_id=p.id, period=PERIOD, status="drawn", frame_sha256="0" * 64, public_frame_sha256="0" * 64,
                     frame_size=2)
            s.add(d)
            s.flush()
            plans[bu.id] = d.id

        def task(bureau: int, draw: int, item_of: int, team: tuple[int, ...], rank: int) -> int:
            t = Task(bureau_id=bureau, draw_id=draw, uscc=ent[bureau], rank=rank, status="assigned")
            s.add(t)
            s.flush()
            s.add(TaskItem(task_id=t.id, item_id=item[item_of]))
            for slot, j in enumerate(team, start=1):
                s.add(TeamMember(task_id=t.id, inspector_pk=ins[bureau, j], role="leader" if slot == 1 else "member",
                                 department_id=dept[bureau], slot=slot))
            return t.id

        t_city_a = task(a.id, plans[city.id], city.id, (1, 2), 1)
        t_city_b = task(b.id, plans[city.id], city.id, (1, 2), 2)
        t_a = task(a.id, plans[a.id], a.id, (2, 3), 1)
        t_b = task(b.id, plans[b.id], b.id, (1, 3), 1)
        t_x = task(x.id, plans[x.id], x.id, (1, 2), 1)
        r = ItemResult(task_id=t_b, item_id=item[b.id], department_id=dept[b.id], categories="01", status=lc.PENDING,
                       inspected_on=dt.date(2026, 11, 2), entered_by="I-01", entered_at=dt.datetime(2026, 11, 2, 8, tzinfo=dt.timezone.utc))
        s.add(r)
        s.commit()
        return World(engine, city.id, a.id, b.id, x.id, dept, plans[city.id], t_city_a, t_city_b, t_a, t_b, t_x, r.id)


@pytest.fixture
def w(engine) -> World:
    return make_world(engine)


def _ids(page) -> set[int]:
    return {r["id"] for r in page.rows}


def test_visible_bureaus_read_from_the_database(w):
    with Session(w.engine) as s:
        assert scope.visible_bureaus(s, Actor("c", "admin", w.city)) == {w.city, w.a, w.b}
        assert scope.visible_bureaus(s, w.planner(w.a)) == {w.a}
        assert scope.visible_bureaus(s, CLI) is None
        assert scope.visible_bureaus(s, None) is None
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            scope.require_bureau(s, w.planner(w.a), w.b)
        scope.require_bureau(s, Actor("c", "admin", w.city), w.b)


def test_a_district_user_lists_only_its_own_tasks_including_those_a_city_plan_handed_to_it(w):
    mine = tasks.list_tasks(w.engine, actor=w.planner(w.a))
    assert _ids(mine) == {w.t_city_a, w.t_a}
    # The city draw, read by draw: only the task handed to this district.
    assert _ids(tasks.list_tasks(w.engine, draw_id=w.city_draw, actor=w.planner(w.a))) == {w.t_city_a}
    assert _ids(tasks.list_tasks(w.engine, draw_id=w.city_draw, actor=w.planner(w.b))) == {w.t_city_b}
    with pytest.raises(PermissionDenied):
        tasks.list_tasks(w.engine, bureau_id=w.b, actor=w.planner(w.a))
    # Without an actor (internal calls) nothing changes.
    assert _ids(tasks.list_tasks(w.engine)) == {w.t_city_a, w.t_city_b, w.t_a, w.t_b, w.t_x}


def test_a_district_user_cannot_read_another_districts_task(w):
    for t in (w.t_city_b, w.t_b, w.t_x):
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            tasks.get_task(w.engine, t, actor=w.planner(w.a))
        with pytest.raises(PermissionDenied):
            tasks.task_team(w.engine, t, actor=w.planner(w.a))
        with pytest.raises(PermissionDenied):
            results.task_results(w.engine, t, actor=w.planner(w.a))
    assert tasks.get_task(w.engine, w.t_city_a, actor=w.planner(w.a))["id"] == w.t_city_a


def test_draws_of_a_district_include_the_city_draw_that_handed_it_tasks(w):
    with Session(w.engine) as s:
        own = {p.bureau_id: d.id for d, p in s.execute(select(Draw, Plan).join(Plan, Plan.id == Draw.plan_id)).all()}
    assert {d["id"] for d in tasks.list_draws(w.engine, actor=w.planner(w.a))} == {w.city_draw, own[w.a]}
    assert {d["id"] for d in tasks.list_draws(w.engine, w.a, actor=w.planner(w.a))} == {w.city_draw, own[w.a]}
    assert tasks.periods(w.engine, w.a, actor=w.planner(w.a)) == [PERIOD]
    with pytest.raises(PermissionDenied):
        tasks.list_draws(w.engine, w.b, actor=w.planner(w.a))
    with pytest.raises(PermissionDenied):
        tasks.draw_matching(w.engine, own[w.b], actor=w.planner(w.a))
    assert tasks.draw_matching(w.engine, w.city_draw, actor=w.planner(w.a)) == {}
    # The neighbouring district X is outside the city.
    assert {d["id"] for d in tasks.list_draws(w.engine, actor=Actor("c", "admin", w.city))} == {
        w.city_draw, own[w.a], own[w.b]}


def test_a_city_level_account_reads_its_districts_but_not_a_neighbour(w):
    city = Actor("c", "admin", w.city)
    assert _ids(tasks.list_tasks(w.engine, actor=city)) == {w.t_city_a, w.t_city_b, w.t_a, w.t_b}
    assert _ids(tasks.list_tasks(w.engine, bureau_id=w.b, actor=city)) == {w.t_city_b, w.t_b}
    assert tasks.get_task(w.engine, w.t_b, actor=city)["id"] == w.t_b
    with pytest.raises(PermissionDenied):
        tasks.get_task(w.engine, w.t_x, actor=city)
    # A deployment-wide administrator (the CLI's) reads everything.
    assert _ids(tasks.list_tasks(w.engine, actor=CLI)) == {w.t_city_a, w.t_city_b, w.t_a, w.t_b, w.t_x}


def test_inspectors_read_only_their_own_teams_tasks(w):
    a1 = Actor("I-01", "inspector", w.a, w.dept[w.a])  # on t_city_a only
    assert _ids(tasks.list_tasks(w.engine, actor=a1)) == {w.t_city_a}
    with pytest.raises(PermissionDenied, match="本人所在检查组"):
        tasks.get_task(w.engine, w.t_a, actor=a1)
    with pytest.raises(PermissionDenied, match="本人所在检查组"):
        results.task_results(w.engine, w.t_a, actor=a1)
    assert results.task_results(w.engine, w.t_city_a, actor=a1)
    # B's "I-01" shares the roster id but not the bureau: A's I-01 sees none of B's tasks.
    assert _ids(results.inspector_tasks(w.engine, "I-01", actor=a1)) == {w.t_city_a}
    assert _ids(results.inspector_tasks(w.engine, "I-01")) == {w.t_city_a, w.t_city_b, w.t_b, w.t_x}
    with pytest.raises(PermissionDenied):
        results.inspector_tasks(w.engine, "I-02", actor=a1)
    a2 = Actor("I-02", "inspector", w.a, w.dept[w.a])  # on t_city_a and t_a
    assert _ids(tasks.list_tasks(w.engine, actor=a2)) == {w.t_city_a, w.t_a}
    assert _ids(results.inspector_tasks(w.engine, "I-02", actor=a2)) == {w.t_city_a, w.t_a}


def test_results_of_another_district_can_be_neither_read_nor_changed(w):
    a_insp = Actor("I-01", "inspector", w.b, w.dept[w.b])  # B's I-01, on t_b
    with pytest.raises(PermissionDenied):  # B's inspector, A's task on which A's "I-01" is
        results.enter_result(w.engine, w.t_city_a, "SP-01", ["未发现问题"], a_insp)
    with pytest.raises(PermissionDenied):
        results.start_inspection(w.engine, w.t_city_a, a_insp)
    # A reviewer of A, even holding B's department id, may not review B's result.
    intruder = w.reviewer(w.a, dept_of=w.b)
    for call in (lambda: results.approve(w.engine, w.r_b, intruder),
                 lambda: results.send_back(w.engine, w.r_b, "请补充照片", intruder),
                 lambda: results.review_queue(w.engine, w.dept[w.b], actor=intruder),
                 lambda: results.publication_queue(w.engine, w.dept[w.b], dt.date(2026, 12, 1), actor=intruder),
                 lambda: results.follow_ups(w.engine, department_id=w.dept[w.b], actor=intruder),
                 lambda: results.publish(w.engine, w.t_b, Actor("adm", "admin", w.a)),
                 lambda: results.declare_cannot_inspect(w.engine, w.t_b, "已搬离", Actor("adm", "admin", w.a))):
        with pytest.raises(PermissionDenied):
            call()
    with Session(w.engine) as s:
        assert s.get(ItemResult, w.r_b).status == lc.PENDING
        assert s.get(Task, w.t_city_a).status == "assigned"
    # B's own reviewer sees and approves it; so may a city-level reviewer of that department.
    assert [r["result_id"] for r in results.review_queue(w.engine, w.dept[w.b], actor=w.reviewer(w.b)).rows] == [w.r_b]
    city_reviewer = Actor("city-reviewer", "reviewer", w.city, w.dept[w.b])
    assert [r["result_id"] for r in results.review_queue(w.engine, w.dept[w.b], actor=city_reviewer).rows] == [w.r_b]
    assert results.approve(w.engine, w.r_b, city_reviewer).status == lc.APPROVED
    # A's own inspector enters A's result.
    mine = Actor("I-01", "inspector", w.a, w.dept[w.a])
    assert results.enter_result(w.engine, w.t_city_a, "SP-01", ["未发现问题"], mine).status == lc.PENDING


def test_roster_and_the_lists_are_read_by_bureau(w):
    pa = w.planner(w.a)
    rows = browse.browse_inspectors(w.engine, actor=pa, page_size=100).rows
    assert {r["name"][:6] for r in rows} == {"110117"}
    with pytest.raises(PermissionDenied):
        browse.browse_inspectors(w.engine, bureau_id=w.b, actor=pa)
    city = Actor("c", "admin", w.city)
    assert browse.browse_inspectors(w.engine, actor=city).total == 9  # city + A + B, not X
    assert browse.browse_inspectors(w.engine, bureau_id=w.b, actor=city).total == 3
    assert browse.browse_experts(w.engine, actor=pa).total == 1
    assert browse.browse_items(w.engine, actor=pa).total == 1
    assert browse.browse_departments(w.engine, actor=pa).total == 1
    assert browse.departments(w.engine, actor=pa) == [(w.dept[w.a], "平谷区市场监督管理局")]
    assert [c for c, _ in browse.towns(w.engine, actor=pa)] == ["110117001"]
    assert [c for c, _ in browse.towns(w.engine, actor=city)] == ["110117001", "110118001"]
    assert browse.expert_fields(w.engine, actor=pa) == ["特种设备检验"]
    with pytest.raises(PermissionDenied):
        browse.browse_items(w.engine, bureau_id=w.x, actor=city)
    # The registry is shared, but each reads its area: A its own, the city both districts'.
    assert [r["town_code"] for r in browse.browse_enterprises(w.engine, actor=pa).rows] == ["110117001"]
    assert browse.browse_enterprises(w.engine, actor=pa, town_code="110118001").total == 0
    assert browse.browse_enterprises(w.engine, actor=city).total == 2
    assert browse.browse_enterprises(w.engine, actor=CLI).total == 3
    with pytest.raises(PermissionDenied):
        browse.browse_enterprises(w.engine, bureau_id=w.b, actor=pa)


def test_plans_of_another_bureau_are_neither_listed_loaded_nor_saved(w):
    pa = w.planner(w.a)
    assert [p["code"] for p in list_plans(w.engine, actor=pa)] == ["P-110117"]
    assert [p["code"] for p in list_plans(w.engine, actor=Actor("c", "admin", w.city))] == [
        "P-110000", "P-110117", "P-110118"]
    with pytest.raises(PermissionDenied):
        list_plans(w.engine, bureau_id=w.b, actor=pa)
    with Session(w.engine) as s:
        with pytest.raises(PermissionDenied):
            load_plan(s, "P-110118", pa)
        with pytest.raises(PermissionDenied):
            load_plan(s, "P-110000", pa)  # the city's plan itself: only its tasks handed to A are A's
        assert load_plan(s, "P-110117", pa).plan.bureau_id == w.a
        assert load_plan(s, "P-110118", Actor("c", "admin", w.city)).plan.bureau_id == w.b

    def plan(code: str, bureau: str) -> PlanInput:
        return PlanInput(code=code, name="测试计划", lead_department="SCJGJ", item_codes=["SP-01"],
                         ratios={c: "0.1" for c in "ABCD"}, bureau_code=bureau)

    with pytest.raises(PermissionDenied):
        save_plan(w.engine, plan("P-NEW", "110118"), pa)  # into B
    with pytest.raises(PermissionDenied):
        save_plan(w.engine, plan("P-110118", "110117"), pa)  # B's plan, moved into A
    with Session(w.engine) as s:
        assert s.execute(select(Plan).where(Plan.code == "P-NEW")).first() is None
    # Without a bureau code, a district planner's plan goes to their own bureau.
    assert save_plan(w.engine, plan("P-A2", None), pa).bureau_id == w.a
    # A city-level administrator saves a district's plan.
    assert save_plan(w.engine, plan("P-B2", "110118"), Actor("c", "admin", w.city)).bureau_id == w.b


def test_dashboard_and_history_reads_take_the_actors_bureau(w):
    pa = w.planner(w.a)
    day = dt.date(2026, 12, 10)
    for call in (lambda: results.dashboard(w.engine, w.b, 2026, actor=pa),
                 lambda: history.month_plans(w.engine, w.b, day, actor=pa),
                 lambda: history.deadline_overview(w.engine, w.b, day, actor=pa),
                 lambda: history.visits_saved(w.engine, w.b, 2026, actor=pa),
                 lambda: library.library_counts(w.engine, w.b, pa),
                 lambda: results.follow_ups(w.engine, bureau_id=w.b, actor=pa)):
        with pytest.raises(PermissionDenied):
            call()
    assert results.dashboard(w.engine, w.a, 2026, actor=pa)["plan"]["tasks"] == 2
    assert [r["plan_code"] for r in history.month_plans(w.engine, w.a, day, actor=pa)] == ["P-110117"]
    counts = library.library_counts(w.engine, w.a, pa)
    assert (counts["inspectors"], counts["tasks"], counts["enterprises"], counts["plans"]) == (3, 2, 1, 1)
    assert results.dashboard(w.engine, w.b, 2026, actor=Actor("c", "admin", w.city))["plan"]["tasks"] == 2


def _publish(w: World, task_id: int, bureau_of_item: int) -> int:
    """A published result of `task_id` for the item of `bureau_of_item`, written directly."""
    with Session(w.engine) as s:
        item = s.execute(select(CheckItem.id).where(CheckItem.bureau_id == bureau_of_item)).scalar_one()
        r = ItemResult(task_id=task_id, item_id=item, department_id=w.dept[bureau_of_item], categories="01",
                       status=lc.PUBLISHED, inspected_on=dt.date(2026, 11, 2), entered_by="I-01",
                       published_by="p", published_at=dt.datetime(2026, 11, 5, 8, tzinfo=dt.timezone.utc),
                       published_on=dt.date(2026, 11, 5), version=1)
        s.add(r)
        s.commit()
        return r.id


def test_corrections_list_and_history_only_within_scope(w):
    from scheduler.results import corrections

    r_city_a, r_a, r_b = _publish(w, w.t_city_a, w.city), _publish(w, w.t_a, w.a), _publish(w, w.t_x, w.x)
    pa = w.planner(w.a)
    assert {r["result_id"] for r in corrections.published(w.engine, actor=pa).rows} == {r_city_a, r_a}
    # The city's department's results on a task handed to A are A's to see; the filter is the task's bureau.
    assert [r["result_id"] for r in corrections.published(w.engine, department_id=w.dept[w.city], actor=pa).rows] == [
        r_city_a]
    assert corrections.published(w.engine, department_id=w.dept[w.x], actor=pa).total == 0
    assert corrections.published(w.engine, q="110113", actor=pa).total == 0  # X's entity, by its name
    assert corrections.published(w.engine, q="110113").total == 1
    city = Actor("c", "admin", w.city)
    assert {r["result_id"] for r in corrections.published(w.engine, actor=city).rows} == {r_city_a, r_a}
    assert {r["result_id"] for r in corrections.published(w.engine).rows} == {r_city_a, r_a, r_b}
    assert corrections.published(w.engine, actor=CLI).total == 3
    assert corrections.published(w.engine, actor=w.planner(w.b)).total == 0
    assert corrections.history(w.engine, r_a, pa) == []
    assert corrections.history(w.engine, r_city_a, city) == []
    for who in (pa, city):
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            corrections.history(w.engine, r_b, who)
    assert corrections.history(w.engine, r_b) == []


def test_audit_events_are_listed_by_the_acting_accounts_bureau_and_the_chain_stays_whole(w):
    from scheduler.audit import service as auditlog

    with Session(w.engine) as s:
        for b in (w.city, w.a, w.b, w.x, None):
            auditlog.record(s, Actor(f"u-{b}", "planner", b), "plan.update", f"plan:{b}", {"b": b})
        auditlog.record(s, CLI, "user.add", "user:x", {})
        s.commit()
        stored = dict(s.execute(select(AuditEvent.object, AuditEvent.bureau_id)).all())
    assert stored[f"plan:{w.a}"] == w.a and stored["user:x"] is None  # record() takes the actor's bureau

    def objects(**kw) -> set[str]:
        return {r["object"] for r in browse.browse_audit(w.engine, page_size=100, **kw).rows}

    assert objects(actor=Actor("adm", "admin", w.a)) == {f"plan:{w.a}"}
    assert objects(actor=Actor("aud", "auditor", w.b)) == {f"plan:{w.b}"}
    assert objects(actor=Actor("c", "admin", w.city)) == {f"plan:{w.city}", f"plan:{w.a}", f"plan:{w.b}"}
    everything = {f"plan:{b}" for b in (w.city, w.a, w.b, w.x, None)} | {"user:x"}
    for whole in (None, CLI, Actor("aud", "auditor")):
        assert objects(actor=whole) == everything
    assert objects(actor=Actor("c", "admin", w.city), who=f"u-{w.x}") == set()
    assert browse.browse_audit(w.engine, who=f"u-{w.x}").total == 1
    # The chain is verified whole whoever asks: digests and hashes reveal nothing.
    rep = auditlog.verify(w.engine)
    assert rep.ok and rep.events == 6


def test_command_line_and_worker_changes_are_seen_by_the_bureau_they_change(w):
    """The CLI and the worker act with no bureau: the event takes the changed object's bureau, so
    that bureau's auditors see it (a district's own import, a result entered from the CLI)."""
    from scheduler.audit import service as auditlog
    from scheduler.library.import_service import import_file
    from scheduler.access.context import SYSTEM

    with Session(w.engine) as s:
        auditlog.record(s, SYSTEM, "draw.execute", "draw:x", {}, bureau_id=w.b)
        s.commit()
    b_code = w.engine.connect().execute(select(Bureau.code).where(Bureau.id == w.b)).scalar_one()
    rep = import_file(w.engine, "experts", "e.csv", "专家编号,姓名,专业领域\nEX-9,王五,食品检测\n".encode(),
                      bureau_code=b_code)
    assert not rep.errors and rep.inserted == 1
    seen = {r["action"] for r in browse.browse_audit(w.engine, page_size=100, actor=Actor("aud", "auditor", w.b)).rows}
    assert {"draw.execute", "import.experts"} <= seen
    other = {r["action"] for r in browse.browse_audit(w.engine, page_size=100, actor=Actor("aud", "auditor", w.a)).rows}
    assert not {"draw.execute", "import.experts"} & other


def test_schedules_runs_claims_and_notifications_follow_the_plans_bureau(w):
    from scheduler.plans import schedules as S
    from scheduler.draw import runs

    me = runs.WorkerIdentity("w-scope")
    t = dt.datetime(2026, 12, 1, 1, tzinfo=dt.timezone.utc)
    with Session(w.engine) as s:
        plan_of = {p.bureau_id: p for p in s.execute(select(Plan)).scalars()}
    note = {}
    for b, p in plan_of.items():
        runs.start_run(w.engine, me, p.id, PERIOD, t, runs.MISSED, "错过")
        c = runs.claim(w.engine, me, p.id, PERIOD, t)
        runs.set_claim(w.engine, c.claim_id, runs.WAITING_SEED)
        note[b] = runs.notify(w.engine, b, runs.MISSED, f"计划 {p.code} 错过", f"plan:{p.code}").id
    note[None] = runs.notify(w.engine, None, "deployment", "全局通知").id
    pa, city = w.planner(w.a), Actor("c", "admin", w.city)
    codes = {b: p.code for b, p in plan_of.items()}
    mine, city_codes = {codes[w.a]}, {codes[w.city], codes[w.a], codes[w.b]}

    assert {p.code for p in runs.plan_schedules(w.engine, actor=pa)} == mine
    assert {p.code for p in runs.plan_schedules(w.engine, actor=city)} == city_codes
    assert {p.code for p in runs.plan_schedules(w.engine, actor=city, bureau_id=w.b)} == {codes[w.b]}
    assert {p.code for p in runs.plan_schedules(w.engine)} == set(codes.values())
    for read in (runs.recent_runs, runs.missed_runs):
        assert {r["plan"] for r in read(w.engine, actor=pa)} == mine
        assert {r["plan"] for r in read(w.engine, actor=city)} == city_codes
        assert {r["plan"] for r in read(w.engine)} == set(codes.values())
    assert {c["plan"] for c in runs.claims(w.engine, runs.WAITING_SEED, actor=pa)} == mine
    assert {c["plan"] for c in runs.claims(w.engine, actor=city, bureau_id=w.a)} == mine
    assert len(runs.claims(w.engine, runs.WAITING_SEED)) == 4
    assert {n.id for n in runs.list_notifications(w.engine, actor=pa)} == {note[w.a]}
    assert {n.id for n in runs.list_notifications(w.engine, actor=city)} == {note[w.city], note[w.a], note[w.b]}
    assert {n.id for n in runs.list_notifications(w.engine, actor=CLI)} == set(note.values())
    for call in (lambda: runs.plan_schedules(w.engine, actor=pa, bureau_id=w.b),
                 lambda: runs.recent_runs(w.engine, actor=pa, bureau_id=w.city),
                 lambda: runs.missed_runs(w.engine, actor=city, bureau_id=w.x),
                 lambda: runs.claims(w.engine, actor=pa, bureau_id=w.b),
                 lambda: runs.list_notifications(w.engine, actor=pa, bureau_id=w.b),
                 lambda: runs.mark_read(w.engine, [note[w.a], note[w.b]], pa),
                 lambda: runs.mark_read(w.engine, [note[None]], city),
                 lambda: runs.set_schedule(w.engine, codes[w.b], "0 9 1 * *", pa),
                 lambda: runs.set_schedule(w.engine, codes[w.x], "0 9 1 * *", city)):
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            call()
    assert runs.list_notifications(w.engine, unread_only=True, actor=CLI).__len__() == 5  # nothing marked
    assert runs.mark_read(w.engine, [note[w.a]], pa) == 1
    assert runs.mark_read(w.engine, [note[w.a], note[w.b]], city) == 2
    assert runs.mark_read(w.engine, [note[None], note[w.x]]) == 2  # internal: unrestricted
    # A city administrator sets a district plan's schedule; A's planner its own.
    assert runs.set_schedule(w.engine, codes[w.b], "0 9 1 * *", city).schedule == "0 9 1 * *"
    assert runs.set_schedule(w.engine, codes[w.a], "", pa).schedule == ""
    with Session(w.engine) as s:
        assert s.execute(select(Plan.schedule).where(Plan.code == codes[w.x])).scalar_one() == ""
    with pytest.raises(S.ScheduleError):  # an unknown plan is reported as such
        runs.set_schedule(w.engine, "P-NONE", "", pa)


def test_a_city_account_edits_a_districts_record_on_that_bureau_and_a_district_only_its_own(w):
    from scheduler.library import records

    city, pa = Actor("c", "admin", w.city), w.planner(w.a)

    def name_of(bureau: int) -> str:
        with Session(w.engine) as s:
            return s.execute(select(Inspector.name).where(Inspector.bureau_id == bureau,
                                                          Inspector.inspector_id == "I-01")).scalar_one()

    before = {b: name_of(b) for b in (w.city, w.a, w.b, w.x)}
    # "I-01" is on every roster: the bureau worked on decides whose record it is.
    assert records.get_record(w.engine, "inspectors", "I-01", city, bureau_id=w.b)["name"] == before[w.b]
    assert records.save(w.engine, "inspectors", "I-01", {"name": "密云改名"}, city, bureau_id=w.b).changed
    assert records.save(w.engine, "inspectors", "I-01", {"name": "北京改名"}, city).changed  # its own bureau
    assert records.save(w.engine, "inspectors", "I-01", {"name": "平谷改名"}, pa, bureau_id=w.a).changed
    assert records.save(w.engine, "inspectors", "I-09", {"name": "新人", "department_id": "SCJGJ", "cert_no": "NEW-9"},
                        city, create=True, bureau_id=w.a).created
    assert [name_of(b) for b in (w.city, w.a, w.b, w.x)] == ["北京改名", "平谷改名", "密云改名", before[w.x]]
    with Session(w.engine) as s:
        assert s.execute(select(Inspector.bureau_id).where(Inspector.inspector_id == "I-09")).scalar_one() == w.a
    for call in (lambda: records.save(w.engine, "inspectors", "I-01", {"name": "x"}, pa, bureau_id=w.b),
                 lambda: records.save(w.engine, "inspectors", "I-01", {"name": "x"}, pa, bureau_id=w.city),
                 lambda: records.save(w.engine, "inspectors", "I-01", {"name": "x"}, city, bureau_id=w.x),
                 lambda: records.get_record(w.engine, "inspectors", "I-01", pa, bureau_id=w.b),
                 lambda: records.history(w.engine, "inspectors", "I-01", actor=pa, bureau_id=w.b)):
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            call()
    # Enterprises: a city account edits one of a district's area on that district.
    ent_a = tasks.get_task(w.engine, w.t_a)["uscc"]
    assert records.save(w.engine, "enterprises", ent_a, {"name": "平谷新名"}, city, bureau_id=w.a).changed
    with pytest.raises(records.RecordError, match="不在本局辖区内"):
        records.save(w.engine, "enterprises", ent_a, {"name": "又改名"}, city, bureau_id=w.b)
    with pytest.raises(PermissionDenied):
        records.save(w.engine, "enterprises", ent_a, {"name": "又改名"}, w.planner(w.b), bureau_id=w.b)
    # Histories: the record of the bureau asked for; without one, the changes in the actor's scope.
    assert [h["changes"]["name"][1] for h in records.history(w.engine, "inspectors", "I-01", actor=city,
                                                             bureau_id=w.b)] == ["密云改名"]
    assert [h["changes"]["name"][1] for h in records.history(w.engine, "inspectors", "I-01", actor=pa)] == ["平谷改名"]
    assert len(records.history(w.engine, "inspectors", "I-01", actor=city)) == 3
    assert len(records.history(w.engine, "inspectors", "I-01")) == 3


def test_imports_go_only_into_a_bureau_of_the_actors_scope(w):
    import csv
    import io

    from scheduler.library.importing import COLUMNS
    from scheduler.library import import_service as imports

    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS["experts"])
    out.writerow(["ZJ-09", "新专家", "食品检测", "某检验所", "是"])
    data = buf.getvalue().encode()

    def experts(bureau: int) -> set[str]:
        with Session(w.engine) as s:
            return set(s.execute(select(Expert.expert_id).where(Expert.bureau_id == bureau)).scalars())

    pa, city = w.planner(w.a), Actor("c", "admin", w.city)
    for code, who in (("110118", pa), ("110000", pa), ("110113", city)):
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            imports.preview("experts", "e.csv", data, w.engine, bureau_code=code, actor=who)
        with pytest.raises(PermissionDenied, match="无权访问其他市场监管局的数据"):
            imports.import_file(w.engine, "experts", "e.csv", data, actor=who, bureau_code=code)
    assert all(experts(b) == {"ZJ-01"} for b in (w.city, w.a, w.b, w.x))
    assert imports.preview("experts", "e.csv", data, w.engine, bureau_code="110117", actor=pa).total_rows == 1
    assert imports.preview("experts", "e.csv", data, w.engine, bureau_code="110113").total_rows == 1  # internal
    assert imports.import_file(w.engine, "experts", "e.csv", data, actor=pa, bureau_code="110117").inserted == 1
    assert imports.import_file(w.engine, "experts", "e.csv", data, actor=city, bureau_code="110118").inserted == 1
    assert imports.import_file(w.engine, "experts", "e.csv", data, bureau_code="110113").inserted == 1  # the CLI
    assert [experts(b) for b in (w.city, w.a, w.b, w.x)] == [{"ZJ-01"}] + [{"ZJ-01", "ZJ-09"}] * 3


# --- the app: the page's bureau follows the account -------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PW = "correct-horse-1"


@pytest.fixture
def app_world(sqlite_url, monkeypatch):
    from db.engine import make_engine
    from ui import auth

    monkeypatch.delenv("DSR_BUREAU", raising=False)
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    st.cache_resource.clear()
    eng = make_engine(sqlite_url)
    world = make_world(eng)
    users.add_user(eng, "pg-planner", "planner", PW, bureau="110117", department="SCJGJ")
    users.add_user(eng, "bj-admin", "admin", PW, bureau="110000")
    yield world
    eng.dispose()
    st.cache_resource.clear()


def _as(username: str) -> AppTest:
    """The app logged in through its form as `username` (password PW)."""
    from tests.ui_steps import login

    return login(AppTest.from_file(APP, default_timeout=60), username, PW, create=False)


def _task_ids(at: AppTest) -> set[int]:
    return {int(v) for v in at.dataframe[0].value["任务编号"]}


def test_a_district_account_works_on_its_bureau_and_cannot_open_another_districts_task(app_world):
    w = app_world
    at = _as("pg-planner").run()
    assert not at.exception, at.exception
    assert not at.sidebar.selectbox  # one bureau: nothing to pick
    assert any("平谷区市场监督管理局" in m.value for m in at.sidebar.markdown)
    at.switch_page("ui/pages/tasks.py").run()
    assert not at.exception, at.exception
    assert _task_ids(at) == {w.t_city_a, w.t_a}
    at.number_input(key="tasks_act_id").set_value(w.t_b).run()
    assert any("无权访问其他市场监管局的数据" in e.value for e in at.error)


def test_a_city_account_picks_one_of_its_districts(app_world):
    w = app_world
    at = _as("bj-admin").run()
    assert not at.exception, at.exception
    pick = at.sidebar.selectbox(key="dsr_bureau")
    # Its own bureau first, then its districts; the neighbouring district is not offered.
    assert list(pick.options) == ["北京市市场监督管理局", "平谷区市场监督管理局", "密云区市场监督管理局"]
    assert pick.value == w.city
    at.switch_page("ui/pages/tasks.py").run()
    assert not at.exception, at.exception
    pick = at.sidebar.selectbox(key="dsr_bureau")
    pick.set_value(w.b).run()
    assert not at.exception, at.exception
    assert _task_ids(at) == {w.t_city_b, w.t_b}


def test_the_audit_page_lists_the_events_of_the_accounts_scope(app_world):
    from scheduler.audit import service as auditlog

    w = app_world
    users.add_user(w.engine, "pg-admin", "admin", PW, bureau="110117")
    users.add_user(w.engine, "dep-auditor", "auditor", PW)
    with Session(w.engine) as s:
        for b in (w.city, w.a, w.b, w.x):
            auditlog.record(s, Actor(f"u-{b}", "planner", b), "plan.update", f"plan:{b}", {})
        s.commit()

    def objects(username: str, bureau: int | None = None) -> set[str]:
        at = _as(username)
        if bureau is not None:
            at.session_state["dsr_bureau"] = bureau
        at.switch_page("ui/pages/audit.py").run()
        assert not at.exception, at.exception
        return {o for o in at.dataframe[0].value["操作对象"] if o.startswith("plan:")}

    assert objects("pg-admin") == {f"plan:{w.a}"}
    assert objects("bj-admin", w.a) == {f"plan:{w.city}", f"plan:{w.a}", f"plan:{w.b}"}
    # A deployment-wide auditor reads every bureau's events, whichever bureau is picked.
    assert objects("dep-auditor", w.a) == {f"plan:{b}" for b in (w.city, w.a, w.b, w.x)}


def test_the_schedules_page_shows_the_plans_of_the_bureau_worked_on(app_world):
    w = app_world

    def plan_codes(username: str, bureau: int | None = None) -> set[str]:
        at = _as(username)
        if bureau is not None:
            at.session_state["dsr_bureau"] = bureau
        at.switch_page("ui/pages/schedules.py").run()
        assert not at.exception, at.exception
        return set(at.dataframe[0].value["计划"])

    assert plan_codes("pg-planner") == {"P-110117"}
    assert plan_codes("bj-admin", w.b) == {"P-110118"}
    assert plan_codes("bj-admin") == {"P-110000"}


def test_a_city_account_edits_a_districts_roster_entry_on_the_roster_page(app_world):
    w = app_world
    at = _as("bj-admin")
    at.session_state["dsr_bureau"] = w.b
    at.switch_page("ui/pages/roster.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="roster_edit_pick").select("I-01").run()
    name = [x for x in at.text_input if x.label == "姓名"][-1]
    assert name.value == "110118检查员1"  # B's I-01, not the city's
    name.input("密云改名")
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception, at.exception
    assert "密云改名" in at.success[0].value
    with Session(w.engine) as s:
        names = dict(s.execute(select(Inspector.bureau_id, Inspector.name).where(Inspector.inspector_id == "I-01")).all())
    assert names == {w.city: "110000检查员1", w.a: "110117检查员1", w.b: "密云改名", w.x: "110113检查员1"}
