"""`dsr worker`: the scheduled-draw worker (计划任务)."""

from __future__ import annotations

import typer

from scheduler.cli.base import app, engine


@app.command()
def worker(
    worker_id: str = typer.Option("", "--id", help="后台任务进程的名称（默认：DSR_WORKER_ID，或 主机名-进程号）。"),
    once: bool = typer.Option(False, "--once", help="补做到期的抽取、收回超时的认领、发送提醒，然后退出。"),
    poll: float = typer.Option(30.0, "--poll", min=0.2, help="重新读取抽查计划日程的间隔秒数。"),
) -> None:
    """计划任务：按抽查计划的日程自动抽取（任务记录存于数据库）；收到 SIGTERM 信号时停止。

    环境变量：DSR_DATABASE_URL；DSR_MISFIRE_GRACE（秒，默认 21600）；DSR_CLAIM_LEASE（秒，默认 600）；DSR_WEBHOOK_URL（可选）。
    """
    import logging

    from scheduler.jobs import default_worker_id, run_worker
    from scheduler.calendar.service import ensure_seeded

    logging.basicConfig(level=logging.WARNING)
    from sqlalchemy.exc import IntegrityError

    eng = engine()
    try:
        ensure_seeded(eng)
    except IntegrityError:  # two workers starting together seed the same years; the other one won
        ensure_seeded(eng)
    run_worker(eng, worker_id or default_worker_id(), poll=poll, once=once)
