"""Export of 两库一单 (registry, roster, experts, item list, conflict declarations) in the import
templates' own columns, so that a planner can download a list, correct it in a spreadsheet and
import it again: every exported row re-imports as unchanged (tests/test_library_export.py).

Values are written as the importer reads them (departments by name, inspectors by roster id,
dates YYYY-MM-DD, yes/no as 是/否, item kinds as 重点/一般). As everywhere dsr writes a
spreadsheet, a cell that would start a formula gets a leading apostrophe (scheduler/exchange/tables.py).
Risk classes and conflict declarations are internal: the export is for staff and each one is
recorded in the audit chain (who, which list, how many rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, CheckItem, Conflict, Enterprise, Expert, Inspector, Town
from scheduler.exchange import tables
from scheduler.exchange.tables import ExportRefused
from scheduler.library.importing import COLUMNS, FIELDS, ITEM_KIND_NAMES, KIND_NAMES, KINDS
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.library import browse
from scheduler.access.context import CLI, Actor
from scheduler.library.import_service import load_lookups
from scheduler.library.records import import_text
from scheduler.access.scope import require_bureau

# The app builds a download in memory; past this many rows it asks for a narrower filter or the CLI.
APP_LIMIT = 100_000
FORMATS = ("csv", "xlsx")


def _bureau(s: Session, actor: Actor, bureau_id: int | None) -> Bureau:
    if bureau_id is None:
        bureau_id = actor.bureau_id
    if bureau_id is None:
        ids = list(s.execute(select(Bureau.id).limit(2)).scalars())
        if len(ids) != 1:
            raise ExportRefused("请指定要导出的市场监管局")
        bureau_id = ids[0]
    require_bureau(s.connection(), actor, bureau_id)
    b = s.get(Bureau, bureau_id)
    if b is None:
        raise ExportRefused("指定的市场监管局不存在")
    return b


def _columns(kind: str, model: Any):
    """The import fields as columns (rows of plain values: ~10x cheaper than ORM objects at 1M)."""
    return select(*(getattr(model, f) for f in FIELDS[kind]))


def _query(kind: str, b: Bureau, filters: dict[str, Any]):
    """The kind's rows of bureau `b`, in key order. Registry filters (as on its page): q (USCC
    prefix, name or address part), town_code, entity_type, status, risk_class, industry_prefix."""
    if kind == "enterprises":
        conds = [Enterprise.town_code.in_(select(Town.code).where(Town.bureau_id == b.id)),
                 *browse.enterprise_filters(**{k: v for k, v in filters.items() if v})]
        return _columns(kind, Enterprise).where(and_(*conds)).order_by(Enterprise.uscc)
    if kind == "conflicts":
        return (_columns(kind, Conflict).join(Inspector, Inspector.id == Conflict.inspector_pk)
                .where(Inspector.bureau_id == b.id).order_by(Inspector.inspector_id, Conflict.uscc))
    model, key = {"inspectors": (Inspector, Inspector.inspector_id), "experts": (Expert, Expert.expert_id),
                  "items": (CheckItem, CheckItem.code)}[kind]
    return _columns(kind, model).where(model.bureau_id == b.id).order_by(key)


def rows(engine: Engine, kind: str, *, bureau_id: int | None = None, actor: Actor = CLI,
         filters: dict[str, Any] | None = None, limit: int | None = None) -> Iterator[tuple[str, ...]]:
    """The header (the import template's columns), then one tuple of import texts per record.
    Raises ExportRefused past `limit` records (before anything is yielded) and PermissionDenied
    without `library.export` or outside the actor's scope. Records the export in the audit chain."""
    if kind not in KINDS:
        raise ExportRefused(f"未知的名录类型：{kind}（可选：{'、'.join(KINDS)}）")
    require(actor, "library.export")
    fields = FIELDS[kind]
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_id)
        stmt = _query(kind, b, filters or {})
        if limit is not None:
            n = s.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
            if n > limit:
                raise ExportRefused(f"符合条件的{KIND_NAMES[kind]}共 {n:,} 条，超过页面导出上限 {limit:,} 条："
                                    f"请缩小筛选范围，或用命令 dsr library export {kind} 导出全部")
        lk = load_lookups(s, b, kind)
        # import_text needs roster ids by primary key for conflicts: the lookups hold the reverse.
        inspector_ids = {pk: iid for iid, pk in lk.inspectors.items()}
        auditlog.record(s, actor, "library.export", f"library:{kind}/{b.code}",
                        {"kind": kind, "filters": {k: v for k, v in (filters or {}).items() if v}}, bureau_id=b.id)
        s.commit()
        yield COLUMNS[kind]
        def text_of(f: str):
            if f == "kind" and kind == "items":
                return lambda v: ITEM_KIND_NAMES.get(v, v)
            if f == "inspector_pk":
                return lambda v: inspector_ids.get(v, "")
            # Most cells are text already (the fast case); the rest as the record form shows them.
            return lambda v: v if type(v) is str else import_text(kind, f, v, lk)

        convert = [text_of(f) for f in fields]
        for rec in s.execute(stmt.execution_options(yield_per=5000)):
            yield tuple([c(v) for c, v in zip(convert, rec)])


def _write(path: Path, table_rows: Iterator[tuple[str, ...]], fmt: str, sheet: str) -> int:
    """CSV (UTF-8 with BOM, CRLF; streamed: write_csv only iterates over the rows) or XLSX (held in
    memory) of `table_rows` (header first) into `path`, formulas neutralised; the number of records.
    The format is checked before the first row is asked for (which records the export)."""
    if fmt not in FORMATS:
        raise ExportRefused("导出格式应为 csv 或 xlsx")
    it = iter(table_rows)
    header = tuple(next(it))
    count = 0

    def counted() -> Iterator[tuple[str, ...]]:
        nonlocal count
        for row in it:
            count += 1
            yield row

    if fmt == "csv":
        tables.write_csv(path, tables.Table(sheet, counted(), header))  # type: ignore[arg-type]
    else:
        tables.write_xlsx(path, [tables.Table(sheet, list(counted()), header)])
    return count


def write_file(engine: Engine, kind: str, path: Path, fmt: str = "csv", *, bureau_id: int | None = None,
               actor: Actor = CLI) -> int:
    """`dsr library export`: the whole list into `path`; the number of records written. The file
    appears only once complete (written beside it, then renamed): a failed export leaves none."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        count = _write(tmp, rows(engine, kind, bureau_id=bureau_id, actor=actor), fmt, KIND_NAMES[kind])
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def export_bytes(engine: Engine, kind: str, fmt: str = "csv", *, bureau_id: int | None = None, actor: Actor = CLI,
                 filters: dict[str, Any] | None = None, limit: int | None = APP_LIMIT) -> bytes:
    """One download of the page: `rows` as CSV or XLSX bytes."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "export"
        _write(path, rows(engine, kind, bureau_id=bureau_id, actor=actor, filters=filters, limit=limit), fmt,
               KIND_NAMES[kind])
        return path.read_bytes()


__all__ = ["APP_LIMIT", "FORMATS", "ExportRefused", "export_bytes", "rows", "write_file"]
