"""首页 (AppTest, the whole app on a real SQLite file with demo data and a month of history): the
month's figures match the services, the year's figures are shown, and a missing holiday schedule
of the year the deadlines will reach is announced until it is entered and confirmed."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from scheduler.calendar import service as cal
from scheduler.demo.history import create_history
from scheduler.results import dashboard as hist
from scheduler.results import service as rs
from scheduler.library.browse import default_bureau
from scheduler.access.context import Actor
from scheduler.demo.service import create_demo
from tests.test_ui_library import APP, TIMEOUT
from tests.ui_steps import login as ui_login, open_page

JUNE = dt.date(2026, 6, 15)
LATE_NOVEMBER = dt.date(2026, 11, 27)


@pytest.fixture
def demo_url(sqlite_url, monkeypatch):
    eng = make_engine(sqlite_url)
    create_demo(eng, 800, seed=3)
    create_history(eng, JUNE, seed=3, months=1, rounds=1)
    eng.dispose()
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield sqlite_url
    st.cache_resource.clear()
    st.cache_data.clear()


def _home(monkeypatch, today: dt.date) -> AppTest:
    monkeypatch.setattr(rs, "local_today", lambda: today)
    at = ui_login(AppTest.from_file(APP, default_timeout=TIMEOUT))
    assert not at.exception, at.exception
    return open_page(at, "home.py")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_home_shows_the_month_and_the_year(demo_url, monkeypatch):
    eng = make_engine(demo_url)
    b = default_bureau(eng)
    month = hist.month_plans(eng, b["id"], dt.date(2026, 5, 20))  # the history drew the month before JUNE
    at = _home(monkeypatch, dt.date(2026, 5, 20))
    assert _metric(at, "本月抽取") == str(len(month)) and len(month) > 0
    assert _metric(at, "本月抽查任务") == str(sum(r["tasks"] for r in month))
    dash = rs.dashboard(eng, b["id"], 2026)
    done, tasks = dash["plan"]["done"], dash["plan"]["tasks"]
    assert _metric(at, "计划完成率") == f"{done / tasks * 100:.1f}%"
    assert any("2026 年度双随机抽查" in m.value for m in at.markdown)
    assert not at.warning  # May: the deadlines stay in 2026, whose schedule the package holds
    # The year's quotas per plan and stratum, as the service counts them, numbers with separators.
    quotas = hist.annual_quotas(eng, b["id"], 2026)
    [shown] = [df.value for df in at.dataframe if "年度抽查数量" in df.value.columns]
    assert len(shown) == len(quotas) > 0
    assert list(shown["年度抽查数量"]) == [f"{r['quota']:,}" for r in quotas]
    assert list(shown["已抽取"]) == [f"{r['drawn']:,}" for r in quotas]
    [caps] = [df.value for df in at.dataframe if "比例上限" in df.value.columns]
    assert all(v.endswith("%") for v in caps["已检查占比"])
    eng.dispose()


def test_home_announces_next_years_missing_holiday_schedule(demo_url, monkeypatch):
    at = _home(monkeypatch, LATE_NOVEMBER)
    assert any("2027 年的节假日安排尚未录入并确认" in w.value for w in at.warning)
    eng = make_engine(demo_url)
    assert cal.missing_years(eng, LATE_NOVEMBER) == [2027]
    # One administrator enters the schedule, another confirms it: the notice goes.
    cal.enter_year(eng, 2027, [(dt.date(2027, 1, 1), dt.date(2027, 1, 1), "元旦")], [], "测试通知", Actor("a1", "admin"))
    assert cal.missing_years(eng, LATE_NOVEMBER) == [2027]  # entered is not enough
    cal.confirm_year(eng, 2027, Actor("a2", "admin"))
    assert cal.missing_years(eng, LATE_NOVEMBER) == []
    eng.dispose()
    at.run()
    assert not any("节假日安排尚未录入" in w.value for w in at.warning)
