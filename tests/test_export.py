"""The public export (公示): whitelist, leaks, formula injection, HTML escaping, safe names, atomicity.

The world is drawn and driven to publication on real SQLite and PostgreSQL
databases; every output file is then scanned for what must never be public.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlmodel import Session
from typer.testing import CliRunner

from db.models import Department, Enterprise, Inspector, Task, TeamMember
from scheduler.results import export as ex
from scheduler.exchange import tables
from scheduler.calendar import service as calendar
from scheduler.draw import service as draws
from scheduler.results import export_service as es
from scheduler.results import service as rs
from scheduler.access.context import Actor
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from scheduler.verify import verify_package
from tests.factories import world

SEED = "31415926535897932384626433"
DAY = dt.date(2026, 11, 2)
EVIL_FORMULA = "=CMD|' /C calc'!A0"
EVIL_HTML = "<script>alert(1)</script>"
INTERNAL_NOTE = "内部备注不得公开"
ADDRESS = "北京市平谷区测试路1号"
UNPUBLISHED_CATEGORY = "不予配合情节严重"  # only ever entered on a result that stays unpublished
EVIL_PLAN = "../../evil"


# --- pure -----------------------------------------------------------------------------------------


def test_neutralise_only_formula_starts():
    for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", EVIL_FORMULA):
        assert tables.neutralise(v) == "'" + v
    for v in ("", "abc", "2026-11-02", "'=x", " =x", "企业"):
        assert tables.neutralise(v) == v


def test_shape_keeps_only_the_whitelist():
    row = {"统一社会信用代码": "X", "企业名称": "甲", "risk_class": "D", "信用风险分类": "D", "检查结果": "未发现问题",
           "inspector": "张三", "cert_no": "123"}
    assert ex.shape(ex.RESULTS, row) == ("X", "甲", "", "", "", "", "未发现问题")
    assert set(ex.TABLES[ex.RESULTS]) == set(rs.PUBLIC_KEYS)
    forbidden = {"risk_class", "信用风险分类", "风险分类", "执法证号", "cert_no", "检查人员", "地址", "address", "联系电话",
                 "stratum", "分层", "备注", "note"}
    assert not forbidden & {c for cols in ex.TABLES.values() for c in cols}


@given(st.text(max_size=80))
def test_safe_name_never_leaves_the_folder(name):
    s = tables.safe_name(name)
    assert s and "/" not in s and "\\" not in s and s not in (".", "..") and ".." not in s
    assert not s.startswith(".") and len(s) <= 100
    base = Path("/tmp/out/packages")
    assert (base / s).resolve().parent == base.resolve()


def test_safe_name_examples():
    assert tables.safe_name("../../evil_2026-11") == "evil_2026-11"
    assert tables.safe_name("PG-SP_2026-11") == "PG-SP_2026-11"
    assert tables.safe_name("a/b\\c:d") == "a_b_c_d"
    assert tables.safe_name("..") == "_" and tables.safe_name("") == "_"
    assert tables.safe_name("餐饮/抽查") == "餐饮_抽查"


def test_package_dirs_unique_and_safe():
    d = [es.DrawnDraw(1, "../x", "2026-11", 1, "", None), es.DrawnDraw(2, "x", "2026-11", 1, "", None),
         es.DrawnDraw(3, "X", "2026-11", 1, "", None)]
    dirs = es.package_dirs(d)
    assert dirs[1] == "x_2026-11" and len({v.lower() for v in dirs.values()}) == 3
    assert all("/" not in v and not v.startswith(".") for v in dirs.values())


def test_csv_and_xlsx_writers_neutralise(tmp_path):
    t = ex.public_table(ex.ITEMS, [(EVIL_FORMULA, "+1", "-2", "@x", "ok", "\x01ctl", "2026-01-01")])
    tables.write_csv(tmp_path / "t.csv", t)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(ex.TABLES[ex.ITEMS])
    assert rows[1][:5] == ["'" + EVIL_FORMULA, "'+1", "'-2", "'@x", "ok"]
    tables.write_xlsx(tmp_path / "t.xlsx", [t])
    ws = load_workbook(tmp_path / "t.xlsx", read_only=True)[ex.ITEMS]
    cells = [[c.value for c in r] for r in ws.iter_rows()]
    assert cells[1][:5] == ["'" + EVIL_FORMULA, "'+1", "'-2", "'@x", "ok"]
    assert cells[1][5] == "ctl"  # a control character XLSX cannot hold is dropped, not fatal
    assert len(cells) == 2


def test_html_escapes_every_text(tmp_path):
    t = ex.public_table(ex.RESULTS, [("X", EVIL_HTML, "\"'&", "", "", "</script><img src=x onerror=alert(1)>", "")])
    ex.write_html(tmp_path, [t], {"导出时间": "<b>"})
    js = (tmp_path / "data.js").read_text(encoding="utf-8")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in js
    assert "<" not in js and ">" not in js
    assert index.count("<script") == 2 and "<b>" not in index and "&lt;b&gt;" in index
    assert "http://" not in index and "https://" not in index and "http" not in js


# --- the world ------------------------------------------------------------------------------------


class Published:
    """A drawn world where some results are published and one stays reviewed but unpublished."""

    def __init__(self, engine):
        self.engine = engine
        self.bid = world(engine, 400)
        save_approved(engine, PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ",
                                    item_codes=["SP-01", "WS-01"], ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}))
        save_approved(engine, PlanInput(code=EVIL_PLAN, name="企业公示信息抽查", lead_department="SCJGJ",
                                    item_codes=["GS-01"], ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
        draws.execute(engine, "PG-SP", "2026-11", seed=SEED)
        draws.execute(engine, EVIL_PLAN, "2026-11", seed=SEED)
        calendar.seed_from_package(engine, [2026])
        with Session(engine) as s:
            self.dept = {d.code: d.id for d in s.execute(select(Department)).scalars()}
            team: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
            for tid, iid, did in s.execute(select(TeamMember.task_id, Inspector.inspector_id, TeamMember.department_id)
                                           .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                                           .where(TeamMember.active.is_(True))):
                team[tid][did].append(iid)
            tasks = {t.id: t for t in s.execute(select(Task).where(Task.status == "assigned")).scalars()}
            self.inspector_names = list(s.execute(select(Inspector.name)).scalars())
            self.cert_nos = list(s.execute(select(Inspector.cert_no)).scalars())
            self.risk = dict(s.execute(select(Enterprise.uscc, Enterprise.risk_class)).all())
        self.team = team
        joint = [t for t in tasks if len(team[t]) == 2]
        single = [t for t in tasks if set(team[t]) == {self.dept["SCJGJ"]} and self._items(t) == ["SP-01"]]
        assert joint and len(single) >= 3
        self.evil_formula_task, self.evil_html_task, self.plain_task = single[:3]
        self.joint_task = joint[0]
        with engine.begin() as c:
            for tid, name in ((self.evil_formula_task, EVIL_FORMULA), (self.evil_html_task, EVIL_HTML)):
                c.execute(update(Enterprise).where(Enterprise.uscc == tasks[tid].uscc).values(name=name))
        for tid in single[:3]:
            self._enter(tid, "SP-01", "SCJGJ", ["未发现问题"])
            rs.publish(engine, tid, self._reviewer("SCJGJ"), today=DAY + dt.timedelta(days=3))
        self._enter(self.joint_task, "SP-01", "SCJGJ", ["未发现问题"])
        self._enter(self.joint_task, "WS-01", "WJW", [UNPUBLISHED_CATEGORY])
        rs.publish(engine, self.joint_task, self._reviewer("SCJGJ"), today=DAY + dt.timedelta(days=3))
        self.published_usccs = {tasks[t].uscc for t in single[:3] + [self.joint_task]}
        self.unpublished_uscc_name = tasks[self.joint_task].uscc

    def _items(self, tid):
        from db.models import CheckItem, TaskItem

        with Session(self.engine) as s:
            return sorted(s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                                    .where(TaskItem.task_id == tid)).scalars())

    def _reviewer(self, dept):
        return Actor(f"审核员{dept}", "reviewer", self.bid, self.dept[dept])

    def _enter(self, tid, code, dept, cats):
        who = Actor(self.team[tid][self.dept[dept]][0], "inspector", self.bid)
        r = rs.enter_result(self.engine, tid, code, cats, who, note=INTERNAL_NOTE, inspected_on=DAY)
        rs.approve(self.engine, r.id, self._reviewer(dept))


def _all_text(out: Path) -> dict[str, str]:
    """Every file's text; an XLSX as the text of all its XML parts."""
    texts = {}
    for p in tables.iter_files(out):
        rel = p.relative_to(out).as_posix()
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                texts[rel] = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            texts[rel] = p.read_text(encoding="utf-8-sig")
    return texts


def test_export_everything_public_and_nothing_else(engine, tmp_path):
    w = Published(engine)
    out = tmp_path / "公示"
    rep = es.export_public(engine, out)
    assert rep.formats == ("csv", "xlsx", "json", "html")
    assert rep.counts[ex.RESULTS] == 4 and rep.counts[ex.PLANS] == 2 and rep.counts[ex.ITEMS] == 4
    assert rep.counts[ex.PACKAGES] == 2
    # 联合检查统计: the visits of both plans drawn in 2026-11 (counts only).
    from scheduler.visits import service as vs

    fig = vs.year_figures(engine, 2026)
    doc_ = json.loads((out / "public.json").read_text(encoding="utf-8"))
    total = next(r for r in doc_[ex.VISITS] if r["抽查期间"] == "全年合计")
    assert fig["visits"] > 0 and (total["抽查任务数"], total["入户检查次数"], total["减少入户次数"]) == \
        (str(fig["tasks"]), str(fig["visits"]), str(fig["saved"]))
    assert doc_["meta"]["联合检查占比（2026年）"] == total["联合检查占比"]
    assert rep.counts[ex.VISITS] == len(doc_[ex.VISITS]) == 2  # 2026-11 × 区市场监管局, and the year

    # Same rows, same text, same order as the public list.
    public = rs.published_results(engine, page_size=500).rows
    assert es.published_rows(engine) == public
    with open(out / "results.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["统一社会信用代码"] for r in rows] == [r["统一社会信用代码"] for r in public]
    assert {r["检查类型"] for r in rows} == {"双随机抽查", "联合抽查"}
    assert all(r["检查日期"] == DAY.isoformat() and r["检查结果"] == "未发现问题" for r in rows)

    # Formula injection neutralised in CSV and XLSX; the JSON keeps the data as it is.
    names = {r["企业名称"] for r in rows}
    assert "'" + EVIL_FORMULA in names and EVIL_FORMULA not in names and EVIL_HTML in names
    wb = load_workbook(out / "public.xlsx", read_only=True)
    assert wb.sheetnames == [ex.RESULTS, ex.PLANS, ex.ITEMS, ex.PACKAGES, ex.VISITS, ex.ABNORMAL, ex.PENALTIES]
    xnames = {r[1] for r in wb[ex.RESULTS].iter_rows(min_row=2, values_only=True)}
    assert "'" + EVIL_FORMULA in xnames and not any(str(v).startswith("=") for v in xnames)
    doc = json.loads((out / "public.json").read_text(encoding="utf-8"))
    assert {r["企业名称"] for r in doc[ex.RESULTS]} == {r["企业名称"] for r in public}
    assert doc["meta"]["检查结果条数"] == 4

    # Plans and item list.
    plans = {r["计划编号"]: r for r in doc[ex.PLANS]}
    assert plans["PG-SP"]["参与部门"] == "区市场监管局、区卫生健康委" and plans["PG-SP"]["已抽取期间"] == "2026-11"
    assert plans["PG-SP"]["事项类别"] == "重点检查事项" and plans[EVIL_PLAN]["事项类别"] == "一般检查事项"
    items = {r["事项编码"]: r for r in doc[ex.ITEMS]}
    assert items["GS-01"]["检查依据"] == "《企业信息公示暂行条例》" and items["WS-01"]["检查主体"] == "区卫生健康委"

    # Packages: safe folder names inside packages/, and each verifies as a public package.
    pkgs = sorted(p.name for p in (out / "packages").iterdir())
    assert pkgs == ["PG-SP_2026-11", "evil_2026-11"]
    assert not (tmp_path / "evil_2026-11").exists() and not any(tmp_path.parent.glob("evil*"))
    for name in pkgs:
        assert sorted(p.name for p in (out / "packages" / name).iterdir()) == ["audit-head.json", "certificate.json", "commitments.csv", "public_frame.csv"]
        assert verify_package(out / "packages" / name).ok
    assert {r["核验包"] for r in doc[ex.PACKAGES]} == {f"packages/{n}" for n in pkgs}

    # HTML: escaped data, no raw script from data, no external resources.
    js = (out / "data.js").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in js and "<" not in js
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("<script") == 2 and '<script src="data.js"></script>' in index
    assert not re.search(r"(src|href)=\"(https?:)?//", index)

    # The manifest lists every file with its digest; nothing else is in the folder.
    manifest = json.loads((out / es.MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) | {es.MANIFEST} == {p.relative_to(out).as_posix() for p in tables.iter_files(out)}

    # Leak scan over every file.
    texts = _all_text(out)
    assert {"results.csv", "plans.csv", "items.csv", "packages.csv", "public.xlsx", "public.json", "index.html",
            "data.js"} <= set(texts)
    for rel, text in texts.items():
        for bad in ("risk_class", "信用风险分类", "风险分类", "执法证号", "cert_no", "inspector_id", "inspector_pk",
                    "\"inspector", "检查员", "亲属关系", "\"conflicts\":", ADDRESS, INTERNAL_NOTE, UNPUBLISHED_CATEGORY,
                    "stratum", "strata_by"):
            assert bad not in text, (rel, bad)
        for name in w.inspector_names:
            assert name not in text, (rel, name)
        for cert in w.cert_nos:
            assert cert not in text, (rel, cert)
        for uscc in w.published_usccs:
            risk = w.risk[uscc]
            near = re.escape(uscc) + r"[\"',:;\s|]{1,4}" + risk + r"(?![0-9A-Za-z])"
            assert not re.search(near, text), (rel, uscc)
            assert not re.search(r"(?<![0-9A-Za-z])" + risk + r"[\"',:;\s|]{1,4}" + re.escape(uscc), text), (rel, uscc)
    # The public certificates carry the strata only as commitments labelled S1, S2 ...
    for name in pkgs:
        cert = json.loads((out / "packages" / name / "certificate.json").read_text(encoding="utf-8"))
        assert "strata" not in cert and "reserves" not in cert
        assert [h["label"] for h in cert["hidden_strata"]] == [f"S{i}" for i in range(1, len(cert["hidden_strata"]) + 1)]


def test_only_chosen_formats_and_search_of_nothing(sqlite_engine, tmp_path):
    rep = es.export_public(sqlite_engine, tmp_path / "x", "json, csv")
    assert rep.formats == ("csv", "json") and rep.counts[ex.RESULTS] == 0
    files = {p.name for p in (tmp_path / "x").iterdir()}
    assert files == {"results.csv", "plans.csv", "items.csv", "packages.csv", "visits.csv", "abnormal_list.csv",
                     "penalties.csv", "public.json", es.MANIFEST, "audit-head.json"}
    with pytest.raises(es.ExportRefused, match="不支持的导出格式"):
        es.export_public(sqlite_engine, tmp_path / "y", "csv,pdf")
    assert not (tmp_path / "y").exists()


def test_export_is_atomic(sqlite_engine, tmp_path, monkeypatch):
    base = tmp_path / "exports"
    out = base / "pub"
    es.export_public(sqlite_engine, out, "csv")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ex, "write_json", crash)
    with pytest.raises(OSError, match="disk full"):
        es.export_public(sqlite_engine, out, "csv,json")
    # The previous export is untouched and no half-written folder is left beside it.
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in base.iterdir()) == ["pub"]
    monkeypatch.undo()
    es.export_public(sqlite_engine, out, "json")  # a previous export is replaced as a whole
    assert sorted(p.name for p in out.iterdir()) == ["audit-head.json", es.MANIFEST, "public.json"]
    assert sorted(p.name for p in base.iterdir()) == ["pub"]


def test_refuses_to_replace_a_folder_that_is_not_an_export(sqlite_engine, tmp_path):
    d = tmp_path / "home"
    d.mkdir()
    (d / "thesis.docx").write_text("x")
    with pytest.raises(es.ExportRefused, match="不是以前的公示导出"):
        es.export_public(sqlite_engine, d, "csv")
    assert [p.name for p in d.iterdir()] == ["thesis.docx"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(es.ExportRefused):
        es.export_public(sqlite_engine, tmp_path / "file", "csv")
    es.export_public(sqlite_engine, tmp_path / "empty", "csv")  # an empty (or missing) folder is fine


def test_zip_holds_the_export(sqlite_engine):
    data = es.export_zip(sqlite_engine, "csv,html")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
    assert {"dsr-public/results.csv", "dsr-public/index.html", "dsr-public/data.js", "dsr-public/manifest.json"} <= names
    assert all(n.startswith("dsr-public/") and ".." not in n for n in names)


def test_cli_export(sqlite_url, tmp_path, monkeypatch):
    from scheduler.cli import app

    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    r = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "o"), "--format", "csv,json"])
    assert r.exit_code == 0, r.output
    assert "已导出到" in r.output and "检查结果：0 条" in r.output
    assert (tmp_path / "o" / "public.json").is_file() and not (tmp_path / "o" / "public.xlsx").exists()
    r = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "p"), "--format", "pdf"])
    assert r.exit_code == 2 and not (tmp_path / "p").exists()


def test_a_killed_exports_leftover_temp_folder_is_removed_by_the_next_export(sqlite_engine, tmp_path):
    import os
    import time

    from scheduler.results.export_service import export_public
    from scheduler.demo.service import ensure_pinggu
    from sqlmodel import Session

    with Session(sqlite_engine) as s:
        ensure_pinggu(s)
        s.commit()
    out = tmp_path / "gongshi"
    stale = tmp_path / ".gongshi.tmp-deadbeef0000"
    stale.mkdir()
    (stale / "results.csv").write_text("half", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".gongshi.tmp-running00000"
    fresh.mkdir()
    export_public(sqlite_engine, out, formats="csv")
    assert not stale.exists(), "a killed export's folder is cleaned up"
    assert fresh.exists(), "a folder that may belong to a running export is left alone"
    assert (out / "results.csv").exists()
