"""The pure working-day calendar (scheduler/calendar/workdays.py)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.calendar import workdays as wd
from scheduler.calendar.workdays import (
    MissingYear,
    WorkdayCalendar,
    add_working_days,
    deadlines,
    first_working_day,
    from_package,
    is_working_day,
    working_days_between,
)

D = dt.date
CAL = from_package()

# A plausible 2027 schedule, as an administrator would enter it from the notice.
HOLIDAYS_2027 = [
    (D(2027, 1, 1), D(2027, 1, 3), "元旦"),
    (D(2027, 2, 5), D(2027, 2, 11), "春节"),
    (D(2027, 4, 3), D(2027, 4, 5), "清明节"),
    (D(2027, 5, 1), D(2027, 5, 5), "劳动节"),
    (D(2027, 6, 9), D(2027, 6, 11), "端午节"),
    (D(2027, 9, 15), D(2027, 9, 17), "中秋节"),
    (D(2027, 10, 1), D(2027, 10, 7), "国庆节"),
]
WORKDAYS_2027 = [D(2027, 1, 31), D(2027, 2, 20), D(2027, 4, 25), D(2027, 5, 8), D(2027, 9, 26), D(2027, 10, 9)]


def with_2027() -> WorkdayCalendar:
    specs = [s for y in range(2004, 2027) for s in wd.package_schedule(y)]
    specs += wd.expand_schedule(HOLIDAYS_2027, WORKDAYS_2027)
    return wd.from_specs(range(2004, 2028), specs)


@pytest.mark.parametrize(
    "completed, expected",
    [
        # National Day 2025 (Oct 1-8 off; Sun 28 Sep and Sat 11 Oct are working days).
        (D(2025, 9, 28), D(2025, 10, 31)),
        (D(2025, 9, 30), D(2025, 11, 4)),
        (D(2025, 9, 26), D(2025, 10, 30)),
        # Spring Festival 2024 (Feb 10-17 off; Sun 4 Feb and Sun 18 Feb working).
        (D(2024, 2, 2), D(2024, 3, 6)),
        (D(2024, 2, 4), D(2024, 3, 7)),
        (D(2024, 2, 18), D(2024, 3, 15)),
        # Spring Festival 2025 (Jan 28 - Feb 4 off; Sun 26 Jan and Sat 8 Feb working).
        (D(2025, 1, 24), D(2025, 2, 27)),
        (D(2025, 1, 26), D(2025, 2, 28)),
        (D(2025, 2, 8), D(2025, 3, 7)),
        # Spring Festival 2026 (Feb 15-23 off; Sat 14 Feb and Sat 28 Feb working).
        (D(2026, 2, 12), D(2026, 3, 18)),
        (D(2026, 2, 13), D(2026, 3, 19)),
        # Labour Day 2025 (May 1-5 off; Sun 27 Apr working).
        (D(2025, 4, 25), D(2025, 5, 27)),
        # An ordinary month: 20 working days after Wed 5 Mar 2025 is Wed 2 Apr.
        (D(2025, 3, 5), D(2025, 4, 2)),
    ],
)
def test_deadline_cases(completed, expected):
    assert add_working_days(CAL, completed, 20) == expected
    assert working_days_between(CAL, completed, expected) == 20
    assert deadlines(CAL, np.array([completed], dtype="datetime64[D]"))[0] == np.datetime64(expected)


def test_make_up_days_are_working_days_and_holidays_are_not():
    for d in (D(2025, 9, 28), D(2025, 10, 11), D(2024, 2, 4), D(2024, 2, 18), D(2025, 1, 26), D(2025, 2, 8),
              D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2025, 4, 27)):
        assert d.weekday() >= 5 and is_working_day(CAL, d), d
    for d in (D(2025, 10, 1), D(2025, 10, 8), D(2024, 2, 12), D(2025, 2, 4), D(2026, 2, 23), D(2025, 5, 5)):
        assert d.weekday() < 5 and not is_working_day(CAL, d), d
    assert not is_working_day(CAL, D(2025, 3, 8))  # ordinary Saturday
    assert is_working_day(CAL, D(2025, 3, 7))


def test_window_into_a_missing_year_is_an_error_naming_it():
    with pytest.raises(MissingYear) as e:
        add_working_days(CAL, D(2026, 12, 15), 20)
    assert e.value.year == 2027
    assert str(e.value) == "2027 年的节假日安排尚未录入并确认，无法计算工作日"
    with pytest.raises(MissingYear, match="2027 年"):
        deadlines(CAL, np.array(["2026-06-01", "2026-12-15"], dtype="datetime64[D]"))
    out = deadlines(CAL, np.array(["2026-06-01", "2026-12-15"], dtype="datetime64[D]"), on_missing="nat")
    assert out[0] == np.datetime64("2026-06-30")  # Fri 19 Jun: 端午节 and np.isnat(out[1])
    # Early December still fits in 2026.
    assert add_working_days(CAL, D(2026, 12, 1), 20) == D(2026, 12, 29)
    with pytest.raises(MissingYear, match="2003 年"):
        is_working_day(CAL, D(2003, 12, 31))
    with pytest.raises(MissingYear, match="2027 年"):
        working_days_between(CAL, D(2026, 12, 30), D(2027, 1, 5))
    with pytest.raises(MissingYear):
        from_package([2027])


def test_entered_year_counts_once_in_the_calendar():
    cal = with_2027()
    assert add_working_days(cal, D(2026, 12, 15), 20) == D(2027, 1, 13)
    # 2027-10: Oct 1-7 off, Sat 9 Oct working.
    assert first_working_day(cal, 2027, 10) == D(2027, 10, 8)
    assert add_working_days(cal, D(2027, 9, 30), 3) == D(2027, 10, 11)
    with pytest.raises(MissingYear, match="2028 年"):
        add_working_days(cal, D(2027, 12, 20), 20)


@pytest.mark.parametrize(
    "year, month, expected",
    [
        (2025, 10, D(2025, 10, 9)),
        (2026, 1, D(2026, 1, 4)),  # Sun 4 Jan 2026 is a make-up working day
        (2025, 2, D(2025, 2, 5)),
        (2025, 1, D(2025, 1, 2)),
        (2024, 10, D(2024, 10, 8)),
        (2025, 5, D(2025, 5, 6)),
        (2026, 3, D(2026, 3, 2)),  # starts on a Sunday
        (2024, 2, D(2024, 2, 1)),
    ],
)
def test_first_working_day(year, month, expected):
    assert first_working_day(CAL, year, month) == expected


def test_validate_schedule_messages():
    assert wd.validate_schedule(2027, HOLIDAYS_2027, WORKDAYS_2027) == []
    problems = wd.validate_schedule(
        2027,
        [(D(2027, 2, 5), D(2027, 2, 3), "春节"), (D(2028, 1, 1), D(2028, 1, 1), "元旦")],
        [D(2027, 2, 3), D(2027, 2, 6)],
    )
    text = "；".join(problems)
    assert "结束日期" in text and "不在 2027 年" in text and "不是周末" in text
    assert wd.validate_schedule(2027, [], []) == ["至少应录入一个放假安排"]


def test_calendar_rejects_days_outside_its_years_and_overlaps():
    with pytest.raises(ValueError):
        WorkdayCalendar([2025], [D(2026, 1, 1)], [])
    with pytest.raises(ValueError):
        WorkdayCalendar([2025], [D(2025, 1, 1)], [D(2025, 1, 1)])


def test_zero_and_negative_counts():
    assert add_working_days(CAL, D(2025, 10, 1), 0) == D(2025, 10, 1)
    assert deadlines(CAL, np.array(["2025-10-01"], dtype="datetime64[D]"), n=0)[0] == np.datetime64("2025-10-01")
    with pytest.raises(ValueError):
        add_working_days(CAL, D(2025, 10, 1), -1)
    assert working_days_between(CAL, D(2025, 10, 31), D(2025, 9, 28)) == -20


# --- properties ----------------------------------------------------------------------

DATES = st.dates(min_value=D(2003, 6, 1), max_value=D(2027, 6, 30))
# A calendar with a gap (2025 unknown) so that counting through a gap is exercised.
GAPPED = wd.from_specs([2023, 2024, 2026], [s for y in (2023, 2024, 2026) for s in wd.package_schedule(y)])


def _scalar_or_nat(cal: WorkdayCalendar, d: dt.date, n: int) -> np.datetime64:
    try:
        return np.datetime64(add_working_days(cal, d, n), "D")
    except MissingYear:
        return np.datetime64("NaT", "D")


@settings(max_examples=60, deadline=None)
@given(st.lists(DATES, min_size=1, max_size=200), st.integers(min_value=0, max_value=80), st.booleans())
def test_vectorised_equals_scalar(dates, n, gapped):
    cal = GAPPED if gapped else CAL
    arr = np.array(dates, dtype="datetime64[D]")
    got = deadlines(cal, arr, n=n, on_missing="nat")
    want = np.array([_scalar_or_nat(cal, d, n) for d in dates], dtype="datetime64[D]")
    assert np.array_equal(got, want, equal_nan=True)
    missing = [d for d, w in zip(dates, want) if np.isnat(w)]
    if missing:
        years = []
        for d in missing:
            with pytest.raises(MissingYear) as e:
                add_working_days(cal, d, n)
            years.append(e.value.year)
        with pytest.raises(MissingYear) as e:
            deadlines(cal, arr, n=n)
        assert e.value.year == min(years)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 10, 31)), st.integers(min_value=1, max_value=40))
def test_agrees_with_chinese_calendar(d, n):
    # find_workday(k, x) counts from the first working day on or after x, so
    # the n-th working day after d is find_workday(n - 1, d + 1 day).
    assert add_working_days(CAL, d, n) == chinese_calendar.find_workday(n - 1, d + dt.timedelta(days=1))
    assert is_working_day(CAL, d) == chinese_calendar.is_workday(d)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 9, 30)), st.integers(min_value=0, max_value=40))
def test_between_inverts_add(d, n):
    e = add_working_days(CAL, d, n)
    assert working_days_between(CAL, d, e) == n
    assert e == d or is_working_day(CAL, e)


def test_vectorised_million_dates_shape_and_nat():
    rng = np.random.default_rng(7)
    arr = (np.datetime64("2004-01-01") + rng.integers(0, 8300, 1_000_000).astype("timedelta64[D]")).reshape(1000, 1000)
    arr[0, 0] = np.datetime64("NaT")
    out = deadlines(CAL, arr)
    assert out.shape == arr.shape and np.isnat(out[0, 0])
    assert (out[~np.isnat(arr)] > arr[~np.isnat(arr)]).all()


def test_years_needed_reaches_next_year_two_months_ahead():
    from scheduler.calendar.workdays import LOOKAHEAD, years_needed

    assert years_needed(dt.date(2026, 6, 1)) == [2026]
    assert years_needed(dt.date(2027, 1, 1) - LOOKAHEAD) == [2026, 2027]
    assert years_needed(dt.date(2027, 1, 1) - LOOKAHEAD - dt.timedelta(days=1)) == [2026]
    assert years_needed(dt.date(2027, 1, 2)) == [2027]
    # 20 working days after any day of 2004-2025 (the package's years) end within the look-ahead.
    from scheduler.calendar.workdays import add_working_days, from_package

    cal = from_package(range(2004, 2027))
    day, last = dt.date(2004, 1, 1), dt.date(2025, 12, 31)
    longest = dt.timedelta(0)
    while day <= last:
        longest = max(longest, add_working_days(cal, day, 20) - day)
        day += dt.timedelta(days=1)
    assert dt.timedelta(days=28) <= longest <= LOOKAHEAD
