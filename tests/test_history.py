"""Demo history: every result state exists, the same seed gives the same past, and every draw still verifies."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import (
    AuditEvent,
    CheckItem,
    Draw,
    FollowUp,
    ItemResult,
    Plan,
    Task,
    TaskEvent,
)
from scheduler.results import lifecycle as lc
from scheduler.audit import service as auditlog
from scheduler.draw import service as draws
from scheduler.results import service as rs
from scheduler.demo.service import create_demo
from scheduler.demo.history import create_history, draw_seed, month_back
from scheduler.results.dashboard import deadline_overview, month_plans
from scheduler.verify import verify_package

TODAY = dt.date(2026, 11, 27)  # a Friday
N = 1500


def _build(path) -> tuple:
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    create_demo(eng, N, seed=7)
    return eng, create_history(eng, TODAY, seed=7, rounds=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    eng, summary = _build(tmp_path_factory.mktemp("hist") / "a.db")
    yield eng, summary
    eng.dispose()


def _signature(eng) -> tuple:
    """Everything the history decides, without ids of audit rows or wall-clock timestamps."""
    with Session(eng) as s:
        ds = s.execute(select(Plan.code, Draw.period, Draw.seed, Draw.frame_sha256).join(Plan, Plan.id == Draw.plan_id)
                       .order_by(Plan.code, Draw.period)).all()
        ts = s.execute(select(Task.id, Task.kind, Task.uscc, Task.status, Task.completed_on, Task.deadline,
                              Task.published_on).order_by(Task.id)).all()
        rsl = s.execute(select(ItemResult.task_id, ItemResult.item_id, ItemResult.status, ItemResult.categories,
                               ItemResult.inspected_on, ItemResult.published_on, ItemResult.entered_by,
                               ItemResult.reviewed_by, ItemResult.review_note).order_by(ItemResult.id)).all()
        fs = s.execute(select(FollowUp.result_id, FollowUp.action, FollowUp.status, FollowUp.outcome).order_by(FollowUp.id)).all()
    return ds, ts, rsl, fs


def test_every_state_exists(built):
    eng, h = built
    assert len(h.draws) >= 12 and {p for _, p, _ in h.draws} == {"2026-08", "2026-09", "2026-10"}
    for sc in ("on_time", "late", "overdue", "awaiting_review", "sent_back", "follow_up_open", "follow_up_closed",
               "cannot_inspect", "case", "due_soon", "inspecting"):
        assert h.count(sc) >= 1, sc
    with Session(eng) as s:
        tasks = {t.id: t for t in s.execute(select(Task)).scalars()}
        res = list(s.execute(select(ItemResult)).scalars())
        fus = list(s.execute(select(FollowUp)).scalars())
        n_events = s.execute(select(func.count()).select_from(TaskEvent)).scalar_one()
        actions = set(s.execute(select(AuditEvent.action)).scalars())
        roles = dict(s.execute(select(AuditEvent.action, AuditEvent.role)).all())
    by_task: dict[int, list[ItemResult]] = {}
    for r in res:
        by_task.setdefault(r.task_id, []).append(r)

    for tid in h.scenarios["on_time"]:
        t = tasks[tid]
        assert t.status == "published" and t.published_on <= t.deadline
    for tid in h.scenarios["late"]:
        t = tasks[tid]
        assert t.status == "published" and t.published_on > t.deadline
    for tid in h.scenarios["overdue"]:
        t = tasks[tid]
        assert t.status == "reviewed" and t.deadline < TODAY
    for tid in h.scenarios["due_soon"]:
        t = tasks[tid]
        assert t.status == "reviewed" and TODAY <= t.deadline <= TODAY + dt.timedelta(days=5)
    for tid in h.scenarios["awaiting_review"]:
        assert tasks[tid].status == "completed" and {r.status for r in by_task[tid]} == {lc.PENDING}
    for tid in h.scenarios["sent_back"]:
        back = [r for r in by_task[tid] if r.status == lc.RETURNED]
        assert back and all(r.review_note for r in back)
    for tid in h.scenarios["cannot_inspect"]:
        assert tasks[tid].status == "cannot_inspect" and "无法检查" in tasks[tid].note
    for tid in h.scenarios["inspecting"]:
        assert tasks[tid].status == "inspecting"
    (case,) = h.scenarios["case"]
    assert tasks[case].kind == "case" and tasks[case].draw_id is None and tasks[case].status == "published"
    opened = {f.task_id: f.status for f in fus}
    assert all(opened[t] == "open" for t in h.scenarios["follow_up_open"])
    assert all(opened[t] == "closed" for t in h.scenarios["follow_up_closed"])
    # 无法联系: published and listed on 经营异常名录 (docs/follow-up.md), never replaced by a reserve.
    from scheduler.results import followup_service as fu

    listed = {r["统一社会信用代码"] for r in fu.abnormal_list(eng)}
    assert h.count("unreachable") >= 1 and {tasks[t].uscc for t in h.scenarios["unreachable"]} <= listed
    assert all(tasks[t].status == "published" and opened[t] == "closed" for t in h.scenarios["unreachable"])
    # Real services, real actors: task events and audit events by role.
    assert n_events > len(h.scenarios["on_time"]) * 4
    assert {"draw.execute", "result.enter", "result.approve", "result.return", "result.publish", "followup.open",
            "followup.close", "task.case", "task.status"} <= actions
    assert roles["draw.execute"] == "planner" and roles["result.approve"] == "reviewer"
    assert roles["result.enter"] == "inspector"
    assert auditlog.verify(eng).ok


def test_history_feeds_the_queues_and_dashboard(built):
    eng, h = built
    with Session(eng) as s:
        bid = s.execute(select(Plan.bureau_id)).scalars().first()
    d = rs.dashboard(eng, bid, 2026)
    assert d["plan"]["done"] >= h.count("on_time") + h.count("late")
    assert 0 < d["plan"]["completion_share"] < 1
    pub = d["publication"]["区市场监管局"]
    assert pub["published"] > 0 and 0 < pub["on_time_rate"] <= 1
    assert d["outside_draws"]["case"] == 1
    over = deadline_overview(eng, bid, TODAY)
    assert over["overdue"] >= h.count("overdue") and over["due_soon"] >= h.count("due_soon")
    assert month_plans(eng, bid, dt.date(2026, 10, 15)) and not month_plans(eng, bid, TODAY)


def test_deterministic_and_idempotent(built, tmp_path):
    eng, h = built
    eng2, h2 = _build(tmp_path / "b.db")
    try:
        assert h2.scenarios == h.scenarios and h2.draws == h.draws and h2.results == h.results
        assert _signature(eng2) == _signature(eng)
        again = create_history(eng2, TODAY, seed=7, rounds=1)
        assert not again.draws and len(again.skipped) == len(h.draws) and again.results == 0
        assert _signature(eng2) == _signature(eng)
    finally:
        eng2.dispose()
    assert draw_seed(7, "PG-2026-GS", "2026-10") != draw_seed(8, "PG-2026-GS", "2026-10")
    assert len(draw_seed(7, "X", "2026-10")) == 32
    assert [month_back(dt.date(2026, 1, 31), k) for k in (1, 2, 13)] == ["2025-12", "2025-11", "2024-12"]


def test_every_stored_draw_still_verifies(built, tmp_path):
    eng, h = built
    for code, period, draw_id in h.draws:
        a, p = tmp_path / f"a{draw_id}", tmp_path / f"p{draw_id}"
        draws.write_packages(eng, draw_id, a, p)
        ra, rp = verify_package(a), verify_package(p)
        assert ra.ok and rp.ok, (code, period, ra, rp)
        with Session(eng) as s:
            assert s.get(Draw, draw_id).seed == draw_seed(7, code, period)


def test_history_on_postgresql_too(engine):
    create_demo(engine, 800, seed=3)
    h = create_history(engine, TODAY, seed=3, months=2, rounds=1)
    assert h.draws and h.count("on_time") and h.count("overdue") and h.count("case") == 1
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(ItemResult).where(ItemResult.status == lc.PUBLISHED)).scalar_one()
        assert s.execute(select(func.count()).select_from(CheckItem)).scalar_one()
    assert auditlog.verify(engine).ok
