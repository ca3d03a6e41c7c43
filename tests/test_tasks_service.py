"""Task listing with teams (任务与匹配, read side) on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import CheckItem, Department, Enterprise, Inspector, Task, TaskItem, TeamMember
from scheduler.draw import service as draws
from scheduler.results import tasks
from scheduler.matching import service as teams
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import world

SEED = "31415926535897932384626433"


def sp_plan(cap: int) -> PlanInput:
    return PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ",
                     item_codes=["SP-01", "WS-01", "TS-01"], ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"},
                     workload_cap=cap)


@pytest.fixture
def drawn(engine):
    world(engine, 1200)
    # A tight workload cap leaves some teams short, so the 缺员 note shows up.
    save_approved(engine, sp_plan(5))
    d = draws.execute(engine, "PG-SP", "2026-12", seed=SEED)
    return engine, d


def _all(engine, **kw):
    out, page = [], 1
    while True:
        p = tasks.list_tasks(engine, page=page, page_size=37, **kw)
        out += p.rows
        if page >= p.pages:
            return out, p.total
        page += 1


def test_pages_cover_every_task_once_in_draw_order(drawn):
    engine, d = drawn
    rows, total = _all(engine, draw_id=d.id)
    with Session(engine) as s:
        n = s.execute(select(func.count()).select_from(Task).where(Task.draw_id == d.id)).scalar_one()
    assert total == n == len(rows) == len({r["id"] for r in rows})
    ranks = [r["rank"] for r in rows if r["rank"] is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    # Reserves come after every selected entity.
    first_reserve = next(i for i, r in enumerate(rows) if r["status"] == "reserve")
    assert all(r["status"] == "reserve" for r in rows[first_reserve:])
    cert = json.loads(d.certificate)
    assert [r["uscc"] for r in rows[: len(ranks)]] == [x["entity_id"] for x in sorted(cert["selected"], key=lambda x: x["rank"])]


def test_rows_carry_names_items_and_team(drawn):
    engine, d = drawn
    p = tasks.list_tasks(engine, draw_id=d.id, include_reserves=False, page_size=500)
    cert = json.loads(d.certificate)
    team_of = {t["entity_id"]: t["team"] for t in cert["matching"]["tasks"]}
    with Session(engine) as s:
        names = dict(s.execute(select(Inspector.inspector_id, Inspector.name)).all())
        ent = dict(s.execute(select(Enterprise.uscc, Enterprise.name)).all())
    assert p.total == len(cert["selected"]) == len(p.rows)
    for r in p.rows:
        assert r["name"] == ent[r["uscc"]] and r["town_name"]
        assert r["items"] and r["departments"][0] in ("区市场监管局", "区卫生健康委")
        leaders = [m for m in team_of[r["uscc"]] if m["role"] == "leader"]
        members = [m for m in team_of[r["uscc"]] if m["role"] == "member"]
        if leaders:
            assert r["leader"] == f"{names[leaders[0]['person_id']]}（{leaders[0]['person_id']}）"
        else:
            assert r["leader"] == "" and r["short"]
        assert r["members"].count("（") == len(members)
        assert [s.person_id for s in r["team"]] == [m["person_id"] for m in sorted(team_of[r["uscc"]], key=lambda m: m["slot"])]
        assert r["short"] == (r["status"] == "drawn")
        assert r["status_label"] == tasks.status_label(r["status"])
    short = [r for r in p.rows if r["short"]]
    assert short and all(r["note"].startswith("缺员") for r in short)
    assert len(short) == cert["matching"]["fairness"]["tasks_short_staffed"]


def test_filters_department_town_status_period(drawn):
    engine, d = drawn
    with Session(engine) as s:
        wjw = s.execute(select(Department.id).where(Department.code == "WJW")).scalar_one()
        wjw_tasks = set(s.execute(
            select(TaskItem.task_id).join(CheckItem, CheckItem.id == TaskItem.item_id).join(Task, Task.id == TaskItem.task_id)
            .where(CheckItem.department_id == wjw, Task.draw_id == d.id)).scalars())
    rows, total = _all(engine, draw_id=d.id, department_id=wjw)
    assert {r["id"] for r in rows} == wjw_tasks and total == len(wjw_tasks) > 0
    assert all("区卫生健康委" in r["departments"] for r in rows)

    everything, _ = _all(engine, draw_id=d.id)
    town = everything[0]["town_code"]
    rows, total = _all(engine, draw_id=d.id, town_code=town)
    assert total == sum(1 for r in everything if r["town_code"] == town) and {r["town_code"] for r in rows} == {town}

    rows, total = _all(engine, draw_id=d.id, status="reserve")
    assert total == sum(1 for r in everything if r["status"] == "reserve") > 0
    assert all(r["rank"] is None and r["reserve_rank"] >= 1 and not r["team"] for r in rows)

    assert tasks.list_tasks(engine, period="2026-12").total == len(everything)
    assert tasks.list_tasks(engine, period="2026-11").total == 0
    # A filter value is data, never SQL.
    assert tasks.list_tasks(engine, town_code="' OR 1=1 --").total == 0
    assert tasks.list_tasks(engine, status="%").total == 0


def test_page_past_the_end_is_clamped(drawn):
    engine, d = drawn
    p = tasks.list_tasks(engine, draw_id=d.id, page=10_000, page_size=50)
    assert p.page == p.pages and p.rows and p.last_row == p.total


def test_replacements_show_in_the_listing(drawn):
    engine, d = drawn
    row = next(r for r in tasks.list_tasks(engine, draw_id=d.id, status="assigned").rows if r["members"])
    leaving = next(s for s in row["team"] if s.role == "member")
    with pytest.raises(teams.ReplaceRefused, match="上限"):
        teams.replace_inspector(engine, row["id"], leaving.person_id, "病假")
    save_approved(engine, sp_plan(50))  # the bureau raises the cap; the slot can now be re-filled
    teams.replace_inspector(engine, row["id"], leaving.person_id, "病假")
    after = tasks.get_task(engine, row["id"])
    assert leaving.person_id not in after["members"] and after["members"]
    assert [s.person_id for s in tasks.task_team(engine, row["id"])] == [s.person_id for s in after["team"]]
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(TeamMember)
                         .where(TeamMember.task_id == row["id"], TeamMember.active.is_(False))).scalar_one() == 1

    new = draws.replace_task(engine, row["id"], "已注销")
    assert tasks.get_task(engine, row["id"])["status"] == "replaced"
    r2 = tasks.get_task(engine, new.id)
    assert r2["rank"] == row["rank"] and r2["replaces_task_id"] == row["id"]
    # The promoted reserve is matched by the same rule; the replaced task's team stands down.
    assert r2["status"] == "assigned" and r2["members"]
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(TeamMember)
                         .where(TeamMember.task_id == row["id"], TeamMember.active.is_(True))).scalar_one() == 0


def test_draw_lists_and_matching_figures(drawn):
    engine, d = drawn
    ds = tasks.list_draws(engine)
    assert [(x["id"], x["plan_code"], x["period"], x["status"]) for x in ds] == [(d.id, "PG-SP", "2026-12", "drawn")]
    assert tasks.periods(engine) == ["2026-12"]
    draws.void(engine, "PG-SP", "2026-12", "测试作废理由")
    assert tasks.list_draws(engine, include_voided=False) == []
    assert tasks.list_draws(engine, plan_code="PG-SP")[0]["void_reason"] == "测试作废理由"
    m = tasks.draw_matching(engine, d.id)
    assert m["policy"] == "balanced" and m["fairness"]["tasks"] == len(json.loads(d.certificate)["selected"])
    assert isinstance(m["shortfall_report"], list) and m["shortfall_report"]
    assert tasks.get_task(engine, 10**9) is None
    names = tasks.entity_names(engine, [json.loads(d.certificate)["selected"][0]["entity_id"], "NOPE"])
    assert len(names) == 1 and next(iter(names.values()))["name"].startswith("测试企业")
