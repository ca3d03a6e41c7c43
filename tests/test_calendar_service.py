"""The working-day calendar in the database: seeding, two-person entry and
confirmation, audit events, the cached calendar; `dsr deadline` and
`dsr calendar` as a user runs them; the 工作日历 page."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import func, select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest
from tests.ui_steps import login as ui_login

from db.engine import make_engine
from db.models import AuditEvent, CalendarDay, CalendarYear
from scheduler.calendar import service as cal
from scheduler.access.context import Actor
from scheduler.calendar.workdays import MissingYear
from test_workdays import HOLIDAYS_2027, WORKDAYS_2027

D = dt.date
ALICE = Actor("张管理", "admin")
BOB = Actor("李管理", "admin")
NOTICE = "国办发明电〔2026〕9号"


def _actions(engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        return [tuple(r) for r in s.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.object).order_by(AuditEvent.id))]


def test_seed_is_idempotent_and_audited(engine):
    added = cal.seed_from_package(engine)
    assert added == list(range(2004, 2027))
    assert cal.seed_from_package(engine) == []
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(CalendarYear)).scalar_one() == 23
        n_days = s.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
        oct1 = s.get(CalendarDay, D(2025, 10, 1))
        sep28 = s.get(CalendarDay, D(2025, 9, 28))
    assert 700 < n_days < 900
    assert (oct1.kind, oct1.name) == ("holiday", "国庆节")
    assert sep28.kind == "workday" and "国庆节" in sep28.name
    assert _actions(engine) == [("calendar.seed", "system", "calendar:2004-2026")]
    assert cal.deadline(engine, D(2025, 9, 28)) == D(2025, 10, 31)
    assert cal.deadline(engine, D(2025, 9, 30), days=20) == D(2025, 11, 4)
    assert cal.first_working_day(engine, 2025, 10) == D(2025, 10, 9)
    years = cal.list_years(engine)
    assert years[0].year == 2026 and years[0].status == "package" and years[0].status_label.startswith("内置")


def test_empty_database_counts_nothing(engine):
    with pytest.raises(MissingYear, match="2025 年"):
        cal.deadline(engine, D(2025, 3, 1))


def test_entered_year_needs_a_second_administrator(engine):
    cal.seed_from_package(engine)
    with pytest.raises(MissingYear, match="2027 年的节假日安排尚未录入并确认"):
        cal.deadline(engine, D(2026, 12, 15))

    info = cal.enter_year(engine, 2027, HOLIDAYS_2027, WORKDAYS_2027, NOTICE, ALICE)
    assert (info.status, info.entered_by, info.holidays, info.workdays) == ("entered", ALICE.name, 31, 6)
    # Entered but not confirmed: still an error.
    with pytest.raises(MissingYear, match="2027 年"):
        cal.deadline(engine, D(2026, 12, 15))
    # The same person cannot confirm their own entry.
    with pytest.raises(cal.CalendarError, match="录入人与确认人不能为同一人"):
        cal.confirm_year(engine, 2027, Actor(ALICE.name, "admin"))
    assert cal.year_info(engine, 2027).status == "entered"

    info = cal.confirm_year(engine, 2027, BOB)
    assert (info.status, info.confirmed_by) == ("confirmed", BOB.name)
    assert cal.deadline(engine, D(2026, 12, 15)) == D(2027, 1, 13)
    assert cal.deadline(engine, D(2027, 9, 30), days=3) == D(2027, 10, 11)
    with pytest.raises(MissingYear, match="2028 年"):
        cal.deadline(engine, D(2027, 12, 20))

    acts = _actions(engine)
    assert acts[1:] == [("calendar.enter", ALICE.name, "calendar:2027"), ("calendar.confirm", BOB.name, "calendar:2027")]
    days = cal.year_days(engine, 2027)
    assert days[0].day == D(2027, 1, 1) and days[0].notice == NOTICE
    assert {d.kind_label for d in days} == {"放假", "调休上班"}

    # A confirmed year is not entered again, nor confirmed twice.
    with pytest.raises(cal.CalendarError, match="已确认"):
        cal.enter_year(engine, 2027, HOLIDAYS_2027, WORKDAYS_2027, NOTICE, BOB)
    with pytest.raises(cal.CalendarError, match="已由"):
        cal.confirm_year(engine, 2027, Actor("王管理"))


def test_reentry_replaces_and_confirmation_needs_someone_else(engine):
    cal.seed_from_package(engine)
    cal.enter_year(engine, 2027, HOLIDAYS_2027[:1], [], NOTICE, ALICE)
    cal.enter_year(engine, 2027, HOLIDAYS_2027, WORKDAYS_2027, NOTICE, BOB)
    assert len(cal.year_days(engine, 2027)) == 37
    # Bob entered last, so Bob cannot confirm; Alice can.
    with pytest.raises(cal.CalendarError):
        cal.confirm_year(engine, 2027, BOB)
    assert cal.confirm_year(engine, 2027, ALICE).status == "confirmed"


def test_entry_is_checked(engine):
    cal.seed_from_package(engine)
    with pytest.raises(cal.CalendarError, match="通知文号"):
        cal.enter_year(engine, 2027, HOLIDAYS_2027, WORKDAYS_2027, "  ", ALICE)
    with pytest.raises(cal.CalendarError, match="不是周末"):
        cal.enter_year(engine, 2027, HOLIDAYS_2027, [D(2027, 2, 3)], NOTICE, ALICE)
    with pytest.raises(cal.CalendarError, match="内置"):
        cal.enter_year(engine, 2026, HOLIDAYS_2027, [], NOTICE, ALICE)
    with pytest.raises(cal.CalendarError, match="尚未录入"):
        cal.confirm_year(engine, 2028, BOB)
    assert cal.year_info(engine, 2027) is None
    assert [a for a, _, _ in _actions(engine)] == ["calendar.seed"]


def test_cached_calendar_sees_another_process_change(db_url):
    # Two engines on one database stand for two processes.
    e1, e2 = make_engine(db_url), make_engine(db_url)
    try:
        cal.seed_from_package(e1)
        with Session(e1) as s:
            first = cal.load_calendar(s)
            assert cal.load_calendar(s) is first  # cached
        cal.enter_year(e2, 2027, HOLIDAYS_2027, WORKDAYS_2027, NOTICE, ALICE)
        cal.confirm_year(e2, 2027, BOB)
        with Session(e1) as s:
            again = cal.load_calendar(s)
        assert again is not first and 2027 in again.years and 2027 not in first.years
    finally:
        e1.dispose()
        e2.dispose()


def test_parse_schedule():
    holidays, workdays = cal.parse_schedule(
        {"holidays": [{"start": "2027-01-01", "end": "2027-01-03", "name": "元旦"}, ["2027-02-05", "2027-02-11", "春节"]],
         "workdays": ["2027-01-31"]}
    )
    assert holidays == [(D(2027, 1, 1), D(2027, 1, 3), "元旦"), (D(2027, 2, 5), D(2027, 2, 11), "春节")]
    assert workdays == [D(2027, 1, 31)]
    with pytest.raises(cal.CalendarError, match="YYYY-MM-DD"):
        cal.parse_schedule({"holidays": [], "workdays": ["2027/01/31"]})


# --- CLI -------------------------------------------------------------------------------


def _dsr(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSR_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_deadline_enter_confirm(sqlite_url, tmp_path):
    r = _dsr(sqlite_url, "deadline", "2025-09-28")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "2025-10-31\n"
    r = _dsr(sqlite_url, "deadline", "2025-09-30", "--days", "5")
    assert r.stdout == "2025-10-14\n"

    r = _dsr(sqlite_url, "deadline", "2026-12-15")
    assert r.returncode != 0 and r.stdout == ""
    assert "2027 年的节假日安排尚未录入并确认" in r.stderr
    r = _dsr(sqlite_url, "deadline", "2025-02-30")
    assert r.returncode != 0 and "YYYY-MM-DD" in r.stderr

    f = tmp_path / "2027.json"
    f.write_text(json.dumps({
        "holidays": [{"start": a.isoformat(), "end": b.isoformat(), "name": n} for a, b, n in HOLIDAYS_2027],
        "workdays": [w.isoformat() for w in WORKDAYS_2027],
    }, ensure_ascii=False), encoding="utf-8")
    # The CLI acts as named accounts (--as): two administrators, and an auditor who may do neither.
    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.accounts.service import add_user

    eng = make_engine(sqlite_url)
    upgrade(eng)
    for user, role in (("zhang", "admin"), ("li", "admin"), ("zhao", "auditor")):
        add_user(eng, user, role, "correct-horse-battery-9")
    eng.dispose()
    enter = ("calendar", "enter", "2027", "--file", str(f), "--notice", NOTICE)
    r = _dsr(sqlite_url, *enter, "--as", "nobody")
    assert r.returncode == 2 and "账号“nobody”不存在或已停用" in r.stderr
    r = _dsr(sqlite_url, *enter, "--as", "zhao")
    assert r.returncode == 2 and "审计人员无权录入节假日安排" in r.stderr
    r = _dsr(sqlite_url, *enter)
    assert r.returncode == 2 and "请用 --as 指明操作的账号" in r.stderr
    r = _dsr(sqlite_url, *enter, "--as", "zhang")
    assert r.returncode == 0, r.stderr
    assert "已录入 2027 年" in r.stdout
    # One person cannot play both parts, neither under --as nor under the old --by (also an account now).
    r = _dsr(sqlite_url, "calendar", "confirm", "2027", "--as", "zhang")
    assert r.returncode != 0 and "录入人与确认人不能为同一人" in r.stderr
    r = _dsr(sqlite_url, "calendar", "confirm", "2027", "--by", "zhang")
    assert r.returncode != 0 and "录入人与确认人不能为同一人" in r.stderr and "--by 已停用" in r.stderr
    r = _dsr(sqlite_url, "calendar", "confirm", "2027", "--by", "李管理")
    assert r.returncode == 2 and "账号“李管理”不存在或已停用" in r.stderr
    r = _dsr(sqlite_url, "calendar", "confirm", "2027", "--as", "li")
    assert r.returncode == 0, r.stderr
    assert "录入人 zhang，确认人 li" in r.stdout
    r = _dsr(sqlite_url, "deadline", "2026-12-15")
    assert (r.returncode, r.stdout) == (0, "2027-01-13\n")
    r = _dsr(sqlite_url, "calendar", "show", "2027")
    assert r.returncode == 0 and "已确认" in r.stdout and NOTICE in r.stdout and "2027-10-09" in r.stdout


# --- UI ----------------------------------------------------------------------------------

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def test_calendar_page_enter_and_confirm(sqlite_url, monkeypatch):
    from ui import nav

    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    def calendar_page(user: str) -> AppTest:
        at = ui_login(AppTest.from_file(APP, default_timeout=60), user)
        at.switch_page(nav.page_path("calendar.py")).run()
        assert not at.exception, at.exception
        return at

    try:
        at = calendar_page("张管理")  # this administrator enters
        years = at.dataframe[0].value
        assert list(years["年份"])[:2] == [2026, 2025]

        at.number_input(key="cal_enter_year").set_value(2027)
        at.text_input(key="cal_enter_notice").set_value(NOTICE)
        at.text_area(key="cal_enter_holidays").set_value(
            "\n".join(f"{a.isoformat()},{b.isoformat()},{n}" for a, b, n in HOLIDAYS_2027)
        )
        at.text_area(key="cal_enter_workdays").set_value("\n".join(w.isoformat() for w in WORKDAYS_2027))
        at.button(key="cal_enter_submit").click().run()
        assert not at.exception, at.exception
        assert any("已录入 2027 年" in s.value for s in at.success), [e.value for e in at.error]

        at.selectbox(key="cal_confirm_year").set_value(2027)
        at.button(key="cal_confirm_submit").click().run()
        assert any("录入人与确认人不能为同一人" in e.value for e in at.error)
        at = calendar_page("李管理")  # another administrator logs in and confirms
        at.selectbox(key="cal_confirm_year").set_value(2027)
        at.button(key="cal_confirm_submit").click().run()
        assert not at.exception, at.exception
        assert any("已确认 2027 年" in s.value for s in at.success)
    finally:
        st.cache_resource.clear()
    eng = make_engine(sqlite_url)
    try:
        assert cal.year_info(eng, 2027).status == "confirmed"
        assert cal.deadline(eng, D(2026, 12, 15)) == D(2027, 1, 13)
    finally:
        eng.dispose()
