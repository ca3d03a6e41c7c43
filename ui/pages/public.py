"""公示查询: the public page. No login: it shows only what the public export holds
(published results, plans, the item list, the drawn draws' public verification packages).
Staff who are logged in also get the whole export as a zip."""

import pandas as pd
import streamlit as st

from scheduler.results import export as ex
from scheduler.results import export_service
from scheduler.results import service as result_service
from ui import jobs, state

PAGE_SIZE = 20
STAFF_ROLES = ("admin", "planner", "reviewer", "auditor")

st.title("双随机、一公开 公示查询")
st.caption("本页公开抽查计划、随机抽查事项清单、抽查结果与抽取核验包，无需登录。")

eng = state.engine()


def _staff() -> bool:
    """A logged-in staff member? The page itself never needs a user."""
    try:
        from ui.state import current_actor
    except ImportError:
        return False
    try:
        a = current_actor()
    except Exception:  # no login machinery or no session: the public view
        return False
    return a is not None and a.role in STAFF_ROLES


@st.cache_data(ttl=3600, show_spinner=False, max_entries=64)
def _package_zip(db_label: str, draw_id: int) -> tuple[str, bytes]:
    # A drawn draw's certificate never changes, so the zip is cached by database and draw id.
    return export_service.package_zip(eng, draw_id)


tab_results, tab_plans, tab_items, tab_packages = st.tabs(["检查结果", "抽查计划", "抽查事项清单", "抽取核验包"])

with tab_results:
    q = st.text_input("统一社会信用代码或企业名称", key="public_q", placeholder="输入18位统一社会信用代码，或企业名称中的文字")
    if st.session_state.get("public_last_q") != q:
        st.session_state["public_last_q"] = q
        st.session_state["public_page"] = 1
    page_no = int(st.session_state.get("public_page", 1))
    res = result_service.published_results(eng, q=q, page=page_no, page_size=PAGE_SIZE)
    pages = max(1, -(-res.total // res.page_size))
    st.caption(f"共 {res.total} 条已公示的检查结果；第 {res.page} / {pages} 页")
    if res.rows:
        st.dataframe(pd.DataFrame(res.rows, columns=list(ex.TABLES[ex.RESULTS])), hide_index=True,
                     width="stretch")
    else:
        st.info("没有符合条件的已公示检查结果。")
    c1, c2, _ = st.columns([1, 1, 6])
    if c1.button("上一页", key="public_prev", disabled=res.page <= 1):
        st.session_state["public_page"] = res.page - 1
        st.rerun()
    if c2.button("下一页", key="public_next", disabled=res.page >= pages):
        st.session_state["public_page"] = res.page + 1
        st.rerun()

with tab_plans:
    plans = export_service.plan_rows(eng)
    current = [p for p in plans if p["当前版本"] == "是"]
    earlier = [p for p in plans if p["当前版本"] != "是"]
    if current:
        st.dataframe(pd.DataFrame(current, columns=list(ex.TABLES[ex.PLANS])), hide_index=True, width="stretch",
                     key="public_plans")
    else:
        st.info("尚无已发布的抽查计划。")
    if earlier:
        st.markdown("**历史版本**（计划经审批修改后，原版本及修改理由继续公开）")
        st.dataframe(pd.DataFrame(earlier, columns=list(ex.TABLES[ex.PLANS])), hide_index=True, width="stretch",
                     key="public_plan_versions")

with tab_items:
    items = export_service.item_rows(eng)
    if items:
        st.dataframe(pd.DataFrame(items, columns=list(ex.TABLES[ex.ITEMS])), hide_index=True, width="stretch")
    else:
        st.info("尚无随机抽查事项。")

with tab_packages:
    st.caption("公开核验包含抽取证书（certificate.json，不含风险分类，分层只以承诺值公开）、名录库对象清单（public_frame.csv）"
               "和分层承诺值（commitments.csv），可在“公开核验”页或用 dsr verify 重新计算抽取结果；"
               "企业可在“本企业查询”凭查询码核对本企业的判定。")
    drawn = export_service.drawn_draws(eng)
    if not drawn:
        st.info("尚无已完成的抽取。")
    else:
        st.dataframe(pd.DataFrame([{"计划编号": d.plan_code, "抽查期间": d.period, "名录库对象数": d.frame_size,
                                    "随机种子": d.seed} for d in drawn]), hide_index=True, width="stretch")
        labels = {d.draw_id: f"{d.plan_code}（{d.period}）" for d in drawn}
        chosen = st.selectbox("核验包", list(labels), format_func=labels.get, key="public_pkg")
        # The zip (a 1M frame's public_frame.csv: ~1.5 s to write) is built when the button is clicked,
        # not on every visit of the page.
        db_label = state.database_label()
        st.download_button("下载公开核验包", lambda: _package_zip(db_label, chosen)[1],
                           file_name=f"{export_service.package_dirs(drawn)[chosen]}.zip", mime="application/zip",
                           key="public_pkg_dl")

if _staff():
    st.divider()
    st.subheader("公示导出（工作人员）")
    st.caption("导出全部公开数据：检查结果、抽查计划、抽查事项清单、抽取公开核验包，CSV / XLSX / JSON / 离线网页。")
    fmts = st.multiselect("格式", list(ex.FORMATS), default=list(ex.FORMATS), key="public_export_formats",
                          format_func=lambda f: {"html": "离线网页"}.get(f, f.upper()), placeholder="请选择")
    owner = state.actor().name
    key = f"export:public:{owner}"  # one export at a time per account; it may be left running
    job = jobs.running(key) or jobs.latest(owner, key)
    if st.button("生成导出文件", key="public_export_run", disabled=not fmts or bool(job and job.running)):
        def work(job: jobs.Job, fmts=tuple(fmts)) -> bytes:
            job.update(None, "正在导出……")
            data = export_service.export_zip(eng, list(fmts))
            job.summary = f"导出文件已生成（{len(data) / 1e6:,.1f} MB），请在“公示查询”页下载"
            return data

        job, _started = jobs.start(key, owner, "公示导出", "ui/pages/public.py", work, failed="导出失败")
    if job is not None and job.running:
        jobs.progress(job.id)
    elif job is not None and job.state == jobs.FAILED:
        jobs.outcome(job)
    elif job is not None:
        st.download_button("下载导出文件（zip）", job.result, file_name="dsr-public.zip", mime="application/zip",
                           key="public_export_dl")
