"""The 抽查计划 page's plan-document part: status and version, approve / publish / copy by role,
and the version history with the reasons (the services check the roles and the two-person rule)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from scheduler.access.permissions import can
from scheduler.errors import DsrError
from scheduler.plans import lifecycle
from scheduler.plans import versions as pv
from ui.widgets import Col, fmt_date, table


def status_text(p: dict) -> str:
    return f"第 {p['version']} 版 · {lifecycle.label(p['status'])}"


def _act(label: str, fn, *args) -> None:  # noqa: ANN001
    try:
        done = fn(*args)
    except DsrError as e:
        st.session_state["plan_doc_error"] = str(e)
    else:
        st.session_state["plan_doc_flash"] = f"{label}：{done.code}（{status_text({'version': done.version, 'status': done.status})}）"
        st.session_state["plan_edit_next"] = done.code
        st.session_state["plan_loaded"] = "∅"
    st.rerun()


def _copy_form(eng, p: dict, actor) -> None:  # noqa: ANN001
    year = p.get("year") or lifecycle.year_of(p["code"], p["name"]) or dt.date.today().year
    c1, c2, c3 = st.columns([1, 2, 1])
    new_year = int(c1.number_input("新计划年度", min_value=2000, max_value=2100, value=year + 1, step=1, key="plan_copy_year"))
    default = p["code"].replace(str(year), str(new_year)) if str(year) in p["code"] else f"{p['code']}-{new_year}"
    new_code = c2.text_input("新计划编号", value=default, key="plan_copy_code").strip()
    c3.write("")
    if c3.button("复制为下一年度计划", key="plan_copy"):
        _act("已复制为下一年度计划（草稿）", pv.copy_plan, eng, p["code"], new_year, new_code, actor)


def render(eng, plans: list[dict], actor) -> None:  # noqa: ANN001
    """Status, approval, publication, copy and version history of one plan."""
    st.subheader("计划审批、发布与版本")
    if msg := st.session_state.pop("plan_doc_flash", None):
        st.success(msg)
    if msg := st.session_state.pop("plan_doc_error", None):
        st.error(msg)
    if not plans:
        return
    by_code = {p["code"]: p for p in plans}
    code = st.selectbox("审批、发布或复制的计划", list(by_code), key="plan_doc",
                        format_func=lambda c: f"{c} {by_code[c]['name']}（{status_text(by_code[c])}）")
    p = by_code[code]
    st.markdown(f"**{p['code']} {p['name']}**：{status_text(p)}")
    if p["status"] == lifecycle.DRAFT:
        st.caption("草稿须由创建人和最后修改人以外、有审批权限的人员（管理员或本部门审核人员）审批后方可抽取；审批后发布，公示查询页即公开。")
    c1, c2, _ = st.columns([1, 1, 4])
    if can(actor, "plan.approve") and c1.button("审批", key="plan_approve", disabled=p["status"] != lifecycle.DRAFT):
        _act("已审批", pv.approve_plan, eng, code, actor)
    if can(actor, "plan.publish") and c2.button("发布", key="plan_publish", disabled=p["status"] != lifecycle.APPROVED):
        _act("已发布", pv.publish_plan, eng, code, actor)
    if can(actor, "plan.save"):
        _copy_form(eng, p, actor)
    rows = pv.versions(eng, code, actor)
    if rows:
        st.markdown("**版本记录**")
        table([{**r, "state": "已发布" if r["published_at"] else "已审批"} for r in rows],
              [Col("version", "版本"), Col("state", "状态"), Col("reason", "修改理由"), Col("changed_by", "修改人"),
               Col("approved_by", "审批人"), Col("approved_at", "审批时间", fmt_date), Col("published_by", "发布人"),
               Col("published_at", "发布时间", fmt_date)], key="plan_versions")
    else:
        st.caption("尚无已审批的版本。")
