"""`dsr visits …` as a user runs them (subprocess, real SQLite file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from db.engine import make_engine
from scheduler.draw import service as draws
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import world

RATIOS = {"A": "0.3", "B": "0.3", "C": "0.5", "D": "1"}


def dsr(url, *args):
    env = {**os.environ, "DSR_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def url(sqlite_url):
    eng = make_engine(sqlite_url)
    world(eng, 1200)
    save_approved(eng, PlanInput(code="PG-SP", name="食品经营许可抽查", lead_department="SCJGJ", item_codes=["SP-01"], ratios=RATIOS))
    save_approved(eng, PlanInput(code="PG-WS", name="餐饮场所卫生抽查", lead_department="WJW", item_codes=["WS-01"], ratios=RATIOS))
    draws.execute(eng, "PG-SP", "2026-10", seed="31415926535897932384626433")
    draws.execute(eng, "PG-WS", "2026-11", seed="27182818284590452353602874")
    eng.dispose()
    return sqlite_url


def test_list_separate_window_refresh(url):
    r = dsr(url, "visits", "window")
    assert r.returncode == 0 and "month（按月）" in r.stdout
    r = dsr(url, "visits", "list", "2026-10", "--json")
    assert r.returncode == 0, r.stderr
    oct_ = json.loads(r.stdout)
    assert oct_["window"] == "2026-10" and oct_["visits"] and all(v["plans"] == ["PG-SP"] for v in oct_["visits"])

    r = dsr(url, "visits", "separate", "2026-Q4", "--json")
    assert r.returncode == 0, r.stderr
    sep = json.loads(r.stdout)
    assert sep["entities"] > 0 and sep["by_reason"]["different_windows"] == sep["entities"] == len(sep["rows"])
    assert sep["rows"][0]["reason_label"] == "任务不在同一协调周期内"

    r = dsr(url, "visits", "window", "quarter")
    assert r.returncode == 0, r.stderr
    assert "协调周期已设为 quarter（按季度）" in r.stdout and "2026-Q4" in r.stdout
    r = dsr(url, "visits", "list", "2026-11", "--merged", "--json")  # a period names its window
    q4 = json.loads(r.stdout)
    assert q4["window"] == "2026-Q4" and len(q4["visits"]) == sep["entities"]
    assert all(v["plans"] == ["PG-SP", "PG-WS"] and len(v["departments"]) == 2 for v in q4["visits"])
    r = dsr(url, "visits", "separate", "2026-Q4")
    assert r.returncode == 0 and "0 户仍被多次入户" in r.stdout

    r = dsr(url, "visits", "refresh", "2026-Q4")
    assert r.returncode == 0 and "新建 0，删除 0，调整任务 0" in r.stdout
    r = dsr(url, "visits", "refresh", "--all")
    assert r.returncode == 0 and "协调周期 2026-Q4" in r.stdout
    r = dsr(url, "visits", "list", "2026-Q4")
    assert r.returncode == 0 and "减少入户" in r.stdout and "检查组" in r.stdout


def test_refusals_exit_2_in_chinese(url):
    for args, text in ((("visits", "window", "week"), "协调周期应为"),
                       (("visits", "separate", "2026-13"), "格式无效"),
                       (("visits", "list", "2026-13"), "格式无效"),
                       (("visits", "refresh"), "请给出抽查期间"),
                       (("visits", "date", "999999", "2026-10-01"), "不存在"),
                       (("visits", "date", "1", "2026/10/01"), "YYYY-MM-DD"),
                       (("visits", "mergeable", "PG-NONE", "no"), "不存在")):
        r = dsr(url, *args)
        assert r.returncode == 2 and text in r.stderr, (args, r.stdout, r.stderr)


def test_date_and_mergeable(url):
    visits = json.loads(dsr(url, "visits", "list", "2026-10", "--json").stdout)["visits"]
    vid = visits[0]["id"]
    r = dsr(url, "visits", "date", str(vid), "2026-10-15")
    assert r.returncode == 0 and "2026-10-15" in r.stdout
    r = dsr(url, "visits", "date", str(vid), "2026-11-15")
    assert r.returncode == 2 and "不在协调周期" in r.stderr
    r = dsr(url, "visits", "mergeable", "PG-WS", "no")
    assert r.returncode == 0 and "不可合并" in r.stdout
    dsr(url, "visits", "window", "quarter")
    sep = json.loads(dsr(url, "visits", "separate", "2026", "--json").stdout)
    assert sep["entities"] > 0 and sep["by_reason"] == {"not_mergeable": sep["entities"], "different_windows": 0}
