"""`dsr visits …`: one door, many checks between plans (联合检查：跨计划合并入户).

refresh / list / separate / window / date / mergeable; refusals exit 2 with the
reason in Chinese, as the other commands do.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console
from scheduler.cli.chinese import ChineseTyper

visits_app = ChineseTyper(help="联合检查（进一次门、查多项事）：跨计划、跨部门、跨层级合并入户。",
                         no_args_is_help=True)
app.add_typer(visits_app, name="visits")


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[red]{msg}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def _window_of(eng, period: str) -> str:
    from scheduler.visits.service import get_window
    from scheduler.visits.rules import window_of

    return window_of(period, get_window(eng))


def _report_line(r) -> str:
    return (f"协调周期 {r.window}：任务 {r.tasks:,} 个，入户 {r.visits:,} 次（合并 {r.merged:,} 次，减少入户 {r.saved:,} 次）；"
            f"保留 {r.kept:,}，新建 {r.created:,}，删除 {r.deleted:,}，调整任务 {r.moved:,}")


@visits_app.command("refresh")
def refresh(
    period: Optional[str] = typer.Argument(None, help="抽查期间或协调周期，如 2026-12（重新计算其所在的协调周期）。"),
    all_windows: bool = typer.Option(False, "--all", help="重新计算所有协调周期（如升级之后）。"),
) -> None:
    """重新计算联合检查：按有效的抽取重新计算一个协调周期的入户。"""
    from sqlmodel import Session

    from scheduler.access.permissions import require
    from scheduler.visits import service as vs
    from scheduler.access.context import CLI

    eng = engine()
    if all_windows:
        require(CLI, "visits.refresh")
        with Session(eng) as s:
            reports = vs.rebuild(s, CLI)
            s.commit()
        for r in reports:
            console.print(_report_line(r), soft_wrap=True)
        if not reports:
            console.print("没有已完成的抽取，无需计算。", soft_wrap=True)
        return
    if not period:
        _fail("请给出抽查期间（如 2026-12），或使用 --all")
    console.print(_report_line(vs.refresh(eng, period)), soft_wrap=True)


def _jsonable(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k not in ("tasks",)}
    out["tasks"] = [{k: v for k, v in t.items() if k != "bureau_id"} for t in row.get("tasks", [])]
    return out


@visits_app.command("list")
def list_visits(
    period: str = typer.Argument(..., help="抽查期间或协调周期，如 2026-12"),
    merged: bool = typer.Option(False, "--merged", help="只列出合并了多个任务的入户。"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出入户计划。"),
) -> None:
    """入户计划：一个协调周期的检查对象、抽查计划、部门、抽查事项、检查组及其来源。"""
    import orjson

    from scheduler.visits import service as vs

    eng = engine()
    win = _window_of(eng, period)
    rows = vs.all_visits(eng, win, merged_only=merged)
    if as_json:
        # orjson: the same bytes as json.dumps(ensure_ascii=False, indent=2, default=str) for these rows
        # (texts, integers, dates through str), 7x faster (29 MB for the 1M demo's month).
        typer.echo(orjson.dumps({"window": win, "visits": [_jsonable(r) for r in rows]}, default=str,
                                option=orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME))
        return
    if not rows:
        console.print(f"协调周期 {win} 没有联合检查入户计划。", soft_wrap=True)
        return
    s = vs.window_summary(eng, win)
    console.print(f"协调周期 {win}：入户 {s['visits']:,} 次，抽查任务 {s['tasks']:,} 个，合并 {s['merged']:,} 次，"
                  f"减少入户 {s['saved']:,} 次", soft_wrap=True)
    # The visits as plain lines, written at once: names are data, not rich markup, and rich's
    # rendering of each of tens of thousands of lines took longer than reading them.
    lines = []
    for r in rows:
        date = r["planned_on"].isoformat() if r["planned_on"] else "未定"
        lines.append(f"#{r['id']} {r['uscc']} {r['name'] or ''}（{r['town_name'] or ''}）检查日期 {date}；"
                     f"计划 {'、'.join(r['plans'])}；部门 {'、'.join(r['departments'])}")
        if r["merged"]:
            lines.append(f"    事项 {vs.fmt_items(r['items_by_plan'])}")
            lines.append(f"    检查组 {vs.fmt_team(r['team'])}")
    typer.echo("\n".join(lines))


@visits_app.command("separate")
def separate(
    span: str = typer.Argument(..., help="年度、季度或月份：2026、2026-Q4、2026-12"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出报告。"),
) -> None:
    """多次入户：某时段内仍被分别多次入户的检查对象及原因。"""
    from scheduler.visits import service as vs

    eng = engine()
    rows, page = [], 1
    while True:
        rep = vs.separate_report(eng, span, page=page, page_size=500)
        rows.extend(rep.page.rows)
        if page >= rep.page.pages:
            break
        page += 1
    if as_json:
        typer.echo(json.dumps({"span": span, "windows": rep.windows, "entities": rep.total, "by_reason": rep.by_reason,
                               "rows": rows}, ensure_ascii=False, indent=2))
        return
    console.print(f"{span}：{rep.total:,} 户仍被多次入户（不可合并 {rep.by_reason['not_mergeable']:,} 户，"
                  f"不在同一协调周期 {rep.by_reason['different_windows']:,} 户）", soft_wrap=True)
    for r in rows:
        console.print(f"{r['uscc']} {r['name']}：{r['visits']} 次，{r['reason_label']}；{r['detail']}", soft_wrap=True)


@visits_app.command("window")
def window(value: Optional[str] = typer.Argument(None, help="month（按月）或 quarter（按季度）；省略时显示当前设置。")) -> None:
    """显示或设置协调周期；设置后重新组成全部入户。"""
    from scheduler.visits import rules as rule
    from scheduler.visits import service as vs

    eng = engine()
    if value is None:
        w = vs.get_window(eng)
        console.print(f"协调周期：{w}（{rule.WINDOWS[w]}）", soft_wrap=True)
        return
    reports = vs.set_coordination_window(eng, value)
    w = vs.get_window(eng)
    console.print(f"协调周期已设为 {w}（{rule.WINDOWS[w]}），重新计算了 {len(reports)} 组协调周期", soft_wrap=True)
    for r in reports:
        console.print(_report_line(r), soft_wrap=True)


@visits_app.command("date")
def date(visit_id: int = typer.Argument(..., help="入户编号"),
         day: str = typer.Argument(..., help="检查日期 YYYY-MM-DD，或 none（清除日期）")) -> None:
    """安排联合检查日期：设置一次入户的检查日期。"""
    from scheduler.visits import service as vs

    when = None
    if day.lower() != "none":
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            _fail(f"日期格式应为 YYYY-MM-DD：{day}")
    v = vs.set_planned_date(engine(), visit_id, when)
    console.print(f"联合检查 #{v.id}（{v.uscc}，{v.window}）检查日期：{v.planned_on.isoformat() if v.planned_on else '未定'}", soft_wrap=True)


@visits_app.command("mergeable")
def mergeable(plan_code: str = typer.Argument(..., help="抽查计划编号"),
              value: str = typer.Argument(..., help="yes（可合并）/ no（不可合并）")) -> None:
    """设置抽查计划能否与其他计划合并入户（不可合并：如不能等待的重点检查事项）。"""
    from scheduler.visits import service as vs

    flag = {"yes": True, "y": True, "true": True, "是": True, "no": False, "n": False, "false": False, "否": False}.get(value.lower())
    if flag is None:
        _fail("请填写 yes 或 no")
    reports = vs.set_plan_mergeable(engine(), plan_code, flag)
    console.print(f"计划 {plan_code}：{'可与其他计划合并入户' if flag else '不可合并，单独入户'}", soft_wrap=True)
    for r in reports:
        console.print(_report_line(r), soft_wrap=True)
