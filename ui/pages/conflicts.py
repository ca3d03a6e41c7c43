"""回避申报: declared conflicts of interest between inspectors and entities; declare or edit one."""

import streamlit as st

from scheduler.library import browse
from scheduler.library import export_service as library_export
from ui import state
from scheduler.library.importing import CONFLICT_REASONS, DECLARED_BY
from ui.record_form import Field, editor
from ui.widgets import export_buttons, Col, choice, fmt_date, need_bureau, paged_table, search_box

REASONS = ("亲属关系", "曾任职", "持股", "其他")

st.title("回避申报")
eng = state.engine()
b = state.bureau()
actor = state.actor()
need_bureau(b)

q = search_box("conflicts_q", "统一社会信用代码、企业名称、检查人员姓名或编号")
reason = choice("回避事由", [(r, r) for r in REASONS], key="conflicts_reason")

page = paged_table(
    "conflicts",
    lambda page, size: browse.browse_conflicts(
        eng, q=q, reason=reason, bureau_id=b["id"], page=page, page_size=size, actor=actor
    ),
    [
        Col("inspector_id", "人员编号"),
        Col("inspector_name", "检查人员"),
        Col("department_name", "所属部门"),
        Col("uscc", "统一社会信用代码"),
        Col("enterprise_name", "企业名称"),
        Col("reason", "回避事由"),
        Col("declared_by", "申报方式"),
        Col("note", "备注"),
        Col("declared_at", "申报时间", fmt_date),
    ],
    filters=(q, reason),
)
st.caption("回避申报为个人信息，仅限内部使用；随机匹配检查人员时自动回避。")
export_buttons("conflicts", "本局全部回避申报",
               lambda fmt: library_export.export_bytes(eng, "conflicts", fmt, bureau_id=b["id"], actor=actor),
               "conflicts_export")

editor(
    "conflicts", "conflicts_edit", page.rows,
    key_of=lambda r: (r["inspector_id"], r["uscc"]),
    label_of=lambda r: f"{r['inspector_id']} {r['inspector_name']} — {r['uscc']} {r['enterprise_name'] or ''}",
    fields=[
        Field("inspector_pk", "人员编号", key=True, help="执法检查人员的人员编号"),
        Field("uscc", "统一社会信用代码", key=True, help="18位"),
        Field("reason", "回避原因", options=[(r, r) for r in CONFLICT_REASONS]),
        Field("declared_by", "申报方式", options=[(d, d) for d in DECLARED_BY]),
        Field("note", "备注"),
    ],
    defaults={"reason": CONFLICT_REASONS[0], "declared_by": DECLARED_BY[0]},
)
