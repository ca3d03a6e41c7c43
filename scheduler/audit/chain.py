"""The audit trail's hash chain (pure): how an event's hash is computed.

hash = SHA-256 over the canonical JSON of (prev_hash, at, actor, role, action,
object, digest). The first event's prev_hash is 64 zeros.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def digest_of(payload: Any) -> str:
    """SHA-256 of the canonical JSON of what changed."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, at: dt.datetime, actor: str, role: str, action: str, obj: str, digest: str) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, role, action, obj, digest],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def verify_chain(events) -> tuple[int, str | None]:
    """Walk events in id order; return (count, first broken link in Chinese or None).

    `events` yields objects with id, at, actor, role, action, object, digest,
    prev_hash, hash. An edited event fails its own hash; a deleted or
    reordered one breaks the next event's prev_hash link.
    """
    prev = GENESIS
    n = 0
    for ev in events:
        n += 1
        if ev.prev_hash != prev:
            return n, f"第 {n} 条事件（#{ev.id} {ev.action}）的前一哈希与上一条事件不符：事件被删除、插入或调换了顺序"
        want = event_hash(ev.prev_hash, ev.at, ev.actor, ev.role, ev.action, ev.object, ev.digest)
        if want != ev.hash:
            return n, f"第 {n} 条事件（#{ev.id} {ev.action}）的内容与其哈希不符：事件被修改"
        prev = ev.hash
    return n, None
