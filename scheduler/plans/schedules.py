"""Plan schedules (计划任务): parsing, periods and next-run times.

A plan's `schedule` text is one of:

- empty, or ``first_working_day HH:MM`` (the default, 09:00): the first working
  day of every month, by the State Council holiday schedule (so 2025-10 draws on
  2025-10-09, after the National Day holiday), which plain cron cannot say;
- ``first_working_day_of_quarter HH:MM``: the first working day of January,
  April, July and October; its period is ``YYYY-Qn``;
- ``first_working_day_of_year HH:MM``: the first working day of January; its
  period is the year, ``YYYY`` (a plan drawn once a year);
- ``first_working_day_of_months 3,6,9,11 HH:MM``: the first working day of each
  listed month (an explicit list of periods, ``YYYY-MM`` of those months);
- five cron fields ``minute hour day month weekday`` (e.g. ``0 9 1 * *``);
- ``at YYYY-MM-DDTHH:MM[:SS]+08:00``: one run at a fixed time (for a one-off
  draw, and for tests that need a run a few seconds away).

Every time is in Asia/Shanghai. Monthly schedules (and month lists) draw the
period of the month of the scheduled time (``YYYY-MM``), quarterly ones the
quarter (``YYYY-Qn``), yearly ones the year (``YYYY``).

Pure: no database, no clock. The caller passes "now" and the working-day
calendar; MissingYear propagates when a calendar-based time needs a year that
is not known yet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduler.calendar import workdays as wd
from scheduler.errors import DsrError

TZ = ZoneInfo("Asia/Shanghai")

CRON = "cron"
FIRST_WORKING_DAY = "first_working_day"
FIRST_WORKING_DAY_OF_QUARTER = "first_working_day_of_quarter"
FIRST_WORKING_DAY_OF_YEAR = "first_working_day_of_year"
FIRST_WORKING_DAY_OF_MONTHS = "first_working_day_of_months"
WORKING_DAY_KINDS = (FIRST_WORKING_DAY, FIRST_WORKING_DAY_OF_QUARTER, FIRST_WORKING_DAY_OF_YEAR,
                     FIRST_WORKING_DAY_OF_MONTHS)
AT = "at"

# A plan with no schedule text draws at 09:00 on the first working day of the month; a
# working-day schedule without a time draws at 09:00 too.
DEFAULT_HOUR, DEFAULT_MINUTE = 9, 0
DEFAULT_SCHEDULE = f"{FIRST_WORKING_DAY} {DEFAULT_HOUR:02d}:{DEFAULT_MINUTE:02d}"
# The words planners type (as `describe` writes them), for the stored keywords.
CHINESE_HEADS = {"每月第一个工作日": FIRST_WORKING_DAY, "每季度第一个工作日": FIRST_WORKING_DAY_OF_QUARTER,
                 "每年第一个工作日": FIRST_WORKING_DAY_OF_YEAR, "指定月份第一个工作日": FIRST_WORKING_DAY_OF_MONTHS}

KIND_LABELS = {
    CRON: "cron 表达式",
    FIRST_WORKING_DAY: "每月第一个工作日",
    FIRST_WORKING_DAY_OF_QUARTER: "每季度第一个工作日",
    FIRST_WORKING_DAY_OF_YEAR: "每年第一个工作日",
    FIRST_WORKING_DAY_OF_MONTHS: "指定月份第一个工作日",
    AT: "指定时间（一次）",
}

# A bound on how far the searches walk (a month without a working day, or a
# cron expression that never matches, must not loop forever).
_MAX_MONTHS = 12 * 5
_MAX_RUNS = 1000

_CRON_FIELDS = ("分钟", "小时", "日", "月", "星期")


class ScheduleError(DsrError, ValueError):
    """A schedule text that cannot be used; the message is for a planner (Chinese)."""

    code = "plan.schedule_invalid"


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. `text` is the normalised form stored back on the plan."""

    kind: str
    text: str
    hour: int = DEFAULT_HOUR
    minute: int = DEFAULT_MINUTE
    cron: str = ""
    at: dt.datetime | None = None
    months: tuple[int, ...] = ()

    @property
    def quarterly(self) -> bool:
        return self.kind == FIRST_WORKING_DAY_OF_QUARTER

    @property
    def yearly(self) -> bool:
        return self.kind == FIRST_WORKING_DAY_OF_YEAR

    @property
    def run_months(self) -> tuple[int, ...]:
        """The months of the year a working-day schedule draws in."""
        if self.quarterly:
            return (1, 4, 7, 10)
        if self.yearly:
            return (1,)
        if self.kind == FIRST_WORKING_DAY_OF_MONTHS:
            return self.months
        return tuple(range(1, 13))

    @property
    def needs_calendar(self) -> bool:
        return self.kind in WORKING_DAY_KINDS

    def describe(self) -> str:
        """A planner-readable description (Chinese)."""
        if self.kind == FIRST_WORKING_DAY:
            return f"每月第一个工作日 {self.hour:02d}:{self.minute:02d}"
        if self.kind == FIRST_WORKING_DAY_OF_QUARTER:
            return f"每季度第一个工作日 {self.hour:02d}:{self.minute:02d}"
        if self.yearly:
            return f"每年第一个工作日 {self.hour:02d}:{self.minute:02d}"
        if self.kind == FIRST_WORKING_DAY_OF_MONTHS:
            listed = ",".join(str(m) for m in self.months)
            return f"指定月份第一个工作日 {listed} {self.hour:02d}:{self.minute:02d}"
        if self.kind == AT:
            return f"仅一次：{self.at.astimezone(TZ).isoformat()}"  # type: ignore[union-attr]
        return f"cron：{self.cron}（北京时间）"


def _hhmm(text: str, raw: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f"计划时间“{raw}”中的时刻“{text}”无效，应为 HH:MM（如 09:00）")
    return int(m.group(1)), int(m.group(2))


def _parse_months(text: str, raw: str) -> tuple[int, ...]:
    """'3,6,9,11' (commas, full-width commas or 、) -> (3, 6, 9, 11), sorted, each once."""
    parts = [p for p in re.split(r"[,，、]", text) if p.strip()]
    months = set()
    for p in parts:
        if not p.strip().isdigit() or not 1 <= int(p) <= 12:
            raise ScheduleError(f"计划时间“{raw}”中的月份“{p.strip()}”无效，应为 1 至 12，以逗号分隔（如 3,6,9,11）")
        months.add(int(p))
    if not months:
        raise ScheduleError(f"计划时间“{raw}”缺少月份，应为“{FIRST_WORKING_DAY_OF_MONTHS} 3,6,9,11 09:00”")
    return tuple(sorted(months))


_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _dow_token(tok: str) -> str:
    """One standard-cron weekday token (0/7 = Sunday, 1 = Monday) in names.

    APScheduler 3.x numbers weekdays from Monday = 0, so "1" would mean Tuesday
    there; names mean the same to both."""
    step = ""
    if "/" in tok:
        tok, step = tok.split("/", 1)
        step = "/" + step
    if tok.isdigit():
        return _DOW_NAMES[int(tok)] + step if int(tok) <= 7 else tok + step
    if "-" in tok:
        a, b = tok.split("-", 1)
        if a.isdigit() and b.isdigit() and int(a) <= 7 and int(b) <= 7:
            a, b = int(a), int(b)
            if a == 0 and b >= 1:  # Sunday first: APScheduler's ranges start at Monday
                return "sun," + (_DOW_NAMES[1] if b == 1 else f"mon-{_DOW_NAMES[b]}")
            return f"{_DOW_NAMES[a]}-{_DOW_NAMES[b]}" + step
    return tok + step


def _cron_trigger(expr: str):
    # APScheduler's CronTrigger is pure computation (no scheduler, no clock).
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, dow = expr.split()
    dow = ",".join(_dow_token(t) for t in dow.split(","))
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=TZ)


def parse(text: str | None) -> Schedule:
    """Parse a schedule text; ScheduleError (Chinese) says what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raw = DEFAULT_SCHEDULE
    words = raw.split()
    head = CHINESE_HEADS.get(words[0], words[0].lower())
    if head == FIRST_WORKING_DAY_OF_MONTHS:
        if len(words) not in (2, 3):
            raise ScheduleError(f"计划时间“{raw}”格式错误，应为“{head} 3,6,9,11 HH:MM”")
        months = _parse_months(words[1], raw)
        hour, minute = _hhmm(words[2], raw) if len(words) == 3 else (DEFAULT_HOUR, DEFAULT_MINUTE)
        listed = ",".join(str(m) for m in months)
        return Schedule(head, f"{head} {listed} {hour:02d}:{minute:02d}", hour, minute, months=months)
    if head in (FIRST_WORKING_DAY, FIRST_WORKING_DAY_OF_QUARTER, FIRST_WORKING_DAY_OF_YEAR):
        if len(words) > 2:
            raise ScheduleError(f"计划时间“{raw}”格式错误，应为“{head} HH:MM”")
        hour, minute = _hhmm(words[1], raw) if len(words) == 2 else (DEFAULT_HOUR, DEFAULT_MINUTE)
        return Schedule(head, f"{head} {hour:02d}:{minute:02d}", hour, minute)
    if head == AT:
        if len(words) != 2:
            raise ScheduleError(f"计划时间“{raw}”格式错误，应为“at YYYY-MM-DDTHH:MM:SS+08:00”")
        try:
            at = dt.datetime.fromisoformat(words[1])
        except ValueError:
            raise ScheduleError(f"计划时间“{raw}”中的时间“{words[1]}”无效，应为 ISO 格式，如 2026-11-27T14:05:03+08:00") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=TZ)
        at = at.astimezone(TZ).replace(microsecond=0)
        return Schedule(AT, f"at {at.isoformat()}", at.hour, at.minute, at=at)
    if len(words) != 5:
        raise ScheduleError(
            f"计划时间“{raw}”无法识别：应为 5 个 cron 字段（分钟 小时 日 月 星期，如“0 9 1 * *”），"
            f"或“{FIRST_WORKING_DAY} 09:00”、“{FIRST_WORKING_DAY_OF_QUARTER} 09:00”、“{FIRST_WORKING_DAY_OF_YEAR} 09:00”、"
            f"“{FIRST_WORKING_DAY_OF_MONTHS} 3,6,9,11 09:00”，或“at 时间”"
        )
    for name, field in zip(_CRON_FIELDS, words):
        if not re.fullmatch(r"[0-9A-Za-z*/,\-?]+", field):
            raise ScheduleError(f"cron 表达式“{raw}”的{name}字段“{field}”含有无效字符")
        try:
            _cron_trigger(" ".join(f if i == _CRON_FIELDS.index(name) else "*" for i, f in enumerate(words)))
        except ValueError:
            raise ScheduleError(f"cron 表达式“{raw}”的{name}字段“{field}”取值无效") from None
    try:
        _cron_trigger(raw)
    except ValueError as e:
        raise ScheduleError(f"cron 表达式“{raw}”无效：{e}") from None
    return Schedule(CRON, " ".join(words), cron=" ".join(words))


def validate(text: str | None) -> list[str]:
    """Chinese error messages (empty when the text is a valid schedule)."""
    try:
        parse(text)
    except ScheduleError as e:
        return [str(e)]
    return []


def period_of(schedule: Schedule, when: dt.datetime) -> str:
    """The period a run at `when` draws: its month (``YYYY-MM``), quarter (``YYYY-Qn``) or year (``YYYY``)."""
    local = when.astimezone(TZ)
    if schedule.yearly:
        return f"{local.year:04d}"
    if schedule.quarterly:
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}-{local.month:02d}"


def _month_starts(after: dt.datetime, months: tuple[int, ...]):
    local = after.astimezone(TZ)
    y, m = local.year, local.month
    for _ in range(_MAX_MONTHS):
        if m in months:
            yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def next_run(schedule: Schedule, after: dt.datetime, cal: wd.WorkdayCalendar | None = None) -> dt.datetime | None:
    """The first scheduled time strictly after `after` (aware, Asia/Shanghai), or
    None when there is none (an `at` time already past). Calendar schedules need
    `cal`; MissingYear when the month's year is not in it."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if schedule.kind == AT:
        return schedule.at if schedule.at > after else None  # type: ignore[operator]
    if schedule.kind == CRON:
        start = after.astimezone(TZ).replace(microsecond=0) + dt.timedelta(seconds=1)
        t = _cron_trigger(schedule.cron).get_next_fire_time(None, start)
        return t.astimezone(TZ) if t is not None else None
    if cal is None:
        raise ValueError("a working-day schedule needs the working-day calendar")
    for y, m in _month_starts(after, schedule.run_months):
        day = wd.first_working_day(cal, y, m)
        t = dt.datetime(day.year, day.month, day.day, schedule.hour, schedule.minute, tzinfo=TZ)
        if t > after:
            return t
    return None


def runs_between(
    schedule: Schedule, start: dt.datetime, end: dt.datetime, cal: wd.WorkdayCalendar | None = None
) -> list[dt.datetime]:
    """Every scheduled time in (start, end], oldest first (at most 1000)."""
    out: list[dt.datetime] = []
    t = next_run(schedule, start, cal)
    while t is not None and t <= end and len(out) < _MAX_RUNS:
        out.append(t)
        try:
            t = next_run(schedule, t, cal)
        except wd.MissingYear as e:
            if e.year > end.astimezone(TZ).year:
                break  # the next run is in a year after `end`: December's run is due without next year's calendar
            raise
    return out


def next_run_of(schedule_text: str, now: dt.datetime, cal: wd.WorkdayCalendar | None) -> tuple[str | None, str]:
    """(ISO time +08:00 of the next run, error) for a plan's schedule text."""
    try:
        t = next_run(parse(schedule_text), now, cal)
    except (ScheduleError, wd.MissingYear) as e:
        return None, str(e)
    return (t.astimezone(TZ).isoformat() if t else None), ""
