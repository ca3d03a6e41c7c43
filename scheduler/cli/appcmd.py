"""`dsr app`: the quick start — schema, demo data on first run, then Streamlit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from scheduler.cli.base import app, console, engine, err_console

REPO_ROOT = Path(__file__).resolve().parents[2]
# The server: Streamlit's app (streamlit_app.py) with the login cookie's route beside it (st.App).
APP_SCRIPT = REPO_ROOT / "dsr_server.py"


def streamlit_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.port", str(port)]


def _demo_accounts(eng) -> None:
    """Demo accounts (public password) for a database that was just filled with demo data."""
    from scheduler.accounts.service import DEMO_PASSWORD, ensure_demo_users

    users = ensure_demo_users(eng)
    console.print(f"已创建演示账号（密码均为 {DEMO_PASSWORD}，仅供演示，正式使用前请停用）：", soft_wrap=True)
    for u in users:
        dept = f"，{u.department}" if u.department else ""
        console.print(f"  {u.username}：{u.role_label}{dept}", soft_wrap=True)


@app.command("app")
def app_cmd(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="网页端口"),
    entities: int = typer.Option(5000, "--entities", "-n", min=0, help="名录库为空时生成的演示市场主体数量"),
    seed: int = typer.Option(2026, "--seed", min=0, help="演示数据随机种子"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只准备数据库并打印启动命令，不启动网页"),
) -> None:
    """启动 dsr 网页（首次运行时自动生成平谷区演示数据）。"""
    from db.engine import database_url
    from scheduler.cli.demo import run_demo
    from scheduler.demo.service import registry_size

    eng = engine()
    if registry_size(eng) == 0:
        console.print(f"检查对象名录库为空，正在生成平谷区演示数据（{entities:,} 户）……", soft_wrap=True)
        run_demo(entities, seed, force=False)
        _demo_accounts(eng)
    console.print(f"dsr 网页地址：http://localhost:{port}（数据库：{database_url()}）", soft_wrap=True)
    cmd = streamlit_command(port)
    if not APP_SCRIPT.exists():
        err_console.print(f"[red]未找到网页入口 {APP_SCRIPT}，无法启动。[/red]", soft_wrap=True)
        raise typer.Exit(1)
    if dry_run:
        typer.echo(" ".join(cmd))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    eng.dispose()
    os.execv(cmd[0], cmd)
