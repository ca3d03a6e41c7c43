"""The code's shape: the import contracts hold, and the README's layout is the tree.

The contracts (pyproject.toml, `[tool.importlinter]`): the app, the CLI and the worker sit on
the domain packages, each domain only on those below it, all on `db`; no two sibling packages
or modules import each other; the pure rules import no database, UI or service code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the README's layout block lists file by file; deeper folders it lists as one entry.
LISTED_TREES = ("scheduler", "db", "ui")
FOLDERS_AS_ONE = ("db/migrations", "ui/pages", "scheduler/cli")


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" not in r.stdout.split("Contracts:")[-1].split("\n")[0].replace("0 broken", "")


def _readme_layout() -> dict[str, str]:
    """Paths listed in the README's layout block (folders end with '/'), with their description."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    listed: dict[str, str] = {}
    parents: list[str] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name, _, what = line.strip().partition(" ")
        parents = parents[:depth]
        path = "".join(parents) + name
        listed[path] = what.strip()
        if name.endswith("/"):
            parents.append(name)
    return listed


def _tree() -> set[str]:
    """Every module and folder of the listed trees, as the README names them."""
    out: set[str] = set()
    for top in LISTED_TREES:
        for p in sorted((ROOT / top).rglob("*.py")):
            rel = p.relative_to(ROOT).as_posix()
            if p.name == "__init__.py" or "__pycache__" in rel:
                continue
            folder = next((f for f in FOLDERS_AS_ONE if rel.startswith(f + "/")), None)
            if folder is not None:
                out.add(folder + "/")
                continue
            out.add(rel)
            for parent in Path(rel).parents:
                if parent.as_posix() != ".":
                    out.add(parent.as_posix() + "/")
    return out


def test_readme_layout_is_the_tree():
    listed = _readme_layout()
    listed_here = {p for p in listed if p.split("/", 1)[0] in LISTED_TREES}
    tree = _tree()
    assert not tree - listed_here, f"in the tree but not in README's layout: {sorted(tree - listed_here)}"
    assert not listed_here - tree, f"in README's layout but not in the tree: {sorted(listed_here - tree)}"
    for path in listed:
        assert (ROOT / path).exists(), f"README's layout names {path}, which does not exist"
    undescribed = [p for p, what in listed.items() if not what and p.endswith(".py")]
    assert not undescribed, f"README's layout lists these without saying what they hold: {undescribed}"


def test_each_domain_package_says_what_it_holds():
    for init in sorted((ROOT / "scheduler").glob("*/__init__.py")):
        doc = init.read_text(encoding="utf-8").strip()
        assert re.match(r'^"""\S', doc), f"{init.relative_to(ROOT)} has no docstring"
