"""首页's live figures, cached per database, bureau, day, account and data version.

The version is the newest audit event's id (scheduler/audit/service.last_event_id): every change
of stored data records an event, so a figure read again under the same version is the same
figure. The day is part of the key because the completion time limits are counted from today.
The ttl bounds staleness should data change outside the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from scheduler.access.context import Actor

TTL = 600  # seconds


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def _task_limits(db: str, bid: int, today: dt.date, who: tuple, version: int, _actor: Actor) -> dict[str, Any]:
    from scheduler.results import due
    from ui import state

    return due.overview(state.engine(), bid, today, actor=_actor)


def task_limits(bid: int, today: dt.date, actor: Actor) -> dict[str, Any]:
    """Open tasks near and past their completion time limit, and the 50 most urgent
    (scheduler/results/due.overview)."""
    from scheduler.audit import service as auditlog
    from ui import state

    eng = state.engine()
    return _task_limits(state.database_label(), bid, today, tuple(vars(actor).values()), auditlog.last_event_id(eng),
                        actor)
