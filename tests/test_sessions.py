"""Login sessions of the web app (scheduler/accounts/sessions.py): one-time claim codes, tokens
stored hashed, idle timeout, logout everywhere; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlmodel import Session

from db.models import LoginSession
from scheduler.accounts import sessions

T0 = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.timezone.utc)


def test_claim_once_then_resume_until_idle_timeout(engine, monkeypatch):
    monkeypatch.delenv(sessions.IDLE_ENV, raising=False)
    sid, code = sessions.open_session(engine, "planner", now=T0)
    token = sessions.claim(engine, code, now=T0 + dt.timedelta(seconds=5))
    assert token
    assert sessions.claim(engine, code, now=T0 + dt.timedelta(seconds=6)) is None  # one-time
    with Session(engine) as s:
        row = s.execute(select(LoginSession).where(LoginSession.id == sid)).scalar_one()
    # Only digests are stored: a copy of the database does not log anybody in.
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in (row.token_hash, row.claim_hash)
    live = sessions.resume(engine, token, now=T0 + dt.timedelta(minutes=29))
    assert live == sessions.LiveSession(sid, "planner")
    # Used at 29 minutes, so it lives until 29 + 30.
    assert sessions.check(engine, sid, now=T0 + dt.timedelta(minutes=58))
    assert not sessions.check(engine, sid, now=T0 + dt.timedelta(minutes=58 + 31))
    assert sessions.resume(engine, token, now=T0 + dt.timedelta(minutes=58 + 31)) is None


def test_idle_timeout_is_configurable(engine, monkeypatch):
    monkeypatch.setenv(sessions.IDLE_ENV, "5")
    sid, code = sessions.open_session(engine, "admin", now=T0)
    token = sessions.claim(engine, code, now=T0)
    assert sessions.resume(engine, token, now=T0 + dt.timedelta(minutes=4)) is not None
    assert sessions.resume(engine, token, now=T0 + dt.timedelta(minutes=10)) is None


def test_logout_ends_the_session_everywhere(engine):
    sid, code = sessions.open_session(engine, "reviewer", now=T0)
    token = sessions.claim(engine, code, now=T0)
    sessions.end(engine, sid, now=T0 + dt.timedelta(minutes=1))
    assert not sessions.check(engine, sid, now=T0 + dt.timedelta(minutes=1))
    assert sessions.resume(engine, token, now=T0 + dt.timedelta(minutes=1)) is None


def test_stale_or_unknown_claims_are_refused(engine):
    _sid, code = sessions.open_session(engine, "auditor", now=T0)
    assert sessions.claim(engine, "not-a-code", now=T0) is None
    assert sessions.claim(engine, code, now=T0 + dt.timedelta(seconds=sessions.CLAIM_SECONDS + 1)) is None


def test_signing_secret_is_made_once_per_deployment(engine, monkeypatch):
    monkeypatch.delenv(sessions.SECRET_ENV, raising=False)
    first = sessions.signing_secret(engine)
    assert len(first) >= 48 and sessions.signing_secret(engine) == first
