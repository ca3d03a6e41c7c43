"""工作日历: the holiday schedule by year, entry of a new year's schedule and its
confirmation by a second administrator, and the publication deadline."""

import datetime as dt
import re

import pandas as pd
import streamlit as st

from scheduler.calendar import service as cal
from scheduler.results.service import local_today
from scheduler.calendar.workdays import PUBLICATION_DAYS, MissingYear
from scheduler.errors import DsrError
from ui import state
from scheduler.access.permissions import can
from ui import formatting as fmt
from ui.widgets import calendar_notice, person

WEEKDAYS = "一二三四五六日"

st.title("工作日历")
st.caption(
    "工作日按国务院办公厅节假日安排计算，含调休上班的周末。公示期限：检查完成之日不计入，"
    f"截止日为其后第 {PUBLICATION_DAYS} 个工作日。未录入并确认节假日安排的年份不能计算。"
)

eng = state.engine()
cal.ensure_seeded(eng)
calendar_notice(eng, local_today())


def _fmt_time(v):
    return fmt.beijing(v) if v else ""


years = cal.list_years(eng)
st.subheader("各年度节假日安排")
st.dataframe(
    pd.DataFrame(
        [
            {
                "年份": y.year,
                "状态": y.status_label,
                "依据": y.notice,
                "放假天数": y.holidays,
                "调休上班天数": y.workdays,
                "录入人": person(eng, y.entered_by),
                "录入时间": _fmt_time(y.entered_at),
                "确认人": person(eng, y.confirmed_by),
                "确认时间": _fmt_time(y.confirmed_at),
            }
            for y in years
        ],
        columns=["年份", "状态", "依据", "放假天数", "调休上班天数", "录入人", "录入时间", "确认人", "确认时间"],
    ),
    hide_index=True,
    width="stretch",
)

if years:
    shown = st.selectbox("查看年份", [y.year for y in years], key="cal_show_year")
    days = cal.year_days(eng, shown)
    st.dataframe(
        pd.DataFrame(
            [
                {"日期": d.day.isoformat(), "星期": f"周{WEEKDAYS[d.day.weekday()]}", "类型": d.kind_label, "名称": d.name, "依据": d.notice}
                for d in days
            ],
            columns=["日期", "星期", "类型", "名称", "依据"],
        ),
        hide_index=True,
        width="stretch",
    )

st.subheader("公示截止日")
c1, c2 = st.columns(2)
completed = c1.date_input("检查完成日期", value=local_today(), key="cal_deadline_date", format="YYYY-MM-DD")
n_days = c2.number_input("工作日数", min_value=1, max_value=200, value=PUBLICATION_DAYS, step=1, key="cal_deadline_days")
if completed:
    try:
        st.success(f"公示截止日：{cal.deadline(eng, completed, int(n_days)).isoformat()}")
    except MissingYear as e:
        st.warning(f"公示截止日：待录入下一年度工作日历（{e.year} 年节假日安排录入并确认后即可计算）")
    except DsrError as e:
        st.error(str(e))


# --- entry (administrators); other roles read the page --------------------------------------

if not can(state.actor(), "calendar.enter"):
    from scheduler.accounts.service import admin_names

    st.info("本页为只读：新年度节假日安排由一名管理员录入、另一名管理员确认"
            f"（管理员：{'、'.join(admin_names(eng)) or '尚无'}）。")
    st.stop()


def _parse_day(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise cal.CalendarError(f"{what}日期格式应为 YYYY-MM-DD：{text.strip()}") from None


def _parse_holidays(text: str) -> list[tuple[dt.date, dt.date, str]]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in re.split(r"[,，\t]", line)]
        if len(parts) != 3:
            raise cal.CalendarError(f"放假安排每行应为“开始日期,结束日期,节日名称”：{line.strip()}")
        out.append((_parse_day(parts[0], "放假"), _parse_day(parts[1], "放假"), parts[2]))
    return out


def _parse_workdays(text: str) -> list[dt.date]:
    return [_parse_day(t, "调休上班") for t in re.split(r"[\s,，;；]+", text) if t.strip()]


st.subheader("录入新年度节假日安排")
st.caption("依据国务院办公厅关于部分节假日安排的通知录入；录入后须由另一名管理员确认方才生效。")
next_year = (max(y.year for y in years) + 1) if years else dt.date.today().year
e1, e2 = st.columns(2)
enter_year = e1.number_input("年份", min_value=2004, max_value=2199, value=next_year, step=1, key="cal_enter_year")
notice = e2.text_input("通知文号", placeholder="国办发明电〔2026〕X号", key="cal_enter_notice")
holidays_text = st.text_area(
    "放假安排（每行：开始日期,结束日期,节日名称）",
    placeholder="2027-01-01,2027-01-03,元旦\n2027-02-05,2027-02-11,春节",
    key="cal_enter_holidays",
)
workdays_text = st.text_area("调休上班日（每行一个日期）", placeholder="2027-01-31\n2027-02-20", key="cal_enter_workdays")
# The two-person rule is between accounts: the logged-in account enters, another confirms.
st.caption(f"录入人：{person(eng, state.actor().name)}（当前登录账号）")
if st.button("录入", key="cal_enter_submit"):
    try:
        holidays = _parse_holidays(holidays_text)
        workdays = _parse_workdays(workdays_text)
        actor = state.actor()
        info = cal.enter_year(eng, int(enter_year), holidays, workdays, notice, actor)
        st.success(
            f"已录入 {info.year} 年节假日安排（放假 {info.holidays} 天，调休上班 {info.workdays} 天），待另一名管理员确认。"
        )
    except DsrError as e:
        st.error(f"拒绝录入：{e}")

# --- confirmation ----------------------------------------------------------------------------

st.subheader("确认节假日安排")
pending = [y.year for y in cal.list_years(eng) if y.status == cal.ENTERED]
if not pending:
    st.info("没有待确认的年度。")
else:
    k1, k2 = st.columns(2)
    confirm_year = k1.selectbox("待确认年份", pending, key="cal_confirm_year")
    k2.caption(f"确认人：{person(eng, state.actor().name)}（当前登录账号，不得为录入人）")
    if st.button("确认", key="cal_confirm_submit"):
        try:
            actor = state.actor()
            info = cal.confirm_year(eng, int(confirm_year), actor)
            st.success(f"已确认 {info.year} 年节假日安排（{info.notice}，录入人 {info.entered_by}，确认人 {info.confirmed_by}）。")
        except DsrError as e:
            st.error(f"拒绝确认：{e}")
