"""检查对象名录库: browse and search the registry, one page at a time; edit or add one entity."""

import streamlit as st

from scheduler.library import vocabulary
from scheduler.library import browse
from scheduler.library.bureaus import risk_classes
from sqlmodel import Session
from scheduler.library import export_service as library_export
from ui import state
from ui.record_form import Field, editor
from ui.widgets import export_buttons, Col, choice, fmt_date, fmt_list, fmt_risk, paged_table, search_box

st.title("检查对象名录库")
eng = state.engine()
b = state.bureau()
actor = state.actor()
bid = b["id"] if b else None
with Session(eng) as s:
    classes = risk_classes(s)

q = search_box("registry_q", "统一社会信用代码、企业名称或住所")
f1, f2, f3, f4, f5 = st.columns(5)
town_list = browse.towns(eng, bid, actor=actor)
with f1:
    town = choice("所属乡镇街道", town_list, key="registry_town")
with f2:
    etype = choice("主体类型", [(t, t) for t in vocabulary.ENTITY_TYPES], key="registry_type")
with f3:
    status = choice("登记状态", [(t, t) for t in vocabulary.STATUSES], key="registry_status")
with f4:
    risk = choice("信用风险分类", [(c, fmt_risk(c)) for c in classes], key="registry_risk")
with f5:
    industry = st.text_input("行业代码（前缀）", key="registry_industry", placeholder="如 F52 或 C1391",
                             help="国民经济行业分类（GB/T 4754）代码的前几位").strip()

page = paged_table(
    "registry",
    lambda page, size: browse.browse_enterprises(
        eng, q=q, town_code=town, entity_type=etype, status=status, risk_class=risk,
        industry_prefix=industry, bureau_id=bid, page=page, page_size=size, actor=actor,
    ),
    [
        Col("uscc", "统一社会信用代码"),
        Col("name", "企业名称"),
        Col("entity_type", "主体类型"),
        Col("industry_code", "行业代码"),
        Col("town_name", "所属乡镇街道"),
        Col("address", "住所"),
        Col("registered_on", "成立日期", fmt_date),
        Col("status", "登记状态"),
        Col("risk_class", "信用风险分类", fmt_risk),
        Col("tags", "许可标签", fmt_list),
    ],
    filters=(q, town, etype, status, risk, industry),
)
st.caption("信用风险分类为内部信息，不向社会公开。")
export_buttons(
    "enterprises", "符合当前筛选条件的检查对象",
    lambda fmt: library_export.export_bytes(
        eng, "enterprises", fmt, bureau_id=bid, actor=actor,
        filters={"q": q, "town_code": town, "entity_type": etype, "status": status, "risk_class": risk,
                 "industry_prefix": industry}),
    "registry_export", total=page.total,
)

editor(
    "enterprises", "registry_edit", page.rows,
    key_of=lambda r: r["uscc"], label_of=lambda r: f"{r['uscc']} {r['name']}",
    fields=[
        Field("uscc", "统一社会信用代码", key=True, help="18位，GB 32100-2015；保存后不可修改"),
        Field("name", "企业名称"),
        Field("entity_type", "主体类型", options=[(t, t) for t in vocabulary.ENTITY_TYPES]),
        Field("industry_code", "行业代码", help="GB/T 4754 小类或中类，如 C1391、F5211"),
        Field("town_code", "所属乡镇街道", options=town_list),
        Field("address", "住所"),
        Field("registered_on", "成立日期", placeholder="YYYY-MM-DD"),
        Field("status", "登记状态", options=[(t, t) for t in vocabulary.STATUSES],
              help="停业、注销的检查对象改为相应状态即可，不删除记录"),
        Field("risk_class", "信用风险分类", options=[(c, fmt_risk(c)) for c in classes], help="内部信息，不公开"),
        Field("tags", "许可标签", placeholder="多个用分号分隔，如 食品经营许可;特种设备使用单位"),
    ],
    defaults={"entity_type": vocabulary.ENTITY_TYPES[0], "status": vocabulary.STATUSES[0],
              "town_code": town_list[0][0] if town_list else "", "risk_class": classes[0] if classes else ""},
)
