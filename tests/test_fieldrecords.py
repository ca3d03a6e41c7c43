"""Field records (全程留痕): checklists and their consistency with the result, attachments stored by
SHA-256 and checked by `dsr audit verify`; inspectors' certificates and recusal requests."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlmodel import Session

from db.models import Attachment, Conflict, Inspector, RecusalRequest, TeamMember
from scheduler.accounts import service as accounts
from scheduler.access.context import Actor
from scheduler.draw import service as draws
from scheduler.plans.service import PlanInput, save_plan
from tests.factories import save_approved
from scheduler.results import attachment_rules as ar
from scheduler.results import attachments_service as att
from scheduler.results import checklist as cl
from scheduler.results import fieldrecords_service as frs
from scheduler.results import recusal_service as rec
from scheduler.results import service as rs
from scheduler.results.lifecycle import NATIONAL_CATEGORIES
from tests.factories import world
from tests.test_results_service import DAY, SEED, W

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"photo"
PDF = b"%PDF-1.7\n" + b"report " * 20


@pytest.fixture
def w(engine):
    return W(engine)


def _sp_task(w):
    return next(t for t in w.single if w.item_of(t) == "SP-01")


def test_checklist_marks_keep_the_category_consistent(w):
    e, t = w.engine, _sp_task(w)
    pts = frs.set_checklist(e, w.bid, "SP-01", ["食品经营许可证是否在有效期内", "经营场所是否与许可一致", "从业人员健康证明"],
                            w.planner("SCJGJ"))
    assert len(pts) == 3
    ins = w.inspector(t)
    frs.mark(e, t, "SP-01", 1, "符合", ins)
    with pytest.raises(rs.Refused, match="须填写说明"):
        frs.mark(e, t, "SP-01", 2, "不符合", ins)
    frs.mark(e, t, "SP-01", 2, "不符合", ins, note="经营场所已搬迁至许可地址以外")
    frs.mark(e, t, "SP-01", 3, "不适用", ins)
    with pytest.raises(rs.Refused, match="第 2 项“经营场所是否与许可一致”判定为不符合，检查结果不能为“未发现问题”"):
        rs.enter_result(e, t, "SP-01", ["未发现问题"], ins, inspected_on=DAY)
    r = rs.enter_result(e, t, "SP-01", ["发现问题已责令改正"], ins, inspected_on=DAY)
    assert r.status == "待审核"
    sheet = frs.task_checklist(e, t)
    assert [p["mark"] for p in sheet[0]["points"]] == ["符合", "不符合", "不适用"]
    with pytest.raises(rs.Refused, match="已有检查记录"):
        frs.set_checklist(e, w.bid, "SP-01", ["另一个要点"], w.planner("SCJGJ"))
    with pytest.raises(rs.Refused, match="不是本任务检查组成员"):
        frs.mark(e, t, "SP-01", 1, "符合", w.outsider(t))


def test_a_clean_result_refuses_a_non_compliant_mark_and_a_correction_too(w):
    e, t = w.engine, _sp_task(w)
    ins = w.inspector(t)
    assert [p["text"] for p in frs.task_checklist(e, t)[0]["points"]] == ["是否符合“食品经营许可条件检查”的检查要求"]
    rs.enter_result(e, t, "SP-01", ["未发现问题"], ins, inspected_on=DAY)
    with pytest.raises(rs.Refused, match="不能为“未发现问题”"):
        frs.mark(e, t, "SP-01", 1, "不符合", ins, note="无证经营")
    frs.mark(e, t, "SP-01", 1, "符合", ins)
    r = rs.approve(e, w.result(t, "SP-01").id, w.reviewer())
    with pytest.raises(rs.Refused, match="已审核或已公示"):
        frs.mark(e, t, "SP-01", 1, "不适用", ins)
    assert r.status == "已审核"


CATS = {c.code: c for c in NATIONAL_CATEGORIES}


@given(marks=st.dictionaries(st.integers(1, 6), st.sampled_from(cl.MARKS)),
       codes=st.sets(st.sampled_from(sorted(CATS)), min_size=1))
def test_consistency_refuses_exactly_non_compliant_with_no_problem(marks, codes):
    cats = [CATS[c] for c in codes]
    bad = cl.NON_COMPLIANT in marks.values() and any(c.no_problem for c in cats)
    try:
        cl.check_consistency(marks, {}, cats)
        assert not bad
    except rs.Refused:
        assert bad


def test_attachment_rules_check_magic_bytes_size_and_report_number():
    assert ar.check("photo", len(PNG), PNG[:16], "") == "image/png"
    assert ar.check("report", len(PDF), PDF[:16], "WT2026-0012") == "application/pdf"
    with pytest.raises(ar.AttachmentRefused, match="报告编号"):
        ar.check("report", len(PDF), PDF[:16], "")
    with pytest.raises(ar.AttachmentRefused, match="不是允许的类型"):
        ar.check("photo", len(PDF), PDF[:16], "")  # a PDF is no photo, whatever its name
    with pytest.raises(ar.AttachmentRefused, match="不是允许的类型"):
        ar.check("record", 10, b"MZ\x90\x00", "", "笔录.pdf")
    with pytest.raises(ar.AttachmentRefused, match="超过上限"):
        ar.check("photo", ar.MAX_BYTES + 1, PNG[:16], "")


def test_attach_stores_by_digest_and_records_the_audit_event(w, tmp_path):
    e, t = w.engine, _sp_task(w)
    store = tmp_path / "store"
    f = tmp_path / "现场.png"
    f.write_bytes(PNG)
    a = att.attach(e, t, f, w.inspector(t), kind="photo", item="SP-01", store=store)
    assert a.sha256 == hashlib.sha256(PNG).hexdigest() and a.media_type == "image/png"
    assert (store / a.sha256[:2] / a.sha256).read_bytes() == PNG
    assert att.verify_files(e, store) == []
    with pytest.raises(att.AttachmentRefused, match="检查组成员，不能上传附件"):
        att.attach(e, t, f, w.outsider(t), store=store)
    with Session(e) as s:  # a row edited behind the service's back
        s.execute(update(Attachment).where(Attachment.id == a.id).values(report_no="伪造"))
        s.commit()
    assert any("记录被修改" in p for p in att.verify_files(e, store))


def _cli(url: str, store, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSR_DATABASE_URL": url, att.ENV: str(store)}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_cli_attach_prints_sha256_and_audit_verify_detects_a_changed_byte(sqlite_url, tmp_path):
    from db.engine import make_engine

    e = make_engine(sqlite_url)
    w = W(e)
    t = _sp_task(w)
    accounts.add_user(e, "zhang", "inspector", "zhang-password-2026", inspector=w.inspector(t).name)
    e.dispose()
    store = tmp_path / "attachments"
    f = tmp_path / "检查笔录.pdf"
    f.write_bytes(PDF)
    r = _cli(sqlite_url, store, "results", "attach", str(t), str(f), "--as", "zhang", "--kind", "record")
    assert r.returncode == 0, r.stderr
    sha = r.stdout.strip()
    assert sha == hashlib.sha256(PDF).hexdigest()
    assert _cli(sqlite_url, store, "audit", "verify").returncode == 0
    stored = store / sha[:2] / sha
    data = bytearray(stored.read_bytes())
    data[20] ^= 0x01
    stored.write_bytes(bytes(data))
    bad = _cli(sqlite_url, store, "audit", "verify")
    assert bad.returncode == 1 and "文件已被改动" in bad.stderr
    stored.unlink()
    bad = _cli(sqlite_url, store, "audit", "verify")
    assert bad.returncode == 1 and "文件缺失" in bad.stderr
    nobody = _cli(sqlite_url, store, "results", "attach", str(t), str(f), "--as", "nobody")
    assert nobody.returncode == 2 and "不存在或已停用" in nobody.stderr


def test_expired_certificate_excludes_the_inspector_from_matching(engine):
    world(engine, 400)
    today = rs.local_today()
    with Session(engine) as s:
        ins = list(s.execute(select(Inspector).where(Inspector.active.is_(True)).order_by(Inspector.inspector_id)).scalars())
        expired = {i.id for k, i in enumerate(ins) if k % 2 == 0}
        last_day = {i.id for k, i in enumerate(ins) if k % 2 == 1}
        for i in ins:
            i.cert_valid_until = today - dt.timedelta(days=1) if i.id in expired else today
        s.commit()
    save_approved(engine, PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ",
                                item_codes=["SP-01", "WS-01"], ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}))
    draws.execute(engine, "PG-SP", "2026-11", seed=SEED)
    with Session(engine) as s:
        on_teams = set(s.execute(select(TeamMember.inspector_pk).where(TeamMember.inspector_pk.is_not(None))).scalars())
    assert on_teams and not on_teams & expired
    assert on_teams & last_day  # valid through its last day
    warn = rec.certificate_warnings(engine, "110117", today=today)
    assert {x["state"] for x in warn} == {"已过期", "即将到期"} and len(warn) == len(ins)


def test_accepted_recusal_replaces_the_inspector_and_records_the_conflict(w, tmp_path):
    e, t = w.engine, w.single[0]
    team = rec.team_of(e, t)
    assert all(m["cert_no"] and m["name"] for m in team)
    leaving = w.inspector(t).name
    with pytest.raises(rs.Refused, match="不在任务"):
        rec.request(e, t, w.outsider(t).name, "某餐饮公司", "曾有纠纷", w.inspector(t))
    r1 = rec.request(e, t, leaving, "某餐饮公司法定代表人", "该检查人员系本公司股东的近亲属", w.inspector(t))
    with pytest.raises(rs.Refused, match="待决定"):
        rec.request(e, t, leaving, "某餐饮公司", "重复", w.inspector(t))
    with pytest.raises(rs.Refused, match="说明理由"):
        rec.decide(e, r1.id, True, "", w.planner())
    from scheduler.access.permissions import PermissionDenied
    with pytest.raises(PermissionDenied):
        rec.decide(e, r1.id, True, "同意", w.inspector(t))
    done = rec.decide(e, r1.id, True, "经核实存在近亲属关系，同意回避", w.planner())
    assert done.status == "accepted" and done.replacement_pk
    now = [m["inspector_id"] for m in rec.team_of(e, t)]
    assert leaving not in now and len(now) == len(team)
    with Session(e) as s:
        ins = s.execute(select(Inspector).where(Inspector.inspector_id == leaving)).scalar_one()
        assert s.execute(select(Conflict).where(Conflict.inspector_pk == ins.id, Conflict.uscc == w.task(t).uscc)).scalar()
    with pytest.raises(rs.Refused, match="已作出决定"):
        rec.decide(e, r1.id, False, "再议", w.planner())
    other = now[0]
    r2 = rec.request(e, t, other, "某餐饮公司", "认为其态度不公", Actor("admin", "admin"))
    assert rec.decide(e, r2.id, False, "理由不成立，驳回", w.planner()).status == "rejected"
    assert other in [m["inspector_id"] for m in rec.team_of(e, t)]
    assert [x["status"] for x in rec.requests_of(e, t)] == ["accepted", "rejected"]
    with Session(e) as s:
        assert s.execute(select(RecusalRequest.replacement_pk).where(RecusalRequest.id == r2.id)).scalar() is None
    task = w.task(t)
    draws.write_packages(e, task.draw_id, tmp_path / "a", tmp_path / "p")
    (row,) = json.loads((tmp_path / "a" / "recusals.json").read_text(encoding="utf-8"))
    assert (row["rank"], row["leaving"], row["decision"]) == (task.rank, leaving, "经核实存在近亲属关系，同意回避")
    assert row["replacement"] in now and not (tmp_path / "p" / "recusals.json").exists()


def test_roster_import_reads_the_certificate_expiry(engine, pinggu):
    from scheduler.library.import_service import import_file
    from tests.test_import_service import csv_bytes

    rows = [["P1", "张三", "区市场监管局", "11011700001", "", "", "是", "2027-06-30"],
            ["P2", "李四", "区市场监管局", "11011700002", "", "", "是", ""]]
    rep = import_file(engine, "inspectors", "人员.csv", csv_bytes("inspectors", rows))
    assert rep.inserted == 2
    assert import_file(engine, "inspectors", "人员.csv", csv_bytes("inspectors", rows)).unchanged == 2
    with Session(engine) as s:
        got = dict(s.execute(select(Inspector.inspector_id, Inspector.cert_valid_until)).all())
    assert got == {"P1": dt.date(2027, 6, 30), "P2": None}
    from scheduler.access.context import CLI
    from scheduler.library import browse, records

    records.save(engine, "inspectors", "P2", {"cert_valid_until": "2026-12-31"}, CLI)
    with Session(engine) as s:
        assert s.execute(select(Inspector.cert_valid_until).where(Inspector.inspector_id == "P2")).scalar() == \
            dt.date(2026, 12, 31)
    shown = {r["inspector_id"]: r["cert_valid_until"] for r in browse.browse_inspectors(engine).rows}
    assert shown == {"P1": dt.date(2027, 6, 30), "P2": dt.date(2026, 12, 31)}
    bad = import_file(engine, "inspectors", "人员2.csv", csv_bytes("inspectors", [rows[0][:7] + ["2027-02-30"]]))
    assert not bad.ok and bad.errors[0].column == "执法证有效期至"


def test_task_documents_carry_the_identifiers_the_team_and_the_checklist(w, tmp_path):
    from pypdf import PdfReader

    from scheduler.results import task_documents as docs

    e, t = w.engine, _sp_task(w)
    frs.mark(e, t, "SP-01", 1, "不符合", w.inspector(t), note="许可证已过期")
    paths = docs.write(e, t, tmp_path, "https://dsr.example.gov.cn/public-verify")
    assert [p.name for p in paths] == [f"task-{t}-notice.pdf", f"task-{t}-record.pdf"]
    task = w.task(t)
    team = rec.team_of(e, t)
    for p in paths:
        reader = PdfReader(p)
        text = "".join(page.extract_text() for page in reader.pages).replace("\x00", "")  # 2-byte CIDs
        assert f"#{t}" in text and task.uscc in text
        assert all(m["cert_no"] in text and m["name"] in text for m in team)
        assert f"draw={task.draw_id}&rank={task.rank}" in text  # the QR code's address, printed under it
        assert reader.pages[0].images, "the QR code"
    notice = "".join(pg.extract_text() for pg in PdfReader(paths[0]).pages).replace("\x00", "")
    record = "".join(pg.extract_text() for pg in PdfReader(paths[1]).pages).replace("\x00", "")
    assert "申请回避" in notice and "检查通知书" in notice
    assert "现场检查记录" in record and "许可证已过期" in record and "不符合" in record
