"""Behind a reverse proxy every request comes from the proxy's address: failed logins must still be
counted per client, or one person's typing errors slow down everyone (and an attacker's lock-outs
hit everyone behind the same proxy). The app server (uvicorn) takes the client from the proxy's
X-Forwarded-For header when the proxy's address is trusted (FORWARDED_ALLOW_IPS, default
127.0.0.1: a proxy on the same machine; docs/multi-bureau.md). Here the browser connects from
127.0.0.1, as a proxy on the machine would, and sends the header as the proxy would set it."""

from __future__ import annotations

import json

from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.models import AuditEvent
from scheduler.accounts.service import LOGIN_FAILED

WAIT = 30_000


def _wrong_login(browser, app_url: str, client: str) -> None:
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", extra_http_headers={"X-Forwarded-For": client})
    try:
        page = ctx.new_page()
        page.goto(f"{app_url}/")
        page.get_by_label("用户名").wait_for(state="visible", timeout=WAIT)
        page.get_by_label("用户名").fill("reviewer")
        page.get_by_label("密码", exact=True).fill("not-the-password-1")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_text(LOGIN_FAILED)).to_be_visible(timeout=WAIT)
    finally:
        ctx.close()


def test_failed_logins_behind_a_proxy_are_counted_per_client(browser, app_url, demo_url):
    _wrong_login(browser, app_url, "203.0.113.9")
    _wrong_login(browser, app_url, "198.51.100.4")
    eng = make_engine(demo_url)
    with Session(eng) as s:
        payloads = s.execute(select(AuditEvent.payload).where(AuditEvent.action == "user.login_failed")).scalars()
        sources = {json.loads(p).get("source") for p in payloads if p}
    eng.dispose()
    assert {"203.0.113.9", "198.51.100.4"} <= sources
