"""`dsr audit verify`, `dsr audit head` and `dsr audit export`: the tamper-evident trail."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine, err_console
from scheduler.cli.chinese import ChineseTyper

audit_app = ChineseTyper(help="The audit trail (审计日志).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(head: Optional[str] = typer.Option(None, "--head", help="A head hash recorded earlier (e.g. in meeting minutes).")) -> None:
    """Walk the hash chain and report the first broken link (核验审计链)."""
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
    """Print the chain's current head hash (审计链链头); keep it to detect a rewritten history later."""
    from scheduler.audit.service import head as chain_head

    h = chain_head(engine())
    console.print(h["head"], markup=False, highlight=False)
    err_console.print(f"审计链共 {h['events']} 条事件；最后一条 #{h['last_event_id']}，时间 {h['last_event_at'] or '—'}（UTC）")


@audit_app.command("export")
def export(out: Path = typer.Option(..., "--out", help="Output file (JSON Lines).")) -> None:
    """Write the chain with its head hash for an auditor (导出审计链)."""
    from scheduler.audit.service import export as do_export

    rep = do_export(engine(), out)
    console.print(f"已导出 {rep.events} 条审计事件到 {out}；链头哈希 {rep.head}；核验{'通过' if rep.ok else '失败：' + str(rep.first_broken)}")
    if not rep.ok:
        raise typer.Exit(1)
