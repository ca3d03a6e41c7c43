"""Shared widgets: filter selectors, the pager, and tables with Chinese headers.

A listing page builds its filters, then calls `paged_table` with a fetch
function of (page, page_size) that goes to a browse service; only that page
ever reaches the browser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Hashable, Optional, Sequence

import pandas as pd
import streamlit as st

from db.models import split_list
from scheduler import reference
from scheduler.services.browse import Page

PAGE_SIZES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
ALL = "全部"

KIND_LABELS = {"key": "重点", "general": "一般"}


# --- value formatters -------------------------------------------------------------------


def fmt_kind(v: Any) -> str:
    return KIND_LABELS.get(v or "", v or "")


def fmt_ratio(v: Any) -> str:
    """A stored decimal fraction ("0.05") as a percentage ("5%")."""
    if v is None or v == "":
        return ""
    try:
        pct = (Decimal(str(v)) * 100).normalize()
    except InvalidOperation:
        return str(v)
    return f"{pct:f}%"


def fmt_list(v: Any) -> str:
    return "、".join(split_list(v))


def fmt_active(v: Any) -> str:
    return "在岗" if v else "停用"


def fmt_expert_active(v: Any) -> str:
    return "可用" if v else "停用"


def fmt_risk(v: Any) -> str:
    name = reference.RISK_CLASS_NAMES.get(v or "")
    return f"{v}（{name}）" if name else (v or "")


def fmt_date(v: Any) -> str:
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone()
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


@dataclass(frozen=True)
class Col:
    """One displayed column: the row key, its Chinese header, an optional formatter."""

    key: str
    header: str
    fmt: Optional[Callable[[Any], Any]] = None


def to_frame(rows: Sequence[dict[str, Any]], columns: Sequence[Col]) -> pd.DataFrame:
    data = {c.header: [(c.fmt(r.get(c.key)) if c.fmt else r.get(c.key)) for r in rows] for c in columns}
    return pd.DataFrame(data, columns=[c.header for c in columns])


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Col], key: str | None = None) -> None:
    st.dataframe(to_frame(rows, columns), hide_index=True, width="stretch", key=key)


# --- filters ----------------------------------------------------------------------------------


def choice(label: str, options: Sequence[tuple[Hashable, str]], key: str, help: str | None = None) -> Any:
    """A selectbox whose first entry is 全部 (returns None); others return their value."""
    values: list[Any] = [None] + [v for v, _ in options]
    labels = {v: lab for v, lab in options}
    return st.selectbox(label, values, format_func=lambda v: ALL if v is None else labels.get(v, str(v)), key=key, help=help)


def search_box(key: str, placeholder: str, label: str = "搜索") -> str:
    return st.text_input(label, key=key, placeholder=placeholder).strip()


def need_bureau(bureau: Optional[dict[str, Any]]) -> bool:
    """Stop the page with a hint when no bureau exists yet; True if it does."""
    if bureau is None:
        st.info("尚未初始化局机构：请先运行 `dsr init`（或生成演示数据），再导入两库一单。")
        st.stop()
    return True


# --- pagination ---------------------------------------------------------------------------------


def paged_table(
    key: str,
    fetch: Callable[[int, int], Page],
    columns: Sequence[Col],
    filters: Hashable = (),
    empty: str = "没有符合条件的记录。",
) -> Page:
    """Fetch the current page (server side), then draw the pager and the table.

    The page number returns to 1 whenever the filters or the page size change.
    """
    page_key, size_key, sig_key = f"{key}_page", f"{key}_size", f"{key}_sig"
    size = st.session_state.get(size_key, DEFAULT_PAGE_SIZE)
    sig = (filters, size)
    if st.session_state.get(sig_key) != sig:
        st.session_state[sig_key] = sig
        st.session_state[page_key] = 1
    result = fetch(int(st.session_state.get(page_key, 1)), int(size))
    # The service clamps a page past the end; keep the widget in step with it.
    st.session_state[page_key] = result.page

    c1, c2, c3 = st.columns([1, 1, 4], vertical_alignment="bottom")
    c1.number_input("页码", min_value=1, max_value=result.pages, step=1, key=page_key)
    c2.selectbox("每页条数", PAGE_SIZES, index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE), key=size_key)
    if result.total:
        c3.caption(
            f"共 {result.total:,} 条，第 {result.page}/{result.pages} 页"
            f"（第 {result.first_row:,}–{result.last_row:,} 条）"
        )
    else:
        c3.caption("共 0 条")
    if result.rows:
        table(result.rows, columns, key=f"{key}_table")
    else:
        st.info(empty)
    return result
