"""计划任务: each plan's schedule (editable), next run, last runs, missed runs,
claims waiting for a ceremony seed, notifications and the worker's heartbeat.

The app never runs a scheduler: it edits schedules and shows what the worker
(`dsr worker`) records; the worker re-reads schedules at its next sync."""

import pandas as pd
import streamlit as st

from scheduler.plans import schedules as S
from scheduler.draw import runs
from scheduler.errors import DsrError
from ui import state
from ui.formatting import beijing

st.title("计划任务")
st.caption(
    "定时抽取由服务器上的后台工作进程执行：到点后自动冻结名录、以系统种子抽取并匹配检查人员；"
    "须使用公开种子的计划到点后提醒计划人员组织公开摇号。同一计划同一期间只会抽取一次。"
)

eng = state.engine()
actor = state.actor()
bid = state.bureau_id()  # the bureau the page works on; the services check it is in the account's scope


def _describe(text):
    """A plan's schedule in words (每月第一个工作日 09:00), not in the stored syntax."""
    try:
        return S.parse(text).describe() + ("" if text else "（默认）")
    except DsrError:
        return text


def _t(v):
    return beijing(v, "%Y-%m-%d %H:%M:%S") if v is not None else ""


NOTICE_KINDS = {runs.WAITING_SEED: "待录入公开种子", runs.FAILED: "定时抽取失败", runs.MISSED: "错过的定时抽取",
                "seed_reminder": "公开种子提醒", "deadline_soon": "公示即将到期", "overdue": "公示已逾期"}


st.subheader("工作进程")
workers = runs.worker_status(eng)
if not workers:
    st.warning("尚无工作进程运行记录：请服务器管理员启动后台工作进程（见部署说明中的“运行工作进程”一节）。")
else:
    for hb in workers:
        line = f"{hb.worker_id}（{hb.host}，进程 {hb.pid}）— 最近心跳 {_t(hb.last_seen.astimezone(S.TZ))}"
        (st.success if hb.alive else st.error)(f"{hb.label}：{line}")

st.subheader("各计划的定时设置")
plans = runs.plan_schedules(eng, actor=actor, bureau_id=bid)
if not plans:
    st.info("尚无抽查计划。")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {"计划": p.code, "名称": p.name, "定时设置": _describe(p.schedule), "说明": p.description,
                 "下次运行": p.next_run or "", "公开种子": "是" if p.require_public_seed else "否", "问题": p.error}
                for p in plans
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    with st.form("schedule_form"):
        code = st.selectbox("计划", [p.code for p in plans], key="sched_plan")
        current = next(p.schedule for p in plans if p.code == code)
        try:  # shown in words; the keywords are accepted too
            sched = S.parse(current)
            current = sched.describe() if current and sched.needs_calendar else current
        except DsrError:
            pass
        text = st.text_input(
            "定时设置",
            value=current,
            key="sched_text",
            help=f"留空 = {S.parse('').describe()}；也可写“每季度第一个工作日 09:00”、“每年第一个工作日 09:00”、"
            "“指定月份第一个工作日 3,6,9,11 09:00”，"
            "或 5 个定时字段（分钟 小时 日 月 星期，北京时间），如 0 9 1 * *",
        )
        if st.form_submit_button("保存定时设置"):
            errs = S.validate(text)
            if errs:
                for e in errs:
                    st.error(e)
            else:
                try:
                    runs.set_schedule(eng, code, text, actor)
                except DsrError as e:
                    st.error(f"未保存：{e}")
                else:
                    st.success(f"已保存计划 {code} 的定时设置；工作进程将在下次同步时生效。")
                    st.rerun()

cols = [("plan", "计划"), ("period", "期间"), ("scheduled_for", "计划时间"), ("worker", "工作进程"),
        ("outcome_label", "结果"), ("error", "说明"), ("draw_id", "抽取记录")]


def _runs_table(rows, key):
    df = pd.DataFrame([{label: (_t(r[k]) if k == "scheduled_for" else r[k]) for k, label in cols} for r in rows],
                      columns=[label for _, label in cols])
    st.dataframe(df, hide_index=True, width="stretch", key=key)


st.subheader("最近运行")
_runs_table(runs.recent_runs(eng, 50, actor=actor, bureau_id=bid), "sched_runs")

st.subheader("错过的运行")
missed = runs.missed_runs(eng, actor=actor, bureau_id=bid)
if missed:
    st.warning("以下定时抽取在工作进程停止期间错过，未自动补抽，请核实后手工抽取。")
    _runs_table(missed, "sched_missed")
else:
    st.caption("无。")

st.subheader("待录入公开种子")
waiting = runs.claims(eng, runs.WAITING_SEED, actor=actor, bureau_id=bid)
if waiting:
    st.dataframe(
        pd.DataFrame([{"计划": c["plan"], "期间": c["period"], "到点时间": _t(c["claimed_at"])} for c in waiting]),
        hide_index=True, width="stretch",
    )
    st.caption("请组织公开摇号，在“抽取”页面录入种子完成抽取。")
else:
    st.caption("无。")

st.subheader("通知")
notes = runs.list_notifications(eng, 100, actor=actor, bureau_id=bid)
if notes:
    st.dataframe(
        pd.DataFrame([{"时间": _t(runs._utc(n.created_at).astimezone(S.TZ)), "类型": NOTICE_KINDS.get(n.kind, n.kind), "内容": n.message,
                       "已读": "是" if n.read else "否"} for n in notes]),
        hide_index=True, width="stretch",
    )
    unread = [n.id for n in notes if not n.read]
    if unread and st.button(f"全部标为已读（{len(unread)}）", key="sched_mark_read"):
        runs.mark_read(eng, unread, actor)
        st.rerun()
else:
    st.caption("暂无通知。")
