"""专家库: experts and testing institutions that may join a team."""

import streamlit as st

from scheduler.services import browse
from ui import state
from ui.widgets import Col, choice, fmt_expert_active, need_bureau, paged_table, search_box

st.title("专家库")
eng = state.engine()
b = state.bureau()
need_bureau(b)

q = search_box("experts_q", "姓名、编号、专业领域或所在单位")
f1, f2 = st.columns(2)
with f1:
    field = choice("专业领域", [(f, f) for f in browse.expert_fields(eng, b["id"])], key="experts_field")
with f2:
    active = choice("状态", [(True, "可用"), (False, "停用")], key="experts_active")

paged_table(
    "experts",
    lambda page, size: browse.browse_experts(
        eng, q=q, field=field, active=active, bureau_id=b["id"], page=page, page_size=size
    ),
    [
        Col("expert_id", "专家编号"),
        Col("name", "姓名／机构名称"),
        Col("field", "专业领域"),
        Col("organisation", "所在单位"),
        Col("active", "状态", fmt_expert_active),
    ],
    filters=(q, field, active),
)
st.caption("专家和检测机构协助检查，不计入至少两名执法检查人员。")
