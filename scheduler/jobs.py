"""The worker (`dsr worker`): one APScheduler 3.x BlockingScheduler per process.

Jobs, kept in a persistent SQLAlchemyJobStore (table `apscheduler_jobs`) in
the project's database:
- ``dsr:sync`` every `poll` seconds: re-reads every plan's schedule, runs due
  times (catch-up within the grace period, missed older ones recorded), takes
  over stale claims, and keeps one ``plan:<code>`` job per plan;
- ``plan:<code>@<worker>``: a DateTrigger at the plan's next computed run (re-computed
  by the sync after each firing), so calendar schedules (first working day)
  work like cron ones;
- a heartbeat thread (not a stored job) every 15 s (or `poll`, if shorter);
- ``dsr:reminders`` daily at 08:30 (and once at start);
- ``dsr:task-limits`` every `poll` seconds from the start: one notification per task near
  or past its plan's completion time limit (scheduler/results/due.py), once per task and flag.

The job store only says *when*; what keeps a draw exactly-once is the claim
row and the draw's own unique index (scheduler/draw/runs.py), so a second
worker sharing the store cannot draw twice. The Streamlit app never runs a
scheduler: it edits schedules, the worker picks them up at its next sync.

Job functions are module-level and take only picklable arguments; the engine
and the worker's identity live in this module (one worker per process).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import APSCHEDULER_TABLE, Plan
from scheduler.plans import schedules
from scheduler.calendar import workdays as wd
from scheduler.draw import runs

log = logging.getLogger("dsr.worker")

SYNC_JOB = "dsr:sync"
HEARTBEAT_JOB = "dsr:heartbeat"
REMINDER_JOB = "dsr:reminders"
TASK_LIMIT_JOB = "dsr:task-limits"
PLAN_JOB_PREFIX = "plan:"


@dataclass
class _State:
    engine: Engine
    me: runs.WorkerIdentity
    opts: runs.RunOptions
    scheduler: object = None


_state: Optional[_State] = None


def _st() -> _State:
    if _state is None:
        raise RuntimeError("worker not started in this process")
    return _state


# --- job functions (referenced by name in the job store) --------------------------------


def fire_plan(plan_code: str, scheduled_for: str) -> None:
    """A plan's DateTrigger fired: run it, then schedule its next run."""
    st = _st()
    t = dt.datetime.fromisoformat(scheduled_for)
    with Session(st.engine) as s:
        plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
        # A job left in the shared store for a time this worker (or a finished
        # run anywhere) already handled is stale: the sync has moved on.
        due = plan is not None and runs._utc(t) > runs.baseline(s, plan, st.me.worker_id)
    if due:
        runs.run_scheduled(st.engine, st.me, plan_code, t, st.opts)
    if st.scheduler is not None:
        _schedule_plans(st)


def sync() -> None:
    st = _st()
    try:
        runs.catch_up(st.engine, st.me, opts=st.opts)
    finally:
        if st.scheduler is not None:
            _schedule_plans(st)


def beat() -> None:
    st = _st()
    runs.heartbeat(st.engine, st.me)


def send_reminders() -> None:
    st = _st()
    for n in runs.reminders(st.engine):
        runs.log_json("notification", kind=n.kind, bureau=n.bureau_id, message=n.message)


def send_task_reminders() -> None:
    """Tasks near or past their completion time limit: a reminder each, once (the notification's key)."""
    from scheduler.results import due

    st = _st()
    sent = due.remind(st.engine)
    for n in sent:
        runs.log_json("notification", kind=n.kind, bureau=n.bureau_id, message=n.message)
    runs.log_json("task_limits", worker=st.me.worker_id, sent=len(sent))


# --- wiring ---------------------------------------------------------------------------


def _schedule_plans(st: _State) -> None:
    """One DateTrigger job per plan at its next run; jobs of removed plans go."""
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.triggers.date import DateTrigger

    from scheduler.calendar.service import calendar

    sch = st.scheduler
    now = runs._utc(dt.datetime.now(dt.timezone.utc))
    cal = calendar(st.engine)
    with Session(st.engine) as s:
        plans = list(s.execute(select(Plan).where(Plan.kind == "random")).scalars())
        starts = {p.code: max(runs.baseline(s, p, st.me.worker_id), now) for p in plans}
    wanted = set()
    for p in plans:
        try:
            t = schedules.next_run(schedules.parse(p.schedule), starts[p.code], cal)
        except (schedules.ScheduleError, wd.MissingYear) as e:
            runs.log_json("schedule_error", worker=st.me.worker_id, plan=p.code, error=str(e))
            t = None
        if t is None:
            continue
        job_id = f"{PLAN_JOB_PREFIX}{p.code}@{st.me.worker_id}"
        wanted.add(job_id)
        iso = t.isoformat()
        job = sch.get_job(job_id)
        if job is not None and job.kwargs.get("scheduled_for") == iso:
            continue
        sch.add_job(fire_plan, DateTrigger(run_date=t, timezone=schedules.TZ), id=job_id, name=f"抽查计划 {p.code}",
                    kwargs={"plan_code": p.code, "scheduled_for": iso}, replace_existing=True,
                    misfire_grace_time=int(st.opts.grace.total_seconds()), coalesce=True, max_instances=1)
    for job in sch.get_jobs():
        if job.id.startswith(PLAN_JOB_PREFIX) and job.id.endswith(f"@{st.me.worker_id}") and job.id not in wanted:
            try:
                job.remove()
            except JobLookupError:
                pass


def build_scheduler(engine: Engine, poll: float, tablename: str = APSCHEDULER_TABLE):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    from apscheduler.jobstores.base import JobLookupError

    class _Scheduler(BlockingScheduler):
        # With a job store shared by two workers (APScheduler does not support
        # it), the other process may remove a finished date job first; that
        # must not stop this scheduler. Exactly-once comes from the claims.
        def remove_job(self, job_id, jobstore=None):  # noqa: ANN001
            try:
                super().remove_job(job_id, jobstore)
            except JobLookupError:
                pass

    store = SQLAlchemyJobStore(engine=engine, tablename=tablename)
    _create_job_table(engine, store.jobs_t)
    return _Scheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=schedules.TZ,
        # The store is polled at least this often, so plan jobs that another
        # process (or a previous run of this one) wrote are seen.
        jobstore_retry_interval=max(1.0, poll),
    )


JOB_TABLE_LOCK = 0x6473725F6A6F6273  # "dsr_jobs": advisory lock key for creating the job table


def _create_job_table(engine: Engine, table) -> None:  # noqa: ANN001
    """Create the job store's table before the scheduler does, safely when two
    workers start together: APScheduler's own CREATE (checkfirst) races on
    PostgreSQL (DuplicateTable), so take an advisory lock around it there."""
    from sqlalchemy import text

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": JOB_TABLE_LOCK})
        table.create(conn, checkfirst=True)


def run_worker(engine: Engine, worker_id: str, poll: float = 30.0, once: bool = False,
               opts: Optional[runs.RunOptions] = None) -> None:
    """Start the worker: catch up, then (unless `once`) run the BlockingScheduler until SIGTERM/SIGINT."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    global _state
    st = _State(engine, runs.WorkerIdentity(worker_id), opts or runs.RunOptions.from_env())
    _state = st
    runs.heartbeat(engine, st.me)
    runs.log_json("worker_start", worker=worker_id, instance=st.me.instance, poll=poll, once=once,
                  grace_s=st.opts.grace.total_seconds(), lease_s=st.opts.lease.total_seconds())
    runs.catch_up(engine, st.me, opts=st.opts)
    send_reminders()
    if once:
        send_task_reminders()
        runs.log_json("worker_stop", worker=worker_id, instance=st.me.instance)
        return
    sch = build_scheduler(engine, poll)
    st.scheduler = sch
    # The first sync runs at once: it puts the plan jobs in the store.
    sch.add_job(sync, IntervalTrigger(seconds=poll, timezone=schedules.TZ), id=f"{SYNC_JOB}@{worker_id}", name="同步计划任务",
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=None,
                next_run_time=dt.datetime.now(schedules.TZ))
    sch.add_job(send_reminders, CronTrigger(hour=8, minute=30, timezone=schedules.TZ), id=f"{REMINDER_JOB}@{worker_id}", name="每日提醒",
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=3600)
    sch.add_job(send_task_reminders, IntervalTrigger(seconds=poll, timezone=schedules.TZ), id=f"{TASK_LIMIT_JOB}@{worker_id}",
                name="完成时限提醒", replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=None,
                next_run_time=dt.datetime.now(schedules.TZ))

    def _stop(signum, frame):  # noqa: ANN001
        runs.log_json("worker_stop", worker=worker_id, instance=st.me.instance, signal=signum)
        sch.shutdown(wait=False)

    _start_heartbeat(st, min(15.0, poll))
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sch.start()  # blocks


def _start_heartbeat(st: _State, every: float) -> None:
    """Heartbeat in a thread of its own, not a stored job: in a shared job store
    another process could run (and so "steal") this worker's heartbeat job."""
    import threading

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                runs.heartbeat(st.engine, st.me)
            except Exception as e:  # noqa: BLE001 — a lost beat is retried next time
                runs.log_json("heartbeat_failed", worker=st.me.worker_id, error=str(e))

    threading.Thread(target=loop, name="dsr-heartbeat", daemon=True).start()


def default_worker_id() -> str:
    import socket

    return os.environ.get("DSR_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"
