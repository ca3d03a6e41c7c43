"""The plan as a published document in the app (AppTest, real SQLite file): the 抽查计划 page approves,
publishes, copies and lists the versions; 公示查询 shows published plans only, with earlier versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import func, select, update
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from tests.ui_steps import login as ui_login

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Department, Draw, Inspector, Plan, Task, TeamMember
from scheduler.access.context import Actor
from scheduler.accounts.service import add_user
from scheduler.draw import service as draws
from scheduler.plans import versions as pv
from scheduler.plans.service import PlanInput, save_plan
from tests.factories import world
from tests.ui_steps import open_page, rerun, use_copy

ROOT = Path(__file__).resolve().parents[1]
RATIOS = {"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}


def plan(code: str, **kw) -> PlanInput:
    return PlanInput(code=code, name=f"2026年度企业公示信息抽查 {code}", lead_department="SCJGJ", item_codes=["GS-01"],
                     ratios=RATIOS, **kw)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("plandocs") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    bid = world(eng, 300)
    with Session(eng) as s:
        scj = s.execute(select(Department.id).where(Department.code == "SCJGJ")).scalar_one()
    planner, reviewer = Actor("planner-x", "planner", bid, scj), Actor("reviewer-x", "reviewer", bid, scj)
    save_plan(eng, plan("PG-2026-DRAFT"), planner)
    save_plan(eng, plan("PG-2026-PUB", task_days=15), planner)
    pv.approve_plan(eng, "PG-2026-PUB", reviewer)
    pv.publish_plan(eng, "PG-2026-PUB", reviewer)
    save_plan(eng, plan("PG-2026-PUB", task_days=15, description="第二版", reason="增加抽查事项说明"), planner)
    pv.approve_plan(eng, "PG-2026-PUB", reviewer)
    pv.publish_plan(eng, "PG-2026-PUB", reviewer)
    # Drawn on 2026-03-02 with 15 working days to check: every open task is past its limit (2026-03-23).
    d = draws.execute(eng, "PG-2026-PUB", "2026-03", "16180339887498948482")
    with eng.begin() as c:
        c.execute(update(Draw).where(Draw.id == d.id).values(drawn_at=dt.datetime(2026, 3, 2, 1, tzinfo=dt.timezone.utc)))
    with Session(eng) as s:
        task = s.execute(select(Task).where(Task.draw_id == d.id, Task.status == "assigned").order_by(Task.id)).scalars().first()
        member = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                           .where(TeamMember.task_id == task.id, TeamMember.active.is_(True))).scalars().first()
    add_user(eng, "insp", "inspector", "correct-horse-battery-9", inspector=member)
    eng.dispose()
    return path


@pytest.fixture
def url(base_db, tmp_path, monkeypatch):
    return use_copy(base_db, tmp_path, monkeypatch)


def _tables(at):
    return [d.value for d in at.dataframe]


def test_public_page_shows_published_plans_only_with_their_versions(url, monkeypatch):
    at = AppTest.from_file(str(ROOT / "ui" / "pages" / "public.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    plans = [t for t in _tables(at) if "当前版本" in t.columns]
    assert len(plans) == 2  # the plans in force, then the earlier versions
    current, earlier = plans
    assert list(current["计划编号"]) == ["PG-2026-PUB"] and list(current["版本"]) == ["2"]
    row = current.iloc[0]
    assert row["修改理由"] == "增加抽查事项说明" and row["完成时限"] == "抽取后 15 个工作日内完成检查"
    assert row["抽查比例"] == "3%～5%" and row["牵头部门"] == "区市场监管局" and "《企业信息公示暂行条例》" in row["检查依据"]
    assert row["抽查期间"].split("、")[:2] == ["2026-01", "2026-02"] and row["计划年度"] == "2026"
    assert list(earlier["计划编号"]) == ["PG-2026-PUB"] and list(earlier["版本"]) == ["1"]
    assert not any("PG-2026-DRAFT" in str(v) for t in _tables(at) for v in t.to_numpy().ravel())
    st.cache_resource.clear()


def test_plans_page_approves_publishes_copies_and_lists_versions(url):
    at = ui_login(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90))  # logged in as "ui" (admin)
    assert not at.exception
    at = open_page(at, "plans.py")
    listing = next(t for t in _tables(at) if "状态" in t.columns and "计划编号" in t.columns).set_index("计划编号")
    assert listing.loc["PG-2026-DRAFT", "状态"] == "草稿" and listing.loc["PG-2026-PUB", "版本"] == 2
    at.selectbox(key="plan_doc").select("PG-2026-PUB")
    at = rerun(at)
    versions = next(t for t in _tables(at) if "修改理由" in t.columns)
    assert list(versions["版本"]) == [2, 1] and list(versions["修改理由"]) == ["增加抽查事项说明", ""]
    assert at.button(key="plan_approve").disabled and at.button(key="plan_publish").disabled

    at.selectbox(key="plan_doc").select("PG-2026-DRAFT")
    at = rerun(at)
    assert not at.button(key="plan_approve").disabled and at.button(key="plan_publish").disabled
    at.button(key="plan_approve").click()
    at = rerun(at)
    assert any("已审批：PG-2026-DRAFT（第 1 版 · 已审批）" in s.value for s in at.success), [s.value for s in at.success]
    at.selectbox(key="plan_doc").select("PG-2026-DRAFT")
    at = rerun(at)
    at.button(key="plan_publish").click()
    at = rerun(at)
    assert any("已发布：PG-2026-DRAFT" in s.value for s in at.success)

    # 复制为下一年度计划: a draft of 2027 under the new code; its copier cannot approve it.
    at.selectbox(key="plan_doc").select("PG-2026-DRAFT")
    at = rerun(at)
    assert at.number_input(key="plan_copy_year").value == 2027
    assert at.text_input(key="plan_copy_code").value == "PG-2027-DRAFT"
    at.button(key="plan_copy").click()
    at = rerun(at)
    assert any("已复制为下一年度计划（草稿）：PG-2027-DRAFT" in s.value for s in at.success)
    eng = make_engine(url)
    with Session(eng) as s:
        new = s.execute(select(Plan).where(Plan.code == "PG-2027-DRAFT")).scalar_one()
        assert (new.status, new.version, new.created_by, new.name) == ("draft", 1, "ui", "2027年度企业公示信息抽查 PG-2027-DRAFT")
        old = s.execute(select(Plan).where(Plan.code == "PG-2026-DRAFT")).scalar_one()
        assert (old.status, old.approved_by, old.published_by) == ("published", "ui", "ui")
    eng.dispose()
    at.selectbox(key="plan_doc").select("PG-2027-DRAFT")
    at = rerun(at)
    at.button(key="plan_approve").click()
    at = rerun(at)
    assert any("审批人不能是计划的创建人" in e.value for e in at.error)
    st.cache_resource.clear()


def test_tasks_past_their_limit_are_flagged_on_the_dashboard_and_the_inspectors_list(url, monkeypatch):
    eng = make_engine(url)
    with Session(eng) as s:
        n_open = s.execute(select(func.count()).select_from(Task).where(
            Task.status.in_(("drawn", "assigned", "inspecting")), Task.draw_id.is_not(None))).scalar_one()
    eng.dispose()
    assert n_open > 0
    at = ui_login(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90))  # 首页, as "ui" (admin)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["已超过完成时限"] == str(n_open) and metrics["5个工作日内到期"] == "0"
    listed = next(t for t in _tables(at) if "提醒" in t.columns)
    assert set(listed["提醒"]) == {"已超过完成时限"} and set(listed["完成时限"]) == {"2026-03-23"}
    st.cache_resource.clear()

    # the inspector of one of the teams
    at = ui_login(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90),
                  "insp", "correct-horse-battery-9", create=False)
    at = open_page(at, "results.py")
    mine = next(t for t in _tables(at) if "时限提醒" in t.columns)
    assert len(mine) >= 1 and set(mine["时限提醒"]) == {"已超过完成时限"} and set(mine["完成时限"]) == {"2026-03-23"}
    st.cache_resource.clear()


def test_the_draw_page_refuses_a_draft(url):
    at = ui_login(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90))
    at = open_page(at, "draw.py")
    at.selectbox(key="draw_plan").select("PG-2026-DRAFT")
    at.selectbox(key="draw_period").select("2026-12")
    at = rerun(at)
    assert any("第 1 版为草稿，尚未审批，不能抽取" in w.value for w in at.warning)
    at.button(key="draw_freeze").click()
    at = rerun(at)
    assert any("抽查计划“PG-2026-DRAFT”第 1 版为草稿，尚未审批，不能抽取" in e.value for e in at.error)
    eng = make_engine(url)
    with Session(eng) as s:
        assert s.execute(select(func.count()).select_from(Draw).join(Plan, Plan.id == Draw.plan_id)
                         .where(Plan.code == "PG-2026-DRAFT")).scalar_one() == 0
    eng.dispose()
    st.cache_resource.clear()
