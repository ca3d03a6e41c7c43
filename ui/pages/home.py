"""首页: the state of the bureau at a glance — this month's draws, deadlines, the year's figures,
then the size of the two rosters and one list. Every figure is aggregated in SQL by a service."""

import altair as alt
import pandas as pd
import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.library import browse
from scheduler.results import dashboard as hist
from scheduler.results import service as rs
from scheduler.plans import task_limits as tl
from scheduler.results import followup_service, recusal_service
from scheduler.visits import service as visit_service
from scheduler.library.service import library_counts
from scheduler.calendar.workdays import PUBLICATION_DAYS
from ui import home_data, jobs, state
from ui.formatting import industry
from ui.widgets import Col, calendar_notice, table
from scheduler.access.permissions import can
from ui.docking import state_counts

st.title("双随机、一公开 抽查系统")
b = state.bureau()
actor = state.actor()
st.subheader(b["name"] if b else "尚未初始化局机构")
if b is None:
    st.info("请先运行 `dsr init`（或生成演示数据），再到“数据导入”导入两库一单。")

eng = state.engine()
today = rs.local_today()
calendar_notice(eng, today)
jobs.panel(actor.name)  # 进行中的工作: imports, draws, exports this account left running
WHOLE_STEPS = alt.Axis(format="d", tickMinStep=1)  # counts of tasks: no 0.1 steps on a small axis
STATE_ORDER = ["drawn", "assigned", "inspecting", "completed", "reviewed", "published", "cannot_inspect"]


def pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


YEAR_TTL = 3600  # seconds: a bound on staleness should data change outside the services


@st.cache_data(ttl=YEAR_TTL, show_spinner=False, max_entries=64)
def annual_figures(db: str, bid: int, year: int, who: tuple, version: int, _actor):
    """Quotas and caps of the year, cached like `year_figures` (recomputed when the data changed)."""
    return hist.annual_quotas(eng, bid, year, _actor), hist.department_caps(eng, bid, year, _actor)


def annual_section(year: int) -> None:
    """Per plan and stratum the year's quota, drawn, checked and remaining; per department and general
    item the share of the registry checked this year against its cap (docs/plans.md)."""
    quotas, caps = annual_figures(state.database_label(), bid, year, tuple(vars(actor).values()),
                                  home_data.data_version(eng), actor)
    left, right = st.columns(2)
    with left:
        st.markdown("**年度抽查数量：按计划与分层**")
        if quotas:
            table(quotas, [Col("plan_code", "计划编号"), Col("stratum", "分层"), Col("quota", "年度抽查数量", num),
                           Col("drawn", "已抽取", num), Col("checked", "已检查", num), Col("remaining", "尚余", num)],
                  key="home_quotas")
        else:
            st.caption("本年度计划尚未抽取（年度抽查数量由本年度首次抽取的名录确定）。")
    with right:
        st.markdown("**一般检查事项年度比例上限：按部门**")
        if caps:
            table([{**r, "state": "超过上限" if r["over"] else "未超过"} for r in caps],
                  [Col("department", "部门"), Col("item", "检查事项"), Col("checked", "本年已检查", num),
                   Col("entities", "存续对象", num), Col("share", "已检查占比", pct), Col("cap", "比例上限", pct),
                   Col("state", "状态")], key="home_caps")
        else:
            st.caption("尚无设置比例上限的一般检查事项。")


def num(v) -> str:
    return f"{v:,}"


def bar(data: pd.DataFrame, x: str, y: str, *, pct_axis: bool = False, color: str | None = None, key: str = "") -> None:
    """A horizontal bar chart (long Chinese labels read better on the y axis)."""
    enc = {
        "y": alt.Y(f"{y}:N", sort=None, title=None),
        # Counts are whole numbers: no 0.1 steps on a small axis.
        "x": alt.X(f"{x}:Q", title=None, axis=alt.Axis(format="%") if pct_axis else alt.Axis(format="d", tickMinStep=1)),
        "tooltip": list(data.columns),
    }
    if color:
        # Beside the bars: the chart is sized whole, so a legend below would take the bars' height.
        enc["color"] = alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="right"))
        enc["yOffset"] = alt.YOffset(f"{color}:N")
    st.altair_chart(alt.Chart(data).mark_bar().encode(**enc).properties(height=max(120, 26 * len(data) + 40)),
                    width="stretch", key=key or None)




@st.cache_data(ttl=YEAR_TTL, show_spinner=False, max_entries=64)
def year_figures(db: str, bid: int, year: int, who: tuple, version: int, _actor):
    """The year's figures (aggregates over the whole registry and every task of the year: ~1 s on a
    1M registry, bench/bench_pages.py), per database, bureau and account, recomputed when the data
    changed: `version` is ui/home_data.data_version (the newest audit event that changed data)."""
    import datetime as dt

    # dashboard's visits_saved: within joint tasks (departments − 1); the visit figures: across plans
    # (tasks − visits) and the joint share.
    return (rs.dashboard(eng, bid, year, actor=_actor), visit_service.year_figures(eng, year, bid, actor=_actor),
            dt.datetime.now(rs.LOCAL_TZ))


month_rows: list[dict] = []
pub_rows: list[dict] = []
if b is not None:
    bid = b["id"]
    # --- this month ------------------------------------------------------------------------------------
    st.markdown(f"#### 本月工作（{today.year}年{today.month}月）")
    month_rows = hist.month_plans(eng, bid, today, actor=actor)
    dl = hist.deadline_overview(eng, bid, today, actor=actor)
    open_fus = len(rs.follow_ups(eng, status="open", bureau_id=bid, actor=actor))
    c = st.columns(6)
    c[0].metric("本月抽取", len(month_rows))
    c[1].metric("本月抽查任务", sum(r["tasks"] for r in month_rows))
    c[2].metric("本月已完成检查", sum(r["done"] for r in month_rows))
    c[3].metric("逾期未公示任务", dl["overdue"], delta="须立即公示" if dl["overdue"] else None, delta_color="inverse")
    c[4].metric("3个工作日内到期", dl["due_soon"], help=f"公示期限在 {dl['limit'].isoformat()} 之前（含）的待公示任务")
    c[5].metric("后续处置办理中", open_fus)
    limits = home_data.task_limits(bid, today, actor)  # cached per data version (ui/home_data.py)
    if limits[tl.OVERDUE] or limits[tl.DUE_SOON]:
        st.markdown("**检查完成时限**")
        lc1, lc2, _ = st.columns([1, 1, 4])
        lc1.metric("已超过完成时限", limits[tl.OVERDUE], help="抽查计划规定的完成时限已过、仍未完成检查的任务")
        lc2.metric(f"{tl.NEAR_WORKING_DAYS}个工作日内到期", limits[tl.DUE_SOON], help="临近完成时限、尚未完成检查的任务（明细见页末）")
    fub = followup_service.board(eng, bid, today, actor=actor)
    certs = recusal_service.certificate_warnings(eng, b["code"], today=today, actor=actor)
    if fub["overdue"] or fub["due_soon"] or certs:
        st.warning(f"后续处置已逾期 {len(fub['overdue'])} 件、5日内到期 {len(fub['due_soon'])} 件；"
                   f"执法证 30 日内到期或已过期 {len(certs)} 人（详见“后续处置”页）。", icon="⏰")
    if month_rows:
        long = pd.DataFrame([
            {"计划": f"{r['plan_code']}（{r['period']}）", "状态": lc.TASK_LABELS.get(s, s), "任务数": n}
            for r in month_rows for s in STATE_ORDER if (n := r["states"].get(s))
        ])
        if not long.empty:
            st.altair_chart(
                alt.Chart(long).mark_bar().encode(
                    y=alt.Y("计划:N", title=None), x=alt.X("任务数:Q", stack="zero", axis=WHOLE_STEPS),
                    color=alt.Color("状态:N", sort=[lc.TASK_LABELS[s] for s in STATE_ORDER],
                                    legend=alt.Legend(orient="right")),
                    tooltip=["计划", "状态", "任务数"],
                # The chart is sized whole: the height holds the bars and the axis; the legend sits beside.
                ).properties(height=40 * len(month_rows) + 80),
                width="stretch", key="home_month_chart",
            )
    else:
        st.caption("本月尚无抽取记录。")
    if dl["by_department"]:
        st.markdown("**待公示期限（按部门）**")
        d = pd.DataFrame([{"部门": k, "情况": lab, "任务数": v[f]} for k, v in dl["by_department"].items()
                          for f, lab in (("overdue", "已逾期"), ("due_soon", "3个工作日内到期")) if v[f]])
        if not d.empty:
            st.altair_chart(
                alt.Chart(d).mark_bar().encode(
                    y=alt.Y("部门:N", title=None), x=alt.X("任务数:Q", stack="zero", axis=WHOLE_STEPS),
                    color=alt.Color("情况:N", scale=alt.Scale(domain=["已逾期", "3个工作日内到期"], range=["#d62728", "#ff9f1c"]),
                                    legend=alt.Legend(orient="right")),
                    tooltip=["部门", "情况", "任务数"],
                ).properties(height=40 * d["部门"].nunique() + 80),
                width="stretch", key="home_deadline_chart",
            )

    # --- the year ----------------------------------------------------------------------------------------
    year = today.year
    dash, vis, as_of = year_figures(state.database_label(), bid, year, tuple(vars(actor).values()),
                                           home_data.data_version(eng), actor)
    js, saved = vis["joint"], dash["visits_saved"]
    st.markdown(f"#### {year} 年度双随机抽查")
    st.caption(f"年度统计在数据变更后重新计算（截至 {as_of:%H:%M:%S}）；本月工作和待公示期限为实时数据。")
    pubs = dash["publication"]
    n_res = sum(v["results"] for v in pubs.values())
    n_pub = sum(v["published"] for v in pubs.values())
    n_ok = sum(v["on_time"] for v in pubs.values())
    by_risk = dash["coverage"]["by_risk"]
    ents, insp = sum(v["entities"] for v in by_risk.values()), sum(v["inspected"] for v in by_risk.values())
    c = st.columns(7)
    c[0].metric("计划完成率", pct(dash["plan"]["completion_share"]),
                help=f"已完成检查 {dash['plan']['done']:,} / 抽查任务 {dash['plan']['tasks']:,}（无法检查 {dash['plan']['cannot_inspect']}）")
    c[1].metric("名录库已检查占比", pct(ents and insp / ents), help=f"本年已检查 {insp:,} 户 / 存续 {ents:,} 户")
    c[2].metric("联合抽查占比", pct(js["share"]),
                delta={"below": "低于目标", "within": "达到目标", "above": "高于目标"}.get(js["status"] or ""),
                # The status is a word, not a change: no arrow (an "↑" before 低于目标 reads as a rise).
                delta_color="normal" if js["status"] == "within" else "inverse", delta_arrow="off",
                help=f"多部门联合入户 {js['joint']:,} 次 / 入户检查 {js['visits']:,} 次（单个联合计划 {js['joint_one_plan']:,} 次，"
                     f"跨计划合并 {js['joint_merged']:,} 次）；省级目标 {js['target'][0]:.0%}–{js['target'][1]:.0%}")
    c[3].metric("联合抽查减少入户", f"{vis['saved']:,} 次",
                help=f"进一次门、查多项事：{vis['tasks']:,} 个抽查任务合并为 {vis['visits']:,} 次入户（详见“联合检查”页面）；"
                     f"另有部门联合抽查任务内减少 {saved['planned']:,} 次（按各部门分别入户计，已完成的任务 {saved['done']:,} 次）")
    c[4].metric("公示率", pct(n_res and n_pub / n_res), help=f"已公示 {n_pub:,} / 已录入 {n_res:,} 条检查结果")
    c[5].metric("按期公示率", pct(n_pub and n_ok / n_pub), help=f"{PUBLICATION_DAYS} 个工作日内公示的比例")
    c[6].metric("个案/专项检查", f"{dash['outside_draws']['case']} / {dash['outside_draws']['special']}",
                help="投诉举报个案检查和专项检查不计入双随机抽查统计")

    def cov(dim: str, fmt=lambda k: k) -> pd.DataFrame:
        return pd.DataFrame([{"分组": fmt(k) or "（未填）", "已检查占比": v["share"] or 0.0, "已检查": v["inspected"],
                              "存续对象": v["entities"]} for k, v in dash["coverage"][dim].items()])

    left, right = st.columns(2)
    with left:
        st.markdown("**名录库已检查占比：按信用风险分类**")
        bar(cov("by_risk", lambda k: f"{k} 类" if k else k), "已检查占比", "分组", pct_axis=True, key="home_cov_risk")
        st.markdown("**名录库已检查占比：按行业门类**")
        bar(cov("by_industry", industry), "已检查占比", "分组", pct_axis=True, key="home_cov_industry")
    with right:
        st.markdown("**名录库已检查占比：按乡镇街道**")
        bar(cov("by_town"), "已检查占比", "分组", pct_axis=True, key="home_cov_town")
    left, right = st.columns(2)
    with left:
        st.markdown("**各部门公示率与按期公示率**")
        pub_rows = [{"部门": k, "检查结果": v["results"], "已公示": v["published"], "按期公示": v["on_time"],
                     "公示率": v["publication_rate"], "按期公示率": v["on_time_rate"]} for k, v in pubs.items()]
        if pub_rows:
            long = pd.DataFrame([{"部门": r["部门"], "指标": m, "比例": r[m] or 0.0}
                                 for r in pub_rows for m in ("公示率", "按期公示率")])
            bar(long, "比例", "部门", pct_axis=True, color="指标", key="home_pub")
        else:
            st.caption("本年度尚无检查结果。")
        st.markdown("**联合检查减少入户：按月份（抽查期间）与牵头部门**")
        if vis["saved"]:
            bar(pd.DataFrame([{"抽查期间": r["period"], "部门": r["department"], "减少入户": r["saved"]}
                              for r in vis["rows"]]), "减少入户", "抽查期间", color="部门", key="home_visits_saved")
        else:
            st.caption("本年度尚无跨计划合并的入户（各计划的任务在同一协调周期内落到同一检查对象时合并）。")
    with right:
        st.markdown("**检查结果类别**")
        cats = pd.DataFrame([{"类别": k, "数量": v} for k, v in dash["categories"].items() if v])
        if not cats.empty:
            bar(cats, "数量", "类别", key="home_categories")
        else:
            st.caption("本年度尚无检查结果。")
    annual_section(year)

counts = library_counts(eng, b["id"], actor) if b is not None else library_counts(eng)
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

if b is not None and can(actor, "exchange.view"):
    st.markdown("#### 平台对接（检查结果归集）")
    state_counts(eng, actor, b)

st.markdown("#### 抽查工作")
cols = st.columns(5)
for col, (k, label) in zip(cols, [("plans", "抽查计划"), ("draws", "抽取"), ("tasks", "抽查任务")]):
    col.metric(label, f"{counts.get(k, 0):,}")

if b is not None:
    st.markdown("#### 联席会议成员单位")
    depts = browse.browse_departments(eng, bureau_id=b["id"], page_size=browse.MAX_PAGE_SIZE, actor=actor)
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
    with st.expander("明细：本月抽取与各部门公示情况"):
        table(month_rows, [
            Col("plan_code", "计划"), Col("plan_name", "计划名称"), Col("period", "抽查期间"), Col("tasks", "抽查任务"),
            Col("done", "已完成检查"), Col("short", "缺员待补足"),
        ], key="home_month_table")
        table(pub_rows, [
            Col("部门", "部门"), Col("检查结果", "检查结果"), Col("已公示", "已公示"), Col("按期公示", "按期公示"),
            Col("公示率", "公示率", pct), Col("按期公示率", "按期公示率", pct),
        ], key="home_pub_table")
    if limits["tasks"]:
        with st.expander("明细：临近或超过完成时限的任务（最紧急的 50 项）"):
            table([{"task_id": t.task_id, "uscc": t.uscc, "plan": f"{t.plan_code}（{t.period}）",
                    "due_on": t.due_on.isoformat(), "flag": tl.FLAG_LABELS[t.flag]} for t in limits["tasks"]],
                  [Col("task_id", "任务编号"), Col("uscc", "统一社会信用代码"), Col("plan", "计划"),
                   Col("due_on", "完成时限"), Col("flag", "提醒")], key="home_task_limits")
