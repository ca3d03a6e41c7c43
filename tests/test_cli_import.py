"""`dsr import` / `dsr template` through the real command line: exit codes, messages, kill -9 atomicity."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from db.engine import make_engine
from scheduler.library import importing
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS
from scheduler.demo.service import ensure_pinggu
from tests.pause_points import Child, uncommitted_frames

DSR = [sys.executable, "-m", "scheduler"]


@pytest.fixture
def env(sqlite_url, tmp_path):
    eng = make_engine(sqlite_url)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    eng.dispose()
    e = dict(os.environ, DSR_DATABASE_URL=sqlite_url, COLUMNS="200")
    return e


def run(env, *args, cwd=None):
    return subprocess.run(DSR + list(args), env=env, capture_output=True, text=True, cwd=cwd, timeout=300)


def ent_rows(n: int, start: int = 0, prefix: str = "CL") -> list[list[str]]:
    out = []
    for i in range(start, start + n):
        code = uscc.make("9", "1", "110117", f"{prefix}{i:06d}")
        out.append([code, f"测试企业{i}", "企业", "F5211", "滨河街道", "", "2020-01-01", "存续", "C", ""])
    return out


def write_csv(path: Path, rows, header=None, encoding="utf-8") -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header or COLUMNS["enterprises"])
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def db_rows(url: str, table: str = "enterprise") -> int:
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_template_then_import_exit_zero(env, tmp_path, sqlite_url):
    r = run(env, "template", "enterprises", "--out", str(tmp_path / "t.xlsx"), "--format", "xlsx")
    assert r.returncode == 0, r.stderr
    r = run(env, "import", "enterprises", str(tmp_path / "t.xlsx"), "-q")
    assert r.returncode == 0, r.stderr
    assert "新增 1" in r.stdout and "XLSX" in r.stdout
    assert len(r.stdout.strip().splitlines()) == 1  # one-line summary
    r = run(env, "stats", "--json")
    assert r.returncode == 0 and '"enterprises": 1' in r.stdout


def test_bad_rows_exit_nonzero_and_print_every_error(env, tmp_path, sqlite_url):
    rows = ent_rows(3)
    rows[1][0] = rows[1][0][:17] + ("0" if rows[1][0][17] != "0" else "1")
    rows[2][6] = "2020-13-01"
    f = write_csv(tmp_path / "坏文件.csv", rows, encoding="gbk")
    r = run(env, "import", "enterprises", str(f), "-q")
    assert r.returncode == 1
    assert "文件 坏文件.csv 第 3 行 [统一社会信用代码] 值“" in r.stderr
    assert "文件 坏文件.csv 第 4 行 [成立日期] 值“2020-13-01”：" in r.stderr
    assert "GB18030" in r.stdout and "未导入任何数据" in r.stdout
    assert db_rows(sqlite_url) == 0

    rej = tmp_path / "rejects.csv"
    r = run(env, "import", "enterprises", str(f), "--partial", "--rejects", str(rej), "-q")
    assert r.returncode == 1
    assert db_rows(sqlite_url) == 1
    got = list(csv.DictReader(io.StringIO(rej.read_bytes().decode("utf-8-sig"))))
    assert [g["行号"] for g in got] == ["3", "4"]
    assert "校验码错误" in got[0]["错误"] and got[1]["成立日期"] == "2020-13-01"


def test_unknown_kind_and_bureau(env, tmp_path):
    f = write_csv(tmp_path / "e.csv", ent_rows(1))
    assert run(env, "import", "things", str(f)).returncode == 2
    r = run(env, "import", "enterprises", str(f), "--bureau", "000000", "-q")
    assert r.returncode == 2 and "000000" in r.stderr


def test_cli_runner_in_process(env, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from scheduler.cli.base import app

    monkeypatch.setenv("DSR_DATABASE_URL", env["DSR_DATABASE_URL"])
    f = write_csv(tmp_path / "e.csv", ent_rows(2), header=list(importing.FIELDS["enterprises"]))
    res = CliRunner().invoke(app, ["import", "enterprises", str(f), "--quiet"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["import", "enterprises", str(f), "--quiet"])
    assert res.exit_code == 0 and "未变 2" in res.output


@pytest.mark.slow
def test_kill_minus_9_mid_import_leaves_db_unchanged(env, tmp_path, sqlite_url):
    f0 = write_csv(tmp_path / "small.csv", ent_rows(10, prefix="KA"))
    assert run(env, "import", "enterprises", str(f0), "-q").returncode == 0
    before = (db_rows(sqlite_url), db_rows(sqlite_url, "importrun"), db_rows(sqlite_url, "auditevent"))
    big = write_csv(tmp_path / "big.csv", ent_rows(150_000, prefix="KB"))
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    # The rows stay in the page cache until the commit writes them out (~30 MB here): the child stops
    # itself (SIGSTOP) as soon as its COMMIT has written the first pages to the WAL, and the kill
    # lands there, in the middle of the commit (tests/pause_points.py).
    with Child(["import", "enterprises", str(big), "-q"], at=["import.mid_commit"], env=env) as p:
        p.wait_stopped("import.mid_commit", timeout=240)
        pending = uncommitted_frames(wal)
        assert pending >= 1, "the kill would not land in the middle of the commit"
        p.kill()
    after = (db_rows(sqlite_url), db_rows(sqlite_url, "importrun"), db_rows(sqlite_url, "auditevent"))
    assert after == before
    con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='enterprise'")}
    con.close()
    assert "ix_enterprise_name" in names
    print(f"\nkilled mid-commit: {pending} frame(s) of the import's commit in the WAL, no commit frame")


def test_library_export_then_reimport_unchanged(env, tmp_path):
    """`dsr library export` writes the list in the import columns; importing it again changes nothing."""
    r = run(env, "import", "enterprises", str(write_csv(tmp_path / "e.csv", ent_rows(25))), "-q")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.csv"
    r = run(env, "library", "export", "enterprises", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "已导出检查对象名录库 25 条" in r.stdout
    r = run(env, "import", "enterprises", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "未变 25" in r.stdout and "新增 0" in r.stdout and "更新 0" in r.stdout, r.stdout
    r = run(env, "library", "export", "enterprises", "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "导出格式应为 csv 或 xlsx" in r.stderr and not (tmp_path / "x.pdf").exists()
    r = run(env, "library", "export", "nothing")
    assert r.returncode == 2 and "未知的导入类型" in r.stderr
    r = run(env, "library", "export", "items", "--bureau", "999999")
    assert r.returncode == 2 and "不存在" in r.stderr
