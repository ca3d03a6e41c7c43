"""Everything the command line shows a person is Simplified Chinese (the product's rule), including
Typer's and Click's own texts (scheduler/cli/chinese.py).

The test walks the whole command tree, so a new command or sub-command is covered the day it is
written: the help of each one, and a few bad usages, may hold no Latin-letter word except what a
user types as it is — command and option names, argument metavars, type labels, values of
choices, file and environment variable names — and a short list of format and product names.
"""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.cli.chinese import translate

# Deterministic rendering: a fixed width, no colours (rich reads these at each Console).
ENV = {"COLUMNS": "120", "TERMINAL_WIDTH": "120", "NO_COLOR": "1", "TERM": "dumb"}

# Names and abbreviations kept as they are (GLOSSARY rule: technical names a user types).
ALLOWED = {"dsr", "USCC", "CSV", "XLSX", "JSON", "PDF", "SHA-256", "ID", "URL", "HTML", "UTC", "DSR-1", "HMAC",
           # date formats a value is typed in
           "YYYY", "YYYY-MM", "YYYY-MM-DD", "YYYY-Qn",
           # the signal an operator sends to stop the worker
           "SIGTERM"}
# Values typed as they are: choices of arguments and options, JSON field names of a file the user writes.
VALUES = {
    "enterprises", "inspectors", "experts", "items", "conflicts",          # import kinds
    "admin", "planner", "inspector", "reviewer", "auditor", "public",      # roles
    "photo", "record", "report", "accept", "reject", "yes", "no", "month", "quarter", "none",
    "gsxt", "city", "csv", "xlsx", "json", "html", "review", "publish", "case", "special",
    "rectify", "penalty", "no_case", "transfer", "judicial", "abnormal_list", "abnormal_remove",
    "holidays", "workdays", "start", "end", "name", "verify", "template",
}
# Notation that is not a word: type labels (<int>, <list[str]>), ranges (1<=x<=65535), file names,
# environment variables, periods such as 2026-Q4, and addresses.
NOTATION = re.compile(
    r"<[A-Za-z\[\], |]+>"
    r"|[\d.]+<=x<=[\d.]+|x[<>]=?[\d.]+"
    r"|[\w.<>-]+\.(?:json|csv|xlsx|db|pdf|html)\b"
    r"|\bDSR_[A-Z_]+\b"
    r"|\b\d{4}-Q[1-4]\b"
    r"|https?://\S+"
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def _tree() -> tuple[list[list[str]], set[str]]:
    """Every command path (the top app is []) and every name a user types in the tree."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = []
    names: set[str] = {"help"}  # --help: Click adds it when help is shown, not among the params

    def walk(cmd, path: list[str]) -> None:  # noqa: ANN001
        paths.append(path)
        for p in cmd.params:
            names.update(o.lstrip("-") for o in [*p.opts, *p.secondary_opts])
            names.add(p.name or "")
            if p.metavar:
                names.add(p.metavar)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            names.add(name)
            walk(sub, [*path, name])

    walk(root, [])
    return paths, names


PATHS, NAMES = _tree()


def english_words(text: str, typed: tuple[str, ...] = ()) -> list[str]:
    """The Latin-letter words of `text` that are neither a name, a value, an allowed abbreviation nor
    quoted from what the user `typed`."""
    for arg in typed:
        text = text.replace(arg, " ")
    text = NOTATION.sub(" ", text)
    found = []
    for w in WORD.findall(text):
        if w in ALLOWED or w in VALUES or w in NAMES or w.lstrip("-") in NAMES:
            continue
        found.append(w)
    return found


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, list(args), env=ENV, prog_name="dsr")


def test_the_tree_is_walked():
    assert len(PATHS) > 50
    for path in (["draw"], ["calendar", "enter"], ["results", "follow-up-step"], ["exchange", "legal-name"]):
        assert path in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dsr")
def test_every_help_is_chinese(path):
    res = run(*path, "--help")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "用法：dsr" in out and "显示本帮助并退出。" in out
    assert re.search(r"[\u4e00-\u9fff]", out)
    assert english_words(out) == [], out


@pytest.mark.parametrize(("args", "chinese"), [
    (["draw", "P1"], "缺少选项 '--period'。"),
    (["draw", "P1", "--period", "2026-12", "--bogus"], "没有选项 --bogus。"),
    (["deadline", "2026-12-01", "--days", "many"], "'--days' 的值无效：应为整数"),
    (["app", "--port", "0", "--dry-run"], "'--port' 的值无效：应不小于 1"),
    (["stats", "extra"], "多余的参数：extra"),
    (["no-such-command"], "没有命令 'no-such-command'。"),
    (["--bogus"], "没有选项 --bogus。"),
    (["calendar", "show"], "缺少参数 'year'。"),
])
def test_bad_usage_is_told_in_chinese(args, chinese):
    res = run(*args)
    assert res.exit_code == 2, res.output
    err = res.stderr
    assert chinese in err, err
    assert "用法：dsr" in err and "查看帮助：dsr" in err and "错误" in err
    assert english_words(err, tuple(args)) == [], err


@pytest.mark.parametrize("path", [["audit"], ["results"], []], ids=lambda p: " ".join(p) or "dsr")
def test_a_bare_group_shows_its_chinese_help(path):
    res = run(*path)
    assert "用法：dsr" in res.output, res.output
    assert english_words(res.output) == [], res.output


def test_the_allow_list_catches_english():
    assert english_words("Usage: dsr draw [OPTIONS] Show this message and exit.") == [
        "Usage", "OPTIONS", "Show", "this", "message", "and", "exit"]
    assert english_words("以 JSON 输出；--period 2026-12；certificate.json；DSR_DATABASE_URL；<int range> [1<=x<=65535]") == []


@pytest.mark.parametrize(("english", "chinese"), [
    ("Missing option '--out'.", "缺少选项 '--out'。"),
    ("No such option: --x (Possible options: --xa, --xb)", "没有选项 --x。（是否要用 --xa, --xb？）"),
    ("No such command 'drw'. Did you mean 'draw'?", "没有命令 'drw'。（是否要用 'draw'？）"),
    ("Invalid value for '--n': Input should be less than or equal to 9", "'--n' 的值无效：应不大于 9"),
    ("Invalid value for 'file': file 'a.csv' does not exist.", "'file' 的值无效：文件 'a.csv' 不存在。"),
    ("Option '--out' requires an argument.", "选项 '--out' 需要一个值。"),
    ("Something new from a later Typer", "Something new from a later Typer"),
])
def test_the_mapping(english, chinese):
    assert translate(english) == chinese


def test_the_password_prompt_is_chinese():
    """Typed twice at a hidden prompt; a mismatch is told in Chinese and asked again."""
    from scheduler.cli.users import _read_password

    with CliRunner().isolation(input="Passw0rd-1\nPassw0rd-2\nPassw0rd-3\nPassw0rd-3\n") as (_, err, output):
        assert _read_password(False) == "Passw0rd-3"
        shown = output.getvalue().decode("utf-8")
    assert "两次输入的密码不一致" in shown and "再次输入密码" in shown, shown
    assert english_words(shown) == [], shown


def test_start_up_does_not_load_the_help_renderer():
    """The Chinese texts go into typer.rich_utils only when help or an error is drawn: start-up
    (`dsr --help` is benchmarked, and every command starts up) does not import it."""
    import subprocess
    import sys

    code = "import sys, scheduler.cli; assert 'typer.rich_utils' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
