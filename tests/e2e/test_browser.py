"""The planners' app in a real headless Chromium (Playwright), against `streamlit run`
on a 2,000-entity Pinggu demo in a SQLite file.

test_planner_chain walks the issue's flow in one browser: log in → new plan on
抽查计划 → the 抽取 ceremony (freeze, ceremony seed, draw and match, result) →
结果录入 (as the inspector on the drawn task's team) → 审核 (reviewer) → 公示管理
(publish) → log out → 公示查询 (the link beside the login page) shows the published result.
test_public_page_without_login opens /public directly: no login form, only the public pages.

Streamlit renders over a websocket: every wait is for visible text, never for
a load event. In-app navigation goes through the sidebar, because a fresh URL
opens a new Streamlit session (and so logs the user out).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.models import Draw, Enterprise, Inspector, ItemResult, Plan, Task, TeamMember, User
from tests.ui_steps import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

SEED = "27182818284590452353602874"  # 26 digits, as read out at the ceremony
PLAN_CODE = "E2E-GS"
PLAN_NAME = "端到端测试企业公示信息抽查"
WAIT = 30_000

_SHOTS: list[Path] = []


@pytest.fixture(autouse=True)
def _screenshot_dir(tmp_path_factory) -> None:
    """DSR_E2E_SCREENSHOTS=docs/screenshots rewrites the README's screenshots; otherwise a temporary
    directory, so that a plain `pytest` leaves the working tree clean."""
    if not _SHOTS:
        target = os.environ.get("DSR_E2E_SCREENSHOTS")
        _SHOTS.append(Path(target) if target else tmp_path_factory.mktemp("screenshots"))


def _shot(page: Page, name: str) -> None:
    _SHOTS[0].mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(_SHOTS[0] / f"{name}.png"))


def _idle(page: Page) -> None:
    """Wait until Streamlit has finished the current script run (no 'running' status widget)."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)


def _title(page: Page, text: str):
    return page.get_by_role("heading", name=text, exact=True).first


def _timed(timings: dict, title: str, t0: float, first, last) -> None:
    """Wait for the page's first text (its heading) and its last element; record both times once."""
    first.wait_for(state="visible", timeout=WAIT)
    t1 = time.perf_counter()
    last.wait_for(state="visible", timeout=WAIT)
    timings.setdefault(title, (t1 - t0, time.perf_counter() - t0))


def _goto(page: Page, title: str, heading: str, timings: dict, last=None) -> None:
    """Open a page from the sidebar and time it: heading visible, then `last` (the end of the page) visible."""
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=title, exact=True)
    if not link.is_visible():
        more = nav.get_by_role("button", name=re.compile(r"View .* more|more", re.I))
        if more.count():
            more.first.click()
    t0 = time.perf_counter()
    link.click()
    h = _title(page, heading)
    _timed(timings, title, t0, h, last if last is not None else h)
    _idle(page)


def _pick(page: Page, label: str, option: str) -> None:
    """A Streamlit selectbox: open the combobox, type to filter, click the option."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option).first.click()
    _idle(page)


def _multi(page: Page, label, option) -> None:
    """A Streamlit multiselect: type to filter and click the option; retried, since a rerun that
    lands while the dropdown is open closes it."""
    box = page.get_by_label(label, exact=isinstance(label, str))
    opt = page.get_by_role("option", name=option)
    for attempt in range(3):
        box.click()
        box.fill(option.pattern.lstrip("^").strip() if isinstance(option, re.Pattern) else option)
        try:
            opt.first.click(timeout=5_000)
            break
        except Exception:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            _idle(page)
    page.keyboard.press("Escape")
    _idle(page)


def _fill(page: Page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")  # commits the text input (Streamlit reruns on Enter or blur)
    _idle(page)


def _login(page: Page, app_url: str, username: str, timings: dict | None = None) -> None:
    t0 = time.perf_counter()
    page.goto(f"{app_url}/")
    if timings is not None:
        _timed(timings, "登录", t0, page.get_by_label("用户名"), page.get_by_text("社会公众无需登录", exact=False))
    page.get_by_label("用户名").wait_for(state="visible", timeout=WAIT)
    _idle(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    t0 = time.perf_counter()
    page.get_by_role("button", name="登录", exact=True).click()
    # An inspector's account acts under its roster id, so only the logout button is common to all.
    if timings is not None:
        _timed(timings, "首页（登录后）", t0, page.get_by_role("heading", name="北京市平谷区市场监督管理局"),
               page.get_by_text("联席会议成员单位", exact=True))
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=WAIT)
    _idle(page)


def _logout(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    # Until the rerun ends, the page being left (系统设置 has its own 用户名 field) can still be in the
    # DOM as stale elements next to the login form: wait until the login form's field is the only one.
    expect(page.get_by_label("用户名")).to_have_count(1, timeout=WAIT)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible(timeout=WAIT)
    _idle(page)


def test_planner_chain(page: Page, app_url: str, demo_url: str, timings: dict[str, float]) -> None:
    eng = make_engine(demo_url)

    # --- login page, then log in as the planner ---------------------------------------------------------
    t0 = time.perf_counter()
    page.goto(f"{app_url}/")  # the first page load of the server: cold imports included
    _timed(timings, "登录（首次打开）", t0, page.get_by_label("用户名"), page.get_by_text("社会公众无需登录", exact=False))
    _idle(page)
    _shot(page, "login")
    _login(page, app_url, "admin", timings)

    _goto(page, "检查对象名录库", "检查对象名录库", timings, page.get_by_text("信用风险分类为内部信息，不向社会公开。"))
    _shot(page, "registry")

    # --- 抽查计划: a new plan through the form -------------------------------------------------------------
    _goto(page, "抽查计划", "抽查计划", timings, page.get_by_role("button", name="保存计划"))
    _fill(page, "计划编号", PLAN_CODE)
    _fill(page, "计划名称", PLAN_NAME)
    _multi(page, "抽查事项", re.compile("^SC-01 "))
    for c, pct in (("A", "3"), ("B", "4"), ("C", "5"), ("D", "5")):
        _fill(page, f"{c} 类抽查比例（%）", pct)
    expect(page.get_by_text("符合规则", exact=True)).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="保存计划").click()
    expect(page.get_by_text(f"已保存计划 {PLAN_CODE}")).to_be_visible(timeout=WAIT)
    _idle(page)
    _shot(page, "plans")
    with Session(eng) as s:
        assert s.execute(select(Plan.name, Plan.status).where(Plan.code == PLAN_CODE)).one() == (PLAN_NAME, "draft")

    # --- a second person approves and publishes it: the demo reviewer of 区市场监管局 ------------------------------
    _logout(page)
    _login(page, app_url, "reviewer")
    _goto(page, "抽查计划", "抽查计划", timings, page.get_by_role("button", name="审批", exact=True))
    _pick(page, "审批、发布或复制的计划", f"{PLAN_CODE} {PLAN_NAME}（第 1 版 · 草稿）")
    page.get_by_role("button", name="审批", exact=True).click()
    expect(page.get_by_text(f"已审批：{PLAN_CODE}（第 1 版 · 已审批）")).to_be_visible(timeout=WAIT)
    _idle(page)
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.get_by_text(f"已发布：{PLAN_CODE}（第 1 版 · 已发布）")).to_be_visible(timeout=WAIT)
    _idle(page)
    _shot(page, "plan_published")
    with Session(eng) as s:
        assert s.execute(select(Plan.status, Plan.approved_by).where(Plan.code == PLAN_CODE)).one() == ("published", "reviewer")
    _logout(page)
    _login(page, app_url, "admin")

    # --- 抽取: freeze, ceremony seed, draw and match ----------------------------------------------------------
    _goto(page, "抽取", "抽取（摇号）", timings, page.get_by_role("button", name="冻结名录"))
    _pick(page, "抽查计划", f"{PLAN_CODE} {PLAN_NAME}")
    page.get_by_role("button", name="冻结名录").click()
    expect(page.get_by_text("名录摘要（SHA-256", exact=False)).to_be_visible(timeout=WAIT)
    _idle(page)
    _fill(page, "现场随机种子", SEED)
    expect(page.get_by_text(f"种子（{len(SEED)} 位）")).to_be_visible()
    page.get_by_role("button", name="抽取并匹配").click()
    expect(page.get_by_text("第四步：抽取结果")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("抽取完成（抽取记录")).to_be_visible()
    expect(page.get_by_text(SEED).first).to_be_visible()
    _idle(page)
    page.get_by_role("heading", name="第四步：抽取结果").evaluate("e => e.scrollIntoView({block: 'start'})")
    _shot(page, "draw_result")

    with Session(eng) as s:
        plan_id = s.execute(select(Plan.id).where(Plan.code == PLAN_CODE)).scalar_one()
        drawn = s.execute(select(Task.id).join(Draw, Draw.id == Task.draw_id)
                          .where(Draw.plan_id == plan_id, Task.rank.is_not(None))).scalars().all()
        inspector_id, inspector_name, inspector_cert = s.execute(
            select(Inspector.inspector_id, Inspector.name, Inspector.cert_no).join(User, User.inspector_pk == Inspector.id)
            .where(User.username == "inspector")).one()
        mine = s.execute(select(TeamMember.task_id).join(Inspector, Inspector.id == TeamMember.inspector_pk)
                         .where(Inspector.inspector_id == inspector_id, TeamMember.active.is_(True),
                                TeamMember.task_id.in_(drawn))).scalars().all()
    assert len(drawn) > 0
    # The seed is fixed, so the demo inspector's place in the matching is too; if a change of the
    # matching ever leaves them out, this says so instead of failing somewhere below.
    assert mine, f"the demo inspector {inspector_id} is on none of the {len(drawn)} drawn tasks"
    _logout(page)

    # --- 结果录入 as the demo inspector ---------------------------------------------------------------------
    _login(page, app_url, "inspector")
    _goto(page, "结果录入", "结果录入", timings, page.get_by_role("button", name="保存检查结果"))
    opened = page.get_by_text(re.compile(r"^任务 #\d+：")).first
    opened.wait_for(state="visible", timeout=WAIT)
    task_id = int(re.search(r"任务 #(\d+)", opened.inner_text()).group(1))
    assert task_id in mine
    _multi(page, re.compile("^检查结果（可多选"), "未发现问题")
    page.get_by_role("button", name="保存检查结果").click()
    expect(page.get_by_text(f"任务 #{task_id} 事项 SC-01 的检查结果已保存")).to_be_visible(timeout=WAIT)
    _idle(page)
    _shot(page, "results")
    _logout(page)

    # --- 审核 and 公示管理 as the department's reviewer ---------------------------------------------------------
    _login(page, app_url, "reviewer")
    _goto(page, "审核", "审核", timings, page.get_by_role("button", name="审核通过"))
    expect(page.get_by_text(f"录入人员：{inspector_name}（执法证号 {inspector_cert}）")).to_be_visible()  # by name
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("已审核通过，可在“公示管理”中公示")).to_be_visible(timeout=WAIT)
    _idle(page)
    _goto(page, "公示管理", "公示管理", timings, page.get_by_text("本部门没有办理中的后续处置。"))
    page.get_by_role("button", name="公示", exact=True).click()
    expect(page.get_by_text(f"任务 #{task_id} 的 1 条检查结果已公示")).to_be_visible(timeout=WAIT)
    _idle(page)
    _shot(page, "publication")
    # 首页 once the month has a draw, a result and a publication (the README's screenshot).
    _goto(page, "首页", "双随机、一公开 抽查系统", timings, _title(page, "两库一单"))
    _shot(page, "home")
    with Session(eng) as s:
        uscc = s.get(Task, task_id).uscc
        name = s.execute(select(Enterprise.name).where(Enterprise.uscc == uscc)).scalar_one()
        statuses = s.execute(select(ItemResult.status).where(ItemResult.task_id == task_id)).scalars().all()
    assert statuses == ["已公示"]
    _logout(page)
    eng.dispose()

    # --- 公示查询 without a login, from the login page's navigation -------------------------------------------
    t0 = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="公示查询").click()
    _timed(timings, "公示查询", t0, _title(page, "双随机、一公开 公示查询"), page.get_by_role("tab", name="抽取核验包"))
    _idle(page)
    expect(page.get_by_text("共 1 条已公示的检查结果")).to_be_visible()
    _fill(page, "统一社会信用代码或企业名称", uscc)
    expect(page.get_by_text("共 1 条已公示的检查结果")).to_be_visible()
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    # The grid draws on a canvas; its accessibility table carries the cell text.
    expect(grid.get_by_text(name, exact=True).first).to_be_attached()
    expect(grid.get_by_text("未发现问题", exact=True).first).to_be_attached()
    _shot(page, "public")


def test_public_page_without_login(page: Page, app_url: str, timings: dict[str, float]) -> None:
    """/public opens straight away for a visitor: no login form, the public tabs."""
    t0 = time.perf_counter()
    page.goto(f"{app_url}/public")
    _timed(timings, "公示查询（/public）", t0, _title(page, "双随机、一公开 公示查询"), page.get_by_role("tab", name="抽取核验包"))
    _idle(page)
    for tab in ("检查结果", "抽查计划", "抽查事项清单", "抽取核验包"):
        expect(page.get_by_role("tab", name=tab)).to_be_visible()
    expect(page.get_by_label("用户名")).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="登录")).to_be_visible()
    expect(nav.get_by_role("link", name="抽查计划")).to_have_count(0)


def test_public_verifier_and_self_check_without_login(page: Page, app_url: str, demo_url: str,
                                                     timings: dict[str, float]) -> None:
    """/public-verify recomputes a published draw for a visitor, each check shown, with the package and the
    announcement to download; /selfcheck asks for a credit code and a query code."""
    from db.engine import make_engine
    from scheduler.draw import service as draws
    from scheduler.plans.service import list_plans

    eng = make_engine(demo_url)
    try:  # a draw of its own, whatever the other tests drew
        plan = next(p for p in list_plans(eng) if p["code"] == "PG-2026-TS")
        d = draws.execute(eng, plan["code"], f"{plan['year']}-01", seed="31415926535897932384")
    finally:
        eng.dispose()
    t0 = time.perf_counter()
    page.goto(f"{app_url}/public-verify?draw={d.id}")
    _timed(timings, "公开核验（/public-verify）", t0, _title(page, "公开核验"),
           page.get_by_text("核验通过", exact=False).first)
    expect(page.get_by_label("用户名")).to_have_count(0)
    expect(page.get_by_text("commitments.csv 的 SHA-256 与证书一致", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="下载抽取结果公告（PDF）")).to_be_visible()
    expect(page.get_by_role("button", name="下载公开核验包")).to_be_visible()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="本企业查询").click()
    expect(_title(page, "本企业查询")).to_be_visible(timeout=WAIT)
    expect(page.get_by_label("查询码")).to_be_visible()


def test_admin_creates_an_account_that_can_log_in(page: Page, app_url: str, demo_url: str,
                                                  timings: dict[str, float]) -> None:
    """系统设置 in a real browser: the administrator creates a reviewer's account; it logs in."""
    _login(page, app_url, "admin")
    _goto(page, "系统设置", "系统设置", timings)
    page.get_by_text("新建账号", exact=False).first.click()
    _fill(page, "用户名", "e2e-reviewer")
    _fill(page, "姓名", "赵审核")
    _pick(page, "角色", "审核人员")
    _pick(page, "所属部门（计划人员、审核人员必填）", "区市场监管局")
    _fill(page, "初始密码", DEMO_PASSWORD)
    _fill(page, "再次输入初始密码", DEMO_PASSWORD)
    page.get_by_role("button", name="创建账号").click()
    expect(page.get_by_text("已创建账号“e2e-reviewer”（审核人员）")).to_be_visible(timeout=WAIT)
    _idle(page)
    _shot(page, "settings")
    _logout(page)
    _login(page, app_url, "e2e-reviewer")
    expect(page.get_by_test_id("stSidebar").get_by_text("审核人员", exact=False).first).to_be_visible(timeout=WAIT)
