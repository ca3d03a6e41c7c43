"""`dsr import` and `dsr template`: the two rosters and one list from CSV / XLSX files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console
from scheduler.cli.chinese import ChineseTyper
from scheduler.library.vocabulary import IMPORT_KINDS as KINDS, IMPORT_KIND_NAMES as KIND_NAMES

_KINDS_HELP = " | ".join(KINDS)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        err_console.print(f"[red]未知的导入类型：{kind}（可选：{'、'.join(KINDS)}）[/red]")
        raise typer.Exit(2)
    return kind


@app.command("import")
def import_cmd(
    kind: str = typer.Argument(..., help=f"文件的内容：{_KINDS_HELP}"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV 或 XLSX 文件"),
    bureau: Optional[str] = typer.Option(None, "--bureau", help="监管局代码（默认：唯一的监管局）。"),
    partial: bool = typer.Option(False, "--partial", help="有行被拒绝时，仍导入其余有效的行。"),
    rejects: Optional[Path] = typer.Option(None, "--rejects", help="把被拒绝的行（附错误说明列）写入此 CSV 文件。"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度条。"),
) -> None:
    """导入两库一单：名录库或清单文件；有任何一行被拒绝时退出状态为 1。"""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from scheduler.library.import_service import import_file

    _check_kind(kind)
    data = file.read_bytes()
    eng = engine()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(f"导入{KIND_NAMES[kind]}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = import_file(eng, kind, file.name, data, bureau_code=bureau, partial=partial, progress=progress)
    for e in report.errors:
        typer.echo(str(e), err=True)
    if rejects is not None and report.rejected_rows:
        from scheduler.library.importing import rejects_csv

        rejects.write_bytes(rejects_csv(report.rejected_rows))
        err_console.print(f"被拒绝的 {len(report.rejected_rows):,} 行已写入 {rejects}", markup=False)
    typer.echo(report.summary())
    if report.errors:
        raise typer.Exit(1)


@app.command("template")
def template_cmd(
    kind: str = typer.Argument(..., help=f"模板的类型：{_KINDS_HELP}"),
    out: Optional[Path] = typer.Option(None, "--out", help="输出文件（默认：类型_template.格式，如 enterprises_template.csv）。"),
    fmt: str = typer.Option("csv", "--format", help="csv 或 xlsx"),
) -> None:
    """写出导入模板：表头与一行可导入的示例。"""
    from scheduler.library.importing import template_bytes

    _check_kind(kind)
    if fmt not in ("csv", "xlsx"):
        err_console.print("[red]模板格式应为 csv 或 xlsx[/red]")
        raise typer.Exit(2)
    path = out or Path(f"{kind}_template.{fmt}")
    path.write_bytes(template_bytes(kind, fmt))
    console.print(f"已写出{KIND_NAMES[kind]}导入模板：{path}", markup=False)


library_app = ChineseTyper(help="导出两库一单：按导入模板的列。", no_args_is_help=True)
app.add_typer(library_app, name="library")


@library_app.command("export")
def export_cmd(
    kind: str = typer.Argument(..., help=f"要导出的名录库或清单：{_KINDS_HELP}"),
    out: Optional[Path] = typer.Option(None, "--out", help="输出文件（默认：类型.格式，如 enterprises.csv）。"),
    fmt: str = typer.Option("csv", "--format", help="csv 或 xlsx"),
    bureau: Optional[str] = typer.Option(None, "--bureau", help="监管局代码（默认：唯一的监管局）。"),
) -> None:
    """按导入模板的列导出整个名录库或清单（修改后可再用 dsr import 导入）。"""
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Bureau
    from scheduler.library import export_service as lx

    _check_kind(kind)
    if fmt not in lx.FORMATS:
        err_console.print("[red]导出格式应为 csv 或 xlsx[/red]")
        raise typer.Exit(2)
    eng = engine()
    bureau_id = None
    if bureau:
        with Session(eng) as s:
            bureau_id = s.execute(select(Bureau.id).where(Bureau.code == bureau)).scalar_one_or_none()
        if bureau_id is None:
            err_console.print(f"[red]监管局“{bureau}”不存在[/red]")
            raise typer.Exit(2)
    path = out or Path(f"{kind}.{fmt}")
    n = lx.write_file(eng, kind, path, fmt, bureau_id=bureau_id)
    console.print(f"已导出{KIND_NAMES[kind]} {n:,} 条：{path}", markup=False)
