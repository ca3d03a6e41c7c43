"""The audit trail is a hash chain: edits, deletions, reorderings and truncation are detected."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, select, text, update
from sqlmodel import Session

from db.engine import make_engine
from db.models import AuditEvent
from scheduler.audit import service as auditlog
from scheduler.draw import service as draws
from scheduler.access.context import Actor
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import world


@pytest.fixture
def chained(engine):
    world(engine, 300)
    save_approved(engine, PlanInput(code="PG-GS", name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
    draws.execute(engine, "PG-GS", "2026-12", seed="11111111112222222222")
    with Session(engine) as s:
        for i in range(5):
            auditlog.record(s, Actor(f"user{i}", "planner"), "test.event", f"obj:{i}", {"i": i, "名称": "测试"})
        s.commit()
    return engine


def test_intact_chain_verifies_and_every_action_is_there(chained):
    rep = auditlog.verify(chained)
    assert rep.ok and rep.events >= 9
    with Session(chained) as s:
        actions = list(s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    for a in ("bureau.create", "plan.create", "draw.freeze", "draw.execute"):
        assert a in actions


def _ids(engine):
    with Session(engine) as s:
        return list(s.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars())


def test_edit_is_detected(chained):
    ids = _ids(chained)
    with chained.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == ids[3]).values(actor="someone-else"))
    rep = auditlog.verify(chained)
    assert not rep.ok and "被修改" in rep.first_broken and f"#{ids[3]}" in rep.first_broken


def test_deletion_is_detected(chained):
    ids = _ids(chained)
    with chained.begin() as c:
        c.execute(delete(AuditEvent).where(AuditEvent.id == ids[2]))
    rep = auditlog.verify(chained)
    assert not rep.ok and "删除" in rep.first_broken


def test_reordering_is_detected(chained):
    ids = _ids(chained)
    a, b = ids[4], ids[5]
    with chained.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == a).values(id=-1))
        c.execute(update(AuditEvent).where(AuditEvent.id == b).values(id=a))
        c.execute(update(AuditEvent).where(AuditEvent.id == -1).values(id=b))
    rep = auditlog.verify(chained)
    assert not rep.ok and "顺序" in rep.first_broken


def test_truncation_is_detected_against_a_recorded_head(chained):
    head = auditlog.verify(chained).head
    ids = _ids(chained)
    with Session(chained) as s:
        auditlog.record(s, Actor("later", "planner"), "test.later", "obj:x", {})
        s.commit()
    assert auditlog.verify(chained, head).ok, "a head recorded earlier stays in a growing chain"
    with chained.begin() as c:
        c.execute(delete(AuditEvent).where(AuditEvent.id >= ids[-1]))
    assert auditlog.verify(chained).ok, "the chain alone cannot see a cut tail"
    rep = auditlog.verify(chained, head)
    assert not rep.ok and "截断" in rep.first_broken


def test_cli_verify_and_export(chained, db_url, tmp_path):
    env = {**os.environ, "DSR_DATABASE_URL": db_url}
    r = subprocess.run([sys.executable, "-m", "scheduler", "audit", "export", "--out", str(tmp_path / "chain.jsonl")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "chain.jsonl").read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    assert last["verified"] is True and last["events"] == len(lines) - 1
    assert json.loads(lines[-2])["hash"] == last["head"]
    assert subprocess.run([sys.executable, "-m", "scheduler", "audit", "verify"], env=env, capture_output=True,
                          timeout=120).returncode == 0
    eng = make_engine(db_url)
    with eng.begin() as c:
        c.execute(text("UPDATE auditevent SET object = 'x' WHERE id = (SELECT min(id) FROM auditevent)"))
    eng.dispose()
    bad = subprocess.run([sys.executable, "-m", "scheduler", "audit", "verify"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and "被修改" in bad.stderr


def test_moving_an_event_to_another_bureau_is_detected(chained):
    """Issue 18 §6: the bureau decides which auditors see an event; before, it was outside the hash."""
    ids = _ids(chained)
    with Session(chained) as s:
        bureau = s.get(AuditEvent, ids[-1]).bureau_id
    with chained.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == ids[-1]).values(bureau_id=None if bureau else 1))
    rep = auditlog.verify(chained)
    assert not rep.ok and f"#{ids[-1]}" in rep.first_broken


def test_an_edited_payload_is_detected(chained):
    ids = _ids(chained)
    with chained.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == ids[-1]).values(payload='{"i":99}'))
    rep = auditlog.verify(chained)
    assert not rep.ok and "摘要不符" in rep.first_broken


def test_migration_0007_seals_the_version_1_events(tmp_path):
    """A chain written under the version-1 rule (before 0007) still verifies after the upgrade, and
    moving one of its events to another bureau breaks the seal that 0007 appended."""
    import datetime as dt

    from alembic import command

    from db.migrate import alembic_config, upgrade
    from scheduler.audit.chain import GENESIS, SEAL_ACTION, event_hash

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(eng), "0004")
    prev = GENESIS
    with eng.begin() as c:
        c.execute(text("INSERT INTO bureau (id, code, name, level, area_code) VALUES (1, 'PG', '平谷区', 'district', '110117')"))
        for i in range(1, 5):
            at = dt.datetime(2026, 11, 1, 8, 0, i, 250_000, tzinfo=dt.timezone.utc)
            h = event_hash(prev, at, f"user{i}", "planner", "test.event", f"obj:{i}", "d" * 64)
            c.execute(text("INSERT INTO auditevent (id, at, bureau_id, actor, role, action, object, digest, prev_hash, hash) "
                           "VALUES (:id, :at, :b, :a, 'planner', 'test.event', :o, :d, :p, :h)"),
                      {"id": i, "at": at.strftime("%Y-%m-%d %H:%M:%S.%f"), "b": 1 if i % 2 else None, "a": f"user{i}",
                       "o": f"obj:{i}", "d": "d" * 64, "p": prev, "h": h})
            prev = h
    upgrade(eng)
    rep = auditlog.verify(eng)
    assert rep.ok, rep.first_broken
    with Session(eng) as s:
        auditlog.record(s, Actor("admin", "admin"), "test.after", "obj:new", {"ok": True})
        s.commit()
        rows = list(s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
    assert [r.hash_version for r in rows] == [1, 1, 1, 1, 2, 2] and rows[4].action == SEAL_ACTION
    assert auditlog.verify(eng).ok
    with eng.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == 2).values(bureau_id=1))
    rep = auditlog.verify(eng)
    assert not rep.ok and SEAL_ACTION in rep.first_broken
    eng.dispose()


def test_head_is_published_with_the_public_export_and_catches_a_cut_history(chained, db_url, tmp_path):
    """Issue 18 §6: `dsr audit head` prints the head; `dsr export` writes it to audit-head.json and into
    every public package; whoever kept an earlier one detects a truncated history."""
    env = {**os.environ, "DSR_DATABASE_URL": db_url}
    r = subprocess.run([sys.executable, "-m", "scheduler", "audit", "head"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == auditlog.verify(chained).head
    r = subprocess.run([sys.executable, "-m", "scheduler", "export", "--out", str(tmp_path / "pub")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    kept = json.loads((tmp_path / "pub" / "audit-head.json").read_text(encoding="utf-8"))
    packages = list((tmp_path / "pub" / "packages").iterdir())
    assert packages and all(json.loads((p / "audit-head.json").read_text(encoding="utf-8")) == kept for p in packages)
    assert kept["head"] == auditlog.verify(chained).head and kept["events"] == auditlog.verify(chained).events
    # Later: the history is cut back to before the kept head, and new events written on top.
    with chained.begin() as c:
        c.execute(delete(AuditEvent).where(AuditEvent.id >= kept["last_event_id"] - 1))
    with Session(chained) as s:
        auditlog.record(s, Actor("x", "admin"), "test.rewrite", "obj", {})
        s.commit()
    assert auditlog.verify(chained).ok  # the chain alone looks fine
    bad = subprocess.run([sys.executable, "-m", "scheduler", "audit", "verify", "--head", kept["head"]],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and "截断" in bad.stderr


def _doc_recheck_program() -> str:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "audit.md").read_text(encoding="utf-8")
    return doc.split("```python\n", 1)[1].split("```", 1)[0]


def test_export_holds_every_hashed_column_and_the_docs_program_rechecks_it(chained, tmp_path):
    """Issue 18 §6: the export has the payloads, bureaus and hash versions, and docs/audit.md's
    standard-library program rechecks the chain from the export alone (and sees an edited bureau)."""
    out = tmp_path / "chain.jsonl"
    rep = auditlog.export(chained, out)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()[:-1]]
    assert rows and all({"bureau_id", "payload", "hash_version"} <= r.keys() for r in rows)
    test_rows = [r for r in rows if r["action"] == "test.event"]
    assert json.loads(test_rows[0]["payload"]) == {"i": 0, "名称": "测试"}
    prog = tmp_path / "recheck.py"
    prog.write_text(_doc_recheck_program(), encoding="utf-8")
    ok = subprocess.run([sys.executable, str(prog), str(out)], capture_output=True, text=True, timeout=60, env={})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{rep.events} events, head {rep.head}"
    rows[2]["bureau_id"] = 999
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    bad = subprocess.run([sys.executable, str(prog), str(out)], capture_output=True, text=True, timeout=60, env={})
    assert bad.returncode == 1 and f"#{rows[2]['id']}" in bad.stderr
