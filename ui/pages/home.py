"""首页: the bureau and the size of its two rosters and one list."""

import streamlit as st

from scheduler.services import browse
from scheduler.services.library import library_counts
from ui import state
from ui.widgets import Col, table

st.title("双随机、一公开 抽查系统")
b = state.bureau()
st.subheader(b["name"] if b else "尚未初始化局机构")
if b is None:
    st.info("请先运行 `dsr init`（或生成演示数据），再到“数据导入”导入两库一单。")

counts = library_counts(state.engine())
st.markdown("#### 两库一单")
cols = st.columns(5)
for col, (k, label) in zip(
    cols,
    [
        ("enterprises", "检查对象"),
        ("inspectors", "执法检查人员"),
        ("experts", "专家"),
        ("items", "抽查事项"),
        ("conflicts", "回避申报"),
    ],
):
    col.metric(label, f"{counts.get(k, 0):,}")

st.markdown("#### 抽查工作")
cols = st.columns(5)
for col, (k, label) in zip(cols, [("plans", "抽查计划"), ("draws", "抽取"), ("tasks", "抽查任务")]):
    col.metric(label, f"{counts.get(k, 0):,}")

if b is not None:
    st.markdown("#### 联席会议成员单位")
    depts = browse.browse_departments(state.engine(), bureau_id=b["id"], page_size=browse.MAX_PAGE_SIZE)
    table(
        depts.rows,
        [
            Col("code", "部门代码"),
            Col("name", "部门名称"),
            Col("inspectors", "执法检查人员"),
            Col("active_inspectors", "在岗人员"),
            Col("items", "抽查事项"),
        ],
        key="home_departments",
    )
