"""市抽县查 through files: a city-tasks batch handed down becomes tasks with their teams; their published
results go back up in a city-results batch, answered by a receipt, each version accepted once.
Real SQLite and PostgreSQL."""

from __future__ import annotations

import jsonschema
import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import CheckItem, CityTask, Conflict, Enterprise, Inspector, Task, TaskItem, TeamMember
from scheduler.access.context import CLI, Actor
from scheduler.docking import formats as fm
from scheduler.docking import outbound, receipts
from scheduler.docking.inbound import import_city
from scheduler.docking.schemas import records_schema
from scheduler.results import service as rs
from tests.docking_helpers import accepted_versions, demo, inbound_batch, read_records, write_receipt


@pytest.fixture
def world(engine):
    demo(engine)
    return engine


def _rows(eng, n: int = 2) -> list[dict]:
    """n rows of free 存续 entities, one item of 区市场监管局 each, two inspectors of it without conflicts."""
    with Session(eng) as s:
        item = s.execute(select(CheckItem).order_by(CheckItem.code)).scalars().first()
        people = list(s.execute(select(Inspector).where(Inspector.department_id == item.department_id,
                                                        Inspector.active.is_(True)).order_by(Inspector.inspector_id)).scalars())
        conflicts = set(s.execute(select(Inspector.inspector_id, Conflict.uscc)
                                  .join(Conflict, Conflict.inspector_pk == Inspector.id)).all())
        free = list(s.execute(select(Enterprise.uscc).where(Enterprise.status == "存续", Enterprise.uscc.notin_(
            select(Task.uscc))).order_by(Enterprise.uscc).limit(n)).scalars())
    rows = []
    for k, u in enumerate(free):
        team = [p.inspector_id for p in people if (p.inspector_id, u) not in conflicts][:2]
        rows.append({"市级任务编号": f"SJ-2026-12-{k:04d}", "市级计划编号": "BJ-SJ-2026", "计划名称": "市级双随机抽查",
                     "抽查期间": "2026-12", "统一社会信用代码": u, "检查事项编码": item.code, "检查人员编号": ";".join(team),
                     "完成期限": "2026-12-31", "抽取核验": "a1b2c3"})
    return rows


def _publish(eng, task_id: int) -> None:
    with Session(eng) as s:
        bid = s.get(Task, task_id).bureau_id
        code = s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                         .where(TaskItem.task_id == task_id)).scalar_one()
        lead = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                         .where(TeamMember.task_id == task_id, TeamMember.role == "leader")).scalar_one()
    r = rs.enter_result(eng, task_id, code, ["01"], Actor(lead, "inspector", bid))
    rs.approve(eng, r.id, Actor("审核员", "reviewer", bid, r.department_id))
    rs.publish(eng, task_id, Actor("管理员", "admin", bid))


def test_tasks_handed_down_and_results_sent_back_up(world, tmp_path):
    eng = world
    rows = _rows(eng)
    folder = inbound_batch(tmp_path / "in", fm.CITY_TASKS, 1, rows)
    dry = import_city(eng, folder, CLI, dry_run=True)
    assert [t["city_task"] for t in dry.tasks] == ["SJ-2026-12-0000", "SJ-2026-12-0001"]
    with Session(eng) as s:
        assert s.execute(select(CityTask)).first() is None
    rep = import_city(eng, folder, CLI)
    assert len(rep.tasks) == 2 and any("新下发任务 2" in line for line in rep.lines())
    assert import_city(eng, folder, CLI).already
    again = import_city(eng, inbound_batch(tmp_path / "in", fm.CITY_TASKS, 2, rows), CLI)
    assert (again.tasks, again.unchanged) == ([], 2)
    with Session(eng) as s:
        tasks = {c.city_task_no: s.get(Task, c.task_id) for c in s.execute(select(CityTask)).scalars()}
    assert {t.status for t in tasks.values()} == {"assigned"} and {t.kind for t in tasks.values()} == {"city"}

    for t in tasks.values():
        _publish(eng, t.id)
    up = outbound.export(eng, "city", tmp_path / "out", CLI)
    recs = read_records(up.folder)
    jsonschema.validate(recs, records_schema(fm.CITY_RESULTS))
    assert up.batch_no == "110117-CITY-000001"
    assert sorted(r["市级任务编号"] for r in recs) == sorted(tasks)
    assert {r["市级计划编号"] for r in recs} == {"BJ-SJ-2026"}
    receipts.import_receipt(eng, write_receipt(up.folder, tmp_path / "r.json"), CLI)
    assert outbound.counts(eng, CLI, kind=fm.CITY_RESULTS) == {"waiting": 0, "sent": 0, "accepted": len(recs),
                                                               "rejected": 0}
    assert outbound.export(eng, "city", tmp_path / "out", CLI) is None
    # The publicity system is another receiver: the same results go to it too, once per version.
    gsxt = outbound.export(eng, "gsxt", tmp_path / "out", CLI)
    assert {r["检查编号"] for r in recs} <= {r["检查编号"] for r in read_records(gsxt.folder)}
    assert all(v == [1] for v in accepted_versions(eng).values())


def test_a_bad_task_row_refuses_the_whole_batch(world, tmp_path):
    eng = world
    rows = _rows(eng, 3)
    rows[1]["检查事项编码"] = "NO-SUCH"
    rows[2]["检查人员编号"] = rows[2]["检查人员编号"].split(";")[0]
    with pytest.raises(fm.DockingError) as exc:
        import_city(eng, inbound_batch(tmp_path / "a", fm.CITY_TASKS, 1, rows), CLI)
    msg = str(exc.value)
    assert "第 2 条" not in msg and "文件 records.json 第 2 行 [检查事项编码]" in msg and "NO-SUCH" in msg
    assert "第 3 行 [检查人员编号]" in msg and "至少需要两名" in msg
    with Session(eng) as s:
        assert s.execute(select(CityTask)).first() is None
    good = _rows(eng, 1)
    import_city(eng, inbound_batch(tmp_path / "b", fm.CITY_TASKS, 1, good), CLI)
    changed = [dict(good[0], 完成期限="2027-01-15")]
    with pytest.raises(fm.DockingError, match="该任务已下发，内容不同"):
        import_city(eng, inbound_batch(tmp_path / "c", fm.CITY_TASKS, 2, changed), CLI)
