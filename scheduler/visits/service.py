"""One door, many checks (进一次门、查多项事) between plans: visits on the database.

The rule is pure (scheduler/visits/rules.py). This module feeds it the live random-draw
tasks of a coordination window, of every bureau and plan (the registry is shared:
a city plan's task and a district plan's task on one entity are one visit), and
stores the visits it forms (Visit, VisitTask).

- `refresh_window(session, window)` recomputes one window inside the caller's
  transaction. The draw calls it when a draw is stored, voided or a task replaced,
  so the visits always follow the live tasks. Idempotent: a visit keeps its id (and
  its planned date) as long as its lead task is the same; only the difference is
  written (bulk deletes and inserts).
- The coordination window (Setting `coordination_window`: month / quarter) is set
  by an administrator; changing it re-forms every visit in the same transaction.
- Read side: the planned visits of a window, the entities that still get several
  visits and why, the visits saved by merging (tasks − visits) per month and lead
  department, and the share of joint checks (visits with items of ≥ 2 departments).

Locking: every writer of visits takes the visits lock first (PostgreSQL: a
transaction-scoped advisory lock; SQLite: the write lock) and only then reads the
tasks, so two draws stored at once cannot both miss each other's tasks. Callers
must refresh *before* they record their own audit event (the audit chain lock
comes second everywhere), or two transactions could wait on each other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

import numpy as np
from sqlalchemy import and_, case, distinct, exists, func, or_, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from db.bulk import insert_rows, sqlite_page_cache, writes_ids
from db.models import (
    Bureau, CheckItem, Department, Draw, Enterprise, Plan, Setting, Task, TaskItem, Town, Visit, VisitTask, utcnow,
)
from scheduler.visits import rules as rule
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.matching.service import task_seats
from db.paging import MAX_PAGE_SIZE, Page
from scheduler.access.context import CLI, SYSTEM, Actor
from scheduler.access.scope import Visible, area, require_bureau, visible_bureaus
from scheduler.errors import DsrError

SETTING_KEY = "coordination_window"
INACTIVE = ("voided", "replaced", "reserve")  # as teams.INACTIVE_TASK / results.INACTIVE
JOINT_TARGET = (0.40, 0.60)  # provincial targets for the share of joint checks
# pg_advisory_xact_lock key of the visits ("dsrvisit"); taken before the audit chain's.
VISITS_LOCK_KEY = 0x6473_7276_6973_6974
ROLE_LABELS = {"leader": "组长", "member": "组员", "expert": "专家"}

__all__ = [
    "JOINT_TARGET",
    "NewTasks",
    "RefreshReport",
    "SETTING_KEY",
    "VisitsRefused",
    "coordination_window",
    "get_visit",
    "get_window",
    "joint_share",
    "rebuild",
    "refresh",
    "refresh_for_period",
    "refresh_window",
    "saved_by_month_and_department",
    "separate_report",
    "set_coordination_window",
    "set_plan_mergeable",
    "set_planned_date",
    "visit_of_task",
    "visits_for",
    "window_summary",
    "windows",
]


class VisitsRefused(DsrError, ValueError):
    """A request about visits that cannot be done; the message (Chinese) says why."""

    code = "visits.refused"


# --- the coordination window setting -------------------------------------------------------------


def coordination_window(session: Session | Connection) -> str:
    """The deployment's coordination window: `month` (default) or `quarter`."""
    value = session.execute(select(Setting.value).where(Setting.key == SETTING_KEY)).scalar_one_or_none()
    return value if value in rule.WINDOWS else rule.DEFAULT_WINDOW


def get_window(engine: Engine) -> str:
    with engine.connect() as conn:
        return coordination_window(conn)


def set_coordination_window(engine: Engine, value: str, actor: Actor = CLI) -> list["RefreshReport"]:
    """Set the coordination window (administrators) and re-form every visit under it, in one transaction."""
    value = (value or "").strip()
    labels = {v: k for k, v in rule.WINDOWS.items()}
    value = labels.get(value, value)
    if value not in rule.WINDOWS:
        raise VisitsRefused(f"协调周期应为 {'、'.join(f'{k}（{v}）' for k, v in rule.WINDOWS.items())} 之一，不能是“{value}”")
    require(actor, "visits.settings")
    with Session(engine) as s:
        _lock(s)
        old = coordination_window(s)
        row = s.get(Setting, SETTING_KEY) or Setting(key=SETTING_KEY, value=value)
        row.value = value
        s.add(row)
        s.flush()
        reports = rebuild(s, actor, value) if old != value else []
        auditlog.record(s, actor, "settings.coordination_window", f"setting:{SETTING_KEY}",
                        {"from": old, "to": value, "windows": [r.window for r in reports]})
        s.commit()
    return reports


# --- refresh -----------------------------------------------------------------------------------------


@dataclass
class RefreshReport:
    """What one refresh found and changed."""

    window: str
    setting: str
    tasks: int = 0  # live tasks in the window
    visits: int = 0
    merged: int = 0  # visits joining more than one task
    kept: int = 0  # visits that kept their id
    created: int = 0
    deleted: int = 0
    moved: int = 0  # tasks whose visit changed (or that joined or left the window)

    @property
    def saved(self) -> int:
        return self.tasks - self.visits


def _lock(s: Session) -> None:
    """Serialise the writers of visits (see the module docstring)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": VISITS_LOCK_KEY})
    else:
        s.execute(text('UPDATE "visit" SET id = id WHERE id < 0'))


def _raw(conn: Connection):
    return conn.connection.driver_connection


def _ph(conn: Connection) -> str:
    return "%s" if conn.dialect.name == "postgresql" else "?"


def _fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Rows of a raw SQL query (placeholders written `?`), fast: the driver's own cursor."""
    cur = _raw(conn).cursor()
    try:
        cur.execute(sql.replace("?", _ph(conn)), tuple(params))
        return cur.fetchall()
    finally:
        cur.close()


def _in_list(conn: Connection, values: Sequence[Any]) -> tuple[str, tuple]:
    """A SQL fragment and its one parameter matching `col IN values`, whatever their number."""
    vals = [int(v) for v in values]
    if conn.dialect.name == "postgresql":
        return "= ANY(?)", (vals,)
    return "IN (SELECT value FROM json_each(?))", (json.dumps(vals),)


def _execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    cur = _raw(conn).cursor()
    try:
        cur.execute(sql.replace("?", _ph(conn)), tuple(params))
    finally:
        cur.close()


def _delete_in(conn: Connection, table: str, column: str, ids: Sequence[int]) -> None:
    if len(ids):
        frag, params = _in_list(conn, ids)
        _execute(conn, f'DELETE FROM "{table}" WHERE "{column}" {frag}', params)


def _live_draws(conn: Connection, periods: Sequence[str]) -> list[tuple]:
    """(draw id, plan code, period, drawn_at, mergeable) of the drawn draws of `periods`."""
    stmt = (select(Draw.id, Plan.code, Draw.period, Draw.drawn_at, Plan.merge_visits)
            .join(Plan, Plan.id == Draw.plan_id)
            .where(Draw.status == "drawn", Draw.period.in_(list(periods)), Draw.drawn_at.is_not(None))
            .order_by(Draw.id))
    return [tuple(r) for r in conn.execute(stmt)]


@dataclass
class _Live:
    """The live tasks of some periods as columns, each with its stored visit (-1: none)."""

    draws: list[rule.DrawKey]
    draw_ids: list[int]
    task_ids: np.ndarray
    usccs: Sequence[str]
    bureaus: np.ndarray
    draw_index: np.ndarray
    stored_visit: np.ndarray


@dataclass
class NewTasks:
    """The live tasks a draw has just written (none has a visit yet), handed to the refresh
    by the draw so that they need not be read back: the other draws' tasks are read as usual."""

    draw_id: int
    task_ids: Sequence[int]
    usccs: Sequence[str]
    bureau_ids: Sequence[int]


def _read_tasks(conn: Connection, periods: Sequence[str], new: NewTasks | None = None) -> _Live:
    """One query: every live random task of the drawn draws of `periods`, with its bureau and
    the visit it is stored in now (the tasks of `new` from the caller, without a visit)."""
    meta = _live_draws(conn, periods)
    empty = np.zeros(0, dtype=np.int64)
    if not meta:
        return _Live([], [], empty, (), empty, empty, empty)
    draws = [rule.DrawKey(rule.iso_utc(at), code, period, bool(m)) for _d, code, period, at, m in meta]
    draw_ids = [d for d, *_ in meta]
    if new is not None and new.draw_id not in draw_ids:
        new = None  # not a live draw of these periods: nothing of it belongs here
    frag, params = _in_list(conn, [d for d in draw_ids if new is None or d != new.draw_id])
    marks = ", ".join("?" for _ in INACTIVE)
    rows = _fetch(conn, f'SELECT t.id, t.uscc, t.bureau_id, t.draw_id, COALESCE(vt.visit_id, -1) FROM "task" t '
                        f'LEFT JOIN "visittask" vt ON vt.task_id = t.id '
                        f'WHERE t.draw_id {frag} AND t.kind = ? AND t.status NOT IN ({marks})',
                  (*params, "random", *INACTIVE))
    ids, usccs, bureaus, dids, visits_ = zip(*rows) if rows else ((), (), (), (), ())
    del rows
    if new is not None and len(new.task_ids):
        # Rule 3 orders the tasks by their draw and id, not by where they come from: appended here.
        m = len(new.task_ids)
        ids, usccs, bureaus = (*ids, *new.task_ids), (*usccs, *new.usccs), (*bureaus, *new.bureau_ids)
        dids, visits_ = (*dids, *[new.draw_id] * m), (*visits_, *[-1] * m)
    if not ids:
        return _Live(draws, draw_ids, empty, (), empty, empty, empty)
    dids_a = np.asarray(dids, dtype=np.int64)
    order = np.argsort(np.asarray(draw_ids, dtype=np.int64))
    index = order[np.searchsorted(np.asarray(draw_ids, dtype=np.int64)[order], dids_a)]
    return _Live(draws, draw_ids, np.asarray(ids, dtype=np.int64), usccs, np.asarray(bureaus, dtype=np.int64),
                 index, np.asarray(visits_, dtype=np.int64))


def _lookup(keys_sorted: np.ndarray, values: np.ndarray, wanted: np.ndarray, default) -> np.ndarray:
    """For each wanted key: the value of the equal key in `keys_sorted` (sorted, unique), else `default`."""
    out = np.full(wanted.size, default, dtype=values.dtype if values.size else np.int64)
    if not keys_sorted.size or not wanted.size:
        return out
    pos = np.minimum(np.searchsorted(keys_sorted, wanted), keys_sorted.size - 1)
    hit = keys_sorted[pos] == wanted
    out[hit] = values[pos[hit]]
    return out


def _refresh(s: Session, windows_: Sequence[str], setting: str, actor: Actor, existing: Sequence[str],
             record: bool = True, new: NewTasks | None = None) -> RefreshReport:
    """Recompute the visits of `windows_` (under `setting`) against the stored visits of the
    windows `existing` (a superset of `windows_` when the setting changed)."""
    periods = sorted({p for w in windows_ for p in rule.periods_of_window(w, setting)})
    conn = s.connection()
    # The writes below touch the visit indexes at random places: a bigger page cache for this
    # refresh (as imports do) instead of SQLite's 2 MB default, restored at the end.
    with sqlite_page_cache(conn, 262144):
        return _refresh_on(s, conn, windows_, periods, setting, actor, existing, record, new)


@dataclass
class _Regrouped:
    """The live tasks grouped into visits by the rule, and where each of them is stored now."""

    g: rule.Grouping
    leads: np.ndarray  # per new visit: its lead task
    sizes: np.ndarray  # per new visit: its number of tasks
    stored_visit: np.ndarray  # per grouped task: the visit it is stored in, -1: none
    bureau_of_lead: np.ndarray  # per new visit: its lead task's bureau


def _regroup(live: _Live, setting: str) -> _Regrouped:
    g = rule.group_columns(live.task_ids, live.usccs, live.draw_index, live.draws, setting)
    return _Regrouped(g, g.leads, np.diff(g.starts), live.stored_visit[g.order], live.bureaus[g.order][g.starts[:-1]])


@dataclass
class _Stored:
    """The stored visits of the windows concerned (ids ascending), against the new grouping."""

    ids: np.ndarray
    leads: np.ndarray
    bureaus: np.ndarray
    kept: np.ndarray  # per stored visit: its lead still leads a visit, so it keeps its id
    deleted: np.ndarray  # the ids of the other stored visits


def _stored_visits(conn: Connection, existing: Sequence[str], new_leads: np.ndarray) -> _Stored:
    wmarks = ", ".join("?" for _ in existing)
    old = _fetch(conn, f'SELECT id, lead_task_id, bureau_id FROM "visit" WHERE "window" IN ({wmarks}) ORDER BY id',
                 tuple(existing))
    old_a = np.asarray(old, dtype=np.int64).reshape(-1, 3)
    del old
    old_id, old_lead, old_bureau = old_a[:, 0], old_a[:, 1], old_a[:, 2]
    kept_mask = np.isin(old_lead, new_leads)
    return _Stored(old_id, old_lead, old_bureau, kept_mask, old_id[~kept_mask])


def _gone_tasks(conn: Connection, existing: Sequence[str], live: _Live, gr: _Regrouped,
                old: _Stored) -> tuple[np.ndarray, int]:
    """Rows of tasks no longer live (voided, replaced) in the visits kept, and how many
    stored rows are no longer live at all. Rare: looked for only when the windows hold
    more rows than the live tasks account for."""
    wmarks = ", ".join("?" for _ in existing)
    n_rows = _fetch(conn, f'SELECT COUNT(*) FROM "visittask" vt JOIN "visit" v ON v.id = vt.visit_id '
                          f'WHERE v."window" IN ({wmarks})', tuple(existing))[0][0]
    if n_rows == int((gr.stored_visit != -1).sum()):
        return np.zeros(0, dtype=np.int64), 0
    marks = ", ".join("?" for _ in INACTIVE)
    dmarks = ", ".join("?" for _ in live.draw_ids) or "NULL"
    gone_rows = _fetch(conn, f'SELECT vt.task_id, vt.visit_id FROM "visittask" vt JOIN "visit" v ON v.id = vt.visit_id '
                             f'JOIN "task" t ON t.id = vt.task_id WHERE v."window" IN ({wmarks}) AND NOT '
                             f'(t.kind = ? AND t.status NOT IN ({marks}) AND COALESCE(t.draw_id, -1) IN ({dmarks}))',
                       (*existing, "random", *INACTIVE, *live.draw_ids))
    g_a = np.asarray(gone_rows, dtype=np.int64).reshape(-1, 2)
    return g_a[:, 0][_lookup(old.ids, old.kept, g_a[:, 1], False).astype(bool)], int(g_a.shape[0])


def _move_kept_visits(conn: Connection, windows_: Sequence[str], existing: Sequence[str], gr: _Regrouped,
                      old: _Stored, kept_vid: np.ndarray, kept_idx: np.ndarray) -> None:
    """Kept visits whose bureau (or, after a setting change, window) moved: updated in place."""
    moved_bureau = _lookup(old.ids, old.bureaus, kept_vid[kept_idx], -1) != gr.bureau_of_lead[kept_idx]
    if list(existing) != list(windows_):  # the setting changed: a kept visit may change window
        wmarks = ", ".join("?" for _ in existing)
        stored_win = dict(_fetch(conn, f'SELECT id, "window" FROM "visit" WHERE "window" IN ({wmarks})',
                                 tuple(existing)))
        moved_win = np.array([stored_win.get(int(v)) != w for v, w in
                              zip(kept_vid[kept_idx].tolist(), gr.g.windows_of(kept_idx))], dtype=bool)
    else:
        moved_win = np.zeros(kept_idx.size, dtype=bool)
    upd = kept_idx[moved_bureau | moved_win]
    for vid, b, win in zip(kept_vid[upd].tolist(), gr.bureau_of_lead[upd].tolist(), gr.g.windows_of(upd)):
        _execute(conn, 'UPDATE "visit" SET bureau_id = ?, "window" = ? WHERE id = ?', (b, win, vid))


def _insert_new_visits(conn: Connection, windows_: Sequence[str], gr: _Regrouped, new_idx: np.ndarray,
                       dated: dict[int, Any]) -> np.ndarray:
    """INSERT the visits with a new lead; their ids, per visit of `new_idx`."""
    g = gr.g
    # A visit re-formed around a new lead keeps the date planned for its lead's former (deleted) visit.
    planned: dict[int, Any] = {}
    if dated:
        lead_pos = g.starts[:-1][new_idx]
        for vi, vid in zip(new_idx.tolist(), gr.stored_visit[lead_pos].tolist()):
            if vid in dated:
                planned[vi] = dated[vid]
    rows = [(b, u, w, lead, planned.get(vi)) for vi, b, u, w, lead in zip(
        new_idx.tolist(), gr.bureau_of_lead[new_idx].tolist(), g.entities_of(new_idx), g.windows_of(new_idx),
        gr.leads[new_idx].tolist())]
    before = _fetch(conn, 'SELECT COALESCE(MAX(id), 0) FROM "visit"')[0][0]
    cols = ["bureau_id", "uscc", "window", "lead_task_id", "planned_on"]
    if writes_ids(conn):
        # The visits lock is SQLite's write lock: the ids are the ones SQLite would give
        # (max + 1, ... in row order), written out rather than read back.
        visit_of_new = np.arange(before + 1, before + 1 + len(rows), dtype=np.int64)
        insert_rows(conn, "visit", ["id", *cols], [(i, *r) for i, r in zip(visit_of_new.tolist(), rows)],
                    const={"created_at": utcnow()})
        return visit_of_new
    insert_rows(conn, "visit", cols, rows, const={"created_at": utcnow()})
    wmarks2 = ", ".join("?" for _ in windows_)
    ins = np.asarray(_fetch(conn, f'SELECT lead_task_id, id FROM "visit" WHERE id > ? AND "window" IN ({wmarks2}) '
                                  f'ORDER BY lead_task_id', (before, *windows_)), dtype=np.int64).reshape(-1, 2)
    return _lookup(ins[:, 0], ins[:, 1], gr.leads[new_idx], -1)


def _refresh_on(s: Session, conn: Connection, windows_: Sequence[str], periods: Sequence[str], setting: str,
                actor: Actor, existing: Sequence[str], record: bool, new: NewTasks | None = None) -> RefreshReport:
    live = _read_tasks(conn, periods, new)
    gr = _regroup(live, setting)
    g = gr.g
    label = windows_[0] if len(windows_) == 1 else "、".join(windows_)
    rep = RefreshReport(window=label, setting=setting, tasks=int(g.task_ids.size), visits=len(g))
    rep.merged = int((gr.sizes > 1).sum())
    lead_of_task = np.repeat(gr.leads, gr.sizes)  # per grouped task
    old = _stored_visits(conn, existing, gr.leads)
    rep.kept, rep.deleted = int(old.kept.sum()), int(old.deleted.size)
    # Per grouped task: the lead of the visit it is stored in, and that visit's fate (1 kept, 2 deleted, 0 other).
    stored_lead = _lookup(old.ids, old.leads, gr.stored_visit, -1)
    fate = _lookup(old.ids, np.where(old.kept, 1, 2).astype(np.int64), gr.stored_visit, 0)
    changed = stored_lead != lead_of_task  # a row is (re)written for these
    # Rows to remove by task: changed tasks whose stored row is not removed with a deleted visit.
    stale = g.task_ids[changed & (gr.stored_visit != -1) & (fate != 2)]
    gone, n_gone = _gone_tasks(conn, existing, live, gr, old)
    rep.moved += n_gone
    rep.moved += int(changed.sum())

    # Dates planned for visits about to be deleted (a re-formed visit inherits its lead's).
    dated: dict[int, Any] = {}
    if old.deleted.size:
        frag, params = _in_list(conn, old.deleted.tolist())
        dated = dict(_fetch(conn, f'SELECT id, planned_on FROM "visit" WHERE id {frag} AND planned_on IS NOT NULL', params))

    # Write the difference.
    _delete_in(conn, "visittask", "task_id", np.concatenate([stale, gone]).tolist())
    _delete_in(conn, "visittask", "visit_id", old.deleted.tolist())
    _delete_in(conn, "visit", "id", old.deleted.tolist())
    lead_sorter = np.argsort(old.leads, kind="stable")
    kept_vid = _lookup(old.leads[lead_sorter], np.where(old.kept, old.ids, -1)[lead_sorter], gr.leads, -1)  # per new visit
    is_new = kept_vid == -1
    kept_idx = np.flatnonzero(~is_new)
    if kept_idx.size:
        _move_kept_visits(conn, windows_, existing, gr, old, kept_vid, kept_idx)
    new_idx = np.flatnonzero(is_new)
    rep.created = int(new_idx.size)
    visit_of_new = _insert_new_visits(conn, windows_, gr, new_idx, dated) if new_idx.size else np.zeros(0, dtype=np.int64)
    if changed.any():
        visit_of_visit = kept_vid.copy()
        visit_of_visit[new_idx] = visit_of_new
        vid_of_task = np.repeat(visit_of_visit, gr.sizes)[changed]
        t_ids = g.task_ids[changed]
        o = np.argsort(t_ids, kind="stable")  # task id order: appends to the table's B-tree
        insert_rows(conn, "visittask", ["task_id", "visit_id"], list(zip(t_ids[o].tolist(), vid_of_task[o].tolist())))
    if record:
        auditlog.record(s, actor, "visits.refresh", f"window:{label}", _payload(rep))
    return rep


def _payload(rep: RefreshReport) -> dict[str, Any]:
    return {**asdict(rep), "saved": rep.saved}


def refresh_window(session: Session, window: str, actor: Actor = SYSTEM, setting: Optional[str] = None,
                   record: bool = True, new: NewTasks | None = None) -> RefreshReport:
    """Recompute the visits of one coordination window inside the caller's transaction.

    No permission check: the caller (a draw, a void, a replacement, `refresh`) has made it.
    Call it before the caller's own audit event (see the module docstring)."""
    session.flush()  # the caller's pending ORM changes (a voided draw's tasks) must be visible to the raw reads
    setting = setting or coordination_window(session)
    try:
        rule.periods_of_window(window, setting)
    except rule.WindowError as e:
        raise VisitsRefused(str(e)) from None
    _lock(session)
    return _refresh(session, [window], setting, actor, [window], record, new)


def refresh_for_period(session: Session, period: str, actor: Actor = SYSTEM,
                       new: NewTasks | None = None) -> RefreshReport:
    """Recompute the window that draw period `period` falls in (used by the draw service;
    a draw passes the tasks it has just written as `new`)."""
    setting = coordination_window(session)
    return refresh_window(session, rule.window_of(period, setting), actor, setting, new=new)


def refresh(engine: Engine, period_or_window: str, actor: Actor = CLI) -> RefreshReport:
    """`dsr visits refresh`: recompute the window of a period (or a window), with permission and commit."""
    require(actor, "visits.refresh")
    with Session(engine) as s:
        setting = coordination_window(s)
        try:
            win = rule.window_of(period_or_window, setting)
        except rule.WindowError as e:
            raise VisitsRefused(str(e)) from None
        rep = refresh_window(s, win, actor, setting)
        s.commit()
    return rep


def _family(win: str) -> str:
    """Windows of one quarter (its months and the quarter) form a family; a year is its own."""
    m = rule._PERIOD.fullmatch(win)
    year, month, quarter = m.groups()
    if month:
        return f"{year}-Q{(int(month) - 1) // 3 + 1}"
    return win


def _family_windows(fam: str) -> list[str]:
    if "-Q" in fam:
        year, q = fam.split("-Q")
        return [fam] + [f"{year}-{m:02d}" for m in range(3 * int(q) - 2, 3 * int(q) + 1)]
    return [fam]


def rebuild(session: Session, actor: Actor = SYSTEM, setting: Optional[str] = None) -> list[RefreshReport]:
    """Re-form every visit (all windows with a live draw or a stored visit), e.g. after the window
    setting changed. Ids are kept where leads are, as in `refresh_window`."""
    session.flush()
    setting = setting or coordination_window(session)
    _lock(session)
    conn = session.connection()
    periods = {p for (p,) in conn.execute(select(Draw.period).where(Draw.status == "drawn").distinct())}
    stored = {w for (w,) in conn.execute(select(Visit.window).distinct())}
    families: dict[str, set[str]] = defaultdict(set)
    for p in periods:
        families[_family(p)].add(rule.window_of(p, setting))
    for w in stored:
        families.setdefault(_family(w), set())
    # A family whose draws were all voided keeps no visit: refreshing it (no live task) deletes them.
    return [_refresh(session, sorted(families[fam]) or [fam], setting, actor, _family_windows(fam))
            for fam in sorted(families)]


def set_plan_mergeable(engine: Engine, plan_code: str, mergeable: bool, actor: Actor = CLI) -> list[RefreshReport]:
    """Mark a plan mergeable or not (不可合并: its tasks always get visits of their own) and
    re-form the windows of its live draws. Right: saving the plan (plan.save)."""
    with Session(engine) as s:
        plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
        if plan is None:
            raise VisitsRefused(f"抽查计划“{plan_code}”不存在")
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "plan.save", department_id=plan.lead_department_id)
        _lock(s)
        setting = coordination_window(s)
        old = bool(plan.merge_visits)
        plan.merge_visits = bool(mergeable)
        plan.updated_at = utcnow()
        s.add(plan)
        s.flush()
        periods = s.execute(select(Draw.period).where(Draw.plan_id == plan.id, Draw.status == "drawn").distinct()).scalars()
        reports = [_refresh(s, [w], setting, actor, [w]) for w in sorted({rule.window_of(p, setting) for p in periods})]
        auditlog.record(s, actor, "plan.merge_visits", f"plan:{plan_code}", {"from": old, "to": bool(mergeable)},
                        bureau_id=plan.bureau_id)
        s.commit()
    return reports


# --- planned date -------------------------------------------------------------------------------------


def set_planned_date(engine: Engine, visit_id: int, day: Optional[dt.date], actor: Actor = CLI) -> Visit:
    """One date for the whole visit (None clears it). Right: a planner of the lead task's plan's
    department, or an administrator. The date must fall in the visit's window."""
    with Session(engine) as s:
        _lock(s)
        v = s.get(Visit, visit_id)
        if v is None:
            raise VisitsRefused(f"联合检查 #{visit_id} 不存在")
        dept = s.execute(select(Plan.lead_department_id).join(Draw, Draw.plan_id == Plan.id)
                         .join(Task, Task.draw_id == Draw.id).where(Task.id == v.lead_task_id)).scalar_one()
        require_bureau(s, actor, v.bureau_id)
        require(actor, "visits.schedule", department_id=dept)
        if day is not None:
            first, last = rule.window_months(v.window)
            if not (first <= f"{day.year:04d}-{day.month:02d}" <= last):
                raise VisitsRefused(f"检查日期 {day.isoformat()} 不在协调周期 {v.window} 内")
        old = v.planned_on
        v.planned_on = day
        s.add(v)
        auditlog.record(s, actor, "visit.plan_date", f"visit:{v.id}",
                        {"from": old.isoformat() if old else None, "to": day.isoformat() if day else None,
                         "window": v.window, "uscc": v.uscc}, bureau_id=v.bureau_id)
        s.commit()
        s.refresh(v)
        return v


# --- read side ------------------------------------------------------------------------------------------


def _visible(conn: Connection, actor: Optional[Actor], bureau_id: Optional[int]) -> Visible:
    if bureau_id is not None:
        require_bureau(conn, actor, bureau_id)
        return area(conn, bureau_id)  # a city's coordination view covers its districts' visits
    return visible_bureaus(conn, actor)


def _visit_scope(visible: Visible):
    """A visit is in scope when it is led by a visible bureau or one of its tasks belongs to one."""
    if visible is None:
        return None
    ids = sorted(visible)
    return or_(Visit.bureau_id.in_(ids),
               exists(select(VisitTask.task_id).join(Task, Task.id == VisitTask.task_id)
                      .where(VisitTask.visit_id == Visit.id, Task.bureau_id.in_(ids))))


def windows(engine: Engine, bureau_id: Optional[int] = None, actor: Optional[Actor] = None) -> list[str]:
    """Windows that have visits, newest first."""
    with engine.connect() as conn:
        stmt = select(Visit.window).distinct()
        cond = _visit_scope(_visible(conn, actor, bureau_id))
        if cond is not None:
            stmt = stmt.where(cond)
        return sorted((w for (w,) in conn.execute(stmt)), key=lambda w: (rule.window_months(w)[1], w), reverse=True)


def _plan_order_rows(conn: Connection, visit_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The tasks behind each visit's door, in rule-3 order (lead first)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not visit_ids:
        return out
    rows = conn.execute(
        select(VisitTask.visit_id, Task.id, Task.status, Task.bureau_id, Draw.period, Draw.drawn_at, Plan.code,
               Plan.name, Plan.merge_visits, Department.name.label("dept"))
        .join(Task, Task.id == VisitTask.task_id).join(Draw, Draw.id == Task.draw_id)
        .join(Plan, Plan.id == Draw.plan_id).join(Department, Department.id == Plan.lead_department_id)
        .where(VisitTask.visit_id.in_(list(visit_ids)))
    )
    for r in rows:
        out[r.visit_id].append({"task_id": r.id, "status": r.status, "bureau_id": r.bureau_id, "period": r.period,
                                "drawn_at": r.drawn_at, "plan_code": r.code, "plan_name": r.name,
                                "mergeable": bool(r.merge_visits), "lead_department": r.dept})
    for lst in out.values():
        lst.sort(key=lambda t: (rule.iso_utc(t["drawn_at"]), t["plan_code"], t["period"], t["task_id"]))
    return out


def _details(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Fill each visit row with its tasks, plans, departments, items per plan and team union."""
    ids = [r["id"] for r in rows]
    tasks = _plan_order_rows(conn, ids)
    task_ids = [t["task_id"] for lst in tasks.values() for t in lst]
    plan_of = {t["task_id"]: t["plan_code"] for lst in tasks.values() for t in lst}
    items: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    team: dict[int, list[tuple]] = defaultdict(list)
    if task_ids:
        for tid, code, name, dept in conn.execute(
            select(TaskItem.task_id, CheckItem.code, CheckItem.name, Department.name)
            .join(CheckItem, CheckItem.id == TaskItem.item_id).join(Department, Department.id == CheckItem.department_id)
            .where(TaskItem.task_id.in_(task_ids)).order_by(TaskItem.task_id, CheckItem.code)
        ):
            items[tid].append((code, name, dept))
        for tid, seat in task_seats(conn, task_ids):  # the same active teams 任务与匹配 shows
            role = "expert" if seat.kind == "expert" else seat.role
            team[tid].append((f"{seat.kind}:{seat.person_id}", seat.person_id, seat.name, role, seat.department))
    for row in rows:
        lst = tasks.get(row["id"], [])
        row["tasks"] = lst
        row["n_tasks"] = len(lst)
        row["merged"] = len(lst) > 1
        row["plans"] = list(dict.fromkeys(t["plan_code"] for t in lst))
        by_plan: dict[str, list[str]] = {}
        depts: list[str] = []
        for t in lst:
            for code, name, dept in items.get(t["task_id"], []):
                by_plan.setdefault(t["plan_code"], [])
                if name not in by_plan[t["plan_code"]]:
                    by_plan[t["plan_code"]].append(name)
                if dept not in depts:
                    depts.append(dept)
        row["items_by_plan"] = by_plan
        row["departments"] = depts
        row["team"] = _team_union(lst, team, plan_of)
        lead = lst[0] if lst else {}
        row["lead_plan"] = lead.get("plan_code", "")
        row["lead_plan_name"] = lead.get("plan_name", "")
        row["lead_department"] = lead.get("lead_department", "")


def visit_leader(tasks: Sequence[dict[str, Any]], team: dict[int, list[tuple]]) -> Optional[str]:
    """Rule 4 (docs/visits.md): the key of the leader of the first task, in rule-3 order, whose
    team has a leader; None when no task's team has one. The lead task's team may be empty (a
    city task before its district's matching), so the leader is not simply the lead task's."""
    for t in tasks:
        for key, _pid, _name, role, _dept in team.get(t["task_id"], []):
            if role == "leader":
                return key
    return None


def _team_union(lst: Sequence[dict[str, Any]], team: dict[int, list[tuple]], plan_of: dict[int, str]) -> list[dict[str, Any]]:
    """The visit's team: every seat of its tasks once, with the plans it comes from; exactly one
    leader when any task has one (the other plans' leaders join as members)."""
    leader = visit_leader(lst, team)
    members: dict[str, dict[str, Any]] = {}
    for t in lst:
        for key, pid, name, role, dept in team.get(t["task_id"], []):
            m = members.get(key)
            if m is None:
                shown = "leader" if key == leader else ("member" if role == "leader" else role)
                members[key] = {"person_id": pid, "name": name, "role": shown, "department": dept,
                                "plans": [plan_of[t["task_id"]]]}
            elif plan_of[t["task_id"]] not in m["plans"]:
                m["plans"].append(plan_of[t["task_id"]])
    return list(members.values())


def fmt_team(team: Sequence[dict[str, Any]]) -> str:
    """The team union as one line: 张三（SCJGJ-0001，组长，PG-GS）、…"""
    return "、".join(f"{m['name']}（{m['person_id']}，{ROLE_LABELS.get(m['role'], m['role'])}，{'/'.join(m['plans'])}）"
                    for m in team)


def fmt_items(by_plan: dict[str, list[str]]) -> str:
    return "；".join(f"{code}：{'、'.join(names)}" for code, names in by_plan.items())


def visits_for(engine: Engine, window: str, bureau_id: Optional[int] = None, page: int = 1, page_size: int = 50,
               merged_only: bool = False, q: Optional[str] = None, actor: Optional[Actor] = None) -> Page:
    """The planned visits of a window, one page (ordered by town, entity).

    Row: id, uscc, name, town_name, window, bureau, planned_on, lead_task_id, lead_plan, lead_plan_name,
    lead_department, n_tasks, merged, plans, departments, items_by_plan {plan: [item names]},
    team [{person_id, name, role, department, plans}], tasks [{task_id, plan_code, period, status, ...}].
    """
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    stmt = _window_visits(window)
    # The count needs the entity's name only to search it: counting over the joins took ~0.2 s
    # for a window of 75,000 visits (1M demo).
    counted = select(func.count()).select_from(Visit).where(Visit.window == window)
    with engine.connect() as conn:
        stmt, counted = (_narrowed(conn, x, actor, bureau_id, merged_only) for x in (stmt, counted))
        if q and q.strip():
            from db.paging import contains as _contains

            found = or_(_contains(Visit.uscc, q.strip()), _contains(Enterprise.name, q.strip()))
            stmt = stmt.where(found)
            counted = counted.outerjoin(Enterprise, Enterprise.uscc == Visit.uscc).where(found)
        total = conn.execute(counted).scalar_one()
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        rows = [dict(r._mapping) for r in conn.execute(
            stmt.order_by(Town.name, Visit.uscc, Visit.id).limit(page_size).offset((page - 1) * page_size))]
        _details(conn, rows)
    return Page(rows=rows, total=total, page=page, page_size=page_size,
                filters={"window": window, "merged_only": merged_only, "q": q})


def _window_visits(window: str):
    """The visits of a window with their entity, town and bureau: the rows of `visits_for`."""
    return (select(Visit.id, Visit.uscc, Visit.window, Visit.planned_on, Visit.lead_task_id, Visit.bureau_id,
                   Bureau.name.label("bureau"), Enterprise.name, Town.name.label("town_name"))
            .join(Bureau, Bureau.id == Visit.bureau_id)
            .outerjoin(Enterprise, Enterprise.uscc == Visit.uscc)
            .outerjoin(Town, Town.code == Enterprise.town_code)
            .where(Visit.window == window))


def _narrowed(conn: Connection, stmt, actor: Optional[Actor], bureau_id: Optional[int], merged_only: bool):
    """`stmt` over Visit kept to the visits in scope, and to the merged ones if asked."""
    cond = _visit_scope(_visible(conn, actor, bureau_id))
    if cond is not None:
        stmt = stmt.where(cond)
    if merged_only:
        n_tasks = (select(func.count()).select_from(VisitTask).where(VisitTask.visit_id == Visit.id)
                   .correlate(Visit).scalar_subquery())
        stmt = stmt.where(n_tasks > 1)
    return stmt


# The details of this many visits are read at once (their ids bound in one IN list).
_DETAILS_CHUNK = 5_000


def all_visits(engine: Engine, window: str, merged_only: bool = False, actor: Optional[Actor] = None,
               bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    """Every planned visit of a window as `visits_for` rows, in its order, for a listing of the
    whole window (`dsr visits list`): one query, not a page at a time (each page's OFFSET reads
    the pages before it again: 58,000 visits took 2.5 s in 500-row pages)."""
    with engine.connect() as conn:
        stmt = _narrowed(conn, _window_visits(window), actor, bureau_id, merged_only)
        rows = [dict(r._mapping) for r in conn.execute(stmt.order_by(Town.name, Visit.uscc, Visit.id))]
        for i in range(0, len(rows), _DETAILS_CHUNK):
            _details(conn, rows[i:i + _DETAILS_CHUNK])
    return rows


def get_visit(engine: Engine, visit_id: int, bureau_id: Optional[int] = None,
              actor: Optional[Actor] = None) -> Optional[dict[str, Any]]:
    """One visit as a visits_for row, or None if there is none in scope."""
    stmt = (select(Visit.id, Visit.uscc, Visit.window, Visit.planned_on, Visit.lead_task_id, Visit.bureau_id,
                   Bureau.name.label("bureau"), Enterprise.name, Town.name.label("town_name"))
            .join(Bureau, Bureau.id == Visit.bureau_id)
            .outerjoin(Enterprise, Enterprise.uscc == Visit.uscc).outerjoin(Town, Town.code == Enterprise.town_code)
            .where(Visit.id == visit_id))
    with engine.connect() as conn:
        cond = _visit_scope(_visible(conn, actor, bureau_id))
        if cond is not None:
            stmt = stmt.where(cond)
        row = conn.execute(stmt).first()
        if row is None:
            return None
        rows = [dict(row._mapping)]
        _details(conn, rows)
    return rows[0]


def visit_of_task(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> Optional[dict[str, Any]]:
    """The visit a task belongs to (a visits_for row), or None (reserve, replaced, voided, case checks)."""
    with engine.connect() as conn:
        if actor is not None:
            from scheduler.access.scope import require_task

            require_task(conn, actor, task_id)
        row = conn.execute(
            select(Visit.id, Visit.uscc, Visit.window, Visit.planned_on, Visit.lead_task_id, Visit.bureau_id,
                   Bureau.name.label("bureau"), Enterprise.name, Town.name.label("town_name"))
            .join(VisitTask, VisitTask.visit_id == Visit.id).join(Bureau, Bureau.id == Visit.bureau_id)
            .outerjoin(Enterprise, Enterprise.uscc == Visit.uscc).outerjoin(Town, Town.code == Enterprise.town_code)
            .where(VisitTask.task_id == task_id)
        ).first()
        if row is None:
            return None
        rows = [dict(row._mapping)]
        _details(conn, rows)
    return rows[0]


def window_summary(engine: Engine, window: str, bureau_id: Optional[int] = None,
                   actor: Optional[Actor] = None) -> dict[str, int]:
    """Counts of one window: tasks, visits, merged (visits of ≥ 2 tasks), saved (tasks − visits)."""
    per_visit = (select(VisitTask.visit_id, func.count().label("n")).join(Visit, Visit.id == VisitTask.visit_id)
                 .where(Visit.window == window).group_by(VisitTask.visit_id))
    with engine.connect() as conn:
        cond = _visit_scope(_visible(conn, actor, bureau_id))
        if cond is not None:
            per_visit = per_visit.where(cond)
        sub = per_visit.subquery()
        visits_, tasks_, merged = conn.execute(select(
            func.count(), func.coalesce(func.sum(sub.c.n), 0),
            func.coalesce(func.sum(case((sub.c.n > 1, 1), else_=0)), 0),
        )).one()
    return {"visits": int(visits_), "tasks": int(tasks_), "merged": int(merged), "saved": int(tasks_) - int(visits_)}


@dataclass
class SeparateReport:
    """Entities with several visits in a span: how many, by reason, and one page of them."""

    span: str
    windows: list[str]
    total: int
    by_reason: dict[str, int]
    page: Page


def _windows_in(conn: Connection, span: str) -> list[str]:
    try:
        first, last = rule.window_months(span)
    except rule.WindowError:
        raise VisitsRefused(f"统计范围“{span}”格式无效，应为 YYYY、YYYY-Qn 或 YYYY-MM") from None
    out = []
    for (w,) in conn.execute(select(Visit.window).distinct()):
        a, b = rule.window_months(w)
        if first <= a and b <= last:
            out.append(w)
    return sorted(out)


def separate_report(engine: Engine, span: str, bureau_id: Optional[int] = None, page: int = 1, page_size: int = 50,
                    actor: Optional[Actor] = None) -> SeparateReport:
    """Entities that still get several visits in the windows inside `span` (a year, quarter or month),
    with the reason (scheduler.visits.rules.separate_visits): a plan marked not mergeable, or tasks in
    different windows. Row: uscc, name, town_name, visits, windows, reason, reason_label, detail."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    with engine.connect() as conn:
        wins = _windows_in(conn, span)
        cond = _visit_scope(_visible(conn, actor, bureau_id))
        base = select(Visit.uscc, func.count().label("n"), func.count(distinct(Visit.window)).label("w")) \
            .where(Visit.window.in_(wins)).group_by(Visit.uscc).having(func.count() > 1)
        if cond is not None:
            base = base.where(cond)
        sub = base.subquery()
        total, not_mergeable = conn.execute(select(
            func.count(), func.coalesce(func.sum(case((sub.c.n > sub.c.w, 1), else_=0)), 0))).one()
        total, not_mergeable = int(total), int(not_mergeable)
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        usccs = [u for (u,) in conn.execute(select(sub.c.uscc).order_by(sub.c.uscc)
                                            .limit(page_size).offset((page - 1) * page_size))]
        rows: list[dict[str, Any]] = []
        if usccs:
            vstmt = (select(Visit.id, Visit.uscc, Visit.window, Visit.lead_task_id)
                     .where(Visit.window.in_(wins), Visit.uscc.in_(usccs)))
            if cond is not None:
                vstmt = vstmt.where(cond)
            vrows = [tuple(r) for r in conn.execute(vstmt)]
            tasks = _plan_order_rows(conn, [r[0] for r in vrows])
            plans = []
            for vid, uscc, win, lead in vrows:
                lst = tasks.get(vid, [])
                plans.append(rule.VisitPlan(uscc, win, lead, tuple(t["task_id"] for t in lst),
                                            tuple(dict.fromkeys(t["plan_code"] for t in lst))))
            info = {vid: tasks.get(vid, []) for vid, *_ in vrows}
            names = dict(conn.execute(select(Enterprise.uscc, Enterprise.name).where(Enterprise.uscc.in_(usccs))).all())
            towns = dict(conn.execute(select(Enterprise.uscc, Town.name).join(Town, Town.code == Enterprise.town_code)
                                      .where(Enterprise.uscc.in_(usccs))).all())
            by_entity: dict[str, list[tuple]] = defaultdict(list)
            for (vid, uscc, win, _l) in vrows:
                by_entity[uscc].append((win, vid))
            for sep in rule.separate_visits(plans):
                parts = []
                for win, vid in sorted(by_entity[sep.entity_id]):
                    codes = [t["plan_code"] + ("（不可合并）" if not t["mergeable"] else "") for t in info[vid]]
                    parts.append(f"{win}：{'、'.join(dict.fromkeys(codes))}")
                rows.append({"uscc": sep.entity_id, "name": names.get(sep.entity_id, ""),
                             "town_name": towns.get(sep.entity_id, ""), "visits": sep.visits,
                             "windows": list(sep.windows), "reason": sep.reason, "reason_label": sep.reason_label,
                             "detail": "；".join(parts)})
    return SeparateReport(span, wins, total, {"not_mergeable": not_mergeable, "different_windows": total - not_mergeable},
                          Page(rows=rows, total=total, page=page, page_size=page_size, filters={"span": span}))


def _year_visits(year: int):
    return Visit.window.like(f"{int(year):04d}%")


def _lead_key_rows(stmt):
    """Join a statement over Visit to the lead task's period, bureau and lead department."""
    return (stmt.join(Task, Task.id == Visit.lead_task_id).join(Draw, Draw.id == Task.draw_id)
            .join(Plan, Plan.id == Draw.plan_id).join(Department, Department.id == Plan.lead_department_id)
            .join(Bureau, Bureau.id == Plan.bureau_id))


_KEY = (Draw.period, Bureau.name, Department.name)


def _figures(conn: Connection, year: int, actor: Optional[Actor], bureau_id: Optional[int]):
    """The visit figures of `year` in one pass over its visits: per (period, bureau, department) of
    the tasks' plans, [tasks] by each task's own plan and [visits, joint, joint_merged] by the
    visit's lead task. A visit is joint when its tasks carry items of ≥ 2 departments; merged
    when it also holds ≥ 2 tasks (so several plans, or one plan's reserve beside a task)."""
    cond = _visit_scope(_visible(conn, actor, bureau_id))
    where = [_year_visits(year)] + ([cond] if cond is not None else [])
    tasks = {tuple(r[:3]): int(r[3]) for r in conn.execute(
        select(*_KEY, func.count()).select_from(VisitTask).join(Visit, Visit.id == VisitTask.visit_id)
        .join(Task, Task.id == VisitTask.task_id).join(Draw, Draw.id == Task.draw_id)
        .join(Plan, Plan.id == Draw.plan_id).join(Department, Department.id == Plan.lead_department_id)
        .join(Bureau, Bureau.id == Plan.bureau_id).where(*where).group_by(*_KEY))}
    # Tasks without items (none are stored so) would still count as visits: outer joins.
    # min ≠ max instead of count(DISTINCT …) > 1: the same test without a sort per visit.
    per_visit = (select(VisitTask.visit_id.label("vid"),
                        (func.min(VisitTask.task_id) != func.max(VisitTask.task_id)).label("several"),
                        (func.min(CheckItem.department_id) != func.max(CheckItem.department_id)).label("joint"))
                 .join(Visit, Visit.id == VisitTask.visit_id)
                 .outerjoin(TaskItem, TaskItem.task_id == VisitTask.task_id)
                 .outerjoin(CheckItem, CheckItem.id == TaskItem.item_id)
                 .where(_year_visits(year)).group_by(VisitTask.visit_id)).subquery()
    joint = per_visit.c.joint
    visits_ = {tuple(r[:3]): [int(x or 0) for x in r[3:]] for r in conn.execute(
        _lead_key_rows(select(*_KEY, func.count(), func.sum(case((joint, 1), else_=0)),
                              func.sum(case((and_(joint, per_visit.c.several), 1), else_=0)))
                       .select_from(Visit).join(per_visit, per_visit.c.vid == Visit.id))
        .where(*where).group_by(*_KEY))}
    return tasks, visits_


def _rows(tasks: dict, visits_: dict) -> list[dict[str, Any]]:
    out = []
    for k in sorted(set(tasks) | set(visits_)):
        t = tasks.get(k, 0)
        v, j, _ = visits_.get(k, (0, 0, 0))
        out.append({"period": k[0], "bureau": k[1], "department": k[2], "tasks": t, "visits": v, "saved": t - v,
                    "joint": j})
    return out


def _share_of(year: int, visits_: dict) -> dict[str, Any]:
    n = sum(v[0] for v in visits_.values())
    joint = sum(v[1] for v in visits_.values())
    merged = sum(v[2] for v in visits_.values())
    share = round(joint / n, 4) if n else None
    status = None if share is None else "below" if share < JOINT_TARGET[0] else "above" if share > JOINT_TARGET[1] else "within"
    return {"year": int(year), "visits": n, "joint": joint, "joint_one_plan": joint - merged,
            "joint_merged": merged, "share": share, "target": JOINT_TARGET, "status": status}


def saved_by_month_and_department(engine: Engine, year: int, bureau_id: Optional[int] = None,
                                  actor: Optional[Actor] = None) -> list[dict[str, Any]]:
    """Visits saved by merging (separate tasks − visits) per draw period (the month for monthly
    plans) and per lead department of the tasks' plans, over the visits of `year`'s windows.

    A task counts for its own plan's department and period; a visit for its lead task's. So a
    department's saving is the number of its tasks done in a visit another task leads (or in
    one with a second task of its own). Row: period, bureau, department, tasks, visits, saved,
    joint (visits with items of ≥ 2 departments, counted like visits)."""
    with engine.connect() as conn:
        return _rows(*_figures(conn, year, actor, bureau_id))


def joint_share(engine: Engine, year: int, bureau_id: Optional[int] = None,
                actor: Optional[Actor] = None) -> dict[str, Any]:
    """Share of checks that are joint: visits of `year` with items of ≥ 2 departments, whether from
    one joint plan or from merging plans, over all visits. Keys: year, visits, joint, joint_one_plan,
    joint_merged, share (None without visits), target (0.4, 0.6), status (below / within / above / None)."""
    with engine.connect() as conn:
        return _share_of(year, _figures(conn, year, actor, bureau_id)[1])


def year_figures(engine: Engine, year: int, bureau_id: Optional[int] = None,
                 actor: Optional[Actor] = None) -> dict[str, Any]:
    """The dashboard's figures of `year`: tasks, visits, saved (tasks − visits), the rows of
    `saved_by_month_and_department` and the `joint_share`, from one pass over the visits."""
    with engine.connect() as conn:
        tasks, visits_ = _figures(conn, year, actor, bureau_id)
    rows = _rows(tasks, visits_)
    tasks_ = sum(r["tasks"] for r in rows)
    visits_n = sum(r["visits"] for r in rows)
    return {"tasks": tasks_, "visits": visits_n, "saved": tasks_ - visits_n, "rows": rows,
            "joint": _share_of(year, visits_)}
