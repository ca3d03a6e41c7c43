"""Helpers of the docking tests: a demo with published results, receipts and inbound batches as the
other side would write them (from docs/exchange.md alone: the manifest, the column lists)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy import func, select
from sqlmodel import Session

from db.models import ExchangeRecord, ItemResult
from scheduler.docking import formats as fm
from scheduler.demo.history import create_history
from scheduler.demo.service import create_demo
from scheduler.results import service as rs


def demo(engine, seed: int = 7) -> None:
    create_demo(engine, 1500, seed=seed)
    create_history(engine, rs.local_today(), seed=seed, rounds=1)


def published_ids(engine) -> set[int]:
    with Session(engine) as s:
        return set(s.execute(select(ItemResult.id).where(ItemResult.status == "已公示")).scalars())


def read_records(folder: Path) -> list[dict]:
    return json.loads((folder / "records.json").read_text("utf-8"))


def write_receipt(folder: Path, out: Path, reject: Callable[[dict], Optional[str]] = lambda r: None) -> Path:
    """A JSON receipt for the batch in `folder`: 拒收 with the reason `reject` gives, else 接收."""
    manifest_raw = (folder / "manifest.json").read_bytes()
    m = json.loads(manifest_raw)
    rows = []
    for r in read_records(folder):
        why = reject(r)
        rows.append({"记录编号": r["记录编号"], "处理结果": "拒收", "原因": why} if why
                    else {"记录编号": r["记录编号"], "处理结果": "接收"})
    doc = {"format": "dsr-exchange-receipt", "format_version": fm.FORMAT_VERSION, "batch_id": m["batch_id"],
           "manifest_sha256": hashlib.sha256(manifest_raw).hexdigest(), "received_at": "2026-12-05T08:00:00Z",
           "records": rows}
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


def accepted_versions(engine) -> dict[int, list[int]]:
    """result id -> the versions accepted, one entry per accepted record."""
    out: dict[int, list[int]] = {}
    with Session(engine) as s:
        for rid, ver in s.execute(select(ExchangeRecord.result_id, ExchangeRecord.version)
                                  .where(ExchangeRecord.status == "accepted").order_by(ExchangeRecord.version)):
            out.setdefault(rid, []).append(ver)
    return out


def inbound_batch(root: Path, kind: str, seq: int, records: list[dict], fmt: str = "json",
                  batch_id: Optional[str] = None, sender=("110000", "北京市市场监督管理局")) -> Path:
    """A city-platform batch folder as docs/exchange.md describes it."""
    from scheduler.docking.formats import INBOUND_COLUMNS
    from scheduler.docking.manifest import build_manifest, write_batch
    from scheduler.docking.outbound import csv_bytes

    bid = batch_id or f"CITY-{kind}-{seq:05d}"
    if fmt == "json":
        name, data = "records.json", json.dumps(records, ensure_ascii=False).encode("utf-8")
    else:
        name, data = "records.csv", csv_bytes(INBOUND_COLUMNS[kind], records)
    m = build_manifest(kind, bid, seq, sender, dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.timezone.utc)
                       .strftime("%Y-%m-%dT%H:%M:%SZ"), [(name, data, len(records))])
    return write_batch(root, bid, {name: data}, m)


def live_duplicates(engine) -> int:
    """(result, version) pairs with more than one accepted record: must stay 0."""
    with Session(engine) as s:
        sub = (select(ExchangeRecord.result_id, ExchangeRecord.version).where(ExchangeRecord.status == "accepted")
               .group_by(ExchangeRecord.result_id, ExchangeRecord.version).having(func.count() > 1)).subquery()
        return s.execute(select(func.count()).select_from(sub)).scalar_one()
