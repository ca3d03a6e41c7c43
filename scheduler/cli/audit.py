"""`dsr audit verify`, `dsr audit head` and `dsr audit export`: the tamper-evident trail."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console
from scheduler.cli.chinese import ChineseTyper

audit_app = ChineseTyper(help="审计日志：核验审计链、显示链头哈希、导出。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(head: Optional[str] = typer.Option(None, "--head", help="此前记录的链头哈希（如记入会议纪要的），核验历史未被改写。")) -> None:
    """核验审计链：逐条核对哈希链并报告第一处断裂；附件文件一并核验。"""
    from scheduler.audit.service import verify as do_verify

    from scheduler.results.attachments_service import verify_files

    eng = engine()
    rep = do_verify(eng, head)
    # The attachments' files live outside the database: each is checked against its row and the
    # digest its audit event recorded, so a changed or missing file breaks the trail too.
    problems = verify_files(eng)
    if rep.ok and not problems:
        console.print(f"审计链完整：共 {rep.events} 条事件，链头哈希 {rep.head}")
        return
    if not rep.ok:
        err_console.print(f"[bold red]审计链被破坏：{rep.first_broken}[/bold red]")
    for p in problems:
        err_console.print(f"附件核验失败：{p}", style="bold red", markup=False)
    raise typer.Exit(1)


@audit_app.command("head")
def head() -> None:
    """显示审计链当前的链头哈希；请妥善记录，以便日后发现被改写的历史。"""
    from scheduler.audit.service import head as chain_head

    h = chain_head(engine())
    console.print(h["head"], markup=False, highlight=False)
    err_console.print(f"审计链共 {h['events']} 条事件；最后一条 #{h['last_event_id']}，时间 {h['last_event_at'] or '—'}（UTC）")


@audit_app.command("export")
def export(out: Path = typer.Option(..., "--out", help="输出文件（JSON，每行一条审计事件）。")) -> None:
    """导出审计链及其链头哈希，供审计人员核验。"""
    from scheduler.audit.service import export as do_export

    rep = do_export(engine(), out)
    console.print(f"已导出 {rep.events} 条审计事件到 {out}；链头哈希 {rep.head}；核验{'通过' if rep.ok else '失败：' + str(rep.first_broken)}")
    if not rep.ok:
        raise typer.Exit(1)
