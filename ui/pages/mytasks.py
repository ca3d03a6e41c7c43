"""我的任务: an inspector's home — the entities they are to visit, with names and addresses, the
check items, the state of each task and its publication deadline. Nothing of the bureau's
dashboard (risk classes and statistics are not for inspectors)."""

import streamlit as st

from scheduler.accounts import service as users
from scheduler.library import browse
from scheduler.results import lifecycle as lc
from scheduler.results import service as rs
from ui import formatting as fmt
from ui import state
from ui.auth import SESSION_KEY
from ui.widgets import Col, fmt_date, table

st.title("我的任务")
eng = state.engine()
actor = state.actor()
account = users.get_user(eng, st.session_state.get(SESSION_KEY) or actor.name)
who = account.display_name if account and account.display_name else actor.name
st.caption(f"执法检查人员：{who}。录入检查结果请到“结果录入”页面。")

OPEN = ("assigned", "inspecting", "completed")
ROLE = {"leader": "组长", "member": "组员"}
KIND = {"random": "双随机抽查", **lc.CASE_KINDS}

rows = rs.inspector_tasks(eng, actor.name, page_size=browse.MAX_PAGE_SIZE, actor=actor).rows
todo = [r for r in rows if r["status"] in OPEN]
c = st.columns(3)
c[0].metric("待检查", fmt.number(sum(r["status"] in ("assigned", "inspecting") for r in todo)))
c[1].metric("待审核或公示", fmt.number(sum(r["status"] in ("completed", "reviewed") for r in rows)))
c[2].metric("已公示", fmt.number(sum(r["status"] == "published" for r in rows)))


def _items(v) -> str:
    return "；".join(f"{i['code']} {i['name']}" for i in v or [])


def _deadline(r) -> str:
    if r["deadline"] is not None:
        return fmt_date(r["deadline"])
    return "待录入下一年度工作日历" if r["completed_on"] is not None else "完成检查后计算"


st.subheader("待办的检查")
if not todo:
    st.info("当前没有待办的检查任务。")
else:
    table([{**r, "deadline_text": _deadline(r)} for r in todo], [
        Col("name", "企业名称", fmt.text), Col("address", "地址", fmt.text), Col("town_name", "所属乡镇街道", fmt.text),
        Col("items", "检查事项", _items), Col("kind", "检查类型", lambda v: KIND.get(v, v)),
        Col("role", "本人角色", lambda v: ROLE.get(v, v)), Col("status_label", "任务状态"),
        Col("deadline_text", "公示期限"), Col("uscc", "统一社会信用代码"),
    ], key="mytasks_todo")
