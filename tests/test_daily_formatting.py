"""Numbers, times, industries and authorities as people read them (ui/formatting.py, the public record)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st_

from scheduler.demo.pinggu import department_legal_names
from ui import formatting as fmt


def test_working_days_left_reads_as_a_count_or_as_overdue():
    assert fmt.working_days_left(19) == "19"
    assert fmt.working_days_left(-19.0) == "已超期 19 个工作日"
    assert fmt.working_days_left(-3) == "已超期 3 个工作日"
    assert fmt.working_days_left(0) == "0（今日截止）"
    for empty in (None, float("nan"), "None", "nan", ""):
        assert fmt.working_days_left(empty) == "—"


@given(st_.integers(min_value=-10**9, max_value=10**9))
def test_numbers_have_thousands_separators_and_no_decimals_when_whole(n):
    s = fmt.number(n)
    assert s.replace(",", "").lstrip("-") == str(abs(n)) and "." not in s
    assert all(len(g) == 3 for g in s.lstrip("-").split(",")[1:])


def test_percent_one_decimal_and_empty_values():
    assert fmt.percent(0.1234) == "12.3%"
    assert fmt.percent(1) == "100.0%"
    assert fmt.percent(None) == "—" and fmt.text(float("nan")) == "—" and fmt.text("None") == "—"


def test_times_are_shown_in_beijing_time():
    utc = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.timezone.utc)
    assert fmt.beijing(utc) == "2027-01-01 01:30"  # the next day in Beijing
    assert fmt.beijing(utc.replace(tzinfo=None)) == "2027-01-01 01:30"  # stored naive = UTC


def test_industries_carry_their_gbt4754_section_names():
    assert fmt.industry("F") == "F 批发和零售业"
    assert fmt.industry("H6210") == "H6210（住宿和餐饮业）"
    assert len(fmt.INDUSTRY_SECTIONS) == 20


def test_demo_departments_have_legal_names():
    names = department_legal_names()
    assert names["SCJGJ"] == "北京市平谷区市场监督管理局"
    assert department_legal_names("密云")["SCJGJ"] == "北京市密云区市场监督管理局"


def test_public_record_names_the_authority_by_its_legal_name(engine):
    from scheduler.results import service as rs
    from tests.test_export import Published

    Published(engine)
    authorities = {r["检查实施机关"] for r in rs.published_results(engine).rows}
    assert "北京市平谷区市场监督管理局" in authorities
    assert authorities <= set(department_legal_names().values())


def test_seeds_read_aloud_are_normalised():
    assert fmt.normalize_digits("3141 5926-5358 9793 2384 6264") == "314159265358979323846264"
    assert fmt.normalize_digits("３１４１５９２６５３５８９７９３２３８４６") == "3141592653589793238 46".replace(" ", "")
    assert fmt.normalize_digits("12a4") == "12a4"  # anything but digits and separators is left for the check


def test_a_plan_offers_only_its_own_periods():
    today = dt.date(2026, 12, 5)
    months = fmt.plan_periods("PG-2026-SP", "2026年度食品安全部门联合抽查", today)
    assert months[0] == "2026-01" and months[-1] == "2026-12" and len(months) == 12 and "2025-12" not in months
    assert fmt.plan_periods("X", "季度抽查", today, quarterly=True)[:4] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert fmt.period_of(today) == "2026-12" and fmt.period_of(today, True) == "2026-Q4"
