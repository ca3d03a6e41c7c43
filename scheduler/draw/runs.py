"""Scheduled draws on the database: claims, run records, heartbeats, notifications.

Exactly once, even with two workers on one database:
- a firing first records a `ScheduleRun` (unique per plan, scheduled time and
  worker process, so the interval sync and the timed job of one process never
  both act on the same time);
- then it INSERTs a `DrawClaim` for (plan, period) in its own transaction; the
  unique constraint lets one worker win, the other records outcome "refused"
  (duplicate) and stops;
- `draws.execute` has its own guard (one live draw per plan and period).
A worker killed mid-draw leaves its claim "claimed" and nothing of the draw
(the draw is one transaction). A later firing or the recovery scan takes over a
claim older than the lease whose worker's heartbeat is stale, or whose worker
has restarted since claiming, and completes the draw.

Missed runs: each plan's scheduled times since the last one handled are
computed at start and on every sync; the latest one within the grace period is
run, older ones are recorded as "missed" with a notification, never skipped
silently.

Bureau scope (scheduler/access/scope.py): the reads for the app and the CLI
(`plan_schedules`, `recent_runs`, `missed_runs`, `claims`, `list_notifications`) take
an optional `actor` and `bureau_id` and cover only the plans (notifications) of the
bureaus in the actor's scope, or of `bureau_id` (refused outside it); `mark_read` and
`set_schedule` refuse another bureau's notification or plan. The worker's own calls
pass no actor: unrestricted. Worker heartbeats are deployment-wide and not scoped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.models import Draw, DrawClaim, Notification, Plan, ScheduleRun, Task, WorkerHeartbeat, utcnow
from scheduler.plans import quota, schedules
from scheduler.plans.lifecycle import PlanNotApproved, year_of
from scheduler.calendar import workdays as wd
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.access.context import Actor
from scheduler.access.scope import in_scope, require_bureau, visible_bureaus

log = logging.getLogger("dsr.worker")

HEARTBEAT_STALE = dt.timedelta(seconds=60)
DEFAULT_LEASE = dt.timedelta(minutes=10)
DEFAULT_GRACE = dt.timedelta(hours=6)

RUNNING, DONE, REFUSED, FAILED, MISSED, WAITING_SEED = "running", "done", "refused", "failed", "missed", "waiting_seed"
CLAIMED = "claimed"
OUTCOME_LABELS = {
    RUNNING: "执行中", DONE: "已完成", REFUSED: "已拒绝（重复）", FAILED: "失败", MISSED: "已错过", WAITING_SEED: "待录入公开种子",
}
CLAIM_LABELS = {CLAIMED: "已认领", DONE: "已完成", FAILED: "失败", WAITING_SEED: "待录入公开种子"}


def grace_from_env() -> dt.timedelta:
    return dt.timedelta(seconds=float(os.environ.get("DSR_MISFIRE_GRACE", DEFAULT_GRACE.total_seconds())))


def lease_from_env() -> dt.timedelta:
    return dt.timedelta(seconds=float(os.environ.get("DSR_CLAIM_LEASE", DEFAULT_LEASE.total_seconds())))


def _utc(t: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite may hand them back naive."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def _key_time(t: dt.datetime) -> dt.datetime:
    # Scheduled times are whole seconds; one canonical form keeps the unique
    # constraint on (plan, scheduled_for, instance) exact on both back-ends.
    return _utc(t).replace(microsecond=0)


@dataclass(frozen=True)
class WorkerIdentity:
    """One worker process. `worker_id` is the configured name; `instance` tells
    a restarted process from its predecessor."""

    worker_id: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: dt.datetime = field(default_factory=lambda: utcnow().replace(microsecond=0))

    @property
    def instance(self) -> str:
        return f"{self.worker_id}@{self.host}:{self.pid}:{self.started_at.strftime('%Y%m%dT%H%M%SZ')}"

    @property
    def actor(self) -> Actor:
        return Actor(f"worker:{self.worker_id}", "system")


@dataclass(frozen=True)
class RunOptions:
    lease: dt.timedelta = DEFAULT_LEASE
    grace: dt.timedelta = DEFAULT_GRACE

    @classmethod
    def from_env(cls) -> "RunOptions":
        return cls(lease_from_env(), grace_from_env())


def log_json(event: str, **fields: Any) -> None:
    """One structured line per run on stderr (for journald / log shippers)."""
    rec = {"ts": utcnow().isoformat(timespec="seconds"), "event": event}
    rec.update({k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in fields.items()})
    sys.stderr.write(json.dumps(rec, ensure_ascii=False) + "\n")
    sys.stderr.flush()


# --- heartbeat -----------------------------------------------------------------------


@dataclass(frozen=True)
class HeartbeatInfo:
    worker_id: str
    host: str
    pid: int
    started_at: dt.datetime
    last_seen: dt.datetime
    alive: bool

    @property
    def label(self) -> str:
        return "运行中" if self.alive else "已停止"


def heartbeat(engine: Engine, me: WorkerIdentity, now: Optional[dt.datetime] = None) -> None:
    """Upsert this worker's heartbeat row."""
    now = _utc(now or utcnow())
    with Session(engine) as s:
        row = s.get(WorkerHeartbeat, me.worker_id)
        if row is None:
            row = WorkerHeartbeat(worker_id=me.worker_id)
        row.host, row.pid, row.started_at, row.last_seen = me.host, me.pid, me.started_at, now
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # a second process with the same id inserted first
            s.rollback()


def worker_status(engine: Engine, now: Optional[dt.datetime] = None) -> list[HeartbeatInfo]:
    """Every worker that ever beat; alive when seen within the last 60 s."""
    now = _utc(now or utcnow())
    with Session(engine) as s:
        rows = list(s.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.worker_id)).scalars())
    return [
        HeartbeatInfo(r.worker_id, r.host, r.pid, _utc(r.started_at), _utc(r.last_seen), now - _utc(r.last_seen) <= HEARTBEAT_STALE)
        for r in rows
    ]


# --- notifications -------------------------------------------------------------------


def notify(engine: Engine, bureau_id: Optional[int], kind: str, message: str, obj: str = "", key: Optional[str] = None) -> Optional[Notification]:
    """Store a notification (once per `key`) and POST it to DSR_WEBHOOK_URL if set.
    Returns None when a notification with the same key exists already."""
    with Session(engine) as s:
        n = Notification(bureau_id=bureau_id, kind=kind, message=message, object=obj, key=key)
        s.add(n)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return None
        s.refresh(n)
    url = os.environ.get("DSR_WEBHOOK_URL", "").strip()
    if url:
        post_webhook(url, notification_json(n))
    return n


def notification_json(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "bureau_id": n.bureau_id, "kind": n.kind, "message": n.message, "object": n.object,
            "created_at": _utc(n.created_at).isoformat(timespec="seconds")}


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 3.0) -> bool:
    """POST JSON; a failure is logged and never raised (a webhook must not stop a draw)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            ok = 200 <= resp.status < 300
    except Exception as e:  # noqa: BLE001 — any network failure is only logged
        log_json("webhook_failed", url=url, error=f"{type(e).__name__}: {e}")
        return False
    if not ok:
        log_json("webhook_failed", url=url, error=f"HTTP {resp.status}")
    return ok


def _bureau_cond(s: Session, column: Any, actor: Optional[Actor], bureau_id: Optional[int]):
    """The condition on a bureau column: `bureau_id` if given (PermissionDenied outside the
    actor's scope), else the actor's scope; None when nothing restricts."""
    if bureau_id is not None:
        require_bureau(s, actor, bureau_id)
        return column == bureau_id
    return in_scope(column, visible_bureaus(s, actor))


def list_notifications(engine: Engine, limit: int = 100, unread_only: bool = False, actor: Optional[Actor] = None,
                       bureau_id: Optional[int] = None) -> list[Notification]:
    """Newest first; with `actor` / `bureau_id` only the notifications of those bureaus."""
    with Session(engine) as s:
        q = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if unread_only:
            q = q.where(Notification.read.is_(False))
        if (cond := _bureau_cond(s, Notification.bureau_id, actor, bureau_id)) is not None:
            q = q.where(cond)
        return list(s.execute(q).scalars())


def mark_read(engine: Engine, ids: list[int], actor: Optional[Actor] = None) -> int:
    """Mark notifications read; PermissionDenied (nothing marked) if one is another bureau's."""
    with Session(engine) as s:
        visible = visible_bureaus(s, actor)
        if visible is not None:
            for bid in set(s.execute(select(Notification.bureau_id).where(Notification.id.in_(ids))).scalars()):
                require_bureau(s, actor, bid)
        n = s.execute(update(Notification).where(Notification.id.in_(ids)).values(read=True)).rowcount
        s.commit()
        return n


# --- runs and claims -----------------------------------------------------------------


def start_run(engine: Engine, me: WorkerIdentity, plan_id: int, period: str, scheduled_for: dt.datetime,
              outcome: str = RUNNING, error: str = "") -> Optional[int]:
    """Record a firing; None if this worker process already recorded this time."""
    with Session(engine) as s:
        now = utcnow()
        r = ScheduleRun(plan_id=plan_id, period=period, scheduled_for=_key_time(scheduled_for), worker_id=me.worker_id,
                        instance=me.instance, started_at=now, outcome=outcome, error=error,
                        finished_at=None if outcome == RUNNING else now)
        s.add(r)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return None
        return r.id


def finish_run(engine: Engine, run_id: int, outcome: str, error: str = "", draw_id: Optional[int] = None) -> None:
    with Session(engine) as s:
        s.execute(update(ScheduleRun).where(ScheduleRun.id == run_id)
                  .values(outcome=outcome, error=error, draw_id=draw_id, finished_at=utcnow()))
        s.commit()


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    claim_id: int
    holder: str
    status: str
    took_over: bool = False


def _stale(s: Session, c: DrawClaim, lease: dt.timedelta, now: dt.datetime) -> bool:
    """A claim left by a dead worker: older than the lease, and its worker is
    silent or has restarted since claiming."""
    if c.status != CLAIMED or now - _utc(c.claimed_at) < lease:
        return False
    hb = s.get(WorkerHeartbeat, c.claimed_by)
    if hb is None:
        return True
    return now - _utc(hb.last_seen) > HEARTBEAT_STALE or _utc(hb.started_at) > _utc(c.claimed_at)


def _take_over(s: Session, me: WorkerIdentity, c: DrawClaim) -> bool:
    """Move a stale claim to this worker; only one taker can match the old holder."""
    # The ORM UPDATE refreshes `c` in the session: keep the old holder's values.
    cid, by, inst, attempts, plan_id, period = c.id, c.claimed_by, c.instance, c.attempts, c.plan_id, c.period
    n = s.execute(
        update(DrawClaim)
        .where(DrawClaim.id == cid, DrawClaim.status == CLAIMED, DrawClaim.claimed_by == by,
               DrawClaim.instance == inst, DrawClaim.attempts == attempts)
        .values(claimed_by=me.worker_id, instance=me.instance, claimed_at=utcnow(), attempts=attempts + 1,
                error=f"接管：原认领进程 {inst} 已停止", updated_at=utcnow())
    ).rowcount
    if n == 1:
        # The dead process's run record stays, closed as failed with the reason.
        s.execute(update(ScheduleRun)
                  .where(ScheduleRun.plan_id == plan_id, ScheduleRun.period == period,
                         ScheduleRun.instance == inst, ScheduleRun.outcome == RUNNING)
                  .values(outcome=FAILED, error=f"工作进程中断（已由 {me.instance} 接管）", finished_at=utcnow()))
    s.commit()
    return n == 1


def claim(engine: Engine, me: WorkerIdentity, plan_id: int, period: str, scheduled_for: dt.datetime,
          lease: dt.timedelta = DEFAULT_LEASE, now: Optional[dt.datetime] = None) -> ClaimResult:
    """Take the (plan, period) claim: INSERT in its own transaction; on a unique
    violation take over a stale claim, or report who holds it."""
    now = _utc(now or utcnow())
    with Session(engine) as s:
        c = DrawClaim(plan_id=plan_id, period=period, scheduled_for=_key_time(scheduled_for), status=CLAIMED,
                      claimed_by=me.worker_id, instance=me.instance, claimed_at=utcnow())
        s.add(c)
        try:
            s.commit()
            return ClaimResult(True, c.id, me.worker_id, CLAIMED)
        except IntegrityError:
            s.rollback()
        other = s.execute(select(DrawClaim).where(DrawClaim.plan_id == plan_id, DrawClaim.period == period)).scalar_one()
        if _stale(s, other, lease, now) and _take_over(s, me, other):
            return ClaimResult(True, other.id, me.worker_id, CLAIMED, took_over=True)
        return ClaimResult(False, other.id, other.claimed_by, other.status)


def set_claim(engine: Engine, claim_id: int, status: str, error: str = "", draw_id: Optional[int] = None) -> None:
    with Session(engine) as s:
        s.execute(update(DrawClaim).where(DrawClaim.id == claim_id)
                  .values(status=status, error=error, draw_id=draw_id, updated_at=utcnow()))
        s.commit()


@dataclass(frozen=True)
class RunResult:
    plan_code: str
    period: str
    scheduled_for: dt.datetime
    outcome: str
    error: str = ""
    draw_id: Optional[int] = None


def run_scheduled(engine: Engine, me: WorkerIdentity, plan_code: str, scheduled_for: dt.datetime,
                  opts: RunOptions = RunOptions(), claim_id: Optional[int] = None) -> Optional[RunResult]:
    """One firing of a plan's schedule: record, claim, draw (or wait for a seed).

    `claim_id` is given when recovery has already taken over a stale claim.
    Returns None when this process had already handled `scheduled_for`.
    """
    from scheduler.draw import service as draws

    t0 = time.monotonic()
    with Session(engine) as s:
        plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
        if plan is None:
            return None
        plan_id, bureau_id, need_seed, sched_text = plan.id, plan.bureau_id, plan.require_public_seed, plan.schedule
    try:
        sched = schedules.parse(sched_text)
    except schedules.ScheduleError:
        sched = schedules.parse("")
    period = schedules.period_of(sched, scheduled_for)
    run_id = start_run(engine, me, plan_id, period, scheduled_for)
    if run_id is None:
        return None

    def done(outcome: str, error: str = "", draw_id: Optional[int] = None) -> RunResult:
        finish_run(engine, run_id, outcome, error, draw_id)
        log_json("schedule_run", worker=me.worker_id, instance=me.instance, plan=plan_code, period=period,
                 scheduled_for=scheduled_for.astimezone(schedules.TZ), outcome=outcome, error=error, draw_id=draw_id,
                 seconds=round(time.monotonic() - t0, 3))
        return RunResult(plan_code, period, scheduled_for, outcome, error, draw_id)

    if claim_id is None:
        c = claim(engine, me, plan_id, period, scheduled_for, opts.lease)
        if not c.won:
            return done(REFUSED, f"duplicate: 计划 {plan_code} 在 {period} 的抽取已由 {c.holder} 认领（{CLAIM_LABELS.get(c.status, c.status)}）")
        claim_id = c.claim_id
    if need_seed:
        set_claim(engine, claim_id, WAITING_SEED)
        notify(engine, bureau_id, WAITING_SEED,
               f"计划 {plan_code} 的 {period} 抽取须使用公开种子：请组织公开摇号，录入种子后在“抽取”页面或用 dsr draw 完成抽取。",
               f"plan:{plan_code}", key=f"waiting_seed:{plan_code}:{period}")
        return done(WAITING_SEED)
    try:
        d = draws.execute(engine, plan_code, period, seed=None, actor=Actor(f"worker:{me.worker_id}", "system", bureau_id))
    except (draws.DrawRefused, PlanNotApproved, quota.PeriodOutsidePlan, quota.AnnualCapExceeded,
            quota.FrameOutdated) as e:  # refused in words: recorded and notified as such
        with Session(engine) as s:
            live = s.execute(select(Draw).where(Draw.plan_id == plan_id, Draw.period == period, Draw.status == "drawn")).scalars().first()
        set_claim(engine, claim_id, DONE if live else FAILED, str(e), live.id if live else None)
        if live is None:
            notify(engine, bureau_id, FAILED, f"计划 {plan_code} 的 {period} 定时抽取未能完成：{e}", f"plan:{plan_code}",
                   key=f"failed:{plan_code}:{period}:{claim_id}")
        return done(REFUSED, str(e), live.id if live else None)
    except Exception as e:  # noqa: BLE001 — recorded, notified, and the worker goes on
        msg = f"{type(e).__name__}: {e}"
        set_claim(engine, claim_id, FAILED, msg)
        notify(engine, bureau_id, FAILED, f"计划 {plan_code} 的 {period} 定时抽取失败：{msg}", f"plan:{plan_code}",
               key=f"failed:{plan_code}:{period}:{claim_id}")
        return done(FAILED, msg)
    set_claim(engine, claim_id, DONE, "", d.id)
    return done(DONE, "", d.id)


def baseline(s: Session, plan: Plan, worker_id: str) -> dt.datetime:
    """The time after which this worker still owes the plan's runs: its own
    last firing, or the last one any worker finished, or the plan's creation."""
    last = s.execute(
        select(func.max(ScheduleRun.scheduled_for)).where(
            ScheduleRun.plan_id == plan.id,
            or_(ScheduleRun.worker_id == worker_id, ScheduleRun.outcome.in_((DONE, WAITING_SEED, MISSED))),
        )
    ).scalar_one()
    t = _utc(plan.created_at)
    return max(t, _utc(last)) if last is not None else t


def record_missed(engine: Engine, me: WorkerIdentity, plan: Plan, times: list[dt.datetime], grace: dt.timedelta) -> int:
    """Record runs too old to run now as "missed", with one notification."""
    sched = schedules.parse(plan.schedule) if not schedules.validate(plan.schedule) else schedules.parse("")
    n = 0
    for t in times:
        if start_run(engine, me, plan.id, schedules.period_of(sched, t), t, MISSED,
                     f"工作进程停止期间错过（超过宽限期 {int(grace.total_seconds())} 秒）") is not None:
            n += 1
            log_json("schedule_run", worker=me.worker_id, instance=me.instance, plan=plan.code,
                     period=schedules.period_of(sched, t), scheduled_for=t.astimezone(schedules.TZ), outcome=MISSED)
    if n:
        listed = "、".join(t.astimezone(schedules.TZ).strftime("%Y-%m-%d %H:%M") for t in times)
        notify(engine, plan.bureau_id, MISSED,
               f"计划 {plan.code} 有 {len(times)} 次定时抽取在工作进程停止期间错过（{listed}），未自动补抽；请核实后由计划人员手工抽取。",
               f"plan:{plan.code}", key=f"missed:{plan.code}:{_key_time(times[-1]).isoformat()}")
    return n


def catch_up(engine: Engine, me: WorkerIdentity, now: Optional[dt.datetime] = None, opts: RunOptions = RunOptions(),
             cal: Optional[wd.WorkdayCalendar] = None) -> list[RunResult]:
    """At start and on every sync: run each plan's latest due time within the
    grace period, record older ones as missed, and complete stale claims."""
    from scheduler.calendar.service import calendar

    now = _utc(now or utcnow())
    cal = cal if cal is not None else calendar(engine)
    out: list[RunResult] = []
    with Session(engine) as s:
        plans = list(s.execute(select(Plan).where(Plan.kind == "random").order_by(Plan.code)).scalars())
        starts = {p.id: baseline(s, p, me.worker_id) for p in plans}
    for p in plans:
        try:
            sched = schedules.parse(p.schedule)
            due = schedules.runs_between(sched, starts[p.id], now, cal)
            # A plan draws only the periods of its year (scheduler/plans/quota.py): other times are not its runs.
            mine = set(quota.periods(p.schedule, p.year or year_of(p.code, p.name)))
            due = [t for t in due if schedules.period_of(sched, t) in mine]
        except (schedules.ScheduleError, wd.MissingYear) as e:
            log_json("schedule_error", worker=me.worker_id, plan=p.code, error=str(e))
            continue
        if not due:
            continue
        older = due
        if now - due[-1] <= opts.grace:
            older = due[:-1]
            r = run_scheduled(engine, me, p.code, due[-1], opts)
            if r:
                out.append(r)
        if older:
            record_missed(engine, me, p, older, opts.grace)
    out.extend(recover(engine, me, now, opts))
    return out


def recover(engine: Engine, me: WorkerIdentity, now: Optional[dt.datetime] = None, opts: RunOptions = RunOptions()) -> list[RunResult]:
    """Take over claims left by dead workers and complete their draws."""
    now = _utc(now or utcnow())
    out = []
    with Session(engine) as s:
        claims = list(s.execute(select(DrawClaim).where(DrawClaim.status == CLAIMED)).scalars())
        todo = []
        for c in claims:
            if _stale(s, c, opts.lease, now) and _take_over(s, me, c):
                code = s.execute(select(Plan.code).where(Plan.id == c.plan_id)).scalar_one()
                todo.append((code, _utc(c.scheduled_for), c.id))
    for code, t, cid in todo:
        log_json("claim_taken_over", worker=me.worker_id, plan=code, claim=cid)
        r = run_scheduled(engine, me, code, t, opts, claim_id=cid)
        if r is None:  # this process had recorded the time already (same process, earlier attempt)
            set_claim(engine, cid, FAILED, "接管后未能重新执行：本进程已记录该次运行")
        else:
            out.append(r)
    return out


# --- reminders -----------------------------------------------------------------------


def reminders(engine: Engine, now: Optional[dt.datetime] = None, cal: Optional[wd.WorkdayCalendar] = None) -> list[Notification]:
    """Daily reminders: plans waiting for a ceremony seed; publication deadlines
    within the next 3 working days, and overdue ones (once per day each)."""
    now = _utc(now or utcnow())
    today = now.astimezone(schedules.TZ).date()
    out = _seed_reminders(engine, today)
    if hasattr(Task, "deadline") and hasattr(Task, "published_on"):
        out += _deadline_reminders(engine, today, cal)
    return out


def _seed_reminders(engine: Engine, today: dt.date) -> list[Notification]:
    """Claims waiting for a seed: closed if the draw was done by hand meanwhile, else a reminder."""
    out: list[Notification] = []
    with Session(engine) as s:
        waiting = s.execute(
            select(DrawClaim, Plan).join(Plan, Plan.id == DrawClaim.plan_id).where(DrawClaim.status == WAITING_SEED)
        ).all()
        pending = []
        for c, p in waiting:
            live = s.execute(select(Draw.id).where(Draw.plan_id == p.id, Draw.period == c.period, Draw.status == "drawn")).first()
            if live:
                c.status, c.draw_id, c.updated_at = DONE, live[0], utcnow()
                s.add(c)
            else:
                pending.append((p.bureau_id, p.code, c.period))
        s.commit()
    for bid, code, period in pending:
        n = notify(engine, bid, "seed_reminder", f"提醒：计划 {code} 的 {period} 抽取仍在等待录入公开种子。", f"plan:{code}",
                   key=f"seed_reminder:{code}:{period}:{today.isoformat()}")
        if n:
            out.append(n)
    return out


def _deadline_reminders(engine: Engine, today: dt.date, cal: Optional[wd.WorkdayCalendar]) -> list[Notification]:
    """Per bureau: tasks whose publication deadline is within 3 working days, and overdue ones."""
    from scheduler.calendar.service import calendar

    out: list[Notification] = []
    cal = cal if cal is not None else calendar(engine)
    try:
        horizon = wd.add_working_days(cal, today, 3)
    except wd.MissingYear as e:
        log_json("reminder_error", error=str(e))
        return out
    open_task = (Task.deadline.is_not(None), Task.published_on.is_(None),
                 Task.status.not_in(("reserve", "voided", "replaced")))
    with Session(engine) as s:
        soon = s.execute(select(Task.bureau_id, func.count()).where(*open_task, Task.deadline >= today, Task.deadline <= horizon)
                         .group_by(Task.bureau_id)).all()
        late = s.execute(select(Task.bureau_id, func.count()).where(*open_task, Task.deadline < today)
                         .group_by(Task.bureau_id)).all()
    for bid, k in soon:
        n = notify(engine, bid, "deadline_soon", f"{k} 项抽查任务的公示截止日在 3 个工作日内（{horizon.isoformat()} 前），请及时录入并公示检查结果。",
                   "tasks", key=f"deadline_soon:{bid}:{today.isoformat()}")
        if n:
            out.append(n)
    for bid, k in late:
        n = notify(engine, bid, "overdue", f"{k} 项抽查任务已超过公示截止日仍未公示，请尽快处理。", "tasks",
                   key=f"overdue:{bid}:{today.isoformat()}")
        if n:
            out.append(n)
    return out


# --- schedules for the app and the CLI -----------------------------------------------


@dataclass(frozen=True)
class PlanSchedule:
    code: str
    name: str
    schedule: str
    description: str
    next_run: Optional[str]
    error: str
    require_public_seed: bool


def plan_schedules(engine: Engine, now: Optional[dt.datetime] = None, actor: Optional[Actor] = None,
                   bureau_id: Optional[int] = None) -> list[PlanSchedule]:
    """The random plans' schedules (with `actor` / `bureau_id`: of those bureaus), by code."""
    from scheduler.calendar.service import calendar

    now = _utc(now or utcnow())
    cal = calendar(engine)
    with Session(engine) as s:
        q = select(Plan).where(Plan.kind == "random").order_by(Plan.code)
        if (cond := _bureau_cond(s, Plan.bureau_id, actor, bureau_id)) is not None:
            q = q.where(cond)
        plans = list(s.execute(q).scalars())
    out = []
    for p in plans:
        nxt, err = schedules.next_run_of(p.schedule, now, cal)
        try:
            desc = schedules.parse(p.schedule).describe()
        except schedules.ScheduleError:
            desc = ""
        out.append(PlanSchedule(p.code, p.name, p.schedule, desc, nxt, err, p.require_public_seed))
    return out


def set_schedule(engine: Engine, plan_code: str, text: str, actor: Actor) -> Plan:
    """Change a plan's schedule (validated; empty = the default); writes an audit event.
    The worker picks it up at its next sync, without a restart. PermissionDenied if the
    plan's bureau is outside the actor's scope."""
    sched = schedules.parse(text)  # ScheduleError (Chinese) if invalid
    stored = "" if not (text or "").strip() else sched.text
    with Session(engine) as s:
        plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
        if plan is None:
            raise schedules.ScheduleError(f"抽查计划“{plan_code}”不存在")
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "plan.schedule", department_id=plan.lead_department_id)
        old = plan.schedule
        plan.schedule, plan.updated_at = stored, utcnow()
        s.add(plan)
        auditlog.record(s, actor, "plan.schedule", f"plan:{plan_code}", {"plan": plan_code, "old": old, "new": stored},
                        bureau_id=plan.bureau_id)
        s.commit()
        s.refresh(plan)
        return plan


def _rows(engine: Engine, where, limit: int, actor: Optional[Actor] = None,
          bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    with Session(engine) as s:
        q = select(ScheduleRun, Plan.code).join(Plan, Plan.id == ScheduleRun.plan_id)
        if where is not None:
            q = q.where(where)
        if (cond := _bureau_cond(s, Plan.bureau_id, actor, bureau_id)) is not None:
            q = q.where(cond)
        rows = s.execute(q.order_by(ScheduleRun.scheduled_for.desc(), ScheduleRun.id.desc()).limit(limit)).all()
    return [
        {"plan": code, "period": r.period, "scheduled_for": _utc(r.scheduled_for).astimezone(schedules.TZ),
         "worker": r.worker_id, "started_at": _utc(r.started_at).astimezone(schedules.TZ),
         "finished_at": _utc(r.finished_at).astimezone(schedules.TZ) if r.finished_at else None,
         "outcome": r.outcome, "outcome_label": OUTCOME_LABELS.get(r.outcome, r.outcome), "error": r.error, "draw_id": r.draw_id}
        for r, code in rows
    ]


def recent_runs(engine: Engine, limit: int = 50, actor: Optional[Actor] = None,
                bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    """The latest runs (with `actor` / `bureau_id`: of those bureaus' plans)."""
    return _rows(engine, None, limit, actor, bureau_id)


def missed_runs(engine: Engine, limit: int = 100, actor: Optional[Actor] = None,
                bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    return _rows(engine, ScheduleRun.outcome == MISSED, limit, actor, bureau_id)


def claims(engine: Engine, status: Optional[str] = None, actor: Optional[Actor] = None,
           bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    """Draw claims, newest first (with `actor` / `bureau_id`: of those bureaus' plans)."""
    with Session(engine) as s:
        q = select(DrawClaim, Plan.code).join(Plan, Plan.id == DrawClaim.plan_id)
        if status:
            q = q.where(DrawClaim.status == status)
        if (cond := _bureau_cond(s, Plan.bureau_id, actor, bureau_id)) is not None:
            q = q.where(cond)
        rows = s.execute(q.order_by(DrawClaim.id.desc())).all()
    return [
        {"plan": code, "period": c.period, "status": c.status, "status_label": CLAIM_LABELS.get(c.status, c.status),
         "claimed_by": c.claimed_by, "claimed_at": _utc(c.claimed_at).astimezone(schedules.TZ), "attempts": c.attempts,
         "error": c.error, "draw_id": c.draw_id}
        for c, code in rows
    ]


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)
