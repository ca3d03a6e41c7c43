"""Many users at once. PostgreSQL: 20 planner threads edit plans, draw their own plans
and all race for the same plan+period; SQLite: the app writes while the worker draws.

Checked afterwards: one live draw per (plan, period), the final plan state is the
last committed edit (as the audit chain orders them), the audit chain is one
unforked chain that verifies; on SQLite no "database is locked".
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import Counter

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from db.engine import make_engine
from db.models import AuditEvent, Draw, Plan, Task
from scheduler.audit.chain import digest_of
from scheduler.audit import service as auditlog
from scheduler.draw import service as draws
from scheduler.access.context import CLI
from scheduler.plans.service import PlanInput, save_plan
from scheduler.plans.versions import approve_plan, publish_plan
from tests.factories import APPROVER, save_approved
from tests.conftest import _truncate_pg
from tests.factories import world
from tests.pause_points import Child

USERS = 20
ROUNDS = 3
RATIOS = {"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}


def plan(code: str, description: str = "") -> PlanInput:
    return PlanInput(code=code, name=f"并发测试计划 {code}", lead_department="SCJGJ", item_codes=["GS-01"],
                     ratios=RATIOS, description=description, reason=f"并发修改 {description}")


def approve(eng, code: str) -> None:
    approve_plan(eng, code, APPROVER)
    publish_plan(eng, code, APPROVER)


def _plan_payload(p: Plan) -> dict:
    # What save_plan records for a plan (scheduler/plans/service.py): the plan as saved, a draft not yet approved.
    draft = p.model_copy(update={"status": "draft", "approved_by": "", "approved_at": None, "published_by": "",
                                 "published_at": None})
    return {"plan": draft.model_dump(mode="json", exclude={"id", "created_at", "updated_at"}), "items": ["GS-01"]}


@pytest.mark.postgres
def test_twenty_planners_at_once_on_postgresql(pg_url):
    _truncate_pg(pg_url)
    setup = make_engine(pg_url)
    world(setup, 1000)
    save_approved(setup, plan("SHARED"))
    for i in range(USERS):
        save_approved(setup, plan(f"OWN-{i:02d}"))
    barrier = threading.Barrier(USERS, timeout=60)
    ops: Counter = Counter()
    refused: Counter = Counter()
    errors: list[str] = []
    written: dict[str, list[str]] = {"SHARED": []}
    lock = threading.Lock()

    def planner(i: int) -> None:
        eng = make_engine(pg_url)
        try:
            for r in range(ROUNDS):
                period = f"2026-{r + 1:02d}"  # periods of the plans' year (2026)
                barrier.wait()  # everyone draws the same plan+period at the same moment
                try:
                    draws.execute(eng, "SHARED", period, seed=f"{r + 1}" + "0" * 19 + f"{i:02d}")
                    with lock:
                        ops["shared_draw_won"] += 1
                except draws.DrawRefused:
                    with lock:
                        refused["shared_draw"] += 1
                barrier.wait()  # the draw is over before anyone changes SHARED (a change makes it a draft)
                for code in ("SHARED", f"OWN-{i:02d}"):
                    desc = f"user{i}-round{r}-{code}"
                    save_plan(eng, plan(code, desc))  # each change opens a new version, a draft
                    with lock:
                        ops["plan_save"] += 1
                        written.setdefault(code, []).append(desc)
                approve(eng, f"OWN-{i:02d}")
                barrier.wait()  # every change of SHARED is in; one approval makes it drawable again
                if i == 0:
                    approve(eng, "SHARED")
                barrier.wait()
                draws.execute(eng, f"OWN-{i:02d}", period, seed=f"{r + 7}" + "1" * 19 + f"{i:02d}")
                with lock:
                    ops["own_draw"] += 1
        except Exception:  # noqa: BLE001 - every unexpected failure is reported, then fails the test
            with lock:
                errors.append(traceback.format_exc())
            barrier.abort()
        finally:
            eng.dispose()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=planner, args=(i,)) for i in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    seconds = time.perf_counter() - t0
    print(f"\n{USERS} users, {seconds:.1f} s: operations {dict(ops)}, expected refusals {dict(refused)}, "
          f"errors {len(errors)}")
    assert not errors, errors[0]
    assert ops["shared_draw_won"] == ROUNDS and refused["shared_draw"] == ROUNDS * (USERS - 1)
    assert ops["own_draw"] == ROUNDS * USERS and ops["plan_save"] == 2 * ROUNDS * USERS
    with Session(setup) as s:
        live = s.execute(select(Draw.plan_id, Draw.period, func.count()).where(Draw.status != "voided")
                         .group_by(Draw.plan_id, Draw.period)).all()
        assert len(live) == ROUNDS * (USERS + 1) and all(n == 1 for *_k, n in live)
        assert s.execute(select(func.count()).select_from(Draw).where(Draw.status != "drawn")).scalar_one() == 0
        empty = s.execute(select(func.count()).select_from(Draw).where(
            ~select(Task.id).where(Task.draw_id == Draw.id).exists())).scalar_one()
        assert empty == 0
        for code, descs in written.items():
            p = s.execute(select(Plan).where(Plan.code == code)).scalar_one()
            assert p.description in descs
            # The last plan.update in the chain is the state the database kept: no edit was lost or reordered.
            last = s.execute(select(AuditEvent.digest).where(AuditEvent.object == f"plan:{code}",
                                                             AuditEvent.action.in_(("plan.create", "plan.update")))
                             .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
            assert last == digest_of(_plan_payload(p)), code
        n_ev = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        n_prev = s.execute(select(func.count(func.distinct(AuditEvent.prev_hash)))).scalar_one()
    rep = auditlog.verify(setup)
    setup.dispose()
    assert n_prev == n_ev, f"the audit chain forked: {n_ev} events but {n_prev} distinct predecessors"
    assert rep.ok, rep.first_broken


def test_concurrent_audit_writers_keep_one_chain_from_empty(db_url):
    """20 writers whose transactions write nothing but the event, from an empty chain
    (no head row to lock), on both back-ends: one chain."""
    engines = [make_engine(db_url) for _ in range(USERS)]
    barrier = threading.Barrier(USERS, timeout=30)
    errors: list[str] = []

    def writer(k: int) -> None:
        try:
            for j in range(10):
                barrier.wait() if j == 0 else None
                with Session(engines[k]) as s:
                    auditlog.record(s, CLI, "test.concurrent", f"w:{k}:{j}", {"k": k, "j": j})
                    s.commit()
        except Exception:  # noqa: BLE001
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]
    rep = auditlog.verify(engines[0])
    with Session(engines[0]) as s:
        n_prev = s.execute(select(func.count(func.distinct(AuditEvent.prev_hash)))).scalar_one()
    for e in engines:
        e.dispose()
    assert rep.events == USERS * 10 and n_prev == rep.events and rep.ok, rep.first_broken


def test_sqlite_app_writes_while_worker_draws(sqlite_url):
    eng = make_engine(sqlite_url)
    world(eng, 60_000)
    save_approved(eng, plan("PG-GS"))
    env = dict(os.environ, DSR_DATABASE_URL=sqlite_url)
    # The app's own engine; `writing` is set when one of its write statements begins, that is when it
    # asks for SQLite's write lock (the trace callback runs before the statement takes any lock).
    app = make_engine(sqlite_url)
    writing = threading.Event()

    @event.listens_for(app, "connect")
    def _trace(dbapi_conn, _record) -> None:
        dbapi_conn.set_trace_callback(
            lambda sql: writing.set() if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE") else None)

    writes: list[int] = []
    errors: list[str] = []

    def app_writes(k: int) -> None:
        for _ in range(k):
            n = len(writes)
            try:
                save_plan(app, plan("APP", f"edit {n}"))
                with Session(app) as s:
                    auditlog.record(s, CLI, "test.app_write", f"n:{n}", {"n": n})
                    s.commit()
                writes.append(n)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    def writes_against_the_draws_lock(child: Child, point: str) -> None:
        """The draw holds SQLite's write lock at `point`: the app's writes begin, wait for it, go through."""
        child.wait_paused(point, timeout=240)
        writing.clear()
        t = threading.Thread(target=app_writes, args=(4,))
        t.start()
        assert writing.wait(60), "the app's write did not begin"
        child.release()
        t.join(120)
        assert not t.is_alive(), "the app's writes hung"

    # The draw stops (tests/pause_points.py) in its freeze's transaction, between its two transactions,
    # and in the draw's transaction; the app writes at each.
    draw = ["draw", "PG-GS", "--period", "2026-12", "--seed", "31415926535897932384626433"]
    with Child(draw, at=["freeze.before_commit", "freeze.committed", "draw.tasks_written"], env=env) as child:
        writes_against_the_draws_lock(child, "freeze.before_commit")
        child.wait_paused("freeze.committed", timeout=240)
        app_writes(4)  # between the draw's transactions: no lock to wait for
        child.release()
        writes_against_the_draws_lock(child, "draw.tasks_written")
        code = child.wait(300)
        out = child.output()
    print(f"\nSQLite: {len(writes)} app writes while the draw ran; app errors {len(errors)}; draw exit {code}")
    assert code == 0, out
    assert "database is locked" not in out
    assert not errors, errors[:3]
    assert writes == list(range(12))
    rep = auditlog.verify(eng)
    with Session(eng) as s:
        assert s.execute(select(Draw.status)).scalars().all() == ["drawn"]
        ids = dict(s.execute(select(AuditEvent.action, AuditEvent.id)
                             .where(AuditEvent.action.in_(("draw.freeze", "draw.execute")))).all())
        by_n = dict(s.execute(select(AuditEvent.object, AuditEvent.id).where(AuditEvent.action == "test.app_write")).all())
    app.dispose()
    eng.dispose()
    assert rep.ok
    # The writes begun while the draw held the lock came after its commit, in the order they were made.
    app_ids = [by_n[f"n:{n}"] for n in range(12)]
    assert ids["draw.freeze"] < app_ids[0] and app_ids == sorted(app_ids)
    assert app_ids[7] < ids["draw.execute"] < app_ids[8]
