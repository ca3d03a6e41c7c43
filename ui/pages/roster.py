"""执法检查人员名录库: browse the inspector roster by department; edit, add or deactivate one inspector;
the district plans that draw on the city roster for vertically managed departments, approved by the city."""

import streamlit as st

from scheduler.access.permissions import can
from scheduler.errors import DsrError
from scheduler.matching import vertical

from scheduler.library import browse
from scheduler.library import export_service as library_export
from ui import state
from ui.record_form import Field, editor
from ui.widgets import (
    export_buttons, Col, choice, fmt_active, fmt_date, fmt_list, need_bureau, paged_table, search_box, table,
)

st.title("执法检查人员名录库")
eng = state.engine()
b = state.bureau()
actor = state.actor()
need_bureau(b)
if msg := st.session_state.pop("roster_flash", None):
    st.success(msg)

q = search_box("roster_q", "姓名、人员编号、执法证号或执法资格")
dept_list = browse.departments(eng, b["id"], actor=actor)
f1, f2 = st.columns(2)
with f1:
    dept = choice("所属部门", dept_list, key="roster_dept")
with f2:
    active = choice("状态", [(True, "在岗"), (False, "停用")], key="roster_active")

page = paged_table(
    "roster",
    lambda page, size: browse.browse_inspectors(
        eng, q=q, department_id=dept, active=active, bureau_id=b["id"], page=page, page_size=size, actor=actor
    ),
    [
        Col("inspector_id", "人员编号"),
        Col("name", "姓名"),
        Col("department_name", "所属部门"),
        Col("cert_no", "执法证号"),
        Col("cert_valid_until", "执法证有效期至", fmt_date),
        Col("qualifications", "执法资格", fmt_list),
        Col("region", "负责区域"),
        Col("active", "状态", fmt_active),
    ],
    filters=(q, dept, active),
)
st.caption("执法证号为个人信息，仅限内部使用。")
export_buttons("inspectors", "本局全部执法检查人员",
               lambda fmt: library_export.export_bytes(eng, "inspectors", fmt, bureau_id=b["id"], actor=actor),
               "roster_export")

YES_NO = [("是", "是（在岗）"), ("否", "否（停用）")]
editor(
    "inspectors", "roster_edit", page.rows,
    key_of=lambda r: r["inspector_id"], label_of=lambda r: f"{r['inspector_id']} {r['name']}（{r['department_name']}）",
    fields=[
        Field("inspector_id", "人员编号", key=True, help="保存后不可修改"),
        Field("name", "姓名"),
        Field("department_id", "所属部门", options=[(n, n) for _, n in dept_list]),
        Field("cert_no", "执法证号", help="每个执法证号只能属于一名执法检查人员"),
        Field("cert_valid_until", "执法证有效期至", placeholder="YYYY-MM-DD", help="过期次日起不再参加随机匹配"),
        Field("qualifications", "资格标签", placeholder="多个用分号分隔，如 食品;特种设备"),
        Field("region", "所属区域"),
        Field("active", "在岗", options=YES_NO, help="停用的人员保留记录，不再参加随机匹配"),
    ],
    defaults={"department_id": dept_list[0][1] if dept_list else "", "active": "是"},
)


uses = vertical.roster_uses(eng, actor) if can(actor, "roster.view") else []
if uses:
    st.markdown("#### 垂直管理部门使用市级名录库")
    st.caption("实行垂直管理的部门（如税务、海关）由市级部门负责执法检查人员名录库的管理：区级计划中这些部门的"
               "检查人员从市级名录库随机匹配，须经市级局审批后方可抽取。")
    table(uses, [Col("plan", "计划编号"), Col("name", "计划名称"), Col("department_name", "部门"), Col("state", "状态"),
                 Col("approved_by", "审批人"), Col("approved_at", "审批时间", fmt_date)], key="roster_uses")
    pending = sorted({u["plan"] for u in uses if u["state"] == "待审批"})
    if pending and can(actor, "roster.approve"):
        pick = st.selectbox("待审批的计划", pending, key="roster_use_pick")
        note = st.text_input("审批意见", key="roster_use_note").strip()
        if st.button("同意使用市级名录库", key="roster_use_go"):
            try:
                codes = vertical.approve_roster_use(eng, pick, actor, note)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["roster_flash"] = f"已同意计划 {pick} 使用市级名录库（{'、'.join(codes)}）"
                st.rerun()
