"""Draws (抽取): freeze the frame, draw with a seed, void, replace, package.

Integrity of the act of drawing:
- Freeze first, draw second: `freeze` stores the frame (gzip of its
  canonical text) and its digest before any seed exists; later registry
  changes do not touch it.
- One live draw per (plan, period): a partial unique index on `draw`, plus a
  conditional UPDATE frozen -> drawn, so a second attempt (or a second
  worker) is refused even when two run at once.
- A draw is one transaction: tasks, certificate and audit event are stored
  together or not at all.
- Voiding keeps the voided draw and its seed; a new draw must use a new seed.

A draw (`execute`) is a sequence of steps, each a function below: open the frozen draw
(`_open`), rank its frame (`_rank`), gather the tasks' items and the matching's inputs
(`_task_inputs`), claim the draw (`_claim`), store the tasks while the teams are matched
(`_store_while_matching`), then the certificate and its audit event (`_package`).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm import aliased
from sqlmodel import Session

import scheduler
from db.bulk import insert_rows, sqlite_page_cache, writes_ids
from db.models import CheckItem, Draw, DrawArchive, Enterprise, ItemResult, Plan, Task, TeamMember, Town, utcnow
from scheduler.draw import annual
from scheduler.draw import certificate as certs
from scheduler.runtime import cores
from scheduler.runtime import gc_pause
from scheduler.draw import fast as dsr1
from scheduler.draw.files import RECUSALS_FILE, REPLACEMENTS_FILE
from scheduler.matching import fast as matching
from scheduler.matching import package as mp
from scheduler.plans import quota, rules
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.matching import service as teams
from scheduler.visits import service as visit_service
from scheduler.access.context import CLI, Actor
from scheduler.access.scope import require_bureau
from scheduler.draw.frame_service import (FrameEntity, applicable_items, barred_kinds, entities, read_frame,
                                          read_frame_lines)
from scheduler.plans.service import LoadedPlan, load_plan
from scheduler.plans import lifecycle as plan_lifecycle
from scheduler.errors import DsrError

PERIOD_FORMATS = ("YYYY-MM", "YYYY-Qn", "YYYY")
log = logging.getLogger("dsr.draw")
_STORE_CACHE_KIB = 65536  # SQLite page cache while a draw stores its rows (see `_store_while_matching`)


class DrawRefused(DsrError, RuntimeError):
    """A draw that may not happen; the message (Chinese) says why."""

    code = "draw.refused"


def validate_period(period: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?", period or ""):
        raise DrawRefused(f"抽查期间“{period}”格式错误，应为 YYYY-MM（如 2026-12）、YYYY-Qn 或 YYYY")
    return period


@dataclass
class FrozenFrame:
    draw_id: int
    plan_code: str
    period: str
    frame_sha256: str
    public_frame_sha256: str
    frame_size: int
    strata: dict[str, int]


def _require(s: Session, actor: Actor, action: str, lp: LoadedPlan) -> None:
    """draw.* rights: the plan's bureau within the actor's scope (a city account may act
    for its districts), then the role and the plan's lead department."""
    require_bureau(s, actor, lp.plan.bureau_id)
    require(actor, action, department_id=lp.plan.lead_department_id)


def _live_draw(s: Session, plan_id: int, period: str) -> Draw | None:
    return s.execute(
        select(Draw).where(Draw.plan_id == plan_id, Draw.period == period, Draw.status != "voided")
    ).scalar_one_or_none()


# ---------------------------------------------------------------- freeze


def freeze(engine: Engine, plan_code: str, period: str, actor: Actor = CLI) -> FrozenFrame:
    """Freeze the plan's frame for `period` (or return the one already frozen)."""
    validate_period(period)
    with Session(engine) as s:
        lp = load_plan(s, plan_code)
        _require(s, actor, "draw.freeze", lp)
        _check_rules(lp, period)
        live = _live_draw(s, lp.plan.id, period)
        if live is not None:
            return _already_frozen(s, live, plan_code, period)
        d = _new_draw(s, lp, plan_code, period, actor)
        frame, frame_gz = _frame_and_archive(s, lp, period)
        d.frame_sha256, d.public_frame_sha256 = frame.sha256()
        d.frame_size = frame.n
        s.add(d)
        # The hidden strata's key is drawn with the frame, before any seed (§3.2).
        s.add(DrawArchive(draw_id=d.id, frame_gz=frame_gz, commit_key=secrets.token_hex(32)))
        auditlog.record(
            s, actor, "draw.freeze", f"draw:{d.id}",
            {"plan": plan_code, "period": period, "frame_sha256": d.frame_sha256, "frame_size": d.frame_size},
            bureau_id=lp.plan.bureau_id,
        )
        s.commit()
        _handoff.keep(frame.without_files())
        return FrozenFrame(d.id, plan_code, period, d.frame_sha256, d.public_frame_sha256, d.frame_size,
                           dict(sorted(frame.sizes().items())))


def _already_frozen(s: Session, live: Draw, plan_code: str, period: str) -> FrozenFrame:
    """The live draw of (plan, period) when it is still frozen; a drawn one is refused."""
    if live.status == "drawn":
        raise DrawRefused(f"计划 {plan_code} 在 {period} 已完成抽取（抽取记录 #{live.id}），不得重复抽取；如确需重抽，须先书面说明理由作废原抽取")
    ids, strata = frame_columns(gzip.decompress(s.get(DrawArchive, live.id).frame_gz))
    return _frozen(live, plan_code, strata)


def _new_draw(s: Session, lp: LoadedPlan, plan_code: str, period: str, actor: Actor) -> Draw:
    """The draw row in state frozen (its digests follow); a second one for (plan, period) is refused."""
    d = Draw(plan_id=lp.plan.id, period=period, status="frozen", frame_sha256="", public_frame_sha256="",
             frame_size=0, frozen_by=actor.name, plan_version=lp.plan.version)
    s.add(d)
    try:
        s.flush()
    except IntegrityError:
        s.rollback()
        raise DrawRefused(f"计划 {plan_code} 在 {period} 已有抽取记录，不得重复冻结") from None
    return d


def _frame_and_archive(s: Session, lp: LoadedPlan, period: str) -> tuple[dsr1.FrameColumns, bytes]:
    """The plan's frame for `period`, hashed, and its archive (the gzip of its canonical text)."""
    # Fast path: the database hands over the frame's lines as one value; numpy checks them in
    # full and sorts them (any other shape: the rows).
    lines = read_frame_lines(s, lp, period)
    frame = dsr1.frame_of_lines(lines) if lines else None
    del lines
    if frame is None:
        rows = read_frame(s, lp, period)
        frame = dsr1.frame_of_rows([r[0] for r in rows], [r[1] for r in rows])
        del rows
    # Compressing the archive and hashing both files are long C calls without the GIL: the
    # archive is compressed on other threads while this one hashes (1M: 0.09 s and 0.04 s).
    archive = [cores.in_background(lambda part=part: gzip.compress(part, compresslevel=1, mtime=0), "dsr-archive")
               for part in _halves(frame.frame_bytes)]
    frame.sha256()
    return frame, b"".join(a.result() for a in archive)


def _halves(data: bytes, least: int = 1 << 23) -> list[memoryview]:
    """A large archive is compressed as two gzip members at once (one per core; 10M: ~0.9 s
    alone); their concatenation is one gzip file, which `gzip.decompress` reads whole."""
    view = memoryview(data)
    if len(data) < least:
        return [view]
    return [view[: len(data) // 2], view[len(data) // 2:]]


def frame_columns(frame_bytes: bytes) -> tuple[list[str], list[str]]:
    """Ids and strata of a stored canonical frame, fast (C-level splits).

    The archive is our own canonical text and the draw recomputes its digest
    from these columns, so a damaged archive cannot pass unnoticed."""
    text = frame_bytes.decode("utf-8")
    if not text:
        return [], []
    cells = text[:-1].replace("\n", ",").split(",")
    if len(cells) % 2 or not text.endswith("\n"):
        raise DrawRefused("冻结名录存档已损坏，拒绝抽取")
    return cells[0::2], cells[1::2]


def _frozen(d: Draw, plan_code: str, strata_col: list[str]) -> FrozenFrame:
    strata = Counter(strata_col)
    return FrozenFrame(d.id, plan_code, d.period, d.frame_sha256, d.public_frame_sha256, d.frame_size, dict(sorted(strata.items())))


class _Handoff:
    """The columns of the last frame this process froze, for its draw.

    `dsr draw` and the scheduled worker freeze and draw at once, and a ceremony draws
    minutes after its freeze: the draw then starts from the columns the freeze built instead
    of unpacking, checking and hashing the archive again (1M entities: ~0.13 s). One slot
    (22 bytes an entity; 220 MB at 10M), taken by the draw that uses it. It is found by the
    frame's two digests, which the columns were hashed to: a match is the same frame whatever
    the database or draw, and anything else (another process, a newer freeze) reads the archive.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: dsr1.FrameColumns | None = None

    def keep(self, columns: dsr1.FrameColumns) -> None:
        """Keep hashed columns (`FrameColumns.without_files`) for the next draw of their frame."""
        with self._lock:
            self._slot = columns

    def take(self, frame_sha256: str, public_sha256: str) -> dsr1.FrameColumns | None:
        with self._lock:
            if self._slot is None or self._slot.digests != (frame_sha256, public_sha256):
                return None
            columns, self._slot = self._slot, None
        return columns


_handoff = _Handoff()


def plan_year_periods(lp: LoadedPlan) -> tuple[int, list[str]]:
    """The plan year and the periods its schedule draws in it (scheduler/plans/quota.py)."""
    year = lp.plan.year or plan_lifecycle.year_of(lp.plan.code, lp.plan.name) or 0
    return year, quota.periods(lp.plan.schedule, year)


def _check_rules(lp: LoadedPlan, period: str) -> None:
    if lp.plan.kind != "random":
        raise DrawRefused(f"计划 {lp.plan.code} 为专项检查，不参与双随机抽取")
    plan_lifecycle.require_drawable(lp.plan.code, lp.plan.status, lp.plan.version)
    year, periods = plan_year_periods(lp)
    quota.check_period(lp.plan.code, year, periods, period)
    errs = rules.check_plan(lp.rules)
    if errs:
        raise rules.PlanRuleError(errs)


def stratum_rules(lp: LoadedPlan, strata: list[str]) -> dict[str, dsr1.StratumRule]:
    """Each stratum takes the ratio or count of its risk class (label before '/')."""
    out = {}
    for st in strata:
        cls = st.split("/", 1)[0]
        if cls in lp.rules.counts:
            out[st] = dsr1.StratumRule(count=int(lp.rules.counts[cls]))
        elif cls in lp.rules.ratios:
            out[st] = dsr1.StratumRule(ratio=lp.rules.ratios[cls])
        else:
            raise rules.PlanRuleError([f"分层 {st} 的风险分类 {cls} 未设置抽查比例或数量"])
    return out


# ---------------------------------------------------------------- draw


def execute(engine: Engine, plan_code: str, period: str, seed: str | None = None, actor: Actor = CLI) -> Draw:
    """Draw (DSR-1) on the frozen frame, storing tasks and the certificate atomically.

    With no seed, a 32-digit system seed from `secrets` is used (recorded as such).
    """
    validate_period(period)
    seed_source = "ceremony" if seed is not None else "system"
    seed = dsr1.validate_seed(seed) if seed is not None else dsr1.new_system_seed()
    _authorize_and_freeze(engine, plan_code, period, actor)
    # The draw builds a few hundred thousand short-lived records (tasks, teams, certificate);
    # the cyclic GC's passes over them cost ~10% of the draw's CPU (1M, freeze and draw with
    # the forked children: 3.3 s with the GC on, 3.0 s paused). Paused for its duration only.
    with gc_pause.paused(), Session(engine) as s:
        d, cert_text = _draw(_open(s, plan_code, period, seed, seed_source, actor))
        # Everything the draw built is gone with `_draw`'s frame. The certificate just stored is
        # not read back: a second copy of it (and the driver's) would be the draw's peak memory
        # at 10M (~0.5 GB). Everything else is refreshed as usual.
        s.refresh(d, attribute_names=[c.key for c in Draw.__table__.columns if c.key != "certificate"])
        set_committed_value(d, "certificate", cert_text)
        return d


def _authorize_and_freeze(engine: Engine, plan_code: str, period: str, actor: Actor) -> None:
    """The actor may draw this plan; its frame for `period` is frozen (now, if it was not)."""
    with Session(engine) as s:
        lp = load_plan(s, plan_code)
        _require(s, actor, "draw.execute", lp)
        live = _live_draw(s, lp.plan.id, period)
    if live is None or live.status != "frozen":
        freeze(engine, plan_code, period, actor)  # refuses a second draw, or freezes now


@dataclass
class _Drawing:
    """One draw in the making: what its steps share."""

    s: Session
    lp: LoadedPlan
    d: Draw  # the frozen draw
    plan_code: str
    period: str
    seed: str
    seed_source: str
    actor: Actor
    clock: _Phases
    drawn_at: dt.datetime | None = None
    annual: annual.Annual | None = None  # the year's allocation (`_rank`)


@dataclass
class _TaskInputs:
    """What storing the tasks and matching their teams need, gathered before the draw is claimed."""

    items_of: dict[str, list[CheckItem]]  # entity -> the plan items its task checks
    carrier: dict[str, int]  # entity -> the bureau that carries out its task
    specs: list[matching.TaskSpec]  # the selected entities' tasks, in draw order
    inputs: teams.MatchingInputs
    policy: matching.MatchPolicy


@dataclass
class _DrawMatching:
    """What a draw stores of its matching besides the team members (sent on as they are matched)."""

    short: dict[str, str]  # teams.short_reasons: entity -> reasons of its empty slots
    section_json: bytes  # the certificate's "matching" section
    files_gz: bytes  # the matching's canonical input files, packed and compressed for the archive


@dataclass
class _Stored:
    """The tasks and teams are stored: the certificate's draw part and the matching remain."""

    cert_head: bytes  # the certificate's draw part, a JSON object (dropped once joined: tens of MB at 10M)
    matched: _DrawMatching


def _draw(job: _Drawing) -> tuple[Draw, str]:
    """The draw's steps in one transaction, committed; returns the draw and its certificate."""
    result, archive_check = _rank(job)
    job.drawn_at = utcnow()
    tasks = _task_inputs(job, result)
    if archive_check is not None and archive_check.result() != job.d.frame_sha256:
        raise DrawRefused("冻结名录的摘要与存档不一致，拒绝抽取")
    _claim(job)
    cert_text = _package(job, result, _store_while_matching(job, result, tasks))
    draw_id = job.d.id  # read before the commit expires `d` (reading it after would load the certificate back)
    job.s.commit()
    job.clock.lap("store")
    log.info(json.dumps({"event": "draw", "plan": job.plan_code, "period": job.period, "draw_id": draw_id,
                         "frame_size": result.frame_size, "selected": len(result.selected),
                         "seconds": job.clock.laps, "cpu_seconds": job.clock.cpu}))
    return job.d, cert_text


def _open(s: Session, plan_code: str, period: str, seed: str, seed_source: str, actor: Actor) -> _Drawing:
    """The frozen draw of (plan, period), refused if drawn meanwhile or if `seed` drew a voided draw."""
    lp = load_plan(s, plan_code)
    _check_rules(lp, period)
    d = _live_draw(s, lp.plan.id, period)
    if d is None or d.status != "frozen":
        raise DrawRefused(f"计划 {plan_code} 在 {period} 已完成抽取，不得重复抽取")
    used = s.execute(
        select(Draw.id).where(Draw.plan_id == lp.plan.id, Draw.period == period, Draw.status == "voided", Draw.seed == seed)
    ).first()
    if used:
        raise DrawRefused(f"该随机种子已用于被作废的抽取 #{used[0]}，重新抽取必须使用新的种子")
    return _Drawing(s, lp, d, plan_code, period, seed, seed_source, actor, _Phases())


def _rank(job: _Drawing) -> tuple[dsr1.DrawResult, Future | None]:
    """DSR-1 on the frozen frame, checked against the frozen digest and the plan's stratum rules.

    A frame frozen by this process a moment ago is ranked from the columns the freeze built; its
    archive is then still checked, on another thread while the draw goes on (both run in C without
    the GIL; the Future gives the archive's digest), so a damaged archive refuses the draw before
    it is stored. Any other frame is ranked from its archive."""
    s, d, lp = job.s, job.d, job.lp
    frame = _handoff.take(d.frame_sha256, d.public_frame_sha256)
    handed_over = frame is not None
    if frame is None:
        frame = dsr1.frame_of_archive(gzip.decompress(s.get(DrawArchive, d.id).frame_gz))
    job.annual = annual.allocation(s, lp, d.id, job.period, frame.sizes())
    ks = {a.stratum: dsr1.StratumRule(count=a.k) for a in job.annual.strata if a.available}
    result = dsr1.rank(job.seed, job.plan_code, job.period, frame, ks,
                       batches=lp.plan.batches, reserve_ratio=lp.plan.reserve_ratio)
    del frame  # (memory at 10M)
    archive_check = None
    if handed_over:  # (started after the ranking, which keeps both cores busy)
        frame_gz = s.get(DrawArchive, d.id).frame_gz
        archive_check = cores.in_background(lambda: dsr1.sha256_hex(gzip.decompress(frame_gz)), "dsr-archive-check")
    job.clock.lap("rank")
    if result.frame_sha256 != d.frame_sha256:
        raise DrawRefused("冻结名录的摘要与存档不一致，拒绝抽取")
    result.frame_bytes = result.public_frame_bytes = b""  # digests checked; the archive keeps the frame (memory at 10M)
    return result, archive_check


def _task_inputs(job: _Drawing, result: dsr1.DrawResult) -> _TaskInputs:
    """Items per drawn entity (selected and reserves), their carrying bureaus, and the teams'
    matching inputs (DSR-1 matching)."""
    s, lp = job.s, job.lp
    ents = entities(s, [x.entity_id for x in result.selected] + [r.entity_id for r in result.reserves])
    items_of = _items_of(s, lp, job.period, ents)
    carrier = carriers(s, lp, ents)
    specs = teams.task_specs(lp, [(x.entity_id, x.ticket, x.rank, items_of[x.entity_id],
                                   teams.carrier_code(lp, carrier[x.entity_id])) for x in result.selected])
    inputs = teams.gather(s, lp, job.d.id, job.period, specs)
    out = _TaskInputs(items_of, carrier, specs, inputs, teams.policy_of(lp))
    job.clock.lap("match_inputs")
    return out


def _items_of(s: Session, lp: LoadedPlan, period: str, ents: dict[str, FrameEntity]) -> dict[str, list[CheckItem]]:
    """The plan items each entity's task checks, less the kinds its 抽查频次 bars this year."""
    barred = barred_kinds(s, lp, period, ents)
    # An entity whose every kind was barred by a draw committed after this frame froze keeps its items:
    # the frozen frame decided that it may be checked (seen with 20 planners drawing at once).
    # (Entities with the same scope attributes and barred kinds share one list of items.)
    items_memo: dict[tuple, list[CheckItem]] = {}
    items_of = {}
    for u, e in ents.items():
        b = barred.get(u, frozenset())
        key = (e.entity_type, e.industry_code, e.tags, e.town_code, b)
        its = items_memo.get(key)
        if its is None:
            its = items_memo[key] = applicable_items(lp, e, b) or applicable_items(lp, e)
        items_of[u] = its
    return items_of


def _claim(job: _Drawing) -> None:
    """Claim the draw: only one transaction can move its row from frozen to drawn."""
    claimed = job.s.execute(
        update(Draw)
        .where(Draw.id == job.d.id, Draw.status == "frozen")
        .values(status="drawn", seed=job.seed, seed_source=job.seed_source, drawn_by=job.actor.name,
                drawn_at=job.drawn_at)
    ).rowcount
    if claimed != 1:
        job.s.rollback()
        raise DrawRefused(f"计划 {job.plan_code} 在 {job.period} 已完成抽取，不得重复抽取")


# A draw with at least this many tasks matches in a forked child while it stores (see `_store_while_matching`).
FORK_MATCHING_TASKS = 2_000


def _store_while_matching(job: _Drawing, result: dsr1.DrawResult, tasks: _TaskInputs) -> _Stored:
    """The tasks, their visits, events and teams, and the matching's inputs, stored.

    The matching needs nothing stored, and storing the tasks and re-forming the visits needs
    nothing of the matching but each task's status: the matching runs in a forked child
    (`cores.Forked`) while this process stores the tasks, their visits and events (written as
    assigned, the short-staffed ones corrected when the teams come back) and writes the
    certificate's draw part (1M: ~0.3 s less). The store writes a few hundred thousand rows
    into task, team and visit tables and their indexes at random places: SQLite gets a bigger
    page cache for it (10M: store ~25% less CPU).
    The child sends the team members of each chunk of tasks as soon as they are matched; its
    time limit is ~60x the matching's own time, at least 5 minutes (past it, this process matches)."""
    s, specs = job.s, tasks.specs
    work = functools.partial(_matching_outputs, job.seed, job.plan_code, job.period, specs, tasks.inputs,
                             tasks.policy)
    with cores.Forked(work, timeout=max(300.0, len(specs) / 1000), fork=len(specs) >= FORK_MATCHING_TASKS) \
            as matching_job, \
            sqlite_page_cache(s.connection(), _STORE_CACHE_KIB):
        sel_ids = _store_tasks_and_visits(job, result, tasks)
        cert_head = _certificate_head(job, result)
        job.clock.lap("store_tasks")
        for rows in matching_job.parts():
            teams.insert_members(s, rows, sel_ids)
        matched = matching_job.result()
        job.clock.lap("match")
        s.execute(update(DrawArchive).where(DrawArchive.draw_id == job.d.id).values(matching_gz=matched.files_gz))
        teams.correct_short_staffed(s, matched.short, sel_ids)
    return _Stored(cert_head, matched)


def _matching_outputs(seed: str, plan_code: str, period: str, specs: list, inputs: teams.MatchingInputs,
                      policy, send) -> _DrawMatching:
    """DSR-1 matching of a draw's tasks, as stored: pure (no database), so a forked child can run
    it. The team members are passed to `send` a chunk of tasks at a time, as they are matched.
    The canonical input files are written here too, off the storing process (1M demo: ~0.25 s)."""
    files = inputs.files()
    matched = matching.match(seed, plan_code, period, specs, inputs.roster, inputs.experts, inputs.conflicts,
                             inputs.last, inputs.prior_loads, policy,
                             on_chunk=lambda chunk: send(teams.member_rows(inputs, chunk)))
    return _DrawMatching(teams.short_reasons(matched), certs.stored_json(mp.certificate_section(matched, policy, specs, files)),
                         gzip.compress(mp.pack(files), compresslevel=6, mtime=0))


def _store_tasks_and_visits(job: _Drawing, result: dsr1.DrawResult, tasks: _TaskInputs) -> dict[str, int]:
    """Tasks (as assigned), their visits and events; returns the task id of each selected entity."""
    s, d, sel, carrier = job.s, job.d, result.selected, tasks.carrier
    task_ids = _store_tasks(s, job.lp, d.id, result, tasks.items_of, job.drawn_at, carrier)
    # 进一次门、查多项事: re-form the visits of the period's window (before the audit event: lock order).
    # The tasks just written (the selected ones: reserves are not live) need not be read back.
    visit_service.refresh_for_period(s, job.period, job.actor, visit_service.NewTasks(
        d.id, [task_ids[x.entity_id] for x in sel], [x.entity_id for x in sel], [carrier[x.entity_id] for x in sel]))
    sel_ids = {x.entity_id: task_ids[x.entity_id] for x in sel}
    teams.record_matching(s, {}, sel_ids, job.actor)  # as assigned, corrected once matched
    return sel_ids


def _certificate_head(job: _Drawing, result: dsr1.DrawResult) -> bytes:
    """The certificate's draw part, as stored (everything but the matching section)."""
    lp = job.lp
    return certs.stored_json(certs.build_certificate(
        result,
        seed=job.seed,
        seed_source=job.seed_source,
        plan_code=job.plan_code,
        period=job.period,
        items=[
            {"code": i.code, "name": i.name, "kind": i.kind, "department": lp.departments[i.department_id].name}
            for i in lp.items
        ],
        batches=lp.plan.batches,
        software_version=f"dsr {scheduler.__version__}",
        frozen_at=_iso(job.d.frozen_at),
        drawn_at=_iso(job.drawn_at),
        extra={
            "plan_name": lp.plan.name,
            "lead_department": lp.lead.name,
            "strata_by": lp.plan.strata_by,
            "merge_visits": bool(lp.plan.merge_visits),  # input of the visit merge rule (docs/visits.md)
        },
        annual=job.annual.section if job.annual is not None else None,
    ))


def _package(job: _Drawing, result: dsr1.DrawResult, stored: _Stored) -> str:
    """The certificate, stored with the draw, and the draw's audit event; returns the certificate."""
    # Its draw part (a JSON object) with the matching section as its last member, in one copy.
    head, stored.cert_head = stored.cert_head, b""
    cert_utf8 = b"".join((memoryview(head)[:-1], b',"matching":', stored.matched.section_json, b"}"))
    del head
    cert_text = cert_utf8.decode("ascii")
    cert_sha = hashlib.sha256(cert_utf8).hexdigest()
    values: dict = {"certificate": cert_text}
    if job.annual is not None:
        values["annual"] = annual.stored(job.annual, [x.entity_id for x in result.selected], cert_sha)
    job.s.execute(update(Draw).where(Draw.id == job.d.id).values(**values))
    auditlog.record(
        job.s, job.actor, "draw.execute", f"draw:{job.d.id}",
        {"plan": job.plan_code, "period": job.period, "seed": job.seed, "seed_source": job.seed_source,
         "frame_sha256": result.frame_sha256, "selected": len(result.selected),
         "short_staffed": len(stored.matched.short),
         "certificate_sha256": cert_sha},
        bureau_id=job.lp.plan.bureau_id,  # the worker (system) draws with no bureau of its own
    )
    return cert_text


class _Phases:
    """Wall time of the phases of a draw, for the structured log and the benchmark, and this
    process's CPU time in each (on a busy machine the wall time says little; the forked
    matching's CPU is not in it)."""

    def __init__(self) -> None:
        self.t, self.c = time.perf_counter(), time.process_time()
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[name] = round(now - self.t, 4)
        self.cpu[name] = round(cpu - self.c, 4)
        self.t, self.c = now, cpu


def _iso(t: dt.datetime) -> str:
    # To the microsecond: `drawn_at` orders the draws for the visits' lead (scheduler/visits/rules.py).
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def carriers(s: Session, lp: LoadedPlan, ents) -> dict[str, int]:
    """市抽县查: the bureau that carries out each entity's task is the one whose area
    holds the entity's town (a district plan's tasks stay with the plan's bureau)."""
    if not lp.hands_over:
        return {u: lp.plan.bureau_id for u in ents}
    town_bureau = dict(s.execute(select(Town.code, Town.bureau_id).where(Town.bureau_id.in_(lp.area_ids()))).all())
    return {u: town_bureau[e.town_code] for u, e in ents.items()}


def _store_tasks(s: Session, lp: LoadedPlan, draw_id: int, result, items_of, at: dt.datetime,
                 carrier: dict[str, int]) -> dict[str, int]:
    """Tasks (selected ones as assigned, then reserves) and their items. The draw stores them
    while its teams are still being matched, and corrects the short-staffed ones afterwards
    (`teams.correct_short_staffed`)."""
    conn = s.connection()
    cols = ["bureau_id", "uscc", "stratum", "rank", "batch", "ticket", "reserve_rank", "status", "note"]
    const = {"kind": "random", "draw_id": draw_id, "created_at": at}
    sel, res = result.selected, result.reserves
    if writes_ids(conn):
        # The draw holds SQLite's write lock (it claimed the draw row), so the ids are the ones
        # SQLite would give (max + 1, ...): written out, they need not be read back.
        first = conn.exec_driver_sql('SELECT COALESCE(MAX(id), 0) + 1 FROM "task"').scalar_one()
        rows = [(i, carrier[x.entity_id], x.entity_id, x.stratum, x.rank, x.batch, x.ticket, None, "assigned", "")
                for i, x in zip(range(first, first + len(sel)), sel)]
        rows += [(i, carrier[r.entity_id], r.entity_id, r.stratum, None, None, r.ticket, r.reserve_rank, "reserve", "")
                 for i, r in zip(range(first + len(sel), first + len(sel) + len(res)), res)]
        insert_rows(conn, "task", ["id", *cols], rows, const=const)
        ids = {r[2]: r[0] for r in rows}
    else:
        rows = [(carrier[x.entity_id], x.entity_id, x.stratum, x.rank, x.batch, x.ticket, None, "assigned", "")
                for x in sel]
        rows += [(carrier[r.entity_id], r.entity_id, r.stratum, None, None, r.ticket, r.reserve_rank, "reserve", "")
                 for r in res]
        insert_rows(conn, "task", cols, rows, const=const)
        ids = dict(s.execute(select(Task.uscc, Task.id).where(Task.draw_id == draw_id)).all())
    del rows
    # Each task carries every plan item its entity qualifies for (one visit).
    links = [(ids[u], it.id) for u, its in items_of.items() for it in its]
    insert_rows(conn, "taskitem", ["task_id", "item_id"], links)
    return ids


def void(engine: Engine, plan_code: str, period: str, reason: str, actor: Actor = CLI) -> Draw:
    """Void the live draw of (plan, period) with a written reason; it stays on record."""
    if not reason or len(reason.strip()) < 4:
        raise DrawRefused("作废抽取必须书面说明理由（不少于 4 个字）")
    with Session(engine) as s:
        lp = load_plan(s, plan_code)
        _require(s, actor, "draw.void", lp)
        d = _live_draw(s, lp.plan.id, period)
        if d is None:
            raise DrawRefused(f"计划 {plan_code} 在 {period} 没有可作废的抽取")
        d.status, d.void_reason, d.voided_by, d.voided_at = "voided", reason.strip(), actor.name, utcnow()
        s.add(d)
        for t in s.execute(select(Task).where(Task.draw_id == d.id)).scalars():
            t.status = "voided"
            s.add(t)
        visit_service.refresh_for_period(s, period, actor)  # the voided tasks leave their visits
        auditlog.record(s, actor, "draw.void", f"draw:{d.id}", {"plan": plan_code, "period": period, "reason": reason.strip(), "seed": d.seed},
                        bureau_id=lp.plan.bureau_id)
        s.commit()
        s.refresh(d)
        return d


def get_draw(s: Session, plan_code: str, period: str, include_voided: bool = False) -> Draw:
    plan = s.execute(select(Plan).where(Plan.code == plan_code)).scalar_one_or_none()
    if plan is None:
        raise DrawRefused(f"抽查计划“{plan_code}”不存在")
    q = select(Draw).where(Draw.plan_id == plan.id, Draw.period == period)
    if not include_voided:
        q = q.where(Draw.status != "voided")
    d = s.execute(q.order_by(Draw.id.desc())).scalars().first()
    if d is None:
        raise DrawRefused(f"计划 {plan_code} 在 {period} 没有抽取记录")
    return d


def write_packages(engine: Engine, draw_id: int, auditor_dir: Path | None = None, public_dir: Path | None = None) -> None:
    """Write the auditor package (full, with the commitment key) and/or the public package
    (no risk classes: the strata only as commitments, docs/draw-algorithm.md §3.2)."""
    with Session(engine) as s:
        d = s.get(Draw, draw_id)
        if d is None or d.certificate is None:
            raise DrawRefused(f"抽取 #{draw_id} 尚未完成，没有核验包")
        cert = certs.load_stored(d.certificate)
        archive = s.get(DrawArchive, d.id)
        frame_bytes = gzip.decompress(archive.frame_gz)
        files = mp.unpack(gzip.decompress(archive.matching_gz)) if archive.matching_gz else {}
        key = archive.commit_key
        after = after_draw_records(s, draw_id)
    if key is None:
        raise DrawRefused(f"抽取 #{draw_id} 没有分层承诺密钥，无法生成核验包（请先升级数据库：dsr init）")
    cert, commitments = certs.with_commitments(cert, frame_bytes, key)
    if auditor_dir is not None:
        certs.write_package(Path(auditor_dir), cert, frame_bytes)
        mp.write_files(Path(auditor_dir), files)
        _write_records(Path(auditor_dir), after)
    if public_dir is not None:
        ids = (line.split(",", 1)[0] for line in frame_bytes.decode("utf-8").split("\n") if line)
        public = certs.build_public_certificate(cert)
        if "matching" in cert:
            public["matching"] = mp.public_section(cert["matching"])
        certs.write_public_package(Path(public_dir), public, dsr1.canonical_public_frame(ids), commitments)
        # the public package names no stratum (docs/draw-algorithm.md §3): the replacement rows lose it
        _write_records(Path(public_dir), {REPLACEMENTS_FILE: [{k: v for k, v in r.items() if k != "stratum"}
                                                              for r in after.get(REPLACEMENTS_FILE, [])]})


def after_draw_records(s: Session, draw_id: int) -> dict[str, list[dict]]:
    """What changed after the draw, with its evidence: reserves taken for entities that ceased to exist
    or moved out (the reason recorded at replacement), and accepted recusal requests."""
    from db.models import Enterprise as E, Inspector, RecusalRequest, TaskEvent

    old_t = aliased(Task)
    reps = []
    for new, old, status in s.execute(
            select(Task, old_t, E.status).join(old_t, old_t.id == Task.replaces_task_id)
            .outerjoin(E, E.uscc == old_t.uscc).where(Task.draw_id == draw_id).order_by(Task.rank, Task.id)).all():
        ev = s.execute(select(TaskEvent).where(TaskEvent.task_id == old.id, TaskEvent.to_status == "replaced")
                       .order_by(TaskEvent.id.desc())).scalars().first()
        reps.append({"rank": new.rank, "stratum": old.stratum, "replaced": old.uscc, "registry_status": status or "",
                     "evidence": old.note, "by_reserve": new.uscc, "reserve_rank": new.reserve_rank,
                     "at": ev.at.isoformat() if ev else ""})
    leaving, repl = aliased(Inspector), aliased(Inspector)
    recs = [{"rank": t.rank, "entity": t.uscc, "leaving": a.inspector_id, "replacement": b.inspector_id if b else "",
             "applicant": r.applicant, "reason": r.reason, "requested_on": r.requested_on.isoformat(),
             "decided_on": r.decided_on.isoformat() if r.decided_on else "", "decision": r.decision_note}
            for r, t, a, b in s.execute(
                select(RecusalRequest, Task, leaving, repl).join(Task, Task.id == RecusalRequest.task_id)
                .join(leaving, leaving.id == RecusalRequest.inspector_pk)
                .outerjoin(repl, repl.id == RecusalRequest.replacement_pk)
                .where(Task.draw_id == draw_id, RecusalRequest.status == "accepted").order_by(RecusalRequest.id)).all()]
    return {REPLACEMENTS_FILE: reps, RECUSALS_FILE: recs}


def _write_records(directory: Path, records: dict[str, list[dict]]) -> None:
    for name, rows in records.items():
        if rows:
            (directory / name).write_text(json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")


def _match_promoted(s: Session, plan_code: str, d: Draw, old: Task, reserve: Task, actor: Actor) -> list[str]:
    """The replaced task's team stands down and the promoted reserve gets a team by
    the same DSR-1 matching rule (its own ticket, the draw's seed), with loads as
    they stand. Returns the new team's person ids (recorded in the audit event)."""
    s.execute(update(TeamMember).where(TeamMember.task_id == old.id, TeamMember.active.is_(True)).values(active=False))
    s.flush()
    lp = load_plan(s, plan_code)
    spec = teams.task_spec(lp, reserve.uscc, reserve.ticket, reserve.rank, teams.stored_items(s, reserve.id),
                           teams.carrier_code(lp, reserve.bureau_id))
    inputs = teams.gather(s, lp, d.id, d.period, [spec], loads_include_this_draw=True)
    matched = matching.match(d.seed, plan_code, d.period, [spec], inputs.roster, inputs.experts, inputs.conflicts,
                             inputs.last, inputs.prior_loads, teams.policy_of(lp))
    teams.store_teams(s, lp, inputs, matched, {reserve.uscc: reserve.id}, actor)
    return [mem.person_id for mem in matched.teams.get(reserve.uscc, [])]


def replace_task(engine: Engine, task_id: int, reason: str, actor: Actor = CLI) -> Task:
    """A drawn entity that ceased to exist or moved out before the check (注销、吊销、迁出, shown by
    the registry or by the evidence in `reason`): the first unused reserve of its stratum takes
    its place; both facts are recorded. 无法联系 is refused: it is a result to publish."""
    from db.models import TaskEvent

    if not reason.strip():
        raise DrawRefused("替换抽查对象必须说明原因")
    with Session(engine) as s:
        t = s.get(Task, task_id)
        if t is None or t.rank is None or t.draw_id is None:
            raise DrawRefused(f"任务 #{task_id} 不是双随机抽取的抽查对象")
        plan = s.get(Plan, s.get(Draw, t.draw_id).plan_id)
        require_bureau(s, actor, t.bureau_id)  # the bureau carrying the task (a district, for a city plan)
        require(actor, "task.replace", department_id=plan.lead_department_id)
        if t.status in ("replaced", "voided"):
            raise DrawRefused(f"任务 #{task_id} 当前状态为 {t.status}，不能替换")
        if s.execute(select(ItemResult.id).where(ItemResult.task_id == t.id).limit(1)).first():
            raise DrawRefused(f"任务 #{task_id} 已录入检查结果，不能替换；确实无法检查的，请登记为“无法检查”")
        from scheduler.library.vocabulary import replacement_refusal

        why = replacement_refusal(s.execute(select(Enterprise.status).where(Enterprise.uscc == t.uscc)).scalar() or "",
                                  reason)
        if why:
            raise DrawRefused(why)
        reserve = s.execute(
            select(Task).where(Task.draw_id == t.draw_id, Task.stratum == t.stratum, Task.status == "reserve")
            .order_by(Task.reserve_rank)
        ).scalars().first()
        if reserve is None:
            raise DrawRefused(f"分层 {t.stratum} 的备选对象已用完，无法替换")
        old = t.status
        t.status = "replaced"
        t.note = reason.strip()
        reserve.status = "drawn"
        reserve.rank, reserve.batch = t.rank, t.batch
        reserve.replaces_task_id = t.id
        s.add_all([t, reserve])
        s.add(TaskEvent(task_id=t.id, from_status=old, to_status="replaced", actor=actor.name, reason=reason.strip()))
        s.add(TaskEvent(task_id=reserve.id, from_status="reserve", to_status="drawn", actor=actor.name,
                        reason=f"替换任务 #{t.id}（{t.uscc}）：{reason.strip()}"))
        team = _match_promoted(s, plan.code, s.get(Draw, t.draw_id), t, reserve, actor)
        visit_service.refresh_for_period(s, s.get(Draw, t.draw_id).period, actor)  # the reserve takes the visit's place
        auditlog.record(s, actor, "task.replace", f"task:{t.id}",
                        {"draw": t.draw_id, "replaced": t.uscc, "by": reserve.uscc, "reserve_rank": reserve.reserve_rank,
                         "reason": reason.strip(), "team": team}, bureau_id=plan.bureau_id)
        s.commit()
        s.refresh(reserve)
        return reserve
