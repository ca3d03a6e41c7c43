"""The command line shows a refusal (a DsrError) as `错误：<message>` on stderr with exit status 2,
never a traceback: one handler in scheduler/cli/base.py for every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.errors import DsrError


def dsr(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSR_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (("draw", "NOPE", "--period", "2026-12"), "错误：抽查计划“NOPE”不存在"),
    (("void", "NOPE", "--period", "2026-12", "--reason", "录入错误需重抽"), "错误：抽查计划“NOPE”不存在"),
    (("deadline", "2099-03-02"), "错误：2099 年的节假日安排尚未录入并确认，无法计算工作日"),
    (("user", "disable", "nobody"), "错误：用户“nobody”不存在"),
    (("visits", "window", "weekly"), "错误：协调周期"),
    (("calendar", "confirm", "2099", "--as", "李管理"), "错误：账号“李管理”不存在或已停用"),
])
def test_a_refusal_prints_the_chinese_message_and_exits_2(sqlite_url, args, message):
    r = dsr(sqlite_url, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(message), r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_verify_of_a_missing_folder_says_why_without_a_traceback(sqlite_url, tmp_path):
    r = dsr(sqlite_url, "verify", str(tmp_path / "no-such-package"))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    assert re.search(r"[\u4e00-\u9fff]", r.stderr), r.stderr  # a Chinese reason


class _Refused(DsrError):
    code = "test.refused"


def test_any_command_gets_the_handler_and_other_exceptions_stay_bugs(sqlite_url, monkeypatch):
    """In-process: whatever a command raises that is a DsrError becomes `错误：…` (markup-safe:
    brackets in user data print as they are); anything else propagates with its traceback."""
    from scheduler.library import service as library

    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    runner = CliRunner()

    def refuse(engine):
        raise _Refused("文件 a.csv 第 3 行 [统一社会信用代码] 不能为空")

    monkeypatch.setattr(library, "library_counts", refuse)
    res = runner.invoke(app, ["stats"])
    assert res.exit_code == 2
    assert res.stderr == "错误：文件 a.csv 第 3 行 [统一社会信用代码] 不能为空\n"

    def crash(engine):
        raise KeyError("bug")

    monkeypatch.setattr(library, "library_counts", crash)
    res = runner.invoke(app, ["stats"])
    assert isinstance(res.exception, KeyError)


def test_matching_inputs_the_engine_refuses_are_a_refusal_not_a_traceback(sqlite_url):
    """A plan saved with a workload cap the matching cannot count to: `dsr draw` refuses it in words."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.plans.service import PlanInput
    from tests.factories import save_approved
    from tests.factories import world

    eng = make_engine(sqlite_url)
    upgrade(eng)
    world(eng, 300)
    save_approved(eng, PlanInput(code="PG-CAP", name="工作量上限过大", lead_department="SCJGJ", item_codes=["SP-01"],
                             ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}, workload_cap=40000))
    eng.dispose()
    r = dsr(sqlite_url, "draw", "PG-CAP", "--period", "2026-12", "--seed", "31415926535897932384626433")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("错误：每期工作量上限过大（不得超过 32767）"), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
