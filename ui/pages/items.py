"""随机抽查事项清单: the item list with kind, scope, ratios and legal basis; edit or add one item."""

import streamlit as st

from db.models import split_list
from scheduler.library import browse
from scheduler.library import export_service as library_export
from ui import state
from scheduler.library.importing import METHODS
from ui.record_form import Field, editor
from ui.widgets import export_buttons, KIND_LABELS, Col, choice, fmt_kind, fmt_list, fmt_ratio, need_bureau, paged_table, search_box

st.title("随机抽查事项清单")
eng = state.engine()
b = state.bureau()
actor = state.actor()
need_bureau(b)

town_names = dict(browse.towns(eng, actor=actor))


def fmt_towns(v):
    return "、".join(town_names.get(c, c) for c in split_list(v))


q = search_box("items_q", "事项编码、抽查类别、抽查事项或检查依据")
dept_list = browse.departments(eng, b["id"], actor=actor)
f1, f2 = st.columns(2)
with f1:
    dept = choice("检查主体", dept_list, key="items_dept")
with f2:
    kind = choice("事项类别", list(KIND_LABELS.items()), key="items_kind",
                  help="重点检查事项不设抽查比例上限；一般检查事项的抽查比例有上限。")

page = paged_table(
    "items",
    lambda page, size: browse.browse_items(
        eng, q=q, department_id=dept, kind=kind, bureau_id=b["id"], page=page, page_size=size, actor=actor
    ),
    [
        Col("code", "事项编码"),
        Col("category", "抽查类别"),
        Col("name", "抽查事项"),
        Col("kind", "事项类别", fmt_kind),
        Col("method", "检查方式"),
        Col("department_name", "检查主体"),
        Col("legal_basis", "检查依据"),
        Col("scope_entity_types", "检查对象（主体类型）", fmt_list),
        Col("scope_industries", "检查对象（行业代码）", fmt_list),
        Col("scope_tags", "检查对象（许可标签）", fmt_list),
        Col("scope_towns", "检查对象（乡镇街道）", fmt_towns),
        Col("ratio_floor", "抽查比例下限", fmt_ratio),
        Col("ratio_cap", "抽查比例上限", fmt_ratio),
        Col("required_qualifications", "所需执法资格", fmt_list),
        Col("expert_field", "专家领域"),
        Col("initiating_department", "发起部门"),
        Col("cooperating_departments", "配合部门", fmt_list),
    ],
    filters=(q, dept, kind),
)
st.caption("检查对象各项为空表示不限。")
export_buttons("items", "本局全部随机抽查事项",
               lambda fmt: library_export.export_bytes(eng, "items", fmt, bureau_id=b["id"], actor=actor),
               "items_export")


def towns_by_name(codes: str) -> str:
    return ";".join(town_names.get(c, c) for c in split_list(codes))


editor(
    "items", "items_edit", page.rows,
    key_of=lambda r: r["code"], label_of=lambda r: f"{r['code']} {r['name']}",
    fields=[
        Field("code", "事项编码", key=True, help="保存后不可修改"),
        Field("category", "抽查类别"),
        Field("name", "抽查事项"),
        Field("kind", "事项类别", options=[("key", "重点"), ("general", "一般")],
              help="重点检查事项不设抽查比例上限；一般检查事项必须填写抽查比例上限"),
        Field("method", "检查方式", placeholder="如 书面检查、实地核查",
              help="如 " + " / ".join(METHODS) + "，可填多个，用顿号分隔"),
        Field("department_id", "检查主体", options=[(n, n) for _, n in dept_list]),
        Field("legal_basis", "检查依据", area=True),
        Field("scope_entity_types", "检查对象（主体类型）", placeholder="如 企业;个体工商户，空表示不限"),
        Field("scope_industries", "检查对象（行业代码）", placeholder="GB/T 4754 代码前缀，如 F52;H62"),
        Field("scope_tags", "检查对象（许可标签）", placeholder="须全部具备，空表示不限"),
        Field("scope_towns", "检查对象（乡镇街道）", placeholder="乡镇街道名称，分号分隔", show=towns_by_name),
        Field("ratio_cap", "抽查比例上限", placeholder="如 5%", show=fmt_ratio),
        Field("ratio_floor", "抽查比例下限", placeholder="如 1%", show=fmt_ratio),
        Field("required_qualifications", "所需执法资格", placeholder="多个用分号分隔"),
        Field("expert_field", "专家领域"),
        Field("initiating_department", "发起部门", placeholder="联合抽查事项填写，部门名称"),
        Field("cooperating_departments", "配合部门", placeholder="部门名称，多个用分号分隔"),
    ],
    defaults={"kind": "general", "method": METHODS[0], "department_id": dept_list[0][1] if dept_list else ""},
)
