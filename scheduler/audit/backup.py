"""Backup and restore of a SQLite database; the pg_dump/pg_restore commands for PostgreSQL.

A backup uses SQLite's online backup API in one step: the source is read inside
one read transaction, so the copy is a consistent snapshot even while the app
and the worker keep writing (WAL lets them write while we read).

Every backup carries a manifest (table `dsr_backup_manifest`): the row count and the
SHA-256 of every table (a *part*) over its rows in rowid order. Integrity checks and
the audit chain miss a value corrupted in a column no index covers; the manifest does not.
`verify_backup` checks a backup without restoring it.

The attachment store (photos, 检查笔录, test reports: files outside the rows, named by their
SHA-256, see scheduler/results/attachments_service.py) travels inside the backup file, in table
`dsr_backup_attachment` (digest, size, content), so one file holds everything and the manifest
covers the files too. Each stored file of an attachment row is read, checked against its digest
and copied in; a file already missing or changed in the store is not copied and is reported.
A restore checks every file's content against its digest, writes the missing or changed ones
into the target's store (atomic rename), re-reads them, and only then replaces the database.

A restore never writes into the live file. The backup is copied to a hidden
file beside the target, checked (integrity, schema revision, audit chain, manifest),
switched out of WAL mode, and only then renamed over the target with
os.replace, which is atomic on one file system. A stale -wal file of the old
database would be replayed onto the new one by the next opener, so the old
database is checkpointed and its -wal/-shm removed first; if another process
still holds it open, the restore is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from scheduler.errors import DsrError

MANIFEST_TABLE = "dsr_backup_manifest"
FILES_TABLE = "dsr_backup_attachment"
# Tables whose rows do not make a database "in use" (an empty migrated schema is empty).
_BOOKKEEPING = {"alembic_version", "sqlite_sequence", "sqlite_stat1", MANIFEST_TABLE, FILES_TABLE}
STORE_ENV = "DSR_ATTACHMENTS_DIR"
CHUNK = 1 << 20


def attachment_store(url: str) -> Path:
    """The attachment store of the database at `url`: DSR_ATTACHMENTS_DIR if set; otherwise, for a
    SQLite file, `<database file name>.attachments` next to it, and for a server database,
    `dsr-attachments` in the working directory."""
    configured = os.environ.get(STORE_ENV, "").strip()
    if configured:
        return Path(configured)
    db = sqlite_path(url)
    return db.with_name(db.name + ".attachments") if db is not None else Path("dsr-attachments")


def stored_path(store: Path, sha256: str) -> Path:
    """Where a file lives under the store: two-character fan-out, then the full digest."""
    return Path(store) / sha256[:2] / sha256


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class BackupError(DsrError, RuntimeError):
    """Backup or restore refused; the message is in Chinese for the operator."""

    code = "backup.refused"


@dataclass
class FileCheck:
    """Result of checking a database file before it may be restored."""

    path: Path
    ok: bool
    problems: list[str] = field(default_factory=list)
    revision: str | None = None
    audit_events: int = 0
    audit_head: str = ""
    files: int = 0  # attachment files in the backup, each checked against its SHA-256
    files_written: int = 0  # by a restore: written into the store (missing or changed there)
    files_intact: int = 0  # by a restore: already in the store with the right content


@dataclass
class BackupReport:
    out: Path
    bytes: int
    seconds: float
    check: FileCheck
    files: int = 0  # attachment files copied into the backup
    file_problems: list[str] = field(default_factory=list)  # files missing or changed in the store




def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for other databases (or in-memory SQLite)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    return con


def _copy(src: Path, dst: Path) -> None:
    """Online backup src -> dst in one step (one read transaction: a consistent snapshot)."""
    s = _connect(src)
    d = sqlite3.connect(str(dst))
    try:
        s.backup(d, pages=-1)
    finally:
        d.close()
        s.close()


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from db.migrate import MIGRATIONS, alembic_config

    cfg = alembic_config(None)  # type: ignore[arg-type]
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def check_file(path: Path) -> FileCheck:
    """Integrity check, a known alembic revision, and an intact audit chain."""
    path = Path(path)
    rep = FileCheck(path, False)
    if not path.is_file() or path.stat().st_size == 0:
        rep.problems.append(f"{path} 不存在或为空文件")
        return rep
    try:
        con = _connect(path)
        try:
            res = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            if res != ["ok"]:
                rep.problems.append("完整性检查未通过：" + "；".join(str(r) for r in res[:5]))
                return rep
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "alembic_version" not in tables:
                rep.problems.append("文件中没有数据库结构版本（alembic_version），不是 dsr 的数据库")
                return rep
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            rep.revision = row[0] if row else None
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        rep.problems.append(f"无法作为 SQLite 数据库读取：{exc}")
        return rep
    if rep.revision is None:
        rep.problems.append("数据库结构版本为空")
        return rep
    head = _head_revision()
    if rep.revision != head:
        from alembic.script import ScriptDirectory

        from db.migrate import MIGRATIONS, alembic_config

        cfg = alembic_config(None)  # type: ignore[arg-type]
        cfg.set_main_option("script_location", str(MIGRATIONS))
        known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
        if rep.revision not in known:
            rep.problems.append(f"数据库结构版本 {rep.revision} 不是本软件已知的版本（最新为 {head}），请使用对应版本的软件")
            return rep
    from db.engine import make_engine
    from scheduler.audit import service as auditlog

    eng = make_engine(f"sqlite:///{path}")
    try:
        chain = auditlog.verify(eng)
    except Exception as exc:  # noqa: BLE001 - a broken table is a refusal, not a crash
        rep.problems.append(f"无法读取审计链：{exc}")
        return rep
    finally:
        eng.dispose()
    rep.audit_events, rep.audit_head = chain.events, chain.head
    if not chain.ok:
        rep.problems.append(f"审计链核验未通过：{chain.first_broken}")
        return rep
    rep.ok = True
    return rep


def _cell(v: object) -> object:
    return {"hex": bytes(v).hex()} if isinstance(v, (bytes, bytearray, memoryview)) else v


def part_digests(con: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """(rows, SHA-256) of every table but SQLite's own and the manifest, over its rows in rowid order."""
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    out: dict[str, tuple[int, str]] = {}
    for t in names:
        if t.startswith("sqlite_") or t == MANIFEST_TABLE:
            continue
        h, n = hashlib.sha256(), 0
        for row in con.execute(f'SELECT * FROM "{t}" ORDER BY rowid'):
            h.update(json.dumps([_cell(v) for v in row], ensure_ascii=False, default=str).encode("utf-8"))
            h.update(b"\n")
            n += 1
        out[t] = (n, h.hexdigest())
    return out


def _write_manifest(path: Path) -> None:
    con = sqlite3.connect(str(path))
    try:
        parts = part_digests(con)
        con.execute(f'CREATE TABLE "{MANIFEST_TABLE}" (part TEXT PRIMARY KEY, rows INTEGER NOT NULL, sha256 TEXT NOT NULL)')
        con.executemany(f'INSERT INTO "{MANIFEST_TABLE}" VALUES (?, ?, ?)', [(t, n, h) for t, (n, h) in parts.items()])
        con.commit()
    finally:
        con.close()


def manifest_problems(path: Path) -> list[str]:
    """What does not match the backup's manifest (Chinese), or [] when every part matches."""
    con = _connect(path)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (MANIFEST_TABLE,)).fetchone():
            return ["备份中没有清单（dsr_backup_manifest），无法确认各部分完好；请使用 dsr backup 生成的备份"]
        want = {t: (n, h) for t, n, h in con.execute(f'SELECT part, rows, sha256 FROM "{MANIFEST_TABLE}"')}
        got = part_digests(con)
    finally:
        con.close()
    problems = [f"表 {t} 与清单不符（清单 {want[t][0]} 行，实际 {got[t][0]} 行；SHA-256 不同）"
                for t in sorted(want.keys() & got.keys()) if want[t] != got[t]]
    problems += [f"表 {t} 在清单中，备份中却没有" for t in sorted(want.keys() - got.keys())]
    problems += [f"表 {t} 不在清单中" for t in sorted(got.keys() - want.keys())]
    return problems


def _drop_manifest(path: Path) -> None:
    con = sqlite3.connect(str(path))
    try:
        con.execute(f'DROP TABLE IF EXISTS "{MANIFEST_TABLE}"')
        con.execute(f'DROP TABLE IF EXISTS "{FILES_TABLE}"')
        con.commit()
    finally:
        con.close()


def _check_copy(path: Path) -> FileCheck:
    """check_file, then the manifest, then the attachment files: the checks of a backup, run on a private copy."""
    chk = check_file(path)
    if chk.ok:
        problems = manifest_problems(path)
        if problems:
            chk.ok = False
            chk.problems.append("备份清单核验未通过：" + "；".join(problems[:5]))
    if chk.ok:
        chk.files, problems = _check_files(path)
        if problems:
            chk.ok = False
            chk.problems.append("备份中的附件文件核验未通过：" + "；".join(problems[:5]))
    return chk


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _copy_files(path: Path, store: Path) -> tuple[int, list[str]]:
    """Copy every attachment's stored file into the backup at `path` (table FILES_TABLE), each checked
    against its digest; (files copied, problems with files missing or changed in the store)."""
    con = sqlite3.connect(str(path))
    try:
        con.execute(f'CREATE TABLE "{FILES_TABLE}" (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, content BLOB NOT NULL)')
        digests = sorted({r[0] for r in con.execute("SELECT sha256 FROM attachment")}) if _has_table(con, "attachment") else []
        n, problems = 0, []
        for sha in digests:
            f = stored_path(store, sha)
            if not f.is_file():
                problems.append(f"附件文件 {sha} 在附件库中缺失（{f}），未能备份")
                continue
            data = f.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"附件文件 {sha} 在附件库中已被改动（SHA-256 不符，{f}），未能备份")
                continue
            con.execute(f'INSERT INTO "{FILES_TABLE}" VALUES (?, ?, ?)', (sha, len(data), data))
            n += 1
        con.commit()
    finally:
        con.close()
    return n, problems


def _check_files(path: Path) -> tuple[int, list[str]]:
    """(files in the backup, problems): each file's content against its digest and size. A backup
    made without attachment files (no FILES_TABLE) has none to check."""
    con = _connect(path)
    try:
        if not _has_table(con, FILES_TABLE):
            return 0, []
        n, problems = 0, []
        for sha, size, data in con.execute(f'SELECT sha256, size, content FROM "{FILES_TABLE}" ORDER BY sha256'):
            n += 1
            if hashlib.sha256(bytes(data)).hexdigest() != sha or len(data) != size:
                problems.append(f"附件文件 {sha} 的内容与其 SHA-256 不符")
        return n, problems
    finally:
        con.close()


def _restore_files(path: Path, store: Path) -> tuple[int, int]:
    """Write the backup's attachment files that are missing or changed in `store` (temporary file,
    then atomic rename), re-read each; (written, already intact). Refused if one does not read back."""
    con = _connect(path)
    written = intact = 0
    try:
        if not _has_table(con, FILES_TABLE):
            return 0, 0
        for sha, data in con.execute(f'SELECT sha256, content FROM "{FILES_TABLE}" ORDER BY sha256'):
            dest = stored_path(store, sha)
            if dest.is_file() and file_sha256(dest) == sha:
                intact += 1
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.parent / f".{sha}.restore-{uuid.uuid4().hex[:12]}"
            try:
                tmp.write_bytes(bytes(data))
                os.replace(tmp, dest)
            finally:
                if tmp.exists():
                    tmp.unlink()
            if file_sha256(dest) != sha:
                raise BackupError(f"附件文件 {sha} 写入附件库 {store} 后核验不符，恢复中止（数据库未被替换）")
            written += 1
    finally:
        con.close()
    return written, intact


def verify_backup(src: Path) -> FileCheck:
    """Check a backup (integrity, schema revision, audit chain, manifest) without restoring it.

    The checks run on a private copy (opening a file for them may change its header), so the
    backup is left byte for byte as it was."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"备份文件 {src} 不存在")
    with tempfile.TemporaryDirectory(prefix="dsr-backup-verify-") as tmp:
        copy = Path(tmp) / "backup.db"
        shutil.copyfile(src, copy)
        try:
            chk = _check_copy(copy)
        except sqlite3.DatabaseError as exc:
            chk = FileCheck(copy, False, [f"无法作为 SQLite 数据库读取：{exc}"])
    chk.path = src
    return chk


def is_empty(path: Path) -> bool:
    """True if there is nothing to lose: no file, an empty file, or no rows in any data table."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        con = _connect(path)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for t in tables:
                if t in _BOOKKEEPING:
                    continue
                if con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone():
                    return False
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False  # unreadable: not provably empty, so only --force may replace it
    return True


def backup(url: str, out: Path, store: Path | None = None) -> BackupReport:
    """Consistent copy of the SQLite database at `url` into `out` (atomically created), with the files
    of its attachment store (`store`, by default `attachment_store(url)`)."""
    src = sqlite_path(url)
    if src is None:
        raise BackupError("当前数据库不是 SQLite 文件；PostgreSQL 请使用 pg_dump（见 dsr backup 的提示和运维文档）")
    if not src.is_file():
        raise BackupError(f"数据库文件 {src} 不存在")
    out = Path(out)
    if out.resolve() == src.resolve():
        raise BackupError("备份文件不能与数据库文件相同")
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        _copy(src, tmp)
        _leave_wal(tmp)
        files, file_problems = _copy_files(tmp, Path(store) if store is not None else attachment_store(url))
        _write_manifest(tmp)
        chk = _check_copy(tmp)
        if not chk.ok:
            raise BackupError("备份副本核验未通过：" + "；".join(chk.problems))
        os.replace(tmp, out)
    finally:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            if p.exists():
                p.unlink()
    chk.path = out
    return BackupReport(out, out.stat().st_size, time.perf_counter() - t0, chk, files, file_problems)


def _leave_wal(path: Path) -> None:
    """A single self-contained file: the copy inherits WAL mode from the source header."""
    con = sqlite3.connect(str(path))
    try:
        con.execute("PRAGMA journal_mode=DELETE")
    finally:
        con.close()


def restore(src: Path, url: str, force: bool = False, store: Path | None = None) -> FileCheck:
    """Replace the SQLite database at `url` with the checked copy of `src`, and bring the attachment
    files back into its store (`store`, by default `attachment_store(url)`), each checked.

    Refuses a non-empty target without `force`, a backup that fails its checks,
    and a target another process still holds open.
    """
    src = Path(src)
    target = sqlite_path(url)
    if target is None:
        raise BackupError("当前数据库不是 SQLite 文件；PostgreSQL 请使用 pg_restore（见运维文档）")
    if not src.is_file():
        raise BackupError(f"备份文件 {src} 不存在")
    if target.exists() and src.resolve() == target.resolve():
        raise BackupError("备份文件就是当前数据库文件")
    if not force and not is_empty(target):
        raise BackupError(f"数据库 {target} 中已有数据；确认要用备份覆盖时请加 --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.restore-{uuid.uuid4().hex[:12]}"
    try:
        try:
            _copy(src, tmp)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"备份文件无法读取，拒绝恢复：{exc}") from exc
        _leave_wal(tmp)
        try:
            chk = _check_copy(tmp)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"备份文件无法读取，拒绝恢复：{exc}") from exc
        if not chk.ok:
            raise BackupError("备份文件核验未通过，拒绝恢复：" + "；".join(chk.problems))
        _quiesce(target)
        chk.files_written, chk.files_intact = _restore_files(tmp, Path(store) if store is not None
                                                             else attachment_store(url))
        _drop_manifest(tmp)  # the manifest and the files describe the backup, not the database it becomes
        os.replace(tmp, target)
    finally:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            if p.exists():
                p.unlink()
    chk.path = target
    return chk


def _quiesce(target: Path) -> None:
    """Fold the old database's WAL into it and remove -wal/-shm, or refuse if it is in use."""
    wal, shm = Path(f"{target}-wal"), Path(f"{target}-shm")
    if target.exists() and target.stat().st_size > 0 and wal.exists():
        try:
            con = sqlite3.connect(str(target), timeout=5)
            try:
                busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                con.close()
        except sqlite3.DatabaseError:
            busy = 0  # an unreadable old file: its WAL is worthless too
        # The last connection to close a WAL database deletes its -wal file: if it is
        # still there, another program has the database open.
        if busy or wal.exists():
            raise BackupError(f"数据库 {target} 正在被其他程序使用，请先停止应用和后台任务再恢复")
    for p in (wal, shm):
        if p.exists():
            p.unlink()


def pg_commands(url: str, path: str) -> tuple[str, str]:
    """The pg_dump and pg_restore command lines for a PostgreSQL URL (password hidden)."""
    u = make_url(url)
    libpq = u.set(drivername="postgresql")
    shown = libpq.render_as_string(hide_password=True)
    dump = f'pg_dump --format=custom --no-owner --file "{path}" "{shown}"'
    restore_cmd = f'pg_restore --clean --if-exists --no-owner --single-transaction --dbname "{shown}" "{path}"'
    return dump, restore_cmd
