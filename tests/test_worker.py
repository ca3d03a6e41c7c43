"""The worker on real databases: real BlockingScheduler subprocesses, two workers
on one PostgreSQL database, a SIGKILL mid-run, missed runs, reminders, webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text, update
from sqlmodel import Session

from db.engine import make_engine
from db.models import AuditEvent, Draw, DrawClaim, Notification, Plan, ScheduleRun, Task, WorkerHeartbeat
from scheduler.plans import schedules as S
from scheduler.draw import service as draws
from scheduler.draw import runs
from scheduler.access.context import Actor
from scheduler.plans.service import PlanInput, list_plans
from tests.factories import save_approved
from tests.factories import world
from tests.pause_points import Child, wait_any

ROOT = Path(__file__).resolve().parents[1]
GS_RATIOS = {"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}
TZ = S.TZ


def gs_plan(code="PG-GS", **kw) -> PlanInput:
    base = dict(code=code, name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"], ratios=GS_RATIOS)
    base.update(kw)
    return PlanInput(**base)


def at_in(seconds: float) -> tuple[str, dt.datetime]:
    t = (dt.datetime.now(TZ) + dt.timedelta(seconds=seconds)).replace(microsecond=0)
    return f"at {t.isoformat()}", t


def worker_env(url: str, **env: str) -> dict:
    e = dict(os.environ, DSR_DATABASE_URL=url, PYTHONUNBUFFERED="1", **env)
    e.pop("DSR_WEBHOOK_URL", None)
    return e


def worker(url: str, wid: str, *args: str, at: tuple[str, ...] = (), **env: str) -> Child:
    """A `dsr worker` subprocess that reports its APScheduler job events (and holds at `at`)."""
    return Child(["worker", "--id", wid, *args], at=at, jobs=True, env=worker_env(url, **env))


def whole_job(p: Child, wid: str, job: str, timeout: float, after: float = float("-inf")) -> dict:
    """Wait until a run of job `job` of worker `wid` submitted after `after` (time.monotonic) has
    finished; its report (executed or error). Overlapping runs of a job are not allowed
    (max_instances=1), so the first finish after the submission is that run's."""
    jid = f"{job}@{wid}"
    sub = p.wait_for(lambda m: m.get("job") == "submitted" and m["id"] == jid and m["t"] > after, timeout,
                     f"job {jid} to be submitted")
    return p.wait_for(lambda m: m.get("job") in ("executed", "error") and m["id"] == jid and m["t"] >= sub["t"],
                      timeout, f"job {jid} to finish")


def wait_for(pred, timeout: float, what: str, procs=()) -> None:
    """Poll a condition on the database until it holds (bounded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        for p in procs:
            if p.proc.poll() is not None:
                raise AssertionError(f"worker exited early ({p.proc.returncode}): {p.output()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def drop_job_table(engine) -> None:
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))


@pytest.fixture
def w(engine):
    from scheduler.calendar.service import ensure_seeded

    world(engine, 2000)
    ensure_seeded(engine)
    drop_job_table(engine)
    return engine


# --- real BlockingScheduler subprocesses ------------------------------------------------


def test_worker_fires_a_plan_at_its_time_through_the_job_store(w, db_url):
    text_, t = at_in(7)
    save_approved(w, gs_plan(schedule=text_))
    # --poll 60: the sync runs only at start (before the time), so the draw comes from the DateTrigger job.
    with worker(db_url, "w1", "--poll", "60") as p:
        first = whole_job(p, "w1", "dsr:sync", 60)
        assert first["job"] == "executed", first
        assert count(w, ScheduleRun) == 0, "the worker started after the plan's time: its first sync drew, not the job"
        fired = whole_job(p, "w1", "plan:PG-GS", 60)
        assert fired["job"] == "executed", fired
        with w.connect() as c:
            assert "apscheduler_jobs" in inspect(c).get_table_names()
        p.terminate()
        err = p.stderr()
    with Session(w) as s:
        d = s.execute(select(Draw)).scalar_one()
        run = s.execute(select(ScheduleRun)).scalar_one()
        c = s.execute(select(DrawClaim)).scalar_one()
        hb = s.get(WorkerHeartbeat, "w1")
    assert d.period == t.strftime("%Y-%m") and d.seed_source == "system" and d.drawn_by == "worker:w1"
    assert runs._utc(run.scheduled_for) == t and run.draw_id == d.id and run.worker_id == "w1"
    assert (c.status, c.draw_id, c.claimed_by, c.attempts) == ("done", d.id, "w1", 1)
    assert hb is not None and hb.pid > 0
    assert count(w, Task, Task.draw_id == d.id) > 0
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    done = [x for x in lines if x["event"] == "schedule_run"]
    assert len(done) == 1 and done[0]["outcome"] == "done" and done[0]["plan"] == "PG-GS"


@pytest.mark.postgres
def test_two_workers_on_postgres_draw_exactly_once(pg_url):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    eng = make_engine(pg_url)
    try:
        from scheduler.calendar.service import ensure_seeded

        world(eng, 2000)
        ensure_seeded(eng)
        drop_job_table(eng)
        save_approved(eng, gs_plan(schedule=at_in(3600)[0]))
        # The worker that wins the claim holds there, before drawing, until the other one has fired for
        # the same time and been refused: both really compete (tests/pause_points.py).
        wids = ("wa", "wb")
        procs = [worker(pg_url, wid, "--poll", "1", at=("claim.won",)) for wid in wids]
        try:
            # Both workers are up and their first syncs have put their plan jobs in the shared store; now
            # the plan is due in 3 s, and each one's next sync (every second) moves its job there.
            for p, wid in zip(procs, wids):
                assert whole_job(p, wid, "dsr:sync", 60)["job"] == "executed"
            text_, t = at_in(3)
            with Session(eng) as s:
                s.execute(update(Plan).where(Plan.code == "PG-GS").values(schedule=text_))
                s.commit()
            winner, held = wait_any(procs, lambda m: "paused" in m, 60, "a worker to win the claim")
            assert held["paused"] == "claim.won", held
            wait_for(lambda: count(eng, ScheduleRun, ScheduleRun.outcome == "refused") == 1, 60,
                     "the other worker's refused run", procs)
            assert count(eng, Draw) == 0  # the winner had not begun its draw while the other was refused
            winner.release()
            wait_for(lambda: count(eng, ScheduleRun, ScheduleRun.outcome == "done") == 1, 60, "the winner's draw", procs)
            # A late duplicate attempt could only come from a later sync: each worker runs one whole sync
            # that began after both runs were recorded.
            recorded = time.monotonic()
            for p, wid in zip(procs, wids):
                assert whole_job(p, wid, "dsr:sync", 30, after=recorded)["job"] == "executed"
        finally:
            for p in procs:
                p.terminate()
                p.close()
        with Session(eng) as s:
            draws_ = list(s.execute(select(Draw).where(Draw.status != "voided")).scalars())
            claims = list(s.execute(select(DrawClaim)).scalars())
            rs = list(s.execute(select(ScheduleRun).order_by(ScheduleRun.outcome)).scalars())
        assert len(draws_) == 1 and draws_[0].status == "drawn" and draws_[0].period == t.strftime("%Y-%m")
        assert len(claims) == 1 and claims[0].status == "done"
        assert [r.outcome for r in rs] == ["done", "refused"]
        assert {r.worker_id for r in rs} == {"wa", "wb"}
        assert rs[1].error.startswith("duplicate") and claims[0].claimed_by == rs[0].worker_id
        assert rs[0].worker_id == wids[procs.index(winner)]
    finally:
        eng.dispose()


def test_sigkill_mid_run_leaves_nothing_partial_and_restart_completes(w, db_url):
    text_, t = at_in(2)  # run by the worker's catch-up at start or by its job: either way it is killed mid-draw
    save_approved(w, gs_plan(schedule=text_))
    # The worker holds inside the draw's transaction (the draw row claimed, its tasks written, nothing
    # committed) and is killed there (tests/pause_points.py).
    with worker(db_url, "wk", "--poll", "1", at=("draw.tasks_written",)) as p:
        p.wait_paused("draw.tasks_written", 60)
        # The restart below may take the claim over once it is older than its lease (1 s there), and
        # its worker restarted since claiming: a rule on the clock, so wait for the clock.
        with Session(w) as s:
            claimed_at = runs._utc(s.execute(select(DrawClaim.claimed_at)).scalar_one())
        wait_for(lambda: dt.datetime.now(dt.timezone.utc) - claimed_at > dt.timedelta(seconds=1.05), 30,
                 "the claim to outlive a 1 s lease")
        p.kill()
    assert count(w, Draw, Draw.status == "drawn") == 0 and count(w, Task) == 0
    assert count(w, Draw, Draw.status == "frozen") == 1  # the freeze had committed: the kill was in the draw
    assert count(w, ScheduleRun, ScheduleRun.outcome == "running") == 1
    # Restart with a short lease: the claim of the dead process is taken over and the draw completes.
    r = subprocess.run([sys.executable, "-m", "scheduler", "worker", "--id", "wk", "--once"], cwd=ROOT,
                       env=worker_env(db_url, DSR_CLAIM_LEASE="1"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with Session(w) as s:
        d = s.execute(select(Draw)).scalar_one()
        c = s.execute(select(DrawClaim)).scalar_one()
        rs = list(s.execute(select(ScheduleRun).order_by(ScheduleRun.id)).scalars())
    assert d.status == "drawn" and d.period == t.strftime("%Y-%m")
    assert (c.status, c.attempts, c.draw_id) == ("done", 2, d.id)
    assert [r.outcome for r in rs] == ["failed", "done"] and "中断" in rs[0].error
    assert rs[0].instance != rs[1].instance and rs[1].draw_id == d.id
    assert count(w, Task, Task.draw_id == d.id) > 0


# --- in-process service behaviour with an injected clock -------------------------------


def _created(engine, code: str, when: dt.datetime) -> None:
    with Session(engine) as s:
        s.execute(update(Plan).where(Plan.code == code).values(created_at=when))
        s.commit()


ME = runs.WorkerIdentity("t1")


def test_missed_run_inside_grace_runs_the_latest_and_records_older(w):
    save_approved(w, gs_plan(year=2025))  # default schedule: first working day 09:00
    _created(w, "PG-GS", dt.datetime(2025, 8, 15, tzinfo=dt.timezone.utc))
    now = dt.datetime(2025, 10, 9, 10, 0, tzinfo=TZ)  # one hour after 2025-10-09 09:00
    out = runs.catch_up(w, ME, now, runs.RunOptions(grace=dt.timedelta(hours=6)))
    assert [(r.period, r.outcome) for r in out] == [("2025-10", "done")]
    with Session(w) as s:
        missed = list(s.execute(select(ScheduleRun).where(ScheduleRun.outcome == "missed")).scalars())
        notes = list(s.execute(select(Notification).where(Notification.kind == "missed")).scalars())
        d = s.execute(select(Draw)).scalar_one()
    assert [(m.period, runs._utc(m.scheduled_for)) for m in missed] == [("2025-09", dt.datetime(2025, 9, 1, 9, tzinfo=TZ))]
    assert d.period == "2025-10" and d.status == "drawn"
    assert len(notes) == 1 and "2025-09-01 09:00" in notes[0].message and "错过" in notes[0].message
    # Idempotent: the next sync at the same time does nothing more.
    assert runs.catch_up(w, ME, now, runs.RunOptions(grace=dt.timedelta(hours=6))) == []
    assert count(w, ScheduleRun) == 2 and count(w, Notification) == 1


def test_missed_runs_outside_grace_are_recorded_not_drawn(w):
    save_approved(w, gs_plan(year=2025))
    _created(w, "PG-GS", dt.datetime(2025, 8, 15, tzinfo=dt.timezone.utc))
    now = dt.datetime(2025, 10, 9, 16, 0, tzinfo=TZ)  # seven hours late
    assert runs.catch_up(w, ME, now, runs.RunOptions(grace=dt.timedelta(hours=6))) == []
    assert count(w, Draw) == 0 and count(w, DrawClaim) == 0
    assert count(w, ScheduleRun, ScheduleRun.outcome == "missed") == 2
    with Session(w) as s:
        n = s.execute(select(Notification)).scalar_one()
    assert "2 次" in n.message and "2025-10-09 09:00" in n.message
    # A second worker sees the runs as handled and does not record them again.
    assert runs.catch_up(w, runs.WorkerIdentity("t2"), now, runs.RunOptions(grace=dt.timedelta(hours=6))) == []
    assert count(w, ScheduleRun) == 2


def test_claim_is_unique_and_the_loser_records_a_duplicate(w):
    save_approved(w, gs_plan(schedule="0 9 1 * *"))
    t = dt.datetime(2026, 3, 1, 9, tzinfo=TZ)
    r1 = runs.run_scheduled(w, runs.WorkerIdentity("a"), "PG-GS", t)
    r2 = runs.run_scheduled(w, runs.WorkerIdentity("b"), "PG-GS", t)
    assert r1.outcome == "done" and r2.outcome == "refused" and r2.error.startswith("duplicate")
    assert count(w, Draw) == 1 and count(w, DrawClaim) == 1


def test_public_seed_plans_wait_and_are_reminded(w):
    save_approved(w, gs_plan(require_public_seed=True, schedule="0 9 1 * *"))
    t = dt.datetime(2026, 3, 1, 9, tzinfo=TZ)
    r = runs.run_scheduled(w, ME, "PG-GS", t)
    assert r.outcome == "waiting_seed" and count(w, Draw) == 0
    assert runs.claims(w, "waiting_seed")[0]["period"] == "2026-03"
    now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=TZ)
    kinds = [n.kind for n in runs.reminders(w, now)]
    assert kinds == ["seed_reminder"]
    assert runs.reminders(w, now) == []  # once a day
    draws.execute(w, "PG-GS", "2026-03", seed="31415926535897932384626433")
    assert runs.reminders(w, now + dt.timedelta(days=1)) == []
    assert runs.claims(w)[0]["status"] == "done"


def test_deadline_reminders(w):
    save_approved(w, gs_plan())
    d = draws.execute(w, "PG-GS", "2026-03", seed="31415926535897932384626433")
    with Session(w) as s:
        ids = list(s.execute(select(Task.id).where(Task.draw_id == d.id, Task.rank.is_not(None)).order_by(Task.id)).scalars())
        s.execute(update(Task).where(Task.id.in_(ids[:2])).values(deadline=dt.date(2026, 3, 4)))  # soon
        s.execute(update(Task).where(Task.id.in_(ids[2:3])).values(deadline=dt.date(2026, 2, 27)))  # overdue
        s.execute(update(Task).where(Task.id.in_(ids[3:4])).values(deadline=dt.date(2026, 3, 4), published_on=dt.date(2026, 3, 1)))
        s.commit()
    got = {n.kind: n.message for n in runs.reminders(w, dt.datetime(2026, 3, 2, 8, 30, tzinfo=TZ))}
    assert got["deadline_soon"].startswith("2 项") and got["overdue"].startswith("1 项")


def test_heartbeat_status(w):
    runs.heartbeat(w, ME, now=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc))
    [alive] = runs.worker_status(w, now=dt.datetime(2026, 3, 2, 8, 0, 59, tzinfo=dt.timezone.utc))
    [dead] = runs.worker_status(w, now=dt.datetime(2026, 3, 2, 8, 1, 1, tzinfo=dt.timezone.utc))
    assert (alive.label, dead.label) == ("运行中", "已停止")


def test_set_schedule_validates_audits_and_shows_next_run(w):
    from db.models import Department
    from scheduler.access.permissions import PermissionDenied

    save_approved(w, gs_plan())
    with Session(w) as s:
        scjg = s.execute(select(Department.id).where(Department.code == "SCJGJ")).scalar_one()
        other = s.execute(select(Department.id).where(Department.code == "WJW")).scalar_one()
    with pytest.raises(PermissionDenied):  # a planner of another department
        runs.set_schedule(w, "PG-GS", "30 8 1 * *", Actor("planner-wjw", "planner", None, other))
    with pytest.raises(PermissionDenied):  # a role that does not plan
        runs.set_schedule(w, "PG-GS", "30 8 1 * *", Actor("inspector", "inspector"))
    with pytest.raises(S.ScheduleError, match="小时"):
        runs.set_schedule(w, "PG-GS", "0 25 * * *", Actor("planner", "planner", None, scjg))
    runs.set_schedule(w, "PG-GS", "30  8 1 * *", Actor("planner", "planner", None, scjg))
    with Session(w) as s:
        assert s.execute(select(Plan.schedule)).scalar_one() == "30 8 1 * *"
        ev = s.execute(select(AuditEvent).where(AuditEvent.action == "plan.schedule")).scalar_one()
    assert ev.actor == "planner"
    [p] = list_plans(w)
    nxt = dt.datetime.fromisoformat(p["next_run"])
    assert p["next_run"].endswith("+08:00") and (nxt.day, nxt.hour, nxt.minute) == (1, 8, 30) and p["next_run_error"] == ""
    runs.set_schedule(w, "PG-GS", "at 2020-01-01T09:00:00+08:00", Actor("planner", "planner", None, scjg))
    assert list_plans(w)[0]["next_run"] is None


class _Hook(http.server.BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):  # noqa: N802
        n = int(self.headers["Content-Length"])
        _Hook.got.append(json.loads(self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):  # quiet
        pass


def test_webhook_posts_notifications_and_failures_are_not_fatal(w, monkeypatch):
    _Hook.got = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        monkeypatch.setenv("DSR_WEBHOOK_URL", f"http://127.0.0.1:{srv.server_port}/hook")
        n = runs.notify(w, None, "missed", "测试通知", "plan:X", key="k1")
        assert runs.notify(w, None, "missed", "测试通知", "plan:X", key="k1") is None  # once per key
    finally:
        srv.shutdown()
        srv.server_close()
    assert _Hook.got == [runs.notification_json(n)] and _Hook.got[0]["message"] == "测试通知"
    monkeypatch.setenv("DSR_WEBHOOK_URL", f"http://127.0.0.1:{srv.server_port}/gone")
    assert runs.notify(w, None, "missed", "服务已停", key="k2") is not None  # stored even though the POST fails
    assert runs.post_webhook(f"http://127.0.0.1:{srv.server_port}/gone", {"a": 1}, timeout=0.5) is False


def test_schedules_page_shows_worker_and_saves_a_schedule(sqlite_url, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from tests.ui_steps import login as ui_login

    from scheduler.calendar.service import ensure_seeded
    from ui import nav

    eng = make_engine(sqlite_url)
    world(eng, 300)
    ensure_seeded(eng)
    save_approved(eng, gs_plan())
    runs.heartbeat(eng, runs.WorkerIdentity("w-ui"))
    runs.notify(eng, None, "missed", "计划 PG-GS 有 1 次定时抽取错过", key="ui1")
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    st.cache_resource.clear()
    at = ui_login(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90))
    at.switch_page(nav.page_path("schedules.py")).run()
    assert not at.exception, at.exception
    assert any("运行中" in s.value and "w-ui" in s.value for s in at.success)
    at.text_input(key="sched_text").input("0 25 * * *")
    at.button[0].click().run()
    assert any("小时" in e.value for e in at.error)
    at.text_input(key="sched_text").input("first_working_day_of_quarter 10:00")
    at.button[0].click().run()
    assert not at.exception
    with Session(eng) as s:
        assert s.execute(select(Plan.schedule)).scalar_one() == "first_working_day_of_quarter 10:00"
    st.cache_resource.clear()
    eng.dispose()
