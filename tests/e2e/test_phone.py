"""我的任务 on a phone: a real Chromium at 390×844 (touch), logged in as an inspector of a drawn task's
team: the task with its address, a checklist point marked and saved, no sideways scrolling."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import ChecklistMark, Inspector, Task, TeamMember
from scheduler.accounts.service import add_user
from tests.ui_steps import DEMO_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, serve
from tests.e2e.test_browser import WAIT, _idle

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def phone_app(tmp_path_factory):
    """A small demo, one plan drawn, and an account for an inspector on the first assigned task."""
    from scheduler.demo.service import create_demo
    from scheduler.draw import service as draws

    path = tmp_path_factory.mktemp("phone") / "dsr.db"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    create_demo(eng, entities=1500, seed=3)
    draws.execute(eng, "PG-2026-GS", "2026-12", seed="16180339887498948482045868")
    with Session(eng) as s:
        tid, iid, uscc = s.execute(select(Task.id, Inspector.inspector_id, Task.uscc).join(TeamMember, TeamMember.task_id == Task.id)
                             .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                             .where(Task.status == "assigned", TeamMember.active.is_(True))
                             .order_by(Inspector.inspector_id, Task.id)).first()
    add_user(eng, "phone", "inspector", DEMO_PASSWORD, inspector=iid)
    eng.dispose()
    with serve(url, tmp_path_factory.mktemp("phone_log") / "streamlit.log") as base:
        yield base, url, tid, iid, uscc


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                              locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(30_000)
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


def _shot(page: Page, name: str, tmp_path: Path) -> None:
    """DSR_E2E_SCREENSHOTS=docs/screenshots keeps the picture for the docs; otherwise a temporary directory."""
    target = Path(os.environ.get("DSR_E2E_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"))


def _fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_my_tasks_on_a_phone(phone: Page, phone_app, tmp_path) -> None:
    base, url, task_id, inspector_id, uscc = phone_app
    page = phone
    page.goto(f"{base}/")  # a fresh URL is a new session: log in, then open the page from the menu
    page.get_by_label("用户名").wait_for(state="visible", timeout=WAIT)
    _idle(page)
    page.get_by_label("用户名").fill("phone")
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_test_id("stExpandSidebarButton").wait_for(state="visible", timeout=WAIT)
    _idle(page)
    page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="我的任务", exact=True).click()
    page.get_by_role("heading", name="我的任务", exact=True).wait_for(state="visible", timeout=WAIT)
    collapse = page.get_by_role("button", name="Collapse sidebar")
    if collapse.is_visible():  # the menu covers the page on a phone until it is closed
        collapse.click()
    _idle(page)
    # The first task is the inspector's earliest (none has a visit date yet): its entity and address.
    expect(page.get_by_text(f"统一社会信用代码：{uscc}")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile("住所：北京市平谷区")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"检查组：组长 .+（执法证号 \d+")).first).to_be_visible()
    assert _fits(page), "the page scrolls sideways at 390 px"
    _shot(page, "mytasks-phone", tmp_path)

    point = page.get_by_role("radiogroup").first
    point.get_by_text("符合", exact=True).click()
    _idle(page)
    page.get_by_role("button", name="保存检查表").first.click()
    expect(page.get_by_text(re.compile(r"检查表已保存（1 项）"))).to_be_visible(timeout=WAIT)
    assert _fits(page)
    eng = make_engine(url)
    with Session(eng) as s:
        marks = s.execute(select(ChecklistMark.mark, ChecklistMark.marked_by)
                          .where(ChecklistMark.task_id == task_id)).all()
    eng.dispose()
    assert marks == [("符合", inspector_id)]
