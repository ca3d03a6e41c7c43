"""Outbound to the credit publicity system (归集): batches, their states, receipts.

Every published result is sent once per version: a version is a content of its publicity
record (scheduler/docking/records.py); a correction or a closed follow-up changes the content
and so makes the next version. A result is, at any time, in one of four states:

  accepted  its current content is the last version the other side accepted;
  sent      the next version is in a batch still waiting for its receipt (not sent again);
  rejected  the next version was rejected and its content has not changed since (待修正);
  waiting   anything else: the next export sends it.

`uq_exchangerecord_live` (at most one pending or accepted record per result and version) makes a
second live copy impossible in the database itself.

Crash safety: the batch and its records (with the exact payload sent) are committed first, then
the folder is written atomically (scheduler/docking/manifest.py), then `written_at` is set. A
crash after the commit leaves a batch in 生成 without `written_at`; the next export writes that
batch again (same bytes, from the stored payloads) instead of making a new one. So nothing is
lost and nothing is in two batches, whatever moment the process dies.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from db.models import Bureau, Department, ExchangeBatch, ExchangeRecord, Setting, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.docking import formats as fm
from scheduler.docking import manifest as mf
from scheduler.docking.records import LEGAL_NAME_KEY, current_records
from scheduler.library.import_service import resolve_bureau

LOCK_KEY = 0x6473_7267_7378_7431  # pg_advisory_xact_lock key of the outbound batches ("dsrgsxt1")
STATES = ("waiting", "sent", "accepted", "rejected")
STATE_LABELS = {"waiting": "待报送", "sent": "已报送待回执", "accepted": "已接收", "rejected": "被拒收待修正"}


@dataclass
class ExportResult:
    batch_no: str
    records: int
    folder: Path
    resumed: bool  # an earlier export's batch written again (it had been recorded, not written)


def target_kind(target: str) -> str:
    try:
        return fm.TARGETS[target]
    except KeyError:
        raise fm.DockingError(f"未知的报送目标：{target}（可选：{'、'.join(fm.TARGETS)}）") from None


def lock_batches(s: Session) -> None:
    """Serialise exports and receipts: one writer at a time decides what is in which batch."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    else:  # SQLite: take the write lock before reading
        s.execute(update(ExchangeBatch).where(ExchangeBatch.id < 0).values(status=ExchangeBatch.status))


def _bureau(s: Session, actor: Actor, bureau_code: Optional[str], action: str) -> Bureau:
    require(actor, action)
    b = resolve_bureau(s, bureau_code)
    require_bureau(s, actor, b.id)
    return b


# --- the state of every published result --------------------------------------------------------


def result_states(conn: Connection, bureau: Bureau, kind: str = fm.GSXT) -> dict[int, tuple[str, int, dict[str, str]]]:
    """result id -> (state, the version its current content is or would be, that content), for the
    receiver of `kind`."""
    current = current_records(conn, bureau, kind)
    rows = conn.execute(
        select(ExchangeRecord.result_id, ExchangeRecord.version, ExchangeRecord.status, ExchangeRecord.payload_sha256)
        .join(ExchangeBatch, ExchangeBatch.id == ExchangeRecord.batch_id)
        .where(ExchangeBatch.bureau_id == bureau.id, ExchangeRecord.kind == kind).order_by(ExchangeRecord.id)
    ).all()
    accepted: dict[int, tuple[int, str]] = {}
    pending: set[tuple[int, int]] = set()
    rejected: dict[tuple[int, int], str] = {}  # the last rejected digest of (result, version)
    for rid, ver, st, digest in rows:
        if st == fm.ACCEPTED and ver > accepted.get(rid, (0, ""))[0]:
            accepted[rid] = (ver, digest)
        elif st == fm.PENDING:
            pending.add((rid, ver))
        elif st == fm.REJECTED:
            rejected[(rid, ver)] = digest
    out = {}
    for rid, content in current.items():
        digest = fm.content_digest(content, kind)
        last, last_digest = accepted.get(rid, (0, ""))
        if last and last_digest == digest:
            out[rid] = ("accepted", last, content)
        elif (rid, last + 1) in pending:
            out[rid] = ("sent", last + 1, content)
        elif rejected.get((rid, last + 1)) == digest:
            out[rid] = ("rejected", last + 1, content)
        else:
            out[rid] = ("waiting", last + 1, content)
    return out


def counts(engine: Engine, actor: Actor, bureau_code: Optional[str] = None, kind: str = fm.GSXT) -> dict[str, int]:
    """待报送 / 已报送 / 已接收 / 被拒收 counts of the bureau's published results (the dashboard's)."""
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_code, "exchange.view")
        states = result_states(s.connection(), b, kind)
    out = {k: 0 for k in STATES}
    for st, _, _ in states.values():
        out[st] += 1
    return out


def rejected_records(engine: Engine, actor: Actor, bureau_code: Optional[str] = None,
                     kind: str = fm.GSXT) -> list[dict[str, Any]]:
    """The results waiting for a fix, with the other side's reason (最近一次拒收)."""
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_code, "exchange.view")
        states = result_states(s.connection(), b, kind)
        todo = {rid: ver for rid, (st, ver, _) in states.items() if st == "rejected"}
        out = []
        for rec, bno in s.execute(
            select(ExchangeRecord, ExchangeBatch.batch_no).join(ExchangeBatch, ExchangeBatch.id == ExchangeRecord.batch_id)
            .where(ExchangeRecord.status == fm.REJECTED, ExchangeRecord.kind == kind,
                   ExchangeRecord.result_id.in_(list(todo) or [-1]))
            .order_by(ExchangeRecord.id)
        ):
            if todo.get(rec.result_id) == rec.version:
                content = states[rec.result_id][2]
                out.append({"记录编号": rec.record_no, "批次编号": bno, "统一社会信用代码": content["统一社会信用代码"],
                            "企业名称": content["企业名称"], "检查事项": content["检查事项"], "拒收原因": rec.reason})
    return out


# --- export ---------------------------------------------------------------------------------------


def _unwritten(s: Session, bureau_id: int, kind: str) -> Optional[ExchangeBatch]:
    return s.execute(select(ExchangeBatch).where(
        ExchangeBatch.bureau_id == bureau_id, ExchangeBatch.direction == "out", ExchangeBatch.kind == kind,
        ExchangeBatch.status == fm.GENERATED, ExchangeBatch.written_at.is_(None)).order_by(ExchangeBatch.id)).scalars().first()


def record_batch(engine: Engine, kind: str, actor: Actor, bureau_code: Optional[str]) -> Optional[tuple[int, bool]]:
    """In one transaction: the batch to write (an unwritten one, or a new one of every waiting
    result with its payload) and its audit event. Returns (its id, whether it is an earlier
    export's unwritten batch), or None if nothing waits."""
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_code, "exchange.export")
        lock_batches(s)
        old = _unwritten(s, b.id, kind)
        if old is not None:
            return old.id, True
        waiting = [(rid, ver, content) for rid, (st, ver, content) in result_states(s.connection(), b, kind).items()
                   if st == "waiting"]
        if not waiting:
            return None
        number = s.execute(select(func.count()).select_from(ExchangeBatch).where(
            ExchangeBatch.bureau_id == b.id, ExchangeBatch.direction == "out", ExchangeBatch.kind == kind)).scalar_one() + 1
        batch = ExchangeBatch(bureau_id=b.id, direction="out", kind=kind, batch_no=fm.batch_no(b.code, number, kind),
                              sender_code=b.code, sequence=number, status=fm.GENERATED,
                              format_version=fm.FORMAT_VERSION, record_count=len(waiting), created_by=actor.name)
        s.add(batch)
        s.flush()
        for rid, ver, content in waiting:
            full = fm.full_record(content, b.code, rid, ver, kind)
            s.add(ExchangeRecord(batch_id=batch.id, kind=kind, result_id=rid, version=ver, record_no=full["记录编号"],
                                 payload=fm.canonical(full), payload_sha256=fm.content_digest(content, kind)))
        auditlog.record(s, actor, "exchange.export", f"exchange:{batch.batch_no}",
                        {"kind": kind, "records": len(waiting)}, bureau_id=b.id)
        s.commit()
        return batch.id, False


def batch_files(s: Session, batch: ExchangeBatch, bureau: Bureau) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The batch's files and manifest, from its stored payloads alone (same bytes every time)."""
    payloads = s.execute(select(ExchangeRecord.payload).where(ExchangeRecord.batch_id == batch.id)
                         .order_by(ExchangeRecord.id)).scalars()
    # One record per line, its fields in the documented order.
    fields = fm.FIELDS_OF[batch.kind]
    records = [{k: r[k] for k in fields} for r in map(json.loads, payloads)]
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    js = ("[\n" + ",\n".join(lines) + ("\n" if lines else "") + "]\n").encode("utf-8")
    files = {"records.json": js, "records.csv": csv_bytes(fields, records)}
    created = batch.created_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = mf.build_manifest(batch.kind, batch.batch_no, batch.sequence or 1, (bureau.code, bureau.name), created,
                                 [(n, d, len(records)) for n, d in files.items()])
    return files, manifest


def csv_bytes(columns: tuple[str, ...], records: list[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM, CRLF, RFC 4180 quoting; values exactly as in the JSON (no formula guard)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in records:
        w.writerow([fm.csv_value(r.get(c)) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_recorded(engine: Engine, batch_id: int, out_dir: Path, resumed: bool = False) -> ExportResult:
    """Write a recorded batch's folder, then note that it is written (and the manifest's digest)."""
    with Session(engine) as s:
        batch = s.get(ExchangeBatch, batch_id)
        files, manifest = batch_files(s, batch, s.get(Bureau, batch.bureau_id))
    folder = mf.write_batch(out_dir, manifest["batch_id"], files, manifest)
    digest = hashlib.sha256(mf.manifest_bytes(manifest)).hexdigest()
    with Session(engine) as s:
        batch = s.get(ExchangeBatch, batch_id)
        if batch.written_at is None or batch.manifest_sha256 != digest:
            batch.written_at, batch.manifest_sha256 = utcnow(), digest
            s.add(batch)
            s.commit()
        return ExportResult(batch.batch_no, batch.record_count, folder, resumed)


def export(engine: Engine, target: str, out_dir: Path, actor: Actor, bureau_code: Optional[str] = None) -> Optional[ExportResult]:
    """`dsr exchange export --to gsxt --out DIR`: the next outbound batch, or None when nothing waits."""
    kind = target_kind(target)
    got = record_batch(engine, kind, actor, bureau_code)
    if got is None:
        return None
    return write_recorded(engine, got[0], out_dir, resumed=got[1])


def set_legal_name(engine: Engine, department: str, name: str, actor: Actor, bureau_code: Optional[str] = None) -> str:
    """Set the legal name (法定名称) a department is sent under as 检查实施机关; returns the department's name.

    The records of its results whose content changes by it are waiting again (a fix of a rejection)."""
    name = (name or "").strip()
    if not name:
        raise fm.DockingError("法定名称不能为空")
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_code, "exchange.settings")
        d = s.execute(select(Department).where(Department.bureau_id == b.id, (Department.code == department)
                                               | (Department.name == department))).scalar_one_or_none()
        if d is None:
            raise fm.DockingError(f"本局没有代码或名称为“{department}”的部门")
        key = LEGAL_NAME_KEY.format(d.id)
        row = s.get(Setting, key) or Setting(key=key, value=name)
        old = row.value if row.value != name else ""
        row.value = name
        s.add(row)
        auditlog.record(s, actor, "exchange.legal_name", f"department:{d.id}", {"old": old, "new": name}, bureau_id=b.id)
        s.commit()
        return d.name
