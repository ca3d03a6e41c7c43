"""公示管理: a department's reviewed results waiting for publication, by deadline; publish; follow-ups."""

import pandas as pd
import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.library import browse
from scheduler.results import followup_service
from scheduler.results import service as rs
from scheduler.results.dashboard import working_days_left
from scheduler.calendar import service as cal
from scheduler.calendar.workdays import PUBLICATION_DAYS
from scheduler.errors import DsrError
from ui import state
from ui.acting import acting_as
from ui import formatting as fmt
from ui.widgets import Col, fmt_date, need_bureau, table

NEXT_YEAR_MISSING = "待录入下一年度工作日历"

SOON = 3  # working days: due this soon is shown in orange
OVERDUE_BG, SOON_BG = "background-color: #f8d7da; color: #a4161a", "background-color: #ffe5b4; color: #8a4b00"

st.title("公示管理")
eng = state.engine()
need_bureau(state.bureau())
actor = acting_as("reviewer", "pub")
if actor.role not in ("reviewer", "planner") or actor.department_id is None:
    st.info("本页供各部门审核或计划人员公示本部门已审核的检查结果（谁检查、谁公开）；管理员请先选择部门。")
    st.stop()
dept_name = dict(browse.departments(eng, state.bureau_id())).get(actor.department_id, "")
today = rs.local_today()
st.caption(f"公示部门：{dept_name}；今天：{today.isoformat()}；检查结果应在完成检查之日起 {PUBLICATION_DAYS} 个工作日内公示。")

if msg := st.session_state.pop("pub_flash", None):
    st.success(msg)

KIND = {"random": "双随机抽查", **lc.CASE_KINDS}


def state_of(left, deadline) -> str:
    if left is None:
        # A deadline (or today's count to it) in a year whose holiday schedule is not entered yet.
        return NEXT_YEAR_MISSING if deadline is not None or next_year_missing else "期限未计算"
    if left < 0:
        return "已逾期"
    return "即将到期" if left <= SOON else "正常"


queue = rs.publication_queue(eng, actor.department_id, today, actor=actor)
next_year_missing = today.year + 1 not in cal.calendar(eng).years
for r in queue:
    r["wd_left"] = working_days_left(eng, today, r["deadline"])
    r["flag"] = state_of(r["wd_left"], r["deadline"])

st.subheader("待公示")
k1, k2, k3 = st.columns(3)
k1.metric("待公示任务", len(queue))
k2.metric("已逾期", sum(r["flag"] == "已逾期" for r in queue))
k3.metric(f"{SOON} 个工作日内到期", sum(r["flag"] == "即将到期" for r in queue))
if not queue:
    st.info("本部门没有已审核待公示的检查结果。")
else:
    df = pd.DataFrame({
        "任务编号": [r["task_id"] for r in queue],
        "检查类型": [KIND.get(r["kind"], r["kind"]) for r in queue],
        "统一社会信用代码": [r["uscc"] for r in queue],
        "企业名称": [r["name"] or "" for r in queue],
        "结果数": [r["results"] for r in queue],
        "完成检查日期": [fmt_date(r["completed_on"]) for r in queue],
        "公示期限": [fmt_date(r["deadline"]) for r in queue],
        "剩余工作日": [fmt.working_days_left(r["wd_left"]) if r["wd_left"] is not None else r["flag"] for r in queue],
        "状态": [r["flag"] for r in queue],
        "备注": [r["note"] or "" for r in queue],
    })

    def _colour(row: pd.Series) -> list[str]:
        bg = OVERDUE_BG if row["状态"] == "已逾期" else SOON_BG if row["状态"] == "即将到期" else ""
        return [bg] * len(row)

    st.dataframe(df.style.apply(_colour, axis=1), hide_index=True, width="stretch", key="pub_queue")
    by_id = {r["task_id"]: r for r in queue}
    tid = st.selectbox("公示任务", list(by_id), key="pub_pick",
                       format_func=lambda i: f"#{i} {by_id[i]['name'] or by_id[i]['uscc']}（{by_id[i]['flag']}，期限 {fmt_date(by_id[i]['deadline'])}）")
    if st.button("公示", type="primary", key="pub_go"):
        try:
            done = rs.publish(eng, tid, actor)
        except DsrError as e:
            st.error(str(e))
        else:
            late = by_id[tid]["flag"] == "已逾期"
            st.session_state["pub_flash"] = f"任务 #{tid} 的 {len(done)} 条检查结果已公示" + ("（已超过公示期限）" if late else "")
            st.rerun()

st.subheader("后续处置")
fus = rs.follow_ups(eng, department_id=actor.department_id, status="open", actor=actor)
if not fus:
    st.info("本部门没有办理中的后续处置。")
else:
    table(fus, [
        Col("id", "编号"), Col("task_id", "任务编号"), Col("uscc", "统一社会信用代码"), Col("name", "企业名称"),
        Col("item_name", "检查事项"), Col("action", "处置方式"), Col("opened_by", "开启人员"),
        Col("opened_at", "开启时间", fmt_date),
    ], key="pub_followups")
    fmap = {f["id"]: f for f in fus}
    fid = st.selectbox("办结后续处置", list(fmap), key="pub_fu_pick",
                       format_func=lambda i: f"#{i} {fmap[i]['name'] or fmap[i]['uscc']}：{fmap[i]['action']}")
    st.caption("责令整改、立案、处罚、移送、经营异常名录等处置记录在“后续处置”页登记；记录齐全后方可办结。")
    outcome = st.text_input("处置结果", key="pub_fu_outcome", placeholder="如：已按期整改完毕，复查合格").strip()
    if st.button("办结", disabled=not outcome, key="pub_fu_close"):
        try:
            followup_service.close(eng, fid, actor, outcome)
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["pub_flash"] = f"后续处置 #{fid} 已办结：{outcome}"
            st.session_state.pop("pub_fu_outcome", None)
            st.rerun()
