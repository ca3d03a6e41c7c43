"""The app shows a refusal no page caught (a DsrError) as its Chinese message in st.error, not as
Streamlit's traceback box (streamlit_app.py: run_page); other exceptions still show as errors."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from scheduler.access.permissions import PermissionDenied
from scheduler.audit import service as auditlog
from scheduler.demo.service import ensure_pinggu
from tests.test_ui_login import APP, logged_in_admin
from tests.test_ui_login import url as url  # noqa: F401 (fixture)
from tests.ui_steps import open_page

MESSAGE = "测试：当前账号不能核验审计链"


@pytest.fixture
def audit_page(url) -> AppTest:  # noqa: F811 (the fixture above)
    eng = make_engine(url)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    eng.dispose()
    at = logged_in_admin(AppTest.from_file(APP, default_timeout=60), url)
    at.run()
    assert not at.exception, at.exception
    return open_page(at, "audit.py")


def test_an_uncaught_refusal_shows_its_message_not_a_traceback(audit_page, monkeypatch):
    def refuse(engine):
        raise PermissionDenied(MESSAGE, action="audit.verify", role="admin")

    # The page calls auditlog.verify without a try: the refusal reaches the app's handler.
    monkeypatch.setattr(auditlog, "verify", refuse)
    at = audit_page.button(key="audit_verify").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [MESSAGE]
    assert at.sidebar.caption  # the rest of the app still rendered


def test_any_other_exception_is_still_shown_as_a_bug(audit_page, monkeypatch):
    def crash(engine):
        raise KeyError("bug")

    monkeypatch.setattr(auditlog, "verify", crash)
    at = audit_page.button(key="audit_verify").click().run()
    assert [e.message for e in at.exception] == ["'bug'"]  # KeyError("bug"), traceback and all
