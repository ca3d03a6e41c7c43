"""One door, many checks (进一次门、查多项事) across plans: merge tasks into visits.

Pure: no DB, no UI. The service layer (scheduler/visits/service.py) feeds it the
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
   ``(drawn_at, plan_code, period, task_id)``, ``drawn_at`` to the microsecond; its
   bureau and date are that task's. Among live draws ``(plan_code, period)`` is
   unique, so the order is total: two draws can never tie.
4. The visit's team is the union of the tasks' teams; every member and item keeps
   the plan it comes from (谁检查、谁录入、谁公开). Its leader (组长) is the leader
   of the first task, in rule-3 order, whose team has one; the other plans' leaders
   join as members. A visit with a team has exactly one leader.

Every input of the rule is in the draws' certificates (entity id, plan code,
period, draw timestamp), so an auditor can recompute the merges from them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from scheduler.errors import DsrError

if TYPE_CHECKING:  # numpy is imported where the vectorised grouping runs
    import numpy as np

WINDOWS: dict[str, str] = {"month": "按月", "quarter": "按季度"}
DEFAULT_WINDOW = "month"

# Why an entity still gets several visits in a span (shown to the coordinating department).
SEPARATE_REASONS: dict[str, str] = {
    "not_mergeable": "计划标记为不可合并（如不可等待的重点事项）",
    "different_windows": "任务不在同一协调周期内",
}

_PERIOD = re.compile(r"(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?")


class WindowError(DsrError, ValueError):
    """A period or window setting that cannot be coordinated (message in Chinese)."""

    code = "visits.window_invalid"


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


def periods_of_window(win: str, window: str = DEFAULT_WINDOW) -> list[str]:
    """The draw periods whose tasks fall in window `win` under the setting (rule 1), sorted.

    Refuses (WindowError) a key that is not a window under the setting, e.g. a
    month under ``quarter``."""
    if window not in WINDOWS:
        raise WindowError(f"协调周期设置“{window}”无效，应为 {'、'.join(WINDOWS)} 之一")
    m = _PERIOD.fullmatch(win or "")
    if not m:
        raise WindowError(f"协调周期“{win}”格式无效，应为 YYYY-MM、YYYY-Qn 或 YYYY")
    year, month, quarter = m.groups()
    if month and window == "quarter":
        raise WindowError(f"当前按季度协调，“{win}”不是协调周期；请使用 {window_of(win, window)}")
    if quarter and window == "quarter":
        q = int(quarter)
        return sorted([win] + [f"{year}-{mo:02d}" for mo in range(3 * q - 2, 3 * q + 1)])
    return [win]


def iso_utc(t) -> str:
    """A draw timestamp as the certificate writes it (`drawn_at`): UTC, ISO 8601, to the microsecond.

    Whole seconds would let two draws of one second tie on time, and the plan code, not the
    order of the draws, would then choose the lead (a later draw taking over a visit)."""
    import datetime as _dt

    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")


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
class DrawTasks:
    """The live tasks of one draw, as columns: the bulk input of `merge_draws`."""

    plan_code: str
    period: str
    drawn_at: str
    mergeable: bool
    task_ids: Sequence[int]
    entity_ids: Sequence[str]

    def refs(self) -> list[TaskRef]:
        return [TaskRef(t, e, self.plan_code, self.period, self.drawn_at, self.mergeable)
                for t, e in zip(self.task_ids, self.entity_ids)]


@dataclass(frozen=True)
class DrawKey:
    """What the rule needs of one draw (the columnar input of `group_columns`)."""

    drawn_at: str
    plan_code: str
    period: str
    mergeable: bool = True


class Grouping:
    """Visits as columns (the output of `group_columns`): visit v holds the tasks
    ``task_ids[starts[v]:starts[v + 1]]`` (lead first, rule-3 order); visits are in
    `merge` order. ``order[i]`` is the input position of grouped task i, so any column
    aligned with the input can be put in grouped order as ``column[order]``."""

    def __init__(self, task_ids, order, starts, rank, codes, entity_of_visit, uniq, window_of_visit, wins):
        self.task_ids, self.order, self.starts = task_ids, order, starts
        self._rank, self._codes = rank, codes
        self._entity, self._uniq = entity_of_visit, uniq
        self._window, self._wins = window_of_visit, wins

    def __len__(self) -> int:
        return int(self.starts.size - 1)

    @property
    def leads(self) -> "np.ndarray":
        return self.task_ids[self.starts[:-1]]

    @property
    def plan_codes(self) -> list[str]:
        """Plan code of each grouped task."""
        return [self._codes[k] for k in self._rank.tolist()]

    def entities_of(self, visits: "np.ndarray | None" = None) -> list[str]:
        """Entity id of each visit (or of the visits at the given indexes)."""
        codes = self._entity if visits is None else self._entity[visits]
        return [x.decode() if isinstance(x, bytes) else str(x) for x in self._uniq[codes].tolist()]

    def windows_of(self, visits: "np.ndarray | None" = None) -> list[str]:
        codes = self._window if visits is None else self._window[visits]
        return [self._wins[k] for k in codes.tolist()]

    @property
    def entities(self) -> list[str]:
        return self.entities_of()

    @property
    def windows(self) -> list[str]:
        return self.windows_of()

    def visits(self) -> list[VisitPlan]:
        ids, codes, st = self.task_ids.tolist(), self.plan_codes, self.starts.tolist()
        return [VisitPlan(e, w, ids[a], tuple(ids[a:b]), tuple(dict.fromkeys(codes[a:b])))
                for e, w, a, b in zip(self.entities, self.windows, st, st[1:])]


def _id_column(values: Sequence[str]) -> "np.ndarray":
    """Entity ids as a numpy column that sorts as Python sorts the strings (bytes if ASCII)."""
    import numpy as np

    try:
        return np.array(values, dtype="S")
    except UnicodeEncodeError:
        return np.array(values, dtype="U")


def group_columns(task_ids: Sequence[int], entity_ids: Sequence[str], draw_index: Sequence[int],
                  draws: Sequence[DrawKey], window: str = DEFAULT_WINDOW) -> Grouping:
    """Rules 1–3, vectorised: the visits `merge` forms from tasks given as columns
    (task i: ``task_ids[i]``, ``entity_ids[i]``, of draw ``draws[draw_index[i]]``).

    Rule 3 orders tasks by (drawn_at, plan_code, period, task_id); the first three are
    per draw, so each task gets the rank of its draw's key. Tasks are sorted by
    (window, entity, draw rank, task id); in each (window, entity) block the first
    mergeable task leads the visit of every mergeable task of the block, and a task of
    a plan not mergeable leads its own. Visits are then ordered by their lead's
    position, which is `merge`'s order (window, entity, lead order).
    """
    import numpy as np

    tid = np.asarray(task_ids, dtype=np.int64)
    n = tid.size
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return Grouping(e, e, np.zeros(1, dtype=np.int64), e, [], e, np.zeros(0, dtype="S1"), e, [])
    keys = sorted({(d.drawn_at, d.plan_code, d.period) for d in draws})
    krank = {k: i for i, k in enumerate(keys)}
    wins = sorted({window_of(d.period, window) for d in draws})
    wrank = {w: i for i, w in enumerate(wins)}
    di = np.asarray(draw_index, dtype=np.int64)
    dr = np.array([krank[(d.drawn_at, d.plan_code, d.period)] for d in draws], dtype=np.int64)[di]
    wr = np.array([wrank[window_of(d.period, window)] for d in draws], dtype=np.int64)[di]
    mg = np.array([bool(d.mergeable) for d in draws], dtype=bool)[di]
    uniq, ecode = np.unique(_id_column(entity_ids), return_inverse=True)
    ecode = ecode.reshape(-1)
    order = np.lexsort((tid, dr, ecode, wr))
    s_w, s_e, s_m = wr[order], ecode[order], mg[order]
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (s_w[1:] != s_w[:-1]) | (s_e[1:] != s_e[:-1])
    block = np.cumsum(new_block) - 1
    pos = np.arange(n, dtype=np.int64)
    lead_pos = pos.copy()
    mpos = pos[s_m]
    if mpos.size:
        mb = block[s_m]
        first = np.ones(mpos.size, dtype=bool)
        first[1:] = mb[1:] != mb[:-1]
        lead_pos[mpos] = mpos[first][np.cumsum(first) - 1]
    o2 = np.lexsort((pos, lead_pos))
    grouped = order[o2]
    g_lead = lead_pos[o2]
    new_visit = np.ones(n, dtype=bool)
    new_visit[1:] = g_lead[1:] != g_lead[:-1]
    starts = np.append(np.flatnonzero(new_visit), n).astype(np.int64)
    lead_sorted = g_lead[starts[:-1]]
    return Grouping(tid[grouped], grouped, starts, dr[grouped], [k[1] for k in keys], s_e[lead_sorted], uniq,
                    s_w[lead_sorted], wins)


def group_draws(draws: Iterable[DrawTasks], window: str = DEFAULT_WINDOW) -> Grouping:
    """`group_columns` for tasks given draw by draw."""
    draws = [d for d in draws if len(d.task_ids)]
    ids = [t for d in draws for t in d.task_ids]
    ents = [e for d in draws for e in d.entity_ids]
    index = [k for k, d in enumerate(draws) for _ in range(len(d.task_ids))]
    return group_columns(ids, ents, index, [DrawKey(d.drawn_at, d.plan_code, d.period, d.mergeable) for d in draws],
                         window)


def merge_draws(draws: Iterable[DrawTasks], window: str = DEFAULT_WINDOW) -> list[VisitPlan]:
    """`merge` for tasks given draw by draw: the same visits in the same order (via `group_draws`)."""
    return group_draws(draws, window).visits()


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
    "DrawKey",
    "DrawTasks",
    "Grouping",
    "SEPARATE_REASONS",
    "WINDOWS",
    "SavedFigures",
    "SeparateVisits",
    "TaskRef",
    "VisitPlan",
    "WindowError",
    "group_columns",
    "group_draws",
    "iso_utc",
    "merge",
    "merge_draws",
    "saved_figures",
    "separate_visits",
    "window_months",
    "window_of",
    "periods_of_window",
]
