"""Inbound from the city platform: incremental registry and credit-risk files (市级平台增量文件).

A batch (a folder with manifest.json and one data file, docs/exchange.md) is checked whole, then
applied whole in one transaction, or not at all:
- idempotent: a batch already imported (same sender, kind and batch id, same manifest) changes
  nothing; the same id with other content, a sequence number out of order (a gap or a step back)
  is refused, so no increment is lost or applied twice;
- each row names an entity by its 统一社会信用代码 and carries only what changed: an empty or
  absent cell keeps the stored value; the merged rows are validated by the registry import's own
  rules (scheduler/library/importing.py), errors naming file, row and field;
- the change report lists the new entities, the changed ones (field: old → new) and those that
  left the frame (存续 → 注销 / 吊销 / 迁出), whose open tasks are closed
  (scheduler/docking/deregistration.py). `dry_run` computes the same report and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import func, insert, select, update
from sqlmodel import Session
from sqlalchemy.engine import Engine

from db.models import ChangeRecord, Enterprise, ExchangeBatch, ImportRun, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.docking import deregistration as dereg
from scheduler.docking import handdown
from scheduler.docking import formats as fm
from scheduler.docking.manifest import Batch, read_batch, refuse, schema_errors
from scheduler.docking.outbound import lock_batches
from scheduler.docking.schemas import inbound_records_schema
from scheduler.library import importing
from scheduler.library.import_service import load_lookups, resolve_bureau

SPEC = importing.SPECS["enterprises"]
FIELD_OF = {c.header: c.field for c in SPEC}
FIELDS = tuple(c.field for c in SPEC)
ACTIVE = "存续"


@dataclass
class ChangeReport:
    batch_id: str
    kind: str
    sequence: int
    sender: str
    records: int
    new: list[str] = field(default_factory=list)
    changed: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    left: list[tuple[str, str, str]] = field(default_factory=list)  # uscc, old status, new status
    unchanged: int = 0
    closings: list[dereg.Closing] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # 市抽县查: the tasks handed down
    already: bool = False  # this batch had been imported before: nothing done
    dry_run: bool = False

    def lines(self) -> list[str]:
        head = f"{fm.KIND_LABELS.get(self.kind, self.kind)} 批次 {self.batch_id}（第 {self.sequence} 批，发送方 {self.sender}）"
        if self.already:
            return [f"{head}：已于此前导入，本次未作任何更改"]
        verb = "试导入（未写入）" if self.dry_run else "已导入"
        if self.kind == fm.CITY_TASKS:
            return [f"{head}{verb}：共 {self.records} 条；新下发任务 {len(self.tasks)}，此前已下发 {self.unchanged}"] + [
                f"  市级任务 {t['city_task']}：{t['uscc']}，检查事项 {'、'.join(t['items'])}，检查组 {'、'.join(t['inspectors'])}"
                for t in self.tasks]
        out = [f"{head}{verb}：共 {self.records} 条；新增 {len(self.new)}，变更 {len(self.changed)}，"
               f"退出名录 {len(self.left)}，未变 {self.unchanged}"]
        out += [f"  新增 {u}" for u in self.new]
        out += [f"  变更 {u}：" + "；".join(f"{k} {o or '（空）'} → {n or '（空）'}" for k, (o, n) in ch.items())
                for u, ch in self.changed]
        out += [f"  退出名录 {u}：{o} → {n}" for u, o, n in self.left]
        for c in self.closings:
            what = {"cannot_inspect": "关闭为无法检查", "voided": "备选作废"}.get(c.to_status, "已有检查结果，请检查组录入结果类别")
            out.append(f"  任务 #{c.task_id}（{c.uscc}，{c.category}）：{what}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "kind": self.kind, "sequence": self.sequence, "records": self.records,
                "new": self.new, "changed": [{"uscc": u, "changes": c} for u, c in self.changed],
                "left": [{"uscc": u, "from": o, "to": n} for u, o, n in self.left], "unchanged": self.unchanged,
                "closed_tasks": [{"task": c.task_id, "uscc": c.uscc, "to": c.to_status or "left_to_team",
                                  "category": c.category} for c in self.closings],
                "tasks": self.tasks,
                "already_imported": self.already, "dry_run": self.dry_run}


# --- the data file ---------------------------------------------------------------------------


def data_rows(batch: Batch) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """(file name, [(row number, {column: text})]) of the batch's one data file, its format checked."""
    kind = batch.manifest["kind"]
    if kind not in fm.INBOUND_KINDS:
        raise fm.DockingError(f"批次类型 {kind} 不是市级平台的输入文件（可导入：{'、'.join(fm.INBOUND_KINDS)}）")
    if len(batch.files) != 1:
        raise fm.DockingError(f"市级平台批次须恰有一个数据文件，清单列出 {len(batch.files)} 个")
    (name, data), = batch.files.items()
    cols = fm.INBOUND_COLUMNS[kind]
    if name.lower().endswith(".json"):
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise fm.DockingError(f"文件 {name} 不是有效的 UTF-8 JSON：{exc}") from None
        refuse(schema_errors(inbound_records_schema(kind), doc, name), f"文件不符合格式（docs/schemas/{kind}-records.schema.json）：")
        rows = [(i, {c: importing.nfkc(str(r.get(c, ""))) for c in cols}) for i, r in enumerate(doc, 1)]
    else:
        table = importing.read_table(name, data)
        header = [importing.nfkc(h) for h in table.header]
        unknown = [h for h in header if h not in cols]
        if unknown or cols[0] not in header:
            raise fm.DockingError(f"文件 {name}：列应为 {'、'.join(cols)} 中的若干列且须有“{cols[0]}”"
                                  + (f"，未定义的列：{'、'.join(unknown)}" if unknown else ""))
        rows = []
        for i, num in enumerate(table.row_numbers):
            cells = table.row(i)
            rows.append((num, {c: importing.nfkc(cells[j]) if j < len(cells) else "" for j, c in enumerate(header)}))
    declared = batch.manifest["record_count"]
    if len(rows) != declared:
        raise fm.DockingError(f"文件 {name} 有 {len(rows)} 条记录，清单写的是 {declared} 条")
    return name, rows


# --- merge, validate, compare ----------------------------------------------------------------------


def _stored(s: Session, usccs: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    cols = [getattr(Enterprise, f) for f in FIELDS]
    for i in range(0, len(usccs), 500):
        for row in s.execute(select(*cols).where(Enterprise.uscc.in_(usccs[i:i + 500]))):
            vals = dict(zip(FIELDS, row))
            if vals["registered_on"] is not None and not isinstance(vals["registered_on"], str):
                vals["registered_on"] = vals["registered_on"].isoformat()
            out[vals["uscc"]] = {k: "" if v is None else str(v) for k, v in vals.items()}
    return out


def _merged_table(kind: str, rows: list[tuple[int, dict[str, str]]], stored: dict[str, dict[str, str]],
                  file_name: str) -> importing.Table:
    """Every row as a whole registry row: the file's non-empty cells over the stored values."""
    out, numbers, errors = [], [], []
    for num, cells in rows:
        key = cells.get("统一社会信用代码", "").upper()
        base = stored.get(key)
        if base is None and kind == fm.CITY_RISK:
            errors.append(f"文件 {file_name} 第 {num} 行 [统一社会信用代码] 值“{key}”：检查对象名录库中没有该主体，不能只更新信用风险分类")
        merged = dict(base or {})
        for header, value in cells.items():
            if header in FIELD_OF and value:
                merged[FIELD_OF[header]] = value
        merged["uscc"] = key
        out.append([merged.get(f, "") for f in FIELDS])
        numbers.append(num)
    refuse(errors, "文件有错误，未导入：")
    return importing.Table("", [c.header for c in SPEC], rows=out, row_numbers=numbers)


def _compare(v: importing.Validated, stored: dict[str, dict[str, str]], report: ChangeReport) -> list[dict[str, Any]]:
    """Fill the report; returns the rows to write (new and changed) as {field: value}."""
    writes = []
    labels = {c.field: c.header for c in SPEC}
    for rec in v.records:
        vals = dict(zip(v.fields, rec))
        text = {k: "" if x is None else str(x) for k, x in vals.items()}
        old = stored.get(text["uscc"])
        if old is None:
            report.new.append(text["uscc"])
            writes.append(vals)
            continue
        diff = {labels[f]: [old.get(f, ""), text[f]] for f in v.fields if old.get(f, "") != text[f]}
        if not diff:
            report.unchanged += 1
            continue
        report.changed.append((text["uscc"], diff))
        if old["status"] == ACTIVE and text["status"] != ACTIVE:
            report.left.append((text["uscc"], old["status"], text["status"]))
        writes.append(vals)
    return writes


# --- the service ------------------------------------------------------------------------------------


def _previous(s: Session, m: dict[str, Any]) -> tuple[Optional[ExchangeBatch], Optional[int]]:
    """(the same batch if imported before, the last sequence number imported from that sender and kind)."""
    same = s.execute(select(ExchangeBatch).where(
        ExchangeBatch.direction == "in", ExchangeBatch.sender_code == m["sender"]["code"],
        ExchangeBatch.kind == m["kind"], ExchangeBatch.batch_no == m["batch_id"])).scalar_one_or_none()
    last = s.execute(select(func.max(ExchangeBatch.sequence)).where(
        ExchangeBatch.direction == "in", ExchangeBatch.sender_code == m["sender"]["code"],
        ExchangeBatch.kind == m["kind"])).scalar_one()
    return same, last


def import_city(engine: Engine, path: Path, actor: Actor, dry_run: bool = False,
                bureau_code: Optional[str] = None) -> ChangeReport:
    """`dsr exchange import FILE [--dry-run]`: one inbound batch, all or nothing; its change report."""
    require(actor, "exchange.import")
    batch = read_batch(path)
    m = batch.manifest
    file_name, rows = data_rows(batch)
    report = ChangeReport(m["batch_id"], m["kind"], m["sequence"], f"{m['sender']['name']}（{m['sender']['code']}）",
                          len(rows), dry_run=dry_run)
    with Session(engine) as s:
        bureau = resolve_bureau(s, bureau_code)
        require_bureau(s, actor, bureau.id)
        lock_batches(s)
        same, last = _previous(s, m)
        if same is not None:
            if same.manifest_sha256 != batch.manifest_sha256:
                raise fm.DockingError(f"批次 {m['batch_id']} 已导入过，但本次文件内容不同，未导入（同一批次编号不能有两份内容）")
            report.already = True
            return report
        if last is not None and m["sequence"] != last + 1:
            raise fm.DockingError(f"批次 {m['batch_id']} 的序号为 {m['sequence']}，应为 {last + 1}"
                                  f"（上一批为第 {last} 批；增量文件须按序导入，不能跳过或重复）")
        if m["kind"] == fm.CITY_TASKS:
            new, report.unchanged = handdown.check_rows(s, bureau, m["sender"]["code"], file_name, rows)
            report.tasks = handdown.summary(new)
            if dry_run:
                return report
            handdown.create_tasks(s, bureau, m["sender"]["code"], m["batch_id"], new, actor)
            _record_inbound(s, m, batch.manifest_sha256, bureau.id, report, actor, {"tasks": len(new),
                                                                                   "unchanged": report.unchanged})
            s.commit()
            return report
        stored = _stored(s, sorted({c.get("统一社会信用代码", "").upper() for _, c in rows}))
        table = _merged_table(m["kind"], rows, stored, file_name)
        v = importing.validate_rows("enterprises", file_name, table, load_lookups(s, bureau, "enterprises"))
        refuse([str(e) for e in v.errors], "文件有错误，未导入任何数据：")
        writes = _compare(v, stored, report)
        report.closings = dereg.plan_closings(s, {u: n for u, _, n in report.left})
        if dry_run:
            return report
        _write(s, m, batch.manifest_sha256, file_name, bureau.id, writes, report, actor)
        s.commit()
    return report


def _write(s: Session, m: dict[str, Any], manifest_sha: str, file_name: str, bureau_id: int,
           writes: list[dict[str, Any]], report: ChangeReport, actor: Actor) -> None:
    now = utcnow()
    new = set(report.new)
    for vals in writes:
        row = dict(vals, registered_on=_date(vals.get("registered_on")), updated_at=now)
        if vals["uscc"] in new:
            s.execute(insert(Enterprise).values(**row))
        else:
            s.execute(update(Enterprise).where(Enterprise.uscc == vals["uscc"]).values(**row))
    run = ImportRun(bureau_id=bureau_id, kind=m["kind"], file_name=f"{m['batch_id']}/{file_name}"[:300],
                    file_sha256=manifest_sha, rows=report.records, inserted=len(report.new),
                    updated=len(report.changed), unchanged=report.unchanged, actor=actor.name)
    s.add(run)
    s.flush()
    s.add_all([ChangeRecord(import_run_id=run.id, kind=m["kind"], key=u, changes=json.dumps(c, ensure_ascii=False))
               for u, c in report.changed])
    summary = {k: report.as_dict()[k] for k in ("new", "left", "unchanged")}
    summary["changed"] = len(report.changed)
    dereg.apply_closings(s, report.closings, actor, f"市级平台批次 {m['batch_id']}")
    _record_inbound(s, m, manifest_sha, bureau_id, report, actor, summary,
                    {"new": len(report.new), "changed": len(report.changed), "left": len(report.left),
                     "closed_tasks": [c.task_id for c in report.closings if c.to_status]})


def _record_inbound(s: Session, m: dict[str, Any], manifest_sha: str, bureau_id: int, report: ChangeReport,
                    actor: Actor, summary: dict[str, Any], audit: Optional[dict[str, Any]] = None) -> None:
    """The batch's row (what makes a second import of it a no-op) and its audit event."""
    s.add(ExchangeBatch(bureau_id=bureau_id, direction="in", kind=m["kind"], batch_no=m["batch_id"],
                        sender_code=m["sender"]["code"], sequence=m["sequence"], status=fm.IMPORTED,
                        format_version=m["format_version"], record_count=report.records, manifest_sha256=manifest_sha,
                        summary=json.dumps(summary, ensure_ascii=False), created_by=actor.name, written_at=utcnow()))
    auditlog.record(s, actor, "exchange.import", f"exchange:{m['batch_id']}",
                    {"kind": m["kind"], "manifest_sha256": manifest_sha, **(audit or summary)}, bureau_id=bureau_id)


def _date(v: Any) -> Optional[dt.date]:
    if v in (None, ""):
        return None
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
