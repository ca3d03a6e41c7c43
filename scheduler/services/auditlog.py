"""Append audit events inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from db.models import AuditEvent, utcnow
from scheduler.audit import GENESIS, digest_of, event_hash
from scheduler.services.context import Actor


def record(session: Session, actor: Actor, action: str, obj: str, payload: Any) -> AuditEvent:
    """Add one chained event to `session`; it commits with the change it records.

    On PostgreSQL the chain head is locked (FOR UPDATE) so two writers cannot
    both chain onto the same predecessor; SQLite serialises writers itself.
    """
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    last = session.execute(stmt).scalar_one_or_none()
    prev = last.hash if last else GENESIS
    at = utcnow()
    digest = digest_of(payload)
    ev = AuditEvent(
        at=at,
        bureau_id=actor.bureau_id,
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
