"""Importing the two rosters and one list: one transaction per file.

`preview` reads and validates without writing. `import_file` validates, then in
ONE transaction inserts new rows, updates changed rows (keyed per kind), writes
an ImportRun, one ChangeRecord per updated row and one audit event. A file with
row errors writes nothing unless `partial=True`. A killed process leaves the
database as it was (the transaction never commits).

Speed: rows are validated against lookup dicts loaded once; existing rows are
loaded once and diffed in Python; inserts use `db.bulk.insert_rows`
(executemany / COPY). A very large insert into a small enterprise table drops
the secondary indexes and recreates them at the end, inside the same
transaction (one index build is much cheaper than a million index updates).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import eq, itemgetter, not_
from typing import Callable, Iterator, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from db.bulk import drop_secondary_indexes, insert_rows
from db.models import (
    Bureau,
    CheckItem,
    Conflict,
    Department,
    Enterprise,
    Expert,
    ImportRun,
    Inspector,
    Town,
    utcnow,
)
from scheduler.runtime import cores
from scheduler.runtime import gc_pause
from scheduler.library import importing
from scheduler.library.importing import FIELDS, KEYS, FileError, Lookups, RowError, Table, nfkc
from scheduler.access.permissions import RULES, require
from scheduler.audit import service as auditlog
from scheduler.library import bureaus
from scheduler.access.context import CLI, Actor
from scheduler.access.scope import require_bureau
from scheduler.errors import DsrError

Progress = Callable[[int, int], None]

MODELS = {
    "enterprises": Enterprise,
    "inspectors": Inspector,
    "experts": Expert,
    "items": CheckItem,
    "conflicts": Conflict,
}
# Above this many new enterprise rows (and more than already stored), rebuild indexes instead of updating them.
INDEX_REBUILD_MIN = 100_000


class ImportSetupError(DsrError, ValueError):
    """The import cannot start (no such bureau, several bureaus...); Chinese message."""

    code = "import.setup_refused"


@dataclass
class ImportPreview:
    encoding: str
    columns: list[str]
    rows: list[dict]
    total_rows: int
    errors: list[RowError]
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    kind: str
    file_name: str
    encoding: str
    total: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)
    import_run_id: Optional[int] = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line for the CLI and the UI."""
        name = importing.KIND_NAMES.get(self.kind, self.kind)
        head = f"{name}：文件 {self.file_name}（编码 {self.encoding or '未知'}）共 {self.total:,} 行"
        counts = (
            f"新增 {self.inserted:,}，更新 {self.updated:,}，未变 {self.unchanged:,}，拒绝 {self.rejected:,}"
        )
        if self.errors and self.inserted == self.updated == 0 and self.import_run_id is None:
            return f"{head}；有 {len(self.errors):,} 处错误，未导入任何数据（{counts}）"
        return f"{head}；{counts}；用时 {self.seconds:.1f} 秒"


# --- bureau and lookups ----------------------------------------------------------------


def resolve_bureau(session: Session, bureau_code: str | None) -> Bureau:
    if bureau_code:
        b = session.execute(select(Bureau).where(Bureau.code == bureau_code)).scalar_one_or_none()
        if b is None:
            raise ImportSetupError(f"数据库中没有代码为 {bureau_code} 的市场监管局")
        return b
    found = list(session.execute(select(Bureau).limit(2)).scalars())
    if not found:
        raise ImportSetupError("数据库中还没有任何市场监管局，请先初始化本局（如 dsr demo 或管理页面）")
    if len(found) > 1:
        raise ImportSetupError("数据库中有多个市场监管局，请用 --bureau 指定本局代码")
    return found[0]


def load_lookups(session: Session, bureau: Bureau, kind: str) -> Lookups:
    towns: dict[str, str] = {}
    for code, name in session.execute(select(Town.code, Town.name).where(Town.bureau_id == bureau.id)):
        towns[nfkc(name)] = code
        towns[code] = code
    departments: dict[str, int] = {}
    names: dict[int, str] = {}
    for did, code, name in session.execute(
        select(Department.id, Department.code, Department.name).where(Department.bureau_id == bureau.id)
    ):
        departments[nfkc(name)] = did
        departments[nfkc(code)] = did
        departments[nfkc(code).upper()] = did
        names[did] = name
    inspectors: dict[str, int] = {}
    if kind == "conflicts":
        for pk, iid in session.execute(
            select(Inspector.id, Inspector.inspector_id).where(Inspector.bureau_id == bureau.id)
        ):
            inspectors[iid] = pk
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # Beijing: the day of the import
    return Lookups(bureau.id, towns, departments, names, tuple(bureaus.risk_classes(session)), inspectors, today)


def _read(kind: str, file_name: str, data: bytes) -> Table:
    if kind not in importing.KINDS:
        raise ImportSetupError(f"未知的导入类型：{kind}（可选：{'、'.join(importing.KINDS)}）")
    table = importing.read_table(file_name, data)
    if len(table) == 0:
        # A header and nothing else is a wrong file (an empty export, the template itself), not
        # "导入完成 0 行": say so, as for any file that cannot be imported.
        raise FileError("只有列名，没有数据行；请在模板的列名下方填写数据后重新上传")  # the error names the file
    return table


# --- preview ------------------------------------------------------------------------------


def preview(
    kind: str, file_name: str, data: bytes, engine: Engine, bureau_code: str | None = None, limit: int = 20,
    actor: Optional[Actor] = None,
) -> ImportPreview:
    """Read and validate a file without writing: first `limit` rows and every error.
    PermissionDenied if the target bureau is outside the actor's scope (None: unrestricted)."""
    with gc_pause.paused():
        return _preview(kind, file_name, data, engine, bureau_code, limit, actor)


def _preview(kind: str, file_name: str, data: bytes, engine: Engine, bureau_code: str | None, limit: int,
             actor: Optional[Actor] = None) -> ImportPreview:
    columns = list(importing.COLUMNS.get(kind, ()))
    try:
        table = _read(kind, file_name, data)
    except FileError as exc:
        return ImportPreview("", columns, [], 0, [exc.row_error(file_name)])
    _idx, _errs, ignored = importing.map_header(kind, file_name, table.header)
    with Session(engine) as s:
        target = resolve_bureau(s, bureau_code)
        require_bureau(s, actor, target.id)  # bureau scope: a city account imports for its districts
        lk = load_lookups(s, target, kind)
        v = importing.validate_rows(kind, file_name, table, lk)
        _db_checks(s.connection(), kind, lk, v, file_name)
    return ImportPreview(table.encoding, columns, importing.display_rows(kind, table, limit), v.total, v.errors, ignored)


# --- import -----------------------------------------------------------------------------------


def import_file(
    engine: Engine,
    kind: str,
    file_name: str,
    data: bytes,
    actor: Actor = CLI,
    bureau_code: str | None = None,
    partial: bool = False,
    progress: Optional[Progress] = None,
) -> ImportReport:
    """Validate and store one file in one transaction; row errors are in the report.
    PermissionDenied if the target bureau is outside the actor's scope.

    `progress(done, total)` is called now and then; total is twice the row count
    (validation, then writing), so done/total is the fraction of the work done.
    """
    require(actor, f"import.{kind}" if f"import.{kind}" in RULES else "import.enterprises")
    with gc_pause.paused():
        return _import_file(engine, kind, file_name, data, actor, bureau_code, partial, progress)


@dataclass
class _ImportJob:
    """One file on its way into the database, and the report it fills in."""

    kind: str
    file_name: str
    table: Table
    actor: Actor
    bureau_code: str | None
    partial: bool
    sha256: Callable[[], str]  # waits for the background digest
    report: ImportReport
    step: Callable[[int], None]
    t0: float


def _import_file(
    engine: Engine,
    kind: str,
    file_name: str,
    data: bytes,
    actor: Actor,
    bureau_code: str | None,
    partial: bool,
    progress: Optional[Progress],
) -> ImportReport:
    t0 = time.perf_counter()
    # the file's SHA-256 on the other core while it is parsed (hashlib releases the GIL on big buffers)
    sha256 = cores.in_background(lambda: hashlib.sha256(data).hexdigest(), "dsr-import-sha256").result
    try:
        table = _read(kind, file_name, data)
    except FileError as exc:
        return ImportReport(kind, file_name, "", 0, errors=[exc.row_error(file_name)])
    n = len(table)
    total_steps = max(2 * n, 1)

    def step(done: int) -> None:
        if progress is not None:
            progress(min(done, total_steps), total_steps)

    step(0)
    report = ImportReport(kind, file_name, table.encoding, n)
    job = _ImportJob(kind, file_name, table, actor, bureau_code, partial, sha256, report, step, t0)
    try:
        with engine.begin() as conn:
            if not _import_in(conn, job):
                return report  # row errors and not partial: nothing written, rolled back
    except (IntegrityError, DBAPIError) as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        report.errors = report.errors + [RowError(file_name, 0, "", "", f"数据库写入失败，已全部撤销：{msg}")]
        report.inserted = report.updated = report.unchanged = 0
        report.import_run_id = None
    step(total_steps)
    report.seconds = time.perf_counter() - t0
    return report


def _import_in(conn: Connection, job: _ImportJob) -> bool:
    """Validate and store the file inside the caller's transaction; False when the
    file's row errors stop the import (then the transaction is rolled back here)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    s = Session(bind=conn)
    bureau = resolve_bureau(s, job.bureau_code)
    require_bureau(s, job.actor, bureau.id)  # bureau scope (PermissionDenied, nothing written)
    lk = load_lookups(s, bureau, job.kind)
    v = importing.validate_rows(job.kind, job.file_name, job.table, lk, progress=job.step)
    job.table.rows = []  # free the raw text early: big files need the memory for records
    _db_checks(conn, job.kind, lk, v, job.file_name)
    report = job.report
    report.errors = v.errors
    report.rejected_rows = v.rejected_rows
    report.rejected = len(v.rejected_rows)
    if v.errors and (not job.partial or not v.fields):
        report.seconds = time.perf_counter() - job.t0
        conn.rollback()
        return False
    _store_run(conn, s, job, bureau.id, lk, v)
    s.close()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
    return True


def _store_run(conn: Connection, s: Session, job: _ImportJob, bureau_id: int, lk: Lookups,
               v: importing.Validated) -> None:
    """The ImportRun, the rows themselves, the run's counts and the import's audit event."""
    report, n = job.report, job.report.total
    run = ImportRun(
        bureau_id=bureau_id,
        kind=job.kind,
        file_name=job.file_name[:300],
        file_sha256=job.sha256(),
        rows=n,
        actor=job.actor.name,
    )
    s.add(run)
    s.flush()  # the first write also opens SQLite's transaction before any DDL below
    _write(conn, job.kind, bureau_id, lk, v, run.id, report, lambda d: job.step(n + d))
    run.inserted, run.updated, run.unchanged, run.rejected = (
        report.inserted,
        report.updated,
        report.unchanged,
        report.rejected,
    )
    s.add(run)
    s.flush()
    auditlog.record(
        s,
        job.actor,
        f"import.{job.kind}",
        f"importrun:{run.id}",
        {
            "file": job.file_name,
            "sha256": run.file_sha256,
            "rows": n,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
        bureau_id=bureau_id,
    )
    report.import_run_id = run.id


def _db_checks(conn: Connection, kind: str, lk: Lookups, v: importing.Validated, file_name: str) -> None:
    """Rules that need stored rows: an 执法证号 belongs to one inspector; a conflict names an
    entity of the registry."""
    if not v.records:
        return
    if kind == "conflicts":
        _reject_unknown_entities(conn, v, file_name)
        return
    if kind != "inspectors":
        return
    owner = {
        cert: (bid, iid)
        for cert, bid, iid in conn.execute(select(Inspector.cert_no, Inspector.bureau_id, Inspector.inspector_id))
    }

    def problem(rec) -> Optional[str]:
        o = owner.get(rec[ci])
        return f"执法证号已属于人员编号 {o[1]} 的执法检查人员" if o is not None and o != (lk.bureau_id, rec[ii]) else None

    ci, ii = v.fields.index("cert_no"), v.fields.index("inspector_id")
    _reject_where(v, file_name, "inspectors", "cert_no", problem)


def _reject_unknown_entities(conn: Connection, v: importing.Validated, file_name: str) -> None:
    """A conflict of interest (回避关系) with a credit code that is not in the registry protects
    nobody and hides a typo: the row is rejected."""
    ui = v.fields.index("uscc")
    wanted = sorted({rec[ui] for rec in v.records})
    known: set[str] = set()
    for i in range(0, len(wanted), 5000):
        known.update(conn.execute(select(Enterprise.uscc).where(Enterprise.uscc.in_(wanted[i:i + 5000]))).scalars())
    _reject_where(v, file_name, "conflicts", "uscc",
                  lambda rec: None if rec[ui] in known else "检查对象名录库中没有这个统一社会信用代码")


def _reject_where(v: importing.Validated, file_name: str, kind: str, field_: str,
                  problem: Callable[[tuple], Optional[str]]) -> None:
    """Move the records for which `problem` gives a reason from the valid ones to the rejected."""
    keep, numbers = [], []
    fields = v.fields
    fi = fields.index(field_)
    headers = importing.HEADER_OF[kind]
    for rec, rownum in zip(v.records, v.row_numbers):
        reason = problem(rec)
        if reason is not None:
            e = RowError(file_name, rownum, headers[field_], rec[fi], reason)
            v.errors.append(e)
            bad = {headers[f]: x for f, x in zip(fields, rec)}
            bad.update({"行号": rownum, "错误": f"[{e.column}] {e.reason}"})
            v.rejected_rows.append(bad)
            continue
        keep.append(rec)
        numbers.append(rownum)
    v.records, v.row_numbers = keep, numbers
    v.errors.sort(key=lambda e: e.row)
    v.rejected_rows.sort(key=lambda r: r["行号"])


def _key_text(kind: str, key: tuple, lk: Lookups) -> str:
    if kind == "conflicts":
        by_pk = {pk: iid for iid, pk in lk.inspectors.items()}
        return f"{by_pk.get(key[0], key[0])}/{key[1]}"
    return str(key[0])


def _load_existing(conn: Connection, kind: str, bureau_id: int, fields: tuple[str, ...], keys: list):
    """(key -> id, key -> stored values of `fields`, rows stored) for the stored rows the file may touch.

    Read through the raw DB-API cursor (a million rows through the ORM's type
    processing costs seconds); dates come back as ISO text like validation makes.
    """
    t = MODELS[kind].__table__
    key_fields = KEYS[kind]
    nk = len(key_fields)
    cols = ", ".join(f'"{c}"' for c in ("id",) + key_fields + fields)
    date_pos = [i for i, f in enumerate(fields) if f in importing.DATE_FIELDS]
    bool_pos = [i for i, f in enumerate(fields) if f == "active"]  # SQLite gives 0/1
    raw = conn.connection.driver_connection
    pg = conn.dialect.name == "postgresql"
    mark = "%s" if pg else "?"
    ids: dict = {}
    vals_of: dict = {}
    # pysqlite (no detect_types) returns dates as the stored ISO text; PostgreSQL gives
    # date objects. Booleans: SQLite 0/1, PostgreSQL bool. Convert only what needs it.
    convert = bool(date_pos) if pg else bool(bool_pos)
    key_of = itemgetter(1) if nk == 1 else itemgetter(slice(1, 1 + nk))
    values_of = itemgetter(slice(1 + nk, None))

    def take(rows) -> None:
        if not convert:  # the common case, at C speed: no Python call per row
            ids.update(zip(map(key_of, rows), map(itemgetter(0), rows)))
            vals_of.update(zip(map(key_of, rows), map(values_of, rows)))
            return
        for r in rows:
            vals = list(r[1 + nk :])
            for p in date_pos:
                if vals[p] is not None and not isinstance(vals[p], str):
                    vals[p] = vals[p].isoformat()
            for p in bool_pos:
                vals[p] = bool(vals[p])
            k = key_of(r)
            ids[k] = r[0]
            vals_of[k] = tuple(vals)

    cur = raw.cursor()
    try:
        if kind == "enterprises":
            stored = conn.execute(select(func.count()).select_from(t)).scalar_one()
            if stored == 0:
                return ids, vals_of, 0
            if len(keys) > 20_000 or stored < 4 * len(keys):
                cur.execute(f'SELECT {cols} FROM "{t.name}"')
                while chunk := cur.fetchmany(100_000):  # a chunk at a time: no million row tuples at once
                    take(chunk)
            else:
                for i in range(0, len(keys), 500):
                    chunk = keys[i : i + 500]
                    cur.execute(f'SELECT {cols} FROM "{t.name}" WHERE uscc IN ({", ".join([mark] * len(chunk))})', chunk)
                    take(cur.fetchall())
            return ids, vals_of, stored
        cur.execute(f'SELECT {cols} FROM "{t.name}" WHERE bureau_id = {mark}', (bureau_id,))
        take(cur.fetchall())
        return ids, vals_of, len(ids)
    finally:
        cur.close()


@dataclass
class _StorageRows:
    """How validated values become rows of the table: bureau_id first for the
    per-bureau kinds, every stored field (absent optional ones as their defaults),
    the time stamp last."""

    columns: tuple[str, ...]  # the INSERT's column names
    stamp: str  # the time stamp column (also set by updates, except for conflicts)
    prefix: tuple  # (bureau_id,) or ()
    suffix: tuple  # (the stamp's storage value,)
    fill: list[tuple[Optional[int], object]]  # per stored field: its position in the record, or None and the default
    complete: bool  # the file has every field, in storage order

    def from_records(self, recs: list[tuple]) -> Iterator[tuple]:
        prefix, suffix, fill = self.prefix, self.suffix, self.fill
        if self.complete:
            return (prefix + r + suffix for r in recs) if prefix else (r + suffix for r in recs)
        return (prefix + tuple(r[i] if i is not None else d for i, d in fill) + suffix for r in recs)

    def from_columns(self, columns: list[list]) -> Iterator[tuple]:
        """The same rows zipped from a clean file's value columns (no record tuples)."""
        parts = columns if self.complete else [columns[i] if i is not None else repeat(d) for i, d in self.fill]
        return zip(*map(repeat, self.prefix), *parts, repeat(self.suffix[0]))


def _storage_rows(conn: Connection, kind: str, bureau_id: int, present: tuple[str, ...]) -> _StorageRows:
    sqlite = conn.dialect.name == "sqlite"
    # SQLAlchemy's SQLite storage form of an aware UTC datetime; PostgreSQL takes the object.
    now = utcnow()
    now_db = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    stamp = "declared_at" if kind == "conflicts" else "updated_at"
    per_bureau = kind != "enterprises"
    all_fields = FIELDS[kind]
    defaults = importing.DEFAULTS[kind]
    pos = {f: i for i, f in enumerate(present)}
    fill = [(pos.get(f), defaults.get(f)) for f in all_fields]
    cols = (("bureau_id",) if per_bureau else ()) + all_fields + (stamp,)
    prefix = (bureau_id,) if per_bureau else ()
    return _StorageRows(cols, stamp, prefix, (now_db,), fill, present == all_fields)


@dataclass
class _Sorted:
    """A file's records against the stored rows: new, changed (as UPDATE rows and ChangeRecords), unchanged."""

    new: list[tuple]
    updates: list[tuple]
    changes: list[tuple]
    unchanged: int


def _sort_against_stored(kind: str, lk: Lookups, records: list[tuple], keys: list, ids: dict, existing: dict,
                         compare: tuple[str, ...], run_id: int, suffix: tuple) -> _Sorted:
    """Sort the rows into new / unchanged / changed with C-level maps; only the
    new and changed rows cost a Python step each."""
    nk = len(KEYS[kind])
    updates: list[tuple] = []
    changes: list[tuple] = []
    olds = list(map(existing.get, keys))
    # a tuple never equals None (a new key)
    same = list(map(eq, map(itemgetter(slice(nk, None)), records), olds))
    unchanged = same.count(True)
    new_recs = []
    for i in compress(range(len(keys)), map(not_, same)):
        old_vals = olds[i]
        if old_vals is None:
            new_recs.append(records[i])
            continue
        key, new_vals = keys[i], records[i][nk:]
        diff = {f: [o, n] for f, o, n in zip(compare, old_vals, new_vals) if o != n}
        updates.append(new_vals + (() if kind == "conflicts" else suffix) + (ids[key],))
        key_text = _key_text(kind, key if nk > 1 else (key,), lk)[:64]
        changes.append((run_id, kind, key_text, json.dumps(diff, ensure_ascii=False, default=str)))
    return _Sorted(new_recs, updates, changes, unchanged)


def _insert_new(conn: Connection, kind: str, shape: _StorageRows, new_rows: Iterator[tuple], n_new: int,
                stored: int, total: int, step: Callable[[int], None]) -> None:
    """INSERT the new rows 100,000 at a time; a big first fill of the enterprise
    table rebuilds its secondary indexes once at the end instead of updating them."""
    table = MODELS[kind].__tablename__
    # Not sorted by uscc: measured, the sort costs more than the ordered unique-index fill saves.
    rebuild = kind == "enterprises" and n_new >= INDEX_REBUILD_MIN and n_new > stored
    dropped = drop_secondary_indexes(conn, table) if rebuild else []
    chunk, done = 100_000, 0
    while batch := list(islice(new_rows, chunk)):
        insert_rows(conn, table, shape.columns, batch)
        done += len(batch)
        step(total // 4 + done * total // (2 * n_new))
    del batch
    for ddl in dropped:
        conn.exec_driver_sql(ddl)


def _write(
    conn: Connection,
    kind: str,
    bureau_id: int,
    lk: Lookups,
    v: importing.Validated,
    run_id: int,
    report: ImportReport,
    step: Callable[[int], None],
) -> None:
    table = MODELS[kind].__tablename__
    nk = len(KEYS[kind])
    # Compare and update only the columns the file has; absent optional columns keep stored values.
    compare = v.fields[nk:]
    # A clean file's values come column by column (no record tuples until needed).
    if v.columns is not None:
        keys = v.columns[0] if nk == 1 else list(zip(*v.columns[:nk]))
    else:
        keys = [r[0] for r in v.records] if nk == 1 else [r[:nk] for r in v.records]
    total = len(keys)
    ids, existing, stored = _load_existing(conn, kind, bureau_id, compare, keys)
    shape = _storage_rows(conn, kind, bureau_id, v.fields)
    if not existing:
        sorting = _Sorted([], [], [], 0)
        n_new = total
        new_rows = shape.from_columns(v.columns) if v.columns is not None else shape.from_records(v.records)
    else:
        sorting = _sort_against_stored(kind, lk, v.records, keys, ids, existing, compare, run_id, shape.suffix)
        n_new = len(sorting.new)
        new_rows = shape.from_records(sorting.new)
    step(total // 4)
    if n_new:
        _insert_new(conn, kind, shape, new_rows, n_new, stored, total, step)
    if sorting.updates:
        set_fields = compare + (() if kind == "conflicts" else (shape.stamp,))
        _bulk_update(conn, table, set_fields, sorting.updates)
    if sorting.changes:
        insert_rows(conn, "changerecord", ("import_run_id", "kind", "key", "changes"), sorting.changes)
    report.inserted = n_new
    report.updated = len(sorting.updates)
    report.unchanged = sorting.unchanged


def _bulk_update(conn: Connection, table: str, set_fields: tuple[str, ...], rows: list[tuple]) -> None:
    """UPDATE by id: executemany on SQLite; COPY into a temp table + one UPDATE on PostgreSQL."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        sets = ", ".join(f'"{f}" = ?' for f in set_fields)
        cur = raw.cursor()
        cur.executemany(f'UPDATE "{table}" SET {sets} WHERE id = ?', rows)
        cur.close()
        return
    cols = ", ".join(f'"{f}"' for f in set_fields)
    with raw.cursor() as cur:
        cur.execute(f'CREATE TEMP TABLE _dsr_upd ON COMMIT DROP AS SELECT {cols}, id FROM "{table}" WITH NO DATA')
    insert_rows(conn, "_dsr_upd", set_fields + ("id",), rows)
    sets = ", ".join(f'"{f}" = u."{f}"' for f in set_fields)
    with raw.cursor() as cur:
        cur.execute(f'UPDATE "{table}" t SET {sets} FROM _dsr_upd u WHERE t.id = u.id')
        cur.execute("DROP TABLE _dsr_upd")
