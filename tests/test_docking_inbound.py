"""Inbound from the city platform: incremental registry and credit-risk batches. Idempotent (the same
batch twice changes nothing), a change report (new, changed, left the frame), all or nothing with
errors naming file, row and field, and the open tasks of deregistered entities closed with their
category. Real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, CheckItem, Enterprise, Inspector, Task, TaskEvent, TaskItem, TeamMember
from scheduler.access.context import CLI, Actor
from scheduler.docking import formats as fm
from scheduler.docking.inbound import import_city
from scheduler.results import service as rs
from tests.docking_helpers import demo, inbound_batch
from tests.factories import make_uscc

NEW = make_uscc(90_000_001)


@pytest.fixture
def world(engine):
    demo(engine)
    return engine


def _snapshot(eng):
    with Session(eng) as s:
        ents = s.execute(select(Enterprise.uscc, Enterprise.name, Enterprise.address, Enterprise.status,
                                Enterprise.risk_class, Enterprise.industry_code, Enterprise.tags)
                         .order_by(Enterprise.uscc)).all()
        tasks = s.execute(select(Task.id, Task.status, Task.note).order_by(Task.id)).all()
        n_audit = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return ents, tasks, n_audit


def _pick(eng):
    """(an entity with an assigned task and no result, one with a reserve task, one with a result
    entered on an open task, an untouched active entity)."""
    with Session(eng) as s:
        busy = set(s.execute(select(Task.uscc).where(Task.status.notin_(("assigned", "reserve")))).scalars())
        assigned = [u for u in s.execute(select(Task.uscc).where(Task.status == "assigned").order_by(Task.id)).scalars()
                    if u not in busy]
        reserve = [u for u in s.execute(select(Task.uscc).where(Task.status == "reserve").order_by(Task.id)).scalars()
                   if u not in busy and u not in assigned]
        multi = set(s.execute(select(TaskItem.task_id).group_by(TaskItem.task_id).having(func.count() > 1)).scalars())
        begun = next(u for t, u in s.execute(select(Task.id, Task.uscc).where(Task.status == "assigned").order_by(Task.id))
                     if t in multi and u not in busy and u not in assigned[:1] and u not in reserve[:1])
        free = s.execute(select(Enterprise.uscc).where(Enterprise.status == "存续", Enterprise.uscc.notin_(
            select(Task.uscc))).order_by(Enterprise.uscc)).scalars().first()
    return assigned[0], reserve[0], begun, free


def _enter_one(eng, uscc):
    """An inspector of the team enters one item's result on the entity's assigned task."""
    with Session(eng) as s:
        t = s.execute(select(Task).where(Task.uscc == uscc, Task.status == "assigned")).scalars().first()
        item = s.execute(select(CheckItem).join(TaskItem, TaskItem.item_id == CheckItem.id)
                         .where(TaskItem.task_id == t.id).order_by(CheckItem.code)).scalars().first()
        iid = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                        .where(TeamMember.task_id == t.id, TeamMember.active.is_(True),
                               TeamMember.department_id == item.department_id)).scalars().first()
        bid = t.bureau_id
    rs.enter_result(eng, t.id, item.code, ["01"], Actor(iid, "inspector", bid))
    return t.id


def test_registry_batch_report_idempotent_and_deregistration_closes_tasks(world, tmp_path):
    eng = world
    gone, gone_reserve, begun, moved = _pick(eng)
    begun_task = _enter_one(eng, begun)
    records = [
        {"统一社会信用代码": NEW, "企业名称": "北京平谷新设示例商贸有限公司", "主体类型": "企业", "行业代码": "F5211",
         "所属乡镇街道": "滨河街道", "住所": "北京市平谷区新平北路1号", "成立日期": "2026-11-20", "登记状态": "存续",
         "信用风险分类": "B", "许可标签": "食品经营许可"},
        {"统一社会信用代码": gone, "登记状态": "注销", "变更日期": "2026-12-01"},
        {"统一社会信用代码": gone_reserve, "登记状态": "吊销"},
        {"统一社会信用代码": begun, "登记状态": "注销"},
        {"统一社会信用代码": moved, "住所": "北京市平谷区迁址路9号"},
    ]
    folder = inbound_batch(tmp_path, fm.CITY_REGISTRY, 1, records)
    before = _snapshot(eng)
    dry = import_city(eng, folder, CLI, dry_run=True)
    assert _snapshot(eng) == before  # a dry run changes nothing
    rep = import_city(eng, folder / "manifest.json", CLI)
    assert rep.as_dict() == dict(dry.as_dict(), dry_run=False)
    assert rep.new == [NEW]
    assert {u for u, _ in rep.changed} == {gone, gone_reserve, begun, moved}
    assert list(dict(rep.changed)[moved]) == ["住所"] and dict(rep.changed)[moved]["住所"][1] == "北京市平谷区迁址路9号"
    assert sorted(rep.left) == sorted([(gone, "存续", "注销"), (gone_reserve, "存续", "吊销"), (begun, "存续", "注销")])
    assert any("退出名录" in line for line in rep.lines())

    with Session(eng) as s:
        def statuses(u):
            return set(s.execute(select(Task.status).where(Task.uscc == u)).scalars())

        assert statuses(gone) == {"cannot_inspect"}
        assert statuses(gone_reserve) == {"voided"}
        assert s.get(Task, begun_task).status == "inspecting"  # results entered: left to the team, reported
        t = s.execute(select(Task).where(Task.uscc == gone)).scalars().first()
        ev = s.execute(select(TaskEvent).where(TaskEvent.task_id == t.id, TaskEvent.to_status == "cannot_inspect")).scalar_one()
        assert "已注销" in ev.reason and "CITY-city-registry-00001" in ev.reason
        assert s.execute(select(Enterprise.status).where(Enterprise.uscc == gone)).scalar_one() == "注销"
        assert s.execute(select(Enterprise.name).where(Enterprise.uscc == NEW)).scalar_one() == "北京平谷新设示例商贸有限公司"
    by_task = {c.task_id: c for c in rep.closings}
    assert by_task[begun_task].to_status == "" and by_task[begun_task].category == "已注销"

    after = _snapshot(eng)
    again = import_city(eng, folder, CLI)  # the same batch twice: nothing changes
    assert again.already and _snapshot(eng) == after
    # The same rows under a new batch number are all unchanged (content-level idempotence).
    rows_again = inbound_batch(tmp_path, fm.CITY_REGISTRY, 2, records)
    rep2 = import_city(eng, rows_again, CLI)
    assert (rep2.new, rep2.changed, rep2.left, rep2.unchanged) == ([], [], [], len(records))
    assert _snapshot(eng)[:2] == after[:2]


def test_errors_name_file_row_and_field_and_nothing_is_written(world, tmp_path):
    eng = world
    _, _, _, free = _pick(eng)
    before = _snapshot(eng)
    csv_folder = inbound_batch(tmp_path / "a", fm.CITY_REGISTRY, 1, [
        {"统一社会信用代码": free, "住所": "新址"},
        {"统一社会信用代码": NEW, "企业名称": "缺字段的新主体"},  # a new entity without its required fields
        {"统一社会信用代码": free[:-1] + "0" if free[-1] != "0" else free[:-1] + "1", "住所": "x"},
    ], fmt="csv")
    with pytest.raises(fm.DockingError) as exc:
        import_city(eng, csv_folder, CLI)
    msg = str(exc.value)
    assert "文件 records.csv 第 3 行 [主体类型]" in msg  # the header is row 1
    assert "第 4 行 [统一社会信用代码]" in msg
    assert _snapshot(eng) == before  # all or nothing
    js = inbound_batch(tmp_path / "b", fm.CITY_RISK, 1, [{"统一社会信用代码": free, "风险": "A"}])
    with pytest.raises(fm.DockingError, match=r"文件 records.json 第 1 条 \[风险\]：有未定义的字段"):
        import_city(eng, js, CLI)
    unknown = inbound_batch(tmp_path / "c", fm.CITY_RISK, 1, [{"统一社会信用代码": NEW, "信用风险分类": "A"}])
    with pytest.raises(fm.DockingError, match="第 1 行 \\[统一社会信用代码\\].*名录库中没有该主体"):
        import_city(eng, unknown, CLI)
    bad_class = inbound_batch(tmp_path / "d", fm.CITY_RISK, 1, [{"统一社会信用代码": free, "信用风险分类": "Z"}])
    with pytest.raises(fm.DockingError, match="第 1 行 \\[信用风险分类\\]"):
        import_city(eng, bad_class, CLI)
    assert _snapshot(eng) == before


def test_risk_batches_in_sequence_and_untampered(world, tmp_path):
    eng = world
    _, _, _, free = _pick(eng)
    with Session(eng) as s:
        old = s.execute(select(Enterprise.risk_class).where(Enterprise.uscc == free)).scalar_one()
    new = "D" if old != "D" else "A"
    b1 = inbound_batch(tmp_path, fm.CITY_RISK, 1, [{"统一社会信用代码": free, "信用风险分类": new, "评定日期": "2026-12-01"}])
    rep = import_city(eng, b1, CLI)
    assert rep.changed == [(free, {"信用风险分类": [old, new]})] and rep.left == []
    skip = inbound_batch(tmp_path, fm.CITY_RISK, 3, [{"统一社会信用代码": free, "信用风险分类": old}])
    with pytest.raises(fm.DockingError, match="序号为 3，应为 2"):
        import_city(eng, skip, CLI)
    other = inbound_batch(tmp_path / "x", fm.CITY_RISK, 1, [{"统一社会信用代码": free, "信用风险分类": old}],
                          batch_id="CITY-city-risk-00001")
    with pytest.raises(fm.DockingError, match="内容不同"):
        import_city(eng, other, CLI)
    b2 = inbound_batch(tmp_path, fm.CITY_RISK, 2, [{"统一社会信用代码": free, "信用风险分类": old}])
    data = b2 / "records.json"
    data.write_bytes(data.read_bytes().replace(old.encode(), (new if new != old else "C").encode()))
    with pytest.raises(fm.DockingError, match="SHA-256 与清单不符"):
        import_city(eng, b2, CLI)
    with Session(eng) as s:
        assert s.execute(select(Enterprise.risk_class).where(Enterprise.uscc == free)).scalar_one() == new
