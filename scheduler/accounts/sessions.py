"""Login sessions of the web app, kept in the database so that a reload, a second tab and a
logout elsewhere all agree.

A login opens a session and hands the browser a one-time claim code; the browser exchanges it
(once, within CLAIM_SECONDS) for the session token, which only ever travels in an HttpOnly
cookie. The database stores SHA-256 digests of the claim code and of the token, never either
value, so a copy of the database cannot be used to log in. A session ends at logout (in every
tab at once: each tab checks its session on every rerun) or after DSR_SESSION_IDLE_MINUTES
(default 30) without a request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import LoginSession, Setting, utcnow

IDLE_ENV = "DSR_SESSION_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30
CLAIM_SECONDS = 120
# A session's last_seen_at is written at most this often: a rerun per click must not be a write.
TOUCH_SECONDS = 60
SECRET_ENV = "DSR_SESSION_SECRET"
_SECRET_SETTING = "session_secret"


@dataclass(frozen=True)
class LiveSession:
    id: int
    username: str


def idle_timeout() -> dt.timedelta:
    """DSR_SESSION_IDLE_MINUTES (a positive whole number), else 30 minutes."""
    raw = (os.environ.get(IDLE_ENV) or "").strip()
    minutes = int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_IDLE_MINUTES
    return dt.timedelta(minutes=minutes)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


def signing_secret(engine: Engine) -> str:
    """The key that signs session cookies: DSR_SESSION_SECRET, else one random key per deployment,
    made on first use and kept in the settings table (so that every app process agrees)."""
    env = (os.environ.get(SECRET_ENV) or "").strip()
    if env:
        return env
    with Session(engine) as s:
        row = s.get(Setting, _SECRET_SETTING)
        if row is not None:
            return row.value
        s.add(Setting(key=_SECRET_SETTING, value=secrets.token_urlsafe(48)))
        try:
            s.commit()
        except Exception:  # another process made it first: use theirs
            s.rollback()
        return s.get(Setting, _SECRET_SETTING).value


def open_session(engine: Engine, username: str, *, now: Optional[dt.datetime] = None) -> tuple[int, str]:
    """A new session for an account that has just logged in: (session id, one-time claim code)."""
    now = now or utcnow()
    code = secrets.token_urlsafe(32)
    with Session(engine) as s:
        row = LoginSession(username=username, claim_hash=_digest(code), created_at=now, last_seen_at=now)
        s.add(row)
        s.commit()
        return row.id, code


def claim(engine: Engine, code: str, *, now: Optional[dt.datetime] = None) -> Optional[str]:
    """Exchange a claim code for the session's token (the cookie's value); None if the code is
    unknown, used already, too old, or its session has ended."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with Session(engine) as s:
        row = s.execute(select(LoginSession).where(LoginSession.claim_hash == _digest(code or ""))
                        .with_for_update()).scalar_one_or_none()
        if row is None or row.ended_at is not None or now - _aware(row.created_at) > dt.timedelta(seconds=CLAIM_SECONDS):
            return None
        row.claim_hash, row.token_hash, row.last_seen_at = None, _digest(token), now
        s.add(row)
        s.commit()
    return token


def _live(row: Optional[LoginSession], now: dt.datetime) -> bool:
    return row is not None and row.ended_at is None and now - _aware(row.last_seen_at) <= idle_timeout()


def _touch(s: Session, row: LoginSession, now: dt.datetime) -> None:
    if now - _aware(row.last_seen_at) >= dt.timedelta(seconds=TOUCH_SECONDS):
        s.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        s.commit()


def resume(engine: Engine, token: str, *, now: Optional[dt.datetime] = None) -> Optional[LiveSession]:
    """The live session a cookie's token belongs to (and mark it used now), or None."""
    now = now or utcnow()
    with Session(engine) as s:
        row = s.execute(select(LoginSession).where(LoginSession.token_hash == _digest(token or ""))).scalar_one_or_none()
        if not _live(row, now):
            return None
        _touch(s, row, now)
        return LiveSession(row.id, row.username)


def check(engine: Engine, session_id: int, *, now: Optional[dt.datetime] = None) -> bool:
    """Is the session still live (not logged out, not idle too long)? Marks it used now."""
    now = now or utcnow()
    with Session(engine) as s:
        row = s.get(LoginSession, session_id)
        if not _live(row, now):
            return False
        _touch(s, row, now)
        return True


def end(engine: Engine, session_id: int, *, now: Optional[dt.datetime] = None) -> None:
    """Logout: the session ends for every tab and cookie that carries it."""
    with Session(engine) as s:
        s.execute(update(LoginSession).where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
                  .values(ended_at=now or utcnow(), claim_hash=None))
        s.commit()


def end_token(engine: Engine, token: str, *, now: Optional[dt.datetime] = None) -> None:
    """Logout by the cookie's token (the cookie route's DELETE)."""
    with Session(engine) as s:
        s.execute(update(LoginSession).where(LoginSession.token_hash == _digest(token or ""),
                                             LoginSession.ended_at.is_(None)).values(ended_at=now or utcnow()))
        s.commit()
