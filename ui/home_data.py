"""首页's figures, cached per database, bureau, day, account and data version.

The version (`data_version`) is the newest audit event's id among the events that change the
data 首页 shows: every change of stored data records an event, so a figure read again under the
same version is the same figure. Account events (a login, a logout, a password) and the export of
a list change none of it, and leave the version as it is: otherwise every login would make the
next 首页 — the page a login lands on — compute the year's figures again (~1–2 s on a 1M registry).
The day is part of the key of the completion time limits, counted from today. The ttl bounds
staleness should data change outside the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from scheduler.access.context import Actor

TTL = 600  # seconds
# Audit actions that change nothing 首页 shows.
READ_ONLY_ACTIONS = ("library.export",)
ACCOUNT_ACTIONS = "user.%"


def data_version(engine) -> int:  # noqa: ANN001 - an Engine
    """The id of the newest audit event that changed data 首页 shows (0 if none)."""
    from sqlalchemy import select

    from db.models import AuditEvent

    with engine.connect() as conn:
        return int(conn.execute(
            select(AuditEvent.id).where(AuditEvent.action.not_like(ACCOUNT_ACTIONS),
                                        AuditEvent.action.not_in(READ_ONLY_ACTIONS))
            .order_by(AuditEvent.id.desc()).limit(1)).scalar() or 0)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def _task_limits(db: str, bid: int, today: dt.date, who: tuple, version: int, _actor: Actor) -> dict[str, Any]:
    from scheduler.results import due
    from ui import state

    return due.overview(state.engine(), bid, today, actor=_actor)


def task_limits(bid: int, today: dt.date, actor: Actor) -> dict[str, Any]:
    """Open tasks near and past their completion time limit, and the 50 most urgent
    (scheduler/results/due.overview)."""
    from ui import state

    return _task_limits(state.database_label(), bid, today, tuple(vars(actor).values()), data_version(state.engine()),
                        actor)
