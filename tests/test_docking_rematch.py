"""市抽县查 at the district: tasks handed down without a team (or with one) are matched from the
district's own roster by DSR-1 matching; the package verifies, the audit trail holds the
certificate's digest, and the results going back up name the team. Real SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import AuditEvent, CheckItem, CityTask, Inspector, Task, TaskEvent, TaskItem, TeamMember
from scheduler.access.context import CLI, Actor
from scheduler.access.permissions import PermissionDenied
from scheduler.docking import formats as fm
from scheduler.docking import outbound
from scheduler.docking.inbound import import_city
from scheduler.docking.rematch import rematch
from scheduler.results import service as rs
from scheduler.verify import verify_package
from tests.docking_helpers import demo, inbound_batch, read_records
from tests.test_docking_citytasks import _rows

SEED = "20261205083000123456"


@pytest.fixture
def world(engine, tmp_path):
    demo(engine)
    rows = _rows(engine, 3)
    rows[0]["检查人员编号"] = ""  # handed down without a team
    rows[1]["检查人员编号"] = ""
    import_city(engine, inbound_batch(tmp_path / "in", fm.CITY_TASKS, 1, rows), CLI)
    return engine, rows


def _teams(eng) -> dict[str, list[str]]:
    with Session(eng) as s:
        out: dict[str, list[str]] = {}
        for no, iid in s.execute(select(CityTask.city_task_no, Inspector.inspector_id)
                                 .join(TeamMember, TeamMember.task_id == CityTask.task_id)
                                 .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                                 .where(TeamMember.active).order_by(CityTask.city_task_no, TeamMember.slot)):
            out.setdefault(no, []).append(iid)
        return out


def test_the_district_matches_its_own_teams_verifiably(world, tmp_path):
    eng, rows = world
    with Session(eng) as s:
        states = dict(s.execute(select(CityTask.city_task_no, Task.status).join(Task, Task.id == CityTask.task_id)).all())
    assert states == {rows[0]["市级任务编号"]: "drawn", rows[1]["市级任务编号"]: "drawn", rows[2]["市级任务编号"]: "assigned"}
    with pytest.raises(PermissionDenied):
        rematch(eng, "BJ-SJ-2026", SEED, tmp_path / "m", Actor("insp", "inspector", 1))

    # One task already has a result entered: it keeps its team; the other two are matched.
    _publish(eng, _task_id(eng, rows[2]["市级任务编号"]))
    r = rematch(eng, "BJ-SJ-2026", SEED, tmp_path / "m", CLI)
    assert r.left == [rows[2]["市级任务编号"]] and [t["city_task"] for t in r.tasks] == [rows[0]["市级任务编号"],
                                                                                      rows[1]["市级任务编号"]]
    report = verify_package(r.folder)
    assert report.ok, report.first_difference
    assert report.kind == "matching"
    teams = _teams(eng)
    assert all(len(teams[t["city_task"]]) >= 2 and teams[t["city_task"]] == t["team"] for t in r.tasks)
    with Session(eng) as s:
        ev = s.execute(select(AuditEvent).where(AuditEvent.action == "task.city_rematch")).scalar_one()
        assert json.loads(ev.payload)["certificate_sha256"] == r.certificate_sha256
        assert s.execute(select(TaskEvent).where(TaskEvent.reason.like("区级重新匹配检查组%"))).scalars().all()
        assert {st for (st,) in s.execute(select(Task.status).join(CityTask, CityTask.task_id == Task.id))} == {
            "assigned", "published"}

    # A changed ticket or team in the package is found.
    cert = json.loads((r.folder / "certificate.json").read_text("utf-8"))
    cert["selected"][0]["ticket"] = "0" * 64
    (r.folder / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), "utf-8")
    assert "抽取号与种子不符" in verify_package(r.folder).first_difference

    # The same seed again gives the same teams (deterministic), in a new package.
    again = rematch(eng, "BJ-SJ-2026", SEED, tmp_path / "m", CLI)
    assert again.folder != r.folder and [t["team"] for t in again.tasks] == [t["team"] for t in r.tasks]

    # The results going back up name the team that checked.
    for t in r.tasks:
        _publish(eng, t["task_id"])
    up = outbound.export(eng, "city", tmp_path / "out", CLI)
    recs = {rec["市级任务编号"]: rec for rec in read_records(up.folder)}
    for t in r.tasks:
        assert recs[t["city_task"]]["检查人员编号"] == ";".join(t["team"])
        assert "执法证号" in recs[t["city_task"]]["检查人员"]


def _publish(eng, task_id: int) -> None:
    """The active team's leader enters 未发现问题, a reviewer approves, an administrator publishes."""
    with Session(eng) as s:
        bid = s.get(Task, task_id).bureau_id
        code = s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                         .where(TaskItem.task_id == task_id)).scalar_one()
        lead = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                         .where(TeamMember.task_id == task_id, TeamMember.role == "leader", TeamMember.active)).scalar_one()
    r = rs.enter_result(eng, task_id, code, ["01"], Actor(lead, "inspector", bid))
    rs.approve(eng, r.id, Actor("审核员", "reviewer", bid, r.department_id))
    rs.publish(eng, task_id, Actor("管理员", "admin", bid))


def _task_id(eng, no: str) -> int:
    with Session(eng) as s:
        return s.execute(select(CityTask.task_id).where(CityTask.city_task_no == no)).scalar_one()


def test_nothing_to_match_is_refused(world, tmp_path):
    eng, _ = world
    with pytest.raises(fm.DockingError, match="没有市级计划 NO-PLAN"):
        rematch(eng, "NO-PLAN", SEED, tmp_path / "m", CLI)
    with pytest.raises(fm.DockingError, match="匹配种子"):
        rematch(eng, "BJ-SJ-2026", " ", tmp_path / "m", CLI)


def test_the_command_and_dsr_verify(sqlite_url, tmp_path):
    import os
    import subprocess
    import sys

    from db.engine import make_engine

    eng = make_engine(sqlite_url)
    demo(eng)
    rows = [dict(r, 检查人员编号="") for r in _rows(eng, 2)]
    import_city(eng, inbound_batch(tmp_path / "in", fm.CITY_TASKS, 1, rows), CLI)
    eng.dispose()
    env = dict(os.environ, DSR_DATABASE_URL=sqlite_url, COLUMNS="200")

    def dsr(*args):
        return subprocess.run([sys.executable, "-m", "scheduler", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    r = dsr("exchange", "rematch", "BJ-SJ-2026", "--seed", SEED, "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    folder = r.stdout.splitlines()[0]
    assert folder.endswith("-REMATCH-BJ-SJ-2026-001") and "匹配证书 SHA-256" in r.stdout
    v = dsr("verify", folder)
    assert v.returncode == 0 and "核验通过" in v.stdout and "由种子重算一致" in v.stdout, v.stdout + v.stderr
    again = dsr("exchange", "rematch", "NO-PLAN", "--seed", SEED, "--out", str(tmp_path / "m"))
    assert again.returncode != 0 and "没有市级计划 NO-PLAN" in again.stdout + again.stderr


def test_the_docking_page_matches_the_teams(sqlite_url, tmp_path, monkeypatch):
    """平台对接 as an administrator: the city plan with its open tasks, a seed, one click; the package verifies."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from db.engine import make_engine
    from tests.ui_steps import login as ui_login, open_page, rerun

    eng = make_engine(sqlite_url)
    demo(eng)
    rows = [dict(r, 检查人员编号="") for r in _rows(eng, 2)]
    import_city(eng, inbound_batch(tmp_path / "in", fm.CITY_TASKS, 1, rows), CLI)
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = ui_login(AppTest.from_file(str(Path(__file__).resolve().parents[1] / "streamlit_app.py"), default_timeout=90))
    open_page(at, "docking.py")
    assert "待开始 2 个，其中未匹配 2 个" in at.selectbox(key="docking_rematch_plan").format_func("BJ-SJ-2026")
    at.text_input(key="docking_out").set_value(str(tmp_path / "m"))
    at.text_input(key="docking_rematch_seed").input(SEED)
    rerun(at)
    at.button(key="docking_rematch_go").click()
    rerun(at)
    done = [s.value for s in at.success if "已为市级计划 BJ-SJ-2026 的 2 个任务匹配检查组" in s.value]
    assert done, [e.value for e in at.error]
    assert verify_package(next((tmp_path / "m").iterdir())).ok
    assert set(_teams(eng)) == {r["市级任务编号"] for r in rows}
    eng.dispose()
    st.cache_resource.clear()
