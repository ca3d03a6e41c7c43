"""Outbound batches after their export: marked sent (已报送), answered by a receipt (已回执), listed.

A receipt (回执) answers every record of one batch exactly once, 接收 or 拒收 with a reason
(docs/exchange.md; JSON with docs/schemas/receipt.schema.json, or CSV/XLSX with the columns
批次编号, 记录编号, 处理结果, 原因). It is applied whole or not at all; the same receipt
imported again changes nothing, a different one for an answered batch is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session
from sqlalchemy.engine import Engine

from db.models import ExchangeBatch, ExchangeRecord, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.docking import formats as fm
from scheduler.docking.manifest import refuse, schema_errors
from scheduler.docking.outbound import lock_batches
from scheduler.docking.schemas import receipt_schema
from scheduler.library import importing

STATUS_ORDER = (fm.GENERATED, fm.SENT, fm.ANSWERED)


@dataclass
class Receipt:
    batch_no: str
    manifest_sha256: str  # "" for CSV/XLSX receipts (they carry no manifest digest)
    rows: list[tuple[int, str, str, str]]  # (row or record number, 记录编号, 处理结果, 原因)
    file_name: str
    sha256: str


@dataclass
class ReceiptReport:
    batch_no: str
    accepted: int
    rejected: int
    unchanged: bool = False  # the same receipt had been imported already
    reasons: list[tuple[str, str]] = field(default_factory=list)


def _batch(s: Session, batch_no: str, actor: Actor) -> ExchangeBatch:
    b = s.execute(select(ExchangeBatch).where(ExchangeBatch.direction == "out", ExchangeBatch.batch_no == batch_no)
                  ).scalar_one_or_none()
    if b is None:
        raise fm.DockingError(f"没有编号为 {batch_no} 的报送批次")
    require_bureau(s, actor, b.bureau_id)
    return b


def mark_sent(engine: Engine, batch_no: str, actor: Actor) -> ExchangeBatch:
    """生成 → 已报送: the folder has been handed to the other side."""
    require(actor, "exchange.export")
    with Session(engine) as s:
        lock_batches(s)
        b = _batch(s, batch_no, actor)
        if b.status != fm.GENERATED:
            raise fm.DockingError(f"批次 {batch_no} 的状态为“{b.status}”，只有“生成”的批次可以标记为已报送")
        if b.written_at is None:
            raise fm.DockingError(f"批次 {batch_no} 的文件尚未写出，请先执行 dsr exchange export")
        b.status, b.sent_by, b.sent_at = fm.SENT, actor.name, utcnow()
        s.add(b)
        auditlog.record(s, actor, "exchange.sent", f"exchange:{batch_no}", {"records": b.record_count},
                        bureau_id=b.bureau_id)
        s.commit()
        s.refresh(b)
        return b


# --- reading a receipt ------------------------------------------------------------------------------


def read_receipt(path: Path) -> Receipt:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fm.DockingError(f"无法读取回执文件 {path}：{exc.strerror}") from None
    sha = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise fm.DockingError(f"文件 {path.name} 不是有效的 UTF-8 JSON：{exc}") from None
        refuse(schema_errors(receipt_schema(), doc, path.name), "回执不符合格式（docs/schemas/receipt.schema.json）：")
        rows = [(i, r["记录编号"], r["处理结果"], r.get("原因", "")) for i, r in enumerate(doc["records"], 1)]
        return Receipt(doc["batch_id"], doc["manifest_sha256"], rows, path.name, sha)
    return _read_table_receipt(path.name, data, sha)


def _read_table_receipt(name: str, data: bytes, sha: str) -> Receipt:
    table = importing.read_table(name, data)
    header = [importing.nfkc(h) for h in table.header]
    missing = [c for c in fm.RECEIPT_COLUMNS[:3] if c not in header]
    if missing:
        raise fm.DockingError(f"文件 {name}：缺少列 {'、'.join(missing)}（回执的列为 {'、'.join(fm.RECEIPT_COLUMNS)}）")
    at = {c: header.index(c) for c in fm.RECEIPT_COLUMNS if c in header}
    rows, batches, errors = [], set(), []
    for i, num in enumerate(table.row_numbers):
        cells = table.row(i)

        def cell(c: str) -> str:
            return importing.nfkc(cells[at[c]]) if c in at and at[c] < len(cells) else ""

        batches.add(cell("批次编号"))
        result, reason = cell("处理结果"), cell("原因")
        if result not in (fm.RECEIPT_ACCEPT, fm.RECEIPT_REJECT):
            errors.append(f"文件 {name} 第 {num} 行 [处理结果] 值“{result}”：应为“接收”或“拒收”")
        elif result == fm.RECEIPT_REJECT and not reason:
            errors.append(f"文件 {name} 第 {num} 行 [原因]：拒收的记录须说明原因")
        rows.append((num, cell("记录编号"), result, reason))
    if len(batches) > 1:
        errors.append(f"文件 {name} [批次编号]：一个回执只能对应一个批次（文件中有 {len(batches)} 个）")
    refuse(errors, "回执有错误，未导入：")
    if not rows:
        raise fm.DockingError(f"文件 {name}：回执中没有任何记录")
    return Receipt(batches.pop(), "", rows, name, sha)


# --- applying it ----------------------------------------------------------------------------------


def _check_coverage(r: Receipt, records: dict[str, ExchangeRecord], row_word: str) -> None:
    errors, seen = [], set()
    for num, no, _, _ in r.rows:
        where = f"文件 {r.file_name} 第 {num} {row_word} [记录编号] 值“{no}”"
        if no not in records:
            errors.append(f"{where}：不是批次 {r.batch_no} 的记录")
        elif no in seen:
            errors.append(f"{where}：重复")
        seen.add(no)
    missing = sorted(set(records) - seen)
    if missing:
        errors.append(f"文件 {r.file_name}：缺少批次 {r.batch_no} 的 {len(missing)} 条记录的处理结果（如 {missing[0]}）")
    refuse(errors, "回执与批次不符，未导入：")


def import_receipt(engine: Engine, path: Path, actor: Actor) -> ReceiptReport:
    """`dsr exchange receipt FILE`: apply a receipt to its batch, all or nothing."""
    require(actor, "exchange.receipt")
    r = read_receipt(path)
    with Session(engine) as s:
        lock_batches(s)
        b = _batch(s, r.batch_no, actor)
        if b.status == fm.ANSWERED:
            if b.receipt_sha256 == r.sha256:
                return ReceiptReport(b.batch_no, b.accepted, b.rejected, unchanged=True)
            raise fm.DockingError(f"批次 {b.batch_no} 已导入过另一份回执，未作更改")
        if b.written_at is None:
            raise fm.DockingError(f"批次 {b.batch_no} 的文件尚未写出，不可能有回执")
        if r.manifest_sha256 and r.manifest_sha256 != b.manifest_sha256:
            raise fm.DockingError(f"回执的 manifest_sha256 与批次 {b.batch_no} 的清单不符（对方读取的不是本批次的文件）")
        records = {x.record_no: x for x in s.execute(select(ExchangeRecord).where(ExchangeRecord.batch_id == b.id)).scalars()}
        _check_coverage(r, records, "条" if r.manifest_sha256 else "行")
        report = ReceiptReport(b.batch_no, 0, 0)
        for _, no, result, reason in r.rows:
            rec = records[no]
            rec.status, rec.reason = (fm.ACCEPTED, "") if result == fm.RECEIPT_ACCEPT else (fm.REJECTED, reason)
            s.add(rec)
            if rec.status == fm.ACCEPTED:
                report.accepted += 1
            else:
                report.rejected += 1
                report.reasons.append((no, reason))
        now = utcnow()
        if b.status == fm.GENERATED:  # answered before anyone marked it sent: it was sent
            b.sent_by, b.sent_at = actor.name, now
        b.status, b.accepted, b.rejected = fm.ANSWERED, report.accepted, report.rejected
        b.receipt_sha256, b.receipt_by, b.receipt_at = r.sha256, actor.name, now
        s.add(b)
        auditlog.record(s, actor, "exchange.receipt", f"exchange:{b.batch_no}",
                        {"file_sha256": r.sha256, "accepted": report.accepted, "rejected": report.rejected},
                        bureau_id=b.bureau_id)
        s.commit()
        return report

