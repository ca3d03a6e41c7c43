"""`dsr plans / draw / verify` as a user runs them (subprocess, real SQLite file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from db.engine import make_engine
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import world


def dsr(url, *args):
    env = {**os.environ, "DSR_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "scheduler", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def url(sqlite_url):
    eng = make_engine(sqlite_url)
    world(eng, 1000)
    save_approved(eng, PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01"],
                             ratios={"A": "0.1", "B": "0.2", "C": "0.5", "D": "1"}, batches=2))
    eng.dispose()
    return sqlite_url


def test_plans_json_lists_code_name_items_departments(url):
    r = dsr(url, "plans", "--json")
    assert r.returncode == 0, r.stderr
    (p,) = json.loads(r.stdout)
    assert p["code"] == "PG-SP" and p["name"] == "餐饮食品安全联合抽查"
    assert [i["code"] for i in p["items"]] == ["SP-01", "WS-01"]
    assert p["departments"] == ["区市场监管局", "区卫生健康委"]


def test_draw_package_verify_and_refusals(url, tmp_path):
    pkg = tmp_path / "pkg"
    r = dsr(url, "draw", "PG-SP", "--period", "2026-12", "--seed", "01234567890123456789", "--package", str(pkg))
    assert r.returncode == 0, r.stderr
    cert = json.loads((pkg / "certificate.json").read_text(encoding="utf-8"))
    assert cert["seed"] == "01234567890123456789" and cert["algorithm"] == "DSR-1"
    assert (pkg / "frame.csv").exists()
    assert dsr(url, "verify", str(pkg)).returncode == 0

    again = dsr(url, "draw", "PG-SP", "--period", "2026-12")
    assert again.returncode != 0 and "不得重复抽取" in again.stderr

    cert["selected"][0]["batch"] = cert["selected"][0]["batch"] % 2 + 1
    (pkg / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    bad = dsr(url, "verify", str(pkg))
    assert bad.returncode != 0 and "核验失败" in bad.stderr


def test_system_seed_and_public_package(url, tmp_path):
    r = dsr(url, "draw", "PG-SP", "--period", "2026-11", "--public-package", str(tmp_path / "pub"))
    assert r.returncode == 0, r.stderr
    cert = json.loads((tmp_path / "pub" / "certificate.json").read_text(encoding="utf-8"))
    assert cert["seed_source"] == "system" and len(cert["seed"]) == 32
    assert (tmp_path / "pub" / "public_frame.csv").exists() and not (tmp_path / "pub" / "frame.csv").exists()
    assert dsr(url, "verify", str(tmp_path / "pub")).returncode == 0


def test_bad_seed_and_unknown_plan_exit_non_zero(url):
    r = dsr(url, "draw", "PG-SP", "--period", "2026-12", "--seed", "12345")
    assert r.returncode != 0 and "种子" in r.stderr
    r = dsr(url, "draw", "NOPE", "--period", "2026-12")
    assert r.returncode != 0 and "不存在" in r.stderr
