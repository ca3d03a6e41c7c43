"""Shared fixtures: a real SQLite file and a real PostgreSQL server.

`engine` is parametrised over both back-ends. PostgreSQL is never skipped:
if the server on DSR_TEST_PG (default 127.0.0.1:5432, user postgres) is not
reachable, the PostgreSQL tests fail.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401
from db.engine import make_engine
from db.migrate import upgrade

PG_ADMIN = os.environ.get("DSR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"dsr_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    eng = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with eng.begin() as c:
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'dsr.db'}"
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """URL of an empty, migrated database of each kind."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url):
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pinggu(engine):
    """The demo bureau's skeleton (towns, departments) in `engine`."""
    from scheduler.demo.service import ensure_pinggu

    with Session(engine) as s:
        b = ensure_pinggu(s)
        s.commit()
        return b.id
