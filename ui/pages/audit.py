"""审计日志: the tamper-evident trail — filter, verify the chain, print its head hash."""

import datetime as dt

import streamlit as st

from scheduler.audit import service as auditlog
from scheduler.library import browse
from ui import auth, state
from ui.widgets import Col, paged_table, search_box

st.title("审计日志")
st.caption("全程留痕、责任可追溯：每一项改变数据的操作都在同一事务中写入审计事件，事件之间以哈希相连，任何修改、删除或调换都可被发现。")
eng = state.engine()
state.actor()  # logged in
# The account as it is, not the bureau picked in the sidebar: a deployment-wide administrator or
# auditor reads every bureau's events; any other account those of the bureaus in its scope.
viewer = auth.account_actor()

c1, c2 = st.columns([3, 2])
with c1:
    if st.button("核验审计链", key="audit_verify"):
        rep = auditlog.verify(eng)
        if rep.ok:
            st.success(f"审计链完整：共 {rep.events} 条事件。")
        else:
            st.error(f"审计链被破坏：{rep.first_broken}")
with c2:
    head = auditlog.verify(eng).head if st.session_state.get("audit_show_head") else None
    st.checkbox("显示当前链头哈希（供会议记录）", key="audit_show_head")
if head:
    st.markdown("当前链头哈希（请抄录于会议记录，日后可用 `dsr audit verify --head 哈希` 核对）：")
    st.code(head, language=None)

if viewer is not None and viewer.bureau_id is not None:
    st.caption("下表只列出本局（市级账号：本局及所辖区县局）账号的操作；审计链的核验覆盖全部事件。")

a, o, k = st.columns(3)
with a:
    who = search_box("audit_actor", "用户名", label="操作人")
with o:
    obj = search_box("audit_object", "如 draw:12、plan:PG-2026-GS", label="操作对象")
with k:
    act = search_box("audit_action", "如 draw.execute、user.login_failed", label="操作类型")
d1, d2 = st.columns(2)
with d1:
    since = st.date_input("起始日期", value=None, key="audit_since")
with d2:
    until = st.date_input("截止日期", value=None, key="audit_until")

paged_table(
    "audit",
    lambda page, size: browse.browse_audit(eng, who=who, obj=obj, action=act, since=since, until=until,
                                           page=page, page_size=size, actor=viewer),
    [
        Col("id", "序号"),
        Col("at", "时间（北京时间）", lambda v: v.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")),
        Col("actor", "操作人"),
        Col("role", "角色"),
        Col("action", "操作类型"),
        Col("object", "操作对象"),
        Col("digest", "变更摘要", lambda v: v[:16] + "…"),
        Col("hash", "事件哈希", lambda v: v[:16] + "…"),
    ],
    filters=(who, obj, act, since, until),
)
