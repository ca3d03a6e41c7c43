"""更正公示结果: find a published result, correct its categories with a written reason, see its history.

谁公开、谁更正: a department's reviewer or planner corrects its own items'
results, an administrator any; scheduler.results.service.correct checks it.
Old and new results and the reason stay on record and in the public history.
"""

import streamlit as st

from scheduler.library import browse
from scheduler.results import corrections
from scheduler.results import service as rs
from scheduler.errors import DsrError
from ui import state
from ui.widgets import Col, choice, fmt_date, need_bureau, paged_table, search_box

st.title("更正公示结果")
eng = state.engine()
need_bureau(state.bureau())
actor = state.actor()
if actor.role not in ("admin", "reviewer", "planner", "auditor"):
    st.info("本页供各部门审核、计划人员和管理员更正本部门已公示的检查结果。")
    st.stop()
st.caption("已公示的检查结果如有错误，由检查事项所属部门更正（谁公开、谁更正）；更正必须说明理由，"
           "更正前后的结果和更正理由一并向社会公示，原结果不删除。")

if msg := st.session_state.pop("corr_flash", None):
    st.success(msg)

depts = browse.departments(eng, state.bureau_id())
q = search_box("corr_q", "统一社会信用代码或企业名称")
if actor.role in ("reviewer", "planner"):
    dept = actor.department_id
    st.caption(f"部门：{dict(depts).get(dept, '（账号未指定部门）')}")
else:
    dept = choice("检查事项所属部门", depts, key="corr_dept")

page = paged_table(
    "corr",
    lambda p, size: corrections.published(eng, q=q, department_id=dept, page=p, page_size=size,
                                          actor=actor),
    [
        Col("result_id", "结果编号"), Col("task_id", "任务编号"), Col("uscc", "统一社会信用代码"),
        Col("name", "企业名称"), Col("item_name", "检查事项"), Col("department", "检查实施机关"),
        Col("category_names", "检查结果", lambda v: "、".join(v or [])),
        Col("published_on", "首次公示日期", fmt_date),
    ],
    filters=(q, dept),
    empty="没有符合条件的已公示检查结果。",
)
if not page.rows:
    st.stop()

by_id = {r["result_id"]: r for r in page.rows}
rid = st.selectbox("选择检查结果", list(by_id), key="corr_pick",
                   format_func=lambda i: f"#{i} {by_id[i]['name'] or by_id[i]['uscc']}：{by_id[i]['item_name']}"
                                         f"（{'、'.join(by_id[i]['category_names'])}）")
r = by_id[rid]
st.markdown(f"**{r['name'] or ''}**（{r['uscc']}）　**检查事项**：{r['item_name']}　**检查实施机关**：{r['department']}")
hist = corrections.history(eng, rid, actor)
st.markdown(f"**现公示结果**：{'、'.join(r['category_names'])}　**首次公示**：{fmt_date(r['published_on'])}　"
            f"**公示版本**：第 {len(hist) + 1} 版")
st.markdown("**更正记录**")
if hist:
    st.dataframe(
        [{"公示版本": k, "更正时间": fmt_date(h["corrected_at"]), "更正人员": h["corrected_by"],
          "原结果": "、".join(h["old"]), "更正后结果": "、".join(h["new"]), "更正理由": h["reason"]}
         for k, h in enumerate(hist, start=2)],
        hide_index=True, width="stretch", key="corr_history",
    )
else:
    st.caption("该结果尚未更正过。")
public = next((p for p in rs.public_history(eng, r["task_id"]) if p["检查事项"] == r["item_name"]), None)
if public:
    with st.expander("社会公众看到的历次公示"):
        st.dataframe(public["历次公示"], hide_index=True, width="stretch", key="corr_public")

if actor.role == "auditor":
    st.caption("审计人员只能查看更正记录。")
    st.stop()

cats = rs.list_categories(eng)
cat_names = {c.code: c.name for c in cats}
current = [c for c in r["categories"].split(";") if c in cat_names]
with st.form(f"corr_form_{rid}"):
    st.markdown("**更正**")
    new = st.multiselect("更正后的检查结果", list(cat_names), placeholder="请选择", default=current, format_func=cat_names.get,
                         key=f"corr_cats_{rid}")
    reason = st.text_area("更正理由（必填，将向社会公示）", key=f"corr_reason_{rid}",
                          placeholder="如：录入时误选类别，经复核现场检查记录，应为“未发现问题”")
    confirm = st.checkbox("我已核对：更正后的结果和更正理由将向社会公示，原结果保留在公示历史中", key=f"corr_confirm_{rid}")
    go = st.form_submit_button("更正", type="primary")
if go:
    if not (reason or "").strip():
        st.error("请填写更正理由：更正已公示的结果必须说明理由")
    elif not confirm:
        st.error("请勾选确认后再更正")
    else:
        try:
            rs.correct(eng, rid, new, reason, actor)
        except DsrError as e:
            st.error(f"未更正：{e}")
        else:
            st.session_state["corr_flash"] = (f"检查结果 #{rid} 已更正为“{'、'.join(cat_names.get(x, x) for x in new)}”"
                                              f"（第 {len(hist) + 2} 版），更正理由已公示")
            for k in (f"corr_reason_{rid}", f"corr_confirm_{rid}", f"corr_cats_{rid}"):
                st.session_state.pop(k, None)
            st.rerun()
