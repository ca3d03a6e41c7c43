"""The forced password change: an account whose password someone else set (the demo's generated
ones) changes it before it can open any page; the service (`accounts.change_password`) checks the
current password and the new one's length."""

from __future__ import annotations

import streamlit as st

from ui.auth import SESSION_KEY


def _engine():
    from ui.database import engine

    return engine()


def enforce() -> None:
    """Show the change form and stop the run while the logged-in account must change its password."""
    from scheduler.accounts import service as users

    name = st.session_state.get(SESSION_KEY)
    if not name or not users.must_change_password(_engine(), name):
        return
    st.title("修改初始密码")
    st.info(f"账号 {name} 的密码是他人设置的初始密码，请先修改为只有您知道的新密码（至少 {users.MIN_PASSWORD_LENGTH} 个字符）。")
    with st.form("change_password"):
        current = st.text_input("当前密码", type="password", key="pw_current")
        new = st.text_input("新密码", type="password", key="pw_new")
        again = st.text_input("再次输入新密码", type="password", key="pw_again")
        submitted = st.form_submit_button("修改密码")
    if submitted:
        if new != again:
            st.error("两次输入的新密码不一致")
        else:
            try:
                users.change_password(_engine(), name, current, new)
            except users.UserError as e:
                st.error(str(e))
            else:
                for k in ("pw_current", "pw_new", "pw_again"):
                    st.session_state.pop(k, None)
                st.rerun()
    st.stop()
