"""Tables written to CSV and XLSX files for people outside: formula cells neutralised, safe names.

Pure: no database, no clock. The public export (scheduler.results.export) and the export
of 两库一单 in its import columns (scheduler.library.export_service) both write through here.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from scheduler.errors import DsrError

# A spreadsheet treats a cell starting with one of these as a formula (or DDE).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (so XLSX) cannot hold.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]+")
XLSX_MAX_ROWS = 1_048_575  # one row of the sheet is the header


class ExportRefused(DsrError, ValueError):
    """An export that cannot be made (no bureau chosen, too many rows, a bad format, a folder that
    is not a previous export ...); the message (Chinese) says why. The public export and the
    export of 两库一单 share it: both write through this module."""

    code = "export.refused"


def neutralise(value: str) -> str:
    """A spreadsheet cell that would start a formula gets a leading apostrophe (shown as text)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def safe_name(name: str, max_len: int = 100) -> str:
    """A file or folder name made of letters, digits, CJK, '_', '-', '.': never a path, never '.' or '..'."""
    s = _UNSAFE_NAME.sub("_", name or "")
    # Leading '.', '_', '-' go: no hidden files, nothing an option parser reads, "../x" becomes "x".
    s = re.sub(r"\.{2,}", "_", s).lstrip("._- ").rstrip(". ")
    s = s[:max_len].rstrip(". ")
    return s or "_"


@dataclass(frozen=True)
class Table:
    """One table of a file: its name (the sheet's) and its rows of text under `columns`."""

    name: str
    rows: Sequence[tuple[str, ...]]
    columns: tuple[str, ...]


def write_csv(path: Path, table: Table) -> Path:
    """UTF-8 with BOM, CRLF rows (RFC 4180), formulas neutralised."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(table.columns)
        # Only text that starts with a formula character changes; test the first character only.
        w.writerows([neutralise(v) if v and v[0] in "=+-@\t\r" else v for v in row] for row in table.rows)
    return path


def write_xlsx(path: Path, tables: Sequence[Table]) -> Path:
    """One workbook, one sheet per table (continued on further sheets past Excel's row limit).

    The sheets are streamed as SpreadsheetML with inline strings: openpyxl's
    write-only mode spends ~10 µs per cell (17 s for 100,000 results with lxml,
    24 s without; bench/bench_export.py), this writer ~1 µs. openpyxl reads the
    files back in the tests.
    """
    sheets: list[tuple[str, Sequence[str], Sequence[tuple[str, ...]]]] = []
    for t in tables:
        chunks = [t.rows[i:i + XLSX_MAX_ROWS] for i in range(0, len(t.rows), XLSX_MAX_ROWS)] or [t.rows]
        for k, chunk in enumerate(chunks):
            sheets.append((_sheet_name(t.name if k == 0 else f"{t.name}{k + 1}"), t.columns, chunk))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _XLSX_TYPES.format(sheets="".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))))
        z.writestr("_rels/.rels", _XLSX_ROOT_RELS)
        z.writestr("xl/workbook.xml", _XLSX_WORKBOOK.format(sheets="".join(
            f'<sheet name="{_xml(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, (name, _, _) in enumerate(sheets, 1))))
        z.writestr("xl/_rels/workbook.xml.rels", _XLSX_WB_RELS.format(rels="".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)), styles=len(sheets) + 1))
        z.writestr("xl/styles.xml", _XLSX_STYLES)
        for i, (_, columns, rows) in enumerate(sheets, 1):
            with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as f:
                f.write(_XLSX_SHEET_HEAD.encode("utf-8"))
                buf = [_xlsx_row(columns)]
                for row in rows:
                    buf.append(_xlsx_row(row))
                    if len(buf) >= 5000:
                        f.write("".join(buf).encode("utf-8"))
                        buf.clear()
                buf.append("</sheetData></worksheet>")
                f.write("".join(buf).encode("utf-8"))
    return path


_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '{sheets}</Types>'
)
_XLSX_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_XLSX_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_REL}"><sheets>{{sheets}}</sheets></workbook>'
)
_XLSX_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
    f'<Relationship Id="rId{{styles}}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
)
_XLSX_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_XLSX_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _xml(v: str) -> str:
    return v.translate(_XML_ESCAPES)


def _sheet_name(name: str) -> str:
    return _BAD_SHEET_CHARS.sub("_", name)[:31] or "Sheet"


def _xlsx_row(row: Sequence[str]) -> str:
    # Inline strings: every value is text, so a spreadsheet never evaluates one.
    return "<row>" + "".join(
        '<c t="inlineStr"><is><t xml:space="preserve">' + _xml(_xlsx_cell(v)) + "</t></is></c>" for v in row
    ) + "</row>"


def _xlsx_cell(v: str) -> str:
    if not v:
        return v
    if v[0] in "=+-@\t\r":
        v = "'" + v
    if _XML_ILLEGAL.search(v):
        v = _XML_ILLEGAL.sub("", v)
    return v


def iter_files(directory: Path) -> Iterator[Path]:
    """Every file under `directory`, sorted (manifest, zips, leak scans)."""
    return iter(sorted(p for p in directory.rglob("*") if p.is_file()))
