"""专家库: experts and testing institutions that may join a team; edit, add or deactivate one."""

import streamlit as st

from scheduler.library import browse
from scheduler.library import export_service as library_export
from ui import state
from ui.record_form import Field, editor
from ui.widgets import export_buttons, Col, choice, fmt_expert_active, need_bureau, paged_table, search_box

st.title("专家库")
eng = state.engine()
b = state.bureau()
actor = state.actor()
need_bureau(b)

q = search_box("experts_q", "姓名、编号、专业领域或所在单位")
f1, f2 = st.columns(2)
with f1:
    field = choice("专业领域", [(f, f) for f in browse.expert_fields(eng, b["id"], actor=actor)], key="experts_field")
with f2:
    active = choice("状态", [(True, "可用"), (False, "停用")], key="experts_active")

page = paged_table(
    "experts",
    lambda page, size: browse.browse_experts(
        eng, q=q, field=field, active=active, bureau_id=b["id"], page=page, page_size=size, actor=actor
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
export_buttons("experts", "本局全部专家",
               lambda fmt: library_export.export_bytes(eng, "experts", fmt, bureau_id=b["id"], actor=actor),
               "experts_export")

editor(
    "experts", "experts_edit", page.rows,
    key_of=lambda r: r["expert_id"], label_of=lambda r: f"{r['expert_id']} {r['name']}（{r['field']}）",
    fields=[
        Field("expert_id", "专家编号", key=True, help="保存后不可修改"),
        Field("name", "姓名／机构名称"),
        Field("field", "专业领域", help="与抽查事项的“专家领域”一致时才会被匹配"),
        Field("organisation", "所在单位"),
        Field("active", "在库", options=[("是", "是（可用）"), ("否", "否（停用）")]),
    ],
    defaults={"active": "是"},
)
