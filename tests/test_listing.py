"""The listings that answer at once (`dsr plans --json`, `dsr plans versions`, `dsr stats --json`,
`dsr user list`, `dsr exchange status`, `dsr calendar show`, `dsr results queue|public|categories`):
plain SELECTs over db/tables.py in a fixed number of queries, the same figures as the plans read
one by one through the ORM, and no heavy module imported on the way."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401 — SQLModel.metadata
from db import tables
from db.models import Draw, Plan, PlanVersion, Task
from scheduler.calendar.listing import package_years_stored
from scheduler.demo.history import create_history
from scheduler.demo.service import create_demo
from scheduler.draw import service as draw_service
from scheduler.plans import lifecycle, quota
from scheduler.plans.listing import PlanNotFound, list_plans, plan_versions, version_row
from scheduler.plans.quota_rows import first_draw_base
from scheduler.plans.service import PlanInput, load_plan
from scheduler.results import listing as results_listing
from scheduler.results import service as result_service
from tests.factories import save_approved, world

# The public order of a listed plan's keys (`dsr plans --json`: scripts read it).
KEYS = ["code", "name", "kind", "year", "periods", "quota", "lead_department", "departments", "joint", "items",
        "strata_by", "ratios", "counts", "batches", "reserve_ratio", "team_size", "matching_policy", "workload_cap",
        "frequency", "schedule", "next_run", "next_run_error", "require_public_seed", "merge_visits", "version",
        "status", "task_days", "draws"]


def test_light_tables_name_columns_of_the_models_with_their_types():
    light = [v for v in vars(tables).values() if hasattr(v, "c") and hasattr(v, "name") and not isinstance(v, type)]
    assert {t.name for t in light} >= {"plan", "draw", "task", "planitem", "checkitem", "department", "calendaryear"}
    for t in light:
        model = SQLModel.metadata.tables[t.name]
        for c in t.c:
            assert c.name in model.c, f"{t.name}.{c.name}"
            assert c.type._type_affinity is model.c[c.name].type._type_affinity, f"{t.name}.{c.name}"


def _one_by_one(engine) -> dict[str, dict]:
    """Each plan read on its own through the ORM, its year's quota counted from its own draws'
    tasks: what the listing computed before it read every plan at once."""
    out = {}
    with Session(engine) as s:
        for code in s.execute(select(Plan.code).order_by(Plan.code)).scalars():
            lp = load_plan(s, code)
            p = lp.plan
            draws = list(s.execute(select(Draw).where(Draw.plan_id == p.id).order_by(Draw.period, Draw.id)).scalars())
            year = p.year or lifecycle.year_of(p.code, p.name)
            live = sorted((d for d in draws if d.status == "drawn" and d.period.startswith(str(year))),
                          key=lambda d: (d.drawn_at, d.id))
            rows = []
            if live:
                drawn = Counter(s.execute(select(Task.stratum).where(Task.draw_id.in_([d.id for d in live]),
                                                                     Task.rank.is_not(None),
                                                                     Task.reserve_rank.is_(None))).scalars())
                rows = quota.year_figures(json.loads(p.ratios), json.loads(p.counts),
                                          first_draw_base(s, live[0].id, live[0].annual), dict(drawn))
            out[code] = {
                "lead_department": lp.lead.name,
                "departments": [next(d.name for d in lp.departments.values() if d.code == c) for c in lp.department_codes()],
                "joint": len(lp.department_codes()) > 1,
                "items": [{"code": i.code, "name": i.name, "kind": i.kind, "department": lp.departments[i.department_id].name,
                           "ratio_cap": i.ratio_cap, "ratio_floor": i.ratio_floor} for i in lp.items],
                "require_public_seed": p.require_public_seed,
                "draws": [{"period": d.period, "status": d.status, "frame_sha256": d.frame_sha256,
                           "plan_version": d.plan_version} for d in draws],
                "quota": rows,
            }
    return out


def test_the_listing_reads_every_plan_at_once_with_the_figures_of_each_plan_read_alone(engine):
    create_demo(engine, 2000, seed=5)
    create_history(engine, dt.date(2026, 12, 6), seed=5, months=3, rounds=1)
    with Session(engine) as s:  # a voided first draw: the year's base and counts come from the live ones
        code, period = s.execute(select(Plan.code, Draw.period).join(Draw, Draw.plan_id == Plan.id)
                                 .order_by(Draw.period, Plan.code)).first()
    draw_service.void(engine, code, period, "演示作废：测试年度数量")
    listed = list_plans(engine)
    expected = _one_by_one(engine)
    assert [p["code"] for p in listed] == sorted(expected) and len(listed) >= 5
    assert any(p["quota"] for p in listed) and any(len(p["draws"]) > 1 for p in listed)
    assert {"drawn", "voided"} <= {d["status"] for p in listed for d in p["draws"]}
    for p in listed:
        assert list(p) == KEYS
        assert {k: p[k] for k in expected[p["code"]]} == expected[p["code"]], p["code"]
        drawn = {r["stratum"]: r["drawn"] for r in p["quota"]}
        assert all(isinstance(n, int) for n in drawn.values())


def test_plan_versions_are_the_stored_versions_newest_first(engine):
    world(engine, 300)
    plan = PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01"],
                     ratios={"A": "0.1", "B": "0.2", "C": "0.5", "D": "1"})
    save_approved(engine, plan)
    save_approved(engine, dataclasses.replace(plan, batches=2, reason="改为两个批次"))
    listed = plan_versions(engine, "PG-SP")
    with Session(engine) as s:
        p = s.execute(select(Plan).where(Plan.code == "PG-SP")).scalar_one()
        stored = s.execute(select(PlanVersion).where(PlanVersion.plan_id == p.id).order_by(PlanVersion.version.desc())).scalars()
        assert listed == [version_row(v, p.version, p.status) for v in stored]
    assert [(v["version"], v["reason"], v["current"]) for v in listed] == [(2, "改为两个批次", True), (1, "", False)]
    assert all(v["approved_at"].tzinfo == dt.timezone.utc and v["published_at"].tzinfo == dt.timezone.utc for v in listed)
    with pytest.raises(PlanNotFound):
        plan_versions(engine, "NOPE")


def _imports_of(url: str, *args: str) -> tuple[list[str], str]:
    """Which heavy modules `dsr <args>` imports, and its stdout."""
    code = ("import sys\nfrom scheduler.cli import main\nsys.argv = ['dsr', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = ('db.models', 'sqlmodel', 'sqlalchemy.orm', 'numpy', 'pandas', 'streamlit', 'argon2',\n"
            "         'scheduler.draw.service', 'pydantic')\n"
            "print('\\nIMPORTED', *[m for m in heavy if m in sys.modules])\n")
    env = {**os.environ, "DSR_DATABASE_URL": url}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    out, _, imported = r.stdout.rpartition("\nIMPORTED")
    return imported.split(), out


def test_the_listings_answer_without_the_orm_numpy_argon2_or_the_draw_service(sqlite_url):
    from db.engine import make_engine

    from scheduler.calendar.service import ensure_seeded

    eng = make_engine(sqlite_url)
    create_demo(eng, 500, seed=3)
    ensure_seeded(eng)  # as `dsr init` leaves it: the package years, the result categories
    result_service.list_categories(eng)
    eng.dispose()
    # Flags alone: Typer coerces nothing through pydantic (scheduler/cli/chinese.py, the help flag).
    imported, out = _imports_of(sqlite_url, "plans", "--json")
    assert imported == [] and len(json.loads(out)) >= 5
    imported, out = _imports_of(sqlite_url, "stats", "--json")
    assert imported == [] and json.loads(out)["enterprises"] == 500
    imported, out = _imports_of(sqlite_url, "user", "list", "--json")
    assert imported == [] and json.loads(out) == []
    imported, out = _imports_of(sqlite_url, "exchange", "status", "--json")
    assert imported == [] and json.loads(out) == []
    # An argument or a valued option (a plan code, a year, a page) is coerced by Typer through pydantic.
    imported, out = _imports_of(sqlite_url, "plans", "versions", "PG-2026-GS", "--json")
    assert imported == ["pydantic"] and json.loads(out) == []
    imported, out = _imports_of(sqlite_url, "calendar", "show", "2026", "--json")
    assert imported == ["pydantic"] and json.loads(out)["year"] == 2026
    imported, out = _imports_of(sqlite_url, "results", "queue", "SCJGJ", "--json")
    assert imported == ["pydantic"] and json.loads(out) == []
    imported, out = _imports_of(sqlite_url, "results", "public", "--json")
    assert imported == ["pydantic"] and json.loads(out)["total"] == 0
    imported, out = _imports_of(sqlite_url, "results", "categories")  # seeded by the demo
    assert imported == [] and "未发现问题" in out


def test_the_calendar_and_the_categories_are_seeded_before_they_are_listed_on_a_new_database(sqlite_url):
    from db.engine import make_engine
    from scheduler.calendar import service as cal

    eng = make_engine(sqlite_url)
    assert not package_years_stored(eng) and cal.list_years(eng) == []
    imported, out = _imports_of(sqlite_url, "calendar", "show", "2026", "--json")
    assert "db.models" in imported and any(d["name"] == "春节" for d in json.loads(out)["days"])  # seeded, then read
    assert package_years_stored(eng)
    assert results_listing.list_categories(eng) == []
    imported, out = _imports_of(sqlite_url, "results", "categories")
    assert "db.models" in imported and "未发现问题" in out  # seeded, then listed
    assert [c.code for c in results_listing.list_categories(eng)] == [c.code for c in result_service.list_categories(eng)]
    eng.dispose()
