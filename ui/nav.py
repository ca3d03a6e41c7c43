"""The app's navigation. Adding a page is one line in PAGES.

Each entry: (section, script under ui/pages/, title, icon). Sections appear in
the order of their first page.
"""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).with_name("pages")

PAGES: list[tuple[str, str, str, str]] = [
    ("首页", "mytasks.py", "我的任务", ":material/assignment_ind:"),  # an inspector's home
    ("首页", "home.py", "首页", ":material/home:"),
    ("两库一单", "registry.py", "检查对象名录库", ":material/storefront:"),
    ("两库一单", "roster.py", "执法检查人员名录库", ":material/badge:"),
    ("两库一单", "experts.py", "专家库", ":material/science:"),
    ("两库一单", "items.py", "随机抽查事项清单", ":material/checklist:"),
    ("两库一单", "conflicts.py", "回避申报", ":material/block:"),
    ("数据导入", "imports.py", "数据导入", ":material/upload_file:"),
    ("抽查实施", "plans.py", "抽查计划", ":material/event_note:"),
    ("抽查实施", "draw.py", "抽取", ":material/casino:"),
    ("抽查实施", "tasks.py", "任务与匹配", ":material/groups:"),
    ("抽查实施", "verify.py", "核验", ":material/verified:"),
    ("抽查实施", "schedules.py", "计划任务", ":material/schedule:"),
    ("抽查实施", "visits.py", "联合检查", ":material/join_inner:"),
    ("检查结果", "results.py", "结果录入", ":material/edit_note:"),
    ("检查结果", "review.py", "审核", ":material/fact_check:"),
    ("检查结果", "publication.py", "公示管理", ":material/campaign:"),
    ("检查结果", "followup.py", "后续处置", ":material/assignment_turned_in:"),
    ("检查结果", "corrections.py", "更正公示结果", ":material/edit_document:"),
    ("检查结果", "docking.py", "平台对接", ":material/sync_alt:"),
    ("设置", "calendar.py", "工作日历", ":material/calendar_month:"),
    ("设置", "audit.py", "审计日志", ":material/policy:"),
    ("设置", "settings.py", "系统设置", ":material/settings:"),
    ("公开", "public.py", "公示查询", ":material/public:"),
    ("公开", "public_verify.py", "公开核验", ":material/verified_user:"),
    ("公开", "selfcheck.py", "本企业查询", ":material/domain_verification:"),
]


def page_path(script: str) -> str:
    """Path of a page script relative to the repository root (where streamlit_app.py is)."""
    return f"ui/pages/{script}"


def sections() -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for section, script, title, icon in PAGES:
        out.setdefault(section, []).append((page_path(script), title, icon))
    return out


def url_path(path: str) -> str:
    """The address of a page script, as Streamlit derives it (the file name without .py)."""
    return path.rsplit("/", 1)[-1].removesuffix(".py")


def staff_pages() -> list[tuple[str, str, str]]:
    """(path, title, icon) of every page but the public ones (公示查询, 公开核验, 本企业查询)."""
    return [(page_path(script), title, icon) for section, script, title, icon in PAGES if section != "公开"]


def not_open_page() -> None:
    """The page behind an address the logged-in account may not open."""
    import streamlit as st

    st.title("无法打开此页面")
    st.info("当前账号无权使用此页面，或页面地址有误。请从左侧导航选择页面。")

