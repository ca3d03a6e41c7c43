"""Plans as published documents, on SQLite and PostgreSQL: draft -> approved (by a second person with
the right role) -> published; versions with reasons, kept and public; copy into a new year; a draft
is never drawn and a draw names the version it used."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, Department, Draw, Plan, PlanItem, PlanVersion
from scheduler.access.context import Actor
from scheduler.access.permissions import PermissionDenied
from scheduler.draw import service as draws
from scheduler.plans import lifecycle
from scheduler.plans import versions as pv
from scheduler.plans.lifecycle import PlanNotApproved, PlanStateError
from scheduler.plans.service import PlanInput, list_plans, save_plan
from scheduler.results import export_service
from tests.factories import world

SEED = "38471920563817290461"


def gs_plan(**kw) -> PlanInput:
    base = dict(code="PG-2026-GS", name="2026年度企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}, task_days=10)
    base.update(kw)
    return PlanInput(**base)


@pytest.fixture
def w(engine):
    bid = world(engine, 400)
    with Session(engine) as s:
        dept = {c: i for c, i in s.execute(select(Department.code, Department.id).where(Department.bureau_id == bid))}
    people = {
        "planner": Actor("planner-scj", "planner", bid, dept["SCJGJ"]),
        "planner2": Actor("planner-scj-2", "planner", bid, dept["SCJGJ"]),
        "reviewer": Actor("reviewer-scj", "reviewer", bid, dept["SCJGJ"]),
        "reviewer_wjw": Actor("reviewer-wjw", "reviewer", bid, dept["WJW"]),
        "admin": Actor("admin-1", "admin", bid),
        "admin2": Actor("admin-2", "admin", bid),
        "inspector": Actor("SCJGJ-0001", "inspector", bid, dept["SCJGJ"]),
    }
    return engine, people


def _status(engine, code: str) -> tuple[str, int]:
    with Session(engine) as s:
        p = s.execute(select(Plan).where(Plan.code == code)).scalar_one()
        return p.status, p.version


def test_lifecycle_needs_a_second_person_with_the_right_role(w):
    engine, a = w
    p = save_plan(engine, gs_plan(), a["planner"])
    assert (p.status, p.version, p.created_by, p.updated_by) == ("draft", 1, "planner-scj", "planner-scj")
    # A draft is never drawn (nor frozen).
    with pytest.raises(PlanNotApproved, match="第 1 版为草稿，尚未审批，不能抽取") as e:
        draws.execute(engine, p.code, "2026-03", SEED, a["admin"])
    assert e.value.code == "plan.not_approved"
    with pytest.raises(PlanNotApproved):
        draws.freeze(engine, p.code, "2026-03", a["admin"])
    # Wrong role, wrong department: refused before anything else.
    for who in ("planner", "planner2", "inspector", "reviewer_wjw"):
        with pytest.raises(PermissionDenied):
            pv.approve_plan(engine, p.code, a[who])
    # Publishing comes after approval.
    with pytest.raises(PlanStateError, match="尚未审批，审批后方可发布"):
        pv.publish_plan(engine, p.code, a["admin"])
    # The account that last changed it may not approve it, even an administrator; nor its creator.
    save_plan(engine, gs_plan(description="补充说明"), a["admin"])
    with pytest.raises(PlanStateError, match="最后修改人"):
        pv.approve_plan(engine, p.code, a["admin"])
    own = save_plan(engine, gs_plan(code="PG-OWN"), a["admin2"])
    with pytest.raises(PlanStateError, match="创建人"):
        pv.approve_plan(engine, own.code, a["admin2"])
    assert _status(engine, p.code) == ("draft", 1) and _status(engine, own.code) == ("draft", 1)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(PlanVersion)).scalar_one() == 0

    ok = pv.approve_plan(engine, p.code, a["reviewer"])
    assert (ok.status, ok.approved_by) == ("approved", "reviewer-scj")
    with pytest.raises(PlanStateError, match="无需再审批"):
        pv.approve_plan(engine, p.code, a["admin2"])
    pub = pv.publish_plan(engine, p.code, a["planner"])
    assert (pub.status, pub.published_by) == ("published", "planner-scj")
    with Session(engine) as s:
        actions = list(s.execute(select(AuditEvent.action).where(AuditEvent.object == f"plan:{p.code}")
                                 .order_by(AuditEvent.id)).scalars())
    assert actions == ["plan.create", "plan.update", "plan.approve", "plan.publish"]
    # Approved: it is drawn, and the draw names the version.
    d = draws.execute(engine, p.code, "2026-03", SEED, a["planner"])
    assert (d.status, d.plan_version) == ("drawn", 1)


def test_a_change_is_a_new_version_with_a_reason_and_every_version_stays_public(w):
    engine, a = w
    code = save_plan(engine, gs_plan(), a["planner"]).code
    pv.approve_plan(engine, code, a["reviewer"])
    pv.publish_plan(engine, code, a["reviewer"])
    d1 = draws.execute(engine, code, "2026-03", SEED, a["planner"])
    assert d1.plan_version == 1

    higher = dict(gs_plan().ratios, D="0.05", C="0.05", B="0.05")
    with pytest.raises(PlanStateError, match="修改须填写修改理由"):
        save_plan(engine, gs_plan(ratios=higher), a["planner"])
    assert _status(engine, code) == ("published", 1)
    p2 = save_plan(engine, gs_plan(ratios=higher, reason="信用风险B类企业投诉增多，提高抽查比例"), a["planner"])
    assert (p2.status, p2.version, p2.change_reason, p2.approved_by) == ("draft", 2, "信用风险B类企业投诉增多，提高抽查比例", "")
    # Further edits of the draft stay version 2.
    p2 = save_plan(engine, gs_plan(ratios=higher, description="第二版说明"), a["planner"])
    assert (p2.version, p2.change_reason) == (2, "信用风险B类企业投诉增多，提高抽查比例")
    with pytest.raises(PlanNotApproved, match="第 2 版为草稿"):
        draws.execute(engine, code, "2026-04", SEED, a["planner"])

    # While version 2 is a draft, the public still reads version 1.
    public = [r for r in pv.public_plans(engine) if r["code"] == code]
    assert [(r["version"], r["current"]) for r in public] == [(1, True)]
    assert public[0]["document"]["ratio"] == "3%～5%"

    pv.approve_plan(engine, code, a["admin"])
    pv.publish_plan(engine, code, a["planner"])
    d2 = draws.execute(engine, code, "2026-04", "11112222333344445555", a["planner"])
    assert d2.plan_version == 2
    history = pv.versions(engine, code)
    assert [(v["version"], v["reason"], v["approved_by"], v["current"]) for v in history] == [
        (2, "信用风险B类企业投诉增多，提高抽查比例", "admin-1", True), (1, "", "reviewer-scj", False)]
    assert history[1]["document"]["ratio"] == "3%～5%" and history[0]["document"]["ratio"] == "3%～5%"
    assert history[0]["document"]["description"] == "第二版说明"
    # Both versions are public; the export names the periods drawn under each and the reason.
    rows = {int(r["版本"]): r for r in export_service.plan_rows(engine) if r["计划编号"] == code}
    assert set(rows) == {1, 2}
    assert (rows[2]["当前版本"], rows[2]["已抽取期间"], rows[2]["修改理由"]) == ("是", "2026-04", "信用风险B类企业投诉增多，提高抽查比例")
    assert (rows[1]["当前版本"], rows[1]["已抽取期间"]) == ("否", "2026-03")
    assert rows[2]["完成时限"] == "抽取后 10 个工作日内完成检查"
    assert "《企业信息公示暂行条例》" in rows[2]["检查依据"] and rows[2]["抽查期间"].startswith("2026-01、2026-02")
    # `dsr plans --json` carries version and status; each draw names its version.
    listed = next(p for p in list_plans(engine) if p["code"] == code)
    assert (listed["version"], listed["status"], listed["task_days"]) == (2, "published", 10)
    assert [(d["period"], d["plan_version"]) for d in listed["draws"]] == [("2026-03", 1), ("2026-04", 2)]


def test_drafts_and_unpublished_plans_are_not_public(w):
    engine, a = w
    save_plan(engine, gs_plan(code="PG-DRAFT"), a["planner"])
    save_plan(engine, gs_plan(code="PG-APPROVED"), a["planner"])
    pv.approve_plan(engine, "PG-APPROVED", a["reviewer"])
    save_plan(engine, gs_plan(code="PG-PUBLIC"), a["planner"])
    pv.approve_plan(engine, "PG-PUBLIC", a["reviewer"])
    pv.publish_plan(engine, "PG-PUBLIC", a["reviewer"])
    assert {r["计划编号"] for r in export_service.plan_rows(engine)} == {"PG-PUBLIC"}


def test_copy_into_next_year_is_a_draft_of_the_same_plan(w):
    engine, a = w
    src = save_plan(engine, gs_plan(item_codes=["GS-01", "SP-01"], frame_towns=["110117001"]), a["planner"])
    pv.approve_plan(engine, src.code, a["reviewer"])
    pv.publish_plan(engine, src.code, a["reviewer"])
    with pytest.raises(PermissionDenied):
        pv.copy_plan(engine, src.code, 2027, "PG-2027-GS", a["inspector"])
    with pytest.raises(PermissionDenied):
        pv.copy_plan(engine, src.code, 2027, "PG-2027-GS", a["reviewer"])  # reviewers approve; planners plan
    with pytest.raises(PlanStateError, match="已被使用"):
        pv.copy_plan(engine, src.code, 2027, src.code, a["planner"])
    new = pv.copy_plan(engine, src.code, 2027, "PG-2027-GS", a["planner2"])
    assert (new.code, new.name, new.status, new.version) == ("PG-2027-GS", "2027年度企业公示信息抽查", "draft", 1)
    assert (new.created_by, new.updated_by) == ("planner-scj-2", "planner-scj-2")
    with Session(engine) as s:
        old = s.execute(select(Plan).where(Plan.code == src.code)).scalar_one()
        same = ("ratios", "counts", "frequency", "schedule", "frame_towns", "task_days", "team_size", "lead_department_id")
        assert {k: getattr(new, k) for k in same} == {k: getattr(old, k) for k in same}
        items = lambda pid: sorted(s.execute(select(PlanItem.item_id).where(PlanItem.plan_id == pid)).scalars())  # noqa: E731
        assert items(new.id) == items(old.id) and len(items(new.id)) == 2
        ev = s.execute(select(AuditEvent).where(AuditEvent.action == "plan.copy")).scalar_one()
        assert ev.actor == "planner-scj-2" and ev.object == "plan:PG-2027-GS"
    if "year" in Plan.model_fields:
        assert new.year == 2027
    with pytest.raises(PlanNotApproved):
        draws.execute(engine, "PG-2027-GS", "2027-01", SEED, a["planner"])
    # The copier may not approve their own copy; another person with the right may.
    with pytest.raises(PlanStateError, match="创建人"):
        pv.approve_plan(engine, "PG-2027-GS", dataclasses.replace(a["admin"], name="planner-scj-2"))
    assert pv.approve_plan(engine, "PG-2027-GS", a["reviewer"]).status == "approved"
    doc = pv.versions(engine, "PG-2027-GS")[0]["document"]
    assert doc["year"] == 2027 and doc["periods"][0] == "2027-01" and len(doc["periods"]) == 12
    assert doc["scope"].startswith("定向：乡镇街道") and json.dumps(doc, ensure_ascii=False).count("风险") == 0


def test_lifecycle_rules_pure():
    assert lifecycle.next_version("P", "draft", 3, "") == (3, "")
    assert lifecycle.next_version("P", "approved", 3, " 理由 ") == (4, "理由")
    with pytest.raises(PlanStateError):
        lifecycle.next_version("P", "published", 1, "  ")
    lifecycle.require_drawable("P", "approved", 1)
    lifecycle.require_drawable("P", "published", 1)
    with pytest.raises(PlanNotApproved):
        lifecycle.require_drawable("P", "draft", 1)
    assert lifecycle.copy_name("2026年度企业公示信息抽查", 2026, 2027) == "2027年度企业公示信息抽查"
    assert lifecycle.copy_name("企业公示信息抽查", None, 2027) == "2027年度企业公示信息抽查"
    assert lifecycle.year_of("PG-2026-GS", "") == 2026 and lifecycle.year_of("X", "计划") is None


# --- the command line acts as named accounts -----------------------------------------------------------------


def _dsr(url: str, *args: str):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DSR_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_copy_approve_publish_as_accounts(sqlite_url):
    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.accounts.service import add_user
    from tests.factories import save_approved

    eng = make_engine(sqlite_url)
    upgrade(eng)
    world(eng, 300)
    save_approved(eng, gs_plan())
    for user, role, dept in (("li", "planner", "SCJGJ"), ("wang", "reviewer", "SCJGJ"), ("zhou", "inspector", None)):
        add_user(eng, user, role, "correct-horse-battery-9", department=dept,
                 inspector="SCJGJ-0000" if role == "inspector" else None)
    eng.dispose()

    r = _dsr(sqlite_url, "plans", "copy", "PG-2026-GS", "--year", "2027", "--code", "PG-2027-GS", "--as", "nobody")
    assert r.returncode == 2 and "账号“nobody”不存在或已停用" in r.stderr
    r = _dsr(sqlite_url, "plans", "copy", "PG-2026-GS", "--year", "2027", "--code", "PG-2027-GS", "--as", "li")
    assert r.returncode == 0, r.stderr
    assert "已将 PG-2026-GS 复制为 2027 年度计划 PG-2027-GS" in r.stdout
    r = _dsr(sqlite_url, "draw", "PG-2027-GS", "--period", "2027-01", "--seed", SEED)
    assert r.returncode == 2 and r.stderr.startswith("错误：抽查计划“PG-2027-GS”第 1 版为草稿，尚未审批，不能抽取")
    r = _dsr(sqlite_url, "plans", "approve", "PG-2027-GS", "--as", "li")  # a planner does not approve
    assert r.returncode == 2 and "计划人员无权审批抽查计划" in r.stderr
    r = _dsr(sqlite_url, "plans", "approve", "PG-2027-GS", "--as", "SCJGJ-0000")  # the inspector acts under its roster id
    assert r.returncode == 2
    r = _dsr(sqlite_url, "plans", "publish", "PG-2027-GS", "--as", "li")
    assert r.returncode == 2 and "尚未审批，审批后方可发布" in r.stderr
    r = _dsr(sqlite_url, "plans", "approve", "PG-2027-GS", "--as", "wang")
    assert r.returncode == 0 and "已审批抽查计划 PG-2027-GS 第 1 版（审批人 wang）" in r.stdout, r.stderr
    r = _dsr(sqlite_url, "plans", "publish", "PG-2027-GS", "--as", "li")
    assert r.returncode == 0 and "已发布抽查计划 PG-2027-GS 第 1 版（发布人 li）" in r.stdout, r.stderr
    r = _dsr(sqlite_url, "plans", "--json")
    assert r.returncode == 0, r.stderr
    listed = {p["code"]: p for p in json.loads(r.stdout)}
    assert (listed["PG-2027-GS"]["status"], listed["PG-2027-GS"]["version"]) == ("published", 1)
    assert (listed["PG-2026-GS"]["status"], listed["PG-2026-GS"]["version"]) == ("published", 1)
    r = _dsr(sqlite_url, "plans", "versions", "PG-2027-GS", "--json")
    assert r.returncode == 0 and [v["approved_by"] for v in json.loads(r.stdout)] == ["wang"]
    # Drawing and voiding as accounts: the planner draws; voiding is an administrator's.
    r = _dsr(sqlite_url, "draw", "PG-2027-GS", "--period", "2027-01", "--seed", SEED, "--as", "li")
    assert r.returncode == 0, r.stderr
    r = _dsr(sqlite_url, "void", "PG-2027-GS", "--period", "2027-01", "--reason", "测试作废", "--as", "li")
    assert r.returncode == 2 and "计划人员无权作废抽取" in r.stderr
    eng = make_engine(sqlite_url)
    with Session(eng) as s:
        d = s.execute(select(Draw).join(Plan, Plan.id == Draw.plan_id).where(Plan.code == "PG-2027-GS")).scalar_one()
        assert (d.status, d.drawn_by, d.frozen_by, d.plan_version) == ("drawn", "li", "li", 1)
    eng.dispose()


def test_a_plan_in_use_before_versions_keeps_its_text_when_changed(w):
    """A plan published without a kept version (the migration, the demo) is recorded as it stood when
    it first changes, so the public still reads it while the change waits for approval."""
    from sqlalchemy import update

    engine, a = w
    code = save_plan(engine, gs_plan(), a["planner"]).code
    with engine.begin() as c:
        c.execute(update(Plan).where(Plan.code == code).values(status="published"))
    assert [r["version"] for r in pv.public_plans(engine) if r["code"] == code] == [1]
    save_plan(engine, gs_plan(task_days=3, reason="缩短完成时限"), a["planner"])
    assert _status(engine, code) == ("draft", 2)
    kept = [r for r in pv.public_plans(engine) if r["code"] == code]
    assert [(r["version"], r["current"], r["document"]["task_days"]) for r in kept] == [(1, True, 10)]
    assert [v["version"] for v in pv.versions(engine, code)] == [1]
