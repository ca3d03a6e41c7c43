"""Fast bulk writes: the ORM's add_all is ~30x slower than these.

SQLite: the DB-API `executemany` on the raw connection (the physical floor).
PostgreSQL: psycopg `COPY ... FROM STDIN`.
Both run inside the caller's transaction (pass a SQLAlchemy Connection that
is in a transaction), so a failure leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping, Sequence

import orjson
from sqlalchemy import String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session
from sqlalchemy.engine import Connection


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence],
                const: Mapping[str, object] | None = None) -> int:
    """Insert tuples (in `columns` order) into `table`; returns the row count.

    `const`: columns with the same value in every row (a draw id, a timestamp). On
    SQLite they are written into the statement once instead of being bound and
    converted for every row (fewer values per row is what executemany pays for)."""
    raw = conn.connection.driver_connection  # sqlite3.Connection or psycopg.Connection
    const = dict(const or {})
    cols = ", ".join(f'"{c}"' for c in (*columns, *const))
    n = 0
    if conn.dialect.name == "postgresql":
        tail = tuple(const.values())
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for r in rows:
                    copy.write_row((*r, *tail) if tail else r)
                    n += 1
        return n
    literals = [_sqlite_literal(v) for v in const.values()]
    if any(lit is None for lit in literals):  # a value SQL text cannot carry: bind it on every row
        tail = tuple(const.values())
        return insert_rows(conn, table, [*columns, *const], ((*r, *tail) for r in rows))
    marks = ", ".join(["?"] * len(columns) + literals)
    cur = raw.cursor()
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
    try:
        if isinstance(rows, list) and rows and rows[0].__class__ is tuple and not _date_positions(rows[0]):
            # Tuples without dates (the importers' rows): straight to SQLite, no copies.
            cur.executemany(sql, rows)
            return len(rows)
        batch: list = []
        for r in _sqlite_values(rows):
            batch.append(r)
            if len(batch) >= 50_000:
                cur.executemany(sql, batch)
                n += len(batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
        return n
    finally:
        cur.close()


def writes_ids(conn: Connection) -> bool:
    """Whether a caller holding the write lock may write out the ids the database would give
    new rows (SQLite: max(id) + 1, + 2, ... in row order) instead of reading them back after
    the insert. PostgreSQL takes them from sequences, which other sessions share."""
    return conn.dialect.name == "sqlite"


def _sqlite_literal(v: object) -> str | None:
    """`v` as an SQLite literal (the same value SQLAlchemy binds), or None if it has no safe one."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (dt.date, str)):
        text_ = _sqlite_text(v)
        if "\x00" in text_:
            return None
        return "'" + text_.replace("'", "''") + "'"
    return None


def _date_positions(row: Sequence) -> list[int]:
    return [i for i, v in enumerate(row) if isinstance(v, dt.date)]


def _sqlite_text(v):
    """SQLAlchemy's SQLite storage format for dates and (UTC) datetimes."""
    if isinstance(v, dt.datetime):
        if v.utcoffset() is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _sqlite_values(rows: Iterable[Sequence]) -> Iterable[tuple]:
    """Convert date/datetime columns (found on the first row) to SQLite text."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    idx = _date_positions(first)
    if not idx:
        yield tuple(first)
        yield from (tuple(r) for r in it)
        return
    # Bulk rows usually share one timestamp object: convert each distinct object once.
    last: dict[int, tuple[object, object]] = {}
    for r in _chain(first, it):
        r = list(r)
        for i in idx:
            v = r[i]
            seen = last.get(i)
            if seen is not None and seen[0] is v:
                r[i] = seen[1]
            else:
                r[i] = _sqlite_text(v)
                last[i] = (v, r[i])
        yield tuple(r)


def _chain(first, it):
    yield first
    yield from it


def drop_secondary_indexes(conn: Connection, table: str) -> list[str]:
    """Drop the non-constraint indexes of `table`; return the DDL that recreates them."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (table,)
        ).all()
    else:
        rows = conn.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = :t AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
            ),
            {"t": table},
        ).all()
    for name, _sql in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


@contextmanager
def sqlite_page_cache(conn: Connection, kib: int) -> Iterator[None]:
    """On SQLite, a page cache of `kib` KiB for the block, then the previous size again.

    Bulk writes into tables and indexes that are larger than SQLite's default 2 MB cache
    (a draw of 10M entities: ~300k tasks, ~500k team members) otherwise spill dirty pages
    and read them back for every random index insert. Other databases: nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size={-int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def in_values(session: Session, column, values: Sequence[str]) -> ColumnElement[bool] | None:
    """`column IN values` with one parameter however many values there are
    (SQLite: json_each over a JSON array; PostgreSQL: = ANY(array)), or None on
    another database (the caller then asks in chunks)."""
    name = session.connection().dialect.name
    if name == "sqlite":
        # (orjson: the id list of a 10M draw's ~290k entities in 10 ms instead of 0.1 s)
        text = orjson.dumps(list(values)).decode("utf-8")
        return column.in_(select(func.json_each(bindparam(None, text)).table_valued("value").c.value))
    if name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return None
