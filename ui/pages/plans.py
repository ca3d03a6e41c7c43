"""抽查计划: the plan list, and a form with a live rule check and a live frame preview."""

import datetime as dt

import pandas as pd
import streamlit as st
from sqlmodel import Session

from scheduler.plans import rules
from scheduler.library import browse
from scheduler.draw import frame_service as frames
from scheduler.library.bureaus import risk_classes
from scheduler.draw.service import validate_period
from scheduler.visits import service as visits_service
from scheduler.plans.service import PlanInput, check_input, list_plans, load_plan, save_plan, transient_plan
from scheduler.errors import DsrError
from scheduler.plans import lifecycle
from scheduler.plans import task_limits
from ui import plan_documents, state
from ui.form_problems import Slots, first_line, plan_field
from ui.widgets import (
    KIND_LABELS,
    POLICY_LABELS,
    STRATA_LABELS,
    fmt_ratio,
    fmt_risk,
    fmt_stratum,
    need_bureau,
    pct_to_ratio,
    ratio_to_pct,
)

st.title("抽查计划")
eng = state.engine()
b = state.bureau()
need_bureau(b)
bid = b["id"]
with Session(eng) as s:
    classes = risk_classes(s)


def _ratios_text(p: dict) -> str:
    parts = []
    for c in classes:
        if c in p["counts"]:
            parts.append(f"{c} {p['counts'][c]} 户")
        elif c in p["ratios"]:
            parts.append(f"{c} {fmt_ratio(p['ratios'][c])}")
    return "；".join(parts)


plans = list_plans(eng, bureau_id=bid, actor=state.actor())
st.subheader("计划列表")
if plans:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "计划编号": p["code"],
                    "计划名称": p["name"],
                    "版本": p["version"],
                    "状态": lifecycle.label(p["status"]),
                    "牵头部门": p["lead_department"],
                    "参与部门": "、".join(p["departments"]),
                    "联合抽查": "是" if p["joint"] else "否",
                    "事项数": len(p["items"]),
                    "各风险分类比例": _ratios_text(p),
                    "批次": p["batches"],
                    "已抽取期间": "、".join(d["period"] for d in p["draws"] if d["status"] == "drawn"),
                }
                for p in plans
            ]
        ),
        hide_index=True,
        width="stretch",
        key="plans_table",
    )
else:
    st.info("尚无抽查计划，请在下方新建。")
plan_documents.render(eng, plans, state.actor())

# --- the form ------------------------------------------------------------------------------------
st.subheader("新建或编辑计划")
items = browse.browse_items(eng, bureau_id=bid, page_size=browse.MAX_PAGE_SIZE).rows
item_by_code = {i["code"]: i for i in items}
dept_names = [n for _, n in browse.departments(eng, bid)]
town_list = browse.towns(eng, bid)
town_names = dict(town_list)


def _item_label(code: str) -> str:
    i = item_by_code.get(code)
    if i is None:
        return code
    kind = KIND_LABELS.get(i["kind"], i["kind"])
    extra = ""
    if i["kind"] == "general":
        bits = [f"上限 {fmt_ratio(i['ratio_cap'])}" if i["ratio_cap"] else "未设上限"]
        if i["ratio_floor"]:
            bits.append(f"下限 {fmt_ratio(i['ratio_floor'])}")
        extra = "，" + "，".join(bits)
    return f"{code} {i['name']}（{i['department_name']}·{kind}{extra}）"


def _fill(code: str | None) -> None:
    """Put a saved plan (or blank defaults) into the form's widgets."""
    ss = st.session_state
    if code is None:
        d = rules.DEFAULTS
        vals = dict(code="", name="", lead=dept_names[0] if dept_names else None, items=[], strata=d.strata_by,
                    batches=d.batches, reserve=ratio_to_pct(d.reserve_ratio), team=d.team_size, policy=d.matching_policy,
                    cap=d.workload_cap, expert_cap=d.expert_cap, general=d.general_per_year, key=d.key_per_year,
                    exempt=[], towns=[], desc="", ratios={}, counts={}, merge=d.merge_visits, task_days=0, per_class={})
    else:
        with Session(eng) as s:
            lp = load_plan(s, code, state.actor())
        p, fr = lp.plan, lp.rules.frequency
        vals = dict(code=p.code, name=p.name, lead=lp.lead.name, items=[i.code for i in lp.items], strata=p.strata_by,
                    batches=p.batches, reserve=ratio_to_pct(p.reserve_ratio), team=p.team_size, policy=p.matching_policy,
                    cap=p.workload_cap, expert_cap=p.expert_cap, general=fr.general_per_year, key=fr.key_per_year,
                    exempt=list(fr.exempt_classes), towns=[t for t in (p.frame_towns or "").split(";") if t],
                    desc=p.description, ratios=dict(lp.rules.ratios), counts=dict(lp.rules.counts),
                    merge=bool(p.merge_visits), task_days=p.task_days, per_class=dict(fr.class_per_year))
    for k in ("code", "name", "lead", "items", "strata", "batches", "team", "policy", "cap", "general", "key",
              "exempt", "towns", "desc", "merge", "task_days"):
        ss[f"plan_{k}"] = vals[k]
    ss["plan_reserve_pct"] = vals["reserve"]
    ss["plan_expert_cap"] = vals["expert_cap"]
    for c in classes:
        ss[f"plan_mode_{c}"] = "count" if c in vals["counts"] else "ratio"
        ss[f"plan_pct_{c}"] = ratio_to_pct(vals["ratios"].get(c, ""))
        ss[f"plan_count_{c}"] = int(vals["counts"].get(c, 0))
        ss[f"plan_freq_{c}"] = vals["per_class"].get(c)


if "plan_edit_next" in st.session_state:  # a widget's value may only be set before it is drawn
    st.session_state["plan_edit"] = st.session_state.pop("plan_edit_next")
editing = st.selectbox(
    "选择计划", [None] + [p["code"] for p in plans], key="plan_edit",
    format_func=lambda c: "（新建计划）" if c is None else f"{c} {next(p['name'] for p in plans if p['code'] == c)}",
)
if st.session_state.get("plan_loaded", "∅") != editing:
    _fill(editing)
    st.session_state["plan_loaded"] = editing
    st.session_state.pop("plan_save_attempted", None)  # another plan: its problems are not yet asked for

slots = Slots()  # under each field: its problems, once 保存计划 was pressed
c1, c2, c3 = st.columns([1, 2, 1])
code = c1.text_input("计划编号", key="plan_code", disabled=editing is not None,
                     help="如 PG-2026-GS；保存后不可修改（抽取证书引用计划编号）").strip()
slots.under("code", c1)
name = c2.text_input("计划名称", key="plan_name").strip()
slots.under("name", c2)
lead = c3.selectbox("牵头部门", dept_names, key="plan_lead")
slots.under("lead", c3)
chosen = st.multiselect("抽查事项", list(item_by_code), placeholder="请选择", format_func=_item_label, key="plan_items",
                        help="重点检查事项不设比例上限；一般检查事项的抽查比例不得超过其上限、不得低于其下限。"
                             "选中多个部门的事项即为部门联合抽查（进一次门、查多项事）。")
slots.under("items")
strata_by = st.radio("分层方式", list(STRATA_LABELS), format_func=STRATA_LABELS.get, key="plan_strata", horizontal=True)
slots.under("strata")

st.markdown("**各风险分类的抽查比例或数量**")
st.caption("比例按百分比填写（如 3 表示 3%，2.5 表示 2.5%，最多 4 位小数）；固定数量按户数。任何风险分类默认均不豁免。")
ratios: dict[str, str] = {}
counts: dict[str, int] = {}
input_errors: list[str] = []
class_per_year: dict[str, int] = {}
cols = st.columns(len(classes) or 1)
for col, c in zip(cols, classes):
    with col:
        mode = st.radio(fmt_risk(c), ["ratio", "count"], format_func={"ratio": "比例（%）", "count": "固定数量"}.get,
                        key=f"plan_mode_{c}", horizontal=True)
        if mode == "ratio":
            txt = st.text_input(f"{c} 类抽查比例（%）", key=f"plan_pct_{c}", placeholder="如 3")
            try:
                ratios[c] = pct_to_ratio(txt)
            except ValueError as e:
                input_errors.append(f"风险分类 {c}：{e}")
        else:
            counts[c] = int(st.number_input(f"{c} 类抽查数量（户）", min_value=0, step=1, key=f"plan_count_{c}"))
        own = st.number_input(f"{c} 类每年抽查次数上限", min_value=0, step=1, value=None, key=f"plan_freq_{c}",
                              placeholder="沿用下方通用上限",
                              help="本风险分类对象一年内被本部门抽查的次数上限（一般、重点事项分别计算），"
                                   "如低风险（A）1 次、高风险（D）3 次；0 表示不限；留空沿用下方的通用上限")
        if own is not None:
            class_per_year[c] = int(own)
        slots.under(f"class_{c}")

c1, c2, c3 = st.columns(3)
batches = int(c1.number_input("检查批次数", min_value=1, step=1, key="plan_batches",
                              help="比例较高时，按随机顺序将入选对象分入各批次（检查批次顺序）"))
slots.under("batches", c1)
reserve_txt = c2.text_input("备选比例（%）", key="plan_reserve_pct",
                            help="每个分层另抽的备选对象比例；入选对象已注销或无法联系时，由同层第一个备选对象递补")
slots.under("reserve", c2)
try:
    reserve_ratio = pct_to_ratio(reserve_txt)
except ValueError as e:
    input_errors.append(f"备选比例：{e}")
    reserve_ratio = rules.DEFAULTS.reserve_ratio
team_size = int(c3.number_input("检查组人数", min_value=rules.MIN_TEAM_SIZE, step=1, key="plan_team",
                                help="行政处罚法：执法人员不得少于两人；专家不计入"))
slots.under("team", c3)

c1, c2, c3 = st.columns(3)
policy = c1.radio(
    "匹配策略", list(POLICY_LABELS), format_func=POLICY_LABELS.get, key="plan_policy",
    help="均衡：在合格人员中优先选本期工作量较少者，负担更平均，但同一人被选中的概率不完全相等；"
         "等概率：每位合格人员被选中的概率相同，负担可能不均。两种策略都可由核验包重算，"
         "请局里知情后自主选择，并在计划中写明。",
)
slots.under("policy", c1)
workload_cap = int(c2.number_input("每人本期任务上限", min_value=1, step=1, key="plan_cap",
                                   help="同一期间内每名执法检查人员最多承担的任务数"))
expert_cap = int(c3.number_input("每位专家本期任务上限", min_value=1, step=1, key="plan_expert_cap"))

c1, c2, c3 = st.columns(3)
general_per_year = int(c1.number_input("每年一般事项抽查次数上限（通用）", min_value=0, step=1, key="plan_general",
                                       help="同一对象一年内因一般检查事项被抽中的次数达到此数后，不再进入本年后续一般事项名录；0 表示不限"))
slots.under("frequency", c1)
key_per_year = int(c2.number_input("每年重点事项抽查次数上限（通用）", min_value=0, step=1, key="plan_key", help="0 表示不限"))
exempt = c3.multiselect("不受频次限制的风险分类", classes, placeholder="请选择", format_func=fmt_risk, key="plan_exempt",
                        help="如高风险（D）对象可实行重点监管，提高抽查频次")
frame_towns = st.multiselect("名录范围（乡镇街道）", [c for c, _ in town_list], placeholder="全部乡镇街道", format_func=lambda c: town_names.get(c, c),
                             key="plan_towns", help="不选表示本局辖区全部乡镇街道")
task_days = int(st.number_input("完成时限（抽取后工作日数）", min_value=0, step=1, key="plan_task_days",
                                help="抽查任务须在抽取后多少个工作日内完成检查；0 表示在抽查期间结束前完成。"
                                     f"临近（{task_limits.NEAR_WORKING_DAYS} 个工作日内）或超过时限的任务在首页和检查人员的任务列表中提示。"))
slots.under("task_days")
description = st.text_area("说明", key="plan_desc", height=68)
edited = next((p for p in plans if p["code"] == editing), None)
reason = ""
if edited is not None and edited["status"] != lifecycle.DRAFT:
    reason = st.text_input("修改理由", key="plan_reason",
                           help=f"本计划第 {edited['version']} 版{lifecycle.label(edited['status'])}：修改后为第 "
                                f"{edited['version'] + 1} 版（草稿），须重新审批；原版本保留并继续公开").strip()
    slots.under("reason")
merge_visits = st.checkbox(
    "与其他计划的任务合并入户（进一次门、查多项事）", key="plan_merge",
    help="同一协调周期内其他计划也抽中同一对象时，合并为一次入户检查；不勾选表示本计划单独入户（如不可等待的重点事项），"
         "联合检查页面将列出因此多次入户的对象。",
)

data = PlanInput(
    code=code, name=name, lead_department=lead or "", item_codes=list(chosen), ratios=ratios, counts=counts,
    strata_by=strata_by, batches=batches, reserve_ratio=reserve_ratio, frame_towns=list(frame_towns),
    team_size=team_size, matching_policy=policy, workload_cap=workload_cap, expert_cap=expert_cap,
    frequency={"general_per_year": general_per_year, "key_per_year": key_per_year, "exempt_classes": list(exempt),
               "class_per_year": class_per_year},
    description=description, bureau_code=b["code"], task_days=task_days, reason=reason,
)

# --- rule check -----------------------------------------------------------------------------------
ATTEMPTED_KEY = "plan_save_attempted"
st.markdown("##### 规则检查")
# A field whose input could not be read has that one problem: not also the rules' "not set".
unreadable = {plan_field(m) for m in input_errors}
errors = input_errors + [m for m in check_input(eng, data) if plan_field(m) not in unreadable]
if not name:
    errors.append("计划名称不能为空")
if edited is not None and edited["status"] != lifecycle.DRAFT and not reason:
    errors.append(f"本计划第 {edited['version']} 版{lifecycle.label(edited['status'])}：修改须填写修改理由")
if editing is None and code and any(p["code"] == code for p in plans):
    errors.append(f"计划编号 {code} 已存在；如需修改请在上方“选择计划”中选中它")
errors = list(dict.fromkeys(errors))  # each problem once, however many rules found it
# Validated on submit: a form just opened is not a list of mistakes. Once 保存计划 was pressed, each
# problem stays under its field (and goes as it is fixed); one that concerns no field is listed here.
if not errors:
    st.success("符合规则")
elif st.session_state.get(ATTEMPTED_KEY):
    st.warning(first_line(errors))
    for msg in slots.show(errors, plan_field):
        st.error(msg)
else:
    st.caption("填写完成后点击“保存计划”：如有不符合规则之处将在此列出。")

# --- live preview ----------------------------------------------------------------------------------
st.markdown("##### 名录与抽取数预览")
period = st.text_input("抽查期间", value=dt.date.today().strftime("%Y-%m"), key="plan_period",
                       help="YYYY-MM、YYYY-Qn 或 YYYY；抽查频次按该期间所在年度计算").strip()
try:
    validate_period(period)
    if not chosen:
        st.info("选择抽查事项后显示预览。")
    else:
        with Session(eng) as s:
            rows = frames.preview(s, transient_plan(s, data), period)
        if not rows:
            st.info("名录为空：没有符合事项范围的存续对象。")
        else:
            df = pd.DataFrame(
                {
                    "分层": [fmt_stratum(r["stratum"], town_names) for r in rows],
                    "名录规模": [r["size"] for r in rows],
                    "抽查比例/数量": [fmt_ratio(r["ratio"]) if r["ratio"] is not None else
                                  (f"{r['count']} 户" if r["count"] is not None else "未设置") for r in rows],
                    "年度抽查数量": [r["quota"] for r in rows],
                    "本期预计抽取数": [r["k"] for r in rows],
                }
            )
            m1, m2 = st.columns(2)
            m1.metric("名录规模", f"{sum(r['size'] for r in rows):,}")
            m2.metric("预计抽查任务数", f"{sum(r['k'] or 0 for r in rows):,}")
            st.dataframe(df, hide_index=True, width="stretch", key="plan_preview")
            st.bar_chart(df.set_index("分层")[["名录规模", "本期预计抽取数"]], stack=False)
            st.caption("预览按当前登记状态与抽查频次计算；年度抽查数量由本年度首次抽取的名录确定，"
                       "各期抽取“尚余数量 ÷ 剩余期数”（向上取整）；正式抽取以冻结时的名录为准。")
except DsrError as e:
    st.warning(str(e))

# --- save ----------------------------------------------------------------------------------------------
if st.button("保存计划", type="primary", key="plan_save") and errors:
    st.session_state[ATTEMPTED_KEY] = True
    st.rerun()
elif st.session_state.get("plan_save") and not errors:
    st.session_state.pop(ATTEMPTED_KEY, None)
    try:
        saved = save_plan(eng, data, state.actor())
        if bool(saved.merge_visits) != merge_visits:  # re-forms the visits of its drawn periods
            visits_service.set_plan_mergeable(eng, saved.code, merge_visits, state.actor())
            saved.merge_visits = merge_visits
    except rules.PlanRuleError as e:
        for msg in e.messages:
            st.error(msg)
    except DsrError as e:
        st.error(f"未保存：{e}")
    else:
        st.session_state["plan_saved_msg"] = f"已保存计划 {saved.code}（{saved.name}）"
        st.session_state["plan_loaded"] = "∅"  # refill the form from the saved plan
        st.session_state["plan_edit_next"] = saved.code
        st.rerun()
if msg := st.session_state.pop("plan_saved_msg", None):
    st.success(msg)
