"""Working days (工作日) by the State Council holiday schedule, with make-up
working weekends (调休).

A `WorkdayCalendar` knows a set of years. Inside a known year a day is a working
day when it is Monday-Friday and not a statutory holiday, or when it is a
make-up working weekend day. Outside the known years nothing is guessed: every
function that would need such a day raises `MissingYear`.

Counting convention (publication within 20 working days, 公示): the day of
completion is not counted; `add_working_days(cal, d, 20)` is the 20th working
day after `d`. `working_days_between(cal, a, b)` counts the working days in
(a, b], so `working_days_between(cal, d, add_working_days(cal, d, n)) == n`.

Pure: no database, no clock. The service layer builds the calendar from the
database (scheduler/calendar/service.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, NamedTuple

from scheduler.errors import DsrError

if TYPE_CHECKING:
    import numpy as np

ONE_DAY = dt.timedelta(days=1)

# Results are published within 20 working days of the task's completion (the policy text:
# "按照'谁检查、谁录入、谁公开'的原则，在抽查任务完成后 20 个工作日内" 公示).
PUBLICATION_DAYS = 20

HOLIDAY = "holiday"
WORKDAY = "workday"  # make-up working weekend day (调休上班)
MAKEUP_NAME = "调休上班"

# chinese-calendar names its holidays in English; the UI and the database use
# the official Chinese names.
PACKAGE_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


# How far past today the deadlines being set can reach: 20 working days after a completion are
# at most ~6 weeks (a Spring Festival or National Day week inside), plus a margin to enter the
# next year's schedule once the State Council publishes it (usually in November or December).
LOOKAHEAD = dt.timedelta(days=62)


def years_needed(today: dt.date, lookahead: dt.timedelta = LOOKAHEAD) -> list[int]:
    """The years whose schedules the deadlines set from `today` on will soon need: this year, and
    the next one once `today + lookahead` reaches it."""
    return sorted({today.year, (today + lookahead).year})


class MissingYear(DsrError, ValueError):
    """The holiday schedule of `year` is not known (not entered and confirmed)."""

    code = "calendar.missing_year"

    def __init__(self, year: int):
        self.year = year
        super().__init__(f"{year} 年的节假日安排尚未录入并确认，无法计算工作日")


@dataclass(frozen=True)
class DaySpec:
    """One special day of a schedule: a holiday or a make-up working day."""

    day: dt.date
    kind: str  # HOLIDAY / WORKDAY
    name: str


class _Lookup(NamedTuple):
    """The tables of the vectorised `deadlines`."""

    days: np.ndarray  # sorted working days, datetime64[D]
    t0: int  # day number of the lookup tables' first day
    next_idx: np.ndarray
    limit: np.ndarray


@dataclass(frozen=True, eq=False)
class WorkdayCalendar:
    """The working-day calendar of a set of known years."""

    years: frozenset[int]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]  # make-up working weekend days

    def __init__(self, years: Iterable[int], holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()):
        ys = frozenset(int(y) for y in years)
        hs = frozenset(holidays)
        ws = frozenset(workdays)
        if hs & ws:
            raise ValueError(f"既是放假日又是调休上班日：{sorted(hs & ws)[0]}")
        for d in hs | ws:
            if d.year not in ys:
                raise ValueError(f"{d} 不在已知年份内")
        object.__setattr__(self, "years", ys)
        object.__setattr__(self, "holidays", hs)
        object.__setattr__(self, "workdays", ws)

    def lookup(self) -> _Lookup:
        """The tables of `deadlines`, built at its first call: the scalar functions need none, so a
        calendar asked only for a plan's next run (`dsr plans`) never imports numpy."""
        built = self.__dict__.get("_lookup")
        if built is None:
            built = _build_lookup(self.years, self.holidays, self.workdays)
            object.__setattr__(self, "_lookup", built)  # built twice by two threads at worst: the same tables
        return built

    def knows(self, year: int) -> bool:
        return year in self.years

    def check_year(self, year: int) -> None:
        if year not in self.years:
            raise MissingYear(year)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkdayCalendar):
            return NotImplemented
        return (self.years, self.holidays, self.workdays) == (other.years, other.holidays, other.workdays)

    def __hash__(self) -> int:
        return hash((self.years, self.holidays, self.workdays))

    def __repr__(self) -> str:
        ys = sorted(self.years)
        span = f"{ys[0]}-{ys[-1]}" if ys else "none"
        return f"WorkdayCalendar(years={span} ({len(ys)}), holidays={len(self.holidays)}, workdays={len(self.workdays)})"


def _build_lookup(years: frozenset[int], holidays: frozenset[dt.date], workdays: frozenset[dt.date]) -> _Lookup:
    """Lookup tables over every day from 1 Jan (min year - 1) to 31 Dec (max year), so that
    `deadlines` does two gathers per date instead of a binary search: next_idx[d] = index in `days`
    of the first working day after d (one searchsorted over the whole range, done once);
    limit[d] = 1 Jan of the first unknown year on or after d + 1, which the result must precede."""
    import numpy as np

    days = _working_day_array(years, holidays, workdays)
    lo = (min(years) - 1) if years else 2000
    hi = max(years) if years else 2000
    t0 = int(np.datetime64(f"{lo:04d}-01-01", "D").astype(np.int64))
    all_days = np.arange(t0, int(np.datetime64(f"{hi + 1:04d}-01-01", "D").astype(np.int64)), dtype=np.int64)
    next_idx = np.searchsorted(days.astype(np.int64), all_days, side="right")
    jan1 = {y: int(np.datetime64(f"{y:04d}-01-01", "D").astype(np.int64)) for y in range(lo, hi + 2)}
    first_unknown_from = {}
    unknown = hi + 1
    for y in range(hi + 1, lo - 1, -1):
        if y not in years:
            unknown = y
        first_unknown_from[y] = unknown
    start_year = (all_days + 1).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    limit = np.array([jan1[first_unknown_from[y]] for y in range(lo, hi + 2)], dtype=np.int64)[start_year - lo]
    return _Lookup(days, t0, next_idx, limit)


def _working_day_array(years: frozenset[int], holidays: frozenset[dt.date], workdays: frozenset[dt.date]) -> np.ndarray:
    import numpy as np

    if not years:
        return np.empty(0, dtype="datetime64[D]")
    parts = []
    for y in sorted(years):
        days = np.arange(np.datetime64(f"{y:04d}-01-01"), np.datetime64(f"{y + 1:04d}-01-01"), dtype="datetime64[D]")
        # 1970-01-01 was a Thursday: weekday (Mon=0) = (days + 3) % 7.
        wd = (days.astype(np.int64) + 3) % 7
        keep = wd < 5
        parts.append((days, keep))
    days = np.concatenate([p[0] for p in parts])
    keep = np.concatenate([p[1] for p in parts])
    if holidays:
        keep &= ~np.isin(days, np.array(sorted(holidays), dtype="datetime64[D]"))
    if workdays:
        keep |= np.isin(days, np.array(sorted(workdays), dtype="datetime64[D]"))
    return days[keep]


# --- scalar functions --------------------------------------------------------------


def is_working_day(cal: WorkdayCalendar, d: dt.date) -> bool:
    """Whether `d` is a working day; MissingYear if its year is not known."""
    cal.check_year(d.year)
    if d in cal.workdays:
        return True
    return d.weekday() < 5 and d not in cal.holidays


def add_working_days(cal: WorkdayCalendar, d: dt.date, n: int) -> dt.date:
    """The n-th working day after `d` (`d` itself not counted); `d` for n == 0.

    Steps one day at a time on purpose: it is the reference that the vectorised
    `deadlines` is tested against.
    """
    if n < 0:
        raise ValueError("工作日数不能为负数")
    day = d
    left = n
    while left:
        day += ONE_DAY
        if is_working_day(cal, day):
            left -= 1
    return day


def working_days_between(cal: WorkdayCalendar, a: dt.date, b: dt.date) -> int:
    """Working days in (a, b]; negative when b < a (then the days in (b, a])."""
    if b < a:
        return -working_days_between(cal, b, a)
    count = 0
    day = a
    while day < b:
        day += ONE_DAY
        if is_working_day(cal, day):
            count += 1
    return count


def first_working_day(cal: WorkdayCalendar, year: int, month: int) -> dt.date:
    """The first working day of a month (e.g. the scheduled draw's date)."""
    day = dt.date(year, month, 1)
    while not is_working_day(cal, day):
        day += ONE_DAY
        if day.month != month:  # cannot happen with real schedules
            raise ValueError(f"{year} 年 {month} 月没有工作日")
    return day


# --- vectorised --------------------------------------------------------------------


def deadlines(cal: WorkdayCalendar, dates: np.ndarray, n: int = PUBLICATION_DAYS, on_missing: str = "raise") -> np.ndarray:
    """`add_working_days(cal, d, n)` for every d of a datetime64[D] array.

    One binary search per date in the sorted working days. A result that would
    need an unknown year raises MissingYear for the earliest such year
    (`on_missing="raise"`), or is NaT (`on_missing="nat"`).
    """
    if n < 0:
        raise ValueError("工作日数不能为负数")
    if on_missing not in ("raise", "nat"):
        raise ValueError("on_missing must be 'raise' or 'nat'")
    import numpy as np

    d = np.asarray(dates).astype("datetime64[D]")
    if n == 0:
        return d.copy()
    lk = cal.lookup()
    flat = d.ravel().view(np.int64)
    days = lk.days.view(np.int64)
    nat = np.datetime64("NaT").astype(np.int64)
    valid = flat != nat
    off = flat - lk.t0
    inside = (off >= 0) & (off < lk.next_idx.size)
    off = np.where(inside, off, 0)
    idx = lk.next_idx[off] + (n - 1)
    in_range = idx < days.size
    res = days[np.minimum(idx, days.size - 1)] if days.size else np.full(flat.shape, nat)
    limit = lk.limit[off]
    ok = valid & inside & in_range & (res < limit)
    if not ok.all():
        bad = valid & ~ok
        if bad.any() and on_missing == "raise":
            raise MissingYear(_first_missing_year(cal, flat[bad]))
        res = np.where(ok, res, nat)
    return res.view("datetime64[D]").reshape(d.shape)


def _first_missing_year(cal: WorkdayCalendar, bad: np.ndarray) -> int:
    """The earliest unknown year that a failing count (from day numbers `bad`) runs into."""
    import numpy as np

    years = []
    for day in np.unique(bad):
        start = (dt.date(1970, 1, 1) + dt.timedelta(days=int(day) + 1)).year
        y = start
        while y in cal.years:
            y += 1
        years.append(y)
    return min(years)


# --- building calendars ------------------------------------------------------------


def validate_schedule(year: int, holidays: list[tuple[dt.date, dt.date, str]], workdays: list[dt.date]) -> list[str]:
    """Problems with an administrator's entry of one year's schedule (Chinese messages)."""
    problems: list[str] = []
    if not 1900 < year < 2200:
        problems.append(f"年份 {year} 不合理")
        return problems
    seen: dict[dt.date, str] = {}
    if not holidays:
        problems.append("至少应录入一个放假安排")
    for start, end, name in holidays:
        if not (name or "").strip():
            problems.append(f"放假安排 {start}～{end} 缺少节日名称")
        if end < start:
            problems.append(f"放假安排 {name} 的结束日期 {end} 早于开始日期 {start}")
            continue
        if (end - start).days > 31:
            problems.append(f"放假安排 {name} 超过 31 天")
            continue
        if start.year != year or end.year != year:
            problems.append(f"放假安排 {name}（{start}～{end}）不在 {year} 年")
            continue
        day = start
        while day <= end:
            if day in seen:
                problems.append(f"放假日 {day} 重复（{seen[day]}、{name}）")
            seen[day] = name
            day += ONE_DAY
    for w in workdays:
        if w.year != year:
            problems.append(f"调休上班日 {w} 不在 {year} 年")
        if w.weekday() < 5:
            problems.append(f"调休上班日 {w} 不是周末")
        if w in seen:
            problems.append(f"{w} 既是放假日又是调休上班日")
    if len(set(workdays)) != len(workdays):
        problems.append("调休上班日有重复")
    return problems


def expand_schedule(holidays: list[tuple[dt.date, dt.date, str]], workdays: list[dt.date]) -> list[DaySpec]:
    """The day-by-day form of holiday ranges and make-up days, sorted by date."""
    out = []
    for start, end, name in holidays:
        day = start
        while day <= end:
            out.append(DaySpec(day, HOLIDAY, name.strip()))
            day += ONE_DAY
    out.extend(DaySpec(w, WORKDAY, MAKEUP_NAME) for w in workdays)
    return sorted(out, key=lambda s: s.day)


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("chinese-calendar")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "unknown"


def package_schedule(year: int) -> list[DaySpec]:
    """The special days chinese-calendar knows for `year`; MissingYear if it does not."""
    import chinese_calendar
    from chinese_calendar import constants

    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
        chinese_calendar.is_workday(dt.date(year, 12, 31))
    except NotImplementedError:
        raise MissingYear(year) from None
    out = [DaySpec(d, HOLIDAY, PACKAGE_NAMES_ZH.get(n, n)) for d, n in constants.holidays.items() if d.year == year]
    # Make-up days are named after the holiday they make up for.
    out += [
        DaySpec(d, WORKDAY, f"{MAKEUP_NAME}（{PACKAGE_NAMES_ZH.get(n, n)}）")
        for d, n in constants.workdays.items()
        if d.year == year
    ]
    return sorted(out, key=lambda s: s.day)


def from_specs(years: Iterable[int], specs: Iterable[DaySpec]) -> WorkdayCalendar:
    hs, ws = [], []
    for s in specs:
        (hs if s.kind == HOLIDAY else ws).append(s.day)
    return WorkdayCalendar(years, hs, ws)


def from_package(years: Iterable[int] = range(2004, 2027)) -> WorkdayCalendar:
    """A calendar of the given years as chinese-calendar knows them."""
    ys = list(years)
    specs = [s for y in ys for s in package_schedule(y)]
    return from_specs(ys, specs)
