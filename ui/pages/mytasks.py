"""我的任务: an inspector's page for the phone — today's and this month's visits, the address, the items
with their checklists, the result, and photos from the camera or scanned records. One column, no wide
tables, so it reads at 390 px (tests/e2e/test_phone.py)."""

import tempfile
from pathlib import Path

import streamlit as st

from scheduler.errors import DsrError
from scheduler.results import attachment_rules as ar
from scheduler.results import attachments_service as att
from scheduler.results import checklist as cl
from scheduler.results import fieldrecords_service as frs
from scheduler.results import recusal_service as rec
from scheduler.results import service as rs
from ui import state
from ui.acting import acting_as
from ui.widgets import need_bureau

st.title("我的任务")
eng = state.engine()
need_bureau(state.bureau())
actor = acting_as("inspector", "my")
if actor.role != "inspector":
    st.info("本页供执法检查人员在手机上查看本人任务、填写检查表、录入结果、拍照上传。")
    st.stop()
today = rs.local_today()
if msg := st.session_state.pop("my_flash", None):
    st.success(msg)

groups = frs.my_tasks(eng, actor, today)
c = st.columns(3)
c[0].metric("今日", len(groups["today"]))
c[1].metric("本月", len(groups["month"]))
c[2].metric("待安排", len(groups["other"]))
TAG = {"today": "今日", "month": "本月", "other": "待安排"}
tasks = {r["id"]: (TAG[k], r) for k in ("today", "month", "other") for r in groups[k]}
if not tasks:
    st.info("没有待办的检查任务。")
    st.stop()
tid = st.selectbox("任务", list(tasks), key="my_task", format_func=lambda i: (
    f"【{tasks[i][0]}】#{i} {tasks[i][1]['name'] or tasks[i][1]['uscc']}"))
tag, t = tasks[tid]
st.markdown(f"**{t['name'] or t['uscc']}**  \n统一社会信用代码：{t['uscc']}  \n住所：{t['address'] or '—'}  \n"
            f"检查日期：{t['planned_on'] or '待安排'}  \n状态：{t['status_label']}")
st.caption("检查组：" + "；".join(
    f"{'组长' if m['role'] == 'leader' else '组员'} {m['name']}（执法证号 {m['cert_no']}，{m['cert_state']}）"
    for m in rec.team_of(eng, tid, actor=actor)))


def _save_marks(code: str, points: list[dict]) -> None:
    done = 0
    for p in points:
        mark = st.session_state.get(f"my_{tid}_{code}_{p['seq']}")
        note = st.session_state.get(f"my_{tid}_{code}_{p['seq']}_note", "")
        if mark and (mark != p["mark"] or note != p["note"]):
            frs.mark(eng, tid, code, p["seq"], mark, actor, note=note)
            done += 1
    st.session_state["my_flash"] = f"{code} 检查表已保存（{done} 项）"


cats = [c_.name for c_ in rs.list_categories(eng)]
results = {r["code"]: r for r in rs.task_results(eng, tid, actor=actor)}
for sheet in frs.task_checklist(eng, tid, actor=actor):
    code = sheet["item_code"]
    with st.expander(f"{code} {sheet['item_name']}", expanded=True):
        for p in sheet["points"]:
            st.radio(f"{p['seq']}. {p['text']}", cl.MARKS, horizontal=True, key=f"my_{tid}_{code}_{p['seq']}",
                     index=cl.MARKS.index(p["mark"]) if p["mark"] else None)
            st.text_input("说明", value=p["note"], key=f"my_{tid}_{code}_{p['seq']}_note",
                          placeholder="不符合时必填", label_visibility="collapsed")
        if st.button("保存检查表", key=f"my_save_{tid}_{code}"):
            try:
                _save_marks(code, sheet["points"])
            except DsrError as e:
                st.error(str(e))
            else:
                st.rerun()
        now = results.get(code, {})
        picked = st.multiselect("检查结果", cats, default=now.get("category_names") or [], key=f"my_cat_{tid}_{code}")
        note = st.text_input("结果说明", value=now.get("note") or "", key=f"my_note_{tid}_{code}")
        if st.button("保存结果", key=f"my_res_{tid}_{code}", disabled=not picked):
            try:
                rs.enter_result(eng, tid, code, picked, actor, note=note)
            except DsrError as e:
                st.error(str(e))
            else:
                st.session_state["my_flash"] = f"任务 #{tid} 事项 {code} 的检查结果已保存"
                st.rerun()


def _attach(data: bytes, name: str, kind: str, report_no: str = "") -> None:
    with tempfile.TemporaryDirectory(prefix="dsr-up-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        a = att.attach(eng, tid, path, actor, kind=kind, report_no=report_no)
    st.session_state["my_flash"] = f"已上传{ar.KINDS[kind]}（SHA-256 {a.sha256[:16]}…）"


st.markdown("**现场照片与材料**")
shot = st.camera_input("拍摄现场照片", key=f"my_cam_{tid}")
if shot is not None and st.button("保存照片", key=f"my_cam_save_{tid}"):
    try:
        _attach(shot.getvalue(), "现场照片.jpg", "photo")
    except DsrError as e:
        st.error(str(e))
    else:
        st.rerun()
up = st.file_uploader("上传检查笔录或检验检测报告", type=["pdf", "jpg", "jpeg", "png"], key=f"my_up_{tid}")
kind = st.radio("材料类型", ["record", "report", "photo"], format_func=ar.KINDS.get, horizontal=True, key=f"my_kind_{tid}")
report_no = st.text_input("检验检测报告编号", key=f"my_rno_{tid}") if kind == "report" else ""
if up is not None and st.button("上传", key=f"my_up_save_{tid}"):
    try:
        _attach(up.getvalue(), up.name, kind, report_no)
    except DsrError as e:
        st.error(str(e))
    else:
        st.rerun()
files = att.attachments(eng, tid)
for a in files:
    st.caption(f"{ar.KINDS.get(a['kind'], a['kind'])} {a['file_name']} · SHA-256 {a['sha256'][:16]}…")
