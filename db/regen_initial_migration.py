"""Regenerate migration 0001 from the models (only until the first release).

Usage: python -m db.regen_initial_migration
"""

import tempfile
from pathlib import Path

from alembic import command

from db.engine import make_engine
from db.migrate import MIGRATIONS, alembic_config

if __name__ == "__main__":
    for f in (MIGRATIONS / "versions").glob("0001_*.py"):
        f.unlink()
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'regen.db'}")
        command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
    for f in (MIGRATIONS / "versions").glob("0001_*.py"):
        src = f.read_text()
        f.rename(f.with_name("0001_initial_schema.py"))
    print("regenerated 0001_initial_schema.py")
