"""Per-process state of the app: the cached engine, and per session the bureau a page works on.

The bureau follows the logged-in account (scheduler/access/scope.py): a district
account works on its own bureau; a city-level account picks its own bureau or one of
its districts in the sidebar (`bureau_picker`); an account without a bureau (a
deployment-wide administrator or auditor) picks any bureau, by default DSR_BUREAU or
the first one. Without a login (the public page) it is `browse.default_bureau`.
The services check the scope again: the choice here only decides what a page shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import streamlit as st
from scheduler.access.context import Actor
from ui.auth import account_actor
from ui.database import database_label, engine  # noqa: F401  (state.engine(): the pages' one engine)


BUREAU_KEY = "dsr_bureau"


def bureau_choices() -> list[dict[str, Any]]:
    """The bureaus the logged-in account may work on ({id, code, name, level, parent_id}),
    its own first; [] without a login."""
    from scheduler.access.scope import bureau_choices as choices
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
    a = account_actor()
    if a is None:  # the public page
        return default_bureau(engine())
    from scheduler.access.scope import bureau_choices as choices

    return _pick(choices(engine(), a), a.bureau_id)


def bureau_id() -> Optional[int]:
    b = bureau()
    return b["id"] if b else None


def bureau_picker() -> Optional[dict[str, Any]]:
    """The sidebar's bureau: a choice when the account may work on several, else its name."""
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


def current_actor() -> Optional[Actor]:
    """The logged-in user's Actor, or None; an account without a bureau gets the page's bureau."""
    a = account_actor()
    if a is None or a.bureau_id is not None:
        return a
    # Accounts without a bureau (deployment-wide administrators and auditors) act for the
    # bureau picked in the sidebar, so their actions are recorded under it.
    return replace(a, bureau_id=bureau_id())


def actor() -> Actor:
    """The logged-in user's Actor (ui/auth.py); services check its rights."""
    from scheduler.access.permissions import PermissionDenied

    a = current_actor()
    if a is None:
        raise PermissionDenied("请先登录")
    return a
