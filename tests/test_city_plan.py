"""市抽县查: a city plan draws across its districts and hands each task to the district
whose area holds the entity; that district's roster supplies the team."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import Bureau, Draw, Enterprise, Inspector, Plan, Task, TeamMember, Town
from scheduler.demo import pinggu as reference
from scheduler.draw import service as draws
from scheduler.matching import service as teams
from scheduler.demo.service import CITY_PLAN, DemoDistrict, create_bureaus_demo, create_demo
from scheduler.plans.service import load_plan
from scheduler.verify import verify_package

TODAY = dt.date(2026, 11, 27)
PERIOD = "2026-11"  # drawn by the demo
NEXT = "2026-12"
# A third district for the test (demo data: Shunyi's code, towns named after Pinggu's).
SHUNYI = DemoDistrict("110113", "北京市顺义区市场监督管理局", "顺义区",
                      [(f"110113{int(c[6:]):03d}", "顺义" + n) for c, n in reference.TOWNS], "SY")


@pytest.fixture
def city(engine):
    """Beijing + Pinggu + Miyun (the demo) + Shunyi, a few thousand entities each."""
    create_bureaus_demo(engine, 1500, 7, today=TODAY)
    create_demo(engine, 1500, 9, force=True, district=SHUNYI)
    with Session(engine) as s:
        c = s.execute(select(Bureau).where(Bureau.code == reference.CITY_CODE)).scalar_one()
        sy = s.execute(select(Bureau).where(Bureau.code == SHUNYI.code)).scalar_one()
        sy.parent_id = c.id
        s.commit()
    return engine


def test_city_plan_area_covers_its_districts(city):
    with Session(city) as s:
        lp = load_plan(s, CITY_PLAN.code)
        codes = set(lp.area.values())
        assert codes == {reference.CITY_CODE, reference.BUREAU_CODE, reference.MIYUN_CODE, SHUNYI.code}
        assert lp.hands_over
        district = load_plan(s, "PG-2026-SP")
        assert not district.hands_over and set(district.area.values()) == {reference.BUREAU_CODE}


def test_every_task_goes_to_the_district_holding_the_entity_and_is_staffed_from_its_roster(city, tmp_path):
    d = draws.execute(city, CITY_PLAN.code, NEXT, "12345678901234567890123")
    with Session(city) as s:
        rows = s.execute(
            select(Task.id, Task.bureau_id, Town.bureau_id, Task.status)
            .join(Enterprise, Enterprise.uscc == Task.uscc).join(Town, Town.code == Enterprise.town_code)
            .where(Task.draw_id == d.id)
        ).all()
        assert rows and all(carrier == holder for _, carrier, holder, _ in rows)
        carriers = {b for _, b, _, st in rows if st != "reserve"}
        codes = dict(s.execute(select(Bureau.id, Bureau.code)).all())
        assert {codes[b] for b in carriers} == {reference.BUREAU_CODE, reference.MIYUN_CODE, SHUNYI.code}
        members = s.execute(
            select(Task.bureau_id, Inspector.bureau_id)
            .join(TeamMember, TeamMember.task_id == Task.id).join(Inspector, Inspector.id == TeamMember.inspector_pk)
            .where(Task.draw_id == d.id)
        ).all()
        assert members and all(tb == ib for tb, ib in members)
        cert = json.loads(s.get(Draw, d.id).certificate)
    # The certificate names each task's district in its qualified departments.
    for spec in cert["matching"]["task_specs"]:
        assert all(dep.split("/")[0] in codes.values() for dep in spec["departments"])
    draws.write_packages(city, d.id, tmp_path / "a", tmp_path / "p")
    assert verify_package(tmp_path / "a").ok
    assert verify_package(tmp_path / "p").ok


def test_replacing_a_member_of_a_city_task_stays_in_the_district(city):
    d = draws.execute(city, CITY_PLAN.code, NEXT, "98765432109876543210")
    with Session(city) as s:
        task_id, bureau_id, local_id = s.execute(
            select(Task.id, Task.bureau_id, Inspector.inspector_id)
            .join(TeamMember, TeamMember.task_id == Task.id).join(Inspector, Inspector.id == TeamMember.inspector_pk)
            .where(Task.draw_id == d.id, TeamMember.role == "member").order_by(Task.rank)
        ).first()
    new = teams.replace_inspector(city, task_id, local_id, "出差，无法参加检查")
    with Session(city) as s:
        assert s.get(Inspector, new.inspector_pk).bureau_id == bureau_id
        assert s.get(Inspector, new.inspector_pk).inspector_id != local_id


def test_a_district_plan_draws_only_its_own_area(city):
    with Session(city) as s:
        d = s.execute(select(Draw).join(Plan).where(Plan.code == "MY-2026-SP", Draw.period == PERIOD)).scalar_one()
        bureaus = set(s.execute(select(Task.bureau_id).where(Task.draw_id == d.id)).scalars())
        my = s.execute(select(Bureau.id).where(Bureau.code == reference.MIYUN_CODE)).scalar_one()
        towns = set(s.execute(select(Town.bureau_id).join(Enterprise, Enterprise.town_code == Town.code)
                              .join(Task, Task.uscc == Enterprise.uscc).where(Task.draw_id == d.id)).scalars())
    assert bureaus == {my} and towns == {my}


def test_the_demo_is_deterministic_and_idempotent(engine):
    first = create_bureaus_demo(engine, 800, 3, today=TODAY)
    again = create_bureaus_demo(engine, 800, 3, today=TODAY, force=True)
    assert [c for c, _, _ in first.draws] == ["PG-2026-SP", "MY-2026-SP", CITY_PLAN.code]
    assert again.draws == [] and all(not any(v.values()) for v in again.added.values())


def test_no_district_reads_another_districts_tasks_of_the_city_plan(city):
    from scheduler.access.permissions import PermissionDenied
    from scheduler.results import tasks
    from scheduler.access.context import Actor

    d = draws.execute(city, CITY_PLAN.code, NEXT, "55555555556666666666")
    with Session(city) as s:
        ids = dict(s.execute(select(Bureau.code, Bureau.id)).all())
        by_bureau = {}
        for tid, b in s.execute(select(Task.id, Task.bureau_id).where(Task.draw_id == d.id, Task.status != "reserve")):
            by_bureau.setdefault(b, []).append(tid)
    my, pg, city_id = ids[reference.MIYUN_CODE], ids[reference.BUREAU_CODE], ids[reference.CITY_CODE]
    miyun_admin = Actor("my-admin", "admin", my)
    seen = tasks.list_tasks(city, draw_id=d.id, include_reserves=False, page_size=500, actor=miyun_admin).rows
    assert seen and sorted(r["id"] for r in seen) == sorted(by_bureau[my])
    with pytest.raises(PermissionDenied):
        tasks.get_task(city, by_bureau[pg][0], actor=miyun_admin)
    assert tasks.get_task(city, by_bureau[my][0], actor=miyun_admin)["id"] == by_bureau[my][0]
    city_admin = Actor("bj-admin", "admin", city_id)
    every = tasks.list_tasks(city, draw_id=d.id, include_reserves=False, page_size=500, actor=city_admin).rows
    assert len(every) == sum(len(v) for v in by_bureau.values())


def test_draw_rights_follow_the_bureau_scope(city):
    from db.models import Department
    from scheduler.access.permissions import PermissionDenied
    from scheduler.access.context import Actor

    with Session(city) as s:
        ids = dict(s.execute(select(Bureau.code, Bureau.id)).all())
        dept = {(b, c): i for i, b, c in s.execute(select(Department.id, Department.bureau_id, Department.code))}
    bj, pg = ids[reference.CITY_CODE], ids[reference.BUREAU_CODE]
    pg_planner = Actor("pg-planner", "planner", pg, dept[(pg, "SCJGJ")])
    with pytest.raises(PermissionDenied, match="其他市场监管局"):
        draws.freeze(city, "MY-2026-SP", NEXT, pg_planner)  # another district's plan
    with pytest.raises(PermissionDenied, match="其他市场监管局"):
        draws.freeze(city, CITY_PLAN.code, NEXT, pg_planner)  # the city's plan
    draws.freeze(city, "PG-2026-SP", NEXT, pg_planner)  # its own
    bj_admin = Actor("bj-admin", "admin", bj)
    draws.freeze(city, "MY-2026-SP", NEXT, bj_admin)  # the city acts for its districts
    bj_planner = Actor("bj-planner", "planner", bj, dept[(bj, "SCJGJ")])
    assert draws.execute(city, CITY_PLAN.code, NEXT, "31415926535897932384", bj_planner).status == "drawn"


def test_the_city_dashboard_covers_its_districts(city):
    """首页 of the city bureau: its figures cover its area (the districts carry its 市抽县查 tasks);
    a district's stay its own, and the city's are the sum of its districts' plus its own."""
    from scheduler.results import dashboard as history
    from scheduler.results import service as rs

    with Session(city) as s:
        ids = dict(s.execute(select(Bureau.code, Bureau.id)).all())
    city_id = ids[reference.CITY_CODE]
    districts = [ids[c] for c in (reference.BUREAU_CODE, reference.MIYUN_CODE, SHUNYI.code)]
    year = int(PERIOD[:4])
    whole = rs.dashboard(city, city_id, year)
    parts = [rs.dashboard(city, b, year) for b in districts]
    assert whole["plan"]["tasks"] > 0
    with Session(city) as s:
        carried = s.execute(select(Task.bureau_id).join(Draw, Draw.id == Task.draw_id).join(Plan, Plan.id == Draw.plan_id)
                            .where(Plan.code == CITY_PLAN.code, Draw.status != "voided",
                                   Task.status.not_in(rs.INACTIVE))).scalars().all()
    assert carried and set(carried) <= set(districts)  # nothing is carried by the city itself
    # The city's tasks are exactly its districts' (none of its own), so the counts add up.
    assert whole["plan"]["tasks"] == sum(p["plan"]["tasks"] for p in parts)
    risk_entities = sum(v["entities"] for v in whole["coverage"]["by_risk"].values())
    assert risk_entities == sum(sum(v["entities"] for v in p["coverage"]["by_risk"].values()) for p in parts)
    saved = history.visits_saved(city, city_id, year)
    assert saved["planned"] == sum(history.visits_saved(city, b, year)["planned"] for b in districts)
    today = TODAY
    over = history.deadline_overview(city, city_id, today)
    assert over["overdue"] + over["due_soon"] + over["later"] + over["no_deadline"] == sum(
        sum(history.deadline_overview(city, b, today)[k] for k in ("overdue", "due_soon", "later", "no_deadline"))
        for b in districts)
