"""Browse service: pagination, filters and literal search on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.bulk import insert_rows
from db.models import CheckItem, Conflict, Department, Expert, Inspector, Town, utcnow
from scheduler.demo import pinggu as reference
from scheduler.library import vocabulary
from scheduler.library import uscc
from scheduler.library import browse
from scheduler.demo.service import ensure_pinggu

SPECIAL_NAMES = ["百分之百%商贸有限公司", "下划线_科技有限公司", "O'Brien贸易;有限公司", "普通食品店"]


def code_for(i: int) -> str:
    return uscc.make("9", "1", reference.AREA_CODE, f"{i:08d}")


def seed_library(engine, n_enterprises: int = 120) -> dict:
    """A Pinggu bureau with a small, predictable two-rosters-one-list."""
    with Session(engine) as s:
        b = ensure_pinggu(s)
        s.commit()
        bureau_id = b.id
        town_codes = [t for t, _ in reference.TOWNS]
        depts = {d.code: d.id for d in s.execute(select(Department).where(Department.bureau_id == bureau_id)).scalars()}
    now = utcnow()
    rows = []
    for i in range(n_enterprises):
        name = SPECIAL_NAMES[i] if i < len(SPECIAL_NAMES) else f"平谷第{i}号商贸有限公司"
        rows.append(
            (
                code_for(i),
                name,
                vocabulary.ENTITY_TYPES[i % 3],
                ("F5212" if i % 2 else "C1391"),
                town_codes[i % 4],
                f"北京市平谷区测试路{i}号",
                dt.date(2010, 1, 1) + dt.timedelta(days=i),
                "存续" if i % 10 else "注销",
                "ABCD"[i % 4],
                "食品经营许可" if i % 5 == 0 else "",
                now,
            )
        )
    cols = [
        "uscc", "name", "entity_type", "industry_code", "town_code", "address",
        "registered_on", "status", "risk_class", "tags", "updated_at",
    ]
    with engine.begin() as conn:
        insert_rows(conn, "enterprise", cols, rows)
    with Session(engine) as s:
        insp = []
        for i in range(30):
            dept = depts["SCJGJ"] if i < 20 else depts["NYNCJ"]
            insp.append(
                Inspector(
                    bureau_id=bureau_id, inspector_id=f"P{i:04d}", name=f"检查员{i}", department_id=dept,
                    cert_no=f"ZF{i:06d}", qualifications="食品" if i % 2 else "特种设备;食品",
                    active=i % 7 != 0,
                )
            )
        s.add_all(insp)
        s.add_all(
            [Expert(bureau_id=bureau_id, expert_id=f"E{i:03d}", name=f"专家{i}", field="食品检测" if i % 2 else "特种设备",
                    organisation="平谷检测中心") for i in range(6)]
        )
        s.add_all(
            [
                CheckItem(bureau_id=bureau_id, code="SC-001", category="食品安全", name="食品经营许可情况检查", kind="key",
                          department_id=depts["SCJGJ"], legal_basis="《食品安全法》", ratio_floor="0.05"),
                CheckItem(bureau_id=bureau_id, code="SC-002", category="企业公示", name="企业公示信息检查", kind="general",
                          department_id=depts["SCJGJ"], ratio_cap="0.03"),
                CheckItem(bureau_id=bureau_id, code="NY-001", category="农资", name="农药经营检查", kind="general",
                          department_id=depts["NYNCJ"], ratio_cap="0.1"),
            ]
        )
        s.flush()
        s.add(Conflict(bureau_id=bureau_id, inspector_pk=insp[1].id, uscc=code_for(5), reason="亲属关系"))
        s.add(Conflict(bureau_id=bureau_id, inspector_pk=insp[2].id, uscc=code_for(6), reason="曾任职", declared_by="管理员录入"))
        s.commit()
    return {"bureau_id": bureau_id, "depts": depts}


@pytest.fixture
def seeded(engine):
    return seed_library(engine)


def test_enterprise_pagination_and_total(engine, seeded):
    p1 = browse.browse_enterprises(engine, page=1, page_size=50)
    assert p1.total == 120 and p1.pages == 3 and len(p1.rows) == 50
    p3 = browse.browse_enterprises(engine, page=3, page_size=50)
    assert len(p3.rows) == 20 and p3.first_row == 101 and p3.last_row == 120
    assert not {r["uscc"] for r in p1.rows} & {r["uscc"] for r in p3.rows}
    # A page past the end is clamped to the last page, not an empty screen.
    assert browse.browse_enterprises(engine, page=99, page_size=50).page == 3
    assert p1.rows[0]["town_name"] == "滨河街道"
    assert isinstance(p1.rows[0]["registered_on"], dt.date)


def test_enterprise_filters(engine, seeded):
    p = browse.browse_enterprises(engine, town_code="110117002", page_size=500)
    assert p.total == 30 and all(r["town_name"] == "兴谷街道" for r in p.rows)
    assert browse.browse_enterprises(engine, status="注销").total == 12
    assert browse.browse_enterprises(engine, risk_class="D").total == 30
    assert browse.browse_enterprises(engine, entity_type="农民专业合作社").total == 40
    assert browse.browse_enterprises(engine, industry_prefix="f52").total == 60
    assert browse.browse_enterprises(engine, industry_prefix="C", risk_class="A").total == 30
    assert browse.browse_enterprises(engine, bureau_id=seeded["bureau_id"]).total == 120
    assert browse.browse_enterprises(engine, bureau_id=seeded["bureau_id"] + 1).total == 0


def test_enterprise_search_by_name_address_and_uscc(engine, seeded):
    assert browse.browse_enterprises(engine, q="第11号").total == 1
    assert browse.browse_enterprises(engine, q="测试路119号").total == 1
    p = browse.browse_enterprises(engine, q=code_for(42)[:17])
    assert [r["uscc"] for r in p.rows] == [code_for(42)]
    assert browse.browse_enterprises(engine, q=code_for(42).lower()).total == 1


@pytest.mark.parametrize(
    "q, expected",
    [
        ("%", ["百分之百%商贸有限公司"]),
        ("_", ["下划线_科技有限公司"]),
        ("'", ["O'Brien贸易;有限公司"]),
        (";", ["O'Brien贸易;有限公司"]),
        ("O'Brien贸易;有限公司", ["O'Brien贸易;有限公司"]),
        ("'; DROP TABLE enterprise; --", []),
        ("\\", []),
        ("%%", []),
    ],
)
def test_search_metacharacters_are_literal(engine, seeded, q, expected):
    p = browse.browse_enterprises(engine, q=q, page_size=500)
    assert sorted(r["name"] for r in p.rows) == expected
    assert p.total == len(expected)
    # The table is still there.
    assert browse.browse_enterprises(engine).total == 120


def test_inspectors(engine, seeded):
    assert browse.browse_inspectors(engine).total == 30
    p = browse.browse_inspectors(engine, department_id=seeded["depts"]["NYNCJ"])
    assert p.total == 10 and {r["department_name"] for r in p.rows} == {"区农业农村局"}
    assert browse.browse_inspectors(engine, active=False).total == 5  # 0, 7, 14, 21, 28
    assert browse.browse_inspectors(engine, active=True).total == 25
    assert browse.browse_inspectors(engine, q="特种设备").total == 15
    assert browse.browse_inspectors(engine, q="ZF000012").rows[0]["name"] == "检查员12"
    assert browse.browse_inspectors(engine, q="%").total == 0


def test_experts_items_conflicts_departments(engine, seeded):
    assert browse.browse_experts(engine).total == 6
    assert browse.browse_experts(engine, field="特种设备").total == 3
    assert browse.expert_fields(engine) == ["特种设备", "食品检测"]

    assert browse.browse_items(engine).total == 3
    assert browse.browse_items(engine, kind="key").rows[0]["code"] == "SC-001"
    assert browse.browse_items(engine, department_id=seeded["depts"]["SCJGJ"]).total == 2
    assert browse.browse_items(engine, q="食品安全法").total == 1
    assert browse.browse_items(engine, q="SC-00_").total == 0

    c = browse.browse_conflicts(engine)
    assert c.total == 2
    assert c.rows[0]["enterprise_name"] == "平谷第5号商贸有限公司"
    assert browse.browse_conflicts(engine, q="检查员2").rows[0]["reason"] == "曾任职"
    assert browse.browse_conflicts(engine, reason="亲属关系").total == 1

    d = browse.browse_departments(engine)
    assert d.total == len(reference.DEPARTMENTS)
    scjgj = next(r for r in d.rows if r["code"] == "SCJGJ")
    assert (scjgj["inspectors"], scjgj["active_inspectors"], scjgj["items"]) == (20, 17, 2)
    assert browse.browse_departments(engine, q="农业").total == 1


def test_reference_lists(engine, seeded):
    assert browse.default_bureau(engine)["name"] == reference.BUREAU_NAME
    assert browse.towns(engine)[0] == ("110117001", "滨河街道")
    assert len(browse.departments(engine, seeded["bureau_id"])) == len(reference.DEPARTMENTS)


def test_empty_database(engine):
    p = browse.browse_enterprises(engine, page=5)
    assert (p.total, p.page, p.pages, p.rows, p.first_row) == (0, 1, 1, [], 0)
    assert browse.default_bureau(engine) is None


def test_page_size_is_capped(engine, seeded):
    p = browse.browse_enterprises(engine, page_size=10_000)
    assert p.page_size == browse.MAX_PAGE_SIZE


def test_bureau_area_when_bureaus_share_the_registry(engine, seeded):
    from db.models import Bureau

    with Session(engine) as s:
        other = Bureau(code="110105", name="北京市朝阳区市场监督管理局", area_code="110105")
        s.add(other)
        s.flush()
        # Move one Pinggu town (30 entities) to the other bureau.
        s.get(Town, "110117004").bureau_id = other.id
        s.commit()
        other_id = other.id
    mine = seeded["bureau_id"]
    assert browse.browse_enterprises(engine, bureau_id=mine).total == 90
    assert browse.browse_enterprises(engine, bureau_id=other_id).total == 30
    assert browse.browse_enterprises(engine, bureau_id=mine, town_code="110117004").total == 0
    assert browse.browse_enterprises(engine, bureau_id=other_id, town_code="110117004").total == 30
    p = browse.browse_enterprises(engine, bureau_id=mine, page=2, page_size=50)
    assert len(p.rows) == 40 and "110117004" not in {r["town_code"] for r in p.rows}
    assert len(browse.towns(engine, other_id)) == 1
