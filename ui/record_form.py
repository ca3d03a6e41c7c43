"""Edit one record of 两库一单 below a listing: pick a row of the current page (or
add a new record), change its fields in a form, save through
scheduler.library.records (the importer's rules; the service checks the
permission, writes the change trail and the audit event). The record is the one of
the bureau the page works on (ui/state.py); the service checks that bureau is in
the account's scope (a city-level account edits its districts' records).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import streamlit as st

from scheduler.access.permissions import can
from scheduler.library import records
from scheduler.errors import DsrError
from ui import state
from ui.widgets import fmt_date

NEW = "__new__"


@dataclass(frozen=True)
class Field:
    """One form field: model field, Chinese label, and for a selectbox its (value, label) options."""

    name: str
    label: str
    options: Optional[Sequence[tuple[str, str]]] = None
    help: Optional[str] = None
    placeholder: Optional[str] = None
    area: bool = False  # a text area (long text)
    key: bool = False  # part of the record's key: fixed once the record exists
    show: Optional[Callable[[str], str]] = None  # stored text -> the text shown in the form


def _wkey(prefix: str, rec_key: str, name: str) -> str:
    h = hashlib.sha1(rec_key.encode()).hexdigest()[:10]
    return f"{prefix}_f_{h}_{name}"


def _widget(prefix: str, rec_key: str, f: Field, current: str, locked: bool) -> str:
    k = _wkey(prefix, rec_key, f.name)
    if f.options is not None:
        values = [v for v, _ in f.options]
        labels = dict(f.options)
        if current not in values:  # a stored value outside today's list stays visible (and is then refused)
            values = [current, *values]
        return st.selectbox(f.label, values, index=values.index(current), key=k, help=f.help, disabled=locked,
                            format_func=lambda v: labels.get(v, v or "（空）"))
    if f.area:
        return st.text_area(f.label, value=current, key=k, help=f.help, placeholder=f.placeholder, disabled=locked)
    return st.text_input(f.label, value=current, key=k, help=f.help, placeholder=f.placeholder, disabled=locked)


def _ktext(k: Any) -> str:
    return k if isinstance(k, str) else "/".join(k)


def _changes_text(kind: str, changes: dict) -> str:
    from scheduler.library.importing import HEADER_OF

    def show(v):
        return "" if v is None else ("是" if v is True else "否" if v is False else str(v))

    return "；".join(f"{HEADER_OF[kind].get(f, f)}：“{show(o)}”→“{show(n)}”" for f, (o, n) in changes.items())


def editor(
    kind: str,
    prefix: str,
    rows: Sequence[dict[str, Any]],
    key_of: Callable[[dict[str, Any]], Any],
    label_of: Callable[[dict[str, Any]], str],
    fields: Sequence[Field],
    defaults: Optional[dict[str, str]] = None,
) -> None:
    """The 编辑 section of a 两库一单 page (`rows`: the page shown above)."""
    name = records.RECORD_NAMES[kind]
    st.subheader(f"编辑{name}")
    if msg := st.session_state.pop(f"{prefix}_flash", None):
        st.success(msg)
    actor = state.actor()
    if not can(actor, records.ACTION):
        st.caption(f"只读：新增或修改{name}需要管理员或计划人员账号。")
        return
    eng = state.engine()
    bid = state.bureau_id()
    pairs = [(key_of(r), label_of(r)) for r in rows]
    keys = {_ktext(k): k for k, _ in pairs}
    labels = {_ktext(k): lab for k, lab in pairs}
    options = [NEW, *keys]
    pick = st.selectbox(
        f"选择要编辑的{name}（先在上方搜索，再从本页选择）", options, key=f"{prefix}_pick",
        format_func=lambda v: f"（新增{name}）" if v == NEW else labels.get(v, v),
    )
    creating = pick == NEW
    if creating:
        current = {f.name: (defaults or {}).get(f.name, "") for f in fields}
        rec_key = NEW
    else:
        rec = records.get_record(eng, kind, keys[pick], actor, bureau_id=bid)
        if rec is None:
            st.warning(f"{name} {pick} 已不存在（可能刚被修改或删除），请刷新。")
            return
        current = {f.name: (f.show(rec["_text"][f.name]) if f.show else rec["_text"][f.name]) for f in fields}
        rec_key = pick

    with st.form(f"{prefix}_form_{hashlib.sha1(rec_key.encode()).hexdigest()[:10]}"):
        cols = st.columns(2)
        values = {}
        for i, f in enumerate(fields):
            with cols[i % 2]:
                values[f.name] = _widget(prefix, rec_key, f, current[f.name], f.key and not creating)
        submitted = st.form_submit_button("新增" if creating else "保存修改", type="primary")
    if submitted:
        changes = {f.name: values[f.name] for f in fields if creating or values[f.name] != current[f.name]}
        try:
            if creating:
                key_fields = [f.name for f in fields if f.key]
                key = tuple(values[k] for k in key_fields)
                res = records.save(eng, kind, key[0] if len(key) == 1 else key, changes, actor, create=True,
                                   bureau_id=bid)
            else:
                if not changes:
                    st.info("没有修改任何内容。")
                    return
                res = records.save(eng, kind, keys[pick], changes, actor, bureau_id=bid)
        except DsrError as e:
            st.error(f"未保存：{e}")
        else:
            st.session_state[f"{prefix}_flash"] = res.summary()
            # The form starts again from the stored (normalised) values.
            for f in fields:
                st.session_state.pop(_wkey(prefix, rec_key, f.name), None)
            st.rerun()

    if not creating:
        hist = records.history(eng, kind, keys[pick], limit=20, actor=actor, bureau_id=bid)
        with st.expander(f"修改记录（{len(hist)}）"):
            if not hist:
                st.caption("尚无修改记录（导入时新增的记录，其后的每次修改都记录在此）。")
            for h in hist:
                src = "页面编辑" if h["source"] == records.SOURCE else f"导入 {h['source']}"
                st.markdown(f"- {fmt_date(h['at'])} {h['actor']}（{src}）：{_changes_text(kind, h['changes'])}")
