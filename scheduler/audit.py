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
