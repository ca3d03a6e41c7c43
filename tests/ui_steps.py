"""Steps the AppTest-driven UI tests share: give the app a fresh copy of a module's database,
open a page, re-run, read a table.

Each step asserts the script raised nothing, so a page error fails the test at
the step that caused it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import nav


def use_copy(base_db: Path, tmp_path: Path, monkeypatch) -> str:
    """A fresh copy of a module's base database (built once, slow), made the app's database; the
    app's cached engine and data are cleared so the next run opens it. Returns its URL."""
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db.read_bytes())
    url = f"sqlite:///{p}"
    monkeypatch.setenv("DSR_DATABASE_URL", url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    return url


def open_page(at: AppTest, script: str) -> AppTest:
    """Switch the running app to the page `script` (ui/pages/…) and run it."""
    at.switch_page(nav.page_path(script)).run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def finish_work(at: AppTest, timeout: float = 120) -> AppTest:
    """Wait for the long work the app runs in server threads (ui/jobs.py: an import, a draw) to end
    — on each job's own done event — then run the page again, as its poll would."""
    from ui import jobs

    for job in list(jobs._jobs.values()):
        assert job.done.wait(timeout), f"{job.title} did not end in {timeout} s"
    return rerun(at)


def table(at: AppTest, column: str):
    """The first table on the page with `column` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --- logging in through the real form --------------------------------------------------------------

UI_USER = "ui"
UI_PASSWORD = "ui-test-Passw0rd"
# The browser tests' demo accounts get this password (ensure_demo_users(..., password, must_change=False)):
# the test chooses it, the product generates one per account.
DEMO_PASSWORD = "dsr-e2e-Passw0rd"


def ensure_admin(url: str | None = None, username: str = UI_USER, password: str = UI_PASSWORD) -> None:
    """A deployment-wide administrator account (no bureau) in the app's database, made by the test if
    missing: the account the UI tests log in with."""
    import os

    from sqlalchemy import select
    from sqlmodel import Session

    from db.engine import make_engine
    from db.models import User
    from scheduler.accounts import service as users

    eng = make_engine(url or os.environ["DSR_DATABASE_URL"])
    try:
        with Session(eng) as s:
            if s.execute(select(User.id).where(User.username == username)).first() is None:
                s.add(User(username=username, display_name=username, password_hash=users.hash_password(password),
                           role="admin"))
                s.commit()
    finally:
        eng.dispose()


def login(at: AppTest, username: str = UI_USER, password: str = UI_PASSWORD, create: bool = True) -> AppTest:
    """Log `at` in through the app's login form; with `create`, as a deployment-wide administrator
    account of that name, made if missing."""
    from ui import auth

    at.run()  # the app's first run migrates a new database (ui/database.py)
    assert not at.exception, at.exception
    if create:
        ensure_admin(username=username, password=password)
    if not [t for t in at.text_input if t.key == "login_username"]:  # no account yet: no form shown
        at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "登录").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[auth.SESSION_KEY] == username, [e.value for e in at.error]
    return at


def logged_in(at: AppTest, username: str = UI_USER, password: str = UI_PASSWORD) -> AppTest:
    """`at` logged in through the form, then run once more on its default page."""
    return login(at, username, password)
