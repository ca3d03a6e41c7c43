"""`dsr exchange status`: the batches in and out as listed, in one plain SELECT over db/tables.py.

No ORM models, JSON Schemas or numpy: the batch list answers without what the imports and exports
themselves need (scheduler/docking/receipts.py)."""

from __future__ import annotations

import json
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine

from db import tables as t
from scheduler.access.context import Actor
from scheduler.access.permissions import require, sees_every_bureau


def batches(engine: Engine, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """`dsr exchange status --json`: the batches in and out, newest first, in the actor's scope."""
    require(actor, "exchange.view")
    b, bu = t.exchangebatch.c, t.bureau.c
    stmt = (select(b.batch_no, b.direction, b.kind, bu.code, b.status, b.sequence, b.record_count, b.accepted, b.rejected,
                   b.manifest_sha256, b.created_at, b.written_at, b.sent_at, b.receipt_at, b.summary)
            .select_from(t.exchangebatch).join(t.bureau, bu.id == b.bureau_id).order_by(b.id.desc()).limit(limit))
    with engine.connect() as conn:
        if not sees_every_bureau(actor):
            from scheduler.access.scope import in_scope, visible_bureaus  # the bureau tree: db/models.py

            cond = in_scope(b.bureau_id, visible_bureaus(conn, actor))
            stmt = stmt if cond is None else stmt.where(cond)
        return [_batch_row(r) for r in conn.execute(stmt)]


def _iso(t: Optional[Any]) -> Optional[str]:
    return t.isoformat() if t is not None else None


def _batch_row(r: Any) -> dict[str, Any]:
    return {"batch_id": r.batch_no, "direction": r.direction, "kind": r.kind, "bureau": r.code,
            "status": r.status, "sequence": r.sequence, "records": r.record_count, "accepted": r.accepted,
            "rejected": r.rejected, "manifest_sha256": r.manifest_sha256, "created_at": _iso(r.created_at),
            "written_at": _iso(r.written_at), "sent_at": _iso(r.sent_at), "receipt_at": _iso(r.receipt_at),
            "summary": json.loads(r.summary) if r.summary else None}
