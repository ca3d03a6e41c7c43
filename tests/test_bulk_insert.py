"""db.bulk.insert_rows: constant columns written once give the same rows as values bound per row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from db.bulk import insert_rows

BUREAU = "INSERT INTO bureau (id, code, name, level, area_code) VALUES (1, 'B1', '平谷', 'district', '110117')"
AT = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)


def _events(engine, task_id: int) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            'SELECT task_id, from_status, to_status, actor, reason, at FROM "taskevent" '
            "WHERE task_id = :t ORDER BY id"), {"t": task_id})]


def test_constant_columns_store_what_bound_values_store(engine):
    with engine.begin() as c:
        c.execute(text(BUREAU))
    with engine.begin() as c:
        for tid in (1, 2):
            c.execute(text("INSERT INTO task (id, bureau_id, kind, uscc, stratum, ticket, status, note, created_at) "
                           "VALUES (:i, 1, 'random', :u, 'A', 't', 'drawn', '', :at)"), {"i": tid, "u": f"U{tid}", "at": AT})
    actor = "王'五 \"x\" ; --"  # quotes and SQL-looking text must arrive as they are
    rows = [("drawn", "随机匹配检查人员"), ("assigned", "检查组缺员：'x'")]
    with engine.begin() as c:
        insert_rows(c, "taskevent", ["task_id", "from_status", "to_status", "actor", "reason", "at"],
                    [(1, "drawn", to, actor, why, AT) for to, why in rows])
        insert_rows(c, "taskevent", ["to_status", "reason"], rows,
                    const={"task_id": 2, "from_status": "drawn", "actor": actor, "at": AT})
    one, two = _events(engine, 1), _events(engine, 2)
    assert len(one) == 2 and [r[1:] for r in one] == [r[1:] for r in two]
    assert one[0][3] == actor and one[0][5] is not None


def test_constant_booleans_and_nulls(engine):
    with engine.begin() as c:
        c.execute(text(BUREAU))
        c.execute(text("INSERT INTO task (id, bureau_id, kind, uscc, stratum, ticket, status, note, created_at) "
                       "VALUES (1, 1, 'random', 'U1', 'A', 't', 'drawn', '', :at)"), {"at": AT})
        insert_rows(c, "teammember", ["task_id", "role", "slot", "pair_ticket"], [(1, "leader", 1, "00ff")],
                    const={"active": True, "inspector_pk": None, "expert_pk": None, "department_id": None})
        insert_rows(c, "teammember", ["task_id", "role", "slot", "pair_ticket", "active"], [(1, "member", 2, "01ff", False)])
        got = c.execute(text('SELECT slot, active, inspector_pk FROM "teammember" ORDER BY slot')).all()
    assert [tuple(r) for r in got] == [(1, 1, None), (2, 0, None)]  # 1/0 or True/False, never text


def test_sqlite_page_cache_is_set_for_the_block_and_restored(engine):
    from db.bulk import sqlite_page_cache

    with engine.begin() as c:
        if c.dialect.name != "sqlite":
            with sqlite_page_cache(c, 65536):  # nothing to do elsewhere, and nothing fails
                c.execute(text("SELECT 1"))
            return
        before = c.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with sqlite_page_cache(c, 65536):
            assert c.exec_driver_sql("PRAGMA cache_size").scalar_one() == -65536
            with sqlite_page_cache(c, 262144):  # nested (the visit refresh inside a draw's store)
                assert c.exec_driver_sql("PRAGMA cache_size").scalar_one() == -262144
            assert c.exec_driver_sql("PRAGMA cache_size").scalar_one() == -65536
        assert c.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
