"""The public export (公示): read what the public may see and write it to a folder, atomically.

Published results are read in one streaming pass (the public list's page
queries would re-sort the whole table per page); the row text is the same as
`results.published_results` gives (tests compare them). Plans, the item list,
the drawn draws' public verification packages and the joint-check statistics
(联合检查统计: visits saved by merging and the joint share, counts only) complete the export.

The folder appears complete or not at all: everything is written into a hidden
sibling folder that is renamed into place at the end. An existing folder is only
replaced if it is a previous export (it holds our manifest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.engine import Engine

from db.models import CheckItem, Department, Draw, Enterprise, FollowUp, ItemResult, Plan, ResultCategory, Task, TaskItem
from db.models import split_list, utcnow
from scheduler.results import export as ex
from scheduler.exchange import tables as xt
from scheduler.exchange.tables import ExportRefused
from scheduler.results import lifecycle as lc
from scheduler.results import followup_service as fu_service
from scheduler.draw import service as draw_service
from scheduler.audit import service as auditlog

MANIFEST = "manifest.json"
MANIFEST_KIND = "dsr-public-export"


@dataclass
class ExportReport:
    out: Path
    formats: tuple[str, ...]
    counts: dict[str, int]
    files: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def parse_formats(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'csv,xlsx' -> ('csv', 'xlsx'); empty -> every format; unknown names refused."""
    if text is None or text == "" or text == ():
        return ex.FORMATS
    parts = text.split(",") if isinstance(text, str) else list(text)
    wanted = {p.strip().lower() for p in parts if p and p.strip()}
    bad = sorted(wanted - set(ex.FORMATS))
    if bad:
        raise ExportRefused(f"不支持的导出格式：{'、'.join(bad)}（可选 {','.join(ex.FORMATS)}）")
    return tuple(f for f in ex.FORMATS if f in wanted) or ex.FORMATS


# --- reads ---------------------------------------------------------------------------------------


def published_rows(engine: Engine) -> list[dict[str, str]]:
    """Every published item result as on the public list (same keys, same text, same order)."""
    with engine.connect() as conn:
        names = dict(conn.execute(select(ResultCategory.code, ResultCategory.name)).all())
        pub_tasks = select(ItemResult.task_id).where(ItemResult.status == lc.PUBLISHED)
        types: dict[int, str] = {}
        for tid, kind, plan_kind, n in conn.execute(
            select(Task.id, Task.kind, Plan.kind, func.count(distinct(CheckItem.department_id)))
            .join(TaskItem, TaskItem.task_id == Task.id)
            .join(CheckItem, CheckItem.id == TaskItem.item_id)
            .outerjoin(Draw, Draw.id == Task.draw_id)
            .outerjoin(Plan, Plan.id == Draw.plan_id)
            .where(Task.id.in_(pub_tasks))
            .group_by(Task.id, Task.kind, Plan.kind)
        ):
            types[tid] = lc.check_type(kind, plan_kind, n)
        fus: dict[int, list[str]] = defaultdict(list)
        for rid, action, outcome in conn.execute(
            select(FollowUp.result_id, FollowUp.action, FollowUp.outcome)
            .join(ItemResult, ItemResult.id == FollowUp.result_id)
            .where(ItemResult.status == lc.PUBLISHED, FollowUp.status == "closed").order_by(FollowUp.id)
        ):
            fus[rid].append(f"后续处置：{action}，{outcome}")
        result = conn.execute(
            # 检查实施机关: the department's legal name, else its short name.
            select(ItemResult.id, ItemResult.task_id, Task.uscc, Enterprise.name,
                   func.coalesce(func.nullif(Department.legal_name, ""), Department.name),
                   Task.completed_on, CheckItem.name, ItemResult.categories)
            .join(Task, Task.id == ItemResult.task_id)
            .join(CheckItem, CheckItem.id == ItemResult.item_id)
            .join(Department, Department.id == ItemResult.department_id)
            .outerjoin(Enterprise, Enterprise.uscc == Task.uscc)
            .where(ItemResult.status == lc.PUBLISHED)
            .order_by(ItemResult.published_at.desc(), ItemResult.id.desc())
        )
        keys = ex.TABLES[ex.RESULTS]
        out = []
        cat_text: dict[str, str] = {}  # few distinct category sets: join their names once
        for rid, tid, uscc, ename, dept, completed, item, cats in result:
            text = cat_text.get(cats)
            if text is None:
                text = cat_text[cats] = "、".join(names.get(c, c) for c in split_list(cats))
            if rid in fus:
                text = text + "；" + "；".join(fus[rid])
            out.append(dict(zip(keys, (uscc, ename or "", dept, types.get(tid, ""),
                                       completed.isoformat() if completed else "", item, text))))
    return out


def _drawn_periods(engine: Engine) -> dict[tuple[str, int], list[str]]:
    """(plan code, version) -> the periods drawn under that version (a draw from before versions: the current one)."""
    out: dict[tuple[str, int], list[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(Plan.code, Plan.version, Draw.period, Draw.plan_version).join(Draw, Draw.plan_id == Plan.id)
                            .where(Draw.status == "drawn").order_by(Draw.period, Draw.id)).all()
    for code, current, period, version in rows:
        out.setdefault((code, version or current), []).append(period)
    return out


def _local_date(t: dt.datetime) -> str:
    if t.tzinfo is None:  # SQLite hands back naive UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def plan_rows(engine: Engine) -> list[dict[str, str]]:
    """抽查计划 as published: every published version of every plan, its text as approved (no ratio by risk class,
    no stratum). Drafts and plans approved but not yet published are not public."""
    from scheduler.plans.versions import public_plans

    drawn = _drawn_periods(engine)
    out = []
    for r in public_plans(engine):
        d = r["document"]
        kinds = sorted({i["kind"] for i in d["items"]}, key=lambda k: (k != "key", k))
        published = r["published_at"]
        out.append({
            "计划编号": d["code"], "计划名称": d["name"], "计划年度": str(d.get("year") or ""), "版本": str(r["version"]),
            "当前版本": "是" if r["current"] else "否",
            "计划类型": ex.PLAN_KIND_LABELS.get(d["kind"], d["kind"]),
            "牵头部门": d["lead_department"],
            "参与部门": "、".join(d["departments"]),
            "已抽取期间": "、".join(drawn.get((r["code"], r["version"]), [])),
            "检查事项": "、".join(i["name"] for i in d["items"]),
            "事项类别": "、".join(ex.ITEM_KIND_LABELS.get(k, k) for k in kinds),
            "检查依据": "；".join(f"{i['name']}：{i['legal_basis']}" for i in d["items"] if i["legal_basis"]),
            "抽查范围": d["scope"] + "；" + "；".join(f"{i['name']}：{i['scope']}" for i in d["items"]),
            "抽查比例": d["ratio"], "抽查数量": d["count"],
            "抽查期间": "、".join(d["periods"]) or d["schedule"],
            "完成时限": d["time_limit"], "修改理由": r["reason"],
            "发布日期": _local_date(published) if published else "",
        })
    return out


def item_rows(engine: Engine) -> list[dict[str, str]]:
    """随机抽查事项清单."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(CheckItem.code, CheckItem.category, CheckItem.name, CheckItem.kind, CheckItem.method,
                   Department.name, CheckItem.legal_basis)
            .join(Department, Department.id == CheckItem.department_id)
            .order_by(CheckItem.code, CheckItem.id)
        ).all()
    return [dict(zip(ex.TABLES[ex.ITEMS], (code, cat, name, ex.ITEM_KIND_LABELS.get(kind, kind), method, dept, basis)))
            for code, cat, name, kind, method, dept, basis in rows]


def visit_rows(engine: Engine) -> list[dict[str, Any]]:
    """联合检查统计: per year with visits, the visits saved by merging and the joint checks, per draw
    period and lead department, then the year's total (counts only: no entity, no person, no risk class)."""
    from sqlalchemy import func as _f

    from db.models import Visit
    from scheduler.visits import service as vs

    with engine.connect() as conn:
        years = sorted({int(y) for (y,) in conn.execute(select(_f.substr(Visit.window, 1, 4)).distinct())})
    out: list[dict[str, Any]] = []
    for y in years:
        for r in vs.saved_by_month_and_department(engine, y):
            out.append({"年度": y, "抽查期间": r["period"], "监管局": r["bureau"], "牵头部门": r["department"],
                        "抽查任务数": r["tasks"], "入户检查次数": r["visits"], "减少入户次数": r["saved"],
                        "联合检查次数": r["joint"], "联合检查占比": _pct(r["joint"], r["visits"])})
        total = vs.year_figures(engine, y)
        js = total["joint"]
        out.append({"年度": y, "抽查期间": "全年合计", "监管局": "全部", "牵头部门": "全部", "抽查任务数": total["tasks"],
                    "入户检查次数": total["visits"], "减少入户次数": total["saved"], "联合检查次数": js["joint"],
                    "联合检查占比": _pct(js["joint"], js["visits"])})
    return out


def _pct(a: int, b: int) -> str:
    return f"{a / b * 100:.1f}%" if b else ""


@dataclass(frozen=True)
class DrawnDraw:
    draw_id: int
    plan_code: str
    period: str
    frame_size: int
    seed: str
    drawn_at: Optional[dt.datetime]


def drawn_draws(engine: Engine) -> list[DrawnDraw]:
    """Draws whose result stands (drawn, with a certificate); voided and frozen ones are not public."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Draw.id, Plan.code, Draw.period, Draw.frame_size, Draw.seed, Draw.drawn_at)
            .join(Plan, Plan.id == Draw.plan_id)
            .where(Draw.status == "drawn", Draw.certificate.is_not(None))
            .order_by(Plan.code, Draw.period, Draw.id)
        ).all()
    return [DrawnDraw(r[0], r[1], r[2], r[3], r[4] or "", r[5]) for r in rows]


def package_dirs(draws: Sequence[DrawnDraw]) -> dict[int, str]:
    """Folder name under packages/ of each draw: <plan>_<period>, made safe, unique."""
    out: dict[int, str] = {}
    used: set[str] = set()
    for d in draws:
        name = xt.safe_name(f"{d.plan_code}_{d.period}")
        if name.lower() in used:
            name = xt.safe_name(f"{name}-{d.draw_id}")
        used.add(name.lower())
        out[d.draw_id] = name
    return out


# --- the export ----------------------------------------------------------------------------------


def _is_previous_export(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("kind") == MANIFEST_KIND
    except (OSError, ValueError, AttributeError):
        return False


def _remove_stale_temp(out: Path, older_than_s: float = 600) -> None:
    """Remove hidden temp folders of earlier exports to `out` that were killed
    mid-way (a running export's folder is younger than `older_than_s`)."""
    import shutil
    import time

    for p in out.parent.glob(f".{out.name}.tmp-*"):
        if p.is_dir() and time.time() - p.stat().st_mtime > older_than_s:
            shutil.rmtree(p, ignore_errors=True)


def export_public(engine: Engine, out: Path | str, formats: str | Sequence[str] | None = None,
                  now: Optional[dt.datetime] = None) -> ExportReport:
    """Write the public export to `out` (replaced only if it is a previous export). Returns what was written."""
    import time

    fmts = parse_formats(formats)
    out = Path(out).absolute()
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or _is_previous_export(out))):
        raise ExportRefused(f"目标文件夹 {out} 已存在且不是以前的公示导出，为避免覆盖其他文件，请换一个文件夹")
    out.parent.mkdir(parents=True, exist_ok=True)
    generated = (now or utcnow()).astimezone(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    _remove_stale_temp(out)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    seconds: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        # The audit chain's head, read before the data: in the export and in each public package,
        # so that whoever keeps one detects later a truncated or rewritten history.
        head = auditlog.head(engine)
        auditlog.write_head(engine, tmp, head)
        results = ex.public_table(ex.RESULTS, ex.shape_rows(ex.RESULTS, published_rows(engine)))
        plans = ex.public_table(ex.PLANS, ex.shape_rows(ex.PLANS, plan_rows(engine)))
        items = ex.public_table(ex.ITEMS, ex.shape_rows(ex.ITEMS, item_rows(engine)))
        visit_stats = ex.public_table(ex.VISITS, ex.shape_rows(ex.VISITS, visit_rows(engine)))
        abnormal = ex.public_table(ex.ABNORMAL, ex.shape_rows(ex.ABNORMAL, fu_service.abnormal_list(engine)))
        penalties = ex.public_table(ex.PENALTIES, ex.shape_rows(ex.PENALTIES, fu_service.public_penalties(engine)))
        dd = drawn_draws(engine)
        dirs = package_dirs(dd)
        seconds["read"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        links = {}
        pkg_rows = []
        for d in dd:
            rel = f"packages/{dirs[d.draw_id]}"
            draw_service.write_packages(engine, d.draw_id, public_dir=tmp / rel)
            auditlog.write_head(engine, tmp / rel, head)
            links[rel] = rel + "/"
            pkg_rows.append({"计划编号": d.plan_code, "抽查期间": d.period, "名录库对象数": d.frame_size,
                             "随机种子": d.seed,
                             "抽取时间": d.drawn_at.astimezone(generated.tzinfo).replace(microsecond=0).isoformat()
                             if d.drawn_at else "",
                             "核验包": rel})
        packages = ex.public_table(ex.PACKAGES, ex.shape_rows(ex.PACKAGES, pkg_rows))
        seconds["packages"] = time.perf_counter() - t0
        tables = [results, plans, items, packages, visit_stats, abnormal, penalties]
        meta = {"导出时间": generated.isoformat(), "检查结果条数": len(results.rows)}
        totals = [r for r in visit_stats.rows if r[1] == "全年合计"]
        if totals:  # the latest year's joint-check share (provincial targets 40–60%)
            meta[f"联合检查占比（{totals[-1][0]}年）"] = totals[-1][-1]

        for fmt in fmts:
            t0 = time.perf_counter()
            if fmt == "csv":
                for t in tables:
                    xt.write_csv(tmp / f"{ex.FILE_STEMS[t.name]}.csv", t)
            elif fmt == "xlsx":
                xt.write_xlsx(tmp / "public.xlsx", tables)
            elif fmt == "json":
                ex.write_json(tmp / "public.json", tables, meta)
            elif fmt == "html":
                ex.write_html(tmp, tables, meta, links)
            seconds[fmt] = time.perf_counter() - t0

        files = [p.relative_to(tmp).as_posix() for p in xt.iter_files(tmp)]
        counts = {t.name: len(t.rows) for t in tables}
        manifest = {
            "kind": MANIFEST_KIND, "generated_at": generated.isoformat(), "formats": list(fmts), "counts": counts,
            "files": {f: _sha256(tmp / f) for f in files},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportReport(out=out, formats=fmts, counts=counts, files=files + [MANIFEST], seconds=seconds)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place; a previous export is moved aside first, then removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_zip(engine: Engine, formats: str | Sequence[str] | None = None, now: Optional[dt.datetime] = None) -> bytes:
    """The public export as one zip (for the app's download button); folder name 公示导出 inside."""
    with tempfile.TemporaryDirectory(prefix="dsr-export-") as tmp:
        out = Path(tmp) / "public"
        export_public(engine, out, formats, now)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in xt.iter_files(out):
                z.write(p, "dsr-public/" + p.relative_to(out).as_posix())
        return buf.getvalue()


def package_zip(engine: Engine, draw_id: int) -> tuple[str, bytes]:
    """One drawn draw's public verification package as a zip: (file name, bytes); folder as in the export."""
    dd = {d.draw_id: d for d in drawn_draws(engine)}
    if draw_id not in dd:
        raise ExportRefused(f"抽取 #{draw_id} 不是已完成的抽取，没有公开核验包")
    folder = package_dirs(list(dd.values()))[draw_id]
    with tempfile.TemporaryDirectory(prefix="dsr-pkg-") as tmp:
        d = Path(tmp) / folder
        draw_service.write_packages(engine, draw_id, public_dir=d)
        auditlog.write_head(engine, d)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(d.iterdir()):
                z.write(p, f"{folder}/{p.name}")
    return f"{folder}.zip", buf.getvalue()
