"""Hostile files (issue 18 §5), on SQLite and PostgreSQL: a decompression bomb is refused from the
zip's directory, every echoed value is cut, control characters are found in every cell, a broken
XML part is a clear error, and invisible characters, absurd dates, conflicts with unknown entities
and header-only files are refused. Every error names the file, the row and the field."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from scheduler.library import importing
from scheduler.library.import_service import import_file, preview
from tests.test_import_service import CODES, counts, csv_bytes, ent


def _xlsx(kind: str, rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(importing.COLUMNS[kind]))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _replace_part(xlsx: bytes, name: str, content: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, content if info.filename == name else src.read(info.filename))
    return out.getvalue()


def _bomb(n_chars: int) -> bytes:
    """A valid workbook whose one data row has a name of `n_chars` characters (an inline string):
    a few tens of KB on disk."""
    good = _xlsx("enterprises", [ent(0)])
    sheet = zipfile.ZipFile(io.BytesIO(good)).read("xl/worksheets/sheet1.xml").decode()
    name_cell = f'<c r="B2" t="inlineStr"><is><t>{"公" * n_chars}</t></is></c>'
    start = sheet.index('<c r="B2"')
    end = sheet.index("</c>", start) + 4
    return _replace_part(good, "xl/worksheets/sheet1.xml", (sheet[:start] + name_cell + sheet[end:]).encode())


def test_a_decompression_bomb_is_refused_before_it_is_inflated(engine, pinggu):
    """Before: a 311 KB workbook took 2.85 GB and came back as a 629 MB message (the whole cell)."""
    data = _bomb(40_000_000)  # 120 MB of sheet XML in a small zip
    assert len(data) < 1_000_000
    before = counts(engine)
    tracemalloc.start()
    rep = import_file(engine, "enterprises", "炸弹.xlsx", data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000, peak
    assert rep.inserted == 0 and len(rep.errors) == 1
    msg = str(rep.errors[0])
    assert "炸弹.xlsx" in msg and "压缩" in msg and len(msg) < 400
    assert counts(engine) == before


def test_a_long_cell_is_refused_and_echoed_values_are_cut(engine, pinggu):
    """Before: a CSV error echoed the whole cell (94 MB); now at most 50 characters of it."""
    long_name = "长" * 100_000
    rep = import_file(engine, "enterprises", "长名.csv", csv_bytes("enterprises", [ent(0, name=long_name)]))
    assert rep.errors and all(len(str(e)) < 400 for e in rep.errors)
    assert "长名.csv" in str(rep.errors[0]) and "第 2 行" in str(rep.errors[0])
    # Over Excel's cell limit: the file is refused, naming row and column.
    huge = "长" * (importing.MAX_CELL_CHARS + 1)
    rep = import_file(engine, "enterprises", "超长.csv", csv_bytes("enterprises", [ent(0), ent(1, address=huge)]))
    msg = str(rep.errors[0])
    assert "超长.csv" in msg and "第 3 行" in msg and "[住所]" in msg, msg
    assert len(msg) < 400
    # The reject report cuts what it echoes too.
    rep = import_file(engine, "enterprises", "部分.csv", csv_bytes("enterprises", [ent(0), ent(1, name="名" * 5000)]),
                      partial=True)
    assert rep.rejected == 1
    report = importing.rejects_csv(rep.rejected_rows).decode("utf-8-sig")
    assert "名" * 51 not in report and "共 5,000 个字符" in report


def test_a_control_character_anywhere_in_the_file_is_found(engine, pinggu):
    """Before: only the first 64 KB were checked; a NUL further down was stored, published and made
    the library export impossible to import again."""
    rows = [ent(i % 30, address=f"示例路{i}号" + "甲" * 300) for i in range(300)]
    rows[-1] = ent(35, name="北京\x00示例有限公司")
    data = csv_bytes("enterprises", rows[:-1] + [rows[-1]])
    assert data.index(b"\x00") > 65536
    rep = import_file(engine, "enterprises", "控制字符.csv", data)
    assert rep.inserted == 0 and rep.errors
    msg = str(rep.errors[0])
    assert "控制字符.csv" in msg and "第 301 行" in msg and "U+0000" in msg and rep.errors[0].row == 301


def test_a_broken_xml_part_is_a_clear_error(engine, pinggu):
    """Before: xml.etree's ParseError came out as a traceback."""
    good = _xlsx("enterprises", [ent(0)])
    broken = _replace_part(good, "xl/worksheets/sheet1.xml", b'<worksheet xmlns="x"><sheetData><row r="1"><c')
    rep = import_file(engine, "enterprises", "坏表.xlsx", broken)
    assert rep.inserted == 0 and len(rep.errors) == 1
    assert "坏表.xlsx" in str(rep.errors[0]) and "XML" in str(rep.errors[0])
    assert preview("enterprises", "坏表.xlsx", broken, engine).errors


@pytest.mark.parametrize("char", ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff"])
def test_zero_width_and_bidi_characters_in_names_are_refused(engine, pinggu, char):
    rep = import_file(engine, "enterprises", "名称.csv", csv_bytes("enterprises", [ent(0), ent(1, name=f"北京{char}示例公司")]))
    assert rep.inserted == 0 and [(e.row, e.column) for e in rep.errors] == [(3, "企业名称")], [str(e) for e in rep.errors]
    assert f"U+{ord(char):04X}" in str(rep.errors[0])


def test_absurd_dates_are_refused(engine, pinggu):
    rows = [ent(0, registered_on="9999-12-31"), ent(1, registered_on="2999-01-01"), ent(2, registered_on="2018-06-01")]
    rep = import_file(engine, "enterprises", "日期.csv", csv_bytes("enterprises", rows))
    assert rep.inserted == 0 and [e.row for e in rep.errors] == [2, 3]
    assert "9999-12-31" in str(rep.errors[0]) and "日期.csv" in str(rep.errors[0])


def test_a_conflict_naming_an_unknown_entity_is_refused(engine, pinggu):
    import_file(engine, "inspectors", "人员.csv",
                csv_bytes("inspectors", [["007", "张三", "区市场监管局", "11011700001", "", "滨河街道", "是"]]))
    import_file(engine, "enterprises", "e.csv", csv_bytes("enterprises", [ent(0)]))
    conf = csv_bytes("conflicts", [["007", CODES[0], "亲属关系", "管理员录入", ""], ["007", CODES[5], "持股", "", ""]])
    rep = import_file(engine, "conflicts", "回避.csv", conf)
    assert rep.inserted == 0 and [(e.row, e.column) for e in rep.errors] == [(3, "统一社会信用代码")]
    assert CODES[5] in str(rep.errors[0]) and "名录库中没有" in str(rep.errors[0])
    rep = import_file(engine, "conflicts", "回避.csv", conf, partial=True)
    assert (rep.inserted, rep.rejected) == (1, 1)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_header_only_file_is_an_error_not_an_import(engine, pinggu, fmt):
    """Before: recorded as an import of 0 rows (导入完成 0 行)."""
    data = csv_bytes("enterprises", []) if fmt == "csv" else _xlsx("enterprises", [])
    before = counts(engine)
    rep = import_file(engine, "enterprises", f"空表.{fmt}", data)
    assert rep.import_run_id is None and len(rep.errors) == 1
    assert "只有列名，没有数据行" in str(rep.errors[0]) and f"空表.{fmt}" in str(rep.errors[0])
    assert counts(engine) == before
