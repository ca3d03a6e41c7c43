"""The outbound invariant under any order of exports, receipts (rejecting any rows) and fixes
(corrections, legal names): no version is ever accepted twice or open twice, and once the other side
accepts everything, every published result's current content is accepted, each version once.
Hypothesis drives the steps on a fresh copy of one demo database per example (real SQLite file)."""

from __future__ import annotations

import random
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Department, ExchangeRecord, ItemResult
from scheduler.access.context import CLI, Actor
from scheduler.docking import outbound, receipts
from scheduler.results import service as rs
from tests.docking_helpers import accepted_versions, demo, published_ids, write_receipt

import pytest


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("dockprop") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    demo(eng, seed=3)
    eng.dispose()
    return path


steps = st.lists(st.one_of(
    st.tuples(st.just("round"), st.integers(0, 2**31), st.floats(0, 1)),  # export + receipt rejecting a share
    st.tuples(st.just("correct"), st.integers(0, 2**31), st.just(0.0)),
    st.tuples(st.just("legal"), st.integers(0, 3), st.just(0.0)),
), min_size=1, max_size=5)


def _open_twice(eng) -> int:
    with Session(eng) as s:
        sub = (select(ExchangeRecord.kind, ExchangeRecord.result_id, ExchangeRecord.version)
               .where(ExchangeRecord.status != "rejected")
               .group_by(ExchangeRecord.kind, ExchangeRecord.result_id, ExchangeRecord.version)
               .having(func.count() > 1)).subquery()
        return s.execute(select(func.count()).select_from(sub)).scalar_one()


def _correct(eng, pick: int) -> None:
    with Session(eng) as s:
        ids = list(s.execute(select(ItemResult.id).where(ItemResult.status == "已公示").order_by(ItemResult.id)).scalars())
    _correct_result(eng, ids[pick % len(ids)])


def _correct_result(eng, result_id: int) -> None:
    with Session(eng) as s:
        r = s.get(ItemResult, result_id)
        bid = s.get(Department, r.department_id).bureau_id
    new = ["07"] if r.categories != "07" else ["01"]
    rs.correct(eng, r.id, new, f"更正 {result_id}", Actor("管理员", "admin", bid))


def _round(eng, out, seed: int, share: float, tmp) -> None:
    res = outbound.export(eng, "gsxt", out, CLI)
    if res is None:
        return
    rnd = random.Random(seed)
    receipts.import_receipt(eng, write_receipt(res.folder, tmp / f"{res.batch_no}.json",
                                               lambda r: "拒收" if rnd.random() < share else None), CLI)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_every_version_accepted_once_whatever_happens(base, tmp_path_factory, plan):
    tmp = tmp_path_factory.mktemp("ex")
    shutil.copy(base, tmp / "dsr.db")
    eng = make_engine(f"sqlite:///{tmp / 'dsr.db'}")
    out = tmp / "out"
    try:
        for op, a, b in plan:
            if op == "round":
                _round(eng, out, a, b, tmp)
            elif op == "correct":
                _correct(eng, a)
            else:
                outbound.set_legal_name(eng, "SCJGJ", f"北京市平谷区市场监督管理局{'（第%d版）' % a if a else ''}", CLI)
            assert _open_twice(eng) == 0
        # Rejected records wait for a fix (never sent again unchanged): fix each by a correction;
        # then the other side accepts everything it gets.
        _round(eng, out, 0, 0.0, tmp)
        for rec in outbound.rejected_records(eng, CLI):
            _correct_result(eng, int(rec["记录编号"].split("-R")[1].split("-")[0]))
        for _ in range(2):
            _round(eng, out, 0, 0.0, tmp)
        assert outbound.export(eng, "gsxt", out, CLI) is None
        published = published_ids(eng)
        assert outbound.counts(eng, CLI) == {"waiting": 0, "sent": 0, "accepted": len(published), "rejected": 0}
        versions = accepted_versions(eng)
        assert set(versions) == published
        assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    finally:
        eng.dispose()
