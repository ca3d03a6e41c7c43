"""The import service against real SQLite and PostgreSQL: atomicity, re-import, change records, audit."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, ChangeRecord, CheckItem, Conflict, Enterprise, Expert, ImportRun, Inspector
from scheduler.library import importing
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS
from scheduler.library import import_service as imports
from scheduler.library.import_service import ImportSetupError, import_file, preview
from scheduler.library.browse import browse_enterprises

CODES = [uscc.make("9", "1", "110117", f"MA{i:06d}") for i in range(1, 40)]
BAD_CHECK = CODES[0][:17] + ("0" if CODES[0][17] != "0" else "1")


def csv_bytes(kind: str, rows: list[list[str]], encoding: str = "utf-8", header=None) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header or COLUMNS[kind])
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def ent(i: int, **kw) -> list[str]:
    d = {
        "uscc": CODES[i],
        "name": f"北京示例{i}号有限公司",
        "entity_type": "企业",
        "industry_code": "F5211",
        "town_code": "滨河街道",
        "address": f"示例路{i}号",
        "registered_on": "2018-06-01",
        "status": "存续",
        "risk_class": "A",
        "tags": "",
    }
    d.update(kw)
    return [d[f] for f in importing.FIELDS["enterprises"]]


def counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            m.__name__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Enterprise, Inspector, Expert, CheckItem, Conflict, ImportRun, ChangeRecord, AuditEvent)
        }


def test_import_then_reimport_updates_and_records_changes(engine, pinggu):
    data = csv_bytes("enterprises", [ent(i) for i in range(5)])
    rep = import_file(engine, "enterprises", "名录.csv", data)
    assert (rep.total, rep.inserted, rep.updated, rep.unchanged, rep.rejected) == (5, 5, 0, 0, 0)
    assert rep.encoding == "UTF-8" and rep.import_run_id and not rep.errors
    audit_before = counts(engine)["AuditEvent"]

    rows = [ent(i) for i in range(5)]
    rows[1] = ent(1, name="改名后的公司", risk_class="D")
    rows[3] = ent(3, registered_on="2020-01-01")
    rows.append(ent(7))
    rep2 = import_file(engine, "enterprises", "名录2.csv", csv_bytes("enterprises", rows, "gbk"))
    assert rep2.encoding == "GB18030"
    assert (rep2.inserted, rep2.updated, rep2.unchanged, rep2.rejected) == (1, 2, 3, 0)
    with Session(engine) as s:
        e1 = s.execute(select(Enterprise).where(Enterprise.uscc == CODES[1])).scalar_one()
        assert (e1.name, e1.risk_class) == ("改名后的公司", "D")
        run = s.get(ImportRun, rep2.import_run_id)
        assert (run.rows, run.inserted, run.updated, run.unchanged, run.kind) == (6, 1, 2, 3, "enterprises")
        changes = {
            c.key: json.loads(c.changes)
            for c in s.execute(select(ChangeRecord).where(ChangeRecord.import_run_id == run.id)).scalars()
        }
        assert changes == {
            CODES[1]: {"name": ["北京示例1号有限公司", "改名后的公司"], "risk_class": ["A", "D"]},
            CODES[3]: {"registered_on": ["2018-06-01", "2020-01-01"]},
        }
        ev = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert ev.action == "import.enterprises" and ev.object == f"importrun:{run.id}"
    assert counts(engine)["AuditEvent"] == audit_before + 1


def test_failed_import_writes_nothing(engine, pinggu):
    import_file(engine, "enterprises", "a.csv", csv_bytes("enterprises", [ent(0), ent(1)]))
    before = counts(engine)
    with Session(engine) as s:
        snapshot = [tuple(r) for r in s.execute(select(Enterprise.uscc, Enterprise.name)).all()]
    rows = [ent(0, name="不该写入"), ent(2), ent(3, uscc=BAD_CHECK), ent(4, town_code="火星")]
    rep = import_file(engine, "enterprises", "b.csv", csv_bytes("enterprises", rows))
    assert rep.inserted == 0 and rep.updated == 0 and rep.import_run_id is None
    assert rep.rejected == 2
    assert [(e.row, e.column) for e in rep.errors] == [(4, "统一社会信用代码"), (5, "所属乡镇街道")]
    assert "校验码错误" in str(rep.errors[0]) and str(rep.errors[0]).startswith("文件 b.csv 第 4 行")
    assert counts(engine) == before
    with Session(engine) as s:
        assert [tuple(r) for r in s.execute(select(Enterprise.uscc, Enterprise.name)).all()] == snapshot


def test_partial_import_keeps_valid_rows(engine, pinggu):
    rows = [ent(0), ent(1, status="歇业"), ent(2)]
    rep = import_file(engine, "enterprises", "p.csv", csv_bytes("enterprises", rows), partial=True)
    assert (rep.inserted, rep.rejected) == (2, 1)
    assert rep.rejected_rows[0]["行号"] == 3 and "登记状态" in rep.rejected_rows[0]["错误"]
    assert rep.rejected_rows[0]["企业名称"] == "北京示例1号有限公司"
    assert counts(engine)["Enterprise"] == 2


def test_file_level_errors_are_reported_not_raised(engine, pinggu):
    rep = import_file(engine, "enterprises", "x.xlsx", b"not a zip at all")
    assert rep.inserted == 0 and rep.errors and rep.errors[0].row == 0
    assert "不是有效的 Excel" in str(rep.errors[0])
    pv = preview("enterprises", "x.xls", b"<html><table></table></html>", engine)
    assert pv.errors and "HTML" in pv.errors[0].reason


def test_xlsx_rosters_inspectors_experts_items_conflicts(engine, pinggu):
    def xlsx(kind, rows):
        wb = Workbook()
        ws = wb.active
        ws.append(list(COLUMNS[kind]))
        for r in rows:
            ws.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()

    insp = xlsx(
        "inspectors",
        [["007", "张三", "区市场监管局", 11011700001, "食品；特种设备", "滨河街道", "是"],
         ["008", "李四", "WJW", "C-2", "", "", False]],
    )
    rep = import_file(engine, "inspectors", "人员.xlsx", insp)
    assert (rep.inserted, rep.errors) == (2, []), [str(e) for e in rep.errors]
    insp2 = csv_bytes("inspectors", [["007", "张三", "区市场监管局", "11011700001", "食品;特种设备", "滨河街道", "否"]])
    rep = import_file(engine, "inspectors", "人员2.csv", insp2)
    assert (rep.updated, rep.unchanged) == (1, 0)
    with Session(engine) as s:
        ch = s.execute(select(ChangeRecord).where(ChangeRecord.import_run_id == rep.import_run_id)).scalar_one()
        assert json.loads(ch.changes) == {"active": [True, False]}
    insp = csv_bytes("inspectors", [["007", "张三", "区市场监管局", "11011700001", "食品;特种设备", "滨河街道", "是"]])
    assert import_file(engine, "inspectors", "人员3.csv", insp).updated == 1
    with Session(engine) as s:
        p = s.execute(select(Inspector).where(Inspector.inspector_id == "007")).scalar_one()
        assert (p.cert_no, p.qualifications, p.active) == ("11011700001", "特种设备;食品", True)
        assert s.execute(select(Inspector.active).where(Inspector.inspector_id == "008")).scalar_one() is False
    rep = import_file(engine, "experts", "专家.csv", csv_bytes("experts", [["E1", "王五", "食品检测", "某检验所", "是"]]))
    assert rep.inserted == 1
    items = [
        ["I1", "食品", "经营条件检查", "一般", "现场检查", "区市场监管局", "食品安全法", "企业", "F52", "食品经营", "滨河街道", "5%", "", "食品", "", "", ""],
        ["I2", "特种设备", "使用单位检查", "重点", "书面检查", "SCJGJ", "", "", "", "", "", "", "", "", "", "区市场监管局", "区应急管理局;区消防"],
    ]
    rep = import_file(engine, "items", "清单.csv", csv_bytes("items", items, "utf-8-sig"))
    assert rep.inserted == 0 and [(e.row, e.column) for e in rep.errors] == [(3, "配合部门")]
    items[1][-1] = "区应急管理局;JTJ"
    rep = import_file(engine, "items", "清单.csv", csv_bytes("items", items, "utf-8-sig"))
    assert rep.inserted == 2 and rep.encoding == "UTF-8（带BOM）"
    with Session(engine) as s:
        i2 = s.execute(select(CheckItem).where(CheckItem.code == "I2")).scalar_one()
        assert (i2.kind, i2.ratio_cap, i2.cooperating_departments) == ("key", None, "区交通局;区应急管理局")
    import_file(engine, "enterprises", "e.csv", csv_bytes("enterprises", [ent(0)]))
    conf = csv_bytes("conflicts", [["007", CODES[0], "亲属关系", "管理员录入", "配偶"], ["999", CODES[0], "其他", "", ""]])
    rep = import_file(engine, "conflicts", "回避.csv", conf)
    assert rep.inserted == 0 and [(e.row, e.column) for e in rep.errors] == [(3, "人员编号")]
    rep = import_file(engine, "conflicts", "回避.csv", conf, partial=True)
    assert (rep.inserted, rep.rejected) == (1, 1)
    conf2 = csv_bytes("conflicts", [["007", CODES[0], "曾任职", "管理员录入", "配偶"]])
    rep = import_file(engine, "conflicts", "回避2.csv", conf2)
    assert rep.updated == 1
    with Session(engine) as s:
        ch = s.execute(select(ChangeRecord).where(ChangeRecord.import_run_id == rep.import_run_id)).scalar_one()
        assert ch.key == f"007/{CODES[0]}" and json.loads(ch.changes) == {"reason": ["亲属关系", "曾任职"]}


def test_cert_no_owned_by_another_inspector(engine, pinggu):
    import_file(engine, "inspectors", "a.csv", csv_bytes("inspectors", [["P1", "张三", "SCJGJ", "C1", "", "", "是"]]))
    rep = import_file(engine, "inspectors", "b.csv", csv_bytes("inspectors", [["P2", "李四", "SCJGJ", "C1", "", "", "是"]]))
    assert rep.inserted == 0 and [(e.row, e.column) for e in rep.errors] == [(2, "执法证号")]
    assert "P1" in rep.errors[0].reason


def test_absent_optional_column_keeps_stored_values(engine, pinggu):
    import_file(engine, "enterprises", "a.csv", csv_bytes("enterprises", [ent(0, address="原住所")]))
    header = [h for h in COLUMNS["enterprises"] if h != "住所"]
    r = [x for h, x in zip(COLUMNS["enterprises"], ent(0, name="新名称")) if h != "住所"]
    rep = import_file(engine, "enterprises", "b.csv", csv_bytes("enterprises", [r], header=header))
    assert rep.updated == 1
    with Session(engine) as s:
        e = s.execute(select(Enterprise)).scalar_one()
        assert (e.name, e.address) == ("新名称", "原住所")


def test_preview_and_progress(engine, pinggu):
    data = csv_bytes("enterprises", [ent(i) for i in range(30)] + [ent(31, uscc="X")])
    pv = preview("enterprises", "e.csv", data, engine, limit=5)
    assert pv.encoding == "UTF-8" and pv.total_rows == 31 and len(pv.rows) == 5
    assert pv.columns == list(COLUMNS["enterprises"]) and pv.rows[0]["所属乡镇街道"] == "滨河街道"
    assert [e.row for e in pv.errors] == [32]
    assert counts(engine)["Enterprise"] == 0
    seen = []
    rep = import_file(engine, "enterprises", "e.csv", data, partial=True, progress=lambda d, t: seen.append((d, t)))
    assert rep.inserted == 30
    assert seen[-1][0] == seen[-1][1] and all(d <= t for d, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bureau_resolution(engine, pinggu):
    data = csv_bytes("enterprises", [ent(0)])
    with pytest.raises(ImportSetupError, match="没有代码为"):
        import_file(engine, "enterprises", "e.csv", data, bureau_code="999999")
    assert import_file(engine, "enterprises", "e.csv", data, bureau_code="110117").inserted == 1


def test_no_bureau_is_a_chinese_error(engine):
    with pytest.raises(ImportSetupError, match="还没有任何市场监管局"):
        import_file(engine, "enterprises", "e.csv", csv_bytes("enterprises", [ent(0)]))


def test_big_insert_rebuilds_indexes_inside_the_transaction(engine, pinggu, monkeypatch):
    monkeypatch.setattr(imports, "INDEX_REBUILD_MIN", 10)
    codes = [uscc.make("9", "1", "110117", f"QB{i:06d}") for i in range(40)]
    rows = [ent(0, uscc=c, name=f"甲{i}", town_code="兴谷街道") for i, c in enumerate(codes)]
    rep = import_file(engine, "enterprises", "big.csv", csv_bytes("enterprises", rows))
    assert rep.inserted == 40
    from sqlalchemy import inspect

    names = {ix["name"] for ix in inspect(engine).get_indexes("enterprise")}
    assert {"ix_enterprise_name", "ix_enterprise_town_status", "ix_enterprise_industry_code", "ix_enterprise_risk_class"} <= names
    found = browse_enterprises(engine, q="甲1", town_code="110117002", page=1, page_size=5)
    page, total = found.rows, found.total
    assert total == 11 and len(page) == 5  # 甲1, 甲10..甲19
    assert page[0]["town_name"] == "兴谷街道" and [p["uscc"] for p in page] == sorted(p["uscc"] for p in page)
    assert browse_enterprises(engine, q="%", page=1).rows == []  # LIKE wildcards are escaped
