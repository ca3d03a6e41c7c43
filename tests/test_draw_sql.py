"""On PostgreSQL the draw can run inside the database: identical certificates to the Python engine."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.engine import make_engine
from db.models import DrawFrame
from scheduler.draw import sql as draw_sql
from scheduler.draw import service as draws
from scheduler.plans.service import PlanInput, save_plan
from scheduler.verify import verify_package
from tests.conftest import _truncate_pg
from tests.factories import world

pytestmark = pytest.mark.postgres
SEED = "00000000001234567890"


def _draw(url, mode, monkeypatch, plan, period="2026-12"):
    monkeypatch.setenv("DSR_DRAW_ENGINE", mode)
    eng = make_engine(url)
    f = draws.freeze(eng, plan.code, period)
    d = draws.execute(eng, plan.code, period, seed=SEED)
    with Session(eng) as s:
        rows = s.execute(select(func.count()).select_from(DrawFrame).where(DrawFrame.draw_id == d.id)).scalar_one()
    cert = json.loads(d.certificate)
    eng.dispose()
    return f, cert, rows


@pytest.mark.parametrize("strata_by", ["risk", "risk+town"])
def test_sql_and_python_paths_give_identical_certificates(pg_url, monkeypatch, tmp_path, strata_by):
    plan = PlanInput(code="PG-SP", name="联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01", "GS-01"],
                     ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}, batches=3, strata_by=strata_by)
    results = []
    for mode in ("python", "sql"):
        _truncate_pg(pg_url)
        eng = make_engine(pg_url)
        world(eng, 3000)
        save_plan(eng, plan)
        eng.dispose()
        f, cert, frame_rows = _draw(pg_url, mode, monkeypatch, plan)
        assert (frame_rows > 0) == (mode == "sql"), "the SQL path keeps the frame as rows in the database"
        results.append((f, {k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")}))
    (fp, cp), (fs, cs) = results
    assert fp.frame_sha256 == fs.frame_sha256 and fp.strata == fs.strata
    assert cp == cs
    eng = make_engine(pg_url)
    with Session(eng) as s:
        d = draws.get_draw(s, "PG-SP", "2026-12")
    draws.write_packages(eng, d.id, tmp_path / "a", tmp_path / "p")
    eng.dispose()
    assert verify_package(tmp_path / "a").ok and verify_package(tmp_path / "p").ok


def test_a_bound_that_cuts_too_deep_falls_back_to_full_ranking(pg_url, monkeypatch):
    """Force the pre-filter bound to keep nobody: the exact fallback must still give the Python result."""
    plan = PlanInput(code="PG-GS", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                     ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"})
    certs = []
    for mode in ("python", "sql"):
        _truncate_pg(pg_url)
        eng = make_engine(pg_url)
        world(eng, 1200)
        save_plan(eng, plan)
        eng.dispose()
        if mode == "sql":
            monkeypatch.setattr(draw_sql, "_bound", lambda m, n: 1 if m else 0)
        _, cert, _ = _draw(pg_url, mode, monkeypatch, plan)
        certs.append({k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")})
    assert certs[0] == certs[1]


def test_sql_mode_is_refused_on_sqlite(sqlite_url, monkeypatch):
    monkeypatch.setenv("DSR_DRAW_ENGINE", "sql")
    eng = make_engine(sqlite_url)
    with Session(eng) as s, pytest.raises(RuntimeError, match="PostgreSQL"):
        draw_sql.enabled(s)
    eng.dispose()
