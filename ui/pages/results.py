"""结果录入: an inspector's own tasks, and per check item the result categories, note and inspection date."""

import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.library import browse
from scheduler.results import service as rs
from scheduler.results import due
from scheduler.errors import DsrError
from ui import state
from ui.acting import acting_as
from ui.widgets import Col, choice, fmt_date, need_bureau, paged_table, table

st.title("结果录入")
eng = state.engine()
need_bureau(state.bureau())
actor = acting_as("inspector", "res")
if actor.role != "inspector":
    st.info("本页供执法检查人员录入本人所在检查组任务的检查结果（谁检查、谁录入）。")
    st.stop()

if msg := st.session_state.pop("res_flash", None):
    st.success(msg)

ROLE = {"leader": "组长", "member": "组员"}
KIND = {"random": "双随机抽查", **lc.CASE_KINDS}
WORK = ("assigned", "inspecting", "completed", "reviewed", "published", "cannot_inspect")


def _with_limits(page):
    """The page's tasks with their completion time limit and a flag when near or past it."""
    due.annotate(eng, page.rows)
    return page


def _items(v) -> str:
    return "；".join(f"{i['code']} {i['result_status']}" for i in v or [])


# Sent-back results first: they wait for this inspector.
mine = rs.inspector_tasks(eng, actor.name, page_size=browse.MAX_PAGE_SIZE, actor=actor).rows
returned = [t["id"] for t in mine if any(i["result_status"] == lc.RETURNED for i in t["items"])]
if returned:
    st.subheader("审核退回，待重新录入")
    back = []
    for tid in returned:
        for r in rs.task_results(eng, tid, actor=actor):
            if r["status"] == lc.RETURNED:
                back.append({"task_id": tid, **r})
    table(back, [Col("task_id", "任务编号"), Col("code", "事项编码"), Col("name", "检查事项"),
                 Col("reviewed_by", "审核人员"), Col("review_note", "退回理由"), Col("reviewed_at", "退回时间", fmt_date)],
          key="res_returned")

st.subheader("我的检查任务")
status = choice("任务状态", [(s, lc.TASK_LABELS[s]) for s in WORK], key="res_status")
page = paged_table(
    "res_tasks",
    lambda p, size: _with_limits(rs.inspector_tasks(eng, actor.name, status=status, page=p, page_size=size, actor=actor)),
    [
        Col("id", "任务编号"), Col("kind", "检查类型", lambda v: KIND.get(v, v)), Col("uscc", "统一社会信用代码"),
        Col("name", "企业名称"), Col("town_name", "所属乡镇街道"), Col("role", "本人角色", lambda v: ROLE.get(v, v)),
        Col("status_label", "任务状态"), Col("items", "检查事项（结果状态）", _items),
        Col("completed_on", "完成检查日期", fmt_date), Col("deadline", "公示期限", fmt_date),
        Col("limit_on", "完成时限", fmt_date), Col("limit_flag", "时限提醒"),
    ],
    filters=(actor.name, status),
    empty="没有符合条件的检查任务。",
)
if not page.rows:
    st.stop()

by_id = {t["id"]: t for t in page.rows}
default = next((i for i in returned if i in by_id), page.rows[0]["id"])
task_id = st.selectbox("打开任务", list(by_id), index=list(by_id).index(default), key="res_task",
                       format_func=lambda i: f"#{i} {by_id[i]['name'] or by_id[i]['uscc']}（{by_id[i]['status_label']}）")
task = by_id[task_id]
results = rs.task_results(eng, task_id, actor=actor)
st.markdown(f"**任务 #{task_id}**：{task['name'] or ''}（{task['uscc']}），{task['status_label']}")
if task["note"]:
    st.caption(f"备注：{task['note']}")
table(results, [
    Col("code", "事项编码"), Col("name", "检查事项"), Col("department", "检查实施机关"), Col("status", "结果状态"),
    Col("category_names", "检查结果", lambda v: "、".join(v or [])), Col("note", "备注"),
    Col("inspected_on", "检查日期", fmt_date), Col("review_note", "退回理由"),
], key="res_items")

open_items = [r for r in results if r["status"] in (lc.NOT_ENTERED, lc.PENDING, lc.RETURNED)]
if task["status"] not in lc.WORKING_STATES or not open_items:
    st.info("该任务没有可录入的检查事项（已审核或已公示的结果不能再修改；已公示结果的更正由本部门审核或计划人员办理）。")
    st.stop()

st.subheader("录入检查结果")
cats = rs.list_categories(eng)
clean = {c.name for c in cats if c.no_problem}
by_code = {r["code"]: r for r in open_items}
code = st.selectbox("检查事项", list(by_code), key="res_item",
                    format_func=lambda c: f"{c} {by_code[c]['name']}（{by_code[c]['status']}）")
cur = by_code[code]
chosen = st.multiselect("检查结果（可多选；“未发现问题”不能与发现问题的类别同时选择）", placeholder="请选择", options=[c.name for c in cats],
                        default=[n for n in cur["category_names"] if n in {c.name for c in cats}], key=f"res_cats_{task_id}_{code}")
note = st.text_area("备注", value=cur["note"] or "", key=f"res_note_{task_id}_{code}")
today = rs.local_today()
day = st.date_input("检查日期", value=cur["inspected_on"] or today, max_value=today, key=f"res_day_{task_id}_{code}")
others = [n for n in chosen if n not in clean]
if clean & set(chosen) and others:
    st.error(f"“未发现问题”不能与 {'、'.join(others)} 同时选择")
elif st.button("保存检查结果", type="primary", disabled=not chosen, key="res_save"):
    try:
        r = rs.enter_result(eng, task_id, code, chosen, actor, note=note, inspected_on=day)
    except DsrError as e:
        st.error(str(e))
    else:
        st.session_state["res_flash"] = f"任务 #{task_id} 事项 {code} 的检查结果已保存，状态：{r.status}"
        st.rerun()

if task["status"] in ("assigned", "inspecting") and not any(r["status"] != lc.NOT_ENTERED for r in results):
    with st.expander("其他操作"):
        if task["status"] == "assigned" and st.button("开始检查", key="res_start"):
            try:
                rs.start_inspection(eng, task_id, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["res_flash"] = f"任务 #{task_id} 已开始检查"
                st.rerun()
        reason = st.text_input("无法检查的原因", key="res_cannot_reason", placeholder="如：经营场所已搬离，无法取得联系").strip()
        if st.button("标记无法检查", disabled=not reason, key="res_cannot"):
            try:
                rs.declare_cannot_inspect(eng, task_id, reason, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["res_flash"] = f"任务 #{task_id} 已标记为无法检查"
                st.rerun()
