"""Pure schedule computations: periods, first working days across holidays, cron, errors."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plans import schedules as S
from scheduler.calendar import workdays as wd

CAL = wd.from_package(range(2024, 2027))
TZ = S.TZ


def at(*a) -> dt.datetime:
    return dt.datetime(*a, tzinfo=TZ)


def test_default_is_first_working_day_0900():
    assert S.parse("") == S.parse(None) == S.parse("first_working_day 09:00")
    assert S.parse("  ").text == S.DEFAULT_SCHEDULE


def test_first_working_day_after_national_day():
    s = S.parse("")
    t = S.next_run(s, at(2025, 9, 30, 12), CAL)
    assert t == at(2025, 10, 9, 9)
    assert t.isoformat() == "2025-10-09T09:00:00+08:00"
    assert S.period_of(s, t) == "2025-10"


def test_first_working_day_2026_01_is_the_makeup_sunday():
    # 2026-01-01..03 are the New Year holiday; Sunday 2026-01-04 is a make-up working day.
    t = S.next_run(S.parse(""), at(2025, 12, 31, 23, 59), CAL)
    assert t == at(2026, 1, 4, 9)
    assert t.weekday() == 6 and wd.is_working_day(CAL, t.date())


def test_same_day_before_and_after_the_time():
    s = S.parse("first_working_day 14:30")
    assert S.next_run(s, at(2025, 10, 9, 14, 29, 59), CAL) == at(2025, 10, 9, 14, 30)
    assert S.next_run(s, at(2025, 10, 9, 14, 30), CAL) == at(2025, 11, 3, 14, 30)  # strictly after


def test_quarterly():
    s = S.parse("first_working_day_of_quarter 10:00")
    got = S.runs_between(s, at(2025, 1, 1), at(2026, 1, 31), CAL)
    assert got == [at(2025, 1, 2, 10), at(2025, 4, 1, 10), at(2025, 7, 1, 10), at(2025, 10, 9, 10), at(2026, 1, 4, 10)]
    assert [S.period_of(s, t) for t in got] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]


def test_yearly_draws_once_a_year_for_the_year():
    s = S.parse("每年第一个工作日 08:30")
    assert s == S.parse("first_working_day_of_year 08:30") and s.yearly and s.needs_calendar
    got = S.runs_between(s, at(2024, 6, 1), at(2026, 12, 31), CAL)
    # 2026-01-04 is the make-up Sunday after the New Year holiday.
    assert got == [at(2025, 1, 2, 8, 30), at(2026, 1, 4, 8, 30)]
    assert [S.period_of(s, t) for t in got] == ["2025", "2026"]
    assert S.parse(s.describe()) == s


def test_explicit_months_draw_the_listed_months_only():
    s = S.parse("指定月份第一个工作日 11，3、9,3 14:00")
    assert s.months == (3, 9, 11) and s.text == "first_working_day_of_months 3,9,11 14:00"
    got = S.runs_between(s, at(2025, 1, 1), at(2025, 12, 31), CAL)
    assert got == [at(2025, 3, 3, 14), at(2025, 9, 1, 14), at(2025, 11, 3, 14)]
    assert [S.period_of(s, t) for t in got] == ["2025-03", "2025-09", "2025-11"]
    assert S.parse(s.describe()) == s  # the page shows the description and saves it back
    assert S.parse("first_working_day_of_months 10").hour == S.DEFAULT_HOUR
    # The National Day holiday moves October's run to the 9th.
    assert S.next_run(S.parse("first_working_day_of_months 10"), at(2025, 9, 1), CAL) == at(2025, 10, 9, 9)


@pytest.mark.parametrize("text", ["first_working_day_of_months", "first_working_day_of_months 0,3",
                                  "first_working_day_of_months 13", "first_working_day_of_months 三月 09:00",
                                  "first_working_day_of_months 3 09:00 extra", "first_working_day_of_year 9:75"])
def test_bad_month_lists_and_yearly_times_are_named(text):
    errs = S.validate(text)
    assert len(errs) == 1 and "计划时间" in errs[0]
    assert any(w in errs[0] for w in ("无效", "格式错误", "缺少月份"))


def test_missing_year_is_not_guessed():
    with pytest.raises(wd.MissingYear):
        S.next_run(S.parse(""), at(2026, 12, 2), CAL)


def test_cron_in_shanghai_time():
    s = S.parse("0 9 1 * *")
    t = S.next_run(s, dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.timezone.utc), CAL)  # 08:30 in Shanghai
    assert t == at(2026, 3, 1, 9) and t.utcoffset() == dt.timedelta(hours=8)
    assert S.next_run(s, t, CAL) == at(2026, 4, 1, 9)
    assert S.period_of(s, dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.timezone.utc)) == "2026-04"  # local date counts
    mon = S.next_run(S.parse("0 9 * * 1"), at(2026, 1, 1), CAL)
    assert mon.weekday() == 0


def test_at_one_shot():
    s = S.parse("at 2026-11-27T14:05:03+08:00")
    assert S.next_run(s, at(2026, 11, 27, 14), None) == at(2026, 11, 27, 14, 5, 3)
    assert S.next_run(s, at(2026, 11, 27, 14, 5, 3), None) is None
    assert S.period_of(s, s.at) == "2026-11"
    assert S.parse("at 2026-11-27T06:05:03+00:00").at == at(2026, 11, 27, 14, 5, 3)


@pytest.mark.parametrize(
    "text, words",
    [
        ("0 25 * * *", ["小时", "25"]),
        ("0 9 1 13 *", ["月", "13"]),
        ("61 9 1 * *", ["分钟", "61"]),
        ("0 9 1 *", ["5 个 cron 字段"]),
        ("first_working_day 9:75", ["HH:MM"]),
        ("first_working_day 09:00 extra", ["格式错误"]),
        ("at tomorrow", ["ISO"]),
        ("每月一号", ["无法识别"]),
    ],
)
def test_errors_in_chinese(text, words):
    with pytest.raises(S.ScheduleError) as e:
        S.parse(text)
    for w in words:
        assert w in str(e.value)
    assert S.validate(text) == [str(e.value)]


def test_calendar_schedule_needs_a_calendar():
    with pytest.raises(ValueError):
        S.next_run(S.parse(""), at(2025, 1, 1), None)
    with pytest.raises(ValueError):
        S.next_run(S.parse(""), dt.datetime(2025, 1, 1), CAL)  # naive


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 6, 30)),
    st.sampled_from(["", "first_working_day 17:45", "first_working_day_of_quarter 08:00", "30 8 * * 1-5", "0 9 1 */2 *"]),
)
def test_next_run_is_the_first_scheduled_time_after(naive, text):
    s = S.parse(text)
    after = naive.replace(tzinfo=TZ)
    t = S.next_run(s, after, CAL)
    assert t is not None and t > after
    # Nothing scheduled in between: runs_between(after, t) is exactly [t].
    assert S.runs_between(s, after, t, CAL) == [t]
    if s.needs_calendar:
        assert wd.is_working_day(CAL, t.date())
        assert all(wd.is_working_day(CAL, t.date().replace(day=d)) is False for d in range(1, t.day))
    assert S.period_of(s, t).startswith(f"{t.year:04d}-")


@pytest.mark.parametrize(
    "dow, weekdays",
    [("1", {0}), ("0", {6}), ("7", {6}), ("1-5", {0, 1, 2, 3, 4}), ("0-2", {6, 0, 1}), ("6,0", {5, 6}), ("mon,fri", {0, 4})],
)
def test_cron_weekday_field_is_standard(dow, weekdays):
    # Standard cron: 0 and 7 are Sunday, 1 is Monday (APScheduler 3 alone would read 1 as Tuesday).
    s = S.parse(f"0 9 * * {dow}")
    got = {t.weekday() for t in S.runs_between(s, at(2026, 1, 1), at(2026, 1, 31), CAL)}
    assert got == weekdays
