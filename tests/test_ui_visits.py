"""联合检查 page (and the visit line on 任务与匹配), driven with AppTest on a real SQLite file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from scheduler.draw import service as draws
from scheduler.visits import service as vs
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import world
from ui import auth, nav
from scheduler.access.context import Actor
from tests.ui_steps import login as ui_login, open_page as _open, rerun as _run, table as _table, use_copy

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
RATIOS = {"A": "0.3", "B": "0.3", "C": "0.5", "D": "1"}
PERIOD = "2026-11"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uivisits") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    from db.migrate import upgrade

    upgrade(eng)
    world(eng, 1200)
    save_approved(eng, PlanInput(code="PG-SP", name="食品经营许可抽查", lead_department="SCJGJ", item_codes=["SP-01"], ratios=RATIOS))
    save_approved(eng, PlanInput(code="PG-WS", name="餐饮场所卫生抽查", lead_department="WJW", item_codes=["WS-01"], ratios=RATIOS))
    draws.execute(eng, "PG-SP", PERIOD, seed="31415926535897932384626433")
    draws.execute(eng, "PG-WS", PERIOD, seed="27182818284590452353602874")
    eng.dispose()
    return path


@pytest.fixture
def url(base_db, tmp_path, monkeypatch):
    return use_copy(base_db, tmp_path, monkeypatch)


@pytest.fixture
def app(url):
    at = ui_login(AppTest.from_file(APP, default_timeout=90))
    assert not at.exception
    yield at
    st.cache_resource.clear()




def test_page_is_listed_for_staff_only():
    assert ("抽查实施", "visits.py", "联合检查", ":material/join_inner:") in nav.PAGES
    assert auth.page_visible(Actor("p", "planner", 1, 1), "visits.py")
    assert auth.page_visible(Actor("a", "auditor"), "visits.py")
    assert not auth.page_visible(Actor("i", "inspector", 1, 1), "visits.py")
    assert not auth.page_visible(Actor("x", "public"), "visits.py")


def test_visits_page_lists_merges_separate_visits_and_figures(app, url):
    at = _open(app, "visits.py")
    eng = make_engine(url)
    summary = vs.window_summary(eng, PERIOD)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["入户检查"] == f"{summary['visits']:,} 次" and metrics["减少入户"] == f"{summary['saved']:,} 次"
    assert summary["saved"] > 0
    plan = _table(at, "合并的计划")
    assert list(plan.columns)[:4] == ["入户编号", "统一社会信用代码", "企业名称", "所属乡镇街道"]
    assert len(plan) == min(50, summary["visits"])

    # Only the merged ones, then the detail of the first: tasks of both plans, team with origin.
    at.checkbox(key="visits_merged").check()
    _run(at)
    plan = _table(at, "合并的计划")
    assert len(plan) == min(50, summary["merged"]) and set(plan["合并的计划"]) == {"PG-SP、PG-WS"}
    tasks = _table(at, "任务状态")
    assert list(tasks["计划"]) == ["PG-SP", "PG-WS"] and list(tasks[""]) == ["牵头", ""]
    team = _table(at, "来源计划")
    assert set(team["来源计划"]) <= {"PG-SP", "PG-WS", "PG-SP、PG-WS"}

    # One date for the visit.
    vid = int(plan["入户编号"].iloc[0])
    assert at.number_input(key="visits_pick").value == vid
    at.date_input(key=f"visits_day_{vid}").set_value(dt.date(2026, 11, 20))
    at.button(key="visits_day_go").click()
    _run(at)
    assert any("2026-11-20" in s.value for s in at.success), [e.value for e in at.error]
    assert vs.get_visit(eng, vid)["planned_on"] == dt.date(2026, 11, 20)

    # Separate visits: none under the month window for this single month.
    assert {m.label: m.value for m in at.metric}["仍被多次入户的对象"] == "0 户"
    # Figures: saved per department, joint share against the target.
    saved = _table(at, "减少入户")
    assert set(saved["牵头部门"]) == {"区市场监管局", "区卫生健康委"} and saved["减少入户"].sum() == summary["saved"]
    share = vs.joint_share(eng, 2026)
    assert {m.label: m.value for m in at.metric}["联合检查占比"] == f"{share['share'] * 100:.1f}%"
    eng.dispose()


def test_administrator_changes_the_window_and_a_plan_not_mergeable_shows_up(app, url):
    eng = make_engine(url)
    vs.set_plan_mergeable(eng, "PG-WS", False)
    at = _open(app, "visits.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["减少入户"] == "0 次" and metrics["仍被多次入户的对象"] != "0 户"
    sep = _table(at, "原因")
    assert set(sep["原因"]) == {"计划标记为不可合并（如不可等待的重点事项）"}
    vs.set_plan_mergeable(eng, "PG-WS", True)
    at.radio(key="visits_setting").set_value("quarter")
    _run(at)
    at.button(key="visits_setting_go").click()
    _run(at)
    assert any("按季度" in s.value for s in at.success), [e.value for e in at.error]
    assert vs.get_window(eng) == "quarter" and vs.windows(eng) == ["2026-Q4"]
    assert at.selectbox(key="visits_window").value == "2026-Q4"
    eng.dispose()


def test_tasks_page_shows_the_visit_and_the_other_plans_tasks(app, url):
    eng = make_engine(url)
    row = vs.visits_for(eng, PERIOD, merged_only=True).rows[0]
    ws_task = row["tasks"][1]["task_id"]
    eng.dispose()
    at = _open(app, "tasks.py")
    at.number_input(key="tasks_act_id").set_value(ws_task)
    _run(at)
    info = [i.value for i in at.info if "联合检查" in i.value]
    assert info and f"入户 #{row['id']}" in info[0] and f"任务 #{row['tasks'][0]['task_id']}（PG-SP" in info[0]
