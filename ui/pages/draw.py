"""抽取 (摇号): the draw ceremony, step by step, for a meeting room with witnesses.

The state of the ceremony lives in the database (the live draw of plan +
period: none, frozen, drawn), not in the browser, so a reload or a second
screen shows the same step.
"""

import datetime as dt
import io
import json
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlmodel import Session

from scheduler.draw import fast as dsr1
from scheduler.library import browse
from scheduler.draw import service as draws
from scheduler.results import announcement
from scheduler.results import tasks as task_service
from scheduler.plans.service import list_plans
from scheduler.errors import DsrError
from scheduler.plans import schedules
from scheduler.results import service as rs
from ui import formatting as fmt
from ui import jobs, state
from ui.widgets import POLICY_LABELS, big_digest, matching_figures, fmt_date, fmt_ratio, fmt_stratum, need_bureau, short_hex

st.title("抽取（摇号）")
eng = state.engine()
b = state.bureau()
need_bureau(b)
town_names = dict(browse.towns(eng, b["id"]))


@st.cache_data(max_entries=8, show_spinner="正在生成核验包……")
def _package_zips(url: str, draw_id: int) -> tuple[bytes, bytes]:
    """(auditor zip, public zip) of a completed draw; a draw's package never changes."""
    out = []
    with tempfile.TemporaryDirectory(prefix="dsr-pkg-") as tmp:
        a, p = Path(tmp, "auditor"), Path(tmp, "public")
        a.mkdir()
        p.mkdir()
        draws.write_packages(state.engine(), draw_id, a, p)
        for d in (a, p):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(d.iterdir()):
                    z.write(f, f.name)
            out.append(buf.getvalue())
    return out[0], out[1]


def start_draw(plan_code: str, period: str, seed: str | None, witnesses: str):
    """Draw and match in a server thread; the draw itself is all-or-nothing and refused a second
    time for the plan and period (scheduler/draw/service.py), whichever tab or process asks."""
    eng, actor = state.engine(), state.actor()

    def work(job: jobs.Job) -> int:
        job.update(None, "正在抽取并匹配检查人员……")
        d = draws.execute(eng, plan_code, period, seed, actor)
        job.summary = f"抽取完成（抽取记录 #{d.id}）"
        if witnesses.strip():  # shown on the 抽取结果公告; the draw stands if this is refused
            try:
                announcement.record_witnesses(eng, d.id, witnesses.split("、"), actor)
            except DsrError as e:
                job.summary += f"；见证人未记录：{e.message}"
        return d.id

    return jobs.start(draw_key_of(plan_code, period), actor.name, f"抽取 {plan_code}（{period}）", "ui/pages/draw.py",
                      work, failed="抽取未完成")


def draw_key_of(plan_code: str, period: str) -> str:
    return f"draw:{b['code']}:{plan_code}:{period}"


plans = [p for p in list_plans(eng, bureau_id=b["id"], actor=state.actor()) if p["kind"] == "random"]


def _quarterly(plan: dict) -> bool:
    try:
        return schedules.parse(plan.get("schedule")).quarterly
    except DsrError:
        return False

def _this_period(plan: dict, periods: list[str]) -> str:
    """The latest of the plan's periods that has begun (today's when the plan draws this month, quarter or year)."""
    try:
        sch = schedules.parse(plan.get("schedule"))
    except DsrError:
        sch = schedules.parse("")
    now = schedules.period_of(sch, dt.datetime.combine(rs.local_today(), dt.time(12), tzinfo=schedules.TZ))
    begun = [p for p in periods if p <= now]
    return begun[-1] if begun else periods[0]

if not plans:
    st.info("尚无双随机抽查计划，请先在“抽查计划”页面新建。")
    st.stop()

c1, c2 = st.columns([3, 1])
plan_code = c1.selectbox("抽查计划", [p["code"] for p in plans], key="draw_plan",
                         format_func=lambda c: f"{c} {next(p['name'] for p in plans if p['code'] == c)}")
plan = next(p for p in plans if p["code"] == plan_code)
# Only the plan's own periods: those its schedule draws in its plan year (scheduler/plans/quota.py).
periods = plan.get("periods") or fmt.plan_periods(plan["code"], plan["name"], rs.local_today(), quarterly=_quarterly(plan))
this = _this_period(plan, periods)
period = c2.selectbox("抽查期间", periods, index=periods.index(this) if this in periods else 0, key="draw_period",
                      help="本计划年度内的抽查期间")
try:
    draws.validate_period(period)
except DsrError as e:
    st.error(str(e))
    st.stop()

st.caption(
    f"牵头部门：{plan['lead_department']}；参与部门：{'、'.join(plan['departments'])}；"
    f"事项 {len(plan['items'])} 项；批次 {plan['batches']}；检查组 {plan['team_size']} 人；"
    f"匹配策略：{POLICY_LABELS.get(plan['matching_policy'], plan['matching_policy'])}"
)

if plan.get("status") == "draft":
    st.warning(f"本计划第 {plan['version']} 版为草稿，尚未审批，不能抽取：须在“抽查计划”页面由创建人和最后修改人以外、"
               "有审批权限的人员审批。")

draw_key = draw_key_of(plan_code, period)
history = task_service.list_draws(eng, b["id"], plan_code=plan_code, period=period, actor=state.actor())
live = next((d for d in history if d["status"] != "voided"), None)
voided = [d for d in history if d["status"] == "voided"]
if voided:
    with st.expander(f"本期间已作废的抽取（{len(voided)} 次）"):
        st.dataframe(pd.DataFrame([{"抽取记录": f"#{d['id']}", "作废理由": d["void_reason"], "冻结时间": fmt_date(d["frozen_at"]),
                                    "抽取时间": fmt_date(d["drawn_at"])} for d in voided]), hide_index=True, width="stretch")
        st.caption("作废的抽取及其种子永久保留；重新抽取必须使用新的种子。")

if msg := st.session_state.pop("draw_flash", None):
    st.success(msg)

# --- 1 冻结名录 ------------------------------------------------------------------------------------------
st.subheader("第一步：冻结名录")
st.caption("先冻结名录并当众宣读其摘要，再产生随机种子：任何人事后都可核对名录未被改动。")
if live is None:
    if st.button("冻结名录", type="primary", key="draw_freeze"):
        try:
            with st.spinner("正在冻结名录……"):
                draws.freeze(eng, plan_code, period, state.actor())
        except DsrError as e:
            st.error(str(e))
        else:
            st.rerun()
    st.stop()

m1, m2, m3 = st.columns(3)
m1.metric("抽取记录", f"#{live['id']}")
m2.metric("名录规模", f"{live['frame_size']:,}")
m3.metric("冻结时间", fmt_date(live["frozen_at"]))
big_digest("名录摘要（SHA-256，请逐组宣读）", live["frame_sha256"])

if live["status"] == "drawn":
    st.warning(f"计划 {plan_code} 在 {period} 已完成抽取（抽取记录 #{live['id']}），不得重复抽取；"
               "如确需重抽，须先书面说明理由作废原抽取。")
    if st.button("再次抽取", key="draw_again", help="演示：系统会拒绝对同一计划、同一期间的第二次抽取"):
        try:
            draws.execute(eng, plan_code, period, None, state.actor())
        except DsrError as e:
            st.error(str(e))
else:
    # --- 2 种子 --------------------------------------------------------------------------------------------
    st.subheader("第二步：随机种子")
    st.caption(f"现场产生 {dsr1.SEED_MIN_DIGITS}–{dsr1.SEED_MAX_DIGITS} 位数字（如多人轮流掷骰子），由见证人核对后录入；"
               "种子按原样记录，开头的 0 也是种子的一部分。")
    use_system = st.checkbox("使用系统随机种子", key="draw_system",
                             help="由系统以密码学安全随机数生成 32 位种子，并在证书中注明来源为“系统”")
    seed: str | None = None
    seed_ok = use_system
    if not use_system:
        typed = st.text_input("现场随机种子", key="draw_seed", placeholder="如 31415926535897932384626433",
                              help="可按宣读习惯分组录入（空格、短横线），全角数字亦可；系统规范为连续的半角数字")
        seed = fmt.normalize_digits(typed)
        if seed:
            try:
                dsr1.validate_seed(seed)
                seed_ok = True
                st.markdown(f"种子（{len(seed)} 位）：`{' '.join(seed[i:i + 4] for i in range(0, len(seed), 4))}`")
                if seed != typed.strip():
                    # Normalised (spaces, full-width digits): read it back and confirm before it is used.
                    st.info(f"已将录入内容规范为 {len(seed)} 位数字：{seed}。请与见证人核对后确认。")
                    seed_ok = st.checkbox("已核对，种子与现场产生的数字一致", key="draw_seed_confirm")
            except DsrError as e:
                st.error(str(e))
        else:
            st.info("请录入现场随机种子，或勾选“使用系统随机种子”。")
        witnesses = st.text_input("见证人（用顿号分隔，如：区纪委监委派驻纪检组 张三、企业代表 李四）", key="draw_witnesses")
    if plan["require_public_seed"] and use_system:
        st.error("本计划要求使用现场公开产生的随机种子，不得使用系统种子")
        seed_ok = False

    # --- 3 抽取并匹配 -------------------------------------------------------------------------------------------
    st.subheader("第三步：抽取并匹配")
    # The draw runs in a server thread (ui/jobs.py): the page may be left and opened again, and a
    # second click or a second tab while it runs gets the running draw, not a second one.
    job = jobs.running(draw_key) or jobs.latest(state.actor().name, draw_key)
    busy = bool(job and job.running)
    if st.button("抽取并匹配", type="primary", disabled=not seed_ok or busy, key="draw_go"):
        job, started = start_draw(plan_code, period, None if use_system else seed,
                                  "" if use_system else witnesses)
        if not started:
            st.warning(f"本计划本期间的抽取正在进行（{job.title}），不得重复抽取：请等待其完成。")
    if job is not None and job.running:
        jobs.progress(job.id)
    elif job is not None and job.state == jobs.FAILED:
        jobs.outcome(job)
    st.stop()

# --- 4 结果 --------------------------------------------------------------------------------------------------
with Session(eng) as s:
    d = draws.get_draw(s, plan_code, period)
    cert = json.loads(d.certificate or "{}")
    seed_shown, seed_source, drawn_at = d.seed, d.seed_source, d.drawn_at

st.subheader("第四步：抽取结果")
if (job := jobs.latest(state.actor().name, draw_key)) is not None and job.state == jobs.DONE:
    jobs.outcome(job)  # the draw this account started from this page
m1, m2, m3, m4 = st.columns(4)
m1.metric("入选对象", f"{len(cert.get('selected', [])):,}")
m2.metric("备选对象", f"{len(cert.get('reserves', [])):,}")
m3.metric("种子来源", {"ceremony": "现场", "system": "系统"}.get(seed_source or "", seed_source or ""))
m4.metric("抽取时间", fmt_date(drawn_at))
st.markdown(f"随机种子：`{seed_shown}`")

selected = sorted(cert.get("selected", []), key=lambda x: x["rank"])
names = task_service.entity_names(eng, [x["entity_id"] for x in selected])
st.markdown("**入选对象**（按抽签号从小到大的顺序即抽取顺序）")
st.dataframe(
    pd.DataFrame(
        {
            "序号": [x["rank"] for x in selected],
            "批次": [x["batch"] for x in selected],
            "统一社会信用代码": [x["entity_id"] for x in selected],
            "企业名称": [names.get(x["entity_id"], {}).get("name", "（名录库中已无此对象）") for x in selected],
            "所属乡镇街道": [names.get(x["entity_id"], {}).get("town_name", "") for x in selected],
            "分层": [fmt_stratum(x["stratum"], town_names) for x in selected],
            "抽签号": [short_hex(x["ticket"], 16) for x in selected],
        }
    ),
    hide_index=True, width="stretch", key="draw_selected",
)

st.markdown("**各分层**")
st.dataframe(
    pd.DataFrame(
        {
            "分层": [fmt_stratum(x["stratum"], town_names) for x in cert.get("strata", [])],
            "名录规模": [x["size"] for x in cert.get("strata", [])],
            "抽查比例/数量": [fmt_ratio(x["ratio"]) if x.get("ratio") is not None else f"{x.get('count')} 户"
                          for x in cert.get("strata", [])],
            "抽取数 k": [x["k"] for x in cert.get("strata", [])],
            "入选分界抽签号": [short_hex(x.get("cutoff"), 16) for x in cert.get("strata", [])],
            "备选数": [x.get("reserves", 0) for x in cert.get("strata", [])],
        }
    ),
    hide_index=True, width="stretch", key="draw_strata",
)

matching = cert.get("matching") or {}
fair = matching.get("fairness") or {}
if fair:
    st.markdown("**检查人员匹配**")
    matching_figures(matching)
report = matching.get("shortfall_report") or []
if report:
    st.warning(f"有 {fair.get('tasks_short_staffed', len(report))} 个任务的检查组缺员，请补充人员或调整上限后在“任务与匹配”页面处理。")
    for entry in report:
        st.markdown(f"- {entry['summary']}")
        for adv in entry.get("advice", []):
            st.caption(f"　建议：{adv}")
elif fair:
    st.success("所有任务的检查组均已足额匹配。")

# --- 5 核验包 --------------------------------------------------------------------------------------------------
st.subheader("第五步：下载核验包")
st.caption("审计包含完整名录、风险分类与执法检查人员名录，供纪检监察、审计核验；公开包不含风险分类等内部信息，可向社会公开。"
           "两者都可在“核验”页面或用 dsr 命令行独立重算。")
try:
    auditor_zip, public_zip = _package_zips(state.database_label(), d.id)
except DsrError as e:
    st.error(str(e))
else:
    z1, z2 = st.columns(2)
    z1.download_button("下载审计核验包（ZIP）", auditor_zip, file_name=f"{plan_code}_{period}_审计核验包.zip",
                       mime="application/zip", key="draw_dl_auditor", on_click="ignore")
    z2.download_button("下载公开核验包（ZIP）", public_zip, file_name=f"{plan_code}_{period}_公开核验包.zip",
                       mime="application/zip", key="draw_dl_public", on_click="ignore")

# --- 作废 ----------------------------------------------------------------------------------------------------------
with st.expander("作废本次抽取"):
    st.caption("作废须书面说明理由；原抽取、种子和证书永久保留，重新抽取必须使用新的种子。")
    reason = st.text_area("作废理由", key="draw_void_reason", placeholder="如：名录导入有误，经局务会研究决定重新抽取").strip()
    confirm = st.checkbox(f"我确认作废计划 {plan_code} 在 {period} 的抽取（记录 #{d.id}）", key="draw_void_confirm")
    if st.button("作废", type="secondary", disabled=not (reason and confirm), key="draw_void"):
        try:
            draws.void(eng, plan_code, period, reason, state.actor())
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["draw_flash"] = f"已作废抽取记录 #{d.id}"
            for k in ("draw_void_reason", "draw_void_confirm"):
                st.session_state.pop(k, None)
            st.rerun()
