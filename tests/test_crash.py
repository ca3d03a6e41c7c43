"""kill -9 in the middle of a draw and of an export (real subprocesses, a real SQLite file).

Afterwards the database is consistent (integrity check, no drawn draw without
tasks, no tasks of a draw that is not drawn, audit chain intact), no half-written
export folder is visible, and running the command again completes the work.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.audit import service as auditlog
from tests.factories import save_approved
from tests.factories import world
from tests.pause_points import POINTS, Child
from tests.test_backup import GS

ROOT = Path(__file__).resolve().parents[1]
N = 150_000
SEED = "31415926535897932384626433"
DRAW_ARGS = ["draw", "PG-GS", "--period", "2026-12", "--seed", SEED]
DRAW = [sys.executable, "-m", "scheduler", *DRAW_ARGS]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One big world, copied for every scenario (building it is the slow part)."""
    p = tmp_path_factory.mktemp("crash") / "world.db"
    eng = make_engine(f"sqlite:///{p}")
    upgrade(eng)
    world(eng, N)
    save_approved(eng, GS)
    with eng.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return p


def fresh(template: Path, tmp_path: Path, name: str = "dsr.db") -> Path:
    p = tmp_path / name
    shutil.copyfile(template, p)
    return p


def env_for(db: Path) -> dict:
    e = dict(os.environ)
    e["DSR_DATABASE_URL"] = f"sqlite:///{db}"
    e["PYTHONPATH"] = str(ROOT)
    return e


def draw_state(db: Path) -> str:
    con = sqlite3.connect(db, timeout=30)
    try:
        row = con.execute("SELECT status FROM draw WHERE period='2026-12'").fetchone()
    finally:
        con.close()
    return row[0] if row else "none"


def assert_consistent(db: Path) -> None:
    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM draw d WHERE d.status='drawn' AND NOT EXISTS "
                           "(SELECT 1 FROM task t WHERE t.draw_id=d.id)").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM task t JOIN draw d ON d.id=t.draw_id WHERE d.status<>'drawn'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM draw d WHERE d.status='drawn' AND NOT EXISTS (SELECT 1 FROM auditevent a "
                           "WHERE a.action='draw.execute' AND a.object='draw:' || d.id)").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM draw d WHERE NOT EXISTS "
                           "(SELECT 1 FROM drawarchive a WHERE a.draw_id=d.id)").fetchone()[0] == 0
    finally:
        con.close()
    eng = make_engine(f"sqlite:///{db}")
    try:
        assert auditlog.verify(eng).ok
    finally:
        eng.dispose()


def rerun_draw(db: Path, state: str) -> None:
    r = subprocess.run(DRAW, cwd=ROOT, env=env_for(db), capture_output=True, text=True, timeout=300, check=False)
    if state == "drawn":  # the killed run had committed: the work is done, a second draw is refused
        assert r.returncode != 0 and "不得重复抽取" in r.stdout + r.stderr
    else:
        assert r.returncode == 0, r.stdout + r.stderr
    assert draw_state(db) == "drawn"
    assert_consistent(db)


# Each kill point of a draw, and the state the database must be left in. The child stops there and
# says so (tests/pause_points.py): the kill lands exactly at the point, every time.
DRAW_POINTS = [
    ("freeze.before_commit", "none"),   # the freeze's transaction written, not committed
    ("freeze.committed", "frozen"),     # between the two transactions
    ("draw.tasks_written", "frozen"),   # in the draw's transaction: the draw row claimed, tasks stored
    ("draw.before_commit", "frozen"),   # the whole draw written (teams, visits, certificate, audit), not committed
    ("draw.committed", "drawn"),        # committed: a rerun is refused
]


def test_kill_9_mid_draw(template, tmp_path):
    seen = {}
    for point, state in DRAW_POINTS:
        db = fresh(template, tmp_path, f"k-{point}.db")
        with Child(DRAW_ARGS, at=[point], env=env_for(db)) as p:
            p.wait_paused(point, timeout=240)
            p.kill()
        seen[point] = draw_state(db)
        assert seen[point] == state, f"kill at {point} ({POINTS[point]}) left the draw {seen[point]!r}, not {state!r}"
        assert_consistent(db)
        rerun_draw(db, state)
    print(f"\nstate after kill -9 at each point of a draw on {N:,} entities: {seen}")


def visible(d: Path) -> set[str]:
    return {p.name for p in d.iterdir() if not p.name.startswith(".")}


def test_kill_9_mid_export(template, tmp_path):
    db = fresh(template, tmp_path)
    assert subprocess.run(DRAW, cwd=ROOT, env=env_for(db), capture_output=True, timeout=300, check=False).returncode == 0
    parent = tmp_path / "pub"
    parent.mkdir()
    out = parent / "export"
    args = ["export", "--out", str(out)]
    cmd = [sys.executable, "-m", "scheduler", *args]
    points = []

    def kill_at(point: str) -> None:
        earlier = set(parent.glob(".export.tmp-*"))  # hidden folders of the exports killed before
        with Child(args, at=[point], env=env_for(db)) as p:
            p.wait_paused(point, timeout=120)
            [tmp] = set(parent.glob(".export.tmp-*")) - earlier  # the kill lands while it writes its hidden folder
            names = {f.name for f in tmp.iterdir()}
            if point == "export.file_written":
                assert "manifest.json" not in names and any(n.endswith(".csv") for n in names), names
            else:
                assert "manifest.json" in names, names
            p.kill()
        points.append(point)

    # 1. No previous export, killed while it writes its files: nothing named `export` may appear.
    kill_at("export.file_written")
    assert visible(parent) == set()
    assert_consistent(db)
    r = subprocess.run(cmd, cwd=ROOT, env=env_for(db), capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "manifest.json").is_file()
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    manifest = (out / "manifest.json").read_bytes()
    # 2. A previous export exists, killed with the new folder complete just before the swap: the
    # previous export is whole and unchanged.
    kill_at("export.before_rename")
    assert visible(parent) == {"export"}
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == files
    assert (out / "manifest.json").read_bytes() == manifest
    r = subprocess.run(cmd, cwd=ROOT, env=env_for(db), capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == files
    assert_consistent(db)
    print(f"\nexport kill points: {points}")
    assert len(points) == 2
