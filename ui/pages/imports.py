"""数据导入: templates, preview with row errors, then import (all or valid rows only)."""

import streamlit as st

from scheduler.library import importing
from scheduler.errors import DsrError
from ui import jobs, state
from ui.importing import errors_frame, progress_callback, rejected_csv


def start_import(key: str, kind: str, kind_name: str, name: str, data: bytes, partial: bool):
    """Start the import in a server thread (ui/jobs.py): the user may leave the page meanwhile."""
    eng, actor, code = state.engine(), state.actor(), b["code"]

    def work(job: jobs.Job):
        report = imports.import_file(eng, kind, name, data, actor=actor, bureau_code=code, partial=partial,
                                     progress=progress_callback(job.update))
        job.summary = (f"共 {report.total:,} 行，新增 {report.inserted:,}、更新 {report.updated:,}、"
                       f"未变 {report.unchanged:,}、拒绝 {report.rejected:,}" if report.import_run_id is not None
                       else "文件有错误，未导入任何行")
        return report

    return jobs.start(key, actor.name, f"导入{kind_name}（{name}）", "ui/pages/imports.py", work,
                      failed="导入失败，未写入任何数据", meta={"partial": partial})


def show_job(job, kind_name: str) -> None:
    """The import running under this page's kind (its progress), or the account's last one (its result)."""
    if job is None:
        return
    st.markdown("##### 导入进度" if job.running else "##### 最近一次导入")
    if job.running:
        jobs.progress(job.id)
        return
    report = job.result
    if report is None:  # failed: nothing was written
        jobs.outcome(job)
        return
    show_report(report, kind_name, job.meta.get("partial", False))


def show_report(report, kind_name: str, partial: bool) -> None:
    r1, r2, r3, r4 = st.columns(4)
    r1.metric("新增", f"{report.inserted:,}")
    r2.metric("更新", f"{report.updated:,}")
    r3.metric("未变", f"{report.unchanged:,}")
    r4.metric("拒绝", f"{report.rejected:,}")
    if report.import_run_id is not None:
        st.success(f"{kind_name}导入完成（{report.file_name}）：共 {report.total:,} 行，用时 {report.seconds:.1f} 秒。")
    elif report.errors and not partial:
        st.error(f"{report.file_name} 有错误，未导入任何行。请修改后重新上传，或勾选“仅导入有效行”跳过有误的行。")
    else:
        st.error(f"{report.file_name}：未导入任何行。")
    if report.errors:
        st.dataframe(errors_frame(report.errors), hide_index=True, width="stretch", key="import_report_errors")
    if report.rejected_rows:
        st.download_button("下载被拒绝的行（CSV）", rejected_csv(report.rejected_rows),
                           file_name=f"{kind_name}_被拒绝的行.csv", mime="text/csv", key="import_rejected", on_click="ignore")


st.title("数据导入")
eng = state.engine()
b = state.bureau()
if b is None:
    st.info("尚未初始化局机构：请先运行 `dsr init`，再导入两库一单。")
    st.stop()

kind = st.selectbox("导入类型", importing.KINDS, format_func=lambda k: importing.KIND_NAMES.get(k, k), key="import_kind")
kind_name = importing.KIND_NAMES.get(kind, kind)

st.markdown("##### 第一步：下载模板")
c1, c2, _ = st.columns([1, 1, 3])
c1.download_button("下载 CSV 模板", importing.template_bytes(kind, "csv"), file_name=f"{kind_name}模板.csv",
                   mime="text/csv", key=f"tpl_csv_{kind}", on_click="ignore")
c2.download_button("下载 XLSX 模板", importing.template_bytes(kind, "xlsx"), file_name=f"{kind_name}模板.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key=f"tpl_xlsx_{kind}", on_click="ignore")
with st.expander("列说明"):
    st.dataframe(
        [{"列名": c.header, "是否必填": "必填" if c.required else "选填", "说明": c.hint, "示例": c.example}
         for c in importing.SPECS[kind]],
        hide_index=True, width="stretch",
    )

st.markdown("##### 第二步：上传文件并预览")
upload = st.file_uploader("上传文件（CSV 或 XLSX）", type=["csv", "xlsx"], key=f"import_file_{kind}",
                          help="CSV 可为 UTF-8 或 GBK 编码；第一行为列名。")
job_key = f"import:{b['code']}:{kind}"
job = jobs.running(job_key) or jobs.latest(state.actor().name, job_key)
if upload is None:
    show_job(job, kind_name)
    st.stop()

try:
    from scheduler.library import import_service as imports
except ImportError:
    st.warning("导入服务尚未就绪。")
    st.stop()

data = upload.getvalue()
try:
    pv = imports.preview(kind, upload.name, data, eng, bureau_code=b["code"], limit=20, actor=state.actor())
except DsrError as exc:  # ImportSetupError, another bureau (PermissionDenied)
    st.error(str(exc))
    st.stop()

# Under the file field: what is wrong with the file as a whole, in words, and how many rows have
# problems; each row's problems once, in the table below (row, column, value, reason).
whole_file = [e for e in pv.errors if not e.row]
row_errors = [e for e in pv.errors if e.row]
for e in whole_file:
    st.error(e.reason)
if row_errors:
    st.error(f"{upload.name}：发现 {len(row_errors):,} 处错误，见下方“错误明细”（行号、列、值、原因）。")
elif not whole_file:
    st.success("预览未发现错误。")

m1, m2, m3 = st.columns(3)
m1.metric("文件编码", pv.encoding or "—")
m2.metric("数据行数", f"{pv.total_rows:,}")
m3.metric("错误", f"{len(pv.errors):,}")
st.caption(f"前 {len(pv.rows)} 行预览")
if pv.rows:
    st.dataframe(pv.rows, hide_index=True, width="stretch", key="import_preview")
if pv.ignored_columns:
    st.caption("以下列不属于模板，导入时忽略：" + "、".join(pv.ignored_columns))
if row_errors:
    st.markdown("**错误明细**")
    st.dataframe(errors_frame(row_errors), hide_index=True, width="stretch", key="import_errors")

st.markdown("##### 第三步：导入")
partial = st.checkbox("仅导入有效行", key="import_partial",
                      help="不勾选时，只要有一行有误，整个文件都不导入；勾选后跳过有误的行，只导入有效行。")
# 开始导入 waits for a file without errors, unless only the valid rows are to be imported (and there are some).
blocked = pv.total_rows == 0 or (bool(pv.errors) and not partial)
if blocked and not (job and job.running):
    st.caption("文件有错误：请修改后重新上传，或勾选“仅导入有效行”。" if pv.total_rows else "文件没有数据行，无法导入。")
# While an import of this kind runs for the bureau, a second one waits (a second tab sees it too).
if st.button("开始导入", type="primary", key="import_go", disabled=blocked or bool(job and job.running)):
    job, started = start_import(job_key, kind, kind_name, upload.name, data, partial)
    if not started:
        st.warning(f"本局正在{job.title}，不能同时开始第二次导入：请等待其完成。")
show_job(job, kind_name)
