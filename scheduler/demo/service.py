"""Write the Pinggu demo (scheduler.demo.data) into a database, in one transaction.

`create_demo` refuses a non-empty registry unless `force=True`. With force it
is idempotent: it adds only what is not there yet (entities by USCC,
inspectors by roster id or certificate number, experts by id, items and plans
by code, conflicts by inspector and USCC). It never deletes anything, because
a registry may already carry draws, tasks and audit events that must stay.
So `--force` with the same seed adds nothing; with another seed it adds the
entities of that seed beside the existing ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.bulk import drop_secondary_indexes, insert_rows
from db.models import Bureau, CheckItem, Conflict, Department, Draw, Enterprise, Expert, Inspector, Plan, PlanItem, utcnow
from scheduler.demo import data as demo
from scheduler.audit import service as auditlog
from scheduler.demo import pinggu as reference
from scheduler.library.importing import nfkc
from scheduler.library.bureaus import ensure_bureau
from scheduler.access.context import SYSTEM, Actor
from scheduler.errors import DsrError
from scheduler.plans import quota
from scheduler.plans.lifecycle import year_of

INDEX_REBUILD_MIN = 100_000
Progress = Callable[[int, int, str], None]  # (entities written, entities total, stage in Chinese)


def ensure_pinggu(session: Session, actor: Actor = SYSTEM) -> Bureau:
    """Create (idempotently) the demo bureau with its towns and departments."""
    return ensure_bureau(session, reference.BUREAU_CODE, reference.BUREAU_NAME, "district", reference.AREA_CODE,
                         reference.TOWNS, reference.DEPARTMENTS, actor=actor,
                         legal_names=reference.department_legal_names())


class DemoRefused(DsrError, RuntimeError):
    """The registry is not empty and force was not given; the message is for planners."""

    code = "demo.refused"


def registry_size(engine: Engine) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(Enterprise)).scalar_one()


@dataclass(frozen=True)
class DemoDistrict:
    """Another district for the several-bureau demo: Pinggu's generator, moved (demo.relocate)."""

    code: str
    name: str
    district: str  # 密云区
    towns: list[tuple[str, str]]
    plan_prefix: str  # replaces "PG" in the demo plans' codes


MIYUN = DemoDistrict(reference.MIYUN_CODE, reference.MIYUN_NAME, "密云区", reference.MIYUN_TOWNS, "MY")


def demo_item(d: demo.DemoItem, bureau_id: int, depts: dict[str, int]) -> CheckItem:
    """A demo check item stored as an import of the same list would store it (NFKC text: the
    list's full-width semicolons become ";"), so that exporting and re-importing changes nothing."""
    return CheckItem(
        bureau_id=bureau_id, code=d.code, category=nfkc(d.category), name=nfkc(d.name), kind=d.kind,
        method=nfkc(d.method), department_id=depts[d.department], legal_basis=nfkc(d.legal_basis),
        scope_entity_types=";".join(sorted(d.entity_types)), scope_industries=";".join(sorted(d.industries)),
        scope_tags=";".join(sorted(d.tags)), ratio_cap=d.ratio_cap, ratio_floor=d.ratio_floor,
        required_qualifications=";".join(sorted(d.qualifications)), expert_field=d.expert_field,
    )


def create_demo(
    engine: Engine,
    entities: int = demo.DEFAULT_ENTITIES,
    seed: int = demo.DEFAULT_SEED,
    progress: Optional[Progress] = None,
    force: bool = False,
    actor: Actor = SYSTEM,
    district: Optional[DemoDistrict] = None,
) -> dict[str, int]:
    """Fill `engine` with the Pinggu demo (or `district`'s); returns the rows added per table."""
    if entities < 0 or entities > demo.MAX_ENTITIES:
        raise ValueError(f"演示对象数量应在 0 至 {demo.MAX_ENTITIES} 之间")
    added = {"enterprises": 0, "inspectors": 0, "experts": 0, "items": 0, "conflicts": 0, "plans": 0}
    with Session(engine) as s:
        existing = s.execute(select(func.count()).select_from(Enterprise)).scalar_one()
        if existing and not force:
            raise DemoRefused(f"检查对象名录库已有 {existing:,} 户市场主体，未生成演示数据；如确需追加，请使用 --force（已有数据不会重复写入）")
        if district is None:
            bureau = ensure_pinggu(s, actor)
        else:
            depts_named = [(c, n.replace("平谷", district.district[:-1])) for c, n in reference.DEPARTMENTS]
            bureau = ensure_bureau(s, district.code, district.name, "district", district.code, district.towns,
                                   depts_named, actor=actor,
                                   legal_names=reference.department_legal_names(district.district[:-1]))
        depts = dict(s.execute(select(Department.code, Department.id).where(Department.bureau_id == bureau.id)).all())
        now = utcnow()
        added["enterprises"], first_block, done = _write_registry(s, entities, seed, existing, district, now, progress)
        if progress:
            progress(done, entities, "写入执法检查人员、事项清单和抽查计划")
        rosters = demo.generate_rosters(entities, first_block, seed)
        if district is not None:
            rosters = demo.relocate_rosters(rosters, district.code, district.towns)
        added.update(_write_rosters(s, bureau.id, depts, rosters, now))
        added["items"], added["plans"] = _write_items_and_plans(s, bureau.id, depts, district)
        if progress:
            progress(done, entities, "提交")
        auditlog.record(s, actor, "demo.create", f"bureau:{bureau.code}", {"entities": entities, "seed": seed, "force": force, "added": added},
                        bureau_id=bureau.id)
        s.commit()
    return added


def _write_registry(s: Session, entities: int, seed: int, existing: int, district: Optional[DemoDistrict],
                    now: dt.datetime, progress: Optional[Progress]) -> tuple[int, list[str], int]:
    """The demo's entities, block by block, skipping USCCs already stored; (rows added, the first
    block's USCCs, entities generated)."""
    conn = s.connection()
    # SQLAlchemy's SQLite storage form of an aware UTC datetime, preformatted so
    # insert_rows need not convert a million values; PostgreSQL takes the object.
    now_db = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else now

    # A big registry loads far faster into bare tables: drop the secondary
    # indexes, load, rebuild them (each rebuild is one sort, not a million
    # random B-tree inserts); SQLite also gets a large page cache for the
    # unique USCC index, which must stay.
    rebuild = entities >= INDEX_REBUILD_MIN and entities > existing
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if not raw.in_transaction:
            # Python's sqlite3 opens a transaction only before DML; the DROP INDEX
            # below must not autocommit, or a failed load would lose the indexes.
            raw.execute("BEGIN")
        if rebuild:
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
    dropped = drop_secondary_indexes(conn, "enterprise") if rebuild else []
    have_usccs: set[str] = set(s.execute(select(Enterprise.uscc)).scalars()) if existing else set()
    first_block: list[str] = []
    done = added = 0
    cols = demo.ENTITY_COLUMNS + ("updated_at",)
    for block in demo.entity_blocks(entities, seed):
        if district is not None:
            block = demo.relocate(block, district.code, district.district, district.towns)
        if not first_block:
            first_block = block.uscc
        rows = block.rows(now_db)
        if have_usccs:
            rows = (r for r in rows if r[0] not in have_usccs)
        added += insert_rows(conn, "enterprise", cols, rows)
        done += len(block)
        if progress:
            progress(done, entities, "写入检查对象名录库")
    if progress and dropped:
        progress(done, entities, "重建索引")
    for ddl in dropped:
        conn.exec_driver_sql(ddl)
    if conn.dialect.name == "sqlite" and rebuild:
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
    return added, first_block, done


def _cert_valid_until(cert_no: str, k: int, today: dt.date) -> dt.date:
    """A demo certificate's expiry: one to four years ahead, and one in forty within the next 10–25 days
    so that the dashboard's 30-day warning has something to show (never the first, the demo
    inspector's, and never already expired, which would change who the demo draws match)."""
    h = int(hashlib.sha256(cert_no.encode()).hexdigest()[:8], 16)
    if k and h % 40 == 0:
        return today + dt.timedelta(days=10 + h % 16)
    return today + dt.timedelta(days=365 + h % (3 * 365))


def _write_rosters(s: Session, bureau_id: int, depts: dict[str, int], rosters: demo.Rosters,
                   now: dt.datetime) -> dict[str, int]:
    """Inspectors (new roster id and certificate), experts (new id) and conflicts (new inspector
    and USCC pair) of the demo rosters; rows added per table."""
    conn = s.connection()
    have_ids = set(s.execute(select(Inspector.inspector_id).where(Inspector.bureau_id == bureau_id)).scalars())
    have_certs = set(s.execute(select(Inspector.cert_no)).scalars())
    rows = [
        (bureau_id, i.inspector_id, i.name, depts[i.department], i.cert_no, i.qualifications, i.region, i.active, now,
         _cert_valid_until(i.cert_no, k, now.date()))
        for k, i in enumerate(rosters.inspectors)
        if i.inspector_id not in have_ids and i.cert_no not in have_certs
    ]
    added: dict[str, int] = {}
    added["inspectors"] = insert_rows(
        conn, "inspector",
        ("bureau_id", "inspector_id", "name", "department_id", "cert_no", "qualifications", "region", "active", "updated_at",
         "cert_valid_until"),
        rows,
    )
    have_experts = set(s.execute(select(Expert.expert_id).where(Expert.bureau_id == bureau_id)).scalars())
    rows = [(bureau_id, e.expert_id, e.name, e.field, e.organisation, e.active, now)
            for e in rosters.experts if e.expert_id not in have_experts]
    added["experts"] = insert_rows(
        conn, "expert", ("bureau_id", "expert_id", "name", "field", "organisation", "active", "updated_at"), rows
    )

    pk = dict(s.execute(select(Inspector.inspector_id, Inspector.id).where(Inspector.bureau_id == bureau_id)).all())
    have_pairs = set(s.execute(select(Conflict.inspector_pk, Conflict.uscc)).all())
    rows = []
    for c in rosters.conflicts:
        ipk = pk.get(c.inspector_id)
        if ipk is None or (ipk, c.uscc) in have_pairs:
            continue
        rows.append((bureau_id, ipk, c.uscc, c.reason, c.declared_by, c.note, c.declared_at))
    added["conflicts"] = insert_rows(
        conn, "conflict", ("bureau_id", "inspector_pk", "uscc", "reason", "declared_by", "note", "declared_at"), rows
    )
    return added


def _published() -> dict:
    """The demo's plans are in use: drafted by the demo planner, approved by the demo reviewer, published."""
    now = utcnow()
    return {"status": "published", "version": 1, "created_by": "planner", "updated_by": "planner",
            "approved_by": "reviewer", "approved_at": now, "published_by": "planner", "published_at": now}


def _write_items_and_plans(s: Session, bureau_id: int, depts: dict[str, int],
                           district: Optional[DemoDistrict]) -> tuple[int, int]:
    """The demo's check items and plans (with their items) whose codes are not stored yet; (items, plans) added."""
    n_items = n_plans = 0
    items = {it.code: it for it in s.execute(select(CheckItem).where(CheckItem.bureau_id == bureau_id)).scalars()}
    for d in demo.DEMO_ITEMS:
        if d.code in items:
            continue
        item = demo_item(d, bureau_id, depts)
        s.add(item)
        items[d.code] = item
        n_items += 1
    s.flush()

    have_plans = set(s.execute(select(Plan.code)).scalars())
    for p in demo.DEMO_PLANS:
        code = p.code if district is None else p.code.replace("PG-", f"{district.plan_prefix}-", 1)
        if code in have_plans:
            continue
        plan = Plan(
            bureau_id=bureau_id, code=code, name=p.name, kind=p.kind, lead_department_id=depts[p.lead_department],
            strata_by=p.strata_by, ratios=json.dumps(p.ratios), counts=json.dumps(p.counts), batches=p.batches,
            reserve_ratio=p.reserve_ratio, team_size=p.team_size, matching_policy=p.matching_policy,
            schedule=p.schedule, description=p.description, year=year_of(code, p.name) or 0, **_published(),
        )
        s.add(plan)
        s.flush()
        for code in p.item_codes:
            s.add(PlanItem(plan_id=plan.id, item_id=items[code].id))
        n_plans += 1
    s.flush()
    return n_items, n_plans


def timed_create_demo(engine: Engine, entities: int, seed: int, progress: Optional[Progress] = None,
                      force: bool = False, actor: Actor = SYSTEM) -> tuple[dict[str, int], float]:
    """`create_demo` and its wall-clock seconds (for the CLI summary)."""
    t0 = time.perf_counter()
    added = create_demo(engine, entities, seed, progress=progress, force=force, actor=actor)
    return added, time.perf_counter() - t0


# --- several bureaus in one database (市抽县查 and merged visits) ---------------------

CITY_ITEM_CODES = ("SC-03", "SC-04", "SC-05")
CITY_PLAN = demo.DemoPlan(
    "BJ-2026-SJ", "2026年度食品安全市抽县查", "SCJGJ", CITY_ITEM_CODES,
    ratios={"A": "0.02", "B": "0.05", "C": "0.1", "D": "0.2"},
    description="市局统一抽取，任务交由对象所在区市场监管局实施（市抽县查），检查组从该区执法检查人员名录中随机匹配。",
)
# The plans drawn for the current month, so that the city's and the districts' draws
# select some of the same entities and the visits can be merged.
MONTH_PLANS = ("PG-2026-SP", "MY-2026-SP", CITY_PLAN.code)


@dataclass
class BureausDemo:
    added: dict[str, dict[str, int]]
    draws: list[tuple[str, str, int]]  # (plan code, period, draw id)
    seconds: float


def create_bureaus_demo(engine: Engine, entities: int = demo.DEFAULT_ENTITIES, seed: int = demo.DEFAULT_SEED,
                        today: Optional[dt.date] = None, progress: Optional[Progress] = None, force: bool = False,
                        actor: Actor = SYSTEM) -> BureausDemo:
    """A city bureau (Beijing) and two district bureaus (Pinggu, Miyun) of `entities`
    each in one database; the city's plan and each district's food plan drawn for
    `today`'s month (deterministic seeds from `seed`), so that 市抽县查 tasks and
    merged visits exist. Idempotent like `create_demo`."""
    from scheduler.draw import service as draws
    from scheduler.demo.history import draw_seed

    t0 = time.perf_counter()
    today = today or dt.date.today()
    added = {"平谷区": create_demo(engine, entities, seed, progress, force, actor)}
    added["密云区"] = create_demo(engine, entities, seed + 1, progress, True, actor, district=MIYUN)
    with Session(engine) as s:
        city = ensure_bureau(s, reference.CITY_CODE, reference.CITY_NAME, "city", reference.CITY_AREA_CODE, [],
                             reference.city_departments(), actor=actor)
        for code in (reference.BUREAU_CODE, reference.MIYUN_CODE):
            ensure_bureau(s, code, "", "district", code, [], [], parent=city, actor=actor)
        depts = dict(s.execute(select(Department.code, Department.id).where(Department.bureau_id == city.id)).all())
        have = {it.code: it for it in s.execute(select(CheckItem).where(CheckItem.bureau_id == city.id)).scalars()}
        n_items = 0
        for d in demo.DEMO_ITEMS:
            if d.code not in CITY_ITEM_CODES or d.code in have:
                continue
            have[d.code] = demo_item(d, city.id, depts)
            s.add(have[d.code])
            n_items += 1
        s.flush()
        n_plans = 0
        p = CITY_PLAN
        if s.execute(select(Plan.id).where(Plan.code == p.code)).first() is None:
            plan = Plan(bureau_id=city.id, code=p.code, name=p.name, kind=p.kind, lead_department_id=depts[p.lead_department],
                        strata_by=p.strata_by, ratios=json.dumps(p.ratios), counts=json.dumps(p.counts),
                        batches=p.batches, reserve_ratio=p.reserve_ratio, team_size=p.team_size,
                        matching_policy=p.matching_policy, schedule=p.schedule, description=p.description,
                        year=year_of(p.code, p.name) or 0, **_published())
            s.add(plan)
            s.flush()
            for code in p.item_codes:
                s.add(PlanItem(plan_id=plan.id, item_id=have[code].id))
            n_plans = 1
        added["北京市"] = {"items": n_items, "plans": n_plans}
        auditlog.record(s, actor, "demo.bureaus", f"bureau:{city.code}", {"entities": entities, "seed": seed},
                        bureau_id=city.id)
        s.commit()
    period = f"{today.year:04d}-{today.month:02d}"
    done = []
    for code in MONTH_PLANS:
        with Session(engine) as s:
            plan = s.execute(select(Plan).where(Plan.code == code)).scalar_one()
            live = s.execute(select(Draw.id, Draw.status).where(Draw.plan_id == plan.id, Draw.period == period,
                                                                 Draw.status != "voided")).first()
        if (live is not None and live[1] == "drawn") or period not in quota.periods(plan.schedule, plan.year):
            continue  # drawn already, or not a period of the plan's year (scheduler/plans/quota.py)
        d = draws.execute(engine, code, period, draw_seed(seed, code, period), actor)
        done.append((code, period, d.id))
    return BureausDemo(added, done, time.perf_counter() - t0)
