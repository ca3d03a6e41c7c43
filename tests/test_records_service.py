"""Editing one record of 两库一单 (scheduler/library/records.py) on SQLite and PostgreSQL:
the importer's rules, permissions, the change trail and the audit event, all or nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, Bureau, ChangeRecord, CheckItem, Conflict, Enterprise, Expert, ImportRun, Inspector, Town
from scheduler.access.permissions import PermissionDenied
from scheduler.audit import service as auditlog
from scheduler.library import records
from scheduler.access.context import Actor
from scheduler.library.records import RecordError
from test_browse import code_for, seed_library


@pytest.fixture
def seeded(engine):
    return seed_library(engine)


def planner(seeded, dept: str = "SCJGJ") -> Actor:
    return Actor("li", "planner", seeded["bureau_id"], seeded["depts"][dept])


def admin(seeded) -> Actor:
    return Actor("boss", "admin", seeded["bureau_id"])


def snapshot(engine) -> dict:
    """Everything an edit may write."""
    with Session(engine) as s:
        return {
            "enterprises": [tuple(r) for r in s.execute(
                select(Enterprise.uscc, Enterprise.name, Enterprise.town_code, Enterprise.registered_on,
                       Enterprise.status, Enterprise.risk_class, Enterprise.industry_code, Enterprise.updated_at)
                .order_by(Enterprise.uscc))],
            "inspectors": [tuple(r) for r in s.execute(
                select(Inspector.inspector_id, Inspector.name, Inspector.department_id, Inspector.cert_no,
                       Inspector.active, Inspector.qualifications).order_by(Inspector.id))],
            "experts": [tuple(r) for r in s.execute(select(Expert.expert_id, Expert.active, Expert.field).order_by(Expert.id))],
            "items": [tuple(r) for r in s.execute(select(CheckItem.code, CheckItem.kind, CheckItem.ratio_cap,
                                                         CheckItem.ratio_floor).order_by(CheckItem.id))],
            "conflicts": [tuple(r) for r in s.execute(select(Conflict.inspector_pk, Conflict.uscc, Conflict.reason)
                                                      .order_by(Conflict.id))],
            "runs": s.execute(select(func.count()).select_from(ImportRun)).scalar_one(),
            "changes": s.execute(select(func.count()).select_from(ChangeRecord)).scalar_one(),
            "audit": s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        }


# --- enterprises -------------------------------------------------------------------------------


def test_edit_enterprise_writes_row_trail_and_audit(engine, seeded):
    code = code_for(42)
    before = records.get_record(engine, "enterprises", code)
    assert before["risk_class"] == "C" and before["_text"]["town_code"] == "110117003"
    res = records.update_enterprise(engine, code, {
        "name": " 平谷第42号商贸有限公司（更名） ",  # stripped and NFKC-normalised, as an import cell
        "town_code": "滨河街道",  # a town by its name
        "risk_class": "d",  # the configured scheme, case-insensitive like the importer
        "registered_on": "2011/2/3",  # Excel's date form
        "tags": "特种设备；食品经营许可",  # full-width separator, sorted on storage
    }, planner(seeded))
    assert res.created is False and res.key == code
    assert res.changes == {
        "name": ["平谷第42号商贸有限公司", "平谷第42号商贸有限公司(更名)"],
        "town_code": ["110117003", "110117001"],
        "risk_class": ["C", "D"],
        "registered_on": ["2010-02-12", "2011-02-03"],
        "tags": ["", "特种设备;食品经营许可"],
    }
    assert "企业名称" in res.summary() and "信用风险分类" in res.summary()
    after = records.get_record(engine, "enterprises", code)
    assert after["name"] == "平谷第42号商贸有限公司(更名)" and after["town_code"] == "110117001"
    assert after["risk_class"] == "D" and after["registered_on"] == dt.date(2011, 2, 3)
    assert after["tags"] == "特种设备;食品经营许可"
    with Session(engine) as s:
        run = s.execute(select(ImportRun)).scalar_one()
        assert (run.file_name, run.kind, run.rows, run.updated, run.inserted, run.actor) == (
            records.SOURCE, "enterprises", 1, 1, 0, "li")
        cr = s.execute(select(ChangeRecord)).scalar_one()
        assert cr.import_run_id == run.id and cr.key == code and json.loads(cr.changes) == res.changes
        ev = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert (ev.action, ev.object, ev.actor, ev.role) == ("library.edit", f"enterprise:{code}", "li", "planner")
    hist = records.history(engine, "enterprises", code)
    assert len(hist) == 1 and hist[0]["actor"] == "li" and hist[0]["changes"]["risk_class"] == ["C", "D"]
    assert auditlog.verify(engine).ok


def test_edit_that_changes_nothing_writes_nothing(engine, seeded):
    before = snapshot(engine)
    res = records.update_enterprise(engine, code_for(7).lower(), {"name": "平谷第7号商贸有限公司", "town_code": "峪口地区"},
                                    admin(seeded))
    assert not res.changed and "没有修改" in res.summary()
    assert snapshot(engine) == before


@pytest.mark.parametrize("changes, field, reason", [
    ({"town_code": "不存在镇"}, "所属乡镇街道", "乡镇街道名称不存在"),
    ({"town_code": "110117999"}, "所属乡镇街道", "乡镇街道代码不存在"),
    ({"registered_on": "2021-02-30"}, "成立日期", "日期无效"),
    ({"registered_on": "2021.02.01"}, "成立日期", "日期格式应为 YYYY-MM-DD"),
    ({"risk_class": "E"}, "信用风险分类", "A / B / C / D"),
    ({"status": "正常"}, "登记状态", "存续 / 注销 / 吊销 / 迁出"),
    ({"industry_code": "52"}, "行业代码", "GB/T 4754"),
    ({"entity_type": "公司"}, "主体类型", "企业 / 个体工商户 / 农民专业合作社"),
    ({"name": ""}, "企业名称", "必填项为空"),
    ({"name": "名" * 201}, "企业名称", "长度超过200"),
])
def test_bad_enterprise_values_are_refused_and_change_nothing(engine, seeded, changes, field, reason):
    before = snapshot(engine)
    with pytest.raises(RecordError) as e:
        records.update_enterprise(engine, code_for(8), {"address": "新地址", **changes}, planner(seeded))
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}：") and reason in str(e.value)
    assert snapshot(engine) == before


def test_risk_class_follows_the_configured_scheme(engine, seeded):
    from scheduler.library.bureaus import set_risk_classes

    with Session(engine) as s:
        set_risk_classes(s, ["A", "B", "C", "D", "E"])
        s.commit()
    assert records.update_enterprise(engine, code_for(8), {"risk_class": "E"}, admin(seeded)).changes["risk_class"] == ["A", "E"]


def test_add_enterprise_checks_the_uscc_check_character(engine, seeded):
    good = code_for(5000)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    values = {"name": "新增测试有限公司", "entity_type": "企业", "industry_code": "F5211", "town_code": "兴谷街道",
              "status": "存续", "risk_class": "B"}
    before = snapshot(engine)
    with pytest.raises(RecordError, match="^统一社会信用代码：.*校验码") as e:
        records.add_enterprise(engine, {"uscc": bad, **values}, planner(seeded))
    assert e.value.field == "统一社会信用代码"
    assert snapshot(engine) == before
    res = records.add_enterprise(engine, {"uscc": good, **values}, planner(seeded))
    assert res.created and res.changes["name"] == [None, "新增测试有限公司"]
    got = records.get_record(engine, "enterprises", good)
    assert got["town_code"] == "110117002" and got["address"] == "" and got["registered_on"] is None
    with pytest.raises(RecordError, match="已存在"):
        records.add_enterprise(engine, {"uscc": good, **values}, planner(seeded))
    with Session(engine) as s:
        assert s.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == "library.add"


def test_keys_do_not_change_and_unknown_fields_are_refused(engine, seeded):
    before = snapshot(engine)
    with pytest.raises(RecordError, match="统一社会信用代码不可修改"):
        records.update_enterprise(engine, code_for(9), {"uscc": code_for(10)}, admin(seeded))
    with pytest.raises(RecordError, match="未知的字段"):
        records.update_enterprise(engine, code_for(9), {"risk": "A"}, admin(seeded))
    with pytest.raises(RecordError, match="没有找到检查对象"):
        records.update_enterprise(engine, code_for(9999), {"name": "x"}, admin(seeded))
    assert snapshot(engine) == before


@pytest.mark.parametrize("role", ["inspector", "reviewer", "auditor", "public"])
def test_forbidden_roles_change_nothing(engine, seeded, role):
    actor = Actor("someone", role, seeded["bureau_id"], seeded["depts"]["SCJGJ"])
    before = snapshot(engine)
    for call in (
        lambda: records.update_enterprise(engine, code_for(8), {"name": "改名"}, actor),
        lambda: records.update_inspector(engine, "P0001", {"name": "改名"}, actor),
        lambda: records.set_active(engine, "experts", "E001", False, actor),
        lambda: records.update_item(engine, "SC-002", {"ratio_cap": "4%"}, actor),
        lambda: records.add_conflict(engine, "P0003", code_for(9), {"reason": "其他"}, actor),
    ):
        with pytest.raises(PermissionDenied, match="无权编辑两库一单记录"):
            call()
    assert snapshot(engine) == before


def test_another_bureaus_records_are_out_of_reach(engine, seeded):
    with Session(engine) as s:
        other = Bureau(code="110105", name="北京市朝阳区市场监督管理局", area_code="110105")
        s.add(other)
        s.flush()
        s.get(Town, "110117004").bureau_id = other.id  # code_for(3), (7), ... now belong to the other bureau
        s.commit()
        other_id = other.id
    before = snapshot(engine)
    with pytest.raises(PermissionDenied, match="只能在本监管局范围内编辑"):
        records.update_enterprise(engine, code_for(3), {"name": "改名"}, planner(seeded))
    with pytest.raises(RecordError, match="账号所属的市场监管局不存在"):
        records.update_enterprise(engine, code_for(3), {"name": "改名"}, Actor("x", "planner", other_id + 1))
    with pytest.raises(RecordError, match="多个市场监管局"):  # a bureau-less actor must say which bureau
        records.update_enterprise(engine, code_for(3), {"name": "改名"})
    # Moving one of ours into a town of the other bureau is an unknown town for us.
    with pytest.raises(RecordError, match="所属乡镇街道：.*不属于本局辖区"):
        records.update_enterprise(engine, code_for(8), {"town_code": "峪口地区"}, planner(seeded))
    # The other bureau's planner edits its own (and sees no inspector of ours).
    assert records.update_enterprise(engine, code_for(3), {"name": "改名"}, Actor("y", "planner", other_id)).changed
    with pytest.raises(RecordError, match="没有找到执法检查人员"):
        records.update_inspector(engine, "P0001", {"name": "改名"}, Actor("y", "planner", other_id))
    assert snapshot(engine)["runs"] == before["runs"] + 1


def test_a_failure_after_the_row_is_written_rolls_everything_back(engine, seeded, monkeypatch):
    before = snapshot(engine)

    def broken(*a, **k):
        raise RuntimeError("audit chain unavailable")

    monkeypatch.setattr(records.auditlog, "record", broken)
    with pytest.raises(RuntimeError):
        records.update_enterprise(engine, code_for(8), {"name": "半途失败", "risk_class": "D"}, admin(seeded))
    assert snapshot(engine) == before


# --- the roster, experts, items, conflicts ---------------------------------------------------------


def test_edit_inspector_department_by_name_and_deactivate(engine, seeded):
    p = planner(seeded)
    res = records.update_inspector(engine, "P0002", {"department_id": "区农业农村局", "qualifications": "农资; 食品",
                                                     "region": "滨河街道"}, p)
    assert res.changes["department_id"] == [seeded["depts"]["SCJGJ"], seeded["depts"]["NYNCJ"]]
    assert res.changes["qualifications"] == ["特种设备;食品", "农资;食品"]
    got = records.get_record(engine, "inspectors", "P0002")
    assert got["_text"]["department_id"] == "区农业农村局" and got["_text"]["active"] == "是"
    assert records.set_active(engine, "inspectors", "P0002", False, p).changes == {"active": [True, False]}
    assert records.get_record(engine, "inspectors", "P0002")["active"] is False
    assert [h["changes"] for h in records.history(engine, "inspectors", "P0002")][0] == {"active": [True, False]}
    with pytest.raises(RecordError, match="停用或启用"):
        records.set_active(engine, "enterprises", code_for(1), False, p)


def test_inspector_rules_as_on_import(engine, seeded):
    p = planner(seeded)
    before = snapshot(engine)
    with pytest.raises(RecordError, match="^所属部门：部门不存在"):
        records.update_inspector(engine, "P0002", {"department_id": "区不存在局"}, p)
    with pytest.raises(RecordError, match="^执法证号：已属于人员编号 P0003"):
        records.update_inspector(engine, "P0002", {"cert_no": "ZF000003"}, p)
    with pytest.raises(RecordError, match="^在岗：应填“是”或“否”"):
        records.update_inspector(engine, "P0002", {"active": "也许"}, p)
    with pytest.raises(RecordError, match="^执法证号：已属于"):
        records.add_inspector(engine, {"inspector_id": "P9000", "name": "新人", "department_id": "SCJGJ",
                                       "cert_no": "ZF000001"}, p)
    assert snapshot(engine) == before
    res = records.add_inspector(engine, {"inspector_id": "P9000", "name": "新人", "department_id": "SCJGJ",
                                         "cert_no": "ZF900000"}, p)
    assert res.created
    got = records.get_record(engine, "inspectors", "P9000")
    assert got["active"] is True and got["department_id"] == seeded["depts"]["SCJGJ"]


def test_experts_and_items(engine, seeded):
    a = admin(seeded)
    assert records.update_expert(engine, "E001", {"organisation": "北京市特种设备检测中心"}, a).changed
    assert records.add_expert(engine, {"expert_id": "E100", "name": "专家100", "field": "食品检测"}, a).created
    before = snapshot(engine)
    # An item's kind and ratios: the importer's cross-field rules.
    with pytest.raises(RecordError, match="^抽查比例上限：一般检查事项必须填写抽查比例上限"):
        records.update_item(engine, "SC-002", {"ratio_cap": ""}, a)
    with pytest.raises(RecordError, match="^抽查比例上限：重点检查事项不设抽查比例上限"):
        records.update_item(engine, "SC-001", {"ratio_cap": "5%"}, a)
    with pytest.raises(RecordError, match="^抽查比例上限：比例应大于0且不超过100%"):
        records.update_item(engine, "SC-002", {"ratio_cap": "150%"}, a)
    with pytest.raises(RecordError, match="^抽查比例下限：抽查比例下限不得高于上限"):
        records.update_item(engine, "SC-002", {"ratio_floor": "5%"}, a)
    with pytest.raises(RecordError, match="^检查对象乡镇：乡镇街道名称不存在"):
        records.update_item(engine, "SC-002", {"scope_towns": "滨河街道;火星镇"}, a)
    assert snapshot(engine) == before
    res = records.update_item(engine, "SC-002", {"ratio_cap": "4%", "ratio_floor": "0.01", "scope_towns": "兴谷街道;滨河街道"}, a)
    assert res.changes == {"ratio_cap": ["0.03", "0.04"], "ratio_floor": [None, "0.01"],
                           "scope_towns": ["", "110117001;110117002"]}


def test_conflicts(engine, seeded):
    p = planner(seeded)
    before = snapshot(engine)
    with pytest.raises(RecordError, match="^人员编号：执法检查人员不存在"):
        records.add_conflict(engine, "P7777", code_for(9), {"reason": "持股"}, p)
    with pytest.raises(RecordError, match="^统一社会信用代码：.*校验码"):
        records.add_conflict(engine, "P0003", code_for(9)[:17] + "0" if code_for(9)[17] != "0" else code_for(9)[:17] + "1",
                             {"reason": "持股"}, p)
    with pytest.raises(RecordError, match="^回避原因：应为 亲属关系 / 曾任职 / 持股 / 其他 之一"):
        records.add_conflict(engine, "P0003", code_for(9), {"reason": "朋友"}, p)
    with pytest.raises(RecordError, match="已存在"):
        records.add_conflict(engine, "P0001", code_for(5), {"reason": "持股"}, p)
    assert snapshot(engine) == before
    assert records.add_conflict(engine, "P0003", code_for(9), {"reason": "持股", "declared_by": "管理员录入"}, p).created
    res = records.update_conflict(engine, "P0003", code_for(9), {"note": "持有5%股份"}, p)
    assert res.key == f"P0003/{code_for(9)}" and res.changes == {"note": ["", "持有5%股份"]}
    assert records.history(engine, "conflicts", ("P0003", code_for(9)))[0]["changes"] == {"note": ["", "持有5%股份"]}
