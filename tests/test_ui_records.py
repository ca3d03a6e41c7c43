"""Editing one record on the 两库一单 pages (AppTest on a real SQLite file): pick a row,
change it in the form, see it saved; a bad value shows the importer's Chinese error
and changes nothing; a read-only role gets no form."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tests.ui_steps import login as ui_login

from db.engine import make_engine
from scheduler.library import records
from scheduler.accounts import service as users
from test_browse import code_for, seed_library
from ui import auth, nav

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def url(sqlite_url, monkeypatch):
    eng = make_engine(sqlite_url)
    seed_library(eng)
    eng.dispose()
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    yield sqlite_url
    st.cache_resource.clear()


def _open(script: str, user: str = "ui", password: str = "ui-test-Passw0rd") -> AppTest:
    at = ui_login(AppTest.from_file(APP, default_timeout=60), user, password, create=user == "ui")
    assert not at.exception, at.exception
    at.switch_page(nav.page_path(script)).run()
    assert not at.exception, at.exception
    return at


def _input(at: AppTest, label: str):
    """The form's field (the last widget with that label: the filters above may share it)."""
    return [w for w in [*at.text_input, *at.text_area] if w.label == label][-1]


def _select(at: AppTest, label: str):
    return [w for w in at.selectbox if w.label == label][-1]


def _submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def _record(url: str, kind: str, key):
    eng = make_engine(url)
    try:
        return records.get_record(eng, kind, key)
    finally:
        eng.dispose()


def test_edit_an_enterprise_and_see_it_saved(url):
    code = code_for(42)
    at = _open("registry.py")
    at.text_input(key="registry_q").input(code).run()
    at.selectbox(key="registry_edit_pick").select(code).run()
    assert _input(at, "企业名称").value == "平谷第42号商贸有限公司"
    assert _select(at, "信用风险分类").value == "C"
    _input(at, "企业名称").input("平谷第42号商贸有限公司（更名）")
    _select(at, "信用风险分类").select("D")
    _submit(at, "保存修改")
    assert not at.error
    msg = at.success[0].value
    assert msg.startswith(f"已保存检查对象 {code}") and "企业名称" in msg and "“C”→“D”" in msg
    # The listing shows the saved value, and the form starts from it.
    df = at.dataframe[0].value
    assert list(df["企业名称"]) == ["平谷第42号商贸有限公司(更名)"] and list(df["信用风险分类"]) == ["D（高风险）"]
    assert _input(at, "企业名称").value == "平谷第42号商贸有限公司(更名)"
    rec = _record(url, "enterprises", code)
    assert rec["name"] == "平谷第42号商贸有限公司(更名)" and rec["risk_class"] == "D"
    assert any("修改记录（1）" in e.label for e in at.expander)


def test_a_bad_value_shows_the_chinese_error_and_saves_nothing(url):
    code = code_for(43)
    at = _open("registry.py")
    at.text_input(key="registry_q").input(code).run()
    at.selectbox(key="registry_edit_pick").select(code).run()
    _input(at, "成立日期").input("2021-02-30")
    _input(at, "行业代码").input("52")
    _submit(at, "保存修改")
    assert not at.success
    err = at.error[0].value
    assert err.startswith("未保存：") and "行业代码：行业代码应为 GB/T 4754 代码" in err and "成立日期：日期无效" in err
    assert _record(url, "enterprises", code)["industry_code"] == "F5212"
    # The typed values stay in the form to be corrected.
    assert _input(at, "成立日期").value == "2021-02-30"


def test_add_an_enterprise_with_a_wrong_check_character(url):
    good = code_for(7000)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    at = _open("registry.py")
    assert at.selectbox(key="registry_edit_pick").value == "__new__"
    _input(at, "统一社会信用代码").input(bad)
    _input(at, "企业名称").input("页面新增有限公司")
    _input(at, "行业代码").input("F5211")
    _submit(at, "新增")
    assert "统一社会信用代码：" in at.error[0].value and "校验码" in at.error[0].value
    assert _record(url, "enterprises", good) is None
    _input(at, "统一社会信用代码").input(good)
    _submit(at, "新增")
    assert not at.error and at.success[0].value == f"已新增检查对象 {good}"
    assert _record(url, "enterprises", good)["name"] == "页面新增有限公司"


def test_deactivate_an_inspector(url):
    at = _open("roster.py")
    at.selectbox(key="roster_edit_pick").select("P0002").run()
    assert _select(at, "所属部门").value == "区市场监管局"
    _select(at, "在岗").select("否")
    _submit(at, "保存修改")
    assert "在岗：“是”→“否”" in at.success[0].value
    assert _record(url, "inspectors", "P0002")["active"] is False
    # A 执法证号 already held by another inspector is refused.
    at.selectbox(key="roster_edit_pick").select("P0004").run()
    _input(at, "执法证号").input("ZF000003")
    _submit(at, "保存修改")
    assert "执法证号：已属于人员编号 P0003" in at.error[0].value


def test_items_experts_and_conflicts(url):
    at = _open("items.py")
    at.selectbox(key="items_edit_pick").select("SC-002").run()
    assert _input(at, "抽查比例上限").value == "3%"
    _input(at, "抽查比例上限").input("")
    _submit(at, "保存修改")
    assert "抽查比例上限：一般检查事项必须填写抽查比例上限" in at.error[0].value
    _input(at, "抽查比例上限").input("4%")
    _submit(at, "保存修改")
    assert "“0.03”→“0.04”" in at.success[0].value
    assert at.dataframe[0].value.set_index("事项编码").loc["SC-002", "抽查比例上限"] == "4%"

    at = _open("experts.py")
    at.selectbox(key="experts_edit_pick").select("E001").run()
    _input(at, "所在单位").input("北京市特种设备检测中心")
    _submit(at, "保存修改")
    assert _record(url, "experts", "E001")["organisation"] == "北京市特种设备检测中心"

    at = _open("conflicts.py")
    _input(at, "人员编号").input("P0003")
    _input(at, "统一社会信用代码").input(code_for(9))
    _select(at, "回避原因").select("持股")
    _submit(at, "新增")
    assert not at.error, at.error
    assert len(at.dataframe[0].value) == 3
    assert _record(url, "conflicts", ("P0003", code_for(9)))["reason"] == "持股"


def test_read_only_roles_get_no_form(url, monkeypatch):
    eng = make_engine(url)
    users.add_user(eng, "audit1", "auditor", "correct-horse-1")
    eng.dispose()
    at = _open("registry.py", "audit1", "correct-horse-1")
    assert any("只读" in c.value for c in at.caption)
    assert not at.get("form") and not [b for b in at.button if b.label in ("保存修改", "新增")]
