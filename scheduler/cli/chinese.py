"""The framework's own texts of the `dsr` command line, in Simplified Chinese.

Why this module: everything the product shows a person is Chinese (the glossary's rule), and that
includes what Typer and Click write around our help texts — "Usage:", the panel titles,
"[required]", the `--help` option's own help — and their messages for a bad command line
("Missing option", "No such option", "Invalid value for" …).

The Typer installed here (0.29) vendors its Click (`typer._click`) without gettext: its messages are
plain f-strings, so no translation catalogue can reach them. Each text is therefore changed at the
one place it is produced, through what Typer exposes where it can:

- `options_metavar` / `subcommand_metavar` (Typer settings) for "[OPTIONS]" and "COMMAND [ARGS]...";
- `cls=` (Typer setting) for our command and group classes, which write the usage line with
  Click's `prefix=` argument and give the help option its Chinese help;
- `typer.rich_utils`' module-level strings (panel titles, "[required]", "[default: …]", the
  "Try … for help." line, "Aborted."), set the first time help or an error is drawn, so that
  start-up never imports rich's help renderer (`dsr --help` is benchmarked);
- a small mapping (`translate`) from Click's and pydantic's English usage errors to Chinese,
  applied where the top `dsr` group catches them (`chinese_usage_errors`), before Typer renders
  the error panel. A message it does not know is shown as it is: better English than nothing.

`tests/test_cli_language.py` walks every command's help and a few bad usages and fails on any
English word left, so an upgrade of Typer that changes a text is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

USAGE_PREFIX = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
HELP_OPTION_HELP = "显示本帮助并退出。"

# typer.rich_utils' module-level texts (names as Typer spells them).
RICH_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "（已停用）",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "查看帮助：[blue]{command_path} {help_option}[/]",
}

_installed = False


def install_rich_texts() -> None:
    """Put the Chinese texts into typer.rich_utils (imported here, not at start-up). Idempotent."""
    global _installed
    if _installed:
        return
    from typer import rich_utils

    for name, text in RICH_TEXTS.items():
        setattr(rich_utils, name, text)
    # The usage line's prefix keeps the style Typer gives "Usage: ".
    type(rich_utils.highlighter).highlights = [*rich_utils.highlighter.highlights, r"(?P<usage>用法：)"]
    _installed = True


# Details of "Invalid value for …": Typer's own path and choice checks, and pydantic's messages
# for the types dsr's options use (int, float, constrained by min/max).
_DETAILS: list[tuple[str, str]] = [
    (r"Input should be a valid integer.*", "应为整数"),
    (r"Input should be a valid number.*", "应为数字"),
    (r"Input should be a finite number.*", "应为有限的数"),
    (r"Input should be a valid boolean.*", "应为是或否"),
    (r"Input should be a valid date.*", "应为日期 YYYY-MM-DD"),
    (r"Input should be greater than or equal to (.+)", r"应不小于 \1"),
    (r"Input should be less than or equal to (.+)", r"应不大于 \1"),
    (r"Input should be greater than (.+)", r"应大于 \1"),
    (r"Input should be less than (.+)", r"应小于 \1"),
    (r"file (.+) does not exist\.", r"文件 \1 不存在。"),
    (r"dir (.+) does not exist\.", r"文件夹 \1 不存在。"),
    (r"path (.+) does not exist\.", r"路径 \1 不存在。"),
    (r"\w+ (.+) is a file\.", r"\1 是文件，应为文件夹。"),
    (r"\w+ (.+) is a directory\.", r"\1 是文件夹，应为文件。"),
    (r"\w+ (.+) is not readable\.", r"\1 不可读。"),
    (r"\w+ (.+) is not writable\.", r"\1 不可写。"),
    (r"(.+) is not one of (.+)\.", r"\1 不是可选的值（\2）。"),
    (r"Value must be an iterable\.", "应为多个值。"),
    (r"Value (.+) is not a valid (.+)\.", r"\1 不是有效的值。"),
]


def _detail(text: str) -> str:
    return _first(_DETAILS, text) or text


def _suggestion(names: str | None) -> str:
    return f"（是否要用 {names}？）" if names else ""


# Click's usage errors (typer/_click/exceptions.py, parser.py, core.py and typer/core.py).
_MESSAGES: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"Missing option (.+)\. (.+)", lambda m: f"缺少选项 {m[1]}。{m[2]}"),
    (r"Missing option (.+)\.", r"缺少选项 \1。"),
    (r"Missing argument (.+)\.", r"缺少参数 \1。"),
    (r"Missing parameter:? ?(.*?)\.?", r"缺少参数 \1。"),
    (r"No such option: (\S+)(?: \(Possible options: (.+)\))?",
     lambda m: f"没有选项 {m[1]}。{_suggestion(m[2])}"),
    (r"No such command (.+?)\.(?: Did you mean (.+)\?)?", lambda m: f"没有命令 {m[1]}。{_suggestion(m[2])}"),
    (r"Missing command\.", "缺少命令。"),
    (r"Got unexpected extra arguments? ?(?:\(s\))? \((.*)\)", r"多余的参数：\1"),
    (r"Option (.+) does not take a value\.", r"选项 \1 不接受值。"),
    (r"Option (.+) requires an argument\.", r"选项 \1 需要一个值。"),
    (r"Option (.+) requires (\d+) arguments\.", r"选项 \1 需要 \2 个值。"),
    (r"Argument (.+) takes (\d+) values\.", r"参数 \1 需要 \2 个值。"),
    (r"Invalid value for (.+?): (.*)", lambda m: f"{m[1]} 的值无效：{_detail(m[2])}"),
    (r"Invalid value: (.*)", lambda m: f"值无效：{_detail(m[1])}"),
    (r"Could not open file (.+?): (.*)", r"无法打开文件 \1：\2"),
]


def _first(table: list[tuple[str, Any]], text: str) -> str | None:
    for pattern, repl in table:
        m = re.fullmatch(pattern, text, flags=re.DOTALL)
        if m:
            return repl(m) if callable(repl) else m.expand(repl)
    return None


def translate(message: str) -> str:
    """Click's English message of a bad command line in Chinese; unknown messages unchanged."""
    return _first(_MESSAGES, message) or message


class _TranslatedUsageError(_click.exceptions.UsageError):
    """A usage error whose message is already final (Chinese)."""

    def __init__(self, message: str, original: _click.exceptions.ClickException) -> None:
        super().__init__(message, getattr(original, "ctx", None))
        self.exit_code = original.exit_code

    def format_message(self) -> str:
        return self.message


@contextmanager
def chinese_usage_errors() -> Iterator[None]:
    """Re-raise a Click error of the command line with its message in Chinese (and make sure the
    error panel Typer draws for it has Chinese titles). Help shown for a bare group
    (NoArgsIsHelpError, also a UsageError) passes as it is."""
    try:
        yield
    except (_TranslatedUsageError, _click.exceptions.NoArgsIsHelpError):
        raise
    except _click.exceptions.ClickException as exc:
        install_rich_texts()
        raise _TranslatedUsageError(translate(exc.format_message()), exc) from None
    except typer.Abort:
        install_rich_texts()
        raise


class _ChineseTexts:
    """What our command and group classes write differently from Typer's: the usage line's prefix,
    the help option's help, and the Chinese rich texts before help is drawn."""

    def format_usage(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)

    def get_help_option(self, ctx: _click.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
            # Absent, Typer's help flag is None, which it coerces through a pydantic adapter built for
            # the purpose: pydantic imported at every command's start (~0.05 s). False is what the flag
            # means when absent, and Typer passes a bool flag's bool through as it is.
            if option.default is None:
                option.default = False
        return option

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        install_rich_texts()
        super().format_help(ctx, formatter)  # type: ignore[misc]


class ChineseCommand(_ChineseTexts, TyperCommand):
    """A `dsr` command: Typer's, with the Chinese framework texts."""


class ChineseGroup(_ChineseTexts, TyperGroup):
    """A `dsr` command group: Typer's, with the Chinese framework texts."""


class ChineseTyper(typer.Typer):
    """typer.Typer whose commands and groups use the classes above and the Chinese usage
    placeholders; every `dsr` app and sub-app is one of these."""

    def __init__(self, *, cls: type[TyperGroup] | None = None, **settings: Any) -> None:
        settings.setdefault("options_metavar", OPTIONS_METAVAR)
        settings.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(cls=cls or ChineseGroup, **settings)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None,
                **settings: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        settings.setdefault("options_metavar", OPTIONS_METAVAR)
        return super().command(name, cls=cls or ChineseCommand, **settings)
