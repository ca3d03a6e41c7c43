"""Follow-up supervision (后续监管衔接) end to end, on real SQLite and PostgreSQL databases:
责令整改 with its re-check, 立案 → 处罚, 移送司法机关, 经营异常名录 列入 and 移出, and what of it
reaches the public export."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session

from db.models import AuditEvent, FollowUpStep, Task, TaskItem, TeamMember
from scheduler.draw import service as draws
from scheduler.results import export_service
from scheduler.results import followup_rules as fr
from scheduler.results import followup_service as fu
from scheduler.results import service as rs
from tests.test_results_service import DAY, W

D = dt.timedelta


@pytest.fixture
def w(engine):
    return W(engine)


def _dept(w, t):
    return "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"


def _problem(w, t, cats):
    """A result with `cats` reviewed and published; returns its open follow-up's id."""
    r = w.through_review(t, cats)
    rs.publish(w.engine, t, w.reviewer(_dept(w, t)), today=DAY + D(days=3))
    (f,) = [f for f in rs.follow_ups(w.engine, status="open") if f["result_id"] == r.id]
    return f["id"]


def _public(w, tmp_path):
    out = tmp_path / "public"
    export_service.export_public(w.engine, out, "json")
    return json.loads((out / "public.json").read_text(encoding="utf-8"))


def test_rectification_opens_a_recheck_for_the_same_team_whose_result_is_public(w, tmp_path):
    e, t = w.engine, w.single[0]
    dept = _dept(w, t)
    fid = _problem(w, t, ["发现问题已责令改正"])
    rev = w.reviewer(dept)
    with pytest.raises(fr.FollowUpRefused, match="责令整改"):
        fu.close(e, fid, rev, "已整改")
    with pytest.raises(fr.FollowUpRefused, match="整改期限"):
        fu.record_step(e, fid, "rectify", rev, doc_no="平市监责改〔2026〕1号", decided_on=DAY)
    st_ = fu.record_step(e, fid, "rectify", rev, doc_no="平市监责改〔2026〕1号", decided_on=DAY,
                         due_on=DAY + D(days=14))
    assert st_.status == "open" and st_.due_on == DAY + D(days=14) and st_.recheck_task_id
    with pytest.raises(fr.FollowUpRefused, match="复查结果公示前"):
        fu.record_step(e, fid, "rectify", rev, doc_no="X", decided_on=DAY, due_on=DAY + D(days=20))
    re_id = st_.recheck_task_id
    with Session(e) as s:
        re = s.get(Task, re_id)
        assert (re.kind, re.status, re.uscc) == ("recheck", "assigned", s.get(Task, t).uscc)
        team = lambda tid: sorted((m.inspector_pk, m.role) for m in s.execute(  # noqa: E731
            select(TeamMember).where(TeamMember.task_id == tid, TeamMember.active.is_(True))).scalars())
        assert team(re_id) == team(t)
        assert s.execute(select(TaskItem.item_id).where(TaskItem.task_id == re_id)).scalars().all() == \
            s.execute(select(TaskItem.item_id).where(TaskItem.task_id == t)).scalars().all()
    rec = fu.record(e, fid)
    assert [m["what"] for m in rec["missing"]] == ["复查结果公示"] and rec["next_deadline"] == DAY + D(days=14)
    board = fu.board(e, w.bid, DAY + D(days=20))
    assert [r["id"] for r in board["overdue"]] == [fid] and board["rechecks_open"] == 1
    with pytest.raises(fr.FollowUpRefused, match="复查结果公示"):
        fu.close(e, fid, rev)

    code = w.item_of(t)
    r2 = rs.enter_result(e, re_id, code, ["未发现问题"], w.inspector(t, dept), inspected_on=DAY + D(days=15))
    rs.approve(e, r2.id, rev)
    rs.publish(e, re_id, rev, today=DAY + D(days=16))
    f = fu.close(e, fid, rev)
    assert f.status == "closed" and f.outcome == "复查：已按期整改"
    assert fu.board(e, w.bid, DAY + D(days=20))["open"] == []

    doc = _public(w, tmp_path)
    uscc = w.task(t).uscc
    mine = [r for r in doc["检查结果"] if r["统一社会信用代码"] == uscc]
    assert {r["检查类型"] for r in mine} >= {"复查"}
    assert any(r["检查结果"] == "发现问题已责令改正；后续处置：责令改正，复查：已按期整改" for r in mine)
    assert any(r["检查类型"] == "复查" and r["检查结果"] == "未发现问题" for r in mine)


def test_case_then_ordinary_procedure_penalty_is_published(w, tmp_path):
    e, t = w.engine, w.single[0]
    fid = _problem(w, t, ["发现问题待后续处理"])
    rev = w.reviewer(_dept(w, t))
    rec = fu.record(e, fid)
    assert rec["needs"] == ["disposal"] and rec["missing"][0]["what"] == "立案、不予立案或移送"
    assert rec["next_deadline"] is not None and rec["next_deadline"] > DAY  # 15 working days after the check
    with pytest.raises(fr.FollowUpRefused, match="先登记立案"):
        fu.record_step(e, fid, "penalty", rev, doc_no="平市监罚〔2026〕1号", decided_on=DAY + D(days=20),
                       penalty="罚款5000元", procedure=fr.ORDINARY)
    with pytest.raises(fr.FollowUpRefused, match="经营异常名录"):
        fu.record_step(e, fid, "abnormal_list", rev, doc_no="X", decided_on=DAY)
    case = fu.record_step(e, fid, "case", rev, doc_no="平市监立〔2026〕12号", decided_on=DAY + D(days=5))
    assert case.due_on == DAY + D(days=95)
    with pytest.raises(fr.FollowUpRefused, match="行政处罚决定或结案"):
        fu.close(e, fid, rev, "处理完毕")
    with pytest.raises(fr.FollowUpRefused, match="适用程序"):
        fu.record_step(e, fid, "penalty", rev, doc_no="平市监罚〔2026〕1号", decided_on=DAY + D(days=20),
                       penalty="罚款5000元")
    fu.record_step(e, fid, "penalty", rev, doc_no="平市监罚〔2026〕1号", decided_on=DAY + D(days=20),
                   penalty="警告，罚款人民币5000元", procedure=fr.ORDINARY)
    f = fu.close(e, fid, rev)
    assert f.outcome == "行政处罚（平市监罚〔2026〕1号）：警告，罚款人民币5000元"
    doc = _public(w, tmp_path)
    assert doc["行政处罚信息"] == [{"统一社会信用代码": w.task(t).uscc, "企业名称": doc["行政处罚信息"][0]["企业名称"],
                                   "行政处罚决定书文号": "平市监罚〔2026〕1号", "处罚内容": "警告，罚款人民币5000元",
                                   "作出处罚决定日期": (DAY + D(days=20)).isoformat(),
                                   "作出处罚决定机关": doc["行政处罚信息"][0]["作出处罚决定机关"]}]
    assert doc["行政处罚信息"][0]["企业名称"]


def test_summary_penalty_and_no_case_stay_internal(w, tmp_path):
    e = w.engine
    t1, t2 = w.single[0], w.single[1]
    f1 = _problem(w, t1, ["发现问题待后续处理"])
    f2 = _problem(w, t2, ["不予配合情节严重"])
    r1, r2 = w.reviewer(_dept(w, t1)), w.reviewer(_dept(w, t2))
    fu.record_step(e, f1, "case", r1, doc_no="立1", decided_on=DAY)
    fu.record_step(e, f1, "penalty", r1, doc_no="罚1", decided_on=DAY, penalty="警告", procedure=fr.SUMMARY)
    with pytest.raises(fr.FollowUpRefused, match="说明理由"):
        fu.record_step(e, f2, "no_case", r2, decided_on=DAY)
    fu.record_step(e, f2, "no_case", r2, decided_on=DAY, decision="违法事实不能成立，不予立案")
    fu.close(e, f1, r1)
    assert fu.close(e, f2, r2).outcome == "不予立案或结案：违法事实不能成立，不予立案"
    assert _public(w, tmp_path)["行政处罚信息"] == []


def test_judicial_transfer_with_document_number_and_date(w):
    e, t = w.engine, w.single[0]
    fid = _problem(w, t, ["发现问题待后续处理"])
    rev = w.reviewer(_dept(w, t))
    with pytest.raises(fr.FollowUpRefused, match="文书编号"):
        fu.record_step(e, fid, "judicial", rev, decided_on=DAY)
    with pytest.raises(fr.FollowUpRefused, match="晚于今天"):
        fu.record_step(e, fid, "judicial", rev, doc_no="平市监移〔2026〕3号", decided_on=rs.local_today() + D(days=1))
    with pytest.raises(fr.FollowUpRefused, match="接收部门"):
        fu.record_step(e, fid, "transfer", rev, doc_no="平市监移〔2026〕2号", decided_on=DAY)
    st_ = fu.record_step(e, fid, "judicial", rev, doc_no="平市监移〔2026〕3号", decided_on=DAY + D(days=2))
    assert st_.target == "司法机关" and not st_.public
    f = fu.close(e, fid, rev)
    assert f.outcome == f"移送司法机关（平市监移〔2026〕3号，{(DAY + D(days=2)).isoformat()}）"
    with Session(e) as s:
        actions = s.execute(select(AuditEvent.action).where(AuditEvent.object == f"followup:{fid}")
                            .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["followup.open", "followup.step", "followup.close"]


def test_unreachable_entity_is_listed_published_and_removed_on_application(w, tmp_path):
    e, t = w.engine, w.single[0]
    fid = _problem(w, t, ["通过登记的住所（经营场所）无法联系"])
    rev = w.reviewer(_dept(w, t))
    rec = fu.record(e, fid)
    assert rec["missing"] == [{"what": "列入经营异常名录决定（或移送登记机关）", "due_on": rec["next_deadline"]}]
    assert rec["next_deadline"] == dt.date(2026, 11, 16)  # 10 working days after Monday 2026-11-02
    with pytest.raises(fr.FollowUpRefused, match="未因本次后续处置被列入"):
        fu.record_step(e, fid, "abnormal_remove", rev, doc_no="移1", decided_on=DAY, applied_on=DAY,
                       decision="已重新取得联系")
    fu.record_step(e, fid, "abnormal_list", rev, doc_no="平市监异列〔2026〕7号", decided_on=DAY + D(days=4))
    fu.close(e, fid, rev)
    doc = _public(w, tmp_path)
    uscc = w.task(t).uscc
    (row,) = [r for r in doc["经营异常名录"] if r["统一社会信用代码"] == uscc]
    assert (row["列入经营异常名录原因"], row["列入日期"], row["列入决定书文号"], row["移出日期"]) == (
        "通过登记的住所（经营场所）无法联系", "2026-11-06", "平市监异列〔2026〕7号", "")
    # Removal on application, after the follow-up closed.
    with pytest.raises(fr.FollowUpRefused, match="申请日期"):
        fu.record_step(e, fid, "abnormal_remove", rev, doc_no="平市监异移〔2026〕1号", decided_on=DAY + D(days=20),
                       decision="已办理住所变更登记")
    st_ = fu.record_step(e, fid, "abnormal_remove", rev, doc_no="平市监异移〔2026〕1号", decided_on=DAY + D(days=20),
                         applied_on=DAY + D(days=18), decision="已办理住所变更登记，申请移出")
    assert st_.due_on == dt.date(2026, 11, 27)  # 5 working days after Friday 2026-11-20
    (row,) = [r for r in _public(w, tmp_path / "2")["经营异常名录"] if r["统一社会信用代码"] == uscc]
    assert (row["移出日期"], row["移出决定书文号"]) == ("2026-11-22", "平市监异移〔2026〕1号")
    assert fu.board(e, w.bid, DAY + D(days=30))["abnormal_listed"] == 0


def test_false_disclosure_needs_listing_and_disposal(w):
    e, t = w.engine, w.single[0]
    fid = _problem(w, t, ["公示信息隐瞒真实情况、弄虚作假"])
    rev = w.reviewer(_dept(w, t))
    assert fu.record(e, fid)["needs"] == ["abnormal", "disposal"]
    fu.record_step(e, fid, "abnormal_list", rev, doc_no="列1", decided_on=DAY)
    with pytest.raises(fr.FollowUpRefused, match="立案、不予立案或移送"):
        fu.close(e, fid, rev, "完毕")
    fu.record_step(e, fid, "transfer", rev, doc_no="移2", decided_on=DAY, target="区税务局")
    assert fu.close(e, fid, rev).status == "closed"
    with Session(e) as s:
        assert s.execute(select(FollowUpStep.kind).where(FollowUpStep.follow_up_id == fid)
                         .order_by(FollowUpStep.id)).scalars().all() == ["abnormal_list", "transfer"]


def test_outsider_cannot_record_a_step(w):
    e, t = w.engine, w.single[0]
    fid = _problem(w, t, ["发现问题待后续处理"])
    with pytest.raises(rs.Refused, match="只有本部门人员"):
        fu.record_step(e, fid, "case", w.outsider(t), doc_no="立1", decided_on=DAY)


def test_unreachable_is_no_reason_to_replace(w, tmp_path):
    e = w.engine
    with Session(e) as s:
        t = s.execute(select(Task).where(Task.status == "assigned", Task.kind == "random").order_by(Task.id)).scalars().first()
    with pytest.raises(draws.DrawRefused, match="无法联系"):
        draws.replace_task(e, t.id, "经营场所无法联系")
    with pytest.raises(draws.DrawRefused, match="注销、吊销或迁出"):
        draws.replace_task(e, t.id, "负责人不在")
    new = draws.replace_task(e, t.id, "经核实已注销（注销登记通知书 京平市监注〔2026〕5号）")
    assert new.replaces_task_id == t.id
    draws.write_packages(e, t.draw_id, tmp_path / "a", tmp_path / "p")
    for d in ("a", "p"):  # the evidence is shown in both packages
        (rep,) = json.loads((tmp_path / d / "replacements.json").read_text(encoding="utf-8"))
        assert (rep["replaced"], rep["by_reserve"], rep["rank"], rep["evidence"]) == (
            t.uscc, new.uscc, t.rank, "经核实已注销（注销登记通知书 京平市监注〔2026〕5号）")


_ADD = lambda d, n: d + D(days=n)  # noqa: E731 - a stand-in calendar for the pure rules


@given(st.sets(st.sampled_from(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"])))
def test_completing_each_needed_record_allows_closing(codes):
    """Whatever the categories, recording one complete path per need (and nothing less) closes."""
    paths = {"rectify": [fr.Step("rectify", DAY, DAY, recheck_published=True)],
             "abnormal": [fr.Step("abnormal_list", DAY)],
             "disposal": [fr.Step("case", DAY, DAY + D(days=90)), fr.Step("penalty", DAY)]}
    needs = fr.needs(codes)
    steps = [s for n in needs for s in paths[n]]
    fr.check_close(codes, steps, DAY, _ADD)
    for n in needs:
        partial = [s for m in needs if m != n for s in paths[m]]
        with pytest.raises(fr.FollowUpRefused):
            fr.check_close(codes, partial, DAY, _ADD)


def test_cli_follow_up_step_close_and_documents(sqlite_url, tmp_path):
    import os
    import subprocess
    import sys

    from db.engine import make_engine
    from scheduler.accounts import service as accounts

    e = make_engine(sqlite_url)
    w = W(e)
    t = next(t for t in w.single if w.item_of(t) == "SP-01")
    fid = _problem(w, t, ["发现问题待后续处理"])
    accounts.add_user(e, "rev", "reviewer", "reviewer-password-1", department="SCJGJ", bureau="110117")
    e.dispose()
    env = {**os.environ, "DSR_DATABASE_URL": sqlite_url}

    def dsr(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scheduler", *args], env=env, capture_output=True, text=True,
                              timeout=180)

    early = dsr("results", "close-follow-up", str(fid), "--outcome", "完毕", "--as", "rev")
    assert early.returncode == 2 and "尚不能办结" in early.stderr
    r = dsr("results", "follow-up-step", str(fid), "judicial", "--doc-no", "京平市监移〔2026〕9号", "--date",
            DAY.isoformat(), "--as", "rev")
    assert r.returncode == 0, r.stderr
    rec = json.loads(dsr("results", "follow-up", str(fid)).stdout)
    assert [s_["kind"] for s_ in rec["steps"]] == ["judicial"] and rec["missing"] == []
    assert dsr("results", "close-follow-up", str(fid), "--outcome", "已移送公安机关", "--as", "rev").returncode == 0
    docs = dsr("results", "documents", str(t), "--out", str(tmp_path / "docs"))
    assert docs.returncode == 0, docs.stderr
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == [f"task-{t}-notice.pdf", f"task-{t}-record.pdf"]
