"""Teams matched inside the draw transaction: rules hold, the package re-verifies, replacement."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import Conflict, Department, Inspector, Task, TaskEvent, TeamMember
from scheduler.draw import service as draws
from scheduler.matching import service as teams
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from scheduler.verify import verify_package
from tests.factories import JOINT, joint_plan_database, world

SEED = "31415926535897932384626433"


@pytest.fixture
def drawn(engine, monkeypatch):
    """JOINT drawn as a large draw is (half of the tickets and the matching in forked children),
    on SQLite and on PostgreSQL; small draws run in one process."""
    from scheduler.runtime import cores

    monkeypatch.setattr(draws, "FORK_MATCHING_TASKS", 1)
    monkeypatch.setattr(cores, "MIN_SPLIT", 2)
    world(engine, 1500)
    save_approved(engine, JOINT)
    d = draws.execute(engine, "PG-SP", "2026-12", seed=SEED)
    return engine, d


def _teams(s, draw_id):
    out = []
    for t in s.execute(select(Task).where(Task.draw_id == draw_id, Task.status != "reserve")).scalars():
        out.append((t, list(s.execute(select(TeamMember).where(TeamMember.task_id == t.id, TeamMember.active)
                                .order_by(TeamMember.slot)).scalars())))
    return out


def test_teams_obey_the_rules(drawn):
    engine, d = drawn
    cert = json.loads(d.certificate)
    specs = {t["entity_id"]: t for t in cert["matching"]["task_specs"]}
    with Session(engine) as s:
        dept = {x.id: x.code for x in s.execute(select(Department)).scalars()}
        ins = {i.id: i for i in s.execute(select(Inspector)).scalars()}
        conflicts = {(c.inspector_pk, c.uscc) for c in s.execute(select(Conflict)).scalars()}
        tt = _teams(s, d.id)
    loads: dict[int, int] = {}
    short = 0
    for t, members in tt:
        sworn = [m for m in members if m.inspector_pk]
        spec = specs[t.uscc]
        if t.status == "assigned":
            assert len(sworn) >= max(2, len(spec["departments"]))
            assert {dept[m.department_id] for m in sworn} >= set(spec["departments"])
            assert sworn[0].role == "leader" and dept[sworn[0].department_id] == spec["departments"][0]
        else:
            short += 1
            assert t.note.startswith("缺员")
        for m in sworn:
            i = ins[m.inspector_pk]
            assert i.active
            assert (i.id, t.uscc) not in conflicts
            assert set(spec["required"][dept[m.department_id]]) <= set(i.qualifications.split(";")) - {""} or \
                m.slot > len(spec["departments"])
            loads[i.id] = loads.get(i.id, 0) + 1
        assert all(m.expert_pk is None or m.role == "expert" for m in members)
    assert max(loads.values()) <= 6
    assert short == len({t["entity_id"] for t in cert["matching"]["tasks"] if t["short_staffed"]})


def test_package_with_teams_verifies_and_an_altered_team_fails(drawn, tmp_path):
    engine, d = drawn
    draws.write_packages(engine, d.id, tmp_path / "a", tmp_path / "p")
    for f in ("roster.csv", "experts.csv", "conflicts.csv", "loads.csv", "last.csv"):
        assert (tmp_path / "a" / f).exists()
        assert not (tmp_path / "p" / f).exists()
    assert verify_package(tmp_path / "a").ok
    assert verify_package(tmp_path / "p").ok
    pub = json.loads((tmp_path / "p" / "certificate.json").read_text(encoding="utf-8"))
    assert "conflicts_sha256" in pub["matching"] and "tasks" not in pub["matching"]

    cert = json.loads((tmp_path / "a" / "certificate.json").read_text(encoding="utf-8"))
    team = next(t for t in cert["matching"]["tasks"] if len(t["team"]) >= 2)
    team["team"][0], team["team"][1] = team["team"][1], team["team"][0]
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    rep = verify_package(tmp_path / "b")
    assert not rep.ok and "检查组" in rep.first_difference

    conflicts = (tmp_path / "a" / "conflicts.csv").read_bytes()
    (tmp_path / "a" / "conflicts.csv").write_bytes(conflicts + b"SCJGJ-0000,911101170000000000\n")
    rep = verify_package(tmp_path / "a")
    assert not rep.ok and "回避关系" in rep.first_difference


def test_rotation_and_prior_loads_follow_earlier_draws(drawn):
    engine, d1 = drawn
    save_approved(engine, PlanInput(code="PG-SP2", name="第二轮", lead_department="SCJGJ", item_codes=["SP-01", "WS-01"],
                                ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}, workload_cap=6))
    d2 = draws.execute(engine, "PG-SP2", "2026-12", seed="27182818284590452353602874")
    cert2 = json.loads(d2.certificate)
    with Session(engine) as s:
        t1 = {t.uscc: {m.inspector_pk for m in ms if m.inspector_pk} for t, ms in _teams(s, d1.id)}
        t2 = {t.uscc: {m.inspector_pk for m in ms if m.inspector_pk} for t, ms in _teams(s, d2.id)}
        loads: dict[int, int] = {}
        for ms in list(t1.values()) + list(t2.values()):
            for pk in ms:
                loads[pk] = loads.get(pk, 0) + 1
    for u in set(t1) & set(t2):
        assert not (t1[u] & t2[u]), "the last inspectors of an entity are never matched to it again"
    assert max(loads.values()) <= 6, "the cap counts tasks of earlier draws of the same period"
    assert cert2["matching"]["loads_sha256"] != cert2["matching"]["last_sha256"]


def test_replace_inspector_refills_only_that_slot(drawn):
    engine, d = drawn
    with Session(engine) as s:
        t, members = next((t, ms) for t, ms in _teams(s, d.id) if t.status == "assigned" and len(ms) >= 2)
        leaving = s.get(Inspector, members[1].inspector_pk).inspector_id
        others = {m.inspector_pk for m in members if m.slot != members[1].slot}
    from sqlalchemy import update

    from db.models import Plan

    with engine.begin() as c:  # a cap nobody has reached yet, so a replacement exists
        c.execute(update(Plan).where(Plan.code == "PG-SP").values(workload_cap=50))
    new = teams.replace_inspector(engine, t.id, leaving, "病假")
    with Session(engine) as s:
        now = {m.inspector_pk for m in s.execute(select(TeamMember).where(TeamMember.task_id == t.id, TeamMember.active)).scalars()}
        assert others <= now and new.inspector_pk in now and len(now) == len(members)
        assert s.get(Inspector, new.inspector_pk).inspector_id != leaving
        ev = s.execute(select(TaskEvent).where(TaskEvent.task_id == t.id).order_by(TaskEvent.id.desc())).scalars().first()
        assert leaving in ev.reason and "病假" in ev.reason
    with pytest.raises(teams.ReplaceRefused):
        teams.replace_inspector(engine, t.id, leaving, "再次")


def test_matching_in_a_forked_child_stores_what_matching_here_stores(tmp_path, monkeypatch):
    """A draw matches in a forked child while it stores its tasks (tasks first written as
    assigned, short-staffed ones corrected afterwards): the stored teams, statuses, notes,
    events and certificate are those of matching in the draw's own process."""
    from db.models import Draw
    from scheduler.runtime import cores

    forks = []
    real_init = cores.Forked.__init__

    def spy(self, fn, *a, **k):
        real_init(self, fn, *a, **k)
        forks.append(self.pid is not None)

    monkeypatch.setattr(cores.Forked, "__init__", spy)
    stored = []
    for threshold in (1, 10**9):
        monkeypatch.setattr(draws, "FORK_MATCHING_TASKS", threshold)
        eng = joint_plan_database(tmp_path / f"fork-{threshold}.db")
        d = draws.execute(eng, "PG-SP", "2026-12", seed=SEED)
        with Session(eng) as s:
            cert = json.loads(s.get(Draw, d.id).certificate)
            tasks = [(t.uscc, t.status, t.note) for t in s.execute(select(Task).order_by(Task.id)).scalars()]
            members = sorted((tm.task_id, tm.slot, tm.inspector_pk, tm.expert_pk, tm.role, tm.department_id,
                              tm.pair_ticket, tm.active) for tm in s.execute(select(TeamMember)).scalars())
            events = sorted((e.task_id, e.from_status, e.to_status, e.reason) for e in s.execute(select(TaskEvent)).scalars())
        stored.append(({k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")}, tasks, members, events))
        eng.dispose()
    assert forks == [True, False]
    assert stored[0] == stored[1]
    assert any(status == "drawn" and note.startswith("缺员") for _, status, note in stored[0][1])  # corrected ones
    assert any(status == "assigned" for _, status, _ in stored[0][1])


def test_a_forked_draw_from_a_busy_threaded_process_completes_with_the_same_result(tmp_path, monkeypatch):
    """The app draws from a thread of the Streamlit server, the worker from a thread of its pool,
    while other threads hash, log and hold locks: the forked children (half of the tickets, the
    matching) must neither hang nor change the result."""
    import hashlib
    import logging
    import threading

    from db.models import Draw
    from scheduler.runtime import cores

    stop = threading.Event()

    def busy() -> None:  # OpenSSL hashing and the logging lock, all the time
        log = logging.getLogger("dsr.test.busy")
        while not stop.is_set():
            hashlib.sha256(b"x" * 4096).hexdigest()
            log.debug("busy")

    certs = []
    for forked in (True, False):
        monkeypatch.setattr(draws, "FORK_MATCHING_TASKS", 1 if forked else 10**9)
        monkeypatch.setattr(cores, "MIN_SPLIT", 2 if forked else 10**9)
        eng = joint_plan_database(tmp_path / f"busy-{forked}.db")
        others = [threading.Thread(target=busy) for _ in range(3)]
        for t in others:
            t.start()
        out = {}
        drawer = threading.Thread(target=lambda: out.update(d=draws.execute(eng, "PG-SP", "2026-12", seed=SEED)))
        try:
            drawer.start()
            drawer.join(timeout=120)
            assert not drawer.is_alive(), "the draw hung"
        finally:
            stop.set()
            for t in others:
                t.join()
            stop.clear()
        with Session(eng) as s:
            cert = json.loads(s.get(Draw, out["d"].id).certificate)
        certs.append({k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")})
        eng.dispose()
    assert certs[0] == certs[1]
