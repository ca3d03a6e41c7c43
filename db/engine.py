"""Engine construction from DSR_DATABASE_URL (default: SQLite file dsr.db)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from sqlmodel import Session

DEFAULT_URL = "sqlite:///dsr.db"


def database_url() -> str:
    return os.environ.get("DSR_DATABASE_URL", DEFAULT_URL)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None) -> Engine:
    """A new engine; SQLite gets WAL, foreign keys, a busy timeout."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """Process-wide engine per URL (the app and CLI share one).

    The URL is resolved before the cache is consulted, so a changed
    DSR_DATABASE_URL gets its own engine."""
    return _engine_for(url or database_url())


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def session(engine: Engine | None = None) -> Session:
    from sqlmodel import Session  # not at the top: the listings run on an engine alone, without SQLModel

    return Session(engine or get_engine())
