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


DEFAULT_HOST = "127.0.0.1"


def streamlit_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
    """The Streamlit command line: bound to `host` only (this machine unless told otherwise). Without
    Streamlit's English welcome lines: `dsr app` has said where the app is, in Chinese."""
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.port", str(port),
            "--server.address", host, "--logger.hideWelcomeMessage", "true"]


def _demo_accounts(eng) -> None:
    """Demo accounts for a database that was just filled with demo data: each gets a random password,
    printed here once (only its hash is stored), to be changed at the first login."""
    from scheduler.accounts.service import ensure_demo_users

    accounts = ensure_demo_users(eng)
    console.print("已创建演示账号（初始密码随机生成，只显示这一次，首次登录时须修改密码）：", soft_wrap=True)
    for a in accounts:
        u = a.info
        dept = f"，{u.department}" if u.department else ""
        shown = f"初始密码 {a.password}" if a.password else "已存在，密码未改变"
        console.print(f"  {u.username}：{u.role_label}{dept}；{shown}", soft_wrap=True, markup=False, highlight=False)


@app.command("app")
def app_cmd(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="网页端口"),
    host: str = typer.Option(DEFAULT_HOST, "--host",
                             help="监听地址；默认只接受本机访问，局域网访问请指定如 0.0.0.0（并先修改演示账号的密码）"),
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
    shown = "localhost" if host in (DEFAULT_HOST, "localhost") else host
    console.print(f"dsr 网页地址：http://{shown}:{port}（监听 {host}；数据库：{database_url()}）", soft_wrap=True)
    cmd = streamlit_command(port, host)
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
