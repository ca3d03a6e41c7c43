"""本企业查询: an entity enters its credit code and its query code (查询码, on its 检查通知书 or from
the bureau) and sees, for itself only, its ticket, whether it was selected, its stratum and the
opening of its commitment, checked against the public package (docs/draw-algorithm.md §3.4)."""

import streamlit as st

from scheduler.results import export_service
from scheduler.results import selfcheck
from ui import state
from ui.widgets import group_hex

st.title("本企业查询")
st.caption("输入统一社会信用代码与查询码（印在检查通知书上，也可向登记机关索取），查看本企业在一次抽取中的抽签号、是否被抽中，"
           "并核对对本企业的判定是否符合规则。没有查询码的人无法得知本企业的分层（风险分类不向社会公开）。"
           f"每个来源每小时最多查询 {selfcheck.PER_SOURCE_PER_HOUR} 次，每个来源对同一信用代码每小时最多 {selfcheck.PER_CODE_PER_SOURCE_PER_HOUR} 次。")

eng = state.engine()
drawn = export_service.drawn_draws(eng)
if not drawn:
    st.info("尚无已完成的抽取。")
    st.stop()
labels = {d.draw_id: f"{d.plan_code}（{d.period}）" for d in drawn}
with st.form("selfcheck_form"):
    chosen = st.selectbox("抽取", list(labels), format_func=labels.get, key="sc_draw")
    uscc = st.text_input("统一社会信用代码", max_chars=18, key="sc_uscc")
    code = st.text_input("查询码", max_chars=24, placeholder="XXXX-XXXX-XXXX-XXXX", key="sc_code", type="password")
    asked = st.form_submit_button("查询")
if not asked:
    st.stop()

source = st.context.ip_address or "unknown"
case = selfcheck.check_own_case(eng, chosen, uscc, code, source)  # a refusal is shown by the app
rep = case.report
st.subheader(f"{case.entity_id}：{'已被抽中' if rep.selected else '未被抽中'}")
if rep.selected:
    st.write(f"抽取顺序第 {rep.rank} 位，第 {rep.batch} 批。")
st.markdown(f"**抽签号**：`{group_hex(rep.ticket) if rep.ticket else '—'}`")
o = case.opening
st.markdown(f"**本企业分层**：{o.stratum}（公开包中的分层 {rep.stratum_label or '—'}）；本分层抽取数 k = {o.k}，"
            f"截止抽签号：`{o.cutoff or '无（k = 0）'}`")
st.markdown(f"**承诺打开值**：盐值 `{o.salt}`；分层记录盐值 `{o.stratum_salt}`")
if rep.ok:
    st.success("核验通过：对本企业的判定符合规则（入选当且仅当抽签号不大于本分层的截止抽签号）。")
else:
    st.error(f"核验未通过：{rep.first_difference}")
st.markdown("\n".join(f"- ✅ {c}" for c in rep.checks))
st.caption("以上分层信息只对本企业显示，请勿转告他人。")
