"""The app as bureaus use it every day (AppTest, the whole app on a real SQLite demo database):
each role's home, next year's calendar, read-only pages, one language in widget texts."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.accounts.service import ensure_demo_users
from scheduler.demo.history import create_history
from scheduler.demo.service import create_demo
from scheduler.results import service as rs
from tests.test_ui_library import APP, TIMEOUT
from tests.ui_steps import open_page
from ui.auth import SESSION_KEY

OCTOBER = dt.date(2026, 10, 9)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uidaily") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    create_demo(eng, 600, seed=5)
    create_history(eng, dt.date(2026, 9, 15), seed=5, months=1, rounds=1)
    ensure_demo_users(eng, must_change=False)
    eng.dispose()
    return path


@pytest.fixture
def app(base_db, tmp_path, monkeypatch):
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db.read_bytes())
    monkeypatch.setenv("DSR_DATABASE_URL", f"sqlite:///{p}")
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()

    def run_as(username: str, today: dt.date = OCTOBER) -> AppTest:
        monkeypatch.setattr(rs, "local_today", lambda: today)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state[SESSION_KEY] = username
        at.run()
        assert not at.exception, at.exception
        return at

    yield run_as
    st.cache_resource.clear()
    st.cache_data.clear()


def _texts(at: AppTest) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(t.value for t in at.title), *(c.value for c in at.caption),
                      *(w.value for w in at.warning), *(i.value for i in at.info), *(s.value for s in at.subheader)])


def test_planner_home_announces_next_year_from_october_and_who_can_enter_it(app):
    at = app("planner", OCTOBER)
    warn = " ".join(w.value for w in at.warning)
    assert "2027 年的节假日安排尚未录入并确认" in warn
    assert "演示管理员" in warn and "演示管理员（复核）" in warn  # who can enter and confirm it
    assert "待录入下一年度工作日历" in warn
    assert not app("planner", dt.date(2026, 9, 20)).warning  # September: not yet


def test_auditor_reads_the_calendar_without_entry_forms(app):
    at = open_page(app("auditor"), "calendar.py")
    assert not at.exception
    assert any("只读" in i.value for i in at.info)
    assert not [b for b in at.button if b.label in ("录入", "确认")]


def test_deadline_in_next_year_reads_as_waiting_for_the_calendar(app):
    at = open_page(app("admin", dt.date(2026, 12, 20)), "calendar.py")
    assert any("待录入下一年度工作日历" in w.value for w in at.warning)  # 20 working days from today reach 2027
    assert not at.error


def test_inspector_home_is_my_tasks_not_the_dashboard(app):
    at = app("inspector")
    assert [t.value for t in at.title] == ["我的任务"]
    assert not any("年度双随机抽查" in m.value for m in at.markdown)  # none of the bureau's figures
    assert "风险" not in _texts(at)
    assert "演示执法检查人员" in _texts(at)  # by name
    frames = [d.value for d in at.dataframe]
    if frames:  # the demo inspector's tasks: entity names and addresses
        assert {"企业名称", "地址"} <= set(frames[0].columns)
        assert not frames[0]["地址"].isin(["None", "nan", ""]).any()


def test_sidebar_shows_people_by_name(app):
    at = app("reviewer")
    assert any("当前用户：演示审核人员（区市场监管局）（审核人员）" in c.value for c in at.sidebar.caption)


def test_draw_page_offers_the_plans_periods_and_confirms_a_normalised_seed(app):
    at = open_page(app("planner", dt.date(2026, 12, 5)), "draw.py")
    at.selectbox(key="draw_plan").select("PG-2026-GS")
    at.run()
    options = at.selectbox(key="draw_period").options
    assert options[0] == "2026-01" and options[-1] == "2026-12" and "2025-12" not in options
    at.selectbox(key="draw_period").select("2026-12")
    at.run()
    freeze = [b for b in at.button if b.key == "draw_freeze"]
    if freeze:
        freeze[0].click()
        at.run()
    seed_box = [t for t in at.text_input if t.key == "draw_seed"]
    assert seed_box, "the seed step is shown once the frame is frozen"
    seed_box[0].input("２７１８ 2818-2845 9045 2353 6028 74")  # read aloud, typed with spaces and full-width digits
    at.run()
    assert not at.error
    assert any("已将录入内容规范为 26 位数字：27182818284590452353602874" in i.value for i in at.info)
    assert at.button(key="draw_go").disabled  # until the witnesses confirm the canonical form
    at.checkbox(key="draw_seed_confirm").check()
    at.run()
    assert not at.button(key="draw_go").disabled


def test_home_task_counts_have_whole_step_axes(app):
    import json

    at = app("planner", dt.date(2026, 9, 20))  # the history's month: its draws and deadlines are charted
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    specs = [json.loads(c.proto.spec) for c in charts]
    axes = [s["encoding"]["x"].get("axis") or {} for s in specs
            if s.get("encoding", {}).get("x", {}).get("field") == "任务数"]
    assert axes and all(a.get("format") == "d" and a.get("tickMinStep") == 1 for a in axes), axes


# --- no "None", "nan", "NaT", "<NA>" or raw floats in any table or metric ------------------------------------

BAD_VALUES = {"None", "none", "nan", "NaN", "NaT", "<NA>", "null", "inf", "-inf"}


def _bad_values(at: AppTest) -> list[str]:
    """Cells the browser would draw as None/nan/NaT (a missing value) or that read so, and metrics likewise.
    (The browser walk, tests/e2e/test_daily_browser.py, sees the text; the drawn "None" of a missing
    value is not in the page's text, so it is caught here, on the data the page sends.)"""
    import re

    raw_float = re.compile(r"^-?[\d,]*\.\d{5,}%?$")
    out = []
    for d in at.dataframe:
        df = d.value
        for col in df.columns:
            s = df[col]
            if s.isna().any():
                out.append(f"{col}: missing value")
            texts = s.dropna().astype(str)
            bad = texts[texts.isin(BAD_VALUES) | texts.str.match(raw_float)]
            out += [f"{col}: {v}" for v in bad.unique()[:3]]
    for m in at.metric:
        v = str(m.value)
        if v in BAD_VALUES or raw_float.match(v):
            out.append(f"metric {m.label}: {v}")
    return out


@pytest.mark.parametrize("role", ["admin", "planner", "inspector", "reviewer", "auditor"])
def test_no_empty_words_or_raw_floats_in_tables_or_metrics(app, role):
    import os

    from scheduler.accounts.service import actor_of
    from ui import auth, nav

    at = app(role)
    eng = make_engine(os.environ["DSR_DATABASE_URL"])
    actor = actor_of(eng, role)
    eng.dispose()
    found = {}
    for _section, script, _title, _icon in nav.PAGES:
        if not auth.page_visible(actor, nav.page_path(script)):
            continue
        at = open_page(at, script)
        if bad := _bad_values(at):
            found[script] = bad
    assert not found, f"{role}: {found}"
