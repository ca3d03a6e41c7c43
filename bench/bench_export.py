"""Benchmark of the public export (公示) at 100,000 published results.

Run: /work/venv/bin/python bench/bench_export.py [N]   (default N = 100,000)
     DSR_BENCH_URL=postgresql+psycopg://postgres@127.0.0.1:5432/dsr_bench_export ... to run on PostgreSQL
     (the database must exist and be empty; default: a fresh SQLite file in a temporary folder).

Data: N/2 joint tasks (two departments' items each), so N published item
results, written directly with db.bulk.insert_rows (no lifecycle calls).

Figures (seconds, best of 3):
- read: `published_rows` (every published result as on the public list).
  Peer: pandas.read_sql of the same join, unshaped.
- csv / xlsx / json / html: the writer of scheduler.results.export on the shaped rows.
  Peer: pandas DataFrame.to_csv (utf-8-sig) / openpyxl Workbook(write_only=True) / to_json (records) /
  to_html of the same rows; one more row compares the XLSX writer with pandas to_excel (openpyxl).
- export <fmt>: `export_public(engine, out, fmt)` end to end (read, plans, items,
  packages, write, manifest, atomic rename). Peer: pandas read_sql + the pandas writer.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import select, text
from sqlmodel import Session

from db.bulk import insert_rows
from db.engine import make_engine
from db.migrate import upgrade
from db.models import CheckItem, Department, utcnow
from scheduler.results import export as ex
from scheduler.exchange import tables
from scheduler.demo import pinggu as reference
from scheduler.library import uscc
from scheduler.results import export_service as es
from scheduler.demo.service import ensure_pinggu
from scheduler.results.service import seed_categories

_WORDS = "华盛兴隆鑫源恒达宏伟金泰福安永昌瑞丰和顺嘉禾天成广德新锐佳美康泰润泽平谷桃乡山水"
_SUFFIX = ("食品有限公司", "商贸有限公司", "超市", "餐饮店", "农业专业合作社", "科技有限公司")
PEER_SQL = """
SELECT t.uscc AS "统一社会信用代码", e.name AS "企业名称", d.name AS "检查实施机关", t.kind AS "检查类型",
       t.completed_on AS "检查日期", c.name AS "检查事项", r.categories AS "检查结果"
FROM itemresult r JOIN task t ON t.id = r.task_id JOIN checkitem c ON c.id = r.item_id
JOIN department d ON d.id = r.department_id LEFT JOIN enterprise e ON e.uscc = t.uscc
WHERE r.status = '已公示' ORDER BY r.published_at DESC, r.id DESC
"""


def build(engine, n: int) -> None:
    with Session(engine) as s:
        b = ensure_pinggu(s)
        depts = {d.code: d.id for d in s.execute(select(Department).where(Department.bureau_id == b.id)).scalars()}
        items = [CheckItem(bureau_id=b.id, code="SP-01", category="食品安全", name="食品经营许可条件检查", kind="key",
                           department_id=depts["SCJGJ"], legal_basis="《中华人民共和国食品安全法》"),
                 CheckItem(bureau_id=b.id, code="WS-01", category="公共卫生", name="餐饮场所卫生检查", kind="key",
                           department_id=depts["WJW"], legal_basis="《公共场所卫生管理条例》")]
        s.add_all(items)
        seed_categories(s)
        s.commit()
        item_ids = [(i.id, i.department_id) for i in items]
        bid = b.id
    rng = random.Random(5)
    towns = [c for c, _ in reference.TOWNS]
    tasks = n // 2
    now = utcnow()
    day = dt.date(2026, 11, 2)
    codes = [uscc.make("9", "1", reference.AREA_CODE, f"{i:08d}") for i in range(tasks)]
    with engine.begin() as conn:
        insert_rows(conn, "enterprise", ["uscc", "name", "entity_type", "industry_code", "town_code", "address",
                                         "registered_on", "status", "risk_class", "tags", "updated_at"],
                    ((c, "".join(rng.choice(_WORDS) for _ in range(3)) + rng.choice(_SUFFIX), "企业", "H6210",
                      rng.choice(towns), "北京市平谷区某路1号", day, "存续", rng.choice("ABCD"), "", now)
                     for c in codes))
        insert_rows(conn, "task", ["id", "bureau_id", "kind", "uscc", "stratum", "ticket", "status", "note",
                                   "created_at", "completed_on", "deadline", "published_on"],
                    ((k + 1, bid, "random", c, "", "", "published", "", now, day, day + dt.timedelta(days=28),
                      day + dt.timedelta(days=5)) for k, c in enumerate(codes)))
        insert_rows(conn, "taskitem", ["task_id", "item_id"],
                    ((k + 1, iid) for k in range(tasks) for iid, _ in item_ids))
        cats = ("01", "01", "01", "02;07", "06")
        insert_rows(conn, "itemresult", ["id", "task_id", "item_id", "department_id", "categories", "note", "status",
                                         "inspected_on", "entered_by", "reviewed_by", "review_note", "published_by",
                                         "published_at", "published_on", "version"],
                    ((2 * k + j + 1, k + 1, iid, did, rng.choice(cats), "", "已公示", day, "x", "y", "", "z",
                      now + dt.timedelta(seconds=k), day + dt.timedelta(days=5), 1)
                     for k in range(tasks) for j, (iid, did) in enumerate(item_ids)))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def openpyxl_write_only(path: Path, table: tables.Table) -> None:
    """The peer for XLSX: openpyxl's write-only mode, formulas neutralised the same way."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.name)
    ws.append(list(table.columns))
    for row in table.rows:
        ws.append([tables.neutralise(v) for v in row])
    wb.save(path)


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory(prefix="dsr-bench-export-") as tmp:
        tmp_p = Path(tmp)
        url = os.environ.get("DSR_BENCH_URL") or f"sqlite:///{tmp_p / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        build(engine, n)
        print(f"{engine.dialect.name}: {n:,} published results built in {time.perf_counter() - t0:.1f} s")

        rows: list = []

        def read():
            rows[:] = es.published_rows(engine)

        def peer_read():
            with engine.connect() as conn:
                return pd.read_sql(text(PEER_SQL), conn)

        figures = [("read", best(read), best(peer_read))]
        assert len(rows) == n, len(rows)
        table = ex.public_table(ex.RESULTS, ex.shape_rows(ex.RESULTS, rows))
        df = pd.DataFrame(table.rows, columns=list(table.columns))
        out = tmp_p / "w"
        out.mkdir()
        writers = {
            "csv": (lambda: tables.write_csv(out / "r.csv", table),
                    lambda: df.to_csv(out / "p.csv", index=False, encoding="utf-8-sig")),
            "xlsx": (lambda: tables.write_xlsx(out / "r.xlsx", [table]), lambda: openpyxl_write_only(out / "p.xlsx", table)),
            "json": (lambda: ex.write_json(out / "r.json", [table], {}),
                     lambda: df.to_json(out / "p.json", orient="records", force_ascii=False)),
            "html": (lambda: ex.write_html(out / "site", [table], {}),
                     lambda: df.to_html(out / "p.html", index=False)),
        }
        for fmt, (mine, peer) in writers.items():
            reps = 1 if fmt == "xlsx" else 3
            figures.append((f"write {fmt}", best(mine, reps), best(peer, 1 if fmt == "xlsx" else 3)))
        figures.append(("write xlsx vs pandas to_excel", figures[2][1],
                        best(lambda: df.to_excel(out / "p2.xlsx", index=False, engine="openpyxl"), 1)))
        for fmt, (_, peer) in writers.items():
            figures.append((f"export {fmt} (end to end)",
                            best(lambda: es.export_public(engine, tmp_p / f"e-{fmt}", fmt), 1),
                            best(lambda: (peer_read(), peer()), 1)))
        figures.append(("export all formats (end to end)", best(lambda: es.export_public(engine, tmp_p / "all"), 1),
                        None))
        sizes = {p.name: p.stat().st_size for p in (tmp_p / "all").iterdir() if p.is_file()}
        engine.dispose()

    print(f"\n{'figure':<34} {'this (s)':>9} {'peer (s)':>9} {'ratio':>7}")
    for name, mine, peer in figures:
        ratio = f"{mine / peer:7.2f}" if peer else "      -"
        print(f"{name:<34} {mine:9.2f} {(f'{peer:9.2f}' if peer else '        -')} {ratio}")
    print("\nfile sizes (export all): " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))
    print("peers: read = pandas.read_sql of the same join (unshaped); write = pandas to_csv(utf-8-sig) / "
          "openpyxl write_only / pandas to_json(records) / pandas to_html; export = read_sql + that writer")


if __name__ == "__main__":
    main()
