"""Several bureaus in one database, in a real browser (Debian's Chromium): a city account
picks its districts in the sidebar and sees the visits merged across levels on 联合检查;
a district account sees only its own district's visits.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.demo import pinggu as reference
from scheduler.visits import service as vs
from scheduler.demo.service import create_bureaus_demo
from scheduler.accounts.service import add_user
from tests.e2e.conftest import serve
from tests.e2e.test_browser import _goto, _idle, _logout, _pick, _screenshot_dir, _shot  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.e2e

PASSWORD = "dsr-e2e-bureaus-2026"
TODAY = dt.date(2026, 11, 27)
WINDOW = "2026-11"
WAIT = 30_000


@pytest.fixture(scope="module")
def bureaus_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e_bureaus') / 'dsr.db'}"
    eng = make_engine(url)
    upgrade(eng)
    create_bureaus_demo(eng, 1500, 11, today=TODAY)
    add_user(eng, "bj-admin", "admin", PASSWORD, display_name="市局管理员", bureau=reference.CITY_CODE)
    add_user(eng, "my-planner", "planner", PASSWORD, display_name="密云计划员", bureau=reference.MIYUN_CODE,
             department="SCJGJ")
    eng.dispose()
    return url


@pytest.fixture(scope="module")
def bureaus_app(bureaus_db, tmp_path_factory):
    with serve(bureaus_db, tmp_path_factory.mktemp("e2e_bureaus_log") / "streamlit.log") as base:
        yield base


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible(timeout=WAIT)
    _idle(page)


def _visits_metric(page: Page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="入户检查").first
    value = metric.get_by_test_id("stMetricValue").inner_text()
    return int(re.sub(r"[^0-9]", "", value))


def test_city_sees_its_districts_visits_and_a_district_only_its_own(page: Page, bureaus_app: str, bureaus_db: str) -> None:
    eng = make_engine(bureaus_db)
    try:
        every = vs.visits_for(eng, WINDOW, page_size=1).total
        merged = vs.visits_for(eng, WINDOW, page_size=1, merged_only=True).total
    finally:
        eng.dispose()
    assert merged > 0, "the demo's city plan and district plans must meet behind some doors"

    _login(page, bureaus_app, "bj-admin")
    picker = page.get_by_role("combobox", name="工作范围（监管局）")
    expect(picker).to_be_visible(timeout=WAIT)
    timings: dict = {}
    _goto(page, "联合检查", "联合检查", timings)
    assert _visits_metric(page) == every  # the city's view covers both districts
    page.wait_for_timeout(1500)  # let the table and its widgets settle for the picture
    _shot(page, "visits")
    _pick(page, "工作范围（监管局）", reference.MIYUN_NAME)  # the city works on one district
    # The page reruns for the new scope: wait until the metric shows it, not the old figure still on screen.
    value = page.get_by_test_id("stMetric").filter(has_text="入户检查").first.get_by_test_id("stMetricValue")
    expect(value).not_to_have_text(f"{every:,}", timeout=WAIT)
    _idle(page)
    city_on_miyun = _visits_metric(page)
    _logout(page)

    _login(page, bureaus_app, "my-planner")
    expect(page.get_by_role("combobox", name="工作范围（监管局）")).to_have_count(0)  # a district has no choice
    _goto(page, "联合检查", "联合检查", timings)
    mine = _visits_metric(page)
    assert 0 < mine < every and mine == city_on_miyun
