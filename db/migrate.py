"""Alembic, configured in code so an installed package can upgrade its database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema; safe to run on every start.

    Every command runs this first: a database already at the head is recognised without
    loading alembic (~0.1 s of a command's start-up), anything else goes through alembic."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def _file_heads() -> set[str] | None:
    """The head revisions of the migration scripts, read from their `revision` and
    `down_revision` lines (None if a script does not have that shape: alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision(?:\s*:[^=]*)?\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision(?:\s*:[^=]*)?\s*=\s*(.*)$", text, re.M)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return (revisions - parents) or None


def at_head(engine: Engine) -> bool:
    """Whether the database's alembic_version holds exactly the scripts' heads."""
    heads = _file_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            have = {v for (v,) in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except DBAPIError:  # no schema yet
        return False
    return have == heads


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
