"""The migrations create exactly the models' schema, on both back-ends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from db.migrate import current_revision, upgrade
from db.models import alembic_include_object


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": alembic_include_object}), SQLModel.metadata
        )
    assert diff == []


def test_upgrade_is_idempotent(engine):
    upgrade(engine)
    assert current_revision(engine) == "0001"


def test_sqlite_pragmas(sqlite_engine):
    with sqlite_engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
