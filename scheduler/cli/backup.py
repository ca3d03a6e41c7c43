"""`dsr backup OUT.db`, `dsr backup verify FILE` and `dsr restore IN.db [--force]` (SQLite); pg_dump/pg_restore
hints for PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, err_console


@app.command("backup")
def backup_cmd(
    out: Path = typer.Argument(..., help="要写入的备份文件（如 dsr-2026-12-01.db），或 verify（核验备份）。"),
    file: Optional[Path] = typer.Argument(None, help="与 verify 同用：要核验的备份文件。"),
) -> None:
    """备份数据库：一致的在线副本，网页和后台任务运行时也可执行。

    dsr backup verify 备份文件：核验备份的清单、完整性和审计链，不恢复。"""
    from db.engine import database_url
    from scheduler.audit import backup as bk

    if str(out) == "verify":  # `dsr backup verify FILE` (a backup file named so: ./verify)
        if file is None:
            err_console.print("[bold red]错误：请给出要核验的备份文件：dsr backup verify FILE[/bold red]")
            raise typer.Exit(2)
        _verify(file)
        return

    url = database_url()
    if bk.sqlite_path(url) is None:
        dump, _ = bk.pg_commands(url, str(out))
        console.print("当前数据库是 PostgreSQL，请用 pg_dump 备份（可在应用运行时执行，得到一致的快照）：")
        console.print(dump, markup=False, highlight=False, soft_wrap=True)
        return
    try:
        rep = bk.backup(url, out)
    except bk.BackupError as exc:
        err_console.print(f"[bold red]备份失败：{exc}[/bold red]")
        raise typer.Exit(1)
    console.print(f"已备份到 {rep.out}（{rep.bytes:,} 字节，用时 {rep.seconds:.1f} 秒）；结构版本 {rep.check.revision}；"
                  f"审计链 {rep.check.audit_events} 条事件，链头哈希 {rep.check.audit_head}；"
                  f"附件文件 {rep.files} 个（各按 SHA-256 核验）")
    for p in rep.file_problems:
        err_console.print(f"[bold yellow]警告：{p}[/bold yellow]")


def _verify(file: Path) -> None:
    from scheduler.audit import backup as bk

    try:
        chk = bk.verify_backup(file)
    except bk.BackupError as exc:
        err_console.print(f"[bold red]备份核验未通过：{exc}[/bold red]")
        raise typer.Exit(1)
    if not chk.ok:
        err_console.print(f"[bold red]备份核验未通过：{'；'.join(chk.problems)}[/bold red]", markup=True)
        raise typer.Exit(1)
    console.print(f"备份 {file} 核验通过：清单中每一部分的 SHA-256 相符；完整性检查通过；结构版本 {chk.revision}；"
                  f"审计链 {chk.audit_events} 条事件，链头哈希 {chk.audit_head}；附件文件 {chk.files} 个，SHA-256 均相符")


@app.command("restore")
def restore_cmd(
    src: Path = typer.Argument(..., help="由 dsr backup 生成的备份文件。"),
    force: bool = typer.Option(False, "--force", help="数据库中已有数据时仍然替换。"),
) -> None:
    """恢复数据库：核验备份后整体替换当前数据库；请先停止网页和后台任务。"""
    from db.engine import database_url
    from scheduler.audit import backup as bk

    url = database_url()
    if bk.sqlite_path(url) is None:
        _, rest = bk.pg_commands(url, str(src))
        console.print("当前数据库是 PostgreSQL，请先停止应用和后台任务，再用 pg_restore 恢复，然后运行 dsr audit verify：")
        console.print(rest, markup=False, highlight=False, soft_wrap=True)
        return
    try:
        chk = bk.restore(src, url, force=force)
    except bk.BackupError as exc:
        err_console.print(f"[bold red]恢复被拒绝：{exc}[/bold red]")
        raise typer.Exit(1)
    console.print(f"已从 {src} 恢复到 {chk.path}；完整性检查通过；结构版本 {chk.revision}；"
                  f"审计链 {chk.audit_events} 条事件核验通过，链头哈希 {chk.audit_head}；"
                  f"附件文件 {chk.files} 个核验相符（写回 {chk.files_written} 个，原已完好 {chk.files_intact} 个）")
