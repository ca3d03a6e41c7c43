"""Export of 两库一单 in the import columns (scheduler/library/export_service.py), on SQLite and
PostgreSQL: every list re-imports unchanged, filters and the app's row limit hold, formulas are
neutralised, permissions and bureau scope are checked, and each export is in the audit chain."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, Enterprise, Inspector
from scheduler.library.importing import COLUMNS, KINDS
from scheduler.access.permissions import PermissionDenied
from scheduler.library import export_service as lx
from scheduler.library.bureaus import ensure_bureau
from scheduler.access.context import Actor
from scheduler.demo.service import create_demo
from scheduler.library.import_service import import_file


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM as UTF-8
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


@pytest.fixture
def demo(engine):
    create_demo(engine, 600, seed=7)
    return engine


def _exports(engine) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "library.export")).scalar_one()


@pytest.mark.parametrize("kind", KINDS)
def test_every_list_reimports_unchanged(demo, kind):
    data = lx.export_bytes(demo, kind, "csv")
    rows = _csv_rows(data)
    assert tuple(rows[0]) == COLUMNS[kind] and len(rows) > 1
    report = import_file(demo, kind, f"{kind}.csv", data)
    assert not report.errors, report.errors[:3]
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, len(rows) - 1)


def test_xlsx_export_reimports_unchanged(demo):
    data = lx.export_bytes(demo, "items", "xlsx")
    ws = load_workbook(io.BytesIO(data), read_only=True).active
    header = next(ws.iter_rows(values_only=True))
    assert tuple(header) == COLUMNS["items"]
    report = import_file(demo, "items", "items.xlsx", data)
    assert not report.errors and report.inserted == report.updated == 0 and report.unchanged > 0


def test_registry_filters_and_the_app_limit(demo):
    with Session(demo) as s:
        n_d = s.execute(select(func.count()).select_from(Enterprise).where(Enterprise.risk_class == "D")).scalar_one()
        total = s.execute(select(func.count()).select_from(Enterprise)).scalar_one()
    rows = _csv_rows(lx.export_bytes(demo, "enterprises", filters={"risk_class": "D"}))
    risk = rows[0].index("信用风险分类")
    assert len(rows) - 1 == n_d > 0 and {r[risk] for r in rows[1:]} == {"D"}
    uscc = rows[1][0]
    assert [r[0] for r in _csv_rows(lx.export_bytes(demo, "enterprises", filters={"q": uscc}))[1:]] == [uscc]
    before = _exports(demo)
    with pytest.raises(lx.ExportRefused, match=f"共 {total:,} 条，超过页面导出上限 100 条"):
        lx.export_bytes(demo, "enterprises", limit=100)
    assert _exports(demo) == before  # a refused export is not recorded as made
    assert len(list(lx.rows(demo, "enterprises", limit=None))) == total + 1  # the CLI: no limit


def test_formula_cells_are_neutralised(demo):
    with Session(demo) as s:
        e = s.execute(select(Enterprise).order_by(Enterprise.uscc).limit(1)).scalar_one()
        e.name = '=HYPERLINK("http://x","y")'
        s.add(e)
        s.commit()
        code = e.uscc
    rows = _csv_rows(lx.export_bytes(demo, "enterprises", filters={"q": code}))
    assert rows[1][1] == '\'=HYPERLINK("http://x","y")'


def test_permissions_scope_and_audit(demo):
    with Session(demo) as s:
        my = ensure_bureau(s, "110118", "北京市密云区市场监督管理局", "district", "110118",
                           [("110118001", "鼓楼街道")], [("SCJGJ", "市场监管局")])
        s.commit()
        my_id = my.id
        pg_id = s.execute(select(Inspector.bureau_id).limit(1)).scalar_one()
    with pytest.raises(PermissionDenied):
        lx.export_bytes(demo, "inspectors", actor=Actor("P0001", "inspector", pg_id, 1))
    with pytest.raises(PermissionDenied):
        lx.export_bytes(demo, "inspectors", bureau_id=pg_id, actor=Actor("my-planner", "planner", my_id, 1))
    with pytest.raises(lx.ExportRefused, match="请指定要导出的市场监管局"):
        lx.export_bytes(demo, "inspectors")  # two bureaus now: which one?
    # Miyun's planner exports Miyun's (empty) roster: the header only.
    assert _csv_rows(lx.export_bytes(demo, "inspectors", actor=Actor("my-planner", "planner", my_id, 1))) == [
        list(COLUMNS["inspectors"])]
    auditor = Actor("audit", "auditor")
    lx.export_bytes(demo, "conflicts", bureau_id=pg_id, actor=auditor)
    with Session(demo) as s:
        ev = s.execute(select(AuditEvent).where(AuditEvent.action == "library.export")
                       .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert ev.actor == "audit" and ev.object.startswith("library:conflicts/")
    with pytest.raises(lx.ExportRefused, match="导出格式"):
        lx.export_bytes(demo, "items", "pdf", bureau_id=pg_id)
