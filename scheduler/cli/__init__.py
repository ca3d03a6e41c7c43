"""The `dsr` command line. Each submodule registers the commands of one area."""

from __future__ import annotations

from scheduler.cli.base import app

# Registration happens on import; the order is the order of `dsr --help`.
from scheduler.cli import core, library, demo, draws, appcmd, audit, calendar, results, fieldwork, worker, users, export, backup, visits, public, plans, exchange  # noqa: F401,E402,I001


def main() -> None:
    app()
