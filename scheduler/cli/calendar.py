"""`dsr deadline` and `dsr calendar show|enter|confirm` (工作日历)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console, print_json, print_table
from scheduler.cli.chinese import ChineseTyper

calendar_app = ChineseTyper(help="Working-day calendar (工作日历): holiday schedules by year.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[red]{msg}[/red]")
    raise typer.Exit(code)


def _seeded_engine():
    from scheduler.calendar.service import ensure_seeded

    eng = engine()
    ensure_seeded(eng)
    return eng


@app.command()
def deadline(
    completed_on: str = typer.Argument(..., help="Day the check was completed, YYYY-MM-DD"),
    days: int = typer.Option(20, "--days", help="Working days allowed (not counting the day of completion)."),
) -> None:
    """Print the publication deadline: the N-th working day after completion (公示截止日)."""
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
def show(year: int = typer.Argument(..., help="Year, e.g. 2026"),
         as_json: bool = typer.Option(False, "--json", help="Print the year and its days as JSON.")) -> None:
    """Show a year's holidays and make-up working days (节假日安排)."""
    from scheduler.calendar.service import year_days, year_info

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
    year: int = typer.Argument(..., help="Year, e.g. 2027"),
    file: Path = typer.Option(..., "--file", help='JSON: {"holidays": [{"start", "end", "name"}], "workdays": ["YYYY-MM-DD"]}'),
    notice: str = typer.Option(..., "--notice", help="Notice reference, e.g. 国办发明电〔2026〕X号"),
    as_user: Optional[str] = typer.Option(None, "--as", help="Administrator account entering the schedule (录入人)"),
    by: Optional[str] = typer.Option(None, "--by", help="Deprecated: use --as (also an account)", hidden=True),
) -> None:
    """Enter a year's official holiday schedule; a second administrator must confirm it (录入)."""
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
    year: int = typer.Argument(..., help="Year, e.g. 2027"),
    as_user: Optional[str] = typer.Option(None, "--as", help="Administrator account confirming (确认人), not the one who entered it"),
    by: Optional[str] = typer.Option(None, "--by", help="Deprecated: use --as (also an account)", hidden=True),
) -> None:
    """Confirm an entered year's schedule; from then on it counts (确认)."""
    from scheduler.calendar.service import confirm_year
    from scheduler.cli.acting import actor_as

    eng = _seeded_engine()
    info = confirm_year(eng, year, actor_as(eng, as_user, deprecated=by))
    console.print(f"已确认 {year} 年节假日安排（{info.notice}，录入人 {info.entered_by}，确认人 {info.confirmed_by}）")
