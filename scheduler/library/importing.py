"""Reading roster files (pure): bytes -> text rows -> validated records + errors.

No database here. The service (`scheduler.library.import_service`) loads the lookup
tables (`Lookups`), calls `parse_table` and `validate_rows`, and writes.

Decisions worth knowing:
- Encoding: a BOM decides; otherwise strict UTF-8, then strict GB18030 (UTF-8
  bytes can decode as GB18030 into mojibake, so the order matters). Anything
  else is an error; the encoding used is reported.
- Every cell is text. XLSX numbers/dates that openpyxl returns typed are turned
  back into the text a planner typed (an integer-valued float -> "123",
  a date -> "YYYY-MM-DD"), so leading zeros in text cells survive.
- Every cell is NFKC-normalised and stripped (full-width digits, letters and
  "；" become ASCII).
- Headers may be the Chinese column names or the model field names.
- Row numbers are the ones Excel shows: the header is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import chain, repeat
from operator import mul
from typing import Callable, Iterable, Optional

import numpy as np


from scheduler.library import vocabulary
from scheduler.library import uscc
from scheduler.errors import DsrError

KINDS, KIND_NAMES = vocabulary.IMPORT_KINDS, vocabulary.IMPORT_KIND_NAMES


@dataclass(frozen=True)
class Col:
    """One column of an import file: its Chinese header and the model field it fills."""

    header: str
    field: str
    required: bool  # column must be present and the value non-empty
    example: str
    hint: str = ""
    aliases: tuple[str, ...] = ()


# The one mapping table: Chinese header <-> model field, per kind, in file order.
# 检查方式: the common ones (the form suggests them). Item lists name others too (监测, 检验检测…)
# and often several at once (书面检查、实地核查), so any short method names are accepted.
METHODS = ("现场检查", "书面检查", "网络检查", "实地核查", "网络监测", "抽样检验")
_METHOD_SEP = re.compile(r"[、;；,，/]")

SPECS: dict[str, tuple[Col, ...]] = {
    "enterprises": (
        Col("统一社会信用代码", "uscc", True, "", "18位，GB 32100-2015"),
        Col("企业名称", "name", True, "北京平谷示例食品有限公司"),
        Col("主体类型", "entity_type", True, "企业", "企业 / 个体工商户 / 农民专业合作社"),
        Col("行业代码", "industry_code", True, "C1391", "GB/T 4754 小类或中类，如 C1391、F5211"),
        Col("所属乡镇街道", "town_code", True, "滨河街道", "乡镇街道名称或9位代码"),
        Col("住所", "address", False, "北京市平谷区滨河街道示例路1号"),
        Col("成立日期", "registered_on", False, "2019-03-05", "YYYY-MM-DD"),
        Col("登记状态", "status", True, "存续", "存续 / 注销 / 吊销 / 迁出"),
        Col("信用风险分类", "risk_class", True, "B", "A / B / C / D（以系统设置为准）"),
        Col("许可标签", "tags", False, "食品经营;特种设备", "多个用分号分隔，可为空"),
    ),
    "inspectors": (
        Col("人员编号", "inspector_id", True, "P0001"),
        Col("姓名", "name", True, "张三"),
        Col("所属部门", "department_id", True, "区市场监管局", "部门名称或代码", ("department",)),
        Col("执法证号", "cert_no", True, "11011700001"),
        Col("资格标签", "qualifications", False, "食品;特种设备", "多个用分号分隔"),
        Col("所属区域", "region", False, "滨河街道"),
        Col("在岗", "active", False, "是", "是 / 否"),
        Col("执法证有效期至", "cert_valid_until", False, "2028-12-31", "YYYY-MM-DD；过期次日起不参与匹配"),
    ),
    "experts": (
        Col("专家编号", "expert_id", True, "E0001"),
        Col("姓名", "name", True, "李四"),
        Col("专业领域", "field", True, "食品检测"),
        Col("所在单位", "organisation", False, "北京市食品检验所"),
        Col("在库", "active", False, "是", "是 / 否"),
    ),
    "items": (
        Col("事项编码", "code", True, "SCJG-001"),
        Col("抽查类别", "category", True, "食品安全监督检查"),
        Col("抽查事项", "name", True, "食品经营者经营条件检查"),
        Col("事项类别", "kind", True, "一般", "重点 / 一般"),
        Col("检查方式", "method", False, "现场检查", "如 " + " / ".join(METHODS) + "，可填多个，用顿号分隔"),
        Col("检查主体", "department_id", True, "区市场监管局", "部门名称或代码", ("department",)),
        Col("检查依据", "legal_basis", False, "《中华人民共和国食品安全法》"),
        Col("检查对象主体类型", "scope_entity_types", False, "企业;个体工商户", "空表示不限"),
        Col("检查对象行业", "scope_industries", False, "F52;H62", "GB/T 4754 代码前缀，空表示不限"),
        Col("检查对象许可标签", "scope_tags", False, "食品经营", "须全部具备，空表示不限"),
        Col("检查对象乡镇", "scope_towns", False, "", "乡镇街道名称或代码，空表示不限"),
        Col("抽查比例上限", "ratio_cap", False, "5%", "一般事项必填（如 0.05 或 5%），重点事项须为空"),
        Col("抽查比例下限", "ratio_floor", False, "1%"),
        Col("资格要求", "required_qualifications", False, "食品"),
        Col("专家领域", "expert_field", False, ""),
        Col("发起部门", "initiating_department", False, "", "部门名称或代码"),
        Col("配合部门", "cooperating_departments", False, "", "部门名称或代码，多个用分号分隔"),
    ),
    "conflicts": (
        Col("人员编号", "inspector_pk", True, "P0001", "执法检查人员的人员编号", ("inspector_id",)),
        Col("统一社会信用代码", "uscc", True, "", "18位"),
        Col("回避原因", "reason", True, "亲属关系", "亲属关系 / 曾任职 / 持股 / 其他"),
        Col("申报方式", "declared_by", False, "本人申报", "本人申报 / 管理员录入"),
        Col("备注", "note", False, ""),
    ),
}

# A valid example USCC for the templates (area 110117, Pinggu district).
EXAMPLE_USCC = uscc.make("9", "1", "110117", "MA01ABCD")

COLUMNS: dict[str, tuple[str, ...]] = {k: tuple(c.header for c in v) for k, v in SPECS.items()}
FIELDS: dict[str, tuple[str, ...]] = {k: tuple(c.field for c in v) for k, v in SPECS.items()}
HEADER_OF: dict[str, dict[str, str]] = {k: {c.field: c.header for c in v} for k, v in SPECS.items()}

# The key of each kind (fields), used to update existing rows on re-import.
KEYS: dict[str, tuple[str, ...]] = {
    "enterprises": ("uscc",),
    "inspectors": ("inspector_id",),
    "experts": ("expert_id",),
    "items": ("code",),
    "conflicts": ("inspector_pk", "uscc"),
}

# Records put the key first (the service relies on it).
assert all(FIELDS[k][: len(KEYS[k])] == KEYS[k] for k in KINDS)

ITEM_KINDS = {"重点": "key", "一般": "general"}
ITEM_KIND_NAMES = {v: k for k, v in ITEM_KINDS.items()}
CONFLICT_REASONS = ("亲属关系", "曾任职", "持股", "其他")
DECLARED_BY = ("本人申报", "管理员录入")
YES = {"是": True, "否": False, "Y": True, "N": False, "1": True, "0": False, "TRUE": True, "FALSE": False}

_INDUSTRY = re.compile(r"[A-T]\d{2,4}")
_INDUSTRY_PREFIX = re.compile(r"[A-T]\d{0,4}")
_TOWN_CODE = re.compile(r"\d{9}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Zero-width and bidirectional formatting characters: invisible, they make two names that read
# alike differ, or reorder what a name shows (Trojan Source); no name or text field needs them.
_INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

# Bounds checked before a file is parsed: an XLSX is a zip whose parts may inflate a thousandfold.
MAX_XLSX_UNCOMPRESSED = 1 << 30  # bytes, all parts together
MAX_XLSX_RATIO = 200  # uncompressed / compressed of one part above 1 MB (Excel's own stay under ~30)
MAX_ROWS = 2_000_000  # data rows of one file
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
SHOWN_CHARS = 50  # an echoed value is cut to this many characters in messages and reject reports


def shorten(v: object, n: int = SHOWN_CHARS) -> str:
    """A value as echoed back to the user: at most `n` characters, and how long it was when cut."""
    text = "" if v is None else str(v)
    if len(text) <= n:
        return text
    return f"{text[:n]}…（共 {len(text):,} 个字符）"


def _control_name(ch: str) -> str:
    return f"U+{ord(ch):04X}"
_DATE_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


# --- errors ---------------------------------------------------------------------


@dataclass
class RowError:
    """One problem with one cell (row 0: the file as a whole)."""

    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        if self.row <= 0:
            return f"文件 {self.file}：{self.reason}"
        col = f" [{shorten(self.column)}]" if self.column else ""
        return f"文件 {shorten(self.file, 100)} 第 {self.row} 行{col} 值“{shorten(self.value)}”：{self.reason}"


class FileError(DsrError, ValueError):
    """The file cannot be read at all (not a zip, binary, unknown encoding...)."""

    code = "import.file_unreadable"

    def __init__(self, reason: str, row: int = 0, column: str = "", value: str = "") -> None:
        where = f"第 {row} 行{f' [{shorten(column)}]' if column else ''}：" if row > 0 else ""
        super().__init__(where + reason)
        self.reason = reason
        self.row, self.column, self.value = row, column, value  # where in the file, when it is one cell

    def row_error(self, file: str) -> "RowError":
        return RowError(file, self.row, self.column, self.value, self.reason)


# --- decoding and reading ---------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8（带BOM）"),
    (b"\xff\xfe", "utf-16-le", "UTF-16LE（带BOM）"),
    (b"\xfe\xff", "utf-16-be", "UTF-16BE（带BOM）"),
)


def decode(data: bytes) -> tuple[str, str]:
    """Text and the name of the encoding used: BOM, then strict UTF-8, then strict GB18030."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec.replace("-sig", "")), label
            except UnicodeDecodeError as exc:
                raise FileError(f"文件以 {label} 标记开头，但第 {exc.start + len(bom) + 1} 字节处无法按该编码解码") from exc
    if b"\x00" in data[:65536]:
        raise FileError("文件含有二进制内容（NUL 字节），不是 CSV 文本文件；请另存为 CSV（UTF-8）或 .xlsx")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:
        raise FileError(
            f"无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030（第 {exc.start + 1} 字节）；请另存为 CSV（UTF-8）"
        ) from exc


def nfkc(v: str) -> str:
    """NFKC + strip; ASCII needs no normalisation (the common, fast case)."""
    if v.isascii():
        return v.strip()
    return unicodedata.normalize("NFKC", v).strip()


def cell_text(v) -> str:
    """An openpyxl cell value as the text the user typed."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0, 0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


class Table:
    """A file's header and text rows; `encoding` names how it was read.

    The cells are held either row by row (`rows`) or, from the fast CSV path,
    column by column (one list per header position): validation works on
    columns, so a million-row file is then never cut into a million row lists.
    `rows` is built from the columns when something asks for it.
    """

    __slots__ = ("encoding", "header", "_rows", "row_numbers", "_columns", "normalised")

    def __init__(
        self,
        encoding: str,
        header: list[str],
        rows: Optional[list[list[str]]] = None,
        row_numbers: Optional[list[int]] = None,
        columns: Optional[list[list[str]]] = None,
        normalised: bool = False,
    ) -> None:
        self.encoding = encoding
        self.header = header
        self._rows = rows if rows is not None or columns is not None else []
        self._columns = columns
        self.row_numbers = row_numbers if row_numbers is not None else []  # Excel row number of each row
        # True when every cell is known to be NFKC-normalised already (then `nfkc` is just strip).
        self.normalised = normalised

    @property
    def rows(self) -> list[list[str]]:
        """Raw cells (not yet normalised), one list per row."""
        if self._rows is None:
            self._rows = [list(r) for r in zip(*self._columns)] if self._columns else []
        return self._rows

    @rows.setter
    def rows(self, value: list[list[str]]) -> None:
        self._rows = value
        self._columns = None

    def __len__(self) -> int:
        """The number of data rows."""
        if self._columns is not None:
            return len(self._columns[0]) if self._columns else 0
        return len(self._rows)

    def row(self, i: int) -> list[str]:
        """The raw cells of data row i (0-based)."""
        if self._columns is not None:
            return [c[i] for c in self._columns]
        return self._rows[i]

    def columns(self, width: int) -> list:
        """The cells column by column, every row cut or padded to `width` cells."""
        if self._columns is not None and len(self._columns) == width:
            return self._columns
        rows = self.rows
        if not rows:
            return [() for _ in range(width)]
        if set(map(len, rows)) != {width}:
            rows = [r[:width] if len(r) >= width else list(r) + [""] * (width - len(r)) for r in rows]
        return list(zip(*rows))


def _looks_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")) or b"<table" in head


def read_table(file_name: str, data: bytes) -> Table:
    """The header row and data rows of a CSV or XLSX file (raises FileError), within the bounds
    (rows, cell length, decompressed size)."""
    table = _read_table(file_name, data)
    check_bounds(table)
    return table


def _column_at(text: str, pos: int) -> str:
    """The header of the column that position `pos` of a CSV text falls in (counting the commas
    before it on its line: a quoted comma may shift it), or "第 N 列" past the header."""
    start = text.rfind("\n", 0, pos) + 1
    k = text.count(",", start, pos)
    header = text[:text.find("\n") if "\n" in text else len(text)].split(",")
    name = header[k].strip().strip('"') if k < len(header) and start > 0 else ""
    return name or f"第 {k + 1} 列"


def _read_table(file_name: str, data: bytes) -> Table:
    lower = file_name.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if lower.endswith((".xlsx", ".xlsm")):
        if not is_zip:
            if _looks_html(data):
                raise FileError("扩展名为 .xlsx，但文件实为 HTML 网页表格；请在 Excel 中打开后另存为 .xlsx 或 CSV")
            raise FileError("扩展名为 .xlsx，但文件不是有效的 Excel 工作簿（不是 zip 格式）；文件可能已损坏或被改名")
        return _read_xlsx(data, "XLSX")
    if lower.endswith(".xls"):
        if is_zip:
            return _read_xlsx(data, "XLSX（扩展名为 .xls）")
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise FileError("不支持旧版 Excel 97-2003（.xls）格式；请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）")
        if _looks_html(data):
            raise FileError("扩展名为 .xls，但文件实为 HTML 网页表格（常见于系统导出）；请在 Excel 中打开后另存为 .xlsx 或 CSV")
        raise FileError("扩展名为 .xls，但无法识别文件格式；请另存为 .xlsx 或 CSV（UTF-8）")
    if is_zip:
        raise FileError("文件是 zip/Excel 工作簿，但扩展名不是 .xlsx；请改用 .xlsx 扩展名或另存为 CSV")
    text, enc = decode(data)
    bad = _CONTROL.search(text)  # every cell of every row, not the first bytes only
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise FileError(f"含有控制字符（{_control_name(bad.group())}），不是正常的 CSV 文本"
                        "（可能是被改名的二进制文件或损坏的数据）；请删除该字符，或另存为 CSV（UTF-8）或 .xlsx", line,
                        _column_at(text, bad.start()))
    if not text.strip():
        raise FileError("文件为空，没有表头行")
    plain = text.replace("\r\n", "\n") if "\r" in text else text
    if '"' not in plain and "\r" not in plain:
        # No quoting and only \n / \r\n line ends: plain splitting gives what csv.reader
        # gives, several times faster (a million-row registry export is the common case).
        lines = plain.split("\n")
        if plain.endswith("\n"):
            lines.pop()
        table = _split_columns(enc, lines, plain)
        if table is not None:
            return table
        reader = iter([ln.split(",") for ln in lines])
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileError(f"第 1 行无法按 CSV 读取（{shorten(exc, 120)}）") from exc
    if header is None:
        raise FileError("文件为空，没有表头行")
    rows: list[list[str]] = []
    numbers: list[int] = []
    n = 1
    try:
        for r in reader:
            n += 1
            if not r or not any(r):
                continue
            rows.append(r)
            numbers.append(n)
    except csv.Error as exc:  # e.g. a quoted cell longer than the csv module's field limit
        raise FileError(f"第 {n} 行附近无法按 CSV 读取（{shorten(exc, 120)}）；单元格不得超过 {MAX_CELL_CHARS:,} 个字符") from exc
    return Table(enc, header, rows, numbers)


def _split_columns(enc: str, lines: list[str], text: str) -> Optional[Table]:
    """Unquoted lines that all have the header's number of cells, none of them blank:
    cut the whole body with one split and slice it into columns (no per-row lists).
    None when some line is ragged or blank (the row-by-row reader handles those).

    "," and "\n" are stable code points for NFKC (they never compose, reorder or
    change), so when the whole text is NFKC-normalised so is every cell: the table
    says so, and validation then only strips the cells."""
    if len(lines) < 2:
        return None
    header = lines[0].split(",")
    width = len(header)
    body = lines[1:]
    if set(map(str.count, body, repeat(","))) != {width - 1} or "," * (width - 1) in body:
        return None
    flat = ",".join(body).split(",")
    del body
    columns = [flat[j::width] for j in range(width)]
    normalised = text.isascii() or unicodedata.is_normalized("NFKC", text)
    return Table(enc, header, None, list(range(2, len(lines) + 1)), columns, normalised)


def check_zip_bounds(data: bytes) -> None:
    """Refuse a workbook whose parts would inflate beyond MAX_XLSX_UNCOMPRESSED in all, or one
    part by more than MAX_XLSX_RATIO (a decompression bomb), from the zip's directory alone —
    before anything is inflated. (zipfile never inflates a part beyond the size its entry states.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileError(f"无法读取 Excel 工作簿（zip 结构损坏）：{shorten(exc, 200)}") from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise FileError(f"Excel 工作簿解压后共 {total:,} 字节，超过上限 {MAX_XLSX_UNCOMPRESSED:,} 字节；"
                        "请拆分文件，或另存为 CSV（UTF-8）")
    for i in infos:
        if i.file_size > (1 << 20) and i.file_size > MAX_XLSX_RATIO * max(i.compress_size, 1):
            raise FileError(f"Excel 工作簿的部件 {shorten(i.filename)} 压缩比异常（{i.compress_size:,} 字节解压为 "
                            f"{i.file_size:,} 字节），疑为压缩炸弹，拒绝读取")


def _xml_errors() -> tuple[type[BaseException], ...]:
    """The parse errors a broken XML part raises (the standard library's, and lxml's when installed)."""
    from xml.etree.ElementTree import ParseError

    errors: list[type[BaseException]] = [ParseError]
    try:
        from lxml.etree import XMLSyntaxError

        errors.append(XMLSyntaxError)
    except ImportError:
        pass
    return tuple(errors)


def _check_xlsx_cells(cells: list[str], header: list[str], n: int) -> None:
    """Length and control characters of every cell of one row (row `n` of the sheet)."""
    for j, c in enumerate(cells):
        col = header[j] if j < len(header) else f"第 {j + 1} 列"
        if len(c) > MAX_CELL_CHARS:
            raise FileError(f"单元格有 {len(c):,} 个字符，超过上限 {MAX_CELL_CHARS:,}", n, col, shorten(c))
        bad = _CONTROL.search(c)
        if bad:
            raise FileError(f"含有控制字符（{_control_name(bad.group())}）；请删除该字符后再导入", n, col)


def _read_xlsx(data: bytes, label: str) -> Table:
    check_zip_bounds(data)
    try:
        return _read_xlsx_rows(data, label)
    except _xml_errors() as exc:
        raise FileError(f"Excel 工作簿中的 XML 部件已损坏，无法读取（{shorten(exc, 120)}）；"
                        "请在 Excel 中打开后重新保存，或另存为 CSV（UTF-8）") from exc


def _read_xlsx_rows(data: bytes, label: str) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(f"无法读取 Excel 工作簿：{shorten(exc, 200)}") from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some exporters write a wrong <dimension>; read what is there
        it = ws.iter_rows(values_only=True)
        header_row = next(it, None)
        if header_row is None:
            raise FileError("工作表为空，没有表头行")
        header = [cell_text(v) for v in header_row]
        while header and header[-1] == "":
            header.pop()
        _check_xlsx_cells(header, header, 1)
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        n = 1
        for r in it:
            n += 1
            cells = [cell_text(v) for v in r[:width]]
            if not any(c.strip() for c in cells):
                continue
            _check_xlsx_cells(cells, header, n)
            if len(rows) >= MAX_ROWS:
                raise FileError(f"数据行超过上限 {MAX_ROWS:,} 行；请拆分文件")
            rows.append(cells)
            numbers.append(n)
        return Table(label, header, rows, numbers)
    finally:
        wb.close()


def check_bounds(table: Table) -> None:
    """Row count and cell length of a table read from CSV (an XLSX is checked while it is read)."""
    n = len(table)
    if n > MAX_ROWS:
        raise FileError(f"数据行超过上限 {MAX_ROWS:,} 行（共 {n:,} 行）；请拆分文件")
    cells = chain.from_iterable(table._columns if table._columns is not None else table.rows)
    if max(map(len, cells), default=0) <= MAX_CELL_CHARS and max(map(len, table.header), default=0) <= MAX_CELL_CHARS:
        return
    for i in range(-1, n):
        row = table.header if i < 0 else table.row(i)
        for j, c in enumerate(row):
            if len(c) > MAX_CELL_CHARS:
                where = 1 if i < 0 else table.row_numbers[i]
                col = table.header[j] if i >= 0 and j < len(table.header) else f"第 {j + 1} 列"
                raise FileError(f"单元格有 {len(c):,} 个字符，超过上限 {MAX_CELL_CHARS:,}", where, col, shorten(c))


# --- header mapping -----------------------------------------------------------------


def map_header(kind: str, file: str, header: list[str]) -> tuple[dict[str, int], list[RowError], list[str]]:
    """field -> column index; errors for missing required / repeated columns; ignored headers."""
    by_name: dict[str, str] = {}
    for c in SPECS[kind]:
        for name in (c.header, c.field, *c.aliases):
            by_name[nfkc(name).lower()] = c.field
    index: dict[str, int] = {}
    errors: list[RowError] = []
    ignored: list[str] = []
    for i, h in enumerate(header):
        key = nfkc(h).lower()
        if not key:
            continue
        f = by_name.get(key)
        if f is None:
            ignored.append(h)
            continue
        if f in index:
            errors.append(RowError(file, 1, h, h, f"列“{HEADER_OF[kind][f]}”重复出现"))
            continue
        index[f] = i
    for c in SPECS[kind]:
        if c.required and c.field not in index:
            errors.append(RowError(file, 1, c.header, "", f"缺少必需的列“{c.header}”（或 {c.field}）"))
    return index, errors, ignored


# --- validation ------------------------------------------------------------------------


@dataclass
class Lookups:
    """What rows refer to, loaded by the service for one bureau."""

    bureau_id: int
    towns: dict[str, str]  # name -> code, and code -> code (this bureau's towns)
    departments: dict[str, int]  # name -> id, code -> id
    department_names: dict[int, str]
    risk_classes: tuple[str, ...]
    inspectors: dict[str, int] = field(default_factory=dict)  # inspector_id -> pk (conflicts)
    today: Optional[dt.date] = None  # the import's day (Beijing): dates that have happened are not after it


class Validated:
    """Valid records with their Excel row numbers, and the errors.

    A record is a tuple of storage values in `fields` order; the key fields come first.
    A big clean file keeps its values column by column (`columns`, one list per
    field) and builds `records` only when something asks for them: the bulk
    insert makes its storage rows straight from the columns.
    """

    __slots__ = ("fields", "_records", "row_numbers", "errors", "rejected_rows", "total", "_columns")

    def __init__(
        self,
        fields: tuple[str, ...],
        records: Optional[list[tuple]],
        row_numbers: list[int],
        errors: list[RowError],
        rejected_rows: list[dict],
        total: int,
        columns: Optional[list[list]] = None,
    ) -> None:
        self.fields = fields  # fields present in the file, in SPECS order
        self._records = records if records is not None or columns is not None else []
        self._columns = columns
        self.row_numbers = row_numbers
        self.errors = errors
        self.rejected_rows = rejected_rows  # header -> raw text, plus "错误" for rejected rows
        self.total = total

    @property
    def records(self) -> list[tuple]:
        if self._records is None:
            self._records = list(zip(*self._columns)) if self._columns else []
            self._columns = None
        return self._records

    @records.setter
    def records(self, value: list[tuple]) -> None:
        self._records = value
        self._columns = None

    @property
    def columns(self) -> Optional[list[list]]:
        """The valid values field by field, while `records` has not been built (else None)."""
        return self._columns

    def __len__(self) -> int:
        """The number of valid records."""
        if self._records is None:
            return len(self._columns[0]) if self._columns else 0
        return len(self._records)


_USCC_VALUE = {c: i for i, c in enumerate(uscc.ALPHABET)}


def check_uscc(code: str) -> str:
    """Same answer as `uscc.validate`, with a fast path for well-formed codes."""
    if len(code) == 18 and code.isascii() and code[2:8].isdigit():
        try:
            total = sum(map(mul, map(_USCC_VALUE.__getitem__, code[:17]), uscc.WEIGHTS))
            if uscc.ALPHABET[(31 - total % 31) % 31] == code[17] and code[17] in _USCC_VALUE:
                return code
        except KeyError:
            pass
    return uscc.validate(code)


# Fields holding a date (validated as ISO text, stored as a date).
DATE_FIELDS = frozenset({"registered_on", "cert_valid_until"})


def parse_date(v: str) -> str:
    """YYYY-MM-DD (or Excel's YYYY/M/D) -> ISO text; ValueError with a Chinese reason."""
    if len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            d = dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError("日期无效，应为 YYYY-MM-DD 格式的真实日期") from None
    else:
        m = _DATE_SLASH.fullmatch(v)
        if not m:
            raise ValueError("日期格式应为 YYYY-MM-DD")
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ValueError("日期无效，应为 YYYY-MM-DD 格式的真实日期") from None
    if d.year < 1900:
        raise ValueError("日期早于1900年")
    if d.year > LATEST_YEAR:
        raise ValueError(f"日期晚于 {LATEST_YEAR} 年，不是真实的日期（如 9999-12-31 这样的占位值）")
    return d.isoformat()


LATEST_YEAR = 2100


def _past_date(lk: "Lookups") -> Callable[[str], str]:
    """A date that has happened (成立日期): not after the import's day."""

    def conv(v: str) -> str:
        iso = parse_date(v)
        if lk.today is not None and iso > lk.today.isoformat():
            raise ValueError(f"日期晚于今天（{lk.today.isoformat()}），不可能已经发生")
        return iso

    return conv


def parse_ratio(v: str) -> str:
    """'0.05' or '5%' -> canonical decimal text in (0, 1]."""
    try:
        d = Decimal(v[:-1]) / 100 if v.endswith("%") else Decimal(v)
    except InvalidOperation:
        raise ValueError("比例应为小数（如 0.05）或百分数（如 5%）") from None
    if not d.is_finite() or d <= 0 or d > 1:
        raise ValueError("比例应大于0且不超过100%")
    text = format(d.normalize(), "f")
    return text


def split_multi(v: str) -> list[str]:
    return [p.strip() for p in v.replace("；", ";").split(";") if p.strip()]


def join_sorted(values: Iterable[str]) -> str:
    return ";".join(sorted({v for v in values if v}))


def _yes(v: str) -> bool:
    b = YES.get(v.upper())
    if b is None:
        raise ValueError("应填“是”或“否”")
    return b


def _enum(choices: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(choices)
    msg = "应为 " + " / ".join(allowed) + " 之一"

    def conv(v: str) -> str:
        if v not in allowed:
            raise ValueError(msg)
        return v

    return conv


def _industry(v: str) -> str:
    v = v.upper()
    if not _INDUSTRY.fullmatch(v):
        raise ValueError("行业代码应为 GB/T 4754 代码：一个字母加2至4位数字，如 C1391、F5211")
    return v


def _industries(v: str) -> str:
    out = []
    for p in split_multi(v):
        p = p.upper()
        if not _INDUSTRY_PREFIX.fullmatch(p):
            raise ValueError(f"“{p}”不是 GB/T 4754 行业代码或前缀（如 F、F52、C1391）")
        out.append(p)
    return join_sorted(out)


def _methods(v: str) -> str:
    parts = list(dict.fromkeys(p.strip() for p in _METHOD_SEP.split(v) if p.strip()))
    long = [p for p in parts if len(p) > 20]
    if long or not parts:
        raise ValueError(f"检查方式“{'、'.join(long) or v}”过长或为空：每种方式不超过 20 个字，多个用顿号分隔"
                         "（如 " + "、".join(METHODS[:2]) + "）")
    return "、".join(parts)


def _entity_types(v: str) -> str:
    parts = split_multi(v)
    for p in parts:
        if p not in vocabulary.ENTITY_TYPES:
            raise ValueError(f"“{p}”不是主体类型（" + " / ".join(vocabulary.ENTITY_TYPES) + "）")
    return join_sorted(parts)


def _item_kind(v: str) -> str:
    k = ITEM_KINDS.get(v) or (v.lower() if v.lower() in ITEM_KIND_NAMES else None)
    if k is None:
        raise ValueError("事项类别应为 重点 / 一般")
    return k


def _tags(v: str) -> str:
    return join_sorted(split_multi(v))


def _lookup_converters(lk: Lookups) -> dict[str, Callable[[str], object]]:
    """The converters that resolve names and codes against this bureau's tables."""

    def town(v: str) -> str:
        code = lk.towns.get(v)
        if code is None:
            if _TOWN_CODE.fullmatch(v):
                raise ValueError("乡镇街道代码不存在或不属于本局辖区")
            raise ValueError("乡镇街道名称不存在或不属于本局辖区（可填名称或9位代码）")
        return code

    def department(v: str) -> int:
        d = lk.departments.get(v)
        if d is None:
            raise ValueError("部门不存在（应为本局联席会议成员单位的名称或代码）")
        return d

    def department_name(v: str) -> str:
        return lk.department_names[department(v)]

    def department_names(v: str) -> str:
        return join_sorted(department_name(p) for p in split_multi(v))

    def risk(v: str) -> str:
        v = v.upper()
        if v not in lk.risk_classes:
            raise ValueError("信用风险分类应为 " + " / ".join(lk.risk_classes) + " 之一")
        return v

    def towns(v: str) -> str:
        return join_sorted(town(p) for p in split_multi(v))

    def inspector(v: str) -> int:
        pk = lk.inspectors.get(v)
        if pk is None:
            raise ValueError("执法检查人员不存在（请先导入执法检查人员名录库）")
        return pk

    return {"town": town, "department": department, "department_name": department_name,
            "department_names": department_names, "risk": risk, "towns": towns, "inspector": inspector}


def _converters(kind: str, lk: Lookups) -> dict[str, Callable[[str], object]]:
    """field -> function(normalised text) -> storage value, raising ValueError(reason)."""
    by = _lookup_converters(lk)
    table: dict[str, dict[str, Callable]] = {
        "enterprises": {
            "entity_type": _enum(vocabulary.ENTITY_TYPES),
            "industry_code": _industry,
            "town_code": by["town"],
            "registered_on": _past_date(lk),
            "status": _enum(vocabulary.STATUSES),
            "risk_class": by["risk"],
            "tags": _tags,
        },
        "inspectors": {"department_id": by["department"], "qualifications": _tags, "active": _yes,
                       "cert_valid_until": parse_date},
        "experts": {"active": _yes},
        "items": {
            "kind": _item_kind,
            "method": _methods,
            "department_id": by["department"],
            "scope_entity_types": _entity_types,
            "scope_industries": _industries,
            "scope_tags": _tags,
            "scope_towns": by["towns"],
            "ratio_cap": parse_ratio,
            "ratio_floor": parse_ratio,
            "required_qualifications": _tags,
            "initiating_department": by["department_name"],
            "cooperating_departments": by["department_names"],
        },
        "conflicts": {
            "inspector_pk": by["inspector"],
            "reason": _enum(CONFLICT_REASONS),
            "declared_by": _enum(DECLARED_BY),
        },
    }
    conv = {c.field: _text for c in SPECS[kind]}
    if "uscc" in conv:
        conv["uscc"] = _uscc
    conv.update(table[kind])
    return conv


def _text(v: str) -> str:
    bad = _INVISIBLE.search(v)
    if bad:
        raise ValueError(f"含有不可见的零宽或文字方向控制字符（{_control_name(bad.group())}），请删除后再导入")
    return v


def _uscc(v: str) -> str:
    try:
        return check_uscc(v.upper())
    except uscc.USCCError as exc:
        raise ValueError(exc.reason) from None


# Values when an optional column is absent or empty (on insert).
DEFAULTS: dict[str, dict[str, object]] = {
    "enterprises": {"address": "", "registered_on": None, "tags": ""},
    "inspectors": {"qualifications": "", "region": "", "active": True, "cert_valid_until": None},
    "experts": {"organisation": "", "active": True},
    "items": {
        "method": "现场检查",
        "legal_basis": "",
        "scope_entity_types": "",
        "scope_industries": "",
        "scope_tags": "",
        "scope_towns": "",
        "ratio_cap": None,
        "ratio_floor": None,
        "required_qualifications": "",
        "expert_field": "",
        "initiating_department": "",
        "cooperating_departments": "",
    },
    "conflicts": {"declared_by": "本人申报", "note": ""},
}

# Maximum text lengths (from db/models.py) so the database never truncates or fails.
MAX_LEN: dict[str, dict[str, int]] = {
    "enterprises": {"name": 200, "address": 300},
    "inspectors": {"inspector_id": 32, "name": 50, "cert_no": 32, "region": 100},
    "experts": {"expert_id": 32, "name": 100, "field": 50, "organisation": 200},
    "items": {
        "code": 32,
        "category": 100,
        "name": 200,
        "scope_entity_types": 200,
        "scope_industries": 500,
        "scope_tags": 500,
        "scope_towns": 1000,
        "required_qualifications": 500,
        "expert_field": 50,
        "initiating_department": 100,
        "cooperating_departments": 500,
    },
    "conflicts": {"note": 500},
}


class _Bad:
    """A cell that failed conversion (kept in the column list in place of a value)."""

    __slots__ = ("value", "reason")

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason


def _column_converter(fn: Callable[[str], object], required: bool, default: object, ml: Optional[int], failures: list):
    """A converter of one normalised cell (see `normalise_column`); `failures` counts
    the _Bad values made (so clean columns skip the scan)."""

    def conv(v: str):
        if not v:
            if required:
                failures.append(1)
                return _Bad("", "必填项为空")
            return default
        if ml is not None and len(v) > ml:
            failures.append(1)
            return _Bad(v, f"长度超过{ml}个字符")
        try:
            return fn(v)
        except ValueError as exc:
            failures.append(1)
            return _Bad(v, str(exc))

    return conv


_SEP = "\x00"


def normalise_column(col) -> list[str]:
    """`nfkc` of every cell, as a new list.

    One NFKC pass over the column joined with NUL when no cell holds a NUL: NUL is
    a starter that never composes or reorders with its neighbours, so normalising
    the joined text and splitting it again is the same as normalising cell by cell
    (tests/test_importing.py checks it against `nfkc`), at a fraction of the calls.
    """
    n = len(col)
    joined = _SEP.join(col)
    if joined.count(_SEP) != n - 1:
        return list(map(nfkc, col))
    if not joined.isascii():
        joined = unicodedata.normalize("NFKC", joined)
    return list(map(str.strip, joined.split(_SEP))) if n else []


def _convert_column(
    col,
    fn: Callable[[str], object],
    conv: Callable[[str], object],
    ml: Optional[int],
    default: object,
    required: bool,
    normalised: bool = False,
) -> list:
    """Convert a whole column of raw cells (`conv` converts one normalised cell).

    A repetitive column (enums, towns, dates) converts each distinct raw value
    once. Otherwise every cell is normalised (`normalised`: only stripped), then
    free text that is short enough is kept as it is (no call per cell), USCCs are
    checked vectorised, and anything else goes through `conv` cell by cell."""
    n = len(col)
    if fn is not _text and fn is not _uscc:
        uniq = set(col)
        if len(uniq) * 4 < n:
            # One object per distinct value: less memory, and SQLite's driver encodes
            # each object to UTF-8 once (a million equal but separate strings cost more).
            memo = {v: conv(nfkc(v)) for v in uniq}
            return list(map(memo.__getitem__, col))
    vals = list(map(str.strip, col)) if normalised else normalise_column(col)
    if fn is _text and (ml is None or max(map(len, vals), default=0) <= ml) and not _INVISIBLE.search("\n".join(vals)):
        if (not required and default == "") or "" not in vals:
            return vals
    if fn is _uscc:
        return _uscc_column(vals, conv)
    return list(map(conv, vals))


_USCC_LUT = np.full(256, 255, dtype=np.uint8)  # byte -> GB 32100 value, 255: not in the alphabet
for _c, _i in _USCC_VALUE.items():
    _USCC_LUT[ord(_c)] = _i
_USCC_WEIGHTS = np.array(uscc.WEIGHTS, dtype=np.int64)


def _uscc_column(vals: list[str], conv: Callable[[str], object]) -> list:
    """`conv` (that is `check_uscc`) over a column of normalised cells, in place.

    The codes that are 18 ASCII characters are checked at once with numpy: every
    character in the alphabet, positions 3-8 digits, the check character right;
    those pass unchanged (`check_uscc` returns them as they are). Every other cell
    (wrong length, lower case, full-width left over, bad check) goes through `conv`,
    which gives the exact answer and the reason."""
    n = len(vals)
    if not n:
        return vals
    joined = "".join(vals)
    if joined.isascii() and set(map(len, vals)) == {18}:
        idx = None
    else:
        idx = [i for i, v in enumerate(vals) if len(v) == 18 and v.isascii()]
        joined = "".join([vals[i] for i in idx])
    codes = _USCC_LUT[np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 18)]
    ok = (codes != 255).all(axis=1) & (codes[:, 2:8] < 10).all(axis=1)
    total = codes[:, :17].astype(np.int64) @ _USCC_WEIGHTS
    ok &= (31 - total % 31) % 31 == codes[:, 17]
    if idx is not None:
        good = np.zeros(n, dtype=bool)
        good[np.array(idx, dtype=np.int64)] = ok
        ok = good
    for i in np.flatnonzero(~ok).tolist():
        vals[i] = conv(vals[i])
    return vals


@dataclass
class _Converted:
    """A file's converted columns (one list per present field) and its bad rows so far.

    `all_records()` zips the columns into row tuples once, and only when a row-wise
    check needs them: a clean enterprise file never builds them here."""

    results: list[list]
    bad_cells: dict[int, list[RowError]]
    records: Optional[list[tuple]] = None

    def all_records(self) -> list[tuple]:
        if self.records is None:
            self.records = list(zip(*self.results)) if self.results else []
        return self.records


def _raw_row(table: Table, width: int, i: int) -> list[str]:
    """Data row i's raw cells, cut or padded to the header's width."""
    r = table.row(i)
    return r[:width] if len(r) >= width else list(r) + [""] * (width - len(r))


def _convert_columns(
    kind: str,
    file: str,
    table: Table,
    lk: Lookups,
    index: dict[str, int],
    specs: list[Col],
    progress: Optional[Callable[[int], None]],
) -> _Converted:
    """Every present column converted whole; each failed cell becomes a RowError of its row."""
    conv = _converters(kind, lk)
    defaults = DEFAULTS[kind]
    maxlen = MAX_LEN[kind]
    numbers = table.row_numbers
    total = len(table)
    columns = table.columns(len(table.header))
    bad_cells: dict[int, list[RowError]] = {}
    results: list[list] = []
    for j, c in enumerate(specs):
        col = columns[index[c.field]]
        failures: list = []
        fn, default, ml = conv[c.field], defaults.get(c.field, ""), maxlen.get(c.field)
        res = _convert_column(
            col, fn, _column_converter(fn, c.required, default, ml, failures), ml, default, c.required, table.normalised
        )
        for i in [i for i, x in enumerate(res) if x.__class__ is _Bad] if failures else ():
            b = res[i]
            bad_cells.setdefault(i, []).append(RowError(file, numbers[i], c.header, b.value, b.reason))
        results.append(res)
        if progress is not None:
            progress(total * (j + 1) // (len(specs) + 1))
    return _Converted(results, bad_cells)


def _check_item_rows(file: str, numbers: list[int], present: tuple[str, ...], cv: _Converted) -> None:
    """The item list's cross-field rules on every row whose cells all converted."""
    bad_cells = cv.bad_cells
    for i, rec in enumerate(cv.all_records()):
        if i not in bad_cells:
            errs = _check_item(file, numbers[i], dict(zip(present, rec)))
            if errs:
                bad_cells[i] = errs


def _mark_duplicates(
    kind: str, file: str, table: Table, index: dict[str, int], present: tuple[str, ...], cv: _Converted
) -> None:
    """Rows repeating an earlier row's key (and, for inspectors, 执法证号) become bad rows."""
    numbers = table.row_numbers
    width = len(table.header)
    total = len(table)
    bad_cells = cv.bad_cells
    nk = len(KEYS[kind])
    key_headers = "、".join(HEADER_OF[kind][f] for f in KEYS[kind])
    unique_sets = [(tuple(range(nk)), key_headers)]
    if kind == "inspectors":
        unique_sets.append(((present.index("cert_no"),), HEADER_OF[kind]["cert_no"]))
    for positions, header in unique_sets:
        seen: dict = {}
        single = positions[0] if len(positions) == 1 else None
        if single is not None and not bad_cells and len(set(cv.results[single])) == total:
            continue  # the common case: no duplicates at all
        for i, rec in enumerate(cv.all_records()):
            if i in bad_cells:
                continue
            k = rec[single] if single is not None else tuple(rec[p] for p in positions)
            first = seen.setdefault(k, i)
            if first != i:
                shown = k if single is not None else "、".join(
                    str(_raw_row(table, width, i)[index[present[p]]]) for p in positions)
                bad_cells[i] = [RowError(file, numbers[i], header, nfkc(str(shown)), f"与第 {numbers[first]} 行重复")]


# A rejected cell longer than this is cut in the reject report (no column of the lists holds more).
REJECT_CELL_CHARS = 1000


def _rejected_cell(v: str) -> str:
    return shorten(v) if len(v) > REJECT_CELL_CHARS else v


def _rejections(table: Table, bad_cells: dict[int, list[RowError]]) -> tuple[list[RowError], list[dict]]:
    """The errors in row order, and each bad row's raw cells with 行号 and its 错误 text."""
    numbers = table.row_numbers
    width = len(table.header)
    errors: list[RowError] = []
    rejected: list[dict] = []
    header_by_index = table.header
    for i in sorted(bad_cells):
        row_errors = bad_cells[i]
        errors.extend(row_errors)
        raw = _raw_row(table, width, i)
        bad = {header_by_index[j]: _rejected_cell(raw[j]) for j in range(width)}
        bad["行号"] = numbers[i]
        bad["错误"] = "；".join(f"[{e.column}] {e.reason}" for e in row_errors)
        rejected.append(bad)
    return errors, rejected


def validate_rows(
    kind: str,
    file: str,
    table: Table,
    lk: Lookups,
    progress: Optional[Callable[[int], None]] = None,
) -> Validated:
    """Map the header, convert every cell, check keys for duplicates inside the file.

    Works column by column (a million-row file is ten list passes, not ten
    million Python calls): enum-like columns are converted once per distinct value.
    """
    if kind not in SPECS:
        raise ValueError(f"未知的导入类型：{kind}（可选：{'、'.join(KINDS)}）")
    index, header_errors, _ignored = map_header(kind, file, table.header)
    total = len(table)
    if header_errors:
        return Validated((), [], [], header_errors, [], total)
    specs = [c for c in SPECS[kind] if c.field in index]
    present = tuple(c.field for c in specs)
    numbers = table.row_numbers
    cv = _convert_columns(kind, file, table, lk, index, specs, progress)
    if kind == "items":
        _check_item_rows(file, numbers, present, cv)
    _mark_duplicates(kind, file, table, index, present, cv)
    errors, rejected = _rejections(table, cv.bad_cells)
    if progress is not None:
        progress(total)
    bad_cells = cv.bad_cells
    if bad_cells:
        keep = [i for i in range(total) if i not in bad_cells]
        recs = cv.all_records()
        return Validated(present, [recs[i] for i in keep], [numbers[i] for i in keep], errors, rejected, total)
    if cv.records is not None:
        return Validated(present, cv.records, list(numbers), errors, rejected, total)
    return Validated(present, None, list(numbers), errors, rejected, total, columns=cv.results)


def _check_item(file: str, rownum: int, rec: dict) -> list[RowError]:
    """Cross-field rules of the item list: ratio cap per item kind."""
    h = HEADER_OF["items"]
    errs = []
    cap = rec.get("ratio_cap")
    floor = rec.get("ratio_floor")
    if rec.get("kind") == "general" and not cap:
        errs.append(RowError(file, rownum, h["ratio_cap"], "", "一般检查事项必须填写抽查比例上限"))
    if rec.get("kind") == "key" and cap:
        errs.append(RowError(file, rownum, h["ratio_cap"], cap, "重点检查事项不设抽查比例上限，此项须为空"))
    if cap and floor and Decimal(floor) > Decimal(cap):
        errs.append(RowError(file, rownum, h["ratio_floor"], floor, "抽查比例下限不得高于上限"))
    return errs


# --- display ----------------------------------------------------------------------------


def display_rows(kind: str, table: Table, limit: int) -> list[dict]:
    """The first `limit` rows as {Chinese header: normalised text}, for previews."""
    index, _errors, _ignored = map_header(kind, "", table.header)
    out = []
    for raw in map(table.row, range(min(limit, len(table)))):
        n = len(raw)
        out.append({c.header: (nfkc(raw[index[c.field]]) if c.field in index and index[c.field] < n else "") for c in SPECS[kind]})
    return out


# --- templates ------------------------------------------------------------------------------


def _example(kind: str, c: Col) -> str:
    if c.field == "uscc":
        return EXAMPLE_USCC
    return c.example


def template_bytes(kind: str, fmt: str = "csv") -> bytes:
    """Headers plus one importable example row (hints as XLSX header comments).

    CSV is written as UTF-8 with BOM so that Excel opens it with the right encoding.
    """
    if kind not in SPECS:
        raise ValueError(f"未知的导入类型：{kind}（可选：{'、'.join(KINDS)}）")
    headers = list(COLUMNS[kind])
    example = [_example(kind, c) for c in SPECS[kind]]
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(headers)
        w.writerow(example)
        return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.comments import Comment
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = KIND_NAMES[kind]
        ws.append(headers)
        ws.append(example)
        for j, c in enumerate(SPECS[kind], start=1):
            cell = ws.cell(row=1, column=j)
            cell.font = Font(bold=True, color="C00000" if c.required else "000000")
            note = ("必填。" if c.required else "选填。") + (c.hint or "")
            cell.comment = Comment(note, "dsr")
            # Text format, so Excel keeps leading zeros and long codes as typed.
            for r in (2, 3):
                ws.cell(row=r, column=j).number_format = "@"
            ws.column_dimensions[cell.column_letter].width = max(12, len(c.header) * 2 + 4)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    raise ValueError("模板格式应为 csv 或 xlsx")


def rejects_csv(rows: list[dict]) -> bytes:
    """Rejected rows as UTF-8 (with BOM, for Excel) CSV to fix and re-import: the
    original columns, then 行号 and 错误. Cells that would start a spreadsheet
    formula are neutralised, as in every export."""
    import csv as _csv
    import io as _io

    from scheduler.exchange.tables import neutralise

    headers: list[str] = []
    for r in rows:
        for h in r:
            if h not in headers and h not in ("行号", "错误"):
                headers.append(h)
    headers += ["行号", "错误"]
    buf = _io.StringIO(newline="")
    w = _csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    for r in rows:
        w.writerow([neutralise(str(r.get(h, "") if r.get(h) is not None else "")) for h in headers])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
