"""Attachments on the database and on disk: content-addressed storage by SHA-256, the row and its
audit event, and the check of every stored file against both.

The store is a directory outside the database rows: DSR_ATTACHMENTS_DIR if set; otherwise, for
a SQLite file, `<database file name>.attachments` next to it, and for a server database,
`dsr-attachments` in the working directory. A file is written once under its digest (the same
photo attached twice is stored once); the row and the audit event commit together.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import AuditEvent, Attachment, TaskEvent
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.audit.backup import STORE_ENV, attachment_store
from scheduler.audit.chain import digest_of
from scheduler.results import attachment_rules as ar
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs

AttachmentRefused = ar.AttachmentRefused
ENV = STORE_ENV
CHUNK = 1 << 20


def store_dir(engine: Engine) -> Path:
    """The attachment store of this database (see the module's docstring; the rule is the backup's too)."""
    return attachment_store(engine.url.render_as_string(hide_password=False))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _store(src: Path, sha: str, store: Path) -> None:
    """Copy `src` into the store under its digest (atomic rename; kept if already there and intact)."""
    dest = store / ar.relative_path(sha)
    if dest.exists() and _sha256(dest) == sha:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if _sha256(Path(tmp)) != sha:
            raise AttachmentRefused(f"{src.name} 在上传过程中被改动，请重新上传")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def attach(engine: Engine, task_id: int, path: Path | str, actor: Actor, kind: str = "photo", report_no: str = "",
           item: Optional[str] = None, store: Optional[Path] = None) -> Attachment:
    """Attach a file to a task's field record (an inspector of its team); returns the row with its SHA-256."""
    src = Path(path)
    if not src.is_file():
        raise AttachmentRefused(f"文件 {src} 不存在")
    require(actor, "result.attach")
    size = src.stat().st_size
    with src.open("rb") as fh:
        head = fh.read(ar.HEAD_BYTES)
    media = ar.check(kind, size, head, report_no, src.name)
    sha = _sha256(src)
    with Session(engine) as s:
        t = rs._lock_task(s, task_id, actor)
        if actor.name not in rs._team(s, t.id):
            raise AttachmentRefused(f"执法检查人员 {actor.name} 不是任务 #{task_id} 检查组成员，不能上传附件")
        if t.status not in lc.WORKING_STATES:
            raise AttachmentRefused(f"任务状态为“{lc.TASK_LABELS.get(t.status, t.status)}”，不能上传附件")
        item_id = rs._item_of(s, t.id, item).id if item else None
        _store(src, sha, store or store_dir(engine))
        a = Attachment(task_id=t.id, item_id=item_id, sha256=sha, size=size, media_type=media, kind=kind,
                       report_no=(report_no or "").strip(), file_name=src.name[:300], added_by=actor.name)
        s.add(a)
        s.flush()
        s.add(TaskEvent(task_id=t.id, from_status=t.status, to_status=t.status, actor=actor.name,
                        reason=f"上传{ar.KINDS[kind]} {src.name}（SHA-256 {sha}）"))
        auditlog.record(s, actor, "attachment.add", f"attachment:{a.id}",
                        ar.audit_payload(a.id, t.id, item_id, sha, size, media, kind, a.report_no),
                        bureau_id=t.bureau_id)
        s.commit()
        s.refresh(a)
        return a


def attachments(engine: Engine, task_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(Attachment.id, Attachment.item_id, Attachment.kind, Attachment.file_name, Attachment.sha256,
                   Attachment.size, Attachment.media_type, Attachment.report_no, Attachment.added_by,
                   Attachment.added_at).where(Attachment.task_id == task_id).order_by(Attachment.id))]


def content(engine: Engine, sha256: str, store: Optional[Path] = None) -> bytes:
    """A stored file's bytes, checked against its digest."""
    path = (store or store_dir(engine)) / ar.relative_path(sha256)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise AttachmentRefused(f"附件文件 {sha256} 与其 SHA-256 不符：文件已被改动")
    return data


def verify_files(engine: Engine, store: Optional[Path] = None) -> list[str]:
    """Every attachment checked against its audit event and its stored file (Chinese problems; empty if all
    hold): a row changed after the fact, a row or an event deleted, a file missing or changed."""
    root = store or store_dir(engine)
    problems: list[str] = []
    with Session(engine) as s:
        events = {ev.object: ev.digest for ev in s.execute(
            select(AuditEvent).where(AuditEvent.action == "attachment.add")).scalars()}
        seen = set()
        for a in s.execute(select(Attachment).order_by(Attachment.id)).scalars():
            obj = f"attachment:{a.id}"
            seen.add(obj)
            want = events.get(obj)
            payload = ar.audit_payload(a.id, a.task_id, a.item_id, a.sha256, a.size, a.media_type, a.kind, a.report_no)
            if want is None:
                problems.append(f"附件 #{a.id}（任务 #{a.task_id}）没有审计记录")
            elif digest_of(payload) != want:
                problems.append(f"附件 #{a.id}（任务 #{a.task_id}）的记录与审计链不符：记录被修改")
            path = root / ar.relative_path(a.sha256)
            if not path.is_file():
                problems.append(f"附件 #{a.id}（任务 #{a.task_id}）的文件缺失：{path}")
            elif _sha256(path) != a.sha256:
                problems.append(f"附件 #{a.id}（任务 #{a.task_id}）的文件已被改动：SHA-256 与记录不符（{path}）")
        for obj in sorted(set(events) - seen):
            problems.append(f"审计链记录了{obj.replace('attachment:', '附件 #')}，但其记录已被删除")
    return problems
