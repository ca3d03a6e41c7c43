"""完成时限: when a draw's tasks are due, which open tasks are near (5 working days) or past it, and the
reminders: once per task and flag, from the service and from the worker's real APScheduler job."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlmodel import Session

from db.models import Draw, Notification, ScheduleRun, Task
from scheduler.calendar import workdays as wd
from scheduler.draw import service as draws
from scheduler.plans import task_limits as tl
from scheduler.plans.service import PlanInput, save_plan
from scheduler.results import due
from tests.factories import save_approved, world
from tests.test_worker import at_in, drop_job_table, wait_for, whole_job, worker

CAL = wd.from_package(range(2024, 2027))
TZ = due.TZ
SEED = "27182818284590452353"
OPEN = ("drawn", "assigned", "inspecting")


def plan(code: str = "PG-GS", **kw) -> PlanInput:
    base = dict(code=code, name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                ratios={"A": "0.05", "B": "0.05", "C": "0.05", "D": "0.05"}, task_days=10, schedule="0 9 1 1 *")
    base.update(kw)
    return PlanInput(**base)


# --- the pure rule ----------------------------------------------------------------------------------------


def test_due_day_and_flags():
    assert [tl.period_end(p) for p in ("2026-02", "2024-02", "2026-Q3", "2026-Q4", "2026")] == [
        dt.date(2026, 2, 28), dt.date(2024, 2, 29), dt.date(2026, 9, 30), dt.date(2026, 12, 31), dt.date(2026, 12, 31)]
    monday = dt.date(2026, 3, 2)
    assert tl.due_on(CAL, monday, "2026-03", 10) == dt.date(2026, 3, 16)
    assert tl.due_on(CAL, monday, "2026-03", 0) == dt.date(2026, 3, 31)
    # Across the National Day holiday: 2025-09-30 + 3 working days is 2025-10-11 (a make-up Saturday), not 10-03.
    assert tl.due_on(CAL, dt.date(2025, 9, 30), "2025-09", 3) == dt.date(2025, 10, 11)
    due_day = dt.date(2026, 3, 16)
    flags = {d: tl.flag(d, tl.horizon(CAL, d), due_day) for d in
             (dt.date(2026, 3, 6), dt.date(2026, 3, 9), dt.date(2026, 3, 16), dt.date(2026, 3, 17))}
    assert list(flags.values()) == [None, tl.DUE_SOON, tl.DUE_SOON, tl.OVERDUE]
    assert tl.describe(0) == "抽查期间结束前完成检查" and tl.describe(7) == "抽取后 7 个工作日内完成检查"


# today + 40 days stays inside the calendar (2024-2026): 2026-11-20 + 40 = 2026-12-30.
@given(today=st.dates(dt.date(2024, 1, 1), dt.date(2026, 11, 20)), offset=st.integers(-40, 40))
def test_flag_is_past_near_or_nothing(today, offset):
    due_day = today + dt.timedelta(days=offset)
    near = tl.horizon(CAL, today)
    f = tl.flag(today, near, due_day)
    assert (f == tl.OVERDUE) == (due_day < today)
    assert (f == tl.DUE_SOON) == (today <= due_day and wd.working_days_between(CAL, today, due_day) <= tl.NEAR_WORKING_DAYS)


# --- the service ------------------------------------------------------------------------------------------


def _draw_at(engine, code: str, period: str, drawn_at: dt.datetime, seed: str = SEED) -> int:
    d = draws.execute(engine, code, period, seed)
    with engine.begin() as c:
        c.execute(update(Draw).where(Draw.id == d.id).values(drawn_at=drawn_at))
    return d.id


def _open_tasks(engine, draw_id: int) -> list[int]:
    with Session(engine) as s:
        return list(s.execute(select(Task.id).where(Task.draw_id == draw_id, Task.status.in_(OPEN))).scalars())


def _notes(engine, kind: str) -> list[Notification]:
    with Session(engine) as s:
        return list(s.execute(select(Notification).where(Notification.kind == kind)).scalars())


def test_flags_and_reminders_once_each(engine):
    world(engine, 800)
    save_approved(engine, plan("PG-TEN"))  # 10 working days after the draw
    save_approved(engine, plan("PG-END", task_days=0, item_codes=["GS-01"]))  # by the end of the period
    ten = _draw_at(engine, "PG-TEN", "2026-03", dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc))
    end = _draw_at(engine, "PG-END", "2026-03", dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc))
    tasks = _open_tasks(engine, ten)
    done = tasks.pop()  # a task already checked is never flagged
    with engine.begin() as c:
        c.execute(update(Task).where(Task.id == done).values(status="completed"))
    assert tasks and _open_tasks(engine, end)

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, 8, 30, tzinfo=TZ)

    with Session(engine) as s:
        assert due.flagged_tasks(s, CAL, dt.date(2026, 3, 6)) == []
        soon = due.flagged_tasks(s, CAL, dt.date(2026, 3, 9))
        assert {t.task_id for t in soon} == set(tasks) and {(t.flag, t.due_on) for t in soon} == {
            (tl.DUE_SOON, dt.date(2026, 3, 16))}
        assert due.task_flags(s, CAL, dt.date(2026, 3, 17), [tasks[0], done]) == {tasks[0]: (dt.date(2026, 3, 16), tl.OVERDUE)}
        late = due.flagged_tasks(s, CAL, dt.date(2026, 3, 25))
        assert {t.plan_code for t in late} == {"PG-TEN", "PG-END"}
        assert {(t.plan_code, t.flag) for t in late} == {("PG-TEN", tl.OVERDUE), ("PG-END", tl.DUE_SOON)}

    sent = due.remind(engine, at(dt.date(2026, 3, 9)), CAL)
    assert sorted(n.object for n in sent) == sorted(f"task:{t}" for t in tasks)
    assert all(n.kind == "task_due_soon" and "2026-03-16" in n.message for n in sent)
    assert due.remind(engine, at(dt.date(2026, 3, 10)), CAL) == []  # once each
    sent = due.remind(engine, at(dt.date(2026, 3, 17)), CAL)
    assert {n.kind for n in sent} == {"task_overdue"} and len(sent) == len(tasks)
    assert due.remind(engine, at(dt.date(2026, 3, 18)), CAL) == []
    assert len(_notes(engine, "task_due_soon")) == len(_notes(engine, "task_overdue")) == len(tasks)


def test_overview_counts_and_most_urgent_match_the_full_list(engine):
    """首页's figures (counted in SQL, the 50 most urgent read alone) are those of the full list."""
    from db.models import Plan
    from scheduler.calendar.service import ensure_seeded, load_calendar

    world(engine, 800)
    ensure_seeded(engine)
    save_approved(engine, plan("PG-TEN"))
    save_approved(engine, plan("PG-END", task_days=0))
    save_approved(engine, plan("PG-TWO", task_days=2))
    _draw_at(engine, "PG-TEN", "2026-03", dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc))
    _draw_at(engine, "PG-END", "2026-03", dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc))
    _draw_at(engine, "PG-TWO", "2026-03", dt.datetime(2026, 3, 13, 1, 0, tzinfo=dt.timezone.utc))
    with Session(engine) as s:
        bureau_id = s.execute(select(Plan.bureau_id)).scalars().first()
        cal = load_calendar(s)
    for today in (dt.date(2026, 3, 6), dt.date(2026, 3, 12), dt.date(2026, 3, 17), dt.date(2026, 3, 25)):
        with Session(engine) as s:
            full = due.flagged_tasks(s, cal, today, [bureau_id])
            flagged = {d.draw_id: d for d in due.open_draws(s, cal, today, [bureau_id]) if d.flag}
            for n in (1, 3, len(full) // 2 + 1, len(full) + 5):
                assert due._most_urgent(s, flagged, n) == full[:n], (today, n)
        got = due.overview(engine, bureau_id, today)
        assert got[tl.DUE_SOON] == sum(t.flag == tl.DUE_SOON for t in full)
        assert got[tl.OVERDUE] == sum(t.flag == tl.OVERDUE for t in full)
        assert got["tasks"] == full[:due.URGENT_SHOWN]
    assert full  # the last day has flagged tasks of several draws


# --- the worker: real BlockingScheduler subprocesses --------------------------------------------------------


@pytest.fixture
def w(engine):
    from scheduler.calendar.service import ensure_seeded

    world(engine, 1000)
    ensure_seeded(engine)
    drop_job_table(engine)
    return engine


def test_worker_reminds_overdue_tasks_exactly_once(w, db_url):
    save_approved(w, plan("PG-OLD", task_days=1))
    # Drawn a month ago: past its limit today, whatever today is.
    month_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31)
    period = month_ago.astimezone(TZ).strftime("%Y-%m")
    tasks = _open_tasks(w, _draw_at(w, "PG-OLD", period, month_ago))
    assert tasks
    with worker(db_url, "tl1", "--poll", "1") as p:
        first = whole_job(p, "tl1", "dsr:task-limits", 60)
        assert first["job"] == "executed", first
        assert sorted(n.object for n in _notes(w, "task_overdue")) == sorted(f"task:{t}" for t in tasks)
        second = whole_job(p, "tl1", "dsr:task-limits", 60, after=first["t"])
        assert second["job"] == "executed", second
        p.terminate()
        err = p.stderr()
    assert len(_notes(w, "task_overdue")) == len(tasks)  # the second run sent nothing
    runs_ = [json.loads(x) for x in err.splitlines() if x.startswith("{") and '"task_limits"' in x]
    assert len(runs_) >= 2 and runs_[0]["sent"] == len(tasks) and all(r["sent"] == 0 for r in runs_[1:])


def test_worker_refuses_a_draft_plans_scheduled_draw(w, db_url):
    text_, _t = at_in(6)
    save_plan(w, plan("PG-DRAFT", schedule=text_))  # saved, never approved
    # Its time comes while the worker starts or soon after: run by the first catch-up or by its DateTrigger job.
    with worker(db_url, "tl2", "--poll", "60") as p:
        wait_for(lambda: _count_runs(w) == 1, 60, "the run to be recorded", [p])
        p.terminate()
    with Session(w) as s:
        run = s.execute(select(ScheduleRun)).scalar_one()
        assert s.execute(select(func.count()).select_from(Draw)).scalar_one() == 0
    assert run.outcome == "refused" and "第 1 版为草稿，尚未审批，不能抽取" in run.error
    assert any("尚未审批" in n.message for n in _notes(w, "failed"))


def _count_runs(engine) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(ScheduleRun).where(ScheduleRun.outcome != "running")).scalar_one()
