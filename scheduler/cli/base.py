"""The Typer application object and helpers shared by the command modules."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="dsr",
    help="dsr — 双随机、一公开 scheduler (double random, one public).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def engine():
    """The database engine, schema upgraded (every command may be the first)."""
    from db.engine import get_engine
    from db.migrate import upgrade

    eng = get_engine()
    upgrade(eng)
    return eng
