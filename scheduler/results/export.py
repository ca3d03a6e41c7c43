"""The public export (公示): what the public may see, shaped and written to files.

Pure: no database, no clock. The services read the rows (scheduler.results.export_service)
and hand them here; every table goes through `shape`, which keeps only the
columns of its whitelist (`TABLES`), so a field that is not listed there
(risk class, inspector, conflict, address, note, stratum ...) cannot reach a file
whatever the reader returns.

Writers: CSV (UTF-8 with BOM so that Excel reads Chinese), XLSX (streamed
SpreadsheetML), JSON, and a static HTML site (index.html + data.js) that searches
offline. Spreadsheet cells that a spreadsheet would run as a formula are
neutralised with a leading apostrophe; every text of the HTML site is
HTML-escaped.
"""

from __future__ import annotations

import csv
import html
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

FORMATS = ("csv", "xlsx", "json", "html")

RESULTS = "检查结果"
PLANS = "抽查计划"
ITEMS = "抽查事项清单"
PACKAGES = "抽取核验包"
VISITS = "联合检查统计"  # 进一次门、查多项事: aggregate counts only (no entity, no risk class)

# The whitelist: table -> its columns, in order. Nothing else is ever written.
TABLES: dict[str, tuple[str, ...]] = {
    RESULTS: ("统一社会信用代码", "企业名称", "检查实施机关", "检查类型", "检查日期", "检查事项", "检查结果"),
    PLANS: ("计划编号", "计划名称", "计划类型", "牵头部门", "参与部门", "已抽取期间", "检查事项", "事项类别"),
    ITEMS: ("事项编码", "抽查类别", "抽查事项", "事项类别", "检查方式", "检查主体", "检查依据"),
    PACKAGES: ("计划编号", "抽查期间", "名录库对象数", "随机种子", "抽取时间", "核验包"),
    VISITS: ("年度", "抽查期间", "监管局", "牵头部门", "抽查任务数", "入户检查次数", "减少入户次数", "联合检查次数",
             "联合检查占比"),
}

# File stem of each table (ASCII, so links and zips work everywhere).
FILE_STEMS: dict[str, str] = {RESULTS: "results", PLANS: "plans", ITEMS: "items", PACKAGES: "packages",
                              VISITS: "visits"}

ITEM_KIND_LABELS = {"key": "重点检查事项", "general": "一般检查事项"}
PLAN_KIND_LABELS = {"random": "双随机抽查", "special": "专项检查"}

# A spreadsheet treats a cell starting with one of these as a formula (or DDE).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (so XLSX) cannot hold.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]+")
XLSX_MAX_ROWS = 1_048_575  # one row of the sheet is the header


def shape(table: str, row: Mapping[str, Any]) -> tuple[str, ...]:
    """The row's whitelisted values for `table`, in column order, as text (missing keys are empty)."""
    return tuple(_text(row.get(c)) for c in TABLES[table])


def shape_rows(table: str, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    cols = TABLES[table]
    return [tuple(_text(r.get(c)) for c in cols) for r in rows]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "、".join(_text(x) for x in v)
    return str(v)


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
    """One exported table: its whitelist name and its shaped rows. `headers`: the columns of a
    table outside the public whitelist (an internal export, e.g. 两库一单 in its import columns)."""

    name: str
    rows: Sequence[tuple[str, ...]]
    headers: tuple[str, ...] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.headers if self.headers is not None else TABLES[self.name]


# --- writers ----------------------------------------------------------------------------------


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


def write_json(path: Path, tables: Sequence[Table], meta: Mapping[str, Any]) -> Path:
    """{"meta": {...}, "<table>": [{column: value}, ...], ...}"""
    doc: dict[str, Any] = {"meta": dict(meta)}
    for t in tables:
        cols = t.columns
        doc[t.name] = [dict(zip(cols, row)) for row in t.rows]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
    return path


def _js_data(tables: Sequence[Table], meta: Mapping[str, Any], package_links: Mapping[str, str]) -> str:
    """data.js: every text HTML-escaped, then JSON; no '<' survives, so nothing in it can close a tag."""
    esc = html.escape
    doc = {
        "meta": {esc(str(k)): esc(_text(v)) for k, v in meta.items()},
        "tables": [
            {"name": esc(t.name), "key": FILE_STEMS[t.name], "columns": [esc(c) for c in t.columns],
             "rows": [[esc(v) for v in row] for row in t.rows]}
            for t in tables
        ],
        # Relative links to the packages' folders, keyed by the escaped 核验包 cell.
        "links": {esc(k): _escape_href(v) for k, v in package_links.items()},
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    # Belt and braces: html.escape already removed '<' and '>'; U+2028/2029 end a JS line in old engines.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return "window.DSR_PUBLIC = " + text + ";\n"


def _escape_href(href: str) -> str:
    # Only relative links into the export itself (built from safe names) are allowed.
    parts = [p for p in href.split("/") if p]
    return html.escape("/".join(safe_name(p) for p in parts) + "/")


INDEX_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'none'; connect-src 'none'">
<title>{title}</title>
<style>
body {{ font-family: "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.4em; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; margin-bottom: 0.8em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
nav button {{ margin-right: 0.5em; }}
nav button.on {{ font-weight: bold; }}
input[type=search] {{ width: 28em; padding: 4px; }}
.muted {{ color: #777; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="muted">{subtitle}</p>
<nav id="tabs"></nav>
<p><input type="search" id="q" placeholder="输入统一社会信用代码或企业名称、关键词检索" autocomplete="off">
<span id="count" class="muted"></span></p>
<div id="out"></div>
<p><button id="prev">上一页</button> <span id="pageinfo" class="muted"></span> <button id="next">下一页</button></p>
<noscript><p>本页检索需要启用 JavaScript；数据另见同目录下的 CSV、XLSX、JSON 文件。</p></noscript>
<script src="data.js"></script>
<script>
(function () {{
  "use strict";
  var D = window.DSR_PUBLIC, PAGE = 50, cur = 0, page = 0, hits = [];
  // Every text in DSR_PUBLIC is already HTML-escaped; escape the query the same way to compare.
  function esc(s) {{
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
            .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }}
  function el(tag, escapedText) {{ var e = document.createElement(tag); e.innerHTML = escapedText; return e; }}
  function search() {{
    var t = D.tables[cur], q = esc(document.getElementById("q").value.trim().toLowerCase());
    hits = [];
    for (var i = 0; i < t.rows.length; i++) {{
      if (!q || t.rows[i].join("\\u0001").toLowerCase().indexOf(q) >= 0) hits.push(i);
    }}
    page = 0; render();
  }}
  function render() {{
    var t = D.tables[cur], out = document.getElementById("out"), pages = Math.max(1, Math.ceil(hits.length / PAGE));
    out.textContent = "";
    var tbl = document.createElement("table"), tr = document.createElement("tr");
    t.columns.forEach(function (c) {{ tr.appendChild(el("th", c)); }});
    tbl.appendChild(tr);
    hits.slice(page * PAGE, page * PAGE + PAGE).forEach(function (i) {{
      var row = document.createElement("tr");
      t.rows[i].forEach(function (v, j) {{
        var td = el("td", v);
        if (t.key === "packages" && t.columns[j] === "核验包" && D.links[v]) {{
          td.textContent = "";
          ["certificate.json", "public_frame.csv"].forEach(function (f) {{
            var a = document.createElement("a");
            a.setAttribute("href", el("span", D.links[v]).textContent + f);
            a.textContent = f; td.appendChild(a); td.appendChild(document.createTextNode(" "));
          }});
        }}
        row.appendChild(td);
      }});
      tbl.appendChild(row);
    }});
    out.appendChild(tbl);
    document.getElementById("count").textContent = "共 " + hits.length + " 条";
    document.getElementById("pageinfo").textContent = "第 " + (page + 1) + " / " + pages + " 页";
  }}
  var nav = document.getElementById("tabs");
  D.tables.forEach(function (t, k) {{
    var b = el("button", t.name + "（" + t.rows.length + "）");
    b.onclick = function () {{ cur = k; Array.prototype.forEach.call(nav.children, function (x, j) {{ x.className = j === k ? "on" : ""; }}); search(); }};
    nav.appendChild(b);
  }});
  nav.children[0].className = "on";
  var timer = null;
  document.getElementById("q").addEventListener("input", function () {{ clearTimeout(timer); timer = setTimeout(search, 150); }});
  document.getElementById("prev").onclick = function () {{ if (page > 0) {{ page--; render(); }} }};
  document.getElementById("next").onclick = function () {{ if ((page + 1) * PAGE < hits.length) {{ page++; render(); }} }};
  search();
}})();
</script>
</body>
</html>
"""


def write_html(directory: Path, tables: Sequence[Table], meta: Mapping[str, Any],
               package_links: Mapping[str, str] | None = None, title: str = "双随机、一公开 抽查结果公示") -> Path:
    """index.html + data.js in `directory`: a static, offline site with a search box."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.js").write_text(_js_data(tables, meta, package_links or {}), encoding="utf-8")
    subtitle = "；".join(f"{k}：{_text(v)}" for k, v in meta.items())
    (directory / "index.html").write_text(
        INDEX_HTML.format(title=html.escape(title), subtitle=html.escape(subtitle)), encoding="utf-8")
    return directory / "index.html"


def iter_files(directory: Path) -> Iterator[Path]:
    """Every file under `directory`, sorted (manifest, zips, leak scans)."""
    return iter(sorted(p for p in directory.rglob("*") if p.is_file()))
