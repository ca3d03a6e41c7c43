"""检查结果 pages (结果录入, 审核, 公示管理) and the 首页 dashboard, driven with AppTest on a demo with history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from db.models import (
    CheckItem,
    Department,
    FollowUp,
    Inspector,
    ItemResult,
    Task,
    TaskItem,
    TeamMember,
)
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs
from scheduler.demo.service import create_demo
from scheduler.demo.history import create_history
from scheduler.accounts.service import ensure_demo_users
from tests.ui_steps import login as ui_login, open_page as _open, rerun as _rerun, use_copy

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uires") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    create_demo(eng, 1500, seed=11)
    # Anchored on the app's own "today", so deadlines and queues are what the pages compute.
    h = create_history(eng, rs.local_today(), seed=11, rounds=1)
    assert h.draws
    eng.dispose()
    return path


@pytest.fixture
def db(base_db, tmp_path, monkeypatch):
    eng = make_engine(use_copy(base_db, tmp_path, monkeypatch))
    yield eng
    eng.dispose()


def _app(user: str = "ui", password: str = "ui-test-Passw0rd", create: bool = True) -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    at = ui_login(AppTest.from_file(APP, default_timeout=90), user, password, create)
    assert not at.exception, at.exception
    return at


def _assigned_single(eng) -> tuple[int, str, str]:
    """(task id, item code, inspector id of the item's department) of an untouched one-item task."""
    with Session(eng) as s:
        for tid in s.execute(select(Task.id).where(Task.status == "assigned").order_by(Task.id)).scalars():
            items = s.execute(select(CheckItem.code, CheckItem.department_id).join(TaskItem, TaskItem.item_id == CheckItem.id)
                              .where(TaskItem.task_id == tid)).all()
            if len(items) != 1:
                continue
            who = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                            .where(TeamMember.task_id == tid, TeamMember.active.is_(True),
                                   TeamMember.department_id == items[0][1])).scalars().first()
            if who:
                return tid, items[0][0], who
    raise AssertionError("no assigned one-item task")


def _result(eng, task_id: int) -> ItemResult:
    with Session(eng) as s:
        return s.execute(select(ItemResult).where(ItemResult.task_id == task_id)).scalars().one()


def test_inspector_enters_a_result(db):
    tid, code, who = _assigned_single(db)
    at = _open(_app(), "results.py")
    assert any("执法检查人员" in i.value for i in at.info)  # an administrator must pick whom to act as
    at.selectbox(key="res_as").set_value(who)
    _rerun(at)
    at.selectbox(key="res_task").set_value(tid)
    _rerun(at)
    assert at.selectbox(key="res_item").value == code
    cats = at.multiselect(key=f"res_cats_{tid}_{code}")
    # 未发现问题 is exclusive: the page refuses before saving
    cats.set_value(["未发现问题", "发现问题已责令改正"])
    _rerun(at)
    assert any("不能与" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "res_save"]
    at.multiselect(key=f"res_cats_{tid}_{code}").set_value(["未发现问题"])
    at.text_area(key=f"res_note_{tid}_{code}").set_value("现场检查未发现问题")
    at.date_input(key=f"res_day_{tid}_{code}").set_value(rs.local_today() - dt.timedelta(days=1))
    _rerun(at)
    at.button(key="res_save").click()
    _rerun(at)
    assert any("已保存" in s.value for s in at.success), [e.value for e in at.error]
    r = _result(db, tid)
    assert r.status == lc.PENDING and r.entered_by == who and r.note == "现场检查未发现问题"
    assert r.inspected_on == rs.local_today() - dt.timedelta(days=1)
    with Session(db) as s:
        assert s.get(Task, tid).status == "completed"


def test_inspector_sees_sent_back_results_with_the_reason(db):
    with Session(db) as s:
        r = s.execute(select(ItemResult).where(ItemResult.status == lc.RETURNED).order_by(ItemResult.id)).scalars().first()
        who = r.entered_by
    at = _open(_app(), "results.py")
    at.selectbox(key="res_as").set_value(who)
    _rerun(at)
    assert any(h.value == "审核退回，待重新录入" for h in at.subheader)
    back = next(d.value for d in at.dataframe if "退回理由" in d.value.columns and "审核人员" in d.value.columns)
    assert r.review_note in set(back["退回理由"])


def test_logged_in_inspector_has_no_selector(db, monkeypatch):
    ensure_demo_users(db, password="demo-Passw0rd", must_change=False)
    at = _open(_app("inspector", "demo-Passw0rd", create=False), "results.py")
    assert not [s for s in at.selectbox if s.key == "res_as"]
    assert any(h.value == "我的检查任务" for h in at.subheader)


def test_reviewer_approves_and_sends_back(db):
    with Session(db) as s:
        dept = s.execute(select(Department.id).where(Department.code == "SCJGJ")).scalar_one()
    queue = rs.review_queue(db, dept).rows
    assert len(queue) >= 2
    at = _open(_app(), "review.py")
    at.selectbox(key="rev_as").set_value(dept)
    _rerun(at)
    assert len(at.dataframe[0].value) == len(queue)
    first, second = queue[0]["result_id"], queue[1]["result_id"]
    at.selectbox(key="rev_pick").set_value(first)
    _rerun(at)
    at.button(key="rev_approve").click()
    _rerun(at)
    assert any("审核通过" in s.value for s in at.success), [e.value for e in at.error]
    at.selectbox(key="rev_pick").set_value(second)
    at.text_input(key="rev_reason").set_value("请补充现场照片")
    _rerun(at)
    at.button(key="rev_back").click()
    _rerun(at)
    with Session(db) as s:
        a, b = s.get(ItemResult, first), s.get(ItemResult, second)
    assert a.status == lc.APPROVED and a.reviewed_by == "ui"
    assert b.status == lc.RETURNED and b.review_note == "请补充现场照片"
    left = len(queue) - 2
    if left:
        assert len(at.dataframe[0].value) == left
    else:
        assert any("没有待审核" in i.value for i in at.info)


def test_publication_queue_flags_and_publish_and_follow_up(db):
    today = rs.local_today()
    with Session(db) as s:
        depts = dict(s.execute(select(Department.id, Department.code)).all())
    # the department with the most reviewed results waiting (the history leaves overdue ones)
    dept = max(depts, key=lambda d: len(rs.publication_queue(db, d, today)))
    queue = rs.publication_queue(db, dept, today)
    assert queue and any(r["overdue"] for r in queue)
    at = _open(_app(), "publication.py")
    at.selectbox(key="pub_as").set_value(dept)
    _rerun(at)
    df = at.dataframe[0].value
    assert list(df["任务编号"]) == [r["task_id"] for r in queue]
    assert "已逾期" in set(df["状态"])
    assert {m.label: m.value for m in at.metric}["已逾期"] == str(sum(r["overdue"] for r in queue))
    tid = queue[0]["task_id"]
    at.selectbox(key="pub_pick").set_value(tid)
    _rerun(at)
    at.button(key="pub_go").click()
    _rerun(at)
    assert any("已公示" in s.value for s in at.success), [e.value for e in at.error]
    with Session(db) as s:
        assert {r.status for r in s.execute(select(ItemResult).where(ItemResult.task_id == tid,
                                                                      ItemResult.department_id == dept)).scalars()} == {lc.PUBLISHED}

    fus = rs.follow_ups(db, department_id=dept)
    if not fus:  # the follow-ups of the history may belong to another department
        dept = next(d for d in depts if rs.follow_ups(db, department_id=d))
        at.selectbox(key="pub_as").set_value(dept)
        _rerun(at)
        fus = rs.follow_ups(db, department_id=dept)
    fid = fus[0]["id"]
    at.selectbox(key="pub_fu_pick").set_value(fid)
    at.text_input(key="pub_fu_outcome").set_value("已整改，复查合格")
    _rerun(at)
    at.button(key="pub_fu_close").click()
    _rerun(at)
    # A follow-up closes on its record (责令整改 and a published re-check, docs/follow-up.md), not on words.
    assert any("尚不能办结" in e.value for e in at.error), [e.value for e in at.error]
    with Session(db) as s:
        assert s.get(FollowUp, fid).status == "open"


def test_dashboard_metrics_and_charts(db):
    at = _app()  # home is the default page
    metrics = {m.label: m.value for m in at.metric}
    for label in ("本月抽取", "逾期未公示任务", "3个工作日内到期", "后续处置办理中", "计划完成率", "名录库已检查占比",
                  "联合抽查占比", "联合抽查减少入户", "公示率", "按期公示率", "个案/专项检查", "检查对象"):
        assert label in metrics, label
    assert metrics["计划完成率"].endswith("%") and metrics["公示率"].endswith("%")
    assert metrics["个案/专项检查"] == "1 / 0"
    assert metrics["检查对象"] == "1,500"
    assert int(metrics["逾期未公示任务"]) >= 1
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 6
    # The year's figures are cached until the data changes (the newest audit event): a new
    # special check shows on the next visit, with no waiting for a timer.
    from sqlalchemy import select

    from db.models import Department, Enterprise, Inspector
    from scheduler.access.context import CLI

    with db.connect() as c:
        uscc = c.execute(select(Enterprise.uscc).where(Enterprise.status == "存续").order_by(Enterprise.uscc).limit(1)).scalar()
        pair = list(c.execute(select(Inspector.inspector_id).join(Department, Department.id == Inspector.department_id)
                              .where(Department.code == "SCJGJ", Inspector.active).order_by(Inspector.inspector_id)
                              .limit(2)).scalars())
    _rerun(at)
    assert {m.label: m.value for m in at.metric}["个案/专项检查"] == "1 / 0"  # cached, unchanged
    rs.record_case_task(db, uscc, "special", ["SC-04"], "SCJGJ", "专项检查：节前食品安全", CLI, inspectors=pair)
    _rerun(at)
    assert {m.label: m.value for m in at.metric}["个案/专项检查"] == "1 / 1"
    assert any(list(d.value.columns)[:2] == ["部门代码", "部门名称"] for d in at.dataframe)
