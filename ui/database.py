"""The app's one database engine per server process, and its label for the sidebar."""

from __future__ import annotations

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
    # The package's holiday schedules (chinese-calendar) count from the start, as with `dsr init`
    # and the worker: a database made otherwise would have no deadline until someone opened 工作日历.
    from scheduler.calendar.service import ensure_seeded

    ensure_seeded(eng)
    return eng


def engine() -> Engine:
    """The engine for DSR_DATABASE_URL, created and upgraded once per process."""
    return _engine(database_url())


def database_label() -> str:
    """The database URL without its password, for the sidebar."""
    return engine().url.render_as_string(hide_password=True)
