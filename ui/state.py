"""Per-process state of the app: the cached engine and the current bureau."""

from __future__ import annotations

from typing import Any, Optional

import streamlit as st
from sqlalchemy.engine import Engine

from db.engine import database_url, make_engine
from db.migrate import upgrade


@st.cache_resource(show_spinner="正在连接数据库……")
def _engine(url: str) -> Engine:
    # One engine per URL for the whole server process; the schema is
    # upgraded once here rather than on every rerun.
    eng = make_engine(url)
    upgrade(eng)
    return eng


def engine() -> Engine:
    """The engine for DSR_DATABASE_URL, created and upgraded once per process."""
    return _engine(database_url())


def bureau() -> Optional[dict[str, Any]]:
    """The bureau this app serves ({id, code, name}), or None before `dsr init`."""
    from scheduler.services.browse import default_bureau

    return default_bureau(engine())


def bureau_id() -> Optional[int]:
    b = bureau()
    return b["id"] if b else None


def database_label() -> str:
    """The database URL without its password, for the sidebar."""
    return engine().url.render_as_string(hide_password=True)


def actor():
    """The logged-in user's Actor (ui/auth.py); services check its rights."""
    from scheduler.permissions import PermissionDenied
    from ui.auth import current_actor

    a = current_actor()
    if a is None:
        raise PermissionDenied("请先登录")
    return a
