"""审核: a department's reviewer approves the entered results or sends them back with a reason."""

import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.library import browse
from scheduler.results import service as rs
from scheduler.errors import DsrError
from ui import state
from ui.acting import acting_as
from ui.widgets import Col, fmt_date, need_bureau, paged_table, person

st.title("审核")
eng = state.engine()
need_bureau(state.bureau())
actor = acting_as("reviewer", "rev")
if actor.role != "reviewer" or actor.department_id is None:
    st.info("本页供各部门审核人员审核本部门检查事项的结果（录入人不能审核自己录入的结果）。")
    st.stop()
dept_name = dict(browse.departments(eng, state.bureau_id())).get(actor.department_id, "")
st.caption(f"审核部门：{dept_name}；审核人员：{person(eng, actor.name)}")

if msg := st.session_state.pop("rev_flash", None):
    st.success(msg)

KIND = {"random": "双随机抽查", **lc.CASE_KINDS}


def _inspector(inspector_id: str) -> str:
    """People by name and 执法证号, not by roster id (results are entered under the roster id)."""
    hit = next((x for x in browse.browse_inspectors(eng, q=inspector_id, page_size=5, actor=actor).rows
                if x["inspector_id"] == inspector_id), None) if inspector_id else None
    return f"{hit['name']}（执法证号 {hit['cert_no']}）" if hit else person(eng, inspector_id)


page = paged_table(
    "rev_queue",
    lambda p, size: rs.review_queue(eng, actor.department_id, page=p, page_size=size, actor=actor),
    [
        Col("result_id", "结果编号"), Col("task_id", "任务编号"), Col("kind", "检查类型", lambda v: KIND.get(v, v)),
        Col("uscc", "统一社会信用代码"), Col("name", "企业名称"), Col("item_name", "检查事项"),
        Col("category_names", "检查结果", lambda v: "、".join(v or [])), Col("note", "备注"),
        Col("inspected_on", "检查日期", fmt_date), Col("entered_by", "录入人员", _inspector),
        Col("entered_at", "录入时间", fmt_date),
    ],
    filters=(actor.department_id,),
    empty="本部门没有待审核的检查结果。",
)
if not page.rows:
    st.stop()

by_id = {r["result_id"]: r for r in page.rows}
rid = st.selectbox("审核结果", list(by_id), key="rev_pick",
                   format_func=lambda i: f"#{i} 任务 #{by_id[i]['task_id']} {by_id[i]['name'] or by_id[i]['uscc']}：{by_id[i]['item_name']}")
r = by_id[rid]
st.markdown(f"**检查结果**：{'、'.join(r['category_names'])}　**检查日期**：{fmt_date(r['inspected_on'])}　"
            f"**录入人员**：{_inspector(r['entered_by'])}")
if r["note"]:
    st.markdown(f"**备注**：{r['note']}")

c1, c2 = st.columns(2)
with c1:
    if st.button("审核通过", type="primary", key="rev_approve"):
        try:
            rs.approve(eng, rid, actor)
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["rev_flash"] = f"结果 #{rid} 已审核通过，可在“公示管理”中公示"
            st.rerun()
with c2:
    reason = st.text_input("退回理由", key="rev_reason", placeholder="如：检查记录未附现场照片").strip()
    if st.button("退回", disabled=not reason, key="rev_back"):
        try:
            rs.send_back(eng, rid, reason, actor)
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["rev_flash"] = f"结果 #{rid} 已退回检查组：{reason}"
            st.session_state.pop("rev_reason", None)
            st.rerun()
