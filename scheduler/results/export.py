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

import html
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from scheduler.exchange.tables import Table, safe_name

FORMATS = ("csv", "xlsx", "json", "html")

RESULTS = "检查结果"
PLANS = "抽查计划"
ITEMS = "抽查事项清单"
PACKAGES = "抽取核验包"
VISITS = "联合检查统计"  # 进一次门、查多项事: aggregate counts only (no entity, no risk class)
ABNORMAL = "经营异常名录"  # listing and removal decisions (企业经营异常名录管理暂行办法), public by law
PENALTIES = "行政处罚信息"  # penalties decided under the ordinary procedure, public by law

# The whitelist: table -> its columns, in order. Nothing else is ever written.
TABLES: dict[str, tuple[str, ...]] = {
    RESULTS: ("统一社会信用代码", "企业名称", "检查实施机关", "检查类型", "检查日期", "检查事项", "检查结果"),
    # Every published version of every plan (抽查计划 as published documents: scheduler/plans/versions.py).
    PLANS: ("计划编号", "计划名称", "计划年度", "版本", "当前版本", "计划类型", "牵头部门", "参与部门", "已抽取期间",
            "检查事项", "事项类别", "检查依据", "抽查范围", "抽查比例", "抽查数量", "抽查期间", "完成时限", "修改理由",
            "发布日期"),
    ITEMS: ("事项编码", "抽查类别", "抽查事项", "事项类别", "检查方式", "检查主体", "检查依据"),
    PACKAGES: ("计划编号", "抽查期间", "名录库对象数", "随机种子", "抽取时间", "核验包"),
    VISITS: ("年度", "抽查期间", "监管局", "牵头部门", "抽查任务数", "入户检查次数", "减少入户次数", "联合检查次数",
             "联合检查占比"),
    ABNORMAL: ("统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "列入决定书文号", "作出决定机关",
               "移出经营异常名录原因", "移出日期", "移出决定书文号"),
    PENALTIES: ("统一社会信用代码", "企业名称", "行政处罚决定书文号", "处罚内容", "作出处罚决定日期", "作出处罚决定机关"),
}

# File stem of each table (ASCII, so links and zips work everywhere).
FILE_STEMS: dict[str, str] = {RESULTS: "results", PLANS: "plans", ITEMS: "items", PACKAGES: "packages",
                              VISITS: "visits", ABNORMAL: "abnormal_list", PENALTIES: "penalties"}

ITEM_KIND_LABELS = {"key": "重点检查事项", "general": "一般检查事项"}
PLAN_KIND_LABELS = {"random": "双随机抽查", "special": "专项检查"}



def public_table(name: str, rows: Sequence[tuple[str, ...]]) -> Table:
    """A table of the public whitelist: its columns are the whitelist's."""
    return Table(name, rows, TABLES[name])


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


