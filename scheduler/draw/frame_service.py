"""Build a plan's frame from the registry, in SQL (the same rules as scheduler.plans.frame).

The frame is every 存续 entity in the bureau's area that qualifies for at
least one plan item, less those the frequency rule (抽查频次) leaves out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sqlalchemy import and_, false, func, literal, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from db.models import CheckItem, Draw, Enterprise, Task, TaskItem, Town, VisitTask
from scheduler.plans import rules
from scheduler.plans.frame import ACTIVE_STATUS, Scope
from scheduler.plans.service import LoadedPlan
from db.bulk import in_values


@dataclass(frozen=True)
class FrameEntity:
    uscc: str
    entity_type: str
    industry_code: str
    town_code: str
    tags: str
    risk_class: str


def _scope_condition(scope: Scope) -> ColumnElement[bool]:
    e = Enterprise
    conds: list[ColumnElement[bool]] = []
    if scope.entity_types:
        conds.append(e.entity_type.in_(scope.entity_types))
    if scope.industries:
        conds.append(or_(*[e.industry_code.startswith(p, autoescape=True) for p in scope.industries]))
    if scope.towns:
        conds.append(e.town_code.in_(scope.towns))
    padded = literal(";").concat(e.tags).concat(";")
    for tag in scope.tags:
        conds.append(padded.contains(f";{tag};", autoescape=True))
    return and_(*conds) if conds else literal(True) == literal(True)


# Tasks that count as checks: not reserves, not voided, not replaced (a replaced entity was not visited).
NOT_CHECKS = ("reserve", "voided", "replaced")


def _drawn_too_often(kind: str, year: str, limit: int, departments: Sequence[int]):
    """USCCs checked at least `limit` times in `year` for items of `kind` by one of `departments`.

    抽查频次 counts a department's own checks (all its plans' draws of the year; case and special
    checks are not drawn and do not count), not other departments' or bureaus'. A joint visit
    (进一次门、查多项事, one Visit joining several tasks) counts once per department."""
    check = func.coalesce(-VisitTask.visit_id, Task.id)
    return (
        select(Task.uscc)
        .join(Draw, Draw.id == Task.draw_id)
        .join(TaskItem, TaskItem.task_id == Task.id)
        .join(CheckItem, CheckItem.id == TaskItem.item_id)
        .outerjoin(VisitTask, VisitTask.task_id == Task.id)
        .where(
            Draw.status == "drawn",
            Draw.period.like(f"{year}%"),
            CheckItem.kind == kind,
            CheckItem.department_id.in_(list(departments)),
            Task.status.not_in(NOT_CHECKS),
        )
        .group_by(Task.uscc, CheckItem.department_id)
        .having(func.count(check.distinct()) >= limit)
    )


def drawn_by_plan(plan_id: int, year: int | str):
    """USCCs the plan drew in `year` (selected, or reserves that took a place), in its live draws:
    they are not in the plan's later frames of the year (scheduler/plans/quota.py)."""
    return (
        select(Task.uscc)
        .join(Draw, Draw.id == Task.draw_id)
        .where(Draw.plan_id == plan_id, Draw.status == "drawn", Draw.period.like(f"{year}%"),
               Task.status.not_in(("reserve", "voided")))
    )


def _kind_condition(items: Sequence[CheckItem], kind: str, freq: rules.Frequency, year: str) -> ColumnElement[bool]:
    """In the frame through items of `kind`: in one's scope, and under the yearly limit of one's risk class."""
    mine = [i for i in items if i.kind == kind]
    if not mine:
        return false()
    depts = sorted({i.department_id for i in mine})
    rc = Enterprise.risk_class

    def fresh(limit: int) -> ColumnElement[bool]:
        return Enterprise.uscc.not_in(_drawn_too_often(kind, year, limit, depts)) if limit > 0 else true()

    default, named = freq.limits(kind)
    listed = [c for cs in named.values() for c in cs]
    parts = [and_(rc.in_(cs), fresh(n)) for n, cs in sorted(named.items())]
    parts.append(and_(rc.not_in(listed), fresh(default)) if listed else fresh(default))
    # Scopes with tags last: the database tries an entity's scopes in order, and a tag is found by a
    # substring search of the entity's tags, an industry by its prefix (1M demo frame: 0.88 -> 0.58 s).
    scopes = sorted((Scope.of(i) for i in mine), key=lambda sc: bool(sc.tags))
    return and_(or_(*[_scope_condition(sc) for sc in scopes]), or_(*parts) if len(parts) > 1 else parts[0])


def stratum_expression(strata_by: str):
    e = Enterprise
    if strata_by == "risk+town":
        return e.risk_class.concat("/").concat(e.town_code)
    if strata_by == "risk+industry":
        return e.risk_class.concat("/").concat(func.substr(e.industry_code, 1, 1))
    return e.risk_class


def _frame_conditions(lp: LoadedPlan, period: str) -> list[ColumnElement[bool]]:
    """The frame's WHERE on Enterprise, except the bureau's area (see the callers)."""
    freq: rules.Frequency = lp.rules.frequency
    year = period[:4]
    e = Enterprise
    qualifies = or_(
        _kind_condition(lp.items, rules.GENERAL, freq, year),
        _kind_condition(lp.items, rules.KEY, freq, year),
    )
    where = [e.status == ACTIVE_STATUS, qualifies, e.uscc.not_in(drawn_by_plan(lp.plan.id, year))]
    towns = [t for t in (lp.plan.frame_towns or "").split(";") if t]
    if towns:
        where.append(e.town_code.in_(towns))
    return where


def frame_query(lp: LoadedPlan, period: str):
    """SELECT uscc, stratum for the plan's frame in `period` (YYYY-MM or YYYY-Qn)."""
    e = Enterprise
    return (select(e.uscc, stratum_expression(lp.plan.strata_by)).join(Town, Town.code == e.town_code)
            .where(Town.bureau_id.in_(lp.area_ids()), *_frame_conditions(lp, period)))


log = logging.getLogger("dsr.frames")
_FROM_ENTERPRISE = re.compile(r"\bFROM enterprise\b")


def read_frame_lines(session: Session, lp: LoadedPlan, period: str) -> bytes | None:
    """The frame's lines `uscc,stratum\n`, in no particular order, concatenated by the
    database into one UTF-8 value: one round trip instead of a million rows, and
    no Python string per row. None for an empty frame, on a database other than
    SQLite and PostgreSQL, or if the database refuses (a value over its 1 GB
    limit, ~50M entities). The same rows as `frame_query`; the caller checks and
    sorts them (`draw.canonical_frames_bytes`), or reads the rows if it cannot.

    SQLite scans the registry in table order (NOT INDEXED): for a frame that is
    most of the registry this beats the indexes the planner would pick (status,
    town), which visit the rows in random order. Neither database sorts: numpy
    sorts the fixed-width lines faster, and without spilling to disk at 10M.
    SQLite joins the two columns separately (no string built per row: ~30% less
    of its time) and numpy lays out the lines when ids and strata have one width
    each; other frames get the lines from SQLite as before."""
    conn = session.connection()
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        return None
    stratum = stratum_expression(lp.plan.strata_by)
    area = select(Town.code).where(Town.bureau_id.in_(lp.area_ids()))
    where = (Enterprise.town_code.in_(area), *_frame_conditions(lp, period))
    cur = conn.connection.driver_connection.cursor()
    try:
        if name == "sqlite":
            return _sqlite_lines(conn, cur, where, stratum)
        return _postgresql_lines(conn, cur, where, stratum)
    except conn.dialect.dbapi.Error as exc:
        if name == "postgresql":
            cur.execute("ROLLBACK TO SAVEPOINT dsr_frame_lines")
        log.warning("frame lines not available (%s); reading the frame's rows", exc)
        return None
    finally:
        cur.close()


def _compiled(conn: Connection, where: Sequence[ColumnElement[bool]], *cols, extra: Sequence[ColumnElement[bool]] = ()
              ) -> tuple[str, dict, tuple]:
    """SELECT `cols` WHERE `where` and `extra` for the driver: its SQL, named and positional parameters."""
    c = (select(*cols).where(*where, *extra)
         .compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True}))
    params = c.construct_params()
    positional = tuple(params[k] for k in c.positiontup) if c.positiontup else ()
    return str(c), params, positional


def _line(stratum: ColumnElement[str]) -> ColumnElement[str]:
    return Enterprise.uscc.concat(",").concat(stratum).concat("\n").label("line")


def _sqlite_lines(conn: Connection, cur, where: Sequence[ColumnElement[bool]], stratum: ColumnElement[str]) -> bytes | None:
    """The frame's lines from SQLite: its two columns joined separately, the lines laid out by
    numpy (`lines_of_columns`); lines joined by SQLite when the values have several widths."""
    def columns_sql(extra=()) -> tuple[str, tuple]:
        sql, _, args = _compiled(conn, where, Enterprise.uscc.label("id"), stratum.label("stratum"), extra=extra)
        sql = _FROM_ENTERPRISE.sub("FROM enterprise NOT INDEXED", sql, count=1)
        # The separator is a literal newline: char(10), or a parameter, costs SQLite work
        # on every row (30% of the scan) and serialises two scans running at once.
        return (f"SELECT count(*), CAST(group_concat(id, ',') AS BLOB), "
                f"CAST(group_concat(stratum, '\n') AS BLOB) FROM ({sql})", args)

    parts = _sqlite_scan(conn, cur, columns_sql)
    if not sum(n for n, _, _ in parts):
        return None
    lines = [lines_of_columns(n, ids or b"", labels or b"") for n, ids, labels in parts if n]
    del parts
    if all(x is not None for x in lines):
        return b"".join(lines) if len(lines) > 1 else lines[0]
    del lines
    sql, _, args = _compiled(conn, where, _line(stratum))
    sql = _FROM_ENTERPRISE.sub("FROM enterprise NOT INDEXED", sql, count=1)
    cur.execute(f"SELECT CAST(group_concat(line, '') AS BLOB) FROM ({sql})", args)
    data = cur.fetchone()[0]
    return bytes(data) if data is not None else None


def _postgresql_lines(conn: Connection, cur, where: Sequence[ColumnElement[bool]], stratum: ColumnElement[str]) -> bytes | None:
    """The frame's lines joined by PostgreSQL (`string_agg`), under a savepoint: a refusal (a
    value over 1 GB) leaves the transaction usable."""
    sql, params, _ = _compiled(conn, where, _line(stratum))
    cur.execute("SAVEPOINT dsr_frame_lines")
    cur.execute(f"SELECT convert_to(string_agg(q.line, ''), 'UTF8') FROM ({sql}) AS q", params)
    data = cur.fetchone()[0]
    cur.execute("RELEASE SAVEPOINT dsr_frame_lines")
    return bytes(data) if data is not None else None


# A registry at least this large is scanned in two halves at once (two connections, two cores).
SPLIT_SCAN_ROWS = 200_000


def _sqlite_scan(conn, cur, columns_sql) -> list[tuple[int, bytes | None, bytes | None]]:
    """The frame's (count, ids, labels) from SQLite, as one or two parts.

    A large registry is scanned in two halves by id at the same time: one half on the
    caller's connection, the other on a second connection to the same file in a thread
    (SQLite runs the whole scan in C without the GIL: 1M rows 0.24 -> ~0.13 s). Both see the
    same registry: the caller holds the write lock (the freeze has written its draw row), so
    no other writer can commit before it does, and a new reader sees the last commit, which
    is what the caller's transaction started from. Any failure of the second connection
    scans its half here instead."""
    import sqlite3
    import threading

    e = Enterprise
    path = conn.engine.url.database
    # Split only inside a write transaction (pysqlite begins one at the first write): without
    # the write lock, a commit between the two scans could give a frame of no single moment.
    writing = conn.connection.driver_connection.in_transaction
    # (two subqueries: each is one b-tree seek; min and max in one SELECT would scan the table)
    lo, hi = cur.execute('SELECT (SELECT min(id) FROM "enterprise"), (SELECT max(id) FROM "enterprise")').fetchone()
    if lo is None or hi - lo + 1 < SPLIT_SCAN_ROWS or not path or path == ":memory:" or not writing:
        return [cur.execute(*columns_sql()).fetchone()]
    mid = (lo + hi) // 2
    upper_sql = columns_sql((e.id > mid,))
    upper: list = []

    def scan_upper() -> None:
        try:
            # read-only, by URI: a path that is not the database file must not create one
            other = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
            try:
                upper.append(other.execute(*upper_sql).fetchone())
            finally:
                other.close()
        except sqlite3.Error as exc:
            log.warning("second scan connection failed (%s); scanning that half on this one", exc)

    t = threading.Thread(target=scan_upper, name="dsr-frame-scan")
    t.start()
    try:
        lower = cur.execute(*columns_sql((e.id <= mid,))).fetchone()
    finally:
        t.join()
    return [lower, upper[0] if upper else cur.execute(*upper_sql).fetchone()]


def lines_of_columns(n: int, ids: bytes, labels: bytes) -> bytes | None:
    """The lines `id,label\n` of `n` rows, given their ids joined by "," and their labels joined
    by "\n" (same rows, same order), when every id has one width and every label one width;
    else None.

    With exactly n - 1 separators in each, no id holds a comma and no label a newline, so
    the values split back into exactly the n rows. The caller checks the lines themselves
    in full (`draw.canonical_frames_bytes`)."""
    if n < 1 or ids.count(b",") != n - 1 or labels.count(b"\n") != n - 1:
        return None
    w = ids.find(b",")
    w = len(ids) if w < 0 else w
    lw = labels.find(b"\n")
    lw = len(labels) if lw < 0 else lw
    if w == 0 or lw == 0 or n * (w + 1) != len(ids) + 1 or n * (lw + 1) != len(labels) + 1:
        return None
    out = np.empty((n, w + lw + 2), dtype=np.uint8)
    idv, labv = np.frombuffer(ids, dtype=np.uint8), np.frombuffer(labels, dtype=np.uint8)
    # Rows but the last carry their separator from the database; the last row gets it here.
    out[: n - 1, : w + 1] = idv[: (n - 1) * (w + 1)].reshape(n - 1, w + 1)
    out[n - 1, :w] = idv[(n - 1) * (w + 1):]
    out[n - 1, w] = 44
    out[: n - 1, w + 1:] = labv[: (n - 1) * (lw + 1)].reshape(n - 1, lw + 1)
    out[n - 1, w + 1 : w + 1 + lw] = labv[(n - 1) * (lw + 1):]
    out[n - 1, -1] = 10
    if not (bool((out[:, w] == 44).all()) and bool((out[:, -1] == 10).all())):
        return None  # a separator inside a value: not one id and one label per row
    return out.tobytes()


def _raw_rows(session: Session, stmt) -> list[tuple]:
    """Run a Core statement on the DB-API cursor: a million rows come back as
    plain tuples in one fetchall, without SQLAlchemy's per-row processing."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if conn.dialect.paramstyle == "qmark":
        args = tuple(params[k] for k in compiled.positiontup)
    else:
        args = params
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(str(compiled), args)
        return cur.fetchall()
    finally:
        cur.close()


def read_frame(session: Session, lp: LoadedPlan, period: str) -> list[tuple[str, str]]:
    """The frame rows (unsorted; the draw engine canonicalises)."""
    return _raw_rows(session, frame_query(lp, period))


def entities(session: Session, usccs: Sequence[str]) -> dict[str, FrameEntity]:
    """Registry rows of the given entities (for the items each task carries)."""
    out: dict[str, FrameEntity] = {}
    ids = list(usccs)
    if session.connection().dialect.name == "sqlite":
        # SQLite puts the values into a sorted list before it looks them up (and returns the rows
        # in that order): given sorted, it builds the list ~1/3 faster (10M: 291k entities).
        ids.sort()
    e = Enterprise
    cols = (e.uscc, e.entity_type, e.industry_code, e.town_code, e.tags, e.risk_class)
    if not ids:
        return out
    one = in_values(session, e.uscc, ids)
    conds = [one] if one is not None else [e.uscc.in_(ids[i : i + 900]) for i in range(0, len(ids), 900)]
    for cond in conds:
        for r in _raw_rows(session, select(*cols).where(cond)):
            out[r[0]] = FrameEntity(*r)
    return out


def applicable_items(lp: LoadedPlan, ent: FrameEntity, barred: frozenset[str] = frozenset()) -> list[CheckItem]:
    """The plan's items whose scope holds the entity, less the kinds (一般/重点) its
    check frequency bars this year (see `barred_kinds`)."""
    tags = [t for t in ent.tags.split(";") if t]
    return [i for i, sc in lp.scopes()
            if i.kind not in barred and sc.applies(ent.entity_type, ent.industry_code, tags, ent.town_code)]


def barred_kinds(session: Session, lp: LoadedPlan, period: str, ents: dict[str, FrameEntity]) -> dict[str, frozenset[str]]:
    """抽查频次 per task: an entity in a mixed plan's frame through its key items, but
    already drawn for general items as often as the year allows, is checked for the
    key items only (and the other way round). Each entity's limit is that of its risk class
    (`rules.Frequency.limit`); entities of exempt classes are never barred."""
    freq: rules.Frequency = lp.rules.frequency
    year = period[:4]
    out: dict[str, set[str]] = {}
    kinds = {i.kind for i in lp.items}
    for kind in (rules.GENERAL, rules.KEY):
        if kind not in kinds:
            continue
        by_limit: dict[int, list[str]] = {}
        for u, e in ents.items():
            by_limit.setdefault(freq.limit(kind, e.risk_class), []).append(u)
        depts = sorted({i.department_id for i in lp.items if i.kind == kind})
        for limit, ids in sorted(by_limit.items()):
            if limit <= 0:
                continue
            one = in_values(session, Task.uscc, ids)  # one query where the database allows, else chunks of 900
            for cond in [one] if one is not None else [Task.uscc.in_(ids[i : i + 900]) for i in range(0, len(ids), 900)]:
                for (u,) in session.execute(_drawn_too_often(kind, year, limit, depts).where(cond)).all():
                    out.setdefault(u, set()).add(kind)
    return {u: frozenset(k) for u, k in out.items()}


def preview(session: Session, lp: LoadedPlan, period: str) -> list[dict]:
    """Frame size per stratum, with its annual quota and this period's k by the year's allocation
    (scheduler/plans/quota.py), before anything is frozen or drawn. Counted in SQL (GROUP BY
    stratum), so it stays fast on a million entities. A plan not drawn yet this year takes this
    frame as the year's base, as its first draw would."""
    from sqlalchemy import func as f

    from scheduler.draw.annual import base_and_drawn, plan_year
    from scheduler.plans import quota

    year = plan_year(lp)
    left = quota.check_period(lp.plan.code, year, quota.periods(lp.plan.schedule, year), period)
    q = frame_query(lp, period).subquery()
    sizes = {st: int(n) for st, n in session.execute(select(q.c[1], f.count()).group_by(q.c[1]).order_by(q.c[1])).all()}
    base, drawn, earlier = base_and_drawn(session, lp.plan.id, year) if lp.plan.id else ({}, {}, [])
    out = []
    for a in quota.allocate(lp.rules.ratios, lp.rules.counts, base if earlier else sizes, drawn, sizes, left):
        if a.stratum in sizes:
            out.append({"stratum": a.stratum, "size": a.available, "ratio": a.ratio, "count": a.count,
                        "quota": a.quota, "k": a.k})
    return out
