"""平台对接: published results on their way to the credit publicity system (归集), and the city
platform's incremental files.

The four states of the bureau's published results (待报送 / 已报送待回执 / 已接收 / 被拒收待修正),
the batches in and out with their states (生成 → 已报送 → 已回执), the rejected records with the
other side's reasons; making the next batch, marking it sent, importing a receipt, matching the
district's own teams to handed-down city tasks (市抽县查), importing a city-platform batch (dry run
first). The formats: docs/exchange.md. The services
(scheduler/docking/) check every right again.
"""

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from scheduler.access.permissions import can
from scheduler.docking import formats as fm
from scheduler.docking import inbound, outbound, receipts, rematch, status
from scheduler.errors import DsrError
from ui import state
from ui.docking import LABELS, state_counts
from ui.widgets import Col, fmt_date, need_bureau, table

st.title("平台对接")
st.caption("已公示的检查结果按国家企业信用信息公示系统的记录字段生成报送批次（归集），对方回执逐条接收或拒收；"
           "被拒收的记录修正后重新报送。每条已公示结果的每个版本只被接收一次。市级平台的登记信息、信用风险分类增量文件在此导入。"
           "文件格式见 docs/exchange.md。")
eng = state.engine()
b = state.bureau()
need_bureau(b)
actor = state.actor()
if not can(actor, "exchange.view"):
    st.info("本页供管理员、计划、审核和审计人员查看平台对接情况。")
    st.stop()

if msg := st.session_state.pop("docking_flash", None):
    st.success(msg)

state_counts(eng, actor, b)

st.markdown("#### 批次")
rows = [r for r in status.batches(eng, actor) if r["bureau"] == b["code"]]
DIRECTIONS = {"out": "报送", "in": "导入"}
table(rows, [
    Col("batch_id", "批次编号"), Col("direction", "方向", lambda v: DIRECTIONS.get(v, v)),
    Col("kind", "类型", lambda v: fm.KIND_LABELS.get(v, v)), Col("status", "状态"), Col("records", "记录数"),
    Col("accepted", "接收"), Col("rejected", "拒收"), Col("created_at", "生成时间", fmt_date),
    Col("sent_at", "报送时间", fmt_date), Col("receipt_at", "回执时间", fmt_date),
], key="docking_batches")
if not rows:
    st.caption("尚无批次。")

rejected = outbound.rejected_records(eng, actor, b["code"])
if rejected:
    st.markdown("#### 被拒收待修正的记录")
    st.caption("修正后（如更正结果、设置检查实施机关的法定名称、名录库更新企业名称）下一批次自动重新报送；内容未变的不会重复报送。")
    table(rejected, [Col(k, k) for k in ("记录编号", "批次编号", "统一社会信用代码", "企业名称", "检查事项", "拒收原因")],
          key="docking_rejected")


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.iterdir()):
            z.write(p, f"{folder.name}/{p.name}")
    return buf.getvalue()


if can(actor, "exchange.export"):
    st.markdown("#### 生成报送批次")
    target = st.radio("报送目标", list(fm.TARGETS), horizontal=True, key="docking_target",
                      format_func=lambda t: fm.KIND_LABELS[fm.TARGETS[t]])
    if target == "city":
        st.caption("市级平台：" + "、".join(f"{label} {v:,}" for (k, label), v in zip(
            LABELS, outbound.counts(eng, actor, b["code"], fm.CITY_RESULTS).values())))
    out = st.text_input("输出目录（服务器上的文件夹，批次文件夹写在其下）", value=str(Path.cwd() / "exchange-out"),
                        key="docking_out")
    if st.button("生成下一报送批次", key="docking_export"):
        try:
            res = outbound.export(eng, target, Path(out), actor, b["code"])
        except DsrError as e:
            st.error(str(e))
        else:
            if res is None:
                st.info("没有待报送的记录。")
            else:
                st.session_state["docking_flash"] = f"已生成批次 {res.batch_no}：{res.records} 条记录，写入 {res.folder}"
                st.session_state["docking_zip"] = (res.batch_no, _zip(res.folder))
                st.rerun()
    if z := st.session_state.get("docking_zip"):
        st.download_button(f"下载批次 {z[0]}（zip）", z[1], file_name=f"{z[0]}.zip", key="docking_download")
    generated = [r["batch_id"] for r in rows if r["direction"] == "out" and r["status"] == fm.GENERATED and r["written_at"]]
    if generated:
        pick = st.selectbox("已交给对方的批次", generated, key="docking_sent_pick")
        if st.button("标记为已报送", key="docking_sent"):
            try:
                receipts.mark_sent(eng, pick, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["docking_flash"] = f"批次 {pick} 已标记为已报送"
                st.rerun()


def _saved(uploads, folder: Path) -> Path:
    for u in uploads:
        (folder / Path(u.name).name).write_bytes(u.getvalue())
    return folder


if can(actor, "exchange.receipt"):
    st.markdown("#### 导入回执")
    up = st.file_uploader("回执文件（JSON、CSV 或 XLSX）", type=["json", "csv", "xlsx"], key="docking_receipt")
    if up is not None and st.button("导入回执", key="docking_receipt_go"):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                rep = receipts.import_receipt(eng, _saved([up], Path(tmp)) / Path(up.name).name, actor)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["docking_flash"] = ("这份回执已导入过，未作更改" if rep.unchanged else
                                                     f"批次 {rep.batch_no} 回执已导入：接收 {rep.accepted} 条，拒收 {rep.rejected} 条")
                st.rerun()

if can(actor, "exchange.rematch"):
    city_plans = rematch.open_city_plans(eng, actor, b["code"])
    if city_plans:
        st.markdown("#### 市抽县查任务：匹配本局检查组")
        st.caption("市级计划下发、尚未开始检查的任务，由本局从本局执法检查人员名录库随机匹配检查组（已下发的检查组将被替换），"
                   "写出可用 dsr verify 核验的匹配包。种子应事先公布，如现场摇号结果。")
        by_code = {p["plan"]: p for p in city_plans}
        pick = st.selectbox("市级计划", list(by_code), key="docking_rematch_plan", format_func=lambda c: (
            f"{c} {by_code[c]['name']}（待开始 {by_code[c]['open']} 个，其中未匹配 {by_code[c]['unmatched']} 个）"))
        seed = st.text_input("匹配种子", key="docking_rematch_seed").strip()
        if st.button("匹配检查组", key="docking_rematch_go", disabled=not seed):
            try:
                out_dir = st.session_state.get("docking_out") or str(Path.cwd() / "exchange-out")
                res = rematch.rematch(eng, pick, seed, Path(out_dir), actor, b["code"])
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["docking_flash"] = (f"已为市级计划 {pick} 的 {len(res.tasks)} 个任务匹配检查组，"
                                                     f"匹配包写入 {res.folder}（证书 SHA-256 {res.certificate_sha256[:16]}…）")
                st.rerun()

if can(actor, "exchange.import"):
    st.markdown("#### 导入市级平台数据")
    ups = st.file_uploader("批次文件：manifest.json 与其数据文件", accept_multiple_files=True, key="docking_city")
    dry = st.checkbox("只预览变更报告（不写入）", value=True, key="docking_city_dry")
    if ups and st.button("导入", key="docking_city_go"):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                rep = inbound.import_city(eng, _saved(ups, Path(tmp)), actor, dry_run=dry, bureau_code=b["code"])
            except DsrError as e:
                st.error(str(e))
            else:
                st.text("\n".join(rep.lines()))
