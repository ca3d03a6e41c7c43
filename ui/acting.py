"""以…身份操作: lets an administrator act as an inspector or as a department's reviewer.

Temporary: it makes the result pages usable (and testable) by the local
administrator before every role has its own account. Only administrators see
it; everyone else acts as themselves. Remove `acting_as` (and its calls in
ui/pages/results.py, review.py, publication.py) when it is no longer wanted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import streamlit as st

from scheduler.library import browse
from scheduler.access.context import Actor
from ui import state


def acting_as(kind: Literal["inspector", "reviewer"], key: str) -> Actor:
    """The logged-in actor; an administrator picks whom to act as (an inspector id, or a department)."""
    a = state.actor()
    if a.role != "admin":
        return a
    eng, bid = state.engine(), state.bureau_id()
    with st.expander("以…身份操作（仅管理员）", expanded=True):
        if kind == "inspector":
            rows = browse.browse_inspectors(eng, active=True, bureau_id=bid, page_size=browse.MAX_PAGE_SIZE, actor=a).rows
            label = {r["inspector_id"]: f"{r['inspector_id']} {r['name']}（{r['department_name']}）" for r in rows}
            pick = st.selectbox("以执法检查人员身份操作", [None, *label], key=f"{key}_as",
                                format_func=lambda v: "（请选择执法检查人员）" if v is None else label[v])
            return a if pick is None else Actor(pick, "inspector", bid)
        depts = dict(browse.departments(eng, bid, actor=a))
        pick = st.selectbox("以部门审核人员身份操作", [None, *depts], key=f"{key}_as",
                            format_func=lambda v: "（请选择部门）" if v is None else depts[v])
        return a if pick is None else replace(a, role="reviewer", bureau_id=bid, department_id=pick)
