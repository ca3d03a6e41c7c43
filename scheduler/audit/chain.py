"""The audit trail's hash chain (pure): how an event's hash is computed and the chain checked.

Two hash rules, named by each event's `hash_version` (docs/audit.md repeats them for auditors):

- version 2 (every event written since migration 0007): SHA-256 over the compact JSON array
  ``[2, id, prev_hash, at, bureau_id, actor, role, action, object, digest]``; `digest` is the
  SHA-256 of the stored `payload` (canonical JSON), so every column of the event is covered.
- version 1 (events written before): ``[prev_hash, at, actor, role, action, object, digest]``;
  the bureau and the id were not covered. Migration 0007 sealed them: it appended one version-2
  event ``audit.hash_v2`` whose payload holds the SHA-256 of the lines ``"{id}:{bureau_id}\\n"``
  of every version-1 event, so moving an older event to another bureau breaks the seal.

`at` is written ISO 8601 to the microsecond; the first event's prev_hash is 64 zeros. Once a
version-2 event is in the chain, no version-1 event may follow it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Optional

GENESIS = "0" * 64
HASH_VERSION = 2
SEAL_ACTION = "audit.hash_v2"


def canonical(payload: Any) -> str:
    """The canonical JSON of a payload: what is stored and what `digest` hashes."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def digest_of(payload: Any) -> str:
    """SHA-256 of the canonical JSON of what changed."""
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, at: dt.datetime, actor: str, role: str, action: str, obj: str, digest: str) -> str:
    """The version-1 rule (events written before migration 0007)."""
    body = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, role, action, obj, digest],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def event_hash_v2(event_id: int, prev_hash: str, at: dt.datetime, bureau_id: Optional[int], actor: str, role: str,
                  action: str, obj: str, digest: str) -> str:
    """The version-2 rule: every column of the event (the payload through its digest)."""
    body = json.dumps(
        [2, int(event_id), prev_hash, at.isoformat(timespec="microseconds"), bureau_id, actor, role, action, obj, digest],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def seal_line(event_id: int, bureau_id: Optional[int]) -> bytes:
    """One version-1 event's line in the seal's digest."""
    return f"{event_id}:{'' if bureau_id is None else bureau_id}\n".encode()


def hash_of(ev) -> str:
    """The hash an event must carry under its own version's rule."""
    if getattr(ev, "hash_version", 1) == 2:
        return event_hash_v2(ev.id, ev.prev_hash, ev.at, ev.bureau_id, ev.actor, ev.role, ev.action, ev.object, ev.digest)
    return event_hash(ev.prev_hash, ev.at, ev.actor, ev.role, ev.action, ev.object, ev.digest)


def _problem(ev, v1: "hashlib._Hash", v1_count: int, seen_v2: bool) -> Optional[str]:
    """What is wrong with one event beyond its link (Chinese), or None."""
    version = getattr(ev, "hash_version", 1)
    if version not in (1, 2):
        return f"的哈希规则版本 {version} 未知"
    if version == 1 and seen_v2:
        return "出现在第 2 版哈希规则的事件之后却标为第 1 版：事件被改写"
    if hash_of(ev) != ev.hash:
        return "的内容与其哈希不符：事件被修改"
    payload = getattr(ev, "payload", None)
    if version == 2 and payload is not None and hashlib.sha256(payload.encode("utf-8")).hexdigest() != ev.digest:
        return "的内容记录与其摘要不符：事件内容被修改"
    if ev.action == SEAL_ACTION and version == 2:
        seal = json.loads(payload or "{}")
        if seal.get("v1_events") != v1_count or seal.get("v1_bureaus") != v1.hexdigest():
            return "（第 1 版事件的封存）与之前事件的所属单位不符：旧事件被改动"
    return None


def verify_chain(events) -> tuple[int, str | None]:
    """Walk events in id order; return (count, first broken link in Chinese or None).

    `events` yields objects with id, at, bureau_id, actor, role, action, object, digest,
    prev_hash, hash, hash_version and payload. An edited event fails its own hash (or its
    payload its digest); a deleted or reordered one breaks the next event's prev_hash link.
    """
    prev = GENESIS
    n = 0
    v1 = hashlib.sha256()
    v1_count = 0
    seen_v2 = False
    for ev in events:
        n += 1
        if ev.prev_hash != prev:
            return n, f"第 {n} 条事件（#{ev.id} {ev.action}）的前一哈希与上一条事件不符：事件被删除、插入或调换了顺序"
        problem = _problem(ev, v1, v1_count, seen_v2)
        if problem is not None:
            return n, f"第 {n} 条事件（#{ev.id} {ev.action}）{problem}"
        if getattr(ev, "hash_version", 1) == 1:
            v1.update(seal_line(ev.id, ev.bureau_id))
            v1_count += 1
        else:
            seen_v2 = True
        prev = ev.hash
    return n, None
