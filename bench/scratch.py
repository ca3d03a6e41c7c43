"""What the benchmarks share: a throw-away database to build and time on, and the printed table."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

PG_ADMIN = os.environ.get("DSR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(backend: str, prefix: str = "dsr-bench-") -> Iterator[str]:
    """The URL of an empty database, removed afterwards: a SQLite file in a temporary folder, or a
    new PostgreSQL database on the test server (dropped even if connections are left open)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        if backend == "sqlite":
            yield f"sqlite:///{tmp}/bench.db"
            return
        from sqlalchemy import create_engine, text

        name = f"dsr_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def print_table(rows: Sequence[Sequence[str]], head: Sequence[str]) -> None:
    """Text columns: the first left-aligned, the figures right-aligned."""
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
