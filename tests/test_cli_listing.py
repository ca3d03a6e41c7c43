"""The command line's listings: aligned with Chinese characters counted as two columns, within
the terminal's width, and each with --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from rich.cells import cell_len as wcswidth  # display width: a Chinese character is two cells

from db.engine import make_engine
from db.migrate import upgrade
from sqlmodel import Session

from scheduler.demo.service import ensure_pinggu
from scheduler.accounts.service import ensure_demo_users
from scheduler.calendar import service as cal


def _dsr(url: str, *args: str, columns: int = 100) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSR_DATABASE_URL": url, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


def test_calendar_show_is_aligned_within_the_terminal_and_has_json(sqlite_url):
    eng = make_engine(sqlite_url)
    upgrade(eng)
    cal.ensure_seeded(eng)
    eng.dispose()
    r = _dsr(sqlite_url, "calendar", "show", "2026", columns=72)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.strip().startswith("2026-")]
    assert len(rows) > 20
    assert all(wcswidth(line) <= 72 for line in r.stdout.splitlines())
    # Every column starts at the same display cell on every row (Chinese characters are two cells).
    bars = {tuple(wcswidth(line[:i]) for i, ch in enumerate(line) if ch == "│") for line in rows}
    assert len(bars) == 1 and len(next(iter(bars))) == 3, r.stdout
    data = json.loads(_dsr(sqlite_url, "calendar", "show", "2026", "--json").stdout)
    assert data["year"] == 2026 and any(d["name"] == "春节" for d in data["days"])


def test_user_list_has_json_and_beijing_times(sqlite_url):
    eng = make_engine(sqlite_url)
    upgrade(eng)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    ensure_demo_users(eng)  # no inspector in an empty roster: the others
    eng.dispose()
    r = _dsr(sqlite_url, "user", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = [u["username"] for u in json.loads(r.stdout)]
    assert "admin" in names and "admin2" in names
    r = _dsr(sqlite_url, "user", "list", columns=200)
    assert "UTC" not in r.stdout and "演示管理员（复核）" in r.stdout
