"""随机抽查事项清单: the item list with kind, scope, ratios and legal basis."""

import streamlit as st

from db.models import split_list
from scheduler.services import browse
from ui import state
from ui.widgets import KIND_LABELS, Col, choice, fmt_kind, fmt_list, fmt_ratio, need_bureau, paged_table, search_box

st.title("随机抽查事项清单")
eng = state.engine()
b = state.bureau()
need_bureau(b)

town_names = dict(browse.towns(eng))


def fmt_towns(v):
    return "、".join(town_names.get(c, c) for c in split_list(v))


q = search_box("items_q", "事项编码、抽查类别、抽查事项或检查依据")
f1, f2 = st.columns(2)
with f1:
    dept = choice("检查主体", browse.departments(eng, b["id"]), key="items_dept")
with f2:
    kind = choice("事项类别", list(KIND_LABELS.items()), key="items_kind",
                  help="重点检查事项不设抽查比例上限；一般检查事项的抽查比例有上限。")

paged_table(
    "items",
    lambda page, size: browse.browse_items(
        eng, q=q, department_id=dept, kind=kind, bureau_id=b["id"], page=page, page_size=size
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
