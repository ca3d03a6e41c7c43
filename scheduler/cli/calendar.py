"""`dsr deadline` and `dsr calendar show|enter|confirm` (工作日历)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console, print_json, print_table
from scheduler.cli.chinese import ChineseTyper

calendar_app = ChineseTyper(help="工作日历：逐年录入、确认节假日安排。", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[red]{msg}[/red]")
    raise typer.Exit(code)


def _seeded_engine():
    from scheduler.calendar.listing import package_years_stored

    eng = engine()
    if not package_years_stored(eng):  # the usual case reads without loading the calendar service
        from scheduler.calendar.service import ensure_seeded

        ensure_seeded(eng)
    return eng


@app.command()
def deadline(
    completed_on: str = typer.Argument(..., help="检查完成日，格式 YYYY-MM-DD"),
    days: int = typer.Option(20, "--days", help="公示期限的工作日数（不含完成当天）。"),
) -> None:
    """计算公示截止日：检查完成后的第若干个工作日（默认第 20 个）。"""
    from scheduler.calendar.service import deadline as compute

    try:
        day = dt.date.fromisoformat(completed_on.strip())
    except ValueError:
        _fail(f"日期格式应为 YYYY-MM-DD：{completed_on}")
    if days < 0:
        _fail("工作日数不能为负数")
    result = compute(_seeded_engine(), day, days)
    typer.echo(result.isoformat())


@calendar_app.command("show")
def show(year: int = typer.Argument(..., help="年度，如 2026"),
         as_json: bool = typer.Option(False, "--json", help="以 JSON 输出该年度及其每一天。")) -> None:
    """显示某年的节假日安排：放假日与调休上班日。"""
    from scheduler.calendar.listing import year_days, year_info

    eng = _seeded_engine()
    info = year_info(eng, year)
    if info is None:
        _fail(f"{year} 年的节假日安排尚未录入", 1)
    days = year_days(eng, year)
    if as_json:
        print_json({"year": year, "status": info.status, "status_label": info.status_label, "notice": info.notice,
                    "entered_by": info.entered_by, "confirmed_by": info.confirmed_by,
                    "days": [{"day": d.day.isoformat(), "kind": d.kind, "kind_label": d.kind_label, "name": d.name}
                             for d in days]})
        return
    console.print(f"{year} 年节假日安排：{info.status_label}；依据 {info.notice}")
    if info.entered_by:
        console.print(f"录入人 {info.entered_by}" + (f"；确认人 {info.confirmed_by}" if info.confirmed_by else ""))
    weekdays = "一二三四五六日"
    print_table(["日期", "星期", "类型", "名称"],
                [[d.day.isoformat(), f"周{weekdays[d.day.weekday()]}", d.kind_label, d.name] for d in days])


@calendar_app.command("enter")
def enter(
    year: int = typer.Argument(..., help="年度，如 2027"),
    file: Path = typer.Option(..., "--file", help='JSON 文件：{"holidays": [{"start", "end", "name"}], "workdays": ["YYYY-MM-DD"]}'),
    notice: str = typer.Option(..., "--notice", help="通知文号，如 国办发明电〔2025〕7号"),
    as_user: Optional[str] = typer.Option(None, "--as", help="录入人：管理员账号（用户名）"),
    by: Optional[str] = typer.Option(None, "--by", help="已停用：请改用 --as（同为账号）", hidden=True),
) -> None:
    """录入某年的法定节假日安排；须由另一名管理员确认后生效。"""
    from scheduler.calendar.service import enter_year, parse_schedule
    from scheduler.cli.acting import actor_as

    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except OSError as e:
        _fail(f"无法读取文件 {file}：{e.strerror}")
    except json.JSONDecodeError as e:
        _fail(f"文件不是有效的 JSON：{e.msg}（第 {e.lineno} 行）")
    holidays, workdays = parse_schedule(data)
    eng = _seeded_engine()
    info = enter_year(eng, year, holidays, workdays, notice, actor_as(eng, as_user, deprecated=by))
    console.print(
        f"已录入 {year} 年节假日安排（放假 {info.holidays} 天，调休上班 {info.workdays} 天，{info.notice}），"
        f"须由另一名管理员确认后生效：dsr calendar confirm {year} --as 账号"
    )


@calendar_app.command("confirm")
def confirm(
    year: int = typer.Argument(..., help="年度，如 2027"),
    as_user: Optional[str] = typer.Option(None, "--as", help="确认人：管理员账号，须与录入人不同"),
    by: Optional[str] = typer.Option(None, "--by", help="已停用：请改用 --as（同为账号）", hidden=True),
) -> None:
    """确认已录入的节假日安排；确认后即用于计算工作日。"""
    from scheduler.calendar.service import confirm_year
    from scheduler.cli.acting import actor_as

    eng = _seeded_engine()
    info = confirm_year(eng, year, actor_as(eng, as_user, deprecated=by))
    console.print(f"已确认 {year} 年节假日安排（{info.notice}，录入人 {info.entered_by}，确认人 {info.confirmed_by}）")
