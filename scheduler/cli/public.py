"""`dsr announcement` (抽取结果公告, PDF) and `dsr query-codes` (查询码 for the 检查通知书)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import List, Optional

import typer

from scheduler.cli.base import app, console, engine


def _draw_id(plan_code: str, period: str) -> int:
    from sqlmodel import Session

    from scheduler.draw.service import get_draw

    with Session(engine()) as s:
        return get_draw(s, plan_code, period).id


@app.command()
def announcement(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    out: Path = typer.Option(..., "--out", help="要写出的 PDF 文件。"),
    url: Optional[str] = typer.Option(None, "--url", help="公开核验包的发布地址（二维码指向此处）。"),
    witness: Optional[List[str]] = typer.Option(None, "--witness", help="现场摇号的见证人（可多次给出）。"),
) -> None:
    """写出可打印的抽取结果公告（PDF），附指向公开核验包的二维码。"""
    from scheduler.results.announcement import announcement as facts
    from scheduler.results.announcement import render_pdf

    draw_id = _draw_id(plan_code, period)
    a = facts(engine(), draw_id, witness or None)
    target = url or f"DSR-1 {plan_code} {period} seed={a.seed} public_frame_sha256={a.public_frame_sha256}"
    out.write_bytes(render_pdf(a, target))
    console.print(f"已写出抽取结果公告：{out}（抽中 {len(a.selected):,} 户）")


@app.command("query-codes")
def query_codes(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    out: Path = typer.Option(..., "--out", help="CSV 文件：统一社会信用代码、查询码（名录中每户一行）。"),
) -> None:
    """写出一次抽取名录中每户的查询码，供打印在检查通知书上（记入审计日志）。"""
    from scheduler.access.context import CLI
    from scheduler.results.selfcheck import query_codes as codes

    rows = codes(engine(), plan_code, period, CLI)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["统一社会信用代码", "查询码"])
    w.writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8-sig")
    console.print(f"已写出 {len(rows):,} 个查询码：{out}（请妥善保管，查询码可打开本企业的分层承诺）")
