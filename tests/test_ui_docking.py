"""平台对接 (ui/pages/docking.py) with AppTest on a demo with published results: the four counts,
making a batch, marking it sent, its states after a receipt, the rejected records; and 首页's counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.access.context import CLI
from scheduler.docking import receipts
from tests.docking_helpers import demo, published_ids, write_receipt
from tests.ui_steps import login as ui_login, open_page, rerun, table, use_copy

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uidocking") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    demo(eng)
    eng.dispose()
    return path


@pytest.fixture
def db(base_db, tmp_path, monkeypatch):
    eng = make_engine(use_copy(base_db, tmp_path, monkeypatch))
    yield eng
    eng.dispose()
    st.cache_resource.clear()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_docking_page_makes_a_batch_and_shows_its_states(db, tmp_path):
    n = len(published_ids(db))
    at = ui_login(AppTest.from_file(APP, default_timeout=90))
    assert not at.exception, at.exception
    assert _metrics(at)["待报送"] == f"{n:,}"  # 首页 shows the counts too
    open_page(at, "docking.py")
    assert at.title[0].value == "平台对接"
    assert _metrics(at)["待报送"] == f"{n:,}" and _metrics(at)["已接收"] == "0"
    out = tmp_path / "out"
    at.text_input(key="docking_out").set_value(str(out))
    at.button(key="docking_export").click()
    rerun(at)
    assert any("已生成批次 110117-GSXT-000001" in s.value for s in at.success), [s.value for s in at.success]
    assert _metrics(at)["已报送待回执"] == f"{n:,}"
    assert table(at, "批次编号")["状态"].tolist() == ["生成"]
    at.button(key="docking_sent").click()
    rerun(at)
    assert any("已标记为已报送" in s.value for s in at.success)
    assert table(at, "方向")["状态"].tolist() == ["已报送"]
    folder = out / "110117-GSXT-000001"
    first = {"n": 0}

    def reject_one(r):
        first["n"] += 1
        return "企业名称与登记不符" if first["n"] == 1 else None

    receipts.import_receipt(db, write_receipt(folder, tmp_path / "r.json", reject_one), CLI)
    rerun(at)
    m = _metrics(at)
    assert (m["已接收"], m["被拒收待修正"], m["待报送"]) == (f"{n - 1:,}", "1", "0")
    assert table(at, "拒收原因")["拒收原因"].tolist() == ["企业名称与登记不符"]
    assert table(at, "方向")["状态"].tolist() == ["已回执"]
