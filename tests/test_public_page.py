"""公示查询 (ui/pages/public.py), run on its own with AppTest on a real SQLite file, without any login."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.results import export as ex
from tests.test_export import EVIL_HTML, EVIL_PLAN, INTERNAL_NOTE, Published
from tests.ui_steps import finish_work, login
from ui import nav

PAGE = str(Path(__file__).resolve().parents[1] / "ui" / "pages" / "public.py")
APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("uipublic") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    w = Published(eng)
    eng.dispose()
    return path, w.published_usccs


@pytest.fixture
def page(base_db, tmp_path, monkeypatch):
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db[0].read_bytes())
    monkeypatch.setenv("DSR_DATABASE_URL", f"sqlite:///{p}")
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    yield at
    st.cache_resource.clear()


def _tables(at):
    return [d.value for d in at.dataframe]


def test_listed_in_nav_under_public():
    assert [(s, t) for s, script, t, _ in nav.PAGES if script == "public.py"] == [("公开", "公示查询")]


def test_public_page_without_login(page, base_db):
    at = page
    results = next(t for t in _tables(at) if "检查结果" in t.columns)
    assert list(results.columns) == list(ex.TABLES[ex.RESULTS])
    assert set(results["统一社会信用代码"]) == base_db[1] and len(results) == 4
    assert EVIL_HTML in set(results["企业名称"])
    assert not any(INTERNAL_NOTE in str(v) for t in _tables(at) for v in t.to_numpy().ravel())
    plans = next(t for t in _tables(at) if "计划编号" in t.columns and "计划名称" in t.columns)
    assert set(plans["计划编号"]) == {"PG-SP", EVIL_PLAN}
    items = next(t for t in _tables(at) if "事项编码" in t.columns)
    assert list(items.columns) == list(ex.TABLES[ex.ITEMS]) and len(items) == 4
    # Staff only: no export button for the public.
    assert not [b for b in at.button if b.key == "public_export_run"]
    assert at.button(key="public_next").disabled and at.button(key="public_prev").disabled


def test_search_by_uscc_and_name(page, base_db):
    at = page
    uscc = sorted(base_db[1])[0]
    at.text_input(key="public_q").input(uscc).run()
    assert not at.exception
    results = next(t for t in _tables(at) if "检查结果" in t.columns)
    assert set(results["统一社会信用代码"]) == {uscc}
    at.text_input(key="public_q").input("script").run()
    results = next(t for t in _tables(at) if "检查结果" in t.columns)
    assert list(results["企业名称"]) == [EVIL_HTML]
    at.text_input(key="public_q").input("没有这家企业").run()
    assert any("没有符合条件" in i.value for i in at.info)


def test_package_download_is_a_public_package(page, tmp_path):
    from scheduler.results import export_service as es
    from scheduler.verify import verify_package
    from ui import state

    at = page
    assert at.selectbox(key="public_pkg").options == ["../../evil（2026-11）", "PG-SP（2026-11）"]
    assert [e.proto.label for e in at.get("download_button")] == ["下载公开核验包"]
    draws = {d.plan_code: d for d in es.drawn_draws(state.engine())}
    name, data = es.package_zip(state.engine(), draws[EVIL_PLAN].draw_id)
    assert name == "evil_2026-11.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["evil_2026-11/audit-head.json", "evil_2026-11/certificate.json", "evil_2026-11/commitments.csv",
                                      "evil_2026-11/public_frame.csv"]
        z.extractall(tmp_path)
    assert verify_package(tmp_path / "evil_2026-11").ok
    with pytest.raises(es.ExportRefused):
        es.package_zip(state.engine(), 999)


def test_staff_get_the_export_zip(base_db, tmp_path, monkeypatch):
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db[0].read_bytes())
    monkeypatch.setenv("DSR_DATABASE_URL", f"sqlite:///{p}")
    st.cache_resource.clear()
    st.cache_data.clear()
    # Logged in through the app's form, then on 公示查询 (staff get the export button there).
    at = login(AppTest.from_file(APP, default_timeout=60), "导出员")
    at.switch_page("ui/pages/public.py").run()
    assert not at.exception, at.exception
    at.multiselect(key="public_export_formats").set_value(["csv", "html"])
    at.button(key="public_export_run").click().run()
    assert not at.exception, at.exception
    at = finish_work(at)  # the export runs in a server thread (ui/jobs.py)
    assert [b.key for b in at.get("download_button") if b.key == "public_export_dl"]
    from ui import jobs

    data = jobs.latest("导出员", "export:public:").result
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        assert {"dsr-public/results.csv", "dsr-public/index.html", "dsr-public/data.js"} <= names
        assert "dsr-public/public.xlsx" not in names
        assert any(n.startswith("dsr-public/packages/evil_2026-11/") for n in names)
        assert EVIL_HTML.encode() in z.read("dsr-public/results.csv")
    st.cache_resource.clear()
