"""The `dsr` command line. Each submodule registers the commands of one area."""

from __future__ import annotations

from scheduler.cli.base import app

# Registration happens on import; keep these imports.
from scheduler.cli import core  # noqa: F401,E402

for _name in ("library", "demo", "draws", "appcmd", "audit", "calendar", "results", "worker", "users", "export"):
    try:
        __import__(f"scheduler.cli.{_name}")
    except ModuleNotFoundError as exc:  # area not built yet
        if exc.name != f"scheduler.cli.{_name}":
            raise


def main() -> None:
    app()
