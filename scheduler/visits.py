"""One door, many checks (进一次门、查多项事) across plans: merge tasks into visits.

Pure: no DB, no UI. The service layer (scheduler/services/visits.py) feeds it the
live random-draw tasks of a coordination window and stores what it returns.

The rule (normative; docs/visits.md repeats it for auditors):

1. A task's coordination window follows from its draw's period and the
   deployment's window setting: with ``month`` a period ``2026-12`` is the window
   ``2026-12``; with ``quarter`` it is ``2026-Q4``. A period coarser than the
   window (``2026-Q4`` under ``month``, ``2026`` under either) is its own window.
2. Tasks of the same entity in the same window are one visit, except tasks of a
   plan marked not mergeable (不可合并: e.g. a key item that cannot wait), which
   are visits of their own.
3. The visit belongs to the task of the earliest draw: the smallest
   ``(drawn_at, plan_code, period, task_id)``; its bureau, date and team leader are
   that task's. The visit's team is the union of the tasks' teams; every member
   and item keeps the plan it comes from (谁检查、谁录入、谁公开).

Every input of the rule is in the draws' certificates (entity id, plan code,
period, draw timestamp), so an auditor can recompute the merges from them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

WINDOWS: dict[str, str] = {"month": "按月", "quarter": "按季度"}
DEFAULT_WINDOW = "month"

# Why an entity still gets several visits in a span (shown to the coordinating department).
SEPARATE_REASONS: dict[str, str] = {
    "not_mergeable": "计划标记为不可合并（如不可等待的重点事项）",
    "different_windows": "任务不在同一协调周期内",
}

_PERIOD = re.compile(r"(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?")


class WindowError(ValueError):
    """A period or window setting that cannot be coordinated (message in Chinese)."""


def window_of(period: str, window: str = DEFAULT_WINDOW) -> str:
    """The coordination window a draw period falls in (see rule 1)."""
    if window not in WINDOWS:
        raise WindowError(f"协调周期设置“{window}”无效，应为 {'、'.join(WINDOWS)} 之一")
    m = _PERIOD.fullmatch(period or "")
    if not m:
        raise WindowError(f"抽查期间“{period}”格式无效，应为 YYYY、YYYY-MM 或 YYYY-Qn")
    year, month, quarter = m.groups()
    if month and window == "quarter":
        return f"{year}-Q{(int(month) - 1) // 3 + 1}"
    return period


def window_months(win: str) -> tuple[str, str]:
    """First and last month (``YYYY-MM``) a window or period covers, for overlap tests."""
    m = _PERIOD.fullmatch(win)
    if not m:
        raise WindowError(f"协调周期“{win}”格式无效")
    year, month, quarter = m.groups()
    if month:
        return f"{year}-{month}", f"{year}-{month}"
    if quarter:
        q = int(quarter)
        return f"{year}-{3 * q - 2:02d}", f"{year}-{3 * q:02d}"
    return f"{year}-01", f"{year}-12"


@dataclass(frozen=True)
class TaskRef:
    """What the merge rule needs of one live task (all of it is in the certificates)."""

    task_id: int
    entity_id: str
    plan_code: str
    period: str
    drawn_at: str  # ISO timestamp of the draw (certificate `drawn_at`)
    mergeable: bool = True

    @property
    def order(self) -> tuple[str, str, str, int]:
        return (self.drawn_at, self.plan_code, self.period, self.task_id)


@dataclass(frozen=True)
class VisitPlan:
    """One visit: the lead task (earliest draw) and every task behind the same door."""

    entity_id: str
    window: str
    lead_task_id: int
    task_ids: tuple[int, ...]  # in rule-3 order, lead first
    plan_codes: tuple[str, ...]  # distinct, in the same order

    @property
    def merged(self) -> bool:
        return len(self.task_ids) > 1


def merge(tasks: Iterable[TaskRef], window: str = DEFAULT_WINDOW) -> list[VisitPlan]:
    """Group tasks into visits by rules 1–3; visits sorted by (window, entity, lead order)."""
    groups: dict[tuple[str, str], list[TaskRef]] = defaultdict(list)
    for t in tasks:
        groups[(window_of(t.period, window), t.entity_id)].append(t)
    out: list[tuple[tuple, VisitPlan]] = []
    for (win, entity), members in groups.items():
        members.sort(key=lambda t: t.order)
        together = [t for t in members if t.mergeable]
        alone = [[t] for t in members if not t.mergeable]
        for group in ([together] if together else []) + alone:
            codes = tuple(dict.fromkeys(t.plan_code for t in group))
            vp = VisitPlan(entity, win, group[0].task_id, tuple(t.task_id for t in group), codes)
            out.append(((win, entity, group[0].order), vp))
    out.sort(key=lambda x: x[0])
    return [vp for _, vp in out]


@dataclass(frozen=True)
class SeparateVisits:
    """An entity that still gets several visits in a span, and why."""

    entity_id: str
    windows: tuple[str, ...]
    visits: int
    reason: str  # key of SEPARATE_REASONS

    @property
    def reason_label(self) -> str:
        return SEPARATE_REASONS[self.reason]


def separate_visits(visits: Sequence[VisitPlan]) -> list[SeparateVisits]:
    """Entities with more than one visit among `visits` (the span the caller chose).

    The reason is `not_mergeable` when two of its visits share a window (only a
    plan marked not mergeable does that), else `different_windows`.
    """
    by_entity: dict[str, list[VisitPlan]] = defaultdict(list)
    for v in visits:
        by_entity[v.entity_id].append(v)
    out = []
    for entity in sorted(by_entity):
        vs = by_entity[entity]
        if len(vs) < 2:
            continue
        wins = [v.window for v in vs]
        reason = "not_mergeable" if len(set(wins)) < len(wins) else "different_windows"
        out.append(SeparateVisits(entity, tuple(sorted(set(wins))), len(vs), reason))
    return out


@dataclass(frozen=True)
class SavedFigures:
    """Visits saved by merging: separate tasks − visits."""

    tasks: int
    visits: int

    @property
    def saved(self) -> int:
        return self.tasks - self.visits


def saved_figures(visits: Sequence[VisitPlan]) -> SavedFigures:
    return SavedFigures(sum(len(v.task_ids) for v in visits), len(visits))


__all__ = [
    "DEFAULT_WINDOW",
    "SEPARATE_REASONS",
    "WINDOWS",
    "SavedFigures",
    "SeparateVisits",
    "TaskRef",
    "VisitPlan",
    "WindowError",
    "merge",
    "saved_figures",
    "separate_visits",
    "window_months",
    "window_of",
]
