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
