"""The demo's platform exchange (平台对接): the market-supervision department's legal name, and one
outbound batch of the published results answered by a receipt as the publicity system would write
it (two records rejected, the rest accepted), so the 平台对接 page shows every state.

The batch folder is written into a temporary folder and dropped: the database keeps the batch, its
records and their payloads (docs/exchange.md)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Optional

from sqlalchemy import select
from sqlmodel import Session

from db.models import Bureau, ExchangeBatch
from scheduler.access.context import Actor
from scheduler.demo import pinggu
from scheduler.docking import formats as fm
from scheduler.docking import outbound, receipts

REJECTED_REASON = "企业名称与登记信息不一致（演示回执）"


def _receipt(folder: Path, out: Path, rejected: int) -> Path:
    raw = (folder / fm.MANIFEST).read_bytes()
    records = json.loads((folder / "records.json").read_text("utf-8"))
    rows = [{"记录编号": r["记录编号"], "处理结果": fm.RECEIPT_REJECT, "原因": REJECTED_REASON} if i < rejected
            else {"记录编号": r["记录编号"], "处理结果": fm.RECEIPT_ACCEPT} for i, r in enumerate(records)]
    doc = {"format": fm.RECEIPT_FORMAT, "format_version": fm.FORMAT_VERSION, "batch_id": json.loads(raw)["batch_id"],
           "manifest_sha256": hashlib.sha256(raw).hexdigest(), "records": rows}
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


def create_exchange_history(engine, rejected: int = 2) -> Optional[str]:
    """The demo bureau's first outbound batch, sent and answered; None if it has one already or
    nothing is published."""
    with Session(engine) as s:
        b = s.execute(select(Bureau).where(Bureau.code == pinggu.BUREAU_CODE)).scalar_one_or_none()
        if b is None or s.execute(select(ExchangeBatch.id).where(ExchangeBatch.bureau_id == b.id)).first():
            return None
        actor = Actor("演示数据", "admin", b.id)
    outbound.set_legal_name(engine, "SCJGJ", pinggu.BUREAU_NAME, actor, pinggu.BUREAU_CODE)
    with tempfile.TemporaryDirectory() as tmp:
        res = outbound.export(engine, "gsxt", Path(tmp), actor, pinggu.BUREAU_CODE)
        if res is None:
            return None
        receipts.mark_sent(engine, res.batch_no, actor)
        receipts.import_receipt(engine, _receipt(res.folder, Path(tmp) / "receipt.json", rejected), actor)
    return res.batch_no
