"""更正公示结果 (ui/pages/corrections.py) with AppTest on a demo with published results, and
its read service (scheduler/results/corrections.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from db.models import ResultCorrection
from scheduler.results import corrections
from scheduler.accounts import service as users
from scheduler.results import service as rs
from scheduler.access.context import Actor
from scheduler.demo.service import create_demo
from scheduler.demo.history import create_history
from ui import auth, nav
from tests.ui_steps import login as ui_login, rerun as _run, use_copy

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PW = "correct-horse-1"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uicorr") / "base.db"
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
    st.cache_resource.clear()


def _open(script: str = "corrections.py", user: str = "ui", password: str = "ui-test-Passw0rd") -> AppTest:
    at = ui_login(AppTest.from_file(APP, default_timeout=90), user, password, create=user == "ui")
    assert not at.exception, at.exception
    at.switch_page(nav.page_path(script)).run()
    assert not at.exception, at.exception
    return at


def _submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "更正").click().run()
    assert not at.exception, at.exception
    return at


def _with_categories(eng, code: str) -> dict:
    """A published result whose current categories are exactly `code`."""
    return next(r for r in corrections.published(eng, page_size=500).rows if r["categories"] == code)


def test_admin_corrects_a_published_result_with_a_reason(db):
    r = _with_categories(db, "07")  # 发现问题已责令改正
    rid = r["result_id"]
    at = _open()
    at.text_input(key="corr_q").input(r["uscc"]).run()
    assert set(at.dataframe[0].value["统一社会信用代码"]) == {r["uscc"]}
    at.selectbox(key="corr_pick").select(rid)
    _run(at)
    assert any("该结果尚未更正过" in c.value for c in at.caption)
    assert at.multiselect(key=f"corr_cats_{rid}").value == ["07"]
    at.multiselect(key=f"corr_cats_{rid}").set_value(["01"])  # 未发现问题
    # No reason: refused on the page, nothing written.
    _submit(at)
    assert any("请填写更正理由" in e.value for e in at.error)
    at.text_area(key=f"corr_reason_{rid}").input("录入时误选类别，经复核现场检查记录应为未发现问题")
    _submit(at)
    assert any("请勾选确认" in e.value for e in at.error)
    with Session(db) as s:
        assert not s.execute(select(ResultCorrection)).first()
    at.checkbox(key=f"corr_confirm_{rid}").check()
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value == f"检查结果 #{rid} 已更正为“未发现问题”（第 2 版），更正理由已公示"
    hist = next(d.value for d in at.dataframe if "更正理由" in d.value.columns and "更正人员" in d.value.columns)
    assert list(hist["原结果"]) == ["发现问题已责令改正"] and list(hist["更正后结果"]) == ["未发现问题"]
    assert list(hist["公示版本"]) == [2]
    # Stored, and public with its history.
    with Session(db) as s:
        c = s.execute(select(ResultCorrection)).scalar_one()
        assert (c.result_id, c.old_categories, c.new_categories) == (rid, "07", "01")
    pub = next(p for p in rs.public_history(db, r["task_id"]) if p["检查事项"] == r["item_name"])
    assert [h["检查结果"] for h in pub["历次公示"]] == ["发现问题已责令改正", "未发现问题"]
    assert pub["历次公示"][1]["更正理由"].startswith("录入时误选类别")
    # The same correction again is refused by the service, shown in Chinese.
    at.text_area(key=f"corr_reason_{rid}").input("再次更正")
    at.checkbox(key=f"corr_confirm_{rid}").check()
    _submit(at)
    assert any("更正内容与原结果相同" in e.value for e in at.error)


def test_reviewer_sees_only_own_department(db, monkeypatch):
    users.add_user(db, "rev-yj", "reviewer", PW, department="区应急管理局")
    at = _open(user="rev-yj", password=PW)
    df = at.dataframe[0].value
    mine = corrections.published(db, department_id=_dept(db, "区应急管理局"))
    assert len(df) == mine.total > 0 and set(df["检查实施机关"]) == {"区应急管理局"}
    assert at.selectbox(key="corr_pick").value is not None
    assert [b for b in at.button if b.label == "更正"]


def _dept(eng, name: str) -> int:
    from scheduler.library import browse

    return next(i for i, n in browse.departments(eng) if n == name)


def test_auditor_reads_inspector_is_sent_away(db, monkeypatch):
    users.add_user(db, "aud", "auditor", PW)
    at = _open(user="aud", password=PW)
    assert len(at.dataframe[0].value) > 0
    assert any("只能查看更正记录" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "更正"]

    from db.models import Inspector

    with Session(db) as s:
        iid = s.execute(select(Inspector.inspector_id).where(Inspector.active.is_(True))).scalars().first()
    users.add_user(db, "insp", "inspector", PW, inspector=iid)
    at = _open(user="insp", password=PW)
    assert any("本页供各部门审核" in i.value for i in at.info) and not at.dataframe


def test_a_forced_correction_of_another_departments_result_is_refused(db):
    r = next(x for x in corrections.published(db, page_size=500).rows if x["department"] != "区应急管理局")
    reviewer = Actor("rev", "reviewer", 1, _dept(db, "区应急管理局"))
    with pytest.raises(rs.Refused, match="本部门"):
        rs.correct(db, r["result_id"], ["01"], "越权更正", reviewer)


# --- the read service on both back-ends ------------------------------------------------------


def test_published_search_and_history(engine):
    create_demo(engine, 600, seed=5)
    create_history(engine, rs.local_today(), seed=5, rounds=1)
    all_ = corrections.published(engine, page_size=500)
    assert all_.total == len(all_.rows) > 0
    r = all_.rows[0]
    assert corrections.published(engine, q=r["uscc"]).rows[0]["result_id"] in {x["result_id"] for x in all_.rows}
    assert {x["uscc"] for x in corrections.published(engine, q=r["uscc"].lower()).rows} == {r["uscc"]}
    assert all(x["uscc"].startswith(r["uscc"][:8]) or r["uscc"][:8] in (x["name"] or "")
               for x in corrections.published(engine, q=r["uscc"][:8], page_size=500).rows)
    assert r["result_id"] in {x["result_id"] for x in corrections.published(engine, q=r["name"][-4:], page_size=500).rows}
    assert corrections.published(engine, q="%_没有这家").total == 0
    d = corrections.published(engine, department_id=r["department_id"], page_size=500)
    assert {x["department_id"] for x in d.rows} == {r["department_id"]}
    assert corrections.history(engine, r["result_id"]) == []
    new = "01" if r["categories"] != "01" else "07"
    rs.correct(engine, r["result_id"], [new], "复核后更正", Actor("boss", "admin"))
    h = corrections.history(engine, r["result_id"])
    assert len(h) == 1 and h[0]["reason"] == "复核后更正" and h[0]["corrected_by"] == "boss"
    assert corrections.published(engine, q=r["uscc"]).rows[0]["categories"] == new
