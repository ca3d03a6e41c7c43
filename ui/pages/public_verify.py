"""公开核验: anyone, without login, picks a published draw; the server writes its public package
and recomputes it with the reference verifier (scheduler/verify.py), showing every check.
The package and the printable 抽取结果公告 (PDF) are offered for download."""

import re
import tempfile
from pathlib import Path

import streamlit as st

from scheduler.results import export_service
from scheduler.verify import verify_package
from ui import state

st.title("公开核验")
st.caption("选择一次已完成的抽取：系统生成其公开核验包，并用独立的参考程序（只用编程语言的标准库，不依赖本系统）重新计算，逐项显示核验结果。"
           "公开核验包不含风险分类：各对象的分层只以加盐承诺值公开；企业可在“本企业查询”凭查询码核对本企业的判定。")

eng = state.engine()
drawn = export_service.drawn_draws(eng)
if not drawn:
    st.info("尚无已完成的抽取。")
    st.stop()

labels = {d.draw_id: f"{d.plan_code}（{d.period}）" for d in drawn}
wanted = st.query_params.get("draw")
ids = list(labels)
index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in labels else 0
chosen = st.selectbox("抽取", ids, index=index, format_func=labels.get, key="pv_draw")
st.query_params["draw"] = str(chosen)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=64)
def _report(db_label: str, draw_id: int):
    # A drawn draw's certificate and frame never change: the report is cached by database and draw.
    with tempfile.TemporaryDirectory(prefix="dsr-pv-") as tmp:
        from scheduler.draw import service as draw_service

        draw_service.write_packages(eng, draw_id, public_dir=Path(tmp))
        return verify_package(tmp)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def _announcement(db_label: str, draw_id: int, url: str) -> bytes:
    from scheduler.results import announcement as an

    return an.render_pdf(an.announcement(eng, draw_id), url)


db_label = state.database_label()
with st.spinner("正在重新计算……"):
    report = _report(db_label, chosen)
if report.ok:
    st.success("核验通过：由公开核验包重新计算的结果与抽取证书一致。")
else:
    st.error(f"核验未通过。第一处不一致：{report.first_difference}")
# The certificate's field names (rank, batch, selected…) are set as code: names to look up in the
# normative text, not words of the sentence.
FIELD = re.compile(r"(?<![\w`.])([a-z][a-z0-9]*(?:_[a-z0-9]+)*)(?![\w`.])", re.ASCII)


def _fields_as_code(text: str) -> str:
    return FIELD.sub(r"`\1`", text)


st.markdown("\n".join(f"- ✅ {_fields_as_code(c)}" for c in report.checks)
            + ("" if report.ok else f"\n- ❌ {_fields_as_code(report.first_difference)}"))
if report.unchecked:
    st.markdown("**公开核验包无法核验（由审计包或企业本身核验）**")
    st.markdown("\n".join(f"- {u}" for u in report.unchecked))

folder = export_service.package_dirs(drawn)[chosen]
page_url = f"{st.context.url.split('?')[0]}?draw={chosen}" if st.context.url else f"public-verify?draw={chosen}"
c1, c2 = st.columns(2)
c1.download_button("下载公开核验包", lambda: export_service.package_zip(eng, chosen)[1], file_name=f"{folder}.zip",
                   mime="application/zip", key="pv_pkg_dl")
c2.download_button("下载抽取结果公告（PDF）", lambda: _announcement(db_label, chosen, page_url),
                   file_name=f"{folder}-抽取结果公告.pdf", mime="application/pdf", key="pv_pdf_dl")
