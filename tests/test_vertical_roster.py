"""实行垂直管理的部门: a district plan with a 税务 item draws the tax inspectors from the city's
roster, only once the city has approved the use of its people, and stays verifiable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import AuditEvent, Bureau, Department, Inspector, RosterUse, Task, TeamMember
from scheduler.access.context import CLI, Actor
from scheduler.access.permissions import PermissionDenied
from scheduler.demo import pinggu as reference
from scheduler.demo.service import create_bureaus_demo
from scheduler.draw import service as draws
from scheduler.matching import service as teams
from scheduler.matching import vertical
from scheduler.plans.service import PlanInput
from scheduler.verify import verify_package
from tests.factories import save_approved

TODAY = dt.date(2026, 11, 27)
PLAN = PlanInput(code="PG-SW", name="税务和食品安全联合抽查", lead_department="SCJGJ", item_codes=["SC-01", "SW-01"],
                 ratios={"A": "0.03", "B": "0.03", "C": "0.03", "D": "0.03"}, bureau_code=reference.BUREAU_CODE)
SEED = "31415926535897932384"


@pytest.fixture
def world(engine):
    return _world(engine)


@pytest.fixture
def sqlite_world(sqlite_url):
    """`world` on SQLite only, for the command line and the page (the same on both databases)."""
    from db.engine import make_engine

    eng = make_engine(sqlite_url)
    yield (*_world(eng), sqlite_url)
    eng.dispose()


def _world(engine):
    """The bureaus demo; Pinggu's 税务局 vertically managed, the city's 税务局 with ten inspectors."""
    create_bureaus_demo(engine, 600, 7, today=TODAY)
    with Session(engine) as s:
        ids = dict(s.execute(select(Bureau.code, Bureau.id)).all())
        city_tax = s.execute(select(Department.id).where(Department.bureau_id == ids[reference.CITY_CODE],
                                                          Department.code == "SWUJ")).scalar_one()
        s.add_all([Inspector(bureau_id=ids[reference.CITY_CODE], inspector_id=f"SW{k:04d}", name=f"市税务{k}",
                             department_id=city_tax, cert_no=f"110000SW{k:04d}", qualifications="税务")
                   for k in range(1, 11)])
        s.commit()
    vertical.set_vertical(engine, reference.BUREAU_CODE, "SWUJ", True, CLI)
    save_approved(engine, PLAN)
    return engine, ids


def test_a_vertical_department_is_staffed_from_the_city_roster_once_the_city_approves(world, tmp_path):
    engine, ids = world
    with pytest.raises(vertical.VerticalRefused, match="尚未经市级局审批"):
        draws.execute(engine, PLAN.code, "2026-12", SEED)
    district = Actor("reviewer-pg", "reviewer", ids[reference.BUREAU_CODE])
    with pytest.raises(PermissionDenied):
        vertical.approve_roster_use(engine, PLAN.code, district)
    city = Actor("reviewer-bj", "reviewer", ids[reference.CITY_CODE])
    assert vertical.roster_uses(engine, city)[0]["state"] == "待审批"
    assert vertical.approve_roster_use(engine, PLAN.code, city, "同意使用市税务局执法人员") == ["SWUJ"]
    assert vertical.roster_uses(engine, city)[0] | {"approved_at": ""} == {
        "plan": PLAN.code, "name": PLAN.name, "department": "SWUJ", "department_name": "区税务局",
        "state": "已审批", "approved_by": "reviewer-bj", "approved_at": ""}

    d = draws.execute(engine, PLAN.code, "2026-12", SEED)
    with Session(engine) as s:
        rows = s.execute(select(Task.id, Department.code, Inspector.bureau_id, Inspector.inspector_id)
                         .join(TeamMember, TeamMember.task_id == Task.id)
                         .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                         .join(Department, Department.id == TeamMember.department_id)
                         .where(Task.draw_id == d.id, TeamMember.active)).all()
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "roster.approve")).scalars().first()
        assert s.execute(select(RosterUse.approved_by)).scalars().all() == ["reviewer-bj"]
    tax = [r for r in rows if r[1] == "SWUJ"]
    assert tax, "the draw selected entities with the 税务 item"
    assert all(b == ids[reference.CITY_CODE] and iid.startswith("SW") for _, _, b, iid in tax)
    assert all(b == ids[reference.BUREAU_CODE] for _, dept, b, _ in rows if dept != "SWUJ")
    draws.write_packages(engine, d.id, tmp_path / "a", tmp_path / "p")
    assert verify_package(tmp_path / "a").ok
    assert verify_package(tmp_path / "p").ok

    # The city's tax inspector sees the district task on 我的任务 and enters its result.
    from scheduler.results import fieldrecords_service as frs
    from scheduler.results import service as rs

    task_id, _, _, person = tax[0]
    me = Actor(person, "inspector", ids[reference.CITY_CODE])
    mine = [r["id"] for g in frs.my_tasks(engine, me, rs.local_today()).values() for r in g]
    assert task_id in mine
    assert rs.enter_result(engine, task_id, "SW-01", ["01"], me).entered_by == person

    # Replacing a city tax inspector picks another person of the city roster.
    new = teams.replace_inspector(engine, task_id, f"{reference.CITY_CODE}/{person}", "出差，无法参加检查")
    with Session(engine) as s:
        assert s.get(Inspector, new.inspector_pk).bureau_id == ids[reference.CITY_CODE]


def test_only_a_district_department_can_be_vertical_and_only_an_admin_sets_it(world):
    engine, ids = world
    with pytest.raises(vertical.VerticalRefused, match="不是区级局"):
        vertical.set_vertical(engine, reference.CITY_CODE, "SWUJ", True, CLI)
    with pytest.raises(PermissionDenied):
        vertical.set_vertical(engine, reference.BUREAU_CODE, "SWUJ", False,
                              Actor("planner-pg", "planner", ids[reference.BUREAU_CODE]))
    with pytest.raises(vertical.VerticalRefused, match="无需审批"):
        vertical.approve_roster_use(engine, "PG-2026-SP", CLI)


def test_the_commands(sqlite_world):
    import json
    import os
    import subprocess
    import sys

    from scheduler.accounts.service import add_user

    engine, _, db_url = sqlite_world
    add_user(engine, "admin-bj", "admin", "Passw0rd!Passw0rd", bureau=reference.CITY_CODE)
    env = dict(os.environ, DSR_DATABASE_URL=db_url, COLUMNS="200")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "scheduler", "plans", *args], env=env, capture_output=True,
                              text=True, timeout=300)

    r = run("roster-uses", "--json", "--as", "admin-bj")
    assert r.returncode == 0, r.stderr
    assert [(u["plan"], u["state"]) for u in json.loads(r.stdout)] == [(PLAN.code, "待审批")]
    r = run("roster-approve", PLAN.code, "--note", "同意", "--as", "admin-bj")
    assert r.returncode == 0 and "SWUJ" in r.stdout, r.stderr
    assert "已审批" in run("roster-uses", "--as", "admin-bj").stdout
    r = run("vertical", reference.BUREAU_CODE, "SWUJ", "--off", "--as", "admin-bj")
    assert r.returncode == 0 and "不实行垂直管理" in r.stdout, r.stderr


def test_the_city_approves_on_the_roster_page(sqlite_world, monkeypatch):
    """执法检查人员名录库 for the city's reviewer: the district plan waits for approval, one click approves it."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from scheduler.accounts.service import add_user
    from tests.ui_steps import login as ui_login, open_page, rerun, table

    engine, _, db_url = sqlite_world
    add_user(engine, "reviewer-bj", "reviewer", "Passw0rd!Passw0rd", bureau=reference.CITY_CODE, department="SWUJ")
    monkeypatch.setenv("DSR_DATABASE_URL", db_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    app = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
    at = ui_login(AppTest.from_file(app, default_timeout=90), "reviewer-bj", "Passw0rd!Passw0rd", create=False)
    open_page(at, "roster.py")
    uses = table(at, "计划编号")
    assert uses[["计划编号", "状态"]].values.tolist() == [[PLAN.code, "待审批"]]
    at.text_input(key="roster_use_note").input("同意")
    at.button(key="roster_use_go").click()
    rerun(at)
    assert any(f"已同意计划 {PLAN.code} 使用市级名录库（SWUJ）" in s.value for s in at.success), [e.value for e in at.error]
    assert table(at, "计划编号")["状态"].tolist() == ["已审批"]
    st.cache_resource.clear()
