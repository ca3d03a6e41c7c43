"""Append audit events inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from db.models import AuditEvent, utcnow
from scheduler.audit.chain import GENESIS, HASH_VERSION, canonical, event_hash_v2
from scheduler.access.context import CLI, Actor

# pg_advisory_xact_lock key of the audit chain (any fixed bigint unused elsewhere: "dsrauditchain").
CHAIN_LOCK_KEY = 0x6473_7261_7564_6974


def record(session: Session, actor: Actor, action: str, obj: str, payload: Any,
           bureau_id: int | None = None, keep_payload: bool = True) -> AuditEvent:
    """Add one chained event to `session`; it commits with the change it records.

    `bureau_id`: the bureau the changed object belongs to, which decides who sees the event on
    审计日志 (scope); without it, the acting account's. The command line and the worker act with
    no bureau, so their changes to a bureau's data must name it, or that bureau's auditors miss them.

    The payload is stored with the event (what `digest` hashes), so that an auditor's export can
    rebuild what changed; `keep_payload=False` stores the digest only, for a payload that may hold
    a secret (a name typed at the login may be a password typed into the wrong box).

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
    body = canonical(payload)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    bureau = bureau_id if bureau_id is not None else actor.bureau_id
    # The id is hashed too (version 2), so it is taken before the insert: under the chain's lock
    # nobody else appends, so on SQLite it is the next rowid; PostgreSQL hands out the sequence's next.
    if dialect == "postgresql":
        eid = session.execute(text("SELECT nextval(pg_get_serial_sequence('auditevent', 'id'))")).scalar_one()
    else:
        eid = (last.id if last else 0) + 1
    ev = AuditEvent(
        id=eid,
        at=at,
        bureau_id=bureau,
        actor=actor.name,
        role=actor.role,
        action=action,
        object=obj,
        digest=digest,
        prev_hash=prev,
        hash=event_hash_v2(eid, prev, at, bureau, actor.name, actor.role, action, obj, digest),
        hash_version=HASH_VERSION,
        payload=body if keep_payload else None,
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


def head(engine) -> dict[str, Any]:
    """The chain's head now: the newest event's hash, the number of events and the time of the
    newest one (UTC). Whoever keeps a head detects, later, a truncated or rewritten history: the
    head they kept must still be in the chain (`dsr audit verify --head`)."""
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
        row = conn.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.at).order_by(AuditEvent.id.desc())
                           .limit(1)).first()
    at = None
    if row is not None:
        at = (row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.timezone.utc)).isoformat(timespec="microseconds")
    return {"head": row.hash if row else GENESIS, "events": n, "last_event_id": row.id if row else 0,
            "last_event_at": at, "hash_rule": f"dsr-audit-v{HASH_VERSION}"}


HEAD_FILE = "audit-head.json"


def write_head(engine, folder, at_head: dict[str, Any] | None = None) -> Path:
    """Write `audit-head.json` (the chain head, see `head`) into `folder`; returns its path."""
    doc = at_head or head(engine)
    path = Path(folder) / HEAD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def export_row(ev: AuditEvent) -> dict[str, Any]:
    """One event as the export writes it: every column the hash covers (docs/audit.md)."""
    at = ev.at if ev.at.tzinfo else ev.at.replace(tzinfo=dt.timezone.utc)
    return {"id": ev.id, "at": at.isoformat(timespec="microseconds"), "bureau_id": ev.bureau_id, "actor": ev.actor,
            "role": ev.role, "action": ev.action, "object": ev.object, "digest": ev.digest, "payload": ev.payload,
            "prev_hash": ev.prev_hash, "hash": ev.hash, "hash_version": ev.hash_version}


def export(engine, path, actor: Actor = CLI) -> ChainReport:
    """Write the chain as JSON Lines (one event a line, every column the hash covers, the payload
    as stored) plus a final head line."""
    from scheduler.access.permissions import require

    require(actor, "audit.export")
    rep = verify(engine)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Session(engine) as s, out.open("w", encoding="utf-8") as fh:
        for ev in s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            fh.write(json.dumps(export_row(ev), ensure_ascii=False) + "\n")
        fh.write(json.dumps({"head": rep.head, "events": rep.events, "verified": rep.ok,
                             "first_broken": rep.first_broken}, ensure_ascii=False) + "\n")
    return rep
