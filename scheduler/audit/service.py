"""Append audit events inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from db.models import AuditEvent, utcnow
from scheduler.audit.chain import GENESIS, digest_of, event_hash
from scheduler.access.context import CLI, Actor

# pg_advisory_xact_lock key of the audit chain (any fixed bigint unused elsewhere: "dsrauditchain").
CHAIN_LOCK_KEY = 0x6473_7261_7564_6974


def record(session: Session, actor: Actor, action: str, obj: str, payload: Any,
           bureau_id: int | None = None) -> AuditEvent:
    """Add one chained event to `session`; it commits with the change it records.

    `bureau_id`: the bureau the changed object belongs to, which decides who sees the event on
    审计日志 (scope); without it, the acting account's. The command line and the worker act with
    no bureau, so their changes to a bureau's data must name it, or that bureau's auditors miss them.

    On PostgreSQL writers queue on a transaction-scoped advisory lock before
    reading the head: FOR UPDATE on the last row is not enough, because a
    writer blocked on that row gets the same (now stale) row back once the
    holder commits, and an empty table has no row to lock; both forked the
    chain under 20 concurrent users (tests/test_concurrency.py). The lock is
    released at commit or rollback; READ COMMITTED gives the next statement a
    fresh snapshot, so the head read after the lock is the committed one.

    On SQLite the write lock must be held before the head is read: pysqlite
    opens its transaction only at the first write, so in a transaction whose
    first write is this event the head was read outside any transaction, and
    a writer committing in between (the worker's draw) forked the chain
    (tests/test_concurrency.py). A no-op UPDATE takes the write lock (waiting
    up to busy_timeout) before the read.
    """
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text(f'UPDATE "{AuditEvent.__tablename__}" SET id = id WHERE id < 0'))
    last = session.execute(stmt).scalar_one_or_none()
    prev = last.hash if last else GENESIS
    at = utcnow()
    digest = digest_of(payload)
    ev = AuditEvent(
        at=at,
        bureau_id=bureau_id if bureau_id is not None else actor.bureau_id,
        actor=actor.name,
        role=actor.role,
        action=action,
        object=obj,
        digest=digest,
        prev_hash=prev,
        hash=event_hash(prev, at, actor.name, actor.role, action, obj, digest),
    )
    session.add(ev)
    session.flush()
    return ev


@dataclass
class ChainReport:
    ok: bool
    events: int
    head: str
    first_broken: str | None


def last_event_id(engine) -> int:
    """The id of the newest audit event (0 if none). Every change of stored data goes through
    a service that records an event, so an unchanged id means unchanged data: pages key their
    caches on it."""
    from sqlalchemy import func, select

    with engine.connect() as conn:
        return int(conn.execute(select(func.max(AuditEvent.id))).scalar() or 0)


def verify(engine, expected_head: str | None = None) -> ChainReport:
    """Walk the whole chain; optionally check that a head printed earlier (e.g.
    in the minutes of a meeting) is still in it, which also detects truncation."""
    from sqlmodel import Session as _S

    from scheduler.audit.chain import verify_chain

    with _S(engine) as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        hashes: set[str] = set()

        def walk():
            for ev in rows:
                hashes.add(ev.hash)
                yield ev

        n, broken = verify_chain(walk())
        head = s.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none() or GENESIS
    if broken is None and expected_head and expected_head not in hashes and expected_head != GENESIS:
        broken = f"记录在案的链头哈希 {expected_head} 不在审计链中：审计链被截断或替换"
    return ChainReport(broken is None, n, head, broken)


def export(engine, path, actor: Actor = CLI) -> ChainReport:
    """Write the chain as JSON Lines (one event a line) plus a final head line."""
    from scheduler.access.permissions import require

    require(actor, "audit.export")
    import json as _json
    from pathlib import Path as _P

    from sqlmodel import Session as _S

    rep = verify(engine)
    out = _P(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _S(engine) as s, out.open("w", encoding="utf-8") as fh:
        for ev in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            fh.write(_json.dumps({"id": ev.id, "at": ev.at.isoformat(timespec="microseconds"), "actor": ev.actor,
                                  "role": ev.role, "action": ev.action, "object": ev.object, "digest": ev.digest,
                                  "prev_hash": ev.prev_hash, "hash": ev.hash}, ensure_ascii=False) + "\n")
        fh.write(_json.dumps({"head": rep.head, "events": rep.events, "verified": rep.ok,
                              "first_broken": rep.first_broken}, ensure_ascii=False) + "\n")
    return rep
