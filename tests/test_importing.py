"""Pure import layer: decoding, reading CSV/XLSX, header mapping, row validation, templates."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from scheduler.library import importing
from scheduler.demo import pinggu as reference
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS, FileError, Lookups, RowError, read_table, template_bytes, validate_rows

GOOD = uscc.make("9", "1", "110117", "MA01ABCD")
GOOD2 = uscc.make("9", "2", "110117", "L1234567")
BAD_CHECK = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")


def lookups(inspectors: dict[str, int] | None = None) -> Lookups:
    towns = {}
    for code, name in reference.TOWNS:
        towns[name] = code
        towns[code] = code
    depts = {}
    names = {}
    for i, (code, name) in enumerate(reference.DEPARTMENTS, start=1):
        depts[name] = i
        depts[code] = i
        names[i] = name
    return Lookups(1, towns, depts, names, ("A", "B", "C", "D"), inspectors or {})


def ent_csv(rows: list[list[str]], header=None) -> str:
    import csv

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header or COLUMNS["enterprises"])
    w.writerows(rows)
    return buf.getvalue()


def row(**kw) -> list[str]:
    base = {
        "uscc": GOOD,
        "name": "北京示例食品有限公司",
        "entity_type": "企业",
        "industry_code": "C1391",
        "town_code": "滨河街道",
        "address": "平谷区示例路1号",
        "registered_on": "2019-03-05",
        "status": "存续",
        "risk_class": "B",
        "tags": "食品经营;特种设备",
    }
    base.update(kw)
    return [base[f] for f in importing.FIELDS["enterprises"]]


def validate(text_or_bytes, name="e.csv", kind="enterprises", lk=None):
    data = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    return validate_rows(kind, name, read_table(name, data), lk or lookups())


# --- decoding -------------------------------------------------------------------------------


def test_decode_order_bom_utf8_gb18030():
    text = ent_csv([row()])
    assert importing.decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "UTF-8（带BOM）")
    assert importing.decode(text.encode("utf-8")) == (text, "UTF-8")
    assert importing.decode(text.encode("gbk")) == (text, "GB18030")
    assert importing.decode(b"\xff\xfe" + text.encode("utf-16-le"))[0] == text


def test_binary_csv_is_a_clear_error():
    with pytest.raises(FileError, match="二进制"):
        read_table("x.csv", b"\x00\x01\x02PK garbage\x00")


def test_renamed_binary_file_is_an_error():
    # A PNG renamed to .csv: no NUL in the first bytes is needed for the check to fire.
    with pytest.raises(FileError, match="控制字符|二进制"):
        read_table("x.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 4)


def test_undecodable_csv_is_an_error():
    # 0xFF is neither valid UTF-8 nor a GB18030 lead byte.
    with pytest.raises(FileError, match="无法识别文件编码"):
        importing.decode(b"abc\xff\xff\xff")


def test_xlsx_that_is_not_a_zip():
    with pytest.raises(FileError, match="不是有效的 Excel"):
        read_table("x.xlsx", "统一社会信用代码,企业名称\n".encode("utf-8"))


def test_xls_that_is_html_or_ole_or_xlsx():
    with pytest.raises(FileError, match="HTML"):
        read_table("x.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>")
    with pytest.raises(FileError, match="97-2003"):
        read_table("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    t = read_table("x.xls", template_bytes("enterprises", "xlsx"))
    assert t.header == list(COLUMNS["enterprises"]) and "XLSX" in t.encoding


# --- reading ----------------------------------------------------------------------------------


def test_xlsx_typed_cells_become_text():
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS["enterprises"]))
    ws.append([GOOD, "甲公司", "企业", "C1391", 110117001, "", dt.datetime(2019, 3, 5), "存续", "A", None])
    ws.append([GOOD2, "乙公司", "企业", "F5211", 110117002.0, "", dt.date(2020, 1, 2), "存续", "B", "食品经营"])
    ws.append([None] * 10)  # blank rows are skipped, numbering continues
    ws.append(["", "丙", "企业", "F5211", "滨河街道", "", 0.5, "存续", "B", ""])
    buf = io.BytesIO()
    wb.save(buf)
    t = read_table("e.xlsx", buf.getvalue())
    assert t.rows[0][4] == "110117001" and t.rows[0][6] == "2019-03-05"
    assert t.rows[1][4] == "110117002" and t.rows[1][6] == "2020-01-02"
    assert t.row_numbers == [2, 3, 5]
    v = validate_rows("enterprises", "e.xlsx", t, lookups())
    assert [r[4] for r in v.records] == ["110117001", "110117002"]
    assert {(e.row, e.column) for e in v.errors} == {(5, "统一社会信用代码"), (5, "成立日期")}


def test_leading_zeros_survive_csv():
    text = ent_csv([row(address="007号")])
    v = validate(text)
    assert v.records[0][importing.FIELDS["enterprises"].index("address")] == "007号"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="ab 中,；\n\r\"", max_size=4), min_size=1, max_size=3), min_size=1, max_size=5),
       st.sampled_from(["\n", "\r\n"]))
def test_fast_csv_path_matches_csv_module(table, eol):
    import csv

    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=eol).writerows([["h1", "h2", "h3"]] + table)
    text = buf.getvalue()
    expect = [r for r in csv.reader(io.StringIO(text, newline="")) if r and any(r)]
    t = read_table("x.csv", text.encode("utf-8"))
    assert [t.header] + t.rows == expect


# --- header mapping ---------------------------------------------------------------------------


def test_english_field_names_as_headers():
    text = ent_csv([row()], header=list(importing.FIELDS["enterprises"]))
    v = validate(text)
    assert not v.errors and len(v.records) == 1


def test_missing_required_column_is_reported_on_row_1():
    header = [h for h in COLUMNS["enterprises"] if h != "信用风险分类"]
    r = row()
    del r[COLUMNS["enterprises"].index("信用风险分类")]
    v = validate(ent_csv([r], header=header))
    assert not v.records
    assert [(e.row, e.column) for e in v.errors] == [(1, "信用风险分类")]
    assert "缺少必需的列" in v.errors[0].reason


def test_optional_columns_may_be_absent():
    header = [h for h in COLUMNS["enterprises"] if h not in ("住所", "成立日期", "许可标签")]
    r = [x for h, x in zip(COLUMNS["enterprises"], row()) if h in header]
    v = validate(ent_csv([r], header=header))
    assert not v.errors and "address" not in v.fields


# --- validation -----------------------------------------------------------------------------------


def test_good_row_converts_to_storage_values():
    v = validate(ent_csv([row(town_code="110117002", tags="特种设备；食品经营；", risk_class="b")]))
    assert not v.errors
    rec = dict(zip(v.fields, v.records[0]))
    assert rec["town_code"] == "110117002"
    assert rec["tags"] == "特种设备;食品经营"
    assert rec["risk_class"] == "B"
    assert v.row_numbers == [2]


def test_full_width_is_normalised():
    full = "".join(chr(ord(c) + 0xFEE0) for c in GOOD)
    v = validate(ent_csv([row(uscc=full, industry_code="Ｃ１３９１")]))
    assert not v.errors
    assert v.records[0][0] == GOOD and v.records[0][3] == "C1391"


BAD_CELLS = [
    ("uscc", BAD_CHECK, "统一社会信用代码", "校验码错误"),
    ("uscc", "12345", "统一社会信用代码", "长度"),
    ("name", "", "企业名称", "必填项为空"),
    ("entity_type", "公司", "主体类型", "企业 / 个体工商户"),
    ("industry_code", "1391", "行业代码", "GB/T 4754"),
    ("town_code", "不存在镇", "所属乡镇街道", "不存在"),
    ("town_code", "110117999", "所属乡镇街道", "代码不存在"),
    ("registered_on", "2019-02-30", "成立日期", "日期无效"),
    ("registered_on", "05/03/2019", "成立日期", "YYYY-MM-DD"),
    ("status", "在业", "登记状态", "存续"),
    ("risk_class", "E", "信用风险分类", "A / B / C / D"),
]


@pytest.mark.parametrize("field,value,header,reason", BAD_CELLS)
def test_bad_cell_names_file_row_column(field, value, header, reason):
    v = validate(ent_csv([row(uscc=GOOD2), row(**{field: value})]), name="名录.csv")
    assert len(v.records) == 1 and v.total == 2
    assert len(v.errors) == 1
    e = v.errors[0]
    assert (e.file, e.row, e.column) == ("名录.csv", 3, header)
    assert reason in e.reason
    assert str(e).startswith(f"文件 名录.csv 第 3 行 [{header}] 值“")
    assert v.rejected_rows[0]["行号"] == 3 and reason in v.rejected_rows[0]["错误"]


def test_duplicate_key_in_file():
    v = validate(ent_csv([row(), row(uscc=GOOD2), row(name="另一个")]))
    assert len(v.records) == 2
    assert [(e.row, e.column) for e in v.errors] == [(4, "统一社会信用代码")]
    assert "与第 2 行重复" in v.errors[0].reason


def test_gbk_file_validates_like_utf8():
    text = ent_csv([row(), row(uscc=GOOD2, town_code="金海湖地区")])
    a = validate(text.encode("utf-8"))
    b = validate(text.encode("gbk"))
    assert a.records == b.records and not b.errors


def test_risk_classes_follow_configuration():
    lk = lookups()
    lk.risk_classes = ("A", "B", "C", "D", "E")
    assert not validate(ent_csv([row(risk_class="E")]), lk=lk).errors


def test_items_ratio_rules():
    h = list(COLUMNS["items"])
    base = dict(zip(h, [c.example for c in importing.SPECS["items"]]))

    def item(**kw):
        d = dict(base)
        d.update(kw)
        return [d[x] for x in h]

    import csv

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(h)
    w.writerow(item(事项编码="I1", 事项类别="一般", 抽查比例上限="5%", 抽查比例下限="0.01"))
    w.writerow(item(事项编码="I2", 事项类别="一般", 抽查比例上限="", 抽查比例下限=""))
    w.writerow(item(事项编码="I3", 事项类别="重点", 抽查比例上限="0.3", 抽查比例下限=""))
    w.writerow(item(事项编码="I4", 事项类别="重点", 抽查比例上限="", 抽查比例下限="", 检查主体="不存在局"))
    w.writerow(item(事项编码="I5", 事项类别="一般", 抽查比例上限="150%", 抽查比例下限=""))
    w.writerow(item(事项编码="I6", 事项类别="重点", 抽查比例上限="", 抽查比例下限="", 检查方式="现场检查、" + "查" * 21))
    # Item lists name many methods, often several: any short names, kept in order, joined by 、.
    w.writerow(item(事项编码="I7", 事项类别="重点", 抽查比例上限="", 抽查比例下限="", 检查方式="书面检查；实地核查，监测、书面检查"))
    v = validate(buf.getvalue(), name="清单.csv", kind="items")
    rec = dict(zip(v.fields, v.records[0]))
    assert rec["ratio_cap"] == "0.05" and rec["ratio_floor"] == "0.01" and rec["kind"] == "general"
    assert dict(zip(v.fields, v.records[-1]))["method"] == "书面检查、实地核查、监测"
    assert {(e.row, e.column) for e in v.errors} == {
        (3, "抽查比例上限"),
        (4, "抽查比例上限"),
        (5, "检查主体"),
        (6, "抽查比例上限"),
        (7, "检查方式"),
    }


def test_conflicts_need_a_known_inspector():
    import csv

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS["conflicts"])
    w.writerow(["P0001", GOOD, "亲属关系", "本人申报", ""])
    w.writerow(["P9999", GOOD, "持股", "", ""])
    w.writerow(["P0001", GOOD2, "朋友", "", ""])
    v = validate(buf.getvalue(), kind="conflicts", lk=lookups({"P0001": 7}))
    assert v.records == [(7, GOOD, "亲属关系", "本人申报", "")]
    assert [(e.row, e.column) for e in v.errors] == [(3, "人员编号"), (4, "回避原因")]


def test_inspector_cert_no_duplicate_in_file():
    import csv

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS["inspectors"])
    w.writerow(["P1", "张三", "SCJGJ", "C001", "", "", "是"])
    w.writerow(["P2", "李四", "区市场监管局", "C001", "", "", "否"])
    w.writerow(["P3", "王五", "区市场监管局", "C003", "", "", "也许"])
    v = validate(buf.getvalue(), kind="inspectors")
    assert len(v.records) == 1
    assert [(e.row, e.column) for e in v.errors] == [(3, "执法证号"), (4, "在岗")]


# --- fast USCC check agrees with the reference -------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=uscc.ALPHABET + "IOSVZ-a ", min_size=16, max_size=19))
def test_check_uscc_agrees_with_validate(code):
    try:
        expected = uscc.validate(code)
    except uscc.USCCError as exc:
        with pytest.raises(uscc.USCCError) as got:
            importing.check_uscc(code)
        assert got.value.reason == exc.reason
    else:
        assert importing.check_uscc(code) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
def test_check_uscc_accepts_made_codes(body):
    code = uscc.make("9", "1", "110117", body)
    assert importing.check_uscc(code) == code


# --- templates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", importing.KINDS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_are_importable(kind, fmt):
    data = template_bytes(kind, fmt)
    t = read_table(f"t.{fmt}", data)
    assert t.header == list(COLUMNS[kind])
    v = validate_rows(kind, f"t.{fmt}", t, lookups({"P0001": 1}))
    assert not v.errors and len(v.records) == 1


def test_row_error_str():
    e = RowError("a.csv", 5, "企业名称", "x", "必填项为空")
    assert str(e) == "文件 a.csv 第 5 行 [企业名称] 值“x”：必填项为空"
    assert str(RowError("a.csv", 0, "", "", "坏文件")) == "文件 a.csv：坏文件"
