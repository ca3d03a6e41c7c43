"""Outbound to the credit publicity system (归集): export → receipt rejecting some rows → fix → export
again, every published result accepted exactly once per version; receipts whole or not at all.
Real SQLite and PostgreSQL; the files are checked against docs/schemas/ with jsonschema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import AuditEvent, Department, ExchangeBatch, ExchangeRecord, ItemResult
from scheduler.access.context import CLI, Actor
from scheduler.access.permissions import PermissionDenied
from scheduler.docking import formats as fm
from scheduler.docking import outbound, receipts, status
from scheduler.docking.manifest import read_batch
from scheduler.docking.schemas import gsxt_records_schema
from scheduler.results import service as rs
from tests.docking_helpers import accepted_versions, demo, live_duplicates, published_ids, read_records, write_receipt

SCJGJ_DEFAULT = "北京市平谷区市场监管局"
SCJGJ_LEGAL = "北京市平谷区市场监督管理局"


@pytest.fixture
def world(engine):
    demo(engine)
    return engine


def _export(engine, out):
    res = outbound.export(engine, "gsxt", out, CLI)
    assert res is not None
    return res


def test_round_trip_every_published_result_accepted_exactly_once(world, tmp_path):
    eng = world
    published = published_ids(eng)
    assert len(published) >= 20
    first = _export(eng, tmp_path / "out")
    batch = read_batch(first.folder)  # every digest checked
    records = read_records(first.folder)
    jsonschema.validate(records, gsxt_records_schema())
    assert batch.manifest["record_count"] == len(records) == len(published)
    assert {r["版本"] for r in records} == {1} and {r["操作"] for r in records} == {"新增"}
    assert outbound.export(eng, "gsxt", tmp_path / "out", CLI) is None  # all of them are in the open batch

    # The other side rejects three records of 区市场监管局 (not its legal name) and accepts the rest.
    bad = [r["记录编号"] for r in records if r["检查实施机关"] == SCJGJ_DEFAULT][:3]
    assert len(bad) == 3
    rcpt = write_receipt(first.folder, tmp_path / "r1.json",
                         lambda r: "检查实施机关不是登记的法定名称" if r["记录编号"] in bad else None)
    rep = receipts.import_receipt(eng, rcpt, CLI)
    assert (rep.accepted, rep.rejected) == (len(records) - 3, 3)
    assert outbound.counts(eng, CLI) == {"waiting": 0, "sent": 0, "accepted": len(records) - 3, "rejected": 3}
    assert {x["记录编号"] for x in outbound.rejected_records(eng, CLI)} == set(bad)
    # Not fixed yet: nothing to send (a rejected record is not sent again unchanged).
    assert outbound.export(eng, "gsxt", tmp_path / "out", CLI) is None

    # The fix: the department's legal name. Its rejected records go again as version 1; its
    # accepted ones changed too and go as version 2 (更新).
    outbound.set_legal_name(eng, "SCJGJ", SCJGJ_LEGAL, CLI)
    second = _export(eng, tmp_path / "out")
    again = read_records(second.folder)
    jsonschema.validate(again, gsxt_records_schema())
    by_no = {r["记录编号"]: r for r in again}
    assert set(bad) <= set(by_no)
    assert all(r["检查实施机关"] == SCJGJ_LEGAL for r in again)
    assert {r["操作"] for r in again if r["记录编号"] not in bad} <= {"更新"}
    receipts.import_receipt(eng, write_receipt(second.folder, tmp_path / "r2.json"), CLI)

    # Every published result: its current content accepted, each version exactly once.
    assert outbound.export(eng, "gsxt", tmp_path / "out", CLI) is None
    assert outbound.counts(eng, CLI) == {"waiting": 0, "sent": 0, "accepted": len(published), "rejected": 0}
    versions = accepted_versions(eng)
    assert set(versions) == published
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    assert live_duplicates(eng) == 0
    st = {b["batch_id"]: b for b in status.batches(eng, CLI)}
    assert st[first.batch_no]["status"] == st[second.batch_no]["status"] == fm.ANSWERED


def test_a_correction_sends_a_new_version(world, tmp_path):
    eng = world
    first = _export(eng, tmp_path)
    receipts.import_receipt(eng, write_receipt(first.folder, tmp_path / "r.json"), CLI)
    with Session(eng) as s:
        r = s.execute(select(ItemResult).where(ItemResult.status == "已公示").order_by(ItemResult.id)).scalars().first()
        bid = s.get(Department, r.department_id).bureau_id
    rs.correct(eng, r.id, ["07"], "现场记录核对有误", Actor("管理员", "admin", bid))
    second = _export(eng, tmp_path)
    recs = read_records(second.folder)
    assert len(recs) == 1
    assert (recs[0]["版本"], recs[0]["操作"], recs[0]["检查结果"]) == (2, "更新", "发现问题已责令改正")
    assert "现场记录核对有误" in recs[0]["备注"]
    receipts.import_receipt(eng, write_receipt(second.folder, tmp_path / "r2.json"), CLI)
    assert accepted_versions(eng)[r.id] == [1, 2]


def test_receipts_are_whole_and_idempotent(world, tmp_path):
    eng = world
    b = _export(eng, tmp_path)
    recs = read_records(b.folder)
    path = write_receipt(b.folder, tmp_path / "r.json")
    doc = json.loads(path.read_text("utf-8"))
    # One record missing, one unknown: refused, nothing changes.
    doc["records"] = doc["records"][1:] + [{"记录编号": "110117-R99999999-V1", "处理结果": "接收"}]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(fm.DockingError, match="不是批次.*的记录") as exc:
        receipts.import_receipt(eng, partial, CLI)
    assert "缺少批次" in str(exc.value)
    with Session(eng) as s:
        assert {x.status for x in s.execute(select(ExchangeRecord)).scalars()} == {fm.PENDING}
    # A schema violation names the record and the field.
    doc = json.loads(path.read_text("utf-8"))
    doc["records"][1] = {"记录编号": recs[1]["记录编号"], "处理结果": "拒收"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(fm.DockingError, match=r"\[records\] 第 2 条 \[原因\]：缺少必填字段"):
        receipts.import_receipt(eng, bad, CLI)
    receipts.mark_sent(eng, b.batch_no, CLI)
    rep = receipts.import_receipt(eng, path, CLI)
    assert rep.accepted == len(recs)
    with Session(eng) as s:
        n_audit = len(s.execute(select(AuditEvent.id)).all())
    assert receipts.import_receipt(eng, path, CLI).unchanged  # the same receipt again: nothing
    with Session(eng) as s:
        assert len(s.execute(select(AuditEvent.id)).all()) == n_audit
        assert s.execute(select(ExchangeBatch.status)).scalar_one() == fm.ANSWERED
    other = write_receipt(b.folder, tmp_path / "other.json", lambda r: "另一份回执")
    with pytest.raises(fm.DockingError, match="已导入过另一份回执"):
        receipts.import_receipt(eng, other, CLI)


def test_csv_receipt_and_permissions(world, tmp_path):
    eng = world
    b = _export(eng, tmp_path)
    recs = read_records(b.folder)
    lines = ["批次编号,记录编号,处理结果,原因"] + [f"{b.batch_no},{r['记录编号']},接收," for r in recs]
    lines[1] = f"{b.batch_no},{recs[0]['记录编号']},拒收,企业名称与登记不符"
    csv_path = tmp_path / "receipt.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = receipts.import_receipt(eng, csv_path, CLI)
    assert (rep.accepted, rep.rejected) == (len(recs) - 1, 1)
    assert rep.reasons == [(recs[0]["记录编号"], "企业名称与登记不符")]
    with pytest.raises(PermissionDenied):
        outbound.export(eng, "gsxt", tmp_path, Actor("i1", "inspector", None))
    with pytest.raises(fm.DockingError, match="未知的报送目标"):
        outbound.export(eng, "xyz", tmp_path, CLI)


def test_the_demo_has_an_answered_batch(world):
    from scheduler.demo.exchange import create_exchange_history

    n = len(published_ids(world))
    assert create_exchange_history(world) == "110117-GSXT-000001"
    assert outbound.counts(world, CLI) == {"waiting": 0, "sent": 0, "accepted": n - 2, "rejected": 2}
    assert create_exchange_history(world) is None  # once
