"""Login in the Streamlit app (AppTest on real SQLite files): form, errors, pages per role."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import AuditEvent, Department, Inspector
from scheduler.accounts import service as users
from scheduler.demo.service import ensure_pinggu
from ui import auth, nav

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PW = "correct-horse-1"


def logged_in_admin(at: AppTest, url: str, username: str = "ui-admin") -> AppTest:
    """An AppTest logged in through the form as an administrator (the account is created if missing)."""
    from tests.ui_steps import login

    eng = make_engine(url)
    try:
        if users.get_user(eng, username) is None:
            users.add_user(eng, username, "admin", PW)
    finally:
        eng.dispose()
    return login(at, username, PW, create=False)


@pytest.fixture
def url(sqlite_url, monkeypatch):
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    st.cache_resource.clear()
    yield sqlite_url
    st.cache_resource.clear()


def _accounts(url: str) -> None:
    eng = make_engine(url)
    with Session(eng) as s:
        b = ensure_pinggu(s)
        dept = s.execute(select(Department).where(Department.bureau_id == b.id, Department.code == "SCJGJ")).scalar_one()
        s.add(Inspector(bureau_id=b.id, inspector_id="SCJGJ-001", name="张三", department_id=dept.id, cert_no="C001"))
        s.commit()
    users.add_user(eng, "boss", "admin", PW)
    users.add_user(eng, "zhang", "inspector", PW, inspector="SCJGJ-001")
    users.add_user(eng, "pub", "public", PW)
    eng.dispose()


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_no_users_tells_the_administrator_what_to_run(url):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("dsr user add" in w.value for w in at.warning)
    assert not at.text_input  # no form to guess passwords into


def test_asks_to_log_in_then_wrong_and_right_password(url):
    _accounts(url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert not any("当前用户" in c.value for c in at.sidebar.caption)

    at = _login(at, "boss", "wrong-password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert not any("当前用户" in c.value for c in at.sidebar.caption)

    at = _login(at, "boss", PW)
    assert not at.error
    assert any("当前用户：boss（管理员）" in c.value for c in at.sidebar.caption)
    assert _page_ran(at, "draw.py")

    # Logging out returns to the form; the login and the logout are on the audit chain.
    at.button(key="logout").click().run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    eng = make_engine(url)
    with Session(eng) as s:
        acts = [a for a in s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars() if a.startswith("user.log")]
    eng.dispose()
    assert acts == ["user.login_failed", "user.login", "user.logout"]


def test_inspector_does_not_see_the_draw_page(url):
    _accounts(url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = _login(at, "zhang", PW)
    # An inspector acts under their roster id (the name teams are recorded under); shown by name.
    assert any(c.value.startswith("当前用户：") and "（执法检查人员）" in c.value and "SCJGJ-001" not in c.value
               for c in at.sidebar.caption)
    from scheduler.access.context import Actor

    a = Actor("SCJGJ-001", "inspector", 1, 1)
    visible = {s for _sec, s, _t, _i in nav.PAGES if auth.page_visible(a, nav.page_path(s))}
    assert "draw.py" not in visible and "imports.py" not in visible and "plans.py" not in visible
    assert {"mytasks.py", "verify.py"} <= visible and "home.py" not in visible  # home: 我的任务
    assert not _page_ran(at, "draw.py")
    assert not _page_ran(at, "imports.py")


def test_public_sees_only_published_data_and_verify(url):
    _accounts(url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = _login(at, "pub", PW)
    from scheduler.access.context import Actor

    a = Actor("pub", "public")
    assert {s for _sec, s, _t, _i in nav.PAGES if auth.page_visible(a, nav.page_path(s))} == {"public.py", "verify.py",
                                                                                           "public_verify.py", "selfcheck.py"}
    assert not _page_ran(at, "registry.py")


def _page_ran(at: AppTest, script: str) -> bool:
    """Open `script`; False if it is not in the navigation AppTest registered for this user."""
    try:
        at.switch_page(nav.page_path(script))
    except ValueError as e:
        assert "Could not find a navigation page" in str(e)
        return False
    at.run()
    assert not at.exception, at.exception
    title = next((t.value for t in at.title), "")
    return title.startswith(next(t for _s, sc, t, _i in nav.PAGES if sc == script))


def test_disabled_account_is_logged_out_at_the_next_click(url):
    _accounts(url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = _login(at, "boss", PW)
    eng = make_engine(url)
    users.disable_user(eng, "boss")
    eng.dispose()
    at.run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_no_environment_variable_logs_anyone_in(url, monkeypatch):
    """Issue 18 §4: DSR_UI_AUTOLOGIN logged the app in without a password on any SQLite file; there is
    no such switch any more: with it set, the app still asks for a password."""
    _accounts(url)
    monkeypatch.setenv("DSR_UI_AUTOLOGIN", "boss")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert auth.SESSION_KEY not in at.session_state
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_an_initial_password_is_changed_before_any_page_opens(url):
    """Issue 18 §4: the demo's generated passwords must be changed at the first login."""
    _accounts(url)
    eng = make_engine(url)
    users.add_user(eng, "fresh", "admin", PW, must_change_password=True)
    at = _login(AppTest.from_file(APP, default_timeout=60).run(), "fresh", PW)
    assert any(t.value == "修改初始密码" for t in at.title)
    assert not at.dataframe  # no page ran
    at.text_input(key="pw_current").input(PW)
    at.text_input(key="pw_new").input("brand-new-Passw0rd")
    at.text_input(key="pw_again").input("brand-new-Passw0rd-typo")
    next(b for b in at.button if b.label == "修改密码").click()
    at.run()
    assert any("不一致" in e.value for e in at.error) and users.must_change_password(eng, "fresh")
    at.text_input(key="pw_again").input("brand-new-Passw0rd")
    next(b for b in at.button if b.label == "修改密码").click()
    at.run()
    assert not at.exception, at.exception
    assert not users.must_change_password(eng, "fresh")
    assert not any(t.value == "修改初始密码" for t in at.title)
    assert users.login(eng, "fresh", "brand-new-Passw0rd").name == "fresh"
    eng.dispose()


def test_public_page_is_reachable_without_login(sqlite_url, monkeypatch):
    """Not logged in: the navigation offers 登录 and 公示查询, and 公示查询 renders with no session."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    eng = make_engine(sqlite_url)
    users.add_user(eng, "boss", "admin", PW)
    eng.dispose()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.text_input(key="login_username") is not None
    at.switch_page("ui/pages/public.py").run()
    assert not at.exception
    assert any("公示" in t.value for t in at.title) or any("公示" in m.value for m in at.markdown)
