"""`dsr worker`: the scheduled-draw worker (计划任务)."""

from __future__ import annotations

import typer

from scheduler.cli.base import app, engine


@app.command()
def worker(
    worker_id: str = typer.Option("", "--id", help="Worker name (default: DSR_WORKER_ID, or host-pid)."),
    once: bool = typer.Option(False, "--once", help="Catch up due runs, recover stale claims, send reminders, then exit."),
    poll: float = typer.Option(30.0, "--poll", min=0.2, help="Seconds between re-reads of the plans' schedules."),
) -> None:
    """Run scheduled draws (APScheduler, job store in the database); stop with SIGTERM.

    Environment: DSR_DATABASE_URL, DSR_MISFIRE_GRACE (seconds, default 21600),
    DSR_CLAIM_LEASE (seconds, default 600), DSR_WEBHOOK_URL (optional).
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
