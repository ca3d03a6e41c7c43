"""Failed logins counted per key in a window (table LoginThrottle), in one SQL statement each.

Keys: ``src:<address>`` counts every failed login from a source address, so that a source is
slowed down as well as an account; ``acct:<name>|<address>`` the failures on one account from one
source (the lock-out that only shuts that source out), ``acct:<name>`` those on the account from
all sources (the lock-out of the account itself); ``unknown:<address>`` counts the attempts on names that do
not exist, which are audited only at 1, 10, 100, … (`audit_due`) instead of one event each.
A count is one INSERT … ON CONFLICT DO UPDATE … RETURNING (SQLite ≥ 3.35 and PostgreSQL), so
parallel failures cannot overwrite each other's increments.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from db.models import LoginThrottle


def source_key(source: str) -> str:
    return f"src:{(source or '?')[:120]}"


def unknown_key(source: str) -> str:
    return f"unknown:{(source or '?')[:120]}"


def account_key(username: str) -> str:
    return f"acct:{username[:64]}"


def account_source_key(username: str, source: str) -> str:
    return f"{account_key(username)}|{(source or '?')[:120]}"


def clear(s: Session, key: str) -> None:
    s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def clear_account(s: Session, username: str) -> None:
    """Forget an account's failures (its lock-out is lifted: a new password, re-enabled)."""
    key = account_key(username)
    s.execute(delete(LoginThrottle).where(or_(LoginThrottle.key == key,
                                              LoginThrottle.key.startswith(key + "|", autoescape=True))))


def hit(s: Session, key: str, now: dt.datetime, window: dt.timedelta) -> int:
    """Count one failure under `key`; a window older than `window` starts again at 1. Returns the count."""
    ins = (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(LoginThrottle)
    t = LoginThrottle.__table__
    stale = t.c.window_start < now - window
    stmt = ins.values(key=key, failures=1, window_start=now).on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"failures": case((stale, 1), else_=t.c.failures + 1),
              "window_start": case((stale, now), else_=t.c.window_start)},
    ).returning(t.c.failures)
    return int(s.execute(stmt).scalar_one())


def count(s: Session, key: str, now: dt.datetime, window: dt.timedelta) -> int:
    """The failures under `key` in the current window (0 once the window has passed)."""
    row = s.execute(select(LoginThrottle.failures, LoginThrottle.window_start).where(LoginThrottle.key == key)).first()
    if row is None:
        return 0
    start = row.window_start if row.window_start.tzinfo else row.window_start.replace(tzinfo=dt.timezone.utc)
    return int(row.failures) if start >= now - window else 0


def audit_due(n: int) -> bool:
    """Whether the n-th counted attempt is audited: 1, 10, 100, … — the trail grows with the
    logarithm of a flood, and each event carries the count so far."""
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1
