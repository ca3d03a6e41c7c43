"""Small, deterministic worlds for service tests (real rows, no mocks)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from sqlalchemy import select
from sqlmodel import Session

from db.bulk import insert_rows
from db.engine import make_engine
from db.migrate import upgrade
from db.models import CheckItem, Conflict, Department, Expert, Inspector, Plan, utcnow
from scheduler.demo import pinggu as reference
from scheduler.library import vocabulary
from scheduler.library import uscc
from scheduler.demo.service import ensure_pinggu
from scheduler.access.context import CLI, Actor
from scheduler.plans.service import PlanInput, save_plan
from scheduler.plans.lifecycle import year_of
from scheduler.plans.versions import approve_plan, publish_plan

ENT_COLS = ["uscc", "name", "entity_type", "industry_code", "town_code", "address", "registered_on", "status",
            "risk_class", "tags", "updated_at"]


def make_uscc(i: int) -> str:
    body = f"{i:08d}"
    return uscc.make("9", "1", reference.AREA_CODE, body)


def enterprise_rows(n: int, seed: int = 1, start: int = 0):
    rnd = random.Random(seed)
    towns = [c for c, _ in reference.TOWNS]
    now = utcnow()
    for i in range(start, start + n):
        ind = rnd.choice(["F5211", "H6210", "C1391", "A0151", "I6510"])
        tags = {"F5211": "食品经营许可", "H6210": "食品经营许可", "C1391": "食品生产许可;特种设备使用单位"}.get(ind, "")
        yield (make_uscc(i), f"测试企业{i}", rnd.choice(vocabulary.ENTITY_TYPES[:2]), ind, rnd.choice(towns),
               "北京市平谷区测试路1号", dt.date(2010, 1, 1), "存续" if rnd.random() < 0.9 else "注销",
               rnd.choices("ABCD", weights=[55, 33, 10, 2])[0], tags, now)


def add_enterprises(engine, n: int, seed: int = 1, start: int = 0) -> None:
    with engine.begin() as conn:
        insert_rows(conn, "enterprise", ENT_COLS, enterprise_rows(n, seed, start))


def world(engine, n: int = 2000, seed: int = 1) -> int:
    """Pinggu skeleton, n entities, and a small item list; returns the bureau id."""
    with Session(engine) as s:
        b = ensure_pinggu(s)
        depts = {d.code: d.id for d in s.execute(select(Department).where(Department.bureau_id == b.id)).scalars()}
        items = [
            CheckItem(bureau_id=b.id, code="GS-01", category="企业公示信息", name="企业公示信息检查", kind="general",
                      department_id=depts["SCJGJ"], ratio_cap="0.05", ratio_floor="0.03", legal_basis="《企业信息公示暂行条例》"),
            CheckItem(bureau_id=b.id, code="SP-01", category="食品安全", name="食品经营许可条件检查", kind="key",
                      department_id=depts["SCJGJ"], scope_tags="食品经营许可", required_qualifications="食品安全"),
            CheckItem(bureau_id=b.id, code="WS-01", category="公共卫生", name="餐饮场所卫生检查", kind="key",
                      department_id=depts["WJW"], scope_industries="H62"),
            CheckItem(bureau_id=b.id, code="TS-01", category="特种设备", name="特种设备使用单位检查", kind="key",
                      department_id=depts["SCJGJ"], scope_tags="特种设备使用单位", expert_field="特种设备检验"),
        ]
        s.add_all(items)
        rnd = random.Random(seed)
        inspectors = []
        for k in range(max(12, n // 50)):
            dept = "WJW" if k % 4 == 3 else "SCJGJ"
            quals = "食品安全" if rnd.random() < 0.6 else ""
            inspectors.append(Inspector(bureau_id=b.id, inspector_id=f"{dept}-{k:04d}", name=f"检查员{k}",
                                        department_id=depts[dept], cert_no=f"1101172{k:06d}", qualifications=quals,
                                        active=k % 17 != 5))
        s.add_all(inspectors)
        s.add_all([Expert(bureau_id=b.id, expert_id=f"ZJ-{k:03d}", name=f"专家{k}", field="特种设备检验") for k in range(3)])
        s.flush()
        s.add_all([Conflict(bureau_id=b.id, inspector_pk=inspectors[k].id, uscc=make_uscc(k), reason="亲属关系")
                   for k in range(0, min(len(inspectors), n), 3)])
        s.commit()
        bid = b.id
    add_enterprises(engine, n, seed)
    return bid


# A joint plan of three departments whose workload cap leaves some tasks short-staffed.
JOINT = PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01", "TS-01"],
                  ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}, workload_cap=6)


def joint_plan_database(path, n: int = 1500):
    """A fresh SQLite database at `path` with the test world of `n` entities and JOINT saved."""
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    world(eng, n)
    save_approved(eng, JOINT)
    return eng


# The second person who approves and publishes the plans the tests draw (a draft is never drawn).
APPROVER = Actor("approver", "admin")


def save_approved(engine, data: PlanInput, actor: Actor = CLI):
    """save_plan, then approve and publish the plan as APPROVER: what a draw needs. A change of a plan
    already approved gets a reason (it opens the next version)."""
    with Session(engine) as s:
        status = s.execute(select(Plan.status).where(Plan.code == data.code)).scalar_one_or_none()
    if status not in (None, "draft") and not data.reason:
        data = dataclasses.replace(data, reason="测试中修改计划")
    if data.year is None and year_of(data.code, data.name) is None and not data.schedule.startswith("at "):
        data = dataclasses.replace(data, year=2026)  # the tests' periods are of 2026, whatever today's date
    plan = save_plan(engine, data, actor)
    approve_plan(engine, data.code, APPROVER)
    return publish_plan(engine, data.code, APPROVER) if plan else plan
