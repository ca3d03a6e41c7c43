"""任务与匹配: the tasks of a draw with their teams, the matching figures, and replacements."""

import pandas as pd
import streamlit as st

from scheduler.library import browse
from scheduler.draw import service as draws
from scheduler.matching import service as teams
from scheduler.results import tasks as task_service
from scheduler.visits import service as visit_service
from scheduler.errors import DsrError
from ui import state
from ui.widgets import Col, choice, fmt_list, fmt_stratum, matching_figures, need_bureau, paged_table

st.title("任务与匹配")
eng = state.engine()
b = state.bureau()
need_bureau(b)
bid = b["id"]
actor = state.actor()
town_list = browse.towns(eng, bid, actor=actor)
town_names = dict(town_list)

all_draws = task_service.list_draws(eng, bid, include_voided=False, actor=actor)
if not all_draws:
    st.info("尚无抽取记录：请先在“抽取”页面完成抽取。")
    st.stop()
drawn = [d for d in all_draws if d["status"] == "drawn"]

if msg := st.session_state.pop("tasks_flash", None):
    st.success(msg)

c1, c2 = st.columns([3, 1])
by_draw = {d["id"]: d for d in drawn}
draw_id = c1.selectbox(
    "抽取记录", [None] + list(by_draw), key="tasks_draw",
    format_func=lambda i: "（按期间查看全部抽取）" if i is None else
    f"#{i} {by_draw[i]['plan_code']} {by_draw[i]['plan_name']}（{by_draw[i]['period']}）",
)
period = None
if draw_id is None:
    period = c2.selectbox("抽查期间", task_service.periods(eng, bid, actor=actor), key="tasks_period")

f1, f2, f3 = st.columns(3)
with f1:
    dept = choice("参与部门", browse.departments(eng, bid, actor=actor), key="tasks_dept", help="任务含有该部门的抽查事项")
with f2:
    town = choice("所属乡镇街道", town_list, key="tasks_town")
with f3:
    status = choice("任务状态", list(task_service.STATUS_LABELS.items()), key="tasks_status")

page = paged_table(
    "tasks",
    lambda p, size: task_service.list_tasks(eng, draw_id=draw_id, period=period, department_id=dept, town_code=town,
                                            status=status, page=p, page_size=size, bureau_id=bid,
                                            actor=actor),
    [
        Col("id", "任务编号"),
        Col("plan_code", "计划"),
        Col("rank", "序号", lambda v: "" if v is None else v),
        Col("batch", "批次", lambda v: "" if v is None else v),
        Col("uscc", "统一社会信用代码"),
        Col("name", "企业名称"),
        Col("town_name", "所属乡镇街道"),
        Col("stratum", "分层", lambda v: fmt_stratum(v, town_names)),
        Col("items", "抽查事项", lambda v: "、".join(v or [])),
        Col("leader", "组长"),
        Col("members", "组员"),
        Col("experts", "专家"),
        Col("status_label", "状态"),
        Col("note", "备注（缺员）", fmt_list),
    ],
    filters=(draw_id, period, dept, town, status),
    empty="没有符合条件的任务。",
)

# --- matching figures of the chosen draw -------------------------------------------------------------------
if draw_id is not None:
    m = task_service.draw_matching(eng, draw_id, actor=actor)
    fair = m.get("fairness") or {}
    if fair:
        st.subheader("匹配情况")
        matching_figures(m)
        report = m.get("shortfall_report") or []
        if report:
            st.markdown("**缺员报告**")
            st.dataframe(
                pd.DataFrame(
                    {
                        "类别": ["专家" if e["kind"] == "expert" else "执法检查人员" for e in report],
                        "说明": [e["summary"] for e in report],
                        "合格人数": [e["pool_size"] for e in report],
                        "缺员席位": [e["slots_short"] for e in report],
                        "缺员任务": [e["tasks_short"] for e in report],
                        "建议": ["；".join(e.get("advice", [])) for e in report],
                    }
                ),
                hide_index=True, width="stretch", key="tasks_shortfall",
            )
        else:
            st.success("所有任务的检查组均已足额匹配。")

# --- actions -------------------------------------------------------------------------------------------------------
st.subheader("调整")
default_id = page.rows[0]["id"] if page.rows else 1
task_id = int(st.number_input("任务编号", min_value=1, step=1, value=default_id, key="tasks_act_id",
                              help="见上表第一列"))
try:
    task = task_service.get_task(eng, task_id, actor=actor)
except DsrError as e:
    st.error(f"任务 #{task_id}：{e}")
    st.stop()
if task is None:
    st.info(f"任务 #{task_id} 不存在。")
    st.stop()
st.caption(f"任务 #{task['id']}：{task['name'] or task['uscc']}（{task['uscc']}），{task['plan_code']} {task['period']}，"
           f"状态：{task['status_label']}")
# 进一次门、查多项事: the visit this task belongs to, and the other plans' tasks behind the same door.
visit = visit_service.visit_of_task(eng, task_id, actor=actor)
if visit is not None:
    others = [t for t in visit["tasks"] if t["task_id"] != task_id]
    when = visit["planned_on"].isoformat() if visit["planned_on"] else "未定"
    if others:
        st.info(f"联合检查：入户 #{visit['id']}（协调周期 {visit['window']}，检查日期 {when}，牵头计划 {visit['lead_plan']}）"
                f"同一次入户还有：" + "；".join(f"任务 #{t['task_id']}（{t['plan_code']}，{t['lead_department']}）" for t in others)
                + "。详见“联合检查”页面。")
    else:
        st.caption(f"入户 #{visit['id']}（协调周期 {visit['window']}，检查日期 {when}）：同一协调周期内没有其他计划的任务。")

t1, t2 = st.tabs(["更换检查人员", "替换抽查对象"])
with t1:
    seats = task["team"]
    if not seats:
        st.info("该任务没有检查组成员。")
    else:
        person = st.selectbox(
            "无法到岗的人员", [s.person_id for s in seats], key="tasks_rep_person",
            format_func=lambda pid: next(f"{s.name}（{s.person_id}，{task_service.ROLE_LABELS.get(s.role, s.role)}，{s.department}）"
                                         for s in seats if s.person_id == pid),
        )
        reason = st.text_input("原因", key="tasks_rep_reason", placeholder="如：病假、出差、新申报回避").strip()
        st.caption("只重新匹配该席位，规则与抽取时相同，工作量按当前实际计算；更换及原因全程留痕。")
        if st.button("更换", disabled=not reason, key="tasks_rep_go"):
            try:
                row = teams.replace_inspector(eng, task_id, person, reason, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                new = next((s for s in task_service.task_team(eng, task_id, actor=actor) if s.slot == row.slot), None)
                st.session_state["tasks_flash"] = (f"任务 #{task_id}：{person} 已由 {new.name}（{new.person_id}）替换"
                                                   if new else f"任务 #{task_id}：{person} 已替换")
                st.session_state.pop("tasks_rep_reason", None)
                st.rerun()
with t2:
    st.caption("入选对象在检查前已注销、吊销或迁出时，由同一分层第一个未使用的备选对象递补，原对象记为“已被替换”；"
               "“无法联系”是检查结果，应录入并公示、列入经营异常名录，不予替换。")
    reason2 = st.text_input("原因及依据", key="tasks_sub_reason", placeholder="如：经核实已注销（注销登记文书编号）").strip()
    if st.button("用备选对象替换", disabled=not reason2, key="tasks_sub_go"):
        try:
            new_task = draws.replace_task(eng, task_id, reason2, actor)
        except DsrError as e:
            st.error(str(e))
        else:
            st.session_state["tasks_flash"] = f"任务 #{task_id} 已由备选对象 {new_task.uscc}（任务 #{new_task.id}）递补"
            st.session_state.pop("tasks_sub_reason", None)
            st.rerun()
