"""The Typer application object and helpers shared by the command modules."""

from __future__ import annotations

from typing import Any, NoReturn

import click
import typer
from rich.console import Console

from scheduler.cli.chinese import ChineseGroup, ChineseTyper, chinese_usage_errors
from scheduler.errors import DsrError

# The exit status of a refused command (a DsrError): the status the commands used before
# they shared this handler, and what scripts and tests check.
REFUSED_EXIT = 2

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = REFUSED_EXIT) -> NoReturn:
    """Print `错误：<message>` on stderr and end the command with `code`.

    markup=False: messages quote user data ("第 3 行 [统一社会信用代码]") that rich
    would otherwise read as style tags."""
    err_console.print(f"错误：{message}", style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class _DsrGroup(ChineseGroup):
    """The top `dsr` group. Every command and sub-command runs inside its `invoke`, so a
    DsrError from any of them is shown here as its Chinese message, never a traceback;
    commands need no try/except of their own for a plain refusal. Other exceptions are
    bugs and keep their traceback. A bad command line (Click's usage errors, raised while
    parsing here or in a sub-command) gets its message in Chinese here too."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with chinese_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with chinese_usage_errors():
                return super().invoke(ctx)
        except DsrError as exc:
            fail(exc.message)


app = ChineseTyper(
    name="dsr",
    help="dsr：“双随机、一公开”抽查工作的命令行工具。",
    no_args_is_help=True,
    add_completion=False,
    cls=_DsrGroup,
)


def engine():
    """The database engine, schema upgraded (every command may be the first)."""
    from db.engine import get_engine
    from db.migrate import upgrade

    eng = get_engine()
    upgrade(eng)
    return eng


def print_json(data: Any) -> None:
    """One JSON document on stdout (UTF-8 Chinese as is; dates and times as ISO text)."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A table fitted to the terminal's width, columns aligned with Chinese characters counted as
    two cells (rich measures text by display width)."""
    from rich.table import Table

    t = Table(*headers, show_edge=False, header_style="bold")
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


def beijing(t: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as Beijing time; naive values are UTC."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(ZoneInfo("Asia/Shanghai")).strftime(fmt)
