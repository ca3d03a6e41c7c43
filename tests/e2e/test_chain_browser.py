"""The whole chain in a real Chromium, every step through the app's own pages and forms (issue 17):
抽取 (freeze, seed, draw and match) → the team leader enters 发现问题已责令改正 on 我的任务 → the
department's reviewer approves and publishes it and records the 责令整改 with its deadline, which
creates the 复查 task → the planner generates the 归集 batch, downloads it, and imports the other
side's receipt → 首页 shows the follow-up in progress and 后续处置 the re-check.

Every wait is on an event (an element or a text appearing); no fixed sleeps."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import ExchangeRecord, FollowUpStep, Inspector, ItemResult, Task, TeamMember
from scheduler.accounts.service import add_user, ensure_demo_users
from tests.docking_helpers import write_receipt
from tests.e2e.conftest import serve
from tests.ui_steps import DEMO_PASSWORD

pytestmark = pytest.mark.e2e
WAIT = 30_000
PLAN = ("PG-2026-GS", "2026年度企业公示信息抽查")
SEED = "27182818284590452353602874"
CATEGORY = "发现问题已责令改正"


@pytest.fixture(scope="module")
def chain_app(tmp_path_factory):
    """A small demo with its demo accounts, served by its own app."""
    from scheduler.demo.service import create_demo

    path = tmp_path_factory.mktemp("chain") / "dsr.db"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    create_demo(eng, entities=1500, seed=5)
    ensure_demo_users(eng, DEMO_PASSWORD, must_change=False)
    eng.dispose()
    with serve(url, tmp_path_factory.mktemp("chain_log") / "streamlit.log") as base:
        yield base, url


def _ready(page: Page) -> None:
    """The current script run has ended (Streamlit's running indicator is gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("用户名").wait_for(state="visible", timeout=WAIT)
    _ready(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=WAIT)
    _ready(page)


def _logout(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_label("用户名")).to_have_count(1, timeout=WAIT)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT)


def _open(page: Page, title: str, heading: str | None = None) -> None:
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=title, exact=True)
    if not link.is_visible():
        more = nav.get_by_role("button", name=re.compile(r"View .* more|more|更多", re.I))
        if more.count():
            more.first.click()
    target = page.get_by_role("heading", name=heading or title, exact=True).first
    for attempt in range(3):  # a click landing while the previous page still reruns can be lost: click again
        link.click()
        try:
            expect(target).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    _ready(page)


def _choose(page: Page, label: str, typed: str, option: re.Pattern | str) -> None:
    """A Streamlit selectbox or multiselect: type to filter, click the option, see it chosen."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.fill(typed)
    page.get_by_role("option", name=option).first.click()
    page.keyboard.press("Escape")
    _ready(page)


def test_draw_to_receipt_and_follow_up(page: Page, chain_app, tmp_path: Path) -> None:
    base, url = chain_app
    eng = make_engine(url)

    # --- 抽取 as the administrator: freeze the frame, enter the ceremony's seed, draw and match ------------
    _login(page, base, "admin")
    _open(page, "抽取", "抽取（摇号）")
    _choose(page, "抽查计划", PLAN[0], f"{PLAN[0]} {PLAN[1]}")
    page.get_by_role("button", name="冻结名录").click()
    expect(page.get_by_text("名录摘要（SHA-256", exact=False)).to_be_visible(timeout=WAIT)
    _ready(page)
    seed_box = page.get_by_label("现场随机种子", exact=True)
    seed_box.fill(SEED)
    seed_box.press("Enter")
    expect(page.get_by_text(f"种子（{len(SEED)} 位）")).to_be_visible(timeout=WAIT)
    _ready(page)
    page.get_by_role("button", name="抽取并匹配").click()
    expect(page.get_by_text("抽取完成（抽取记录")).to_be_visible(timeout=60_000)
    _ready(page)
    _logout(page)
    with Session(eng) as s:
        task_id, leader, uscc = s.execute(
            select(Task.id, Inspector.inspector_id, Task.uscc).join(TeamMember, TeamMember.task_id == Task.id)
            .join(Inspector, Inspector.id == TeamMember.inspector_pk)
            .where(Task.status == "assigned", Task.draw_id.is_not(None), TeamMember.role == "leader",
                   TeamMember.active.is_(True)).order_by(Task.rank)).first()
    add_user(eng, "chain-leader", "inspector", DEMO_PASSWORD, inspector=leader)

    # --- 我的任务 as the team leader: the result of the check -----------------------------------------------
    _login(page, base, "chain-leader")
    _open(page, "我的任务")
    _choose(page, "任务", f"#{task_id} ", re.compile(rf"#{task_id} "))
    expect(page.get_by_text(f"统一社会信用代码：{uscc}")).to_be_visible(timeout=WAIT)
    _choose(page, "检查结果", CATEGORY, CATEGORY)
    page.get_by_role("button", name="保存结果").first.click()
    expect(page.get_by_text(f"任务 #{task_id} 事项 SC-01 的检查结果已保存")).to_be_visible(timeout=WAIT)
    _ready(page)
    _logout(page)

    # --- 审核, 公示管理 and 后续处置 as the department's reviewer ----------------------------------------------
    _login(page, base, "reviewer")
    _open(page, "审核")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("已审核通过，可在“公示管理”中公示")).to_be_visible(timeout=WAIT)
    _ready(page)
    _open(page, "公示管理")
    page.get_by_role("button", name="公示", exact=True).click()
    expect(page.get_by_text(f"任务 #{task_id} 的 1 条检查结果已公示")).to_be_visible(timeout=WAIT)
    _ready(page)
    _open(page, "后续处置")
    expect(page.get_by_text(uscc).first).to_be_attached(timeout=WAIT)  # a grid cell (drawn on a canvas)
    doc = page.get_by_label("文书编号", exact=True)
    doc.fill("平市监责改〔2026〕1号")
    doc.press("Enter")
    _ready(page)
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_text(re.compile(r"已登记“责令整改”，已生成复查任务 #\d+"))).to_be_visible(timeout=WAIT)
    _ready(page)
    _logout(page)
    with Session(eng) as s:
        recheck = s.execute(select(FollowUpStep.recheck_task_id).where(FollowUpStep.task_id == task_id)).scalar_one()
        assert s.get(Task, recheck).kind == "recheck" and s.get(Task, recheck).uscc == uscc

    # --- 平台对接 as the planner: the 归集 batch, downloaded, and the other side's receipt ---------------------
    _login(page, base, "planner")
    _open(page, "平台对接")
    out = page.get_by_label("输出目录（服务器上的文件夹，批次文件夹写在其下）", exact=True)
    out.fill(str(tmp_path / "out"))
    out.press("Enter")
    _ready(page)
    page.get_by_role("button", name="生成下一报送批次").click()
    expect(page.get_by_text(re.compile(r"已生成批次 \d+-GSXT-000001：1 条记录"))).to_be_visible(timeout=WAIT)
    _ready(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile(r"下载批次 .*（zip）")).click()
    with zipfile.ZipFile(dl.value.path()) as z:
        z.extractall(tmp_path / "got")
    folder = next((tmp_path / "got").iterdir())
    receipt = write_receipt(folder, tmp_path / "receipt.json")
    page.locator("input[type=file]").first.set_input_files(str(receipt))
    page.get_by_role("button", name="导入回执").click()
    expect(page.get_by_text(f"批次 {folder.name} 回执已导入：接收 1 条，拒收 0 条")).to_be_visible(timeout=WAIT)
    _ready(page)
    with Session(eng) as s:
        rid = s.execute(select(ItemResult.id).where(ItemResult.task_id == task_id)).scalar_one()
        assert s.execute(select(ExchangeRecord.status).where(ExchangeRecord.result_id == rid)).scalars().all() == [
            "accepted"]

    # --- 首页 and 后续处置: the follow-up in progress and its re-check ------------------------------------------
    _open(page, "首页", "双随机、一公开 抽查系统")
    expect(page.get_by_test_id("stMetric").filter(has_text="后续处置办理中")).to_contain_text("1", timeout=WAIT)
    _open(page, "后续处置")
    expect(page.get_by_test_id("stMetric").filter(has_text="复查进行中")).to_contain_text("1", timeout=WAIT)
    _logout(page)
    eng.dispose()
