"""Every service entry point checks the caller's role (issue 18 §6).

An entry point is a public function of a service module that takes the database (`engine`) and the
acting `actor`: what the app, the CLI and the worker call. Each must check the actor — through the
permission table (`require`, `can`), the scope (`require_bureau`, `require_task`, `visible_bureaus`,
…) or a test of `actor.role` — in its own body or in a helper of its module that it calls. The test
walks the source (so a new entry point is enumerated the day it is written) and lists the few that
need no check, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICE_MODULES = sorted(
    p for p in (ROOT / "scheduler").rglob("*.py")
    if p.name.endswith("service.py") or p.name in {"records.py", "browse.py", "tasks.py", "corrections.py",
                                                    "dashboard.py", "runs.py", "bureaus.py"}
)
# Calls and names that check the actor (scheduler/access) — a role test or a scope restriction.
CHECKS = {"require", "require_bureau", "require_task", "require_draw", "can", "visible_bureaus", "restrict",
          "_visible", "_require", "_require_scope", "bureau_visible", "area", "in_scope", "own_team", "is_inspector",
          "check_scope"}
# Entry points that need no check, and why.
EXEMPT = {
    "accounts/service.py:logout": "records the actor's own logout; nothing else changes",
    "demo/service.py:create_demo": "the command line's demo set-up of an empty database (dsr demo, dsr app)",
    "demo/service.py:timed_create_demo": "as create_demo, timed",
    "demo/service.py:create_bureaus_demo": "as create_demo, for three bureaus",
    "calendar/service.py:seed_from_package": "the holiday schedules shipped with dsr, at dsr init",
}


def _calls(fn: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            f = node.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
        if isinstance(node, ast.Attribute) and node.attr == "role" and getattr(node.value, "id", "") == "actor":
            out.add("actor.role")
    return out


def _entry_points() -> list[tuple[str, bool]]:
    found = []
    for path in SERVICE_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        calls = {name: _calls(f) for name, f in funcs.items()}

        def checked(name: str, seen: set[str]) -> bool:
            if name in seen:
                return False
            seen.add(name)
            c = calls[name]
            if c & CHECKS or "actor.role" in c:
                return True
            return any(checked(n, seen) for n in c if n in funcs)

        for name, f in funcs.items():
            params = [a.arg for a in f.args.args + f.args.kwonlyargs]
            if name.startswith("_") or not params or params[0] != "engine" or "actor" not in params:
                continue
            key = f"{path.relative_to(ROOT / 'scheduler').as_posix()}:{name}"
            found.append((key, checked(name, set())))
    return found


def test_the_entry_points_are_found():
    keys = {k for k, _ in _entry_points()}
    assert len(keys) > 60
    for k in ("results/service.py:recompute_deadlines", "draw/service.py:execute", "accounts/service.py:add_user"):
        assert k in keys


@pytest.mark.parametrize("key,checked", _entry_points(), ids=[k for k, _ in _entry_points()])
def test_every_service_entry_point_checks_the_callers_role(key, checked):
    assert checked or key in EXEMPT, f"{key} does not check the caller's role or scope"


def test_exemptions_are_entry_points():
    keys = {k for k, _ in _entry_points()}
    assert set(EXEMPT) <= keys, set(EXEMPT) - keys


def test_recompute_deadlines_refuses_a_role_that_may_not(sqlite_engine):
    """Before, any caller (an inspector, the public) could rewrite every task's deadline."""
    from scheduler.access.context import Actor
    from scheduler.access.permissions import PermissionDenied
    from scheduler.results import service as rs

    for role in ("public", "inspector", "auditor"):
        with pytest.raises(PermissionDenied):
            rs.recompute_deadlines(sqlite_engine, Actor("x", role))
