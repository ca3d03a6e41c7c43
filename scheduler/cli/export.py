"""`dsr export`: the public export (公示) into a folder: results, plans, item list, verification packages."""

from __future__ import annotations

from pathlib import Path

import typer

from scheduler.cli.base import app, console, engine


@app.command("export")
def export_cmd(
    out: Path = typer.Option(..., "--out", help="输出文件夹（自动创建；只有是此前的公示导出时才会被替换）。"),
    fmt: str = typer.Option("csv,xlsx,json,html", "--format", help="以逗号分隔：csv,xlsx,json,html（默认全部）。"),
) -> None:
    """公示导出：已公示的检查结果、抽查计划、抽查事项清单与抽取公开核验包。"""
    from scheduler.results.export_service import export_public

    rep = export_public(engine(), out, fmt)
    console.print(f"已导出到 {rep.out}（格式：{'、'.join(rep.formats)}）")
    for name, n in rep.counts.items():
        console.print(f"  {name}：{n} 条")
    steps = {"read": "读取", "packages": "核验包"}  # the other steps are the formats (csv, xlsx …)
    timings = "，".join(f"{steps.get(k, k)} {v:.2f} 秒" for k, v in rep.seconds.items())
    console.print(f"  文件 {len(rep.files)} 个；用时 {timings}")
