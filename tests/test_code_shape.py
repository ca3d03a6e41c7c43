"""The shape of the code: no function of the engine and its services runs to 80 lines.

A function that long does several things at once; its steps get names (helpers
with clear inputs and outputs) so that a reader sees the policy and the data
flow. The database migrations are exempt: a schema revision is one long list of
tables by nature.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 80  # lines, from the `def` line to the last line of the body
EXEMPT = Path("db") / "migrations" / "versions"


def long_functions(root: Path = ROOT, limit: int = LIMIT) -> list[str]:
    """'lines path name' of every function of scheduler/ and db/ under `root` that is `limit` lines or longer."""
    found = []
    for top in ("scheduler", "db"):
        for path in sorted((root / top).rglob("*.py")):
            if path.is_relative_to(root / EXEMPT):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines >= limit:
                        found.append(f"{lines} {path.relative_to(root)} {node.name}")
    return found


def test_no_function_in_the_engine_or_services_is_80_lines_or_longer() -> None:
    found = long_functions()
    assert not found, "functions of 80 lines or more (split them into named steps):\n" + "\n".join(found)


def test_the_check_finds_long_functions_and_skips_migrations(tmp_path: Path) -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(LIMIT - 1))
    code = f"class C:\n    async def long(self):\n{body}\n\n    def short(self):\n        return 1\n"
    (tmp_path / "scheduler" / "pkg").mkdir(parents=True)
    (tmp_path / "scheduler" / "pkg" / "m.py").write_text(code, encoding="utf-8")
    (tmp_path / EXEMPT).mkdir(parents=True)
    (tmp_path / EXEMPT / "0001_x.py").write_text(code, encoding="utf-8")
    assert long_functions(tmp_path) == [f"{LIMIT} {Path('scheduler', 'pkg', 'm.py')} long"]
    assert long_functions(tmp_path, LIMIT + 1) == []
