"""联合检查: one door, many checks between plans, for the coordinating department (联席会议办公室).

The planned visits per entity in a coordination window (paginated), the merges behind each
door (tasks, plans, departments, items, the team union with the plan each member comes
from), the entities still visited several times and why, and the figures: visits saved
per month and lead department, and the share of joint checks against the 40–60% target.
Every list and figure comes from scheduler/visits/service.py; its checks are the real ones.
"""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.visits import rules as rule
from scheduler.access.permissions import can
from scheduler.visits import service as vs
from scheduler.errors import DsrError
from ui import state
from ui.widgets import Col, fmt_date, need_bureau, paged_table, search_box, table

st.title("联合检查")
st.caption("进一次门、查多项事：同一协调周期内，不同计划（不同部门、不同层级）抽中同一检查对象的任务合并为一次入户检查，"
           "一个检查日期、一个检查组（各计划检查组的合集）；各计划的检查事项仍由各自部门录入、审核、公示（谁检查、谁录入、谁公开）。"
           "合并规则：最早完成的抽取所产生的任务为牵头任务，入户由其所属监管局负责、其组长带队；标记为“不可合并”的计划单独入户。")
eng = state.engine()
b = state.bureau()
need_bureau(b)
bid = b["id"]
actor = state.actor()

if msg := st.session_state.pop("visits_flash", None):
    st.success(msg)

setting = vs.get_window(eng)
st.markdown(f"**协调周期：{rule.WINDOWS[setting]}**")
if can(actor, "visits.settings"):
    with st.expander("设置协调周期"):
        new = st.radio("协调周期", list(rule.WINDOWS), index=list(rule.WINDOWS).index(setting),
                       format_func=lambda k: rule.WINDOWS[k], horizontal=True, key="visits_setting")
        st.caption("更改后，所有已抽取任务按新的协调周期重新合并（保留牵头任务未变的入户及其检查日期）。")
        if st.button("保存并重新合并", disabled=new == setting, key="visits_setting_go"):
            try:
                reports = vs.set_coordination_window(eng, new, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["visits_flash"] = (f"协调周期已改为{rule.WINDOWS[new]}，重新合并了 {len(reports)} 组协调周期")
                st.rerun()

wins = vs.windows(eng, bid, actor=actor)
if not wins:
    st.info("尚无联合检查入户计划：各计划完成抽取后，系统按协调周期自动合并同一检查对象的任务。")
    st.stop()
win = st.selectbox("协调周期", wins, key="visits_window")
summary = vs.window_summary(eng, win, bid, actor=actor)
c = st.columns(4)
c[0].metric("入户检查", f"{summary['visits']:,} 次")
c[1].metric("抽查任务", f"{summary['tasks']:,} 个")
c[2].metric("合并入户", f"{summary['merged']:,} 次", help="一次入户完成两个及以上计划的任务")
c[3].metric("减少入户", f"{summary['saved']:,} 次", help="抽查任务数 − 入户次数")


def fmt_names(v) -> str:
    return "、".join(v or [])


tab_plan, tab_merge, tab_sep, tab_fig = st.tabs(["入户计划", "合并明细", "多次入户", "统计"])

with tab_plan:
    f1, f2 = st.columns([1, 3], vertical_alignment="bottom")
    merged_only = f1.checkbox("只看合并入户", key="visits_merged")
    with f2:
        q = search_box("visits_q", "统一社会信用代码或企业名称")
    page = paged_table(
        "visits",
        lambda p, size: vs.visits_for(eng, win, bid, p, size, merged_only=merged_only, q=q, actor=actor),
        [
            Col("id", "入户编号"),
            Col("uscc", "统一社会信用代码"),
            Col("name", "企业名称"),
            Col("town_name", "所属乡镇街道"),
            Col("planned_on", "检查日期", lambda v: fmt_date(v) or "未定"),
            Col("lead_plan", "牵头计划"),
            Col("plans", "合并的计划", fmt_names),
            Col("departments", "参与部门", fmt_names),
            Col("items_by_plan", "检查事项（按计划）", vs.fmt_items),
            Col("team", "检查组（来源计划）", vs.fmt_team),
        ],
        filters=(win, merged_only, q),
        empty="没有符合条件的入户计划。",
    )

with tab_merge:
    default = next((r["id"] for r in page.rows if r["merged"]), page.rows[0]["id"] if page.rows else 1)
    visit_id = int(st.number_input("入户编号", min_value=1, step=1, value=default, key="visits_pick",
                                   help="见“入户计划”表第一列"))
    v = next((r for r in page.rows if r["id"] == visit_id), None) or vs.get_visit(eng, visit_id, bid, actor=actor)
    if v is None:
        st.info(f"入户 #{visit_id} 不存在或不在本局范围内。")
    else:
        st.markdown(f"**入户 #{v['id']}：{v['name'] or v['uscc']}（{v['uscc']}，{v['town_name'] or ''}），协调周期 {v['window']}，"
                    f"负责监管局：{v['bureau']}，检查日期：{fmt_date(v['planned_on']) or '未定'}**")
        st.markdown("**门后的任务**（按合并规则排序，第一行为牵头任务）")
        table([{**t, "status": lc.TASK_LABELS.get(t["status"], t["status"]),
                "items": "、".join(v["items_by_plan"].get(t["plan_code"], [])),
                "lead": "牵头" if i == 0 else ""} for i, t in enumerate(v["tasks"])],
              [Col("lead", ""), Col("task_id", "任务编号"), Col("plan_code", "计划"), Col("plan_name", "计划名称"),
               Col("period", "抽查期间"), Col("lead_department", "牵头部门"), Col("items", "检查事项"),
               Col("status", "任务状态"), Col("mergeable", "可合并", lambda x: "是" if x else "否（单独入户）")],
              key="visits_tasks")
        st.markdown("**检查组（各计划检查组的合集）**")
        table(v["team"], [Col("person_id", "编号"), Col("name", "姓名"),
                          Col("role", "角色", lambda r: vs.ROLE_LABELS.get(r, r)), Col("department", "部门/专业领域"),
                          Col("plans", "来源计划", fmt_names)], key="visits_team")
        if can(actor, "visits.schedule"):
            first, last = rule.window_months(v["window"])
            lo = dt.date.fromisoformat(first + "-01")
            y, m = map(int, last.split("-"))
            hi = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1))
            d1, d2 = st.columns([2, 1], vertical_alignment="bottom")
            day = d1.date_input("检查日期（整个入户一个日期）", value=v["planned_on"], min_value=lo, max_value=hi,
                                key=f"visits_day_{v['id']}", format="YYYY-MM-DD")
            if d2.button("保存检查日期", key="visits_day_go"):
                try:
                    vs.set_planned_date(eng, v["id"], day, actor)
                except DsrError as e:
                    st.error(str(e))
                else:
                    st.session_state["visits_flash"] = f"入户 #{v['id']} 的检查日期：{fmt_date(day) or '未定'}"
                    st.rerun()

with tab_sep:
    year = win[:4]
    spans = [year] + sorted({f"{year}-Q{q}" for q in range(1, 5)}) + ([win] if win != year else [])
    span = st.selectbox("统计范围", list(dict.fromkeys(spans)), key="visits_span",
                        help="范围内各协调周期的入户合并统计；跨协调周期的任务无法合并")
    rep = vs.separate_report(eng, span, bid, 1, 1, actor=actor)
    s1, s2, s3 = st.columns(3)
    s1.metric("仍被多次入户的对象", f"{rep.total:,} 户")
    s2.metric(rule.SEPARATE_REASONS["not_mergeable"], f"{rep.by_reason['not_mergeable']:,} 户")
    s3.metric(rule.SEPARATE_REASONS["different_windows"], f"{rep.by_reason['different_windows']:,} 户")
    paged_table(
        "visits_sep",
        lambda p, size: vs.separate_report(eng, span, bid, p, size, actor=actor).page,
        [Col("uscc", "统一社会信用代码"), Col("name", "企业名称"), Col("town_name", "所属乡镇街道"),
         Col("visits", "入户次数"), Col("reason_label", "原因"), Col("detail", "各协调周期的计划")],
        filters=(span,),
        empty="范围内没有被多次入户的检查对象。",
    )

with tab_fig:
    year_i = int(win[:4])
    fig = vs.year_figures(eng, year_i, bid, actor=actor)
    js = fig["joint"]
    lo_t, hi_t = js["target"]
    status = {"below": "低于目标", "within": "达到目标", "above": "高于目标区间"}.get(js["status"] or "", "—")
    c = st.columns(4)
    c[0].metric(f"{year_i} 年减少入户", f"{fig['saved']:,} 次", help=f"抽查任务 {fig['tasks']:,} 个，入户 {fig['visits']:,} 次")
    c[1].metric("联合检查占比", "—" if js["share"] is None else f"{js['share'] * 100:.1f}%",
                delta=status if js["share"] is not None else None,
                delta_color="normal" if js["status"] == "within" else "inverse",
                help=f"多部门联合入户 {js['joint']:,} 次 / 入户 {js['visits']:,} 次；省级目标 {lo_t:.0%}–{hi_t:.0%}")
    c[2].metric("其中：单个联合计划", f"{js['joint_one_plan']:,} 次")
    c[3].metric("其中：跨计划合并", f"{js['joint_merged']:,} 次")
    rows = fig["rows"]
    if rows:
        st.markdown("**减少入户：按月份（抽查期间）与牵头部门**")
        data = pd.DataFrame([{"抽查期间": r["period"], "部门": r["department"], "减少入户": r["saved"]} for r in rows])
        st.altair_chart(
            alt.Chart(data).mark_bar().encode(
                x=alt.X("抽查期间:N", title=None), y=alt.Y("减少入户:Q", stack="zero", title=None),
                color=alt.Color("部门:N", legend=alt.Legend(orient="right")), tooltip=list(data.columns),
            ).properties(height=260),
            width="stretch", key="visits_saved_chart",
        )
        table(rows, [Col("period", "抽查期间"), Col("bureau", "监管局"), Col("department", "牵头部门"),
                     Col("tasks", "抽查任务"), Col("visits", "牵头入户"), Col("saved", "减少入户"),
                     Col("joint", "联合入户")], key="visits_saved_table")
        st.caption("任务计入其计划的牵头部门和抽查期间，入户计入牵头任务的部门和期间；某部门的“减少入户”即其任务并入他人（或本部门另一任务）牵头的入户的次数。")
