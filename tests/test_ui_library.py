"""The Streamlit app shell and the 两库一单 pages, driven with AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import CheckItem
from scheduler.demo import pinggu as reference
from scheduler.library import browse
from test_browse import code_for, seed_library
from ui import nav
from tests.ui_steps import finish_work, open_page as _open

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 60


def _app_for(url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("DSR_DATABASE_URL", url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    from tests.ui_steps import login

    return login(AppTest.from_file(APP, default_timeout=TIMEOUT))


@pytest.fixture
def seeded_url(sqlite_url):
    eng = make_engine(sqlite_url)
    seed_library(eng)
    eng.dispose()
    return sqlite_url


@pytest.fixture
def app(seeded_url, monkeypatch):
    at = _app_for(seeded_url, monkeypatch).run()
    assert not at.exception
    yield at
    st.cache_resource.clear()


def _caption_total(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("共 "))


def test_every_page_is_a_file_and_listed_once():
    scripts = [p[1] for p in nav.PAGES]
    assert len(scripts) == len(set(scripts))
    for s in scripts:
        assert (ROOT / nav.page_path(s)).is_file(), s
    assert list(nav.sections()) == ["首页", "两库一单", "数据导入", "抽查实施", "检查结果", "设置", "公开"]


def test_empty_database_starts(sqlite_url, monkeypatch):
    at = _app_for(sqlite_url, monkeypatch).run()
    assert not at.exception
    assert any("尚未初始化" in m.value for m in at.markdown)
    for script in ("registry.py", "roster.py", "imports.py"):
        _open(at, script)
    assert any("dsr init" in i.value for i in at.info)
    st.cache_resource.clear()


def test_home_shows_bureau_and_counts(app):
    assert app.subheader[0].value == reference.BUREAU_NAME
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["检查对象"] == "120"
    assert metrics["执法检查人员"] == "30"
    assert metrics["抽查事项"] == "3"
    assert metrics["回避申报"] == "2"
    depts = next(d.value for d in app.dataframe if list(d.value.columns)[:1] == ["部门代码"])
    assert len(depts) == len(reference.DEPARTMENTS)
    assert list(depts.columns) == ["部门代码", "部门名称", "执法检查人员", "在岗人员", "抽查事项"]


def test_registry_page_headers_search_and_pages(app):
    at = _open(app, "registry.py")
    df = at.dataframe[0].value
    assert list(df.columns) == [
        "统一社会信用代码", "企业名称", "主体类型", "行业代码", "所属乡镇街道",
        "住所", "成立日期", "登记状态", "信用风险分类", "许可标签",
    ]
    assert len(df) == 50
    assert _caption_total(at) == "共 120 条，第 1/3 页（第 1–50 条）"
    assert df.iloc[0]["所属乡镇街道"] == "滨河街道"
    assert df.iloc[0]["信用风险分类"] == "A（低风险）"

    at.number_input(key="registry_page").set_value(3).run()
    df3 = at.dataframe[0].value
    assert len(df3) == 20 and _caption_total(at) == "共 120 条，第 3/3 页（第 101–120 条）"
    assert not set(df3["统一社会信用代码"]) & set(df["统一社会信用代码"])

    # A new search goes back to page 1 and narrows the result.
    at.text_input(key="registry_q").input("第11").run()
    df = at.dataframe[0].value
    assert sorted(df["企业名称"]) == ["平谷第110号商贸有限公司", "平谷第111号商贸有限公司",
                                  "平谷第112号商贸有限公司", "平谷第113号商贸有限公司",
                                  "平谷第114号商贸有限公司", "平谷第115号商贸有限公司",
                                  "平谷第116号商贸有限公司", "平谷第117号商贸有限公司",
                                  "平谷第118号商贸有限公司", "平谷第119号商贸有限公司",
                                  "平谷第11号商贸有限公司"]
    assert at.number_input(key="registry_page").value == 1

    at.text_input(key="registry_q").input(code_for(42)).run()
    assert list(at.dataframe[0].value["统一社会信用代码"]) == [code_for(42)]

    at.text_input(key="registry_q").input("%").run()
    assert list(at.dataframe[0].value["企业名称"]) == ["百分之百%商贸有限公司"]

    at.text_input(key="registry_q").input("没有这家企业").run()
    assert not at.dataframe
    assert any("没有符合条件" in i.value for i in at.info)


def test_registry_filters_and_page_size(app):
    at = _open(app, "registry.py")
    at.selectbox(key="registry_town").select("110117002").run()
    assert _caption_total(at).startswith("共 30 条")
    assert set(at.dataframe[0].value["所属乡镇街道"]) == {"兴谷街道"}
    at.selectbox(key="registry_risk").select("D").run()
    assert not at.dataframe  # town 2 holds only class B in the seed
    at.selectbox(key="registry_risk").select("B").run()
    assert set(at.dataframe[0].value["信用风险分类"]) == {"B（一般风险）"}
    at.selectbox(key="registry_town").select(None).run()
    at.selectbox(key="registry_risk").select(None).run()
    at.text_input(key="registry_industry").input("f52").run()
    assert _caption_total(at).startswith("共 60 条")
    at.text_input(key="registry_industry").input("C13").run()
    at.selectbox(key="registry_status").select("注销").run()
    at.selectbox(key="registry_type").select("企业").run()
    df = at.dataframe[0].value
    assert list(df["统一社会信用代码"]) == sorted(code_for(i) for i in (0, 30, 60, 90))
    assert set(df["登记状态"]) == {"注销"} and set(df["主体类型"]) == {"企业"}
    assert set(df["行业代码"]) == {"C1391"}

    at.text_input(key="registry_industry").input("").run()
    at.selectbox(key="registry_status").select(None).run()
    at.selectbox(key="registry_type").select(None).run()
    at.selectbox(key="registry_size").select(20).run()
    assert len(at.dataframe[0].value) == 20
    assert _caption_total(at) == "共 120 条，第 1/6 页（第 1–20 条）"


def test_roster_page(app, seeded_url):
    at = _open(app, "roster.py")
    df = at.dataframe[0].value
    assert list(df.columns) == ["人员编号", "姓名", "所属部门", "执法证号", "执法证有效期至", "执法资格", "负责区域", "状态"]
    assert len(df) == 30
    assert set(df["状态"]) == {"在岗", "停用"}
    assert "特种设备、食品" in set(df["执法资格"])
    assert "区农业农村局" in at.selectbox(key="roster_dept").options
    eng = make_engine(seeded_url)
    nyncj = next(i for i, name in browse.departments(eng) if name == "区农业农村局")
    eng.dispose()
    at.selectbox(key="roster_dept").select(nyncj).run()
    df = at.dataframe[0].value
    assert len(df) == 10 and set(df["所属部门"]) == {"区农业农村局"}
    at.selectbox(key="roster_dept").select(None).run()
    at.selectbox(key="roster_active").select(False).run()
    df = at.dataframe[0].value
    assert set(df["状态"]) == {"停用"} and len(df) == 5
    at.selectbox(key="roster_active").select(None).run()
    at.text_input(key="roster_q").input("ZF000012").run()
    assert list(at.dataframe[0].value["姓名"]) == ["检查员12"]


def test_items_page_kind_and_ratio(app):
    at = _open(app, "items.py")
    df = at.dataframe[0].value
    assert len(df) == 3
    by_code = df.set_index("事项编码")
    assert by_code.loc["SC-001", "事项类别"] == "重点"
    assert by_code.loc["SC-001", "抽查比例下限"] == "5%"
    assert by_code.loc["SC-002", "事项类别"] == "一般"
    assert by_code.loc["SC-002", "抽查比例上限"] == "3%"
    assert by_code.loc["NY-001", "抽查比例上限"] == "10%"
    assert by_code.loc["NY-001", "检查主体"] == "区农业农村局"
    at.selectbox(key="items_kind").select("key").run()
    assert list(at.dataframe[0].value["事项编码"]) == ["SC-001"]
    at.selectbox(key="items_kind").select(None).run()
    at.text_input(key="items_q").input("公示").run()
    assert list(at.dataframe[0].value["事项编码"]) == ["SC-002"]


def test_experts_and_conflicts_pages(app):
    at = _open(app, "experts.py")
    assert len(at.dataframe[0].value) == 6
    at.selectbox(key="experts_field").select("特种设备").run()
    assert set(at.dataframe[0].value["专业领域"]) == {"特种设备"}

    at = _open(app, "conflicts.py")
    df = at.dataframe[0].value
    assert len(df) == 2
    assert set(df["企业名称"]) == {"平谷第5号商贸有限公司", "平谷第6号商贸有限公司"}
    at.text_input(key="conflicts_q").input(code_for(6)).run()
    df = at.dataframe[0].value
    assert list(df["回避事由"]) == ["曾任职"] and list(df["申报方式"]) == ["管理员录入"]


def test_registry_page_on_both_backends(db_url, monkeypatch):
    eng = make_engine(db_url)
    seed_library(eng, n_enterprises=60)
    eng.dispose()
    at = _app_for(db_url, monkeypatch).run()
    at = _open(at, "registry.py")
    assert _caption_total(at) == "共 60 条，第 1/2 页（第 1–50 条）"
    at.text_input(key="registry_q").input("_").run()
    assert list(at.dataframe[0].value["企业名称"]) == ["下划线_科技有限公司"]
    st.cache_resource.clear()


# --- import page ----------------------------------------------------------------------------


def test_import_page_offers_templates(app):
    at = _open(app, "imports.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载 CSV 模板", "下载 XLSX 模板"]
    assert at.selectbox(key="import_kind").value == "enterprises"
    at.selectbox(key="import_kind").select("items").run()
    assert not at.exception
    cols = at.dataframe[0].value
    assert "检查依据" in set(cols["列名"])


HEADER = "统一社会信用代码,企业名称,主体类型,行业代码,所属乡镇街道,住所,成立日期,登记状态,信用风险分类,许可标签\n"


def _enterprise_csv(codes: list[str], encoding: str = "utf-8") -> bytes:
    lines = [f"{c},平谷导入测试{i}有限公司,企业,F5212,兴谷街道,平谷区导入路{i}号,2020-01-0{1 + i % 9},存续,C,"
             for i, c in enumerate(codes)]
    return (HEADER + "\n".join(lines) + "\n").encode(encoding)


def _df(at: AppTest, column: str):
    """The first table on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="import_file_enterprises").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def test_import_page_refuses_a_header_only_file(app, seeded_url):
    from scheduler.library.importing import COLUMNS

    header_only = ("\ufeff" + ",".join(COLUMNS["enterprises"]) + "\r\n").encode("utf-8")
    at = _upload(_open(app, "imports.py"), "empty.csv", header_only)
    assert any("只有列名，没有数据行" in e.value for e in at.error)
    assert not any("导入完成" in s.value for s in at.success)


def test_import_page_previews_bad_file_and_imports_nothing(app, seeded_url):
    good = [code_for(1000 + i) for i in range(3)]
    bad = good[1][:17] + ("0" if good[1][17] != "0" else "1")
    at = _upload(_open(app, "imports.py"), "bad.csv", _enterprise_csv([good[0], bad, good[2]], "gbk"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["文件编码"].upper().startswith("GB")
    assert metrics["数据行数"] == "3" and metrics["错误"] == "1"
    assert list(_df(at, "企业名称")["统一社会信用代码"]) == [good[0], bad, good[2]]
    errs = _df(at, "原因")
    assert list(errs.columns) == ["行号", "列", "值", "原因"]
    assert errs.iloc[0]["列"] == "统一社会信用代码" and errs.iloc[0]["值"] == bad
    assert "校验码" in errs.iloc[0]["原因"]
    assert int(errs.iloc[0]["行号"]) == 3  # the header is line 1
    # Under the file field: how many, once; the table holds each row's problem once.
    assert [e.value for e in at.error] == ["bad.csv：发现 1 处错误，见下方“错误明细”（行号、列、值、原因）。"]

    # Without 仅导入有效行 开始导入 is disabled while the file has errors: nothing can be written.
    assert at.button(key="import_go").disabled
    eng = make_engine(seeded_url)
    assert browse.browse_enterprises(eng, q="导入测试").total == 0

    # With it, the two valid rows go in and the bad one is offered for download.
    at.checkbox(key="import_partial").check().run()
    assert not at.button(key="import_go").disabled
    at.button(key="import_go").click().run()
    assert not at.exception
    at = finish_work(at)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["新增"], metrics["拒绝"]) == ("2", "1")
    assert "下载被拒绝的行（CSV）" in [b.proto.label for b in at.get("download_button")]
    assert browse.browse_enterprises(eng, q="导入测试").total == 2
    eng.dispose()


def test_import_page_imports_good_file_then_reimport_is_unchanged(app, seeded_url):
    codes = [code_for(2000 + i) for i in range(5)]
    at = _upload(_open(app, "imports.py"), "good.csv", _enterprise_csv(codes))
    assert {m.label: m.value for m in at.metric}["错误"] == "0"
    assert any("未发现错误" in s.value for s in at.success)
    at.button(key="import_go").click().run()
    assert not at.exception
    at = finish_work(at)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["新增"], metrics["更新"], metrics["未变"], metrics["拒绝"]) == ("5", "0", "0", "0")
    assert any("导入完成" in s.value for s in at.success)

    at.button(key="import_go").click().run()
    at = finish_work(at)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["新增"], metrics["未变"]) == ("0", "5")

    # The registry page now finds them.
    at = _open(at, "registry.py")
    at.text_input(key="registry_q").input("导入测试").run()
    assert sorted(at.dataframe[0].value["统一社会信用代码"]) == sorted(codes)
    assert set(at.dataframe[0].value["所属乡镇街道"]) == {"兴谷街道"}


def test_import_page_unreadable_file(app):
    at = _upload(_open(app, "imports.py"), "junk.xlsx", b"\x00\x01 not a workbook")
    assert not at.exception
    # A file that cannot be read is one problem, in words under the file field, not a table row.
    assert len(at.error) == 1 and at.error[0].value
    assert not [d for d in at.dataframe if "原因" in d.value.columns]
    assert at.button(key="import_go").disabled


def test_import_helpers():
    from ui.importing import progress_callback, rejected_csv

    seen = []
    cb = progress_callback(lambda frac, text: seen.append((frac, text)))
    cb(0, 10)
    cb(5, 10)
    cb(12, 10)  # never past the end
    cb(0, 0)
    assert seen == [(0.0, "已处理 0 / 10 行"), (0.5, "已处理 5 / 10 行"), (1.0, "已处理 10 / 10 行"), (1.0, "已处理 0 / 0 行")]
    data = rejected_csv([{"统一社会信用代码": "X", "企业名称": "=CMD|' /C calc'!A0", "行号": 3, "错误": "校验码错误"}])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "统一社会信用代码,企业名称,行号,错误",
        "X,'=CMD|' /C calc'!A0,3,校验码错误",  # a formula-looking cell is neutralised
    ]


def test_items_page_shows_town_names(app, seeded_url):
    eng = make_engine(seeded_url)
    with Session(eng) as s:
        item = s.exec(select(CheckItem).where(CheckItem.code == "NY-001")).one()
        item.scope_towns = "110117001;110117213"
        s.add(item)
        s.commit()
    eng.dispose()
    at = _open(app, "items.py")
    row = _df(at, "事项编码").set_index("事项编码").loc["NY-001"]
    assert row["检查对象（乡镇街道）"] == "滨河街道、黄松峪乡"


@pytest.mark.parametrize("script", ["registry.py", "roster.py", "experts.py", "items.py", "conflicts.py"])
def test_every_list_page_offers_its_export(app, script):
    at = _open(app, script)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["导出 CSV", "导出 XLSX"], labels


def test_registry_export_past_the_limit_asks_for_a_filter(app, monkeypatch):
    from scheduler.library import export_service as library_export

    monkeypatch.setattr(library_export, "APP_LIMIT", 3)
    at = _open(app, "registry.py")
    assert not at.get("download_button")
    assert any("超过页面导出上限 3 条" in c.value and "dsr library export enterprises" in c.value for c in at.caption)
