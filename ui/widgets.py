"""Shared widgets: filter selectors, the pager, and tables with Chinese headers.

A listing page builds its filters, then calls `paged_table` with a fetch
function of (page, page_size) that goes to a browse service; only that page
ever reaches the browser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Hashable, Optional, Sequence

import pandas as pd
import streamlit as st

from db.models import split_list
from scheduler.library import vocabulary
from db.paging import Page
from scheduler.calendar.workdays import PUBLICATION_DAYS

PAGE_SIZES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
ALL = "全部"

KIND_LABELS = {"key": "重点", "general": "一般"}


# --- value formatters -------------------------------------------------------------------


def fmt_kind(v: Any) -> str:
    return KIND_LABELS.get(v or "", v or "")


def fmt_ratio(v: Any) -> str:
    """A stored decimal fraction ("0.05") as a percentage ("5%")."""
    if v is None or v == "":
        return ""
    try:
        pct = (Decimal(str(v)) * 100).normalize()
    except InvalidOperation:
        return str(v)
    return f"{pct:f}%"


def fmt_list(v: Any) -> str:
    return "、".join(split_list(v))


def fmt_active(v: Any) -> str:
    return "在岗" if v else "停用"


def fmt_expert_active(v: Any) -> str:
    return "可用" if v else "停用"


def fmt_risk(v: Any) -> str:
    name = vocabulary.RISK_CLASS_NAMES.get(v or "")
    return f"{v}（{name}）" if name else (v or "")


def fmt_date(v: Any) -> str:
    """A date as YYYY-MM-DD; a stored time (UTC, naive from SQLite) in Beijing time, whatever the
    server's own time zone: "today" and a time shown beside it must agree."""
    if isinstance(v, dt.datetime):
        from ui.formatting import beijing

        return beijing(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


@dataclass(frozen=True)
class Col:
    """One displayed column: the row key, its Chinese header, an optional formatter."""

    key: str
    header: str
    fmt: Optional[Callable[[Any], Any]] = None


def to_frame(rows: Sequence[dict[str, Any]], columns: Sequence[Col]) -> pd.DataFrame:
    """The rows as a table with Chinese headers; a missing value (None, NaN, NaT, or a string saying
    so) reads "—" (ui/formatting.py), never the "None" a browser draws for it."""
    from ui.formatting import EMPTY, is_empty

    def cell(c: Col, r: dict[str, Any]) -> Any:
        v = c.fmt(r.get(c.key)) if c.fmt else r.get(c.key)
        if isinstance(v, (list, tuple, dict, set)) or (isinstance(v, str) and not v.strip()):
            return v  # a blank cell stays blank
        return EMPTY if is_empty(v) else v

    data = {c.header: [cell(c, r) for r in rows] for c in columns}
    return pd.DataFrame(data, columns=[c.header for c in columns])


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Col], key: str | None = None) -> None:
    st.dataframe(to_frame(rows, columns), hide_index=True, width="stretch", key=key)


# --- filters ----------------------------------------------------------------------------------


def choice(label: str, options: Sequence[tuple[Hashable, str]], key: str, help: str | None = None) -> Any:
    """A selectbox whose first entry is 全部 (returns None); others return their value."""
    values: list[Any] = [None] + [v for v, _ in options]
    labels = {v: lab for v, lab in options}
    return st.selectbox(label, values, format_func=lambda v: ALL if v is None else labels.get(v, str(v)), key=key, help=help)


def search_box(key: str, placeholder: str, label: str = "搜索") -> str:
    return st.text_input(label, key=key, placeholder=placeholder).strip()


def need_bureau(bureau: Optional[dict[str, Any]]) -> bool:
    """Stop the page with a hint when no bureau exists yet; True if it does."""
    if bureau is None:
        st.info("尚未初始化局机构：请先运行 `dsr init`（或生成演示数据），再导入两库一单。")
        st.stop()
    return True


# --- pagination ---------------------------------------------------------------------------------


def paged_table(
    key: str,
    fetch: Callable[[int, int], Page],
    columns: Sequence[Col],
    filters: Hashable = (),
    empty: str = "没有符合条件的记录。",
) -> Page:
    """Fetch the current page (server side), then draw the pager and the table.

    The page number returns to 1 whenever the filters or the page size change.
    """
    page_key, size_key, sig_key = f"{key}_page", f"{key}_size", f"{key}_sig"
    size = st.session_state.get(size_key, DEFAULT_PAGE_SIZE)
    sig = (filters, size)
    if st.session_state.get(sig_key) != sig:
        st.session_state[sig_key] = sig
        st.session_state[page_key] = 1
    result = fetch(int(st.session_state.get(page_key, 1)), int(size))
    # The service clamps a page past the end; keep the widget in step with it.
    st.session_state[page_key] = result.page

    c1, c2, c3 = st.columns([1, 1, 4], vertical_alignment="bottom")
    c1.number_input("页码", min_value=1, max_value=result.pages, step=1, key=page_key)
    c2.selectbox("每页条数", PAGE_SIZES, index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE), key=size_key)
    if result.total:
        c3.caption(
            f"共 {result.total:,} 条，第 {result.page}/{result.pages} 页"
            f"（第 {result.first_row:,}–{result.last_row:,} 条）"
        )
    else:
        c3.caption("共 0 条")
    if result.rows:
        table(result.rows, columns, key=f"{key}_table")
    else:
        st.info(empty)
    return result


# --- plans and draws --------------------------------------------------------------------------


def pct_to_ratio(text: str) -> str:
    """A percentage typed by a planner ("3", "2.5", "0.25%") as the exact ratio string ("0.03").

    Decimal all the way: the ratio a draw uses must be exactly the one entered.
    Raises ValueError with a Chinese message.
    """
    raw = (text or "").strip().rstrip("%％").strip()
    if not raw:
        raise ValueError("请填写抽查比例（百分比）")
    try:
        pct = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"抽查比例“{text}”不是数字") from None
    if not pct.is_finite() or pct < 0 or pct > 100:
        raise ValueError(f"抽查比例“{text}”应在 0 至 100 之间")
    ratio = (pct / 100).normalize()
    if ratio.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError(f"抽查比例“{text}%”过于精细：百分比最多保留 4 位小数")
    return f"{ratio:f}"


def ratio_to_pct(ratio: Any) -> str:
    """The inverse of pct_to_ratio, for filling the form ("0.025" -> "2.5")."""
    if ratio is None or ratio == "":
        return ""
    pct = (Decimal(str(ratio)) * 100).normalize()
    return f"{pct:f}"


def group_hex(digest: str, size: int = 8) -> str:
    """A hex digest in blocks of `size` digits, so witnesses can read it out block by block."""
    return " ".join(digest[i : i + size] for i in range(0, len(digest), size))


def big_digest(label: str, digest: str) -> None:
    """A digest large enough to read aloud in a meeting room (two lines of four blocks)."""
    blocks = group_hex(digest).split(" ")
    lines = [" ".join(blocks[i : i + 4]) for i in range(0, len(blocks), 4)]
    body = "<br>".join(lines)
    st.markdown(
        f"<div style='font-size:0.95rem;color:#555'>{label}</div>"
        f"<div class='dsr-digest' style='font-family:ui-monospace,Menlo,Consolas,monospace;font-size:2.1rem;"
        f"line-height:1.35;letter-spacing:0.04em;font-weight:600;margin:0.2rem 0 0.8rem 0'>{body}</div>",
        unsafe_allow_html=True,
    )


def short_hex(digest: Any, n: int = 12) -> str:
    return f"{digest[:n]}…" if isinstance(digest, str) and len(digest) > n else ("" if digest is None else str(digest))


STRATA_LABELS = {"risk": "按风险分类", "risk+town": "按风险分类+乡镇街道", "risk+industry": "按风险分类+行业门类"}
POLICY_LABELS = {"balanced": "均衡（兼顾检查人员工作量）", "uniform": "等概率"}
PLACEHOLDER = "请选择"  # Streamlit's own is "Choose options"


def fmt_stratum(label: Any, town_names: Optional[dict[str, str]] = None) -> str:
    """"A" -> "A（低风险）"; "A/110117001" -> "A（低风险）/滨河街道"; "B/F" -> "B（一般风险）/F 批发和零售业" (GB/T 4754 门类)."""
    if not label:
        return ""
    cls, _, rest = str(label).partition("/")
    head = fmt_risk(cls)
    if not rest:
        return head
    if town_names and rest in town_names:
        return f"{head}/{town_names[rest]}"
    from ui.formatting import industry

    return f"{head}/{industry(rest)}" if len(rest) == 1 else f"{head}/{rest}"


def matching_figures(matching: dict[str, Any]) -> None:
    """The fairness figures of a draw's matching (certificate section), as metrics and a caption."""
    fair = matching.get("fairness") or {}
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("任务数", fair.get("tasks", 0))
    c2.metric("合格执法检查人员", fair.get("eligible_inspectors", 0))
    c3.metric("每人任务数（最少/平均/最多）", f"{fair.get('load_min', 0)} / {fair.get('load_mean', 0)} / {fair.get('load_max', 0)}")
    c4.metric("不同搭档组合", fair.get("distinct_partner_pairs", 0))
    c5.metric("缺员任务", fair.get("tasks_short_staffed", 0))
    st.caption(f"匹配策略：{POLICY_LABELS.get(matching.get('policy'), matching.get('policy'))}；"
               f"检查组 {matching.get('team_size')} 人；每人本期任务上限 {matching.get('cap')}；"
               f"每位专家上限 {matching.get('expert_cap')}")


def export_buttons(kind: str, what: str, make: Callable[[str], bytes], key: str, total: int | None = None) -> None:
    """导出 CSV / XLSX of a 两库一单 list in its import columns (edit in a spreadsheet, import again).
    `make(fmt)` builds the file when the button is clicked (deferred: the page does not wait);
    past the app's row limit the buttons give way to a hint."""
    from scheduler.library.importing import KIND_NAMES
    from scheduler.library.export_service import APP_LIMIT

    if total is not None and total > APP_LIMIT:
        st.caption(f"{what}共 {total:,} 条，超过页面导出上限 {APP_LIMIT:,} 条：请缩小筛选范围，"
                   f"或用命令 dsr library export {kind} 导出全部。")
        return
    name = KIND_NAMES[kind]
    c1, c2, c3 = st.columns([1, 1, 4])
    c1.download_button("导出 CSV", data=lambda: make("csv"), file_name=f"{name}.csv", mime="text/csv",
                       on_click="ignore", key=f"{key}_csv", help=f"导出{what}（导入模板的列，可修改后重新导入）")
    c2.download_button("导出 XLSX", data=lambda: make("xlsx"), file_name=f"{name}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore", key=f"{key}_xlsx", help=f"导出{what}（导入模板的列，可修改后重新导入）")
    c3.caption("导出记入审计日志。")


def calendar_notice(engine: Any, today: Any) -> None:
    """A warning while a year the publication deadlines will soon need has no confirmed holiday
    schedule (scheduler.calendar.workdays.years_needed): deadlines in it cannot be counted until entered."""
    from scheduler.calendar import service as cal

    from scheduler.accounts.service import admin_names

    missing = cal.missing_years(engine, today)
    # From October on, next year is announced ahead (its schedule comes out in November or December).
    if today.month >= 10 and today.year + 1 not in missing and today.year + 1 not in cal.calendar(engine).years:
        missing.append(today.year + 1)
    if missing:
        years = "、".join(f"{y} 年" for y in missing)
        admins = "、".join(admin_names(engine)) or "（尚无管理员账号）"
        st.warning(f"{years}的节假日安排尚未录入并确认：公示期限（{PUBLICATION_DAYS} 个工作日）落入{years}的检查"
                   f"显示为“待录入下一年度工作日历”。可录入的管理员：{admins}——国务院办公厅通知发布后，"
                   "由一名管理员在“工作日历”页录入，另一名管理员确认。")


def person(engine: Any, username: str) -> str:
    """An account shown by its 姓名 (people by name, not by login name); the login name if it has none."""
    from scheduler.accounts.service import get_user

    from scheduler.access.context import CLI, SYSTEM

    if username in (SYSTEM.name, CLI.name):
        return {SYSTEM.name: "系统", CLI.name: "命令行"}[username]
    info = get_user(engine, username) if username else None
    return info.display_name if info is not None and info.display_name else (username or "")
