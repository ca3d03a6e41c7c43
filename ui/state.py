"""Per-process state of the app: the cached engine, and per session the bureau a page works on.

The bureau follows the logged-in account (scheduler/accounts/scope.py): a district
account works on its own bureau; a city-level account picks its own bureau or one of
its districts in the sidebar (`bureau_picker`); an account without a bureau (a
deployment-wide administrator or auditor) picks any bureau, by default DSR_BUREAU or
the first one. Without a login (the public page) it is `browse.default_bureau`.
The services check the scope again: the choice here only decides what a page shows.
"""

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
    # The package's holiday schedules (chinese-calendar) count from the start, as with `dsr init`
    # and the worker: a database made otherwise would have no deadline until someone opened 工作日历.
    from scheduler.calendar.service import ensure_seeded

    ensure_seeded(eng)
    return eng


def engine() -> Engine:
    """The engine for DSR_DATABASE_URL, created and upgraded once per process."""
    return _engine(database_url())


BUREAU_KEY = "dsr_bureau"


def bureau_choices() -> list[dict[str, Any]]:
    """The bureaus the logged-in account may work on ({id, code, name, level, parent_id}),
    its own first; [] without a login."""
    from scheduler.accounts.scope import bureau_choices as choices
    from ui.auth import account_actor

    a = account_actor()
    return [] if a is None else choices(engine(), a)


def _pick(choices: list[dict[str, Any]], own: Optional[int]) -> Optional[dict[str, Any]]:
    from scheduler.library.browse import default_bureau

    if not choices:
        return None
    by_id = {c["id"]: c for c in choices}
    for cand in (st.session_state.get(BUREAU_KEY), own):
        if cand in by_id:
            return by_id[cand]
    d = default_bureau(engine())  # a deployment-wide account: DSR_BUREAU, else the first bureau
    return by_id.get(d["id"], choices[0]) if d else choices[0]


def bureau() -> Optional[dict[str, Any]]:
    """The bureau the current page works on ({id, code, name, ...}), or None (no bureau yet, or
    an account that may see none)."""
    from scheduler.library.browse import default_bureau
    from ui.auth import account_actor

    a = account_actor()
    if a is None:  # the public page
        return default_bureau(engine())
    from scheduler.accounts.scope import bureau_choices as choices

    return _pick(choices(engine(), a), a.bureau_id)


def bureau_id() -> Optional[int]:
    b = bureau()
    return b["id"] if b else None


def bureau_picker() -> Optional[dict[str, Any]]:
    """The sidebar's bureau: a choice when the account may work on several, else its name."""
    from ui.auth import account_actor

    a = account_actor()
    choices = bureau_choices() if a is not None else []
    b = _pick(choices, a.bureau_id if a else None) if a is not None else bureau()
    if len(choices) > 1:
        by_id = {c["id"]: c for c in choices}
        ids = list(by_id)
        if st.session_state.get(BUREAU_KEY, b["id"]) not in by_id:
            st.session_state.pop(BUREAU_KEY)  # a bureau no longer in scope (e.g. another account)
        st.selectbox("工作范围（监管局）", ids, index=ids.index(b["id"]), key=BUREAU_KEY,
                     format_func=lambda i: by_id[i]["name"],
                     help="市级账号可以查看和办理本局及所辖区县局的数据")
    else:
        st.markdown(f"**{b['name']}**" if b else "**尚未初始化局机构**")
    return b


def database_label() -> str:
    """The database URL without its password, for the sidebar."""
    return engine().url.render_as_string(hide_password=True)


def actor():
    """The logged-in user's Actor (ui/auth.py); services check its rights."""
    from scheduler.accounts.permissions import PermissionDenied
    from ui.auth import current_actor

    a = current_actor()
    if a is None:
        raise PermissionDenied("请先登录")
    return a
