"""后续处置 page, driven with AppTest on the demo with its history: open follow-ups with their deadlines,
a rectification order recorded with its re-check task, closing refused until the record is complete,
certificates about to expire."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select, update
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Department, FollowUp, FollowUpStep, Inspector, Task
from scheduler.demo.history import create_history
from scheduler.demo.service import create_demo
from scheduler.results import service as rs
from tests.ui_steps import login as ui_login, open_page, rerun, use_copy

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uifu") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    create_demo(eng, 1500, seed=11)
    create_history(eng, rs.local_today(), seed=11, rounds=1)
    eng.dispose()
    return path


@pytest.fixture
def db(base_db, tmp_path, monkeypatch):
    eng = make_engine(use_copy(base_db, tmp_path, monkeypatch))
    yield eng
    eng.dispose()


def test_follow_up_page_records_a_rectification_and_refuses_an_early_close(db):
    today = rs.local_today()
    with Session(db) as s:
        scjgj = s.execute(select(Department.id).where(Department.code == "SCJGJ")).scalars().first()
        fid = s.execute(select(FollowUp.id).where(FollowUp.status == "open", FollowUp.department_id == scjgj)
                        .order_by(FollowUp.id)).scalars().first()
        soon = s.execute(select(Inspector).where(Inspector.active.is_(True)).order_by(Inspector.id)).scalars().first()
        s.execute(update(Inspector).where(Inspector.id == soon.id).values(cert_valid_until=today + dt.timedelta(days=10)))
        s.commit()
        soon_id = soon.inspector_id
    assert fid is not None
    st.cache_resource.clear()
    st.cache_data.clear()
    at = ui_login(AppTest.from_file(APP, default_timeout=90))  # 首页 warns 30 days ahead
    assert any("执法证 30 日内到期或已过期 1 人" in w.value for w in at.warning), [w.value for w in at.warning]
    at = open_page(at, "followup.py")
    at.selectbox(key="fu_as").set_value(scjgj)
    rerun(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["办理中"]) >= 1 and "列入经营异常名录" in metrics
    at.selectbox(key="fu_pick").set_value(fid)
    rerun(at)
    at.button(key="fu_close").click()
    rerun(at)
    assert any("尚不能办结" in e.value for e in at.error), [e.value for e in at.error]
    at.selectbox(key="fu_kind").set_value("rectify")
    rerun(at)
    at.text_input(key="fu_doc").set_value("京平市监责改〔2026〕88号")
    rerun(at)
    at.button(key="fu_record").click()
    rerun(at)
    assert any("复查任务" in m.value for m in at.success), [e.value for e in at.error]
    with Session(db) as s:
        st_ = s.execute(select(FollowUpStep).where(FollowUpStep.follow_up_id == fid)).scalar_one()
        assert st_.kind == "rectify" and st_.doc_no == "京平市监责改〔2026〕88号"
        assert s.get(Task, st_.recheck_task_id).kind == "recheck"
    certs = next(d.value for d in at.dataframe if "执法证号" in d.value.columns)
    assert soon_id in list(certs["人员编号"])
