"""后续处置: open follow-ups with their next deadline; record a step (责令整改、立案、处罚、移送、
经营异常名录) with its document; close once the record is complete; certificates about to expire."""

import datetime as dt

import streamlit as st

from scheduler.errors import DsrError
from scheduler.results import followup_rules as fr
from scheduler.results import followup_service as fu
from scheduler.results import recusal_service as rec
from scheduler.results import service as rs
from ui import state
from ui.acting import acting_as
from ui.widgets import Col, fmt_date, need_bureau, table

st.title("后续处置")
eng = state.engine()
b = state.bureau()
need_bureau(b)
actor = acting_as("reviewer", "fu")
today = rs.local_today()
st.caption("发现问题的检查结果开启后续处置：责令整改并复查、立案查处或不予立案、移送、列入经营异常名录；"
           "所需记录齐全后方可办结（依据及时限见 docs/follow-up.md）。")
if msg := st.session_state.pop("fu_flash", None):
    st.success(msg)

board = fu.board(eng, b["id"], today, actor=actor)
k = st.columns(5)
k[0].metric("办理中", len(board["open"]))
k[1].metric("已逾期", len(board["overdue"]), delta="须立即办理" if board["overdue"] else None, delta_color="inverse")
k[2].metric("5日内到期", len(board["due_soon"]))
k[3].metric("复查进行中", board["rechecks_open"])
k[4].metric("列入经营异常名录", board["abnormal_listed"])

NEEDS = {"rectify": "责令整改及复查", "abnormal": "列入经营异常名录", "disposal": "立案、不予立案或移送"}
rows = [{**r, "needs_text": "、".join(NEEDS[n] for n in r["needs"]),
         "missing_text": "、".join(m["what"] for m in r["missing"]) or "记录已齐全，可办结",
         "flag": ("已逾期" if r["next_deadline"] and r["next_deadline"] < today else "")} for r in board["open"]]
if not rows:
    st.info("没有办理中的后续处置。")
    fid = None
else:
    table(rows, [Col("id", "编号"), Col("task_id", "任务编号"), Col("uscc", "统一社会信用代码"), Col("action", "处置方式"),
                 Col("needs_text", "须办理"), Col("missing_text", "尚缺"), Col("next_deadline", "最近期限", fmt_date),
                 Col("flag", "状态")], key="fu_table")
    by_id = {r["id"]: r for r in rows}
    fid = st.selectbox("办理后续处置", list(by_id), key="fu_pick",
                       format_func=lambda i: f"#{i} {by_id[i]['uscc']}（{by_id[i]['missing_text']}）")

if fid is not None:
    r = fu.record(eng, fid, actor=actor)
    if r["steps"]:
        st.markdown("**已登记的处置记录**")
        table(r["steps"], [Col("label", "步骤"), Col("doc_no", "文书编号"), Col("decided_on", "日期", fmt_date),
                           Col("due_on", "期限", fmt_date), Col("target", "接收部门"), Col("penalty", "处罚内容"),
                           Col("decision", "理由或决定"), Col("recheck_task_id", "复查任务")], key="fu_steps")
    kinds = [k_ for k_ in fr.STEP_LABELS if k_ != "abnormal_remove"] + ["abnormal_remove"]
    kind = st.selectbox("登记步骤", kinds, key="fu_kind", format_func=lambda v: fr.STEP_LABELS[v])
    c1, c2 = st.columns(2)
    doc_no = c1.text_input("文书编号", key="fu_doc").strip()
    decided = c2.date_input("决定或文书日期", value=today, max_value=today, key="fu_date")
    extra: dict = {}
    if kind == "rectify":
        extra["due_on"] = st.date_input("整改期限", value=today + dt.timedelta(days=15), key="fu_due")
    if kind == "transfer":
        extra["target"] = st.text_input("接收部门", key="fu_target").strip()
    if kind == "penalty":
        extra["penalty"] = st.text_input("处罚内容", key="fu_penalty").strip()
        extra["procedure"] = st.radio("适用程序", [fr.ORDINARY, fr.SUMMARY], key="fu_proc", horizontal=True)
    if kind in ("no_case", "abnormal_remove"):
        extra["decision"] = st.text_input("理由", key="fu_reason").strip()
    if kind == "abnormal_remove":
        extra["applied_on"] = st.date_input("市场主体申请日期", value=today, max_value=today, key="fu_applied")
    if st.button("登记", key="fu_record"):
        try:
            s_ = fu.record_step(eng, fid, kind, actor, doc_no=doc_no, decided_on=decided, **extra)
        except DsrError as e:
            st.error(str(e))
        else:
            more = f"，已生成复查任务 #{s_.recheck_task_id}" if s_.recheck_task_id else ""
            st.session_state["fu_flash"] = f"后续处置 #{fid}：已登记“{fr.STEP_LABELS[kind]}”{more}"
            st.rerun()
    outcome = st.text_input("处置结果（可留空，按记录自动生成）", key="fu_outcome").strip()
    if st.button("办结", key="fu_close", type="primary"):
        try:
            f = fu.close(eng, fid, actor, outcome)
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["fu_flash"] = f"后续处置 #{fid} 已办结：{f.outcome}"
            st.rerun()

st.subheader("执法证到期提醒")
warn = rec.certificate_warnings(eng, b["code"], today=today, actor=actor)
if not warn:
    st.caption("30 日内没有到期或已过期的执法证。")
else:
    table(warn, [Col("inspector_id", "人员编号"), Col("name", "姓名"), Col("department", "所属部门"),
                 Col("cert_no", "执法证号"), Col("cert_valid_until", "有效期至", fmt_date), Col("days_left", "剩余天数"),
                 Col("state", "状态")], key="fu_certs")
    st.caption("执法证过期次日起，该人员不再参与检查人员随机匹配。")
