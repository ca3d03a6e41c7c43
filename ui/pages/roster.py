"""执法检查人员名录库: browse the inspector roster by department."""

import streamlit as st

from scheduler.services import browse
from ui import state
from ui.widgets import Col, choice, fmt_active, fmt_list, need_bureau, paged_table, search_box

st.title("执法检查人员名录库")
eng = state.engine()
b = state.bureau()
need_bureau(b)

q = search_box("roster_q", "姓名、人员编号、执法证号或执法资格")
f1, f2 = st.columns(2)
with f1:
    dept = choice("所属部门", browse.departments(eng, b["id"]), key="roster_dept")
with f2:
    active = choice("状态", [(True, "在岗"), (False, "停用")], key="roster_active")

paged_table(
    "roster",
    lambda page, size: browse.browse_inspectors(
        eng, q=q, department_id=dept, active=active, bureau_id=b["id"], page=page, page_size=size
    ),
    [
        Col("inspector_id", "人员编号"),
        Col("name", "姓名"),
        Col("department_name", "所属部门"),
        Col("cert_no", "执法证号"),
        Col("qualifications", "执法资格", fmt_list),
        Col("region", "负责区域"),
        Col("active", "状态", fmt_active),
    ],
    filters=(q, dept, active),
)
st.caption("执法证号为个人信息，仅限内部使用。")
