"""Who is acting: passed to every service call, recorded in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str = "cli"
    role: str = "admin"  # admin / planner / inspector / reviewer / auditor / public / system
    bureau_id: int | None = None
    department_id: int | None = None


CLI = Actor("cli", "admin")
SYSTEM = Actor("system", "system")
